"""Quantizers, bit packing and the .symc container (SPEC sections 3 and 4)."""

import json
import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from symcodec import SymcodecError
from symcodec.codec import QuantizerSpec, TensorPlan, TransmissionPlan, decode, encode, inspect
from symcodec.codec.format import decode_stream, pack_codes, packed_size, read_header, unpack_codes
from symcodec.codec.quantize import dequantize, fake_quantize, quantize
from symcodec.symmetry import get_symmetry, symmetry_names


def small_model(seed=0, symmetric=None):
    g = torch.Generator().manual_seed(seed)
    sd = {
        "conv1.weight": torch.randn(8, 1, 3, 3, generator=g),
        "conv1.bias": torch.randn(8, generator=g),
        "conv2.weight": torch.randn(16, 8, 3, 3, generator=g),
        "proj.weight": torch.randn(16, 8, 1, 1, generator=g),
        "bn.running_mean": torch.randn(16, generator=g),
        "bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        "fc.weight": torch.randn(10, 64, generator=g),
    }
    if symmetric is not None:
        sym = get_symmetry(symmetric)
        for name in ("conv1.weight", "conv2.weight"):
            sd[name] = sym.project(sd[name])
    return sd


# ---- quantizers ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    bits=st.integers(2, 16),
    grid=st.sampled_from(["minmax", "symmetric"]),
    per_channel=st.booleans(),
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e3),
)
def test_quantization_error_is_at_most_half_a_step(bits, grid, per_channel, seed, scale):
    x = torch.randn(6, 50, generator=torch.Generator().manual_seed(seed)) * scale
    spec = QuantizerSpec("uniform", bits, grid, per_channel)
    q = quantize(x, spec)
    assert q.codes.max() <= spec.max_code
    y = dequantize(q.codes, q.params, spec, tuple(x.shape))
    rows = x.reshape(6 if per_channel else 1, -1)
    if grid == "symmetric":
        span = 2 * rows.abs().amax(1, keepdim=True)
        step = span / (2**bits - 1)
    else:
        span = rows.amax(1, keepdim=True) - rows.amin(1, keepdim=True)
        step = span / 2**bits
    err = (y.reshape(rows.shape) - rows).abs()
    assert bool((err <= step / 2 * (1 + 1e-4) + 1e-6 * span).all())


def test_symmetric_grid_is_odd_and_has_zero():
    spec = QuantizerSpec("uniform", 4, "symmetric")
    x = torch.linspace(-3, 3, 101)
    y = fake_quantize(x, spec)
    assert torch.equal(fake_quantize(-x, spec), -y)
    assert fake_quantize(torch.tensor([0.0, 3.0, -3.0]), spec)[0] == 0.0
    assert len(torch.unique(y)) <= 15


def test_skew_kernels_stay_skew_only_on_the_symmetric_grid():
    sym = get_symmetry("central-skew")
    w = sym.project(torch.randn(32, 16, 3, 3, generator=torch.Generator().manual_seed(1)))
    on_symmetric = fake_quantize(w, QuantizerSpec("uniform", 4, "symmetric"))
    assert sym.is_symmetric(on_symmetric)
    on_minmax = fake_quantize(w, QuantizerSpec("uniform", 4, "minmax"))
    assert sym.distance(on_minmax) > 0.01  # SPEC section 4: min/max grids leave V_S


def test_auto_grid_choice():
    skew = get_symmetry("hflip-skew")
    assert TensorPlan(skew, "full", 4).quantizer_for(torch.float32).grid == "symmetric"
    assert TensorPlan(skew, "full-project", 4).quantizer_for(torch.float32).grid == "symmetric"
    assert TensorPlan(skew, "dof", 4).quantizer_for(torch.float32).grid == "minmax"
    assert TensorPlan(get_symmetry("hflip"), "full", 4).quantizer_for(torch.float32).grid == (
        "minmax"
    )


def test_constant_tensor_quantizes_to_itself():
    x = torch.full((10,), 2.5)
    assert torch.equal(fake_quantize(x, QuantizerSpec("uniform", 3)), x)


@pytest.mark.parametrize("bits", [0, 1, 17, 31, 33])
def test_bits_out_of_range(bits):
    with pytest.raises(SymcodecError, match="bits"):
        TensorPlan(bits=bits)


# ---- bit packing --------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(bits=st.integers(1, 16), n=st.integers(0, 300), seed=st.integers(0, 2**16))
def test_pack_unpack_round_trip(bits, n, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2**bits, size=n).astype(np.uint8 if bits <= 8 else np.uint16)
    packed = pack_codes(codes, bits)
    assert len(packed) == packed_size(n, bits)
    assert np.array_equal(unpack_codes(packed, bits, n), codes)


def test_packing_is_msb_first():
    # 4-bit codes 0xA, 0xB -> one byte 0xAB; 16-bit big-endian
    assert pack_codes(np.array([0xA, 0xB], dtype=np.uint8), 4) == b"\xab"
    assert pack_codes(np.array([0x1234], dtype=np.uint16), 16) == b"\x12\x34"
    # 12 bits: 0xABC, 0x123 -> AB C1 23
    assert pack_codes(np.array([0xABC, 0x123], dtype=np.uint16), 12) == b"\xab\xc1\x23"


# ---- container ----------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in symmetry_names() if n != "none"])
def test_float32_dof_round_trip_is_exact_for_symmetric_models(name):
    sd = small_model(symmetric=name)
    plan = TransmissionPlan.default(sd, symmetry=name, bits=32)
    out = decode(encode(sd, plan))
    assert list(out) == list(sd)
    for key in sd:
        assert out[key].dtype == sd[key].dtype
        assert torch.equal(out[key], sd[key]), key


@pytest.mark.parametrize("mode", ["dof", "full-project"])
def test_non_symmetric_kernels_arrive_projected(mode):
    sd = small_model()
    sym = get_symmetry("central")
    out = decode(encode(sd, TransmissionPlan.default(sd, symmetry=sym, bits=32, mode=mode)))
    torch.testing.assert_close(out["conv2.weight"], sym.project(sd["conv2.weight"]))
    assert sym.is_symmetric(out["conv2.weight"])


def test_full_mode_sends_everything_unchanged():
    sd = small_model()
    out = decode(encode(sd, TransmissionPlan.default(sd, symmetry="central", bits=32, mode="full")))
    for key in sd:
        assert torch.equal(out[key], sd[key])


@pytest.mark.parametrize("bits", [2, 3, 4, 8, 12, 16])
def test_quantized_round_trip_error_bound(bits):
    sd = small_model(symmetric="central-skew")
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=bits)
    out = decode(encode(sd, plan))
    sym = get_symmetry("central-skew")
    for key in ("conv1.weight", "conv2.weight"):
        assert sym.is_symmetric(out[key])
        c = sym.gather(sd[key])
        step = (c.max() - c.min()) / 2**bits
        assert float((out[key] - sd[key]).abs().max()) <= float(step) / 2 + 1e-6
    assert out["bn.num_batches_tracked"].item() == 7


def test_accounting_counts_dof_and_side_information():
    sd = small_model(symmetric="central-skew")
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=4)
    blob = encode(sd, plan)
    acc = inspect(blob)
    rows = {t.name: t for t in acc.tensors}
    assert rows["conv1.weight"].values_sent == 8 * 1 * 4
    assert rows["conv2.weight"].values_sent == 16 * 8 * 4
    # 1x1 kernels have no DoF under a skew symmetry: sent in full, and the plan says so
    assert rows["proj.weight"].values_sent == 16 * 8 and rows["proj.weight"].mode == "full"
    assert any("proj.weight" in note for note in plan.notes)
    assert rows["bn.num_batches_tracked"].bits == 64
    expected_payload = sum(t.values_sent * t.bits for t in acc.tensors)
    assert acc.payload_bits == expected_payload
    assert acc.stream_bits == 8 * len(blob)
    header_len = struct.unpack(">I", blob[8:12])[0]
    assert acc.header_bits == 8 * (16 + header_len)
    full_same = sum(t.values_total * t.bits for t in acc.tensors)
    assert acc.reduction_vs_same_bits == pytest.approx(1 - expected_payload / full_same)
    assert 0 < acc.reduction_vs_same_bits < acc.reduction_vs_float32 < 1


def test_encoding_is_deterministic():
    sd = small_model(symmetric="d4")
    plan = TransmissionPlan.default(sd, symmetry="d4", bits=5, per_channel=True)
    assert encode(sd, plan) == encode(sd, plan)


def test_float16_raw_and_bfloat16_tensors():
    sd = {
        "w": torch.randn(4, 2, 3, 3).to(torch.bfloat16),
        "h": torch.randn(5).half(),
        "mask": torch.tensor([True, False, True]),
        "idx": torch.arange(6, dtype=torch.int32),
    }
    plan = TransmissionPlan.default(sd, symmetry="hflip", bits=16, float16=True)
    out = decode(encode(sd, plan))
    assert out["w"].dtype == torch.bfloat16 and out["h"].dtype == torch.float16
    assert torch.equal(out["h"], sd["h"])
    assert torch.equal(out["mask"], sd["mask"]) and torch.equal(out["idx"], sd["idx"])


def test_custom_symmetry_travels_in_the_header():
    from symcodec.symmetry import define_symmetry

    sym = define_symmetry("c4-skew", [("rot90", -1)])
    sd = {"k": sym.project(torch.randn(3, 2, 5, 5))}
    out = decode(encode(sd, TransmissionPlan.default(sd, symmetry=sym, bits=32)))
    assert torch.equal(out["k"], sd["k"])
    assert (
        read_header(encode(sd, TransmissionPlan.default(sd, symmetry=sym, bits=32)))
        .records[0]
        .symmetry
        == sym
    )


def test_layers_option_and_rectangular_notes():
    sd = {"a.weight": torch.randn(2, 2, 3, 3), "b.weight": torch.randn(2, 2, 3, 5)}
    plan = TransmissionPlan.default(sd, symmetry="c4", bits=8)
    assert plan["a.weight"].mode == "dof" and plan["b.weight"].mode == "full"
    assert any("b.weight" in n and "3x5" in n for n in plan.notes)
    only_b = TransmissionPlan.default(sd, symmetry="central", bits=8, layers=["b"])
    assert only_b["a.weight"].mode == "full" and only_b["b.weight"].mode == "dof"
    with pytest.raises(SymcodecError, match="no conv kernel named 'c'"):
        TransmissionPlan.default(sd, symmetry="central", layers=["c"])


# ---- bad input ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def blob():
    sd = small_model(symmetric="central-skew")
    return encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=4))


def test_every_truncation_is_rejected(blob):
    for cut in list(range(0, 40)) + list(range(40, len(blob), 7)):
        with pytest.raises(SymcodecError):
            decode(blob[:cut])


def test_wrong_magic_and_version(blob):
    with pytest.raises(SymcodecError, match="wrong magic"):
        decode(b"PK\x03\x04" + blob[4:])
    with pytest.raises(SymcodecError, match="version 9"):
        decode(blob[:4] + struct.pack(">H", 9) + blob[6:])


def test_header_corruption_is_detected(blob):
    corrupt = bytearray(blob)
    corrupt[20] ^= 0x01
    with pytest.raises(SymcodecError, match="header CRC"):
        decode(bytes(corrupt))


def test_payload_corruption_names_the_tensor(blob):
    header = read_header(blob)
    conv2 = next(r for r in header.records if r.name == "conv2.weight")
    corrupt = bytearray(blob)
    corrupt[header.payload_offset + conv2.offset + 3] ^= 0x10
    with pytest.raises(SymcodecError, match="CRC mismatch in tensor 'conv2.weight'"):
        decode(bytes(corrupt))
    # lenient decoding goes on and reports which tensor failed
    _, decoded = decode_stream(bytes(corrupt), strict=False)
    assert [d.record.name for d in decoded if not d.crc_ok] == ["conv2.weight"]


def _with_header(blob, mutate):
    flags, header_len = struct.unpack(">HI", blob[6:12])
    stored = blob[16 : 16 + header_len]
    doc = json.loads(zlib.decompress(stored) if flags & 1 else stored)
    mutate(doc)
    new = json.dumps(doc).encode()
    payload = blob[16 + header_len :]
    return b"SYMC" + struct.pack(">HHII", 1, 0, len(new), zlib.crc32(new)) + new + payload


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["tensors"][0].update(bits=3), "unknown field 'bits'"),
        (lambda d: d["tensors"][0]["quantizer"].update(bits=40), "bits"),
        (lambda d: d["tensors"][0].update(symmetry={"name": "spiral"}), "field 'symmetry'"),
        (lambda d: d["tensors"][1].update(name=d["tensors"][0]["name"]), "duplicate"),
        (lambda d: d["tensors"][0].update(shape=[-1, 3, 3, 3]), "field 'shape'"),
        (lambda d: d["tensors"][0].update(count=10**12), "field 'count'"),
        (lambda d: d["tensors"][0].update(offset=5), "field 'offset'"),
        (lambda d: d["tensors"][0].update(coder="zstd"), "field 'coder'"),
        (lambda d: d.update(tensors="nope"), "'tensors' must be a list"),
    ],
)
def test_invalid_header_fields_are_named(blob, mutate, message):
    with pytest.raises(SymcodecError, match=message):
        decode(_with_header(blob, mutate))


def test_unknown_symmetry_in_plan():
    with pytest.raises(SymcodecError, match="unknown symmetry"):
        TransmissionPlan.default(small_model(), symmetry="mirror")


def test_non_finite_weights_are_rejected():
    sd = {"w": torch.tensor([1.0, float("nan")])}
    with pytest.raises(SymcodecError, match="w: cannot quantize non-finite"):
        encode(sd, TransmissionPlan.default(sd, bits=8))


def test_huge_kernels_are_sent_in_full_with_a_note():
    sd = {"big.weight": torch.randn(1, 1, 200, 200)}
    plan = TransmissionPlan.default(sd, symmetry="hflip", bits=8)
    assert plan["big.weight"].mode == "full"
    assert any("at most 1024 positions" in note for note in plan.notes)
    assert decode(encode(sd, plan))["big.weight"].shape == (1, 1, 200, 200)
