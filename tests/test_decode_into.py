"""decode(blob, into=...): the values of decode(), written in place into existing tensors."""

import pytest
import torch

from symcodec import SymcodecError
from symcodec.codec import TensorPlan, TransmissionPlan, decode, encode
from symcodec.codec.format import read_header
from symcodec.symmetry import get_symmetry


def model(seed=0):
    g = torch.Generator().manual_seed(seed)
    skew = get_symmetry("central-skew")
    return {
        "conv1.weight": torch.randn(8, 3, 3, 3, generator=g),
        "conv1.bias": torch.randn(8, generator=g),
        # exact zeros and a symmetric kernel: zeros and signs must come out as decode() has them
        "conv2.weight": skew.project(torch.randn(16, 8, 3, 3, generator=g))
        * (torch.rand(16, 8, 1, 1, generator=g) > 0.3),
        "conv3.weight": torch.randn(6, 4, 5, 5, generator=g).to(torch.float16),
        "zero.weight": torch.zeros(4, 2, 3, 3),
        "bn.num_batches_tracked": torch.tensor(7),
        "mask": torch.rand(5, generator=g) > 0.5,
        "fc.weight": torch.randn(10, 16, generator=g),
    }


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal dtypes and shapes and the same bytes (+0.0 and -0.0 differ)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8))


def fresh_targets(sd, fill=7):
    return {k: torch.full_like(v, fill) for k, v in sd.items()}


def plans(sd):
    skew = get_symmetry("central-skew")
    out = {}
    for mode in ("dof", "full-project", "full"):
        for coder in ("fixed", "ans"):
            out[f"{mode}-{coder}-8bits"] = TransmissionPlan.default(
                sd, symmetry=skew, bits=8, mode=mode, coder=coder
            )
            out[f"{mode}-{coder}-step"] = TransmissionPlan.default(
                sd, symmetry=skew, step=0.05, mode=mode, coder=coder
            )
    out["dof-fixed-per-channel-5bits"] = TransmissionPlan.default(
        sd, symmetry="d4", bits=5, per_channel=True
    )
    out["dof-fixed-16bits-symmetric-grid"] = TransmissionPlan.default(
        sd, symmetry="d4", bits=16, grid="symmetric", per_channel=True
    )
    out["full-symmetric-grid"] = TransmissionPlan.default(
        sd, symmetry=skew, bits=6, mode="full", grid="symmetric"
    )
    out["dof-float32"] = TransmissionPlan.default(sd, symmetry=skew, bits=32)
    out["dof-float16"] = TransmissionPlan.default(sd, symmetry=skew, bits=16, float16=True)
    out["pruned"] = TransmissionPlan.pruned(sd, skew, bits=6)
    return out


ALL_PLANS = plans(model())


@pytest.mark.parametrize("name", sorted(ALL_PLANS))
def test_decode_into_gives_the_bits_of_decode(name):
    sd = model()
    blob = encode(sd, ALL_PLANS[name])
    expected = decode(blob)
    targets = fresh_targets(sd)
    assert decode(blob, into=targets) is targets
    for key in sd:
        assert same_bits(targets[key], expected[key]), key


@pytest.mark.parametrize("coder", ["fixed", "ans"])
def test_decode_into_non_contiguous_targets(coder):
    sd = model()
    blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8, coder=coder))
    expected = decode(blob)
    base = torch.zeros(3, 3, 16, 8)
    targets = fresh_targets(sd)
    targets["conv2.weight"] = base.permute(2, 3, 0, 1)  # (16, 8, 3, 3), a view of ``base``
    targets["conv1.weight"] = torch.zeros(8, 3, 3, 3).to(memory_format=torch.channels_last)
    assert not targets["conv2.weight"].is_contiguous()
    decode(blob, into=targets)
    for key in sd:
        assert torch.equal(targets[key], expected[key]), key
    assert torch.equal(base, expected["conv2.weight"].permute(2, 3, 0, 1))


def test_decode_into_other_float_dtypes():
    sd = model()
    blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8))
    expected = decode(blob)
    targets = {k: v.clone() for k, v in sd.items()}
    targets["conv1.weight"] = torch.zeros(8, 3, 3, 3, dtype=torch.float64)
    targets["conv3.weight"] = torch.zeros(6, 4, 5, 5, dtype=torch.float32)  # a float16 stream
    decode(blob, into=targets)
    for key in sd:
        assert same_bits(targets[key], expected[key].to(targets[key].dtype)), key


def test_decode_into_a_module_state_dict_and_its_parameters():
    torch.manual_seed(0)
    sender = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 3)
    )
    receiver = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 3)
    )
    sd = sender.state_dict()
    blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8))
    expected = decode(blob)
    with torch.no_grad():
        decode(blob, into=receiver.state_dict())
    for key, value in receiver.state_dict().items():
        assert torch.equal(value, expected[key]), key
    # the parameters themselves (leaves that require grad) are written too
    params = dict(receiver.named_parameters())
    for p in params.values():
        p.data.zero_()
    decode(blob, into=params)
    for key, p in params.items():
        assert torch.equal(p.detach(), expected[key]) and p.requires_grad, key


def test_extra_targets_are_left_untouched():
    sd = model()
    blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8))
    targets = fresh_targets(sd)
    targets["not.in.stream"] = torch.full((3,), 5.0)
    decode(blob, into=targets)
    assert torch.equal(targets["not.in.stream"], torch.full((3,), 5.0))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.pop("fc.weight"), r"^tensor 'fc.weight' of the stream has no target"),
        (
            lambda t: t.update({"fc.weight": torch.zeros(16, 10)}),
            r"^tensor 'fc.weight': the stream has shape \(10, 16\), "
            r"the target in 'into' \(16, 10\)$",
        ),
        (
            lambda t: t.update({"fc.weight": torch.zeros(10, 16, dtype=torch.int32)}),
            r"^tensor 'fc.weight': the stream has float32 values, the target in 'into' is "
            r"torch.int32$",
        ),
        (
            lambda t: t.update({"bn.num_batches_tracked": torch.tensor(0.0)}),
            r"^tensor 'bn.num_batches_tracked': the stream has int64 values",
        ),
        (lambda t: t.update({"fc.weight": [0.0] * 160}), r"the target in 'into' is a list"),
    ],
)
def test_mismatched_targets_are_refused_before_anything_is_written(change, message):
    sd = model()
    blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8))
    targets = fresh_targets(sd)
    change(targets)
    before = {k: v.clone() for k, v in targets.items() if isinstance(v, torch.Tensor)}
    with pytest.raises(SymcodecError, match=message) as info:
        decode(blob, into=targets)
    assert "\n" not in str(info.value)
    for key, value in before.items():
        assert torch.equal(targets[key], value), key


def test_a_corrupt_payload_is_refused_before_anything_is_written():
    sd = model()
    blob = bytearray(encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8)))
    header = read_header(bytes(blob))
    last = header.records[-1]
    blob[header.payload_offset + last.offset] ^= 0x01
    targets = fresh_targets(sd)
    with pytest.raises(SymcodecError, match="CRC mismatch in tensor 'fc.weight'"):
        decode(bytes(blob), into=targets)
    assert all(torch.equal(v, torch.full_like(v, 7)) for v in targets.values())


@pytest.mark.parametrize("coder", ["fixed", "ans"])
def test_lenient_decode_into_a_corrupt_payload_matches_decode(coder):
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", step=0.02, coder=coder)
    small_chunks = TensorPlan(get_symmetry("central-skew"), "dof", 4, coder=coder, chunk_values=64)
    plan = TransmissionPlan({**plan.tensors, "conv2.weight": small_chunks})
    blob = bytearray(encode(sd, plan))
    header = read_header(bytes(blob))
    for record in header.records[:3]:
        blob[header.payload_offset + record.offset + record.length // 2] ^= 0xFF
    expected = decode(bytes(blob), strict=False)
    targets = fresh_targets(sd)
    decode(bytes(blob), strict=False, into=targets)
    for key in sd:
        assert same_bits(targets[key], expected[key]), key


def test_kernels_without_degrees_of_freedom_and_empty_tensors():
    from symcodec.symmetry import define_symmetry

    no_dof = define_symmetry("d4-skew", [("rot90", 1), ("hflip", -1)])
    assert no_dof.dof(3) == 0
    sd = {"k.weight": torch.randn(4, 2, 3, 3), "empty": torch.zeros(0, 3)}
    plan = TransmissionPlan({"k.weight": TensorPlan(no_dof, "dof", 8), "empty": TensorPlan(bits=8)})
    blob = encode(sd, plan)
    targets = fresh_targets(sd)
    decode(blob, into=targets)
    assert same_bits(targets["k.weight"], decode(blob)["k.weight"])
    assert same_bits(targets["k.weight"], torch.zeros(4, 2, 3, 3))


def test_quantized_kernels_into_contiguous_float32_skip_the_full_tensor():
    from symcodec.codec.inplace import CodeWriter

    sd = model()
    blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8))
    records = {r.name: r for r in read_header(blob).records}
    kernel = records["conv2.weight"]
    assert CodeWriter.takes(torch.empty(16, 8, 3, 3), kernel)
    assert CodeWriter.takes(torch.empty(8), records["conv1.bias"])
    assert not CodeWriter.takes(torch.empty(3, 3, 16, 8).permute(2, 3, 0, 1), kernel)
    assert not CodeWriter.takes(torch.empty(16, 8, 3, 3, dtype=torch.float64), kernel)
    assert not CodeWriter.takes(torch.empty(6, 4, 5, 5), records["conv3.weight"])  # float16


def test_into_must_be_a_mapping_of_tensors():
    net = torch.nn.Conv2d(2, 4, 3)
    blob = encode(net.state_dict(), TransmissionPlan.default(net.state_dict(), bits=8))
    with pytest.raises(SymcodecError, match=r"'into' must map tensor names to tensors .* Conv2d"):
        decode(blob, into=net)
