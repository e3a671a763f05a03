"""Step-size quantization and the ``ans`` entropy coder (issue 7): round trips, rates,
chunked error containment, header validation, receiver concealment and the CLI."""

import json
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from symcodec import SymcodecError
from symcodec.channel import make_channel
from symcodec.cli import main
from symcodec.codec import (
    QuantizerSpec,
    TensorPlan,
    TransmissionPlan,
    decode,
    encode,
    entropy,
    inspect,
)
from symcodec.codec.entropy import MAX_ALPHABET, EntropyModel, entropy_bits
from symcodec.codec.format import decode_stream, read_header
from symcodec.codec.quantize import fake_quantize, quantize
from symcodec.receiver import transmit
from symcodec.symmetry import get_symmetry

PREAMBLE = 16


def split(blob: bytes) -> tuple[dict, bytes]:
    flags, n = int.from_bytes(blob[6:8], "big"), int.from_bytes(blob[8:12], "big")
    stored = blob[PREAMBLE : PREAMBLE + n]
    return json.loads(zlib.decompress(stored) if flags & 1 else stored), blob[PREAMBLE + n :]


def assemble(doc: dict, payload: bytes) -> bytes:
    header = json.dumps(doc, separators=(",", ":")).encode()
    pre = b"SYMC" + (1).to_bytes(2, "big") + b"\0\0" + len(header).to_bytes(4, "big")
    return pre + zlib.crc32(header).to_bytes(4, "big") + header + payload


def laplace_model(seed=0):
    g = torch.Generator().manual_seed(seed)
    cs = get_symmetry("central-skew")
    lap = torch.distributions.Laplace(0.0, 0.05)
    torch.manual_seed(seed)
    return {
        "conv1.weight": cs.project(lap.sample((16, 8, 3, 3))),
        "conv1.bias": torch.randn(16, generator=g) * 0.1,
        "fc.weight": lap.sample((10, 400)),
        "steps": torch.tensor(5, dtype=torch.int64),
    }


# ---- the step quantizer -------------------------------------------------------------


def test_step_quantizer_known_answers():
    x = torch.tensor([-1.3, -0.3, 0.0, 0.2, 0.26, 0.74, 0.76, 2.0])
    spec = QuantizerSpec(kind="step", step=0.5)
    q = quantize(x, spec)
    assert q.codes.tolist() == [-3, -1, 0, 0, 1, 1, 2, 4]
    assert (q.params.min_level, q.params.max_level, q.params.width) == (-3, 4, 3)
    assert fake_quantize(x, spec).tolist() == [-1.5, -0.5, 0.0, 0.0, 0.5, 0.5, 1.0, 2.0]
    # dead zone 0.25: |x| < 0.5 * (0.5 + 0.25) = 0.375 goes to 0, the rest rounds lower
    dz = quantize(x, QuantizerSpec(kind="step", step=0.5, dead_zone=0.25)).codes
    assert dz.tolist() == [-2, 0, 0, 0, 0, 1, 1, 4]
    # ties round away from zero without a dead zone
    ties = quantize(torch.tensor([0.25, -0.25, 0.75]), spec).codes
    assert ties.tolist() == [1, -1, 2]
    # both zeros, and values just under a half step of either sign, give level 0
    zeros = quantize(torch.tensor([-0.0, 0.0, -0.2499, 0.2499]), spec)
    assert zeros.codes.tolist() == [0, 0, 0, 0] and zeros.codes.dtype == np.int32


def test_step_quantizer_is_odd_and_exact():
    w = torch.randn(5000, generator=torch.Generator().manual_seed(3))
    for dead_zone in (0.0, 0.3):
        spec = QuantizerSpec(kind="step", step=0.0625, dead_zone=dead_zone)
        assert np.array_equal(quantize(-w, spec).codes, -quantize(w, spec).codes)
        levels = quantize(w, spec).codes
        assert torch.equal(
            fake_quantize(w, spec), torch.from_numpy(levels).float() * torch.tensor(0.0625)
        )
    # skew kernels stay skew under any step
    cs = get_symmetry("central-skew")
    k = cs.project(torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(4)))
    assert cs.is_symmetric(fake_quantize(k, QuantizerSpec(kind="step", step=0.0137)))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 400),
    step=st.floats(1e-3, 2.0),
    dead_zone=st.sampled_from([0.0, 0.1, 0.25, 0.49]),
    offset=st.floats(-3.0, 3.0),
    ties=st.booleans(),
)
def test_step_levels_and_their_range_follow_the_formula(seed, n, step, dead_zone, offset, ties):
    """Levels are sign(x) floor(|x| / S + 0.5 - dead_zone) in float64, value by value, and the
    recorded range is the levels' own min and max (taken from the extreme values alone)."""
    rng = np.random.default_rng(seed)
    spec = QuantizerSpec(kind="step", step=step, dead_zone=dead_zone)
    if ties:  # values on the rounding boundaries, where a float shortcut would show
        x = (rng.integers(-30, 30, n) + 0.5 - dead_zone) * np.float32(spec.step)
    else:
        x = rng.normal(offset, 1.0, n)
    x = torch.tensor(x, dtype=torch.float32)
    q = quantize(x, spec)
    v = x.numpy().astype(np.float64)
    expected = np.sign(v) * np.floor(np.abs(v) / spec.step + (0.5 - dead_zone))
    assert np.array_equal(q.codes, expected.astype(np.int32))
    assert (q.params.min_level, q.params.max_level) == (int(q.codes.min()), int(q.codes.max()))


def test_step_quantizer_rejects_what_it_cannot_send():
    with pytest.raises(SymcodecError, match="too small"):
        quantize(torch.tensor([1.0]), QuantizerSpec(kind="step", step=float(np.float32(1e-9))))
    with pytest.raises(SymcodecError, match="non-finite"):
        quantize(torch.tensor([float("nan")]), QuantizerSpec(kind="step", step=0.5))
    for bad in (0.0, -1.0, float("inf"), float("nan"), 1e-50, 1e39):
        with pytest.raises(SymcodecError, match="step"):
            TensorPlan(step=bad)
    with pytest.raises(SymcodecError, match="dead_zone"):
        TensorPlan(step=0.1, dead_zone=0.5)
    with pytest.raises(SymcodecError, match="dead_zone needs a step"):
        TensorPlan(bits=8, dead_zone=0.1)
    with pytest.raises(SymcodecError, match="coder"):
        TensorPlan(bits=8, coder="huffman")
    with pytest.raises(SymcodecError, match="ans"):
        TensorPlan(bits=32, coder="ans")
    with pytest.raises(SymcodecError, match="chunk_values"):
        TensorPlan(bits=8, coder="ans", chunk_values=0)


def test_plan_api_applies_coder_and_step_to_every_float_tensor():
    sd = laplace_model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=32, step=0.01, coder="ans")
    for name in ("conv1.weight", "conv1.bias", "fc.weight"):
        spec = plan[name].quantizer_for(sd[name].dtype)
        assert spec.kind == "step" and spec.step == float(np.float32(0.01))
        assert plan[name].coder_for(spec) == "ans"
    assert plan["conv1.weight"].mode == "dof"
    steps = plan["steps"]
    assert steps.coder == "fixed" and steps.quantizer_for(torch.int64).kind == "raw"
    # other tensors sent as float32 stay fixed; the kernels take ans
    mixed = TransmissionPlan.default(
        sd, symmetry="central-skew", bits=6, other_bits=32, coder="ans", ans_fallback=False
    )
    assert mixed["conv1.weight"].coder == "ans" and mixed["fc.weight"].coder == "fixed"
    header = read_header(encode(sd, mixed))
    assert [r.coder for r in header.records] == ["ans", "fixed", "fixed", "fixed"]


# ---- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"step": 0.01},
        {"step": 0.02, "dead_zone": 0.2, "chunk_values": 100},
        {"bits": 5},
        {"bits": 12, "per_channel": True},
        {"bits": 4, "grid": "symmetric", "mode": "full-project"},
    ],
)
def test_fixed_and_ans_decode_to_identical_weights(kwargs):
    sd = laplace_model()
    kw = {"mode": "dof", **kwargs}
    fixed = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", **kw))
    ans = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", coder="ans", **kw))
    a, b = decode(fixed), decode(ans)
    for name in sd:
        assert torch.equal(a[name], b[name]), name
    assert len(ans) < len(fixed) or "bits" in kwargs


def test_ans_round_trip_equals_dequantized_levels():
    w = torch.distributions.Laplace(0.0, 1.0).sample((30000,))
    sd = {"w": w}
    for spec_kw in ({"step": 0.1}, {"step": 0.25, "dead_zone": 0.35}):
        plan = TransmissionPlan({"w": TensorPlan(coder="ans", chunk_values=4096, **spec_kw)})
        spec = plan["w"].quantizer_for(torch.float32)
        levels = quantize(w, spec).codes
        expected = torch.from_numpy(levels).float() * spec.step
        assert torch.equal(decode(encode(sd, plan))["w"], expected)


def test_one_level_ranges_and_empty_tensors():
    sd = {"z": torch.zeros(100), "c": torch.full((10,), 0.3), "e": torch.zeros(0, 4)}
    plan = TransmissionPlan.default(sd, step=0.1, coder="ans", chunk_values=32, ans_fallback=False)
    blob = encode(sd, plan)
    header = read_header(blob)
    z = header.records[0]
    assert z.chunks == ((0, 0),) * 4 and z.payload_bits == 0  # nothing to send
    assert header.records[2].chunks == ()
    out = decode(blob)
    assert torch.equal(out["z"], sd["z"]) and out["e"].shape == (0, 4)
    assert torch.equal(out["c"], torch.full((10,), 3 * np.float32(0.1)))


# ---- rates ----------------------------------------------------------------------------


def test_rate_is_within_a_few_percent_of_the_entropy():
    """1M Laplace values at a step giving ~5 bits of entropy per value."""
    g = torch.Generator().manual_seed(0)
    u = torch.rand(1_000_000, generator=g) - 0.5
    w = -torch.sign(u) * torch.log1p(-2 * u.abs())  # Laplace(0, 1)
    sd = {"w": w}
    blob = encode(sd, TransmissionPlan({"w": TensorPlan(step=0.17, coder="ans")}))
    acc = inspect(blob, entropy=True)
    t = acc.tensors[0]
    header = read_header(blob)
    record = header.records[0]
    assert t.coder == "ans" and record.model.family in ("laplace", "histogram")
    assert t.payload_bits == 8 * sum(length for length, _ in record.chunks)
    assert 4.0 < t.entropy_per_value < 6.0
    bound = t.entropy_bits + t.model_bits
    assert t.entropy_bits <= t.payload_bits <= 1.01 * bound, (t.payload_bits, bound)
    # the fixed coder of the same levels pays the full width
    fixed = inspect(encode(sd, TransmissionPlan({"w": TensorPlan(step=0.17)})), True).tensors[0]
    assert fixed.bits_per_value == fixed.bits >= 7 and fixed.entropy_bits == t.entropy_bits


def test_model_choice_follows_the_data():
    g = torch.Generator().manual_seed(1)
    bimodal = torch.cat([torch.randn(20000, generator=g) - 5, torch.randn(20000, generator=g) + 5])
    tiny = torch.randn(40, generator=g)
    sd = {"bimodal": bimodal, "tiny": tiny}
    plan = TransmissionPlan.default(sd, step=0.1, coder="ans", ans_fallback=False)
    header = read_header(encode(sd, plan))
    families = {r.name: r.model.family for r in header.records}
    assert families["bimodal"] == "histogram"  # no parametric model fits two modes
    assert families["tiny"] in ("laplace", "gaussian")  # a histogram costs more than it saves


@pytest.mark.parametrize("family", ["laplace", "gaussian"])
@pytest.mark.parametrize("scale", [0.3, 2.0, 40.0])
def test_fitted_scale_is_the_best_of_a_dense_scan(family, scale):
    """The encoder's search over the scale lands within 0.01% of the smallest exact cost
    found by scanning 2,000 scales over the search's whole bracket."""
    rng = np.random.default_rng(7)
    values = rng.laplace(0.0, scale, 20000) if family == "laplace" else rng.normal(0, scale, 20000)
    levels = np.round(values).astype(np.int64)
    first, n = int(levels.min()), int(levels.max() - levels.min() + 1)
    counts = np.bincount(levels - first, minlength=n)
    nz = np.flatnonzero(counts)
    c = counts[nz].astype(np.float64)
    model, bits = entropy._fit_parametric(family, nz, c, first, n)
    assert bits == entropy._model_cost(model, nz, c, first, n)
    scan = np.exp(np.linspace(np.log(scale / 40), np.log(scale * 40), 2000))
    best = min(
        entropy._model_cost(
            EntropyModel(family, center=model.center, decay=entropy._decay(family, s)),
            nz,
            c,
            first,
            n,
        )
        for s in scan
    )
    assert bits <= best * (1 + 1e-4), (bits, best)


def test_entropy_bits_and_model_tables():
    assert entropy_bits(np.array([4, 4])) == 8.0
    assert entropy_bits(np.array([0, 0])) == 0.0
    w = EntropyModel("laplace", center=0.0, decay=0.25).weights(-2, 5)
    assert w.tolist() == [
        1 + 2**24 / 256,
        1 + 2**24 / 16,
        1 + 2**24,
        1 + 2**24 / 16,
        1 + 2**24 / 256,
    ]


# ---- chunks and bit errors --------------------------------------------------------------


def _ans_blob(chunk_values=1000):
    w = torch.distributions.Laplace(0.0, 1.0).sample((10000,))
    plan = TransmissionPlan({"w": TensorPlan(step=0.2, coder="ans", chunk_values=chunk_values)})
    return w, encode({"w": w}, plan)


def _flip_a_bit_in_chunk(blob: bytes, chunk: int) -> bytes:
    """``blob`` with one bit flipped in the middle of ``chunk`` of its first record."""
    header = read_header(blob)
    record = header.records[0]
    start = header.payload_offset + sum(length for length, _ in record.chunks[:chunk])
    bad = bytearray(blob)
    bad[start + record.chunks[chunk][0] // 2] ^= 0x10
    return bytes(bad)


def test_a_flipped_bit_costs_one_chunk():
    torch.manual_seed(0)
    w, blob = _ans_blob()
    header = read_header(blob)
    record = header.records[0]
    assert len(record.chunks) == 10
    clean = decode(blob)["w"]
    bad = _flip_a_bit_in_chunk(blob, 3)
    with pytest.raises(SymcodecError, match=r"payload CRC mismatch in tensor 'w'"):
        decode(bad)
    _, decoded = decode_stream(bad, strict=False)
    item = decoded[0]
    assert item.lost_chunks == (3,) and item.concealed_values == 1000 and not item.crc_ok
    got = decode(bad, strict=False)["w"]
    assert torch.equal(got[3000:4000], torch.zeros(1000))
    assert torch.equal(got[:3000], clean[:3000]) and torch.equal(got[4000:], clean[4000:])
    # the header (with the model) is untouched: inspect still works from it
    assert inspect(bad).tensors[0].payload_bits == inspect(blob).tensors[0].payload_bits


def test_corrupt_chunk_with_a_matching_crc_is_caught():
    """Data that passes every CRC but is not a valid ANS stream: a SymcodecError when
    strict, a lost chunk when not (never an exception from constriction)."""
    torch.manual_seed(1)
    _, blob = _ans_blob(chunk_values=2500)
    doc, payload = split(blob)
    rec = doc["tensors"][0]
    first = rec["chunks"][0][0]
    bad = bytearray(payload)
    bad[first - 4 : first] = b"\0\0\0\0"  # the last word of chunk 0: ANS never ends in 0
    bad = bytes(bad)
    rec["chunks"][0][1] = zlib.crc32(bad[:first])
    rec["crc32"] = zlib.crc32(bad)
    forged = assemble(doc, bad)
    with pytest.raises(SymcodecError, match="tensor 'w': corrupt ans data, chunk 0"):
        decode(forged)
    _, decoded = decode_stream(forged, strict=False)
    assert decoded[0].lost_chunks == (0,)


def test_receiver_conceals_lost_chunks_and_reports_them():
    torch.manual_seed(2)
    sd = laplace_model()
    plan = TransmissionPlan.default(
        sd, symmetry="central-skew", step=0.005, coder="ans", ans_fallback=False
    )
    plan = TransmissionPlan(
        {k: TensorPlan(**{**v.__dict__, "chunk_values": 64}) for k, v in plan.tensors.items()}
    )
    clean = decode(encode(sd, plan))
    rx = transmit(sd, plan, make_channel("bsc", p=3e-4), seed=5)
    assert rx.bit_errors > 0 and rx.lost_chunks > 0
    assert rx.lost_chunks == sum(len(v) for v in rx.lost_chunks_by_tensor.values())
    assert rx.concealed_values == sum(t.concealed_values for t in rx.tensors)
    header = read_header(encode(sd, plan))
    cs = get_symmetry("central-skew")
    for record, t in zip(header.records, rx.tensors, strict=True):
        got, want = rx.state_dict[record.name], clean[record.name]
        if record.coder != "ans":
            continue
        assert t.chunks == len(record.chunks)
        values = cs.gather(got) if record.mode == "dof" else got
        expected = cs.gather(want) if record.mode == "dof" else want
        values, expected = values.reshape(-1), expected.reshape(-1)
        for i in range(t.chunks):
            part = slice(64 * i, 64 * (i + 1))
            if i in t.lost_chunks:
                assert torch.equal(values[part], torch.zeros_like(values[part]))
            else:
                assert torch.equal(values[part], expected[part])
        if record.mode == "dof":
            assert cs.is_symmetric(got)  # concealed zeros stay in V_S
    assert rx.payload_bits == inspect(encode(sd, plan)).payload_bits


# ---- hostile headers --------------------------------------------------------------------


def _ans_record_blob():
    torch.manual_seed(3)
    w = torch.distributions.Laplace(0.0, 1.0).sample((3000,))
    return encode(
        {"w": w}, TransmissionPlan({"w": TensorPlan(step=0.25, coder="ans", chunk_values=1000)})
    )


ANS_BLOB = _ans_record_blob()


def _mutated(change):
    doc, payload = split(ANS_BLOB)
    change(doc["tensors"][0])
    return assemble(doc, payload)


def _set(path, value):
    def change(rec):
        target = rec
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(key):
    return lambda rec: rec.pop(key)


HOSTILE = {
    "coder ans on float32": (_set(("quantizer",), {"kind": "float32", "bits": 32}), "'coder'"),
    "model missing": (_drop("model"), "'model'"),
    "chunks missing": (_drop("chunks"), "'chunks'"),
    "model on a fixed record": (_set(("coder",), "fixed"), "'chunk_values' needs coder 'ans'"),
    "family unknown": (_set(("model", "family"), "zipf"), "'model'"),
    "model not an object": (_set(("model",), [1, 2]), "'model'"),
    "decay 1": (_set(("model",), {"family": "laplace", "center": 0, "decay": 1.0}), "'decay'"),
    "decay 0": (_set(("model",), {"family": "gaussian", "center": 0, "decay": 0}), "'decay'"),
    "decay huge int": (
        _set(("model",), {"family": "laplace", "center": 0, "decay": 10**400}),
        "'decay'",
    ),
    "center not half": (
        _set(("model",), {"family": "laplace", "center": 0.3, "decay": 0.5}),
        "'center'",
    ),
    "center far": (
        _set(("model",), {"family": "laplace", "center": 1e9, "decay": 0.5}),
        "'center'",
    ),
    "center huge int": (
        _set(("model",), {"family": "laplace", "center": 10**400, "decay": 0.5}),
        "'center'",
    ),
    "histogram short": (_set(("model",), {"family": "histogram", "counts": [3000]}), "'counts'"),
    "histogram sum": (
        lambda r: r.update(
            model={
                "family": "histogram",
                "counts": [1] * (r["quantizer"]["max_level"] - r["quantizer"]["min_level"] + 1),
            }
        ),
        "'counts'",
    ),
    "model extra key": (lambda r: r["model"].update(extra=1), "unknown field 'extra'"),
    "chunk_values 0": (_set(("chunk_values",), 0), "'chunk_values'"),
    "chunk_values bool": (_set(("chunk_values",), True), "'chunk_values'"),
    "chunk_values huge": (_set(("chunk_values",), 2**40), "'chunk_values'"),
    "chunk count": (lambda r: r["chunks"].pop(), "'chunks' must list 3 chunks"),
    "chunk entry": (_set(("chunks", 0), [4]), "'chunks'"),
    "chunk crc": (_set(("chunks", 0, 1), 2**32), "'chunks'"),
    "chunk length odd": (
        lambda r: r["chunks"][0].__setitem__(0, r["chunks"][0][0] + 2),
        "whole 32-bit words",
    ),
    "chunk lengths sum": (
        lambda r: r["chunks"][0].__setitem__(0, r["chunks"][0][0] + 4),
        "'length'",
    ),
    "step zero": (_set(("quantizer", "step"), 0.0), "'step'"),
    "step negative": (_set(("quantizer", "step"), -0.25), "'step'"),
    "step not float32": (_set(("quantizer", "step"), 0.1), "'step'"),
    "step huge int": (_set(("quantizer", "step"), 10**400), "'step'"),
    "step string": (_set(("quantizer", "step"), "0.25"), "'step'"),
    "step overflows": (_set(("quantizer", "step"), float(np.float32(3e38))), "exceeds float32"),
    "dead zone 0.5": (_set(("quantizer", "dead_zone"), 0.5), "'dead_zone'"),
    "dead zone negative": (_set(("quantizer", "dead_zone"), -0.1), "'dead_zone'"),
    "min above max": (_set(("quantizer", "min_level"), 10**3), "'min_level'"),
    "level out of range": (_set(("quantizer", "max_level"), 2**25), "'max_level'"),
    "level float": (_set(("quantizer", "min_level"), -3.0), "'min_level'"),
    "bits mismatch": (_set(("quantizer", "bits"), 16), "'bits' must be"),
    "step field missing": (lambda r: r["quantizer"].pop("dead_zone"), "'dead_zone' is missing"),
    "per_channel on step": (
        _set(("quantizer", "per_channel"), False),
        "unknown field 'per_channel'",
    ),
    "too many levels for ans": (
        lambda r: r["quantizer"].update(min_level=-(2**16), max_level=2**16, bits=18),
        "exceeds 65536",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_ans_and_step_fields_are_rejected_naming_the_field(name):
    change, pattern = HOSTILE[name]
    blob = _mutated(change)
    for call in (read_header, inspect, decode, lambda b: decode(b, strict=False)):
        with pytest.raises(SymcodecError) as info:
            call(blob)
        assert pattern in str(info.value), str(info.value)
        assert "\n" not in str(info.value)


def test_table_entries_count_against_the_element_allowance():
    """The probability table an ans record makes the decoder build (one entry per level of
    its range) counts against the stream's element allowance like the elements rebuilt."""
    from symcodec.codec.limits import MIN_ELEMENT_ALLOWANCE

    doc, _ = split(ANS_BLOB)
    rec = doc["tensors"][0]
    count = MIN_ELEMENT_ALLOWANCE - 1000
    rec.update(
        shape=[count],
        count=count,
        quantizer={
            "kind": "step",
            "bits": 16,
            "step": 1.0,
            "dead_zone": 0.0,
            "min_level": -(2**15),
            "max_level": 2**15 - 1,
        },  # fmt: skip
        model={"family": "laplace", "center": 0, "decay": 0.5},
        chunk_values=2**22,
        chunks=[[0, 0]] * 4,
        length=0,
        crc32=0,
    )
    with pytest.raises(SymcodecError, match="field 'quantizer' makes the stream hold more than"):
        read_header(assemble(doc, b""))
    rec["quantizer"].update(min_level=-10, max_level=10, bits=5)  # a small table fits
    read_header(assemble(doc, b""))


# ---- property ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(0, 3000),
    scale=st.floats(1e-3, 1e3),
    step_ratio=st.floats(1e-3, 2.0),
    dead_zone=st.sampled_from([0.0, 0.1, 0.45]),
    chunk_values=st.integers(1, 5000),
    heavy=st.booleans(),
)
def test_ans_round_trip_is_exact(seed, n, scale, step_ratio, dead_zone, chunk_values, heavy):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, generator=g) * scale
    if heavy:
        w = w**3 / scale**2
    step = scale * step_ratio
    plan = TransmissionPlan(
        {"w": TensorPlan(step=step, dead_zone=dead_zone, coder="ans", chunk_values=chunk_values)}
    )
    spec = plan["w"].quantizer_for(torch.float32)
    try:
        blob = encode({"w": w}, plan)
    except SymcodecError as exc:  # only a range too wide for the ans alphabet
        assert str(MAX_ALPHABET) in str(exc)
        return
    assert torch.equal(decode(blob)["w"], fake_quantize(w, spec))
    fixed = TransmissionPlan({"w": TensorPlan(step=step, dead_zone=dead_zone)})
    assert torch.equal(decode(encode({"w": w}, fixed))["w"], decode(blob)["w"])


# ---- CLI --------------------------------------------------------------------------------


def test_cli_encode_ans_step_decode_info(tmp_path, capsys):
    sd = {k: v for k, v in laplace_model().items()}
    src = tmp_path / "m.safetensors"
    save_file(sd, str(src))
    out = tmp_path / "m.symc"
    code = main(
        [
            "encode", str(src), "-o", str(out), "--symmetry", "central-skew",
            "--coder", "ans", "--step", "0.004", "--dead-zone", "0.1",
        ]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "entropy bound" in text
    header = read_header(out.read_bytes())
    assert {r.coder for r in header.records} == {"ans", "fixed"}
    assert header.records[0].quantizer.kind == "step"

    rx = tmp_path / "r.safetensors"
    assert main(["decode", str(out), "-o", str(rx)]) == 0
    got = load_file(str(rx))
    assert torch.equal(got["conv1.weight"], decode(out.read_bytes())["conv1.weight"])

    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "coder" in text and "bits/value" in text and "entropy b/v" in text
    line = next(row for row in text.splitlines() if row.startswith("conv1.weight"))
    assert " ans " in line


def test_cli_decode_lenient_names_the_lost_chunk(tmp_path, capsys):
    torch.manual_seed(0)
    _, blob = _ans_blob()
    src, rx = tmp_path / "bad.symc", tmp_path / "r.safetensors"
    src.write_bytes(_flip_a_bit_in_chunk(blob, 3))
    assert main(["decode", str(src), "-o", str(rx)]) == 2  # strict: refused, nothing written
    assert "CRC mismatch in tensor 'w'" in capsys.readouterr().err and not rx.exists()
    assert main(["decode", str(src), "-o", str(rx), "--lenient"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "w: chunks 3 failed their CRC; 1,000 values set to 0" in text
    assert torch.equal(load_file(str(rx))["w"][3000:4000], torch.zeros(1000))


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["--bits", "4", "--step", "0.1"], "not allowed with argument"),
        (["--step", "0"], "step must be a finite number > 0"),
        (["--step", "nan"], "step must be a finite number > 0"),
        (["--step", "x"], "step must be a number"),
        (["--step", "0.1", "--dead-zone", "0.5"], "dead zone must be in [0, 0.5)"),
        (["--dead-zone", "0.2"], "dead_zone needs a step"),
        (["--coder", "huffman"], "invalid choice"),
        (["--coder", "ans", "--bits", "32"], "coder 'ans' codes quantized levels"),
        (["--coder", "ans", "--chunk-values", "0"], "chunk values must be in"),
        (["--coder", "ans", "--step", "1e-9"], "too small"),
    ],
)
def test_cli_bad_values_give_one_line(argv, pattern, tmp_path, capsys):
    src = tmp_path / "m.safetensors"
    save_file({"w": torch.randn(10)}, str(src))
    code = main(["encode", str(src), "-o", str(tmp_path / "o.symc"), *argv])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symcodec: error: ") and pattern in lines[0]
    assert not (tmp_path / "o.symc").exists()
