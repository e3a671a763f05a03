"""Hardening: a decoder that survives anything, no code from data, atomic outputs, and one
clean error line for bad input to every command (see ``docs/security.md``)."""

from __future__ import annotations

import json
import os
import pickle
import resource
import signal
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from symcodec import io as symio
from symcodec.cli import main
from symcodec.codec import QuantizerSpec, TensorPlan, TransmissionPlan, decode, encode, inspect
from symcodec.codec.format import read_header
from symcodec.codec.limits import MAX_KERNEL_POSITIONS
from symcodec.codec.quantize import QuantizerParams, dequantize, level_table
from symcodec.errors import SymcodecError
from symcodec.symmetry import Symmetry, get_symmetry

ROOT = Path(__file__).resolve().parents[1]
MEMORY_BOUND = 64 * 2**20  # bytes traced per fuzz case

# the fuzzer's corpus, stream surgery and mutators (bench/fuzz_*.py)
sys.path.insert(0, str(ROOT / "bench"))
import fuzz_corpus  # noqa: E402
import fuzz_decoder  # noqa: E402
import fuzz_mutators  # noqa: E402

CORPUS = fuzz_corpus.corpus()


def survives(blob: bytes) -> str:
    """Run read_header, inspect and decode (strict and lenient) within the memory bound;
    anything but success or SymcodecError fails the test."""
    tracemalloc.start()
    try:
        outcome = fuzz_decoder.exercise(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"decoding traced {peak / 2**20:.1f} MiB"
    return outcome


# ------------------------------------------------------------------------------------
# 1-2. The decoder under mutation (hypothesis drives the fuzzer's mutators)

FUZZ_SETTINGS = settings(
    max_examples=400,
    deadline=None,  # no timing assertion: a slow example under load is not a failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)


def test_corpus_decodes():
    assert len(CORPUS) >= 15
    for blob in CORPUS:
        assert survives(blob) == "ok"


@FUZZ_SETTINGS
@given(
    mutator=st.sampled_from(sorted(fuzz_mutators.MUTATORS)),
    index=st.integers(0, len(CORPUS) - 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_mutated_streams_decode_or_raise_symcodec_error(mutator, index, seed):
    rng = np.random.default_rng(seed)
    survives(fuzz_mutators.MUTATORS[mutator](CORPUS[index], rng, CORPUS))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, -1, 2**31, 2**32, 2**39, 2**40, 2**63, 10**30])
    | st.floats()
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)


def _reheader(blob: bytes, mutate, payload: bytes | None = None) -> bytes:
    header, rest = fuzz_corpus.split(blob)
    doc = json.loads(header)
    doc = mutate(doc) or doc
    return fuzz_corpus.assemble(
        json.dumps(doc, allow_nan=True).encode(), rest if payload is None else payload
    )


@FUZZ_SETTINGS
@given(data=st.data(), index=st.integers(0, len(CORPUS) - 1), value=json_values)
def test_any_json_value_in_any_header_field(data, index, value):
    """Re-CRC'd headers reach the field validation with any value at any place."""
    doc, payload = fuzz_corpus.header_doc(CORPUS[index])
    paths = [path for path, _ in fuzz_mutators.nodes(doc)]
    path = data.draw(st.sampled_from(paths))
    doc = fuzz_mutators.set_at(doc, path, value)
    if data.draw(st.booleans()):
        fuzz_corpus.fix_record_crcs(doc, payload)
    survives(fuzz_corpus.assemble(json.dumps(doc, allow_nan=True).encode(), payload))


@FUZZ_SETTINGS
@given(header=st.binary(max_size=300), payload=st.binary(max_size=64))
def test_random_header_bytes_with_a_valid_crc(header, payload):
    survives(fuzz_corpus.assemble(header, payload))


# ------------------------------------------------------------------------------------
# Regression tests: each hole found, with the field named in the error


def _small_stream() -> bytes:
    g = torch.Generator().manual_seed(0)
    sd = {"conv.weight": torch.randn(4, 2, 3, 3, generator=g), "conv.bias": torch.randn(4)}
    return encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=4))


BLOB = _small_stream()


@pytest.fixture()
def blob():
    return BLOB


def _only(record: dict, payload: bytes = b"", **fields):
    """A header with one record (fields replaced), offset 0 and the payload's CRC."""
    rec = {**record, "length": len(payload), **fields, "offset": 0, "crc32": zlib.crc32(payload)}
    return lambda doc: {**doc, "tensors": [rec]}


def _text_swap(blob: bytes, old: bytes, new: bytes) -> bytes:
    header, payload = fuzz_corpus.split(blob)
    assert old in header
    return fuzz_corpus.assemble(header.replace(old, new), payload)


def _record(blob, i=0):
    return json.loads(fuzz_corpus.split(blob)[0])["tensors"][i]


FLOAT32 = {"kind": "float32", "bits": 32}
RAW8 = {"kind": "raw", "bits": 8}


def _cases(blob):
    conv, bias = _record(blob, 0), _record(blob, 1)
    b = blob
    return {
        # JSON parser: nesting bombs, long integers, non-JSON numbers, duplicate keys
        "deep nesting": (
            fuzz_corpus.assemble(b"[" * 100_000 + b"]" * 100_000, b""),
            "nested too deeply",
        ),
        "5000-digit integer": (
            fuzz_corpus.assemble(b'{"format":"symc","tensors":[],"x":' + b"9" * 5000 + b"}", b""),
            "not valid JSON",
        ),
        "NaN token": (
            fuzz_corpus.assemble(b'{"format":"symc","tensors":[],"metadata":NaN}', b""),
            "NaN",
        ),
        "duplicate key": (
            fuzz_corpus.assemble(b'{"format":"symc","tensors":[],"tensors":[]}', b""),
            "duplicate key 'tensors'",
        ),
        "1e999 in lo": (
            _text_swap(
                _reheader(b, lambda d: d["tensors"][0]["quantizer"].update(lo=[12345.5])),
                b"12345.5",
                b"1e999",  # parses as inf
            ),
            "finite",
        ),
        # wrong JSON types where strings and ints are expected
        "dtype is a list": (
            _reheader(b, lambda d: d["tensors"][0].update(dtype=["float32"])),
            "field 'dtype'",
        ),
        "mode is an object": (
            _reheader(b, lambda d: d["tensors"][0].update(mode={"a": 1})),
            "field 'mode'",
        ),
        "symmetry name is a list": (
            _reheader(b, lambda d: d["tensors"][0].update(symmetry={"name": [1]})),
            "field 'symmetry'",
        ),
        "integer too large for a float in lo": (
            _reheader(b, lambda d: d["tensors"][0]["quantizer"].update(lo=[10**400])),
            "exceed float32",
        ),
        "count is a string": (
            _reheader(b, lambda d: d["tensors"][0].update(count="4")),
            "field 'count'",
        ),
        "shape holds a bool": (
            _reheader(b, lambda d: d["tensors"][1].update(shape=[True])),
            "field 'shape'",
        ),
        "bits is a bool": (
            _reheader(b, lambda d: d["tensors"][0]["quantizer"].update(bits=True)),
            "'bits'",
        ),
        "bits out of range": (
            _reheader(b, lambda d: d["tensors"][0]["quantizer"].update(bits=99)),
            "bits",
        ),
        "negative length": (
            _reheader(b, lambda d: d["tensors"][0].update(length=-1)),
            "field 'length'",
        ),
        "crc beyond 32 bits": (
            _reheader(b, lambda d: d["tensors"][0].update(crc32=2**32)),
            "field 'crc32'",
        ),
        "unknown symmetry": (
            _reheader(b, lambda d: d["tensors"][0].update(symmetry={"name": "spiral"})),
            "unknown symmetry 'spiral'",
        ),
        "unknown field in a symmetry": (
            _reheader(b, lambda d: d["tensors"][0].update(symmetry={"name": "d4", "eval": "x"})),
            "unknown field 'eval'",
        ),
        "sign is a bool": (
            _reheader(
                b,
                lambda d: d["tensors"][0].update(
                    symmetry={"name": "s", "generators": ["rot180"], "signs": [True]}
                ),
            ),
            "'signs'",
        ),
        "permutation of bools": (
            _reheader(
                b,
                lambda d: d["tensors"][0].update(
                    symmetry={"name": "s", "generators": [[True, False]], "signs": [1]}
                ),
            ),
            "generator",
        ),
        # a symmetric record whose group closure or layout would take minutes and gigabytes
        "huge kernel under a symmetry": (
            _reheader(
                b,
                _only(
                    conv,
                    shape=[0, 1, 2000, 2000],
                    symmetry={"name": "hflip"},
                    count=0,
                    quantizer=FLOAT32,
                ),  # fmt: skip
                b"",
            ),
            f"at most {MAX_KERNEL_POSITIONS} positions",
        ),
        "user-defined symmetry generating S_12": (
            _reheader(
                b,
                _only(
                    conv,
                    shape=[0, 1, 3, 4],
                    symmetry={
                        "name": "sn",
                        "generators": [
                            [1, 0, *range(2, 12)],
                            [*range(1, 12), 0],
                        ],
                        "signs": [1, 1],
                    },
                    count=0,
                    quantizer=FLOAT32,
                ),
                b"",
            ),
            "group of more than 64 elements",
        ),
        "permutation longer than any kernel": (
            _reheader(
                b,
                lambda d: d["tensors"][0].update(
                    symmetry={"name": "p", "generators": [list(range(5000))], "signs": [1]}
                ),
            ),
            "generator",
        ),
        # shapes that cost no payload: they must not make the decoder allocate
        "dof kernel with no live orbit, 2**30 slices": (
            _reheader(
                b,
                _only(
                    conv,
                    shape=[2**30, 1, 1, 1],
                    symmetry={"name": "hflip-skew"},
                    count=0,
                    quantizer=FLOAT32,
                ),  # fmt: skip
                b"",
            ),
            "field 'shape'",
        ),
        "pruned tensor keeping nothing of 2**40": (
            _reheader(
                b,
                _only(
                    bias,
                    shape=[2**39, 2],
                    mode="pruned",
                    count=0,
                    quantizer=FLOAT32,
                    positions={"encoding": "indices", "bits": 0, "length": 0},
                ),
                b"",
            ),
            "field 'shape'",
        ),
        "shape [2**39, 2] with a matching count and length": (
            _reheader(
                b, _only(bias, shape=[2**39, 2], count=2**40, length=2**42, quantizer=FLOAT32)
            ),
            "truncated",
        ),
        "per-channel ranges longer than the channels": (
            _reheader(
                b,
                lambda d: d["tensors"][0]["quantizer"].update(
                    per_channel=True, lo=[0.0] * 100_000, hi=[1.0] * 100_000
                ),
            ),
            "quantizer needs 4 ranges, got 100000",
        ),
        "header length field 0xFFFFFFFF": (
            b[:8] + struct.pack(">I", 0xFFFFFFFF) + b[12:],
            "exceeds",
        ),
        "header length beyond the file": (
            b[:8] + struct.pack(">I", len(b)) + b[12:],
            "truncated",
        ),
        "bool tensor in dof mode": (
            _reheader(b, _only(conv, dtype="bool", quantizer=RAW8)),
            "needs a float kernel tensor",
        ),
    }


HOSTILE = _cases(BLOB)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_header_is_rejected_naming_the_field(name):
    stream, message = HOSTILE[name]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for call in (read_header, inspect, decode, lambda x: decode(x, strict=False)):
        with pytest.raises(SymcodecError, match=message.replace("(", r"\(").replace("*", r"\*")):
            call(stream)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 256, f"peak RSS grew by {grown_mib:.0f} MiB"
    assert survives(stream) == "rejected"


def test_empty_leading_dimension_in_dof_mode_decodes(blob):
    """Was a RuntimeError: reshape(0, 2, -1) of no values is ambiguous."""
    conv = _record(blob, 0)
    stream = _reheader(blob, _only(conv, shape=[0, 2, 3, 3], count=0, quantizer=FLOAT32), b"")
    out = decode(stream)
    assert out["conv.weight"].shape == (0, 2, 3, 3)
    sd = {"k": torch.zeros(0, 2, 3, 3)}
    plan = TransmissionPlan({"k": TensorPlan(get_symmetry("central"), "dof", bits=8)})
    assert decode(encode(sd, plan))["k"].shape == (0, 2, 3, 3)


def test_many_channels_at_16_bits_decode_without_a_level_table(blob):
    """Was 20,000 x 2**16 float32 levels (5 GiB) for a 40 kB payload; now direct, and equal."""
    bias = _record(blob, 1)
    n = 20_000
    payload = np.arange(n, dtype=">u2").tobytes()
    quantizer = {"kind": "uniform", "bits": 16, "grid": "minmax", "per_channel": True}
    quantizer.update(lo=[float(-i) for i in range(n)], hi=[float(i) for i in range(n)])
    stream = _reheader(
        blob,
        _only(bias, payload, shape=[n], count=n, quantizer=quantizer),
        payload,
    )
    assert survives(stream) == "ok"  # within MEMORY_BOUND: no level table was built
    out = decode(stream)["conv.bias"]
    i = np.arange(n, dtype=np.float32)
    step = (2 * i) / np.float32(65536)
    assert torch.equal(out, torch.from_numpy(-i + (i + np.float32(0.5)) * step))


@pytest.mark.parametrize("grid", ["minmax", "symmetric"])
@pytest.mark.parametrize("bits", [2, 7, 12, 16])
def test_direct_dequantization_equals_the_level_table(grid, bits):
    rng = np.random.default_rng(bits)
    channels, per = 40, 3
    lo = rng.normal(size=channels).astype(np.float32) * 10
    hi = lo + np.abs(rng.normal(size=channels)).astype(np.float32)
    if grid == "symmetric":
        hi = np.maximum(np.abs(lo), np.abs(hi))
        lo = -hi
    params = QuantizerParams(lo, hi)
    spec = QuantizerSpec("uniform", bits, grid, per_channel=True)
    codes = rng.integers(0, 2**bits, size=channels * per).astype(np.uint16)
    table = level_table(params, spec)
    expected = table[np.repeat(np.arange(channels), per), codes.astype(np.int64)]
    got = dequantize(codes, params, spec, (channels, per)).numpy().reshape(-1)
    if channels * 2**bits <= 2**20:  # force the direct path too
        from symcodec.codec.quantize import _dequantize_direct

        got = _dequantize_direct(codes, params, spec, channels).numpy().reshape(-1)
    assert np.array_equal(got, expected)


def test_corrupt_bool_bytes_decode_to_valid_bools(blob):
    payload = bytes([0, 1, 2, 255])
    bias = _record(blob, 1)
    stream = _reheader(
        blob,
        _only(bias, payload, shape=[4], dtype="bool", count=4, quantizer=RAW8),
        payload,
    )
    out = decode(stream)["conv.bias"]
    assert out.tolist() == [False, True, True, True]
    assert int(out.sum()) == 3


def test_symmetry_work_per_stream_is_bounded(blob):
    """Many distinct large user-defined symmetries: refused before their layouts are built."""
    conv = _record(blob, 0)
    records = []
    for k in range(8):
        sym = {"name": f"s{k}", "generators": [[(p + k + 1) % 1024 for p in range(1024)]]}
        sym["signs"] = [1]
        rec = {**conv, "name": f"t{k}", "shape": [0, 1, 32, 32], "symmetry": sym, "count": 0}
        rec.update(quantizer=FLOAT32, offset=0, length=0, crc32=0)
        records.append(rec)
    stream = _reheader(blob, lambda d: {**d, "tensors": records}, b"")
    with pytest.raises(SymcodecError, match="group of more than 64|too many orbit layouts"):
        read_header(stream)  # rejected before enumerating the group (else this would hang)


def test_encoder_refuses_what_the_decoder_refuses():
    sd = {"k": torch.zeros(1, 1, 33, 33)}
    plan = TransmissionPlan({"k": TensorPlan(get_symmetry("hflip"), "dof", bits=8)})
    with pytest.raises(SymcodecError, match="at most 1024 positions, got 33x33"):
        encode(sd, plan)
    sn = Symmetry("sn", ((1, 0, *range(2, 9)), (*range(1, 9), 0)), (1, 1))
    plan = TransmissionPlan({"k": TensorPlan(sn, "full-project", bits=8)})
    with pytest.raises(SymcodecError, match="group of more than 64 elements"):
        encode({"k": torch.zeros(1, 1, 3, 3)}, plan)
    # a stream of dead kernels that would rebuild more elements than the limit allows
    dead = Symmetry("dead", ("hflip",), (-1,))
    sd = {"k": torch.zeros(2**24 + 1, 1, 1)}
    plan = TransmissionPlan({"k": TensorPlan(dead, "dof", bits=8)})
    with pytest.raises(SymcodecError, match="field 'shape' makes the stream hold more than"):
        encode(sd, plan)


def test_any_bytes_like_stream_decodes_the_same():
    for pad in range(4):
        sd = {"w": torch.arange(6.0)}
        stream = encode(sd, TransmissionPlan.default(sd, bits=8), metadata={"pad": "x" * pad})
        if len(stream) % 4 == 0:
            break
    expected = decode(stream)["w"]
    for view in (bytearray(stream), memoryview(stream), memoryview(np.frombuffer(stream, "<u4"))):
        assert torch.equal(decode(view)["w"], expected)
        assert inspect(view).values_sent == 6


def test_only_symcodec_error_for_non_bytes():
    for bad in (None, "SYMC", 123, [1, 2]):
        with pytest.raises(SymcodecError):
            decode(bad)


# ------------------------------------------------------------------------------------
# 3. No code execution from data


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("fmt", ["pickle-2", "pickle-4", "torch-zip"])
@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_pickle_payload_is_refused_and_never_runs(tmp_path, fmt, suffix):
    marker = tmp_path / "pwned"
    evil = {"w": torch.zeros(2), "x": _Evil(marker)}
    path = tmp_path / f"evil{suffix}"
    if fmt == "torch-zip":
        torch.save(evil, path)  # torch's own container, the pickle inside carries the payload
    else:
        path.write_bytes(pickle.dumps(evil, protocol=int(fmt[-1])))
    assert not marker.exists()
    with pytest.raises(SymcodecError) as info:
        symio.load_state_dict(path)
    message = str(info.value)
    assert "not a loadable torch weights file" in message
    assert "weights_only=True" in message and "\n" not in message
    assert "will likely succeed" not in message  # torch's advice to turn the guard off
    assert not marker.exists()


def test_cli_reports_a_pickle_payload_in_one_line(tmp_path, capsys):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _Evil(marker)}, protocol=4))
    code, err = _run(["analyze", path], capsys)
    _assert_one_line_error(code, err)
    assert not marker.exists()


def test_study_files_are_data_not_code(tmp_path):
    from symcodec.study import load_study

    marker = tmp_path / "pwned"
    study = tmp_path / "evil.toml"
    study.write_text(f"name = __import__('os').system('touch {marker}')\n")
    with pytest.raises(SymcodecError, match="not a valid TOML"):
        load_study(study)
    assert not marker.exists()


# ------------------------------------------------------------------------------------
# 4. Atomic outputs


def _listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_write_interrupted_midway_leaves_the_old_file(tmp_path):
    target = tmp_path / "model.symc"
    target.write_bytes(b"old contents")
    with pytest.raises(RuntimeError, match="disk pulled"), symio.atomic_open(target) as handle:
        handle.write(b"new contents, first half")
        raise RuntimeError("disk pulled")
    assert target.read_bytes() == b"old contents"
    assert _listing(tmp_path) == ["model.symc"]


@pytest.mark.parametrize("fail", ["write", "fsync", "replace"])
def test_os_errors_while_writing_leave_the_old_file(tmp_path, monkeypatch, fail):
    target = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(3)}, str(target))
    old = target.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if fail == "write":
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, handle):
                self.handle = handle

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                no_space()

            def __getattr__(self, name):
                return getattr(self.handle, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self.handle.__exit__(*exc)

        monkeypatch.setattr(symio.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(symio.os, fail, no_space)
    with pytest.raises(SymcodecError, match="cannot write .*No space left on device"):
        symio.save_state_dict(target, {"w": torch.ones(1000)})
    assert target.read_bytes() == old
    assert _listing(tmp_path) == ["model.safetensors"]


_KILL_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import torch
    from symcodec import io as symio

    if sys.argv[2] == "named":
        symio._O_TMPFILE = 0  # the fallback: a hidden named temporary file
    real_fdopen = os.fdopen

    class Slow:
        # writes the first MiB, says so, then hangs: the parent signals us mid-write
        def __init__(self, handle):
            self.handle = handle
        def write(self, data):
            self.handle.write(data[: 1 << 20])
            self.handle.flush()
            print("writing", flush=True)
            time.sleep(60)
        def __getattr__(self, name):
            return getattr(self.handle, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

    symio.os.fdopen = lambda *a, **k: Slow(real_fdopen(*a, **k))
    symio.save_state_dict(sys.argv[1], {"w": torch.zeros(4 << 20)})  # a 16 MiB file
    """
)
HAS_O_TMPFILE = bool(symio._O_TMPFILE) and os.path.isdir("/proc/self/fd")


@pytest.mark.parametrize("temporary", ["unnamed", "named"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_killed_writer_leaves_the_old_file(tmp_path, sig, temporary):
    """A writer interrupted mid-write by a signal: the old file stays whole. With O_TMPFILE
    (Linux) nothing else is left either; with a named temporary file, only the signals
    Python can handle (SIGINT) remove it."""
    if temporary == "unnamed" and not HAS_O_TMPFILE:
        pytest.skip("no O_TMPFILE on this system")
    target = tmp_path / "model.safetensors"
    save_file({"w": torch.ones(3)}, str(target))
    old = target.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(target), temporary],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
        partial = [n for n in _listing(tmp_path) if n != "model.safetensors"]
        if temporary == "unnamed":
            assert partial == []  # the MiB written so far has no name
        else:
            assert len(partial) == 1 and (tmp_path / partial[0]).stat().st_size == 1 << 20
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert target.read_bytes() == old
    left = [n for n in _listing(tmp_path) if n != "model.safetensors"]
    if temporary == "unnamed" or sig == signal.SIGINT:
        assert left == []
    else:  # nothing runs on SIGKILL or an unhandled SIGTERM: a hidden file may stay
        assert all(n.startswith(".model.safetensors.") and n.endswith(".tmp") for n in left)


def test_cli_encode_failing_partway_keeps_the_old_output(tmp_path, capsys):
    model = tmp_path / "model.safetensors"
    save_file({"a.weight": torch.randn(4, 2, 3, 3), "b": torch.tensor([1.0, float("nan")])}, model)
    out = tmp_path / "out.symc"
    out.write_bytes(b"previous stream")
    code, err = _run(["encode", model, "-o", out, "--symmetry", "central"], capsys)
    _assert_one_line_error(code, err, "b: cannot quantize non-finite")
    assert out.read_bytes() == b"previous stream"
    assert _listing(tmp_path) == ["model.safetensors", "out.symc"]


def test_cli_encode_failing_while_writing_keeps_the_old_output(tmp_path, capsys, monkeypatch):
    model = tmp_path / "model.safetensors"
    save_file({"a.weight": torch.randn(4, 2, 3, 3)}, model)
    out = tmp_path / "out.symc"
    out.write_bytes(b"previous stream")

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(symio.os, "fsync", no_space)
    code, err = _run(["encode", model, "-o", out], capsys)
    _assert_one_line_error(code, err, "No space left on device")
    assert out.read_bytes() == b"previous stream"
    assert _listing(tmp_path) == ["model.safetensors", "out.symc"]


# ------------------------------------------------------------------------------------
# 5. Bad input to every command: one line `symcodec: error: ...`, exit status 2

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(17)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    return code, err


def _assert_one_line_error(code, err, pattern: str = ""):
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("symcodec: error: "), lines[0]
    assert pattern in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.fixture()
def inputs(tmp_path):
    """Every kind of input file; ``unreadable`` ones are chmod 000."""
    g = torch.Generator().manual_seed(0)
    sd = {"conv.weight": torch.randn(4, 1, 3, 3, generator=g), "fc.weight": torch.randn(3, 4)}
    files = {"dir": tmp_path / "adir", "out": tmp_path / "out"}
    files["dir"].mkdir()
    files["out"].mkdir()
    files["model"] = tmp_path / "model.safetensors"
    save_file(sd, files["model"])
    files["symc"] = tmp_path / "model.symc"
    files["symc"].write_bytes(encode(sd, TransmissionPlan.default(sd, "central", bits=8)))
    files["toml"] = tmp_path / "study.toml"
    files["toml"].write_text('name = "s"\n')
    for suffix in (".safetensors", ".pt", ".symc", ".toml", ".png"):
        ext = suffix[1:]
        files[f"png_{ext}"] = tmp_path / f"image{suffix}"
        files[f"png_{ext}"].write_bytes(PNG)
        files[f"text_{ext}"] = tmp_path / f"notes{suffix}"
        files[f"text_{ext}"].write_text("just some text\n")
        files[f"missing_{ext}"] = tmp_path / f"missing{suffix}"
        files[f"dir_{ext}"] = tmp_path / f"adir{suffix}"
        files[f"dir_{ext}"].mkdir()
    for name in ("model", "symc", "toml"):
        locked = tmp_path / f"locked{files[name].suffix}"
        locked.write_bytes(files[name].read_bytes())
        locked.chmod(0)
        files[f"unreadable_{files[name].suffix[1:]}"] = locked
    mnist = tmp_path / "mnist-png"
    mnist.mkdir()
    for stem in fuzz_idx_stems():
        (mnist / stem).write_bytes(PNG)
    files["mnist_png"] = mnist
    locked_mnist = tmp_path / "mnist-locked"
    locked_mnist.mkdir()
    for stem in fuzz_idx_stems():
        (locked_mnist / stem).write_bytes(b"\x00\x00\x08\x03" + bytes(12))
        (locked_mnist / stem).chmod(0)
    files["mnist_locked"] = locked_mnist
    yield files
    for path in tmp_path.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def fuzz_idx_stems():
    return (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    )


M, S, T = "{model}", "{symc}", "{toml}"
OUT_SYMC, OUT_ST = "{out}/x.symc", "{out}/x.safetensors"
TRAIN = ["train", "--dataset", "mnist", "--epochs", "1", "--no-progress"]

BAD_INPUT = {
    "encode": {
        "missing": ["encode", "{missing_safetensors}", "-o", OUT_SYMC],
        "directory": ["encode", "{dir_safetensors}", "-o", OUT_SYMC],
        "unreadable": ["encode", "{unreadable_safetensors}", "-o", OUT_SYMC],
        "png as .safetensors": ["encode", "{png_safetensors}", "-o", OUT_SYMC],
        "png as .pt": ["encode", "{png_pt}", "-o", OUT_SYMC],
        "png": ["encode", "{png_png}", "-o", OUT_SYMC],
        "text as .pt": ["encode", "{text_pt}", "-o", OUT_SYMC],
        "output is a directory": ["encode", M, "-o", "{dir_symc}"],
        "--bits 99": ["encode", M, "-o", OUT_SYMC, "--bits", "99"],
        "--other-bits 1": ["encode", M, "-o", OUT_SYMC, "--other-bits", "1"],
        "unknown option": ["encode", M, "-o", OUT_SYMC, "--frobnicate"],
    },
    "decode": {
        "missing": ["decode", "{missing_symc}", "-o", OUT_ST],
        "directory": ["decode", "{dir_symc}", "-o", OUT_ST],
        "unreadable": ["decode", "{unreadable_symc}", "-o", OUT_ST],
        "png as .symc": ["decode", "{png_symc}", "-o", OUT_ST],
        "model as .symc": ["decode", M, "-o", OUT_ST],
        "output is a directory": ["decode", S, "-o", "{dir_safetensors}"],
        "output of the wrong type": ["decode", S, "-o", "{out}/x.png"],
        "unknown option": ["decode", S, "-o", OUT_ST, "--bits", "8"],
    },
    "info": {
        "missing": ["info", "{missing_symc}"],
        "directory": ["info", "{dir_symc}"],
        "unreadable": ["info", "{unreadable_symc}"],
        "png as .symc": ["info", "{png_symc}"],
        "text as .symc": ["info", "{text_symc}"],
        "unknown option": ["info", S, "--frobnicate"],
    },
    "symmetries": {
        "--kernel 0": ["symmetries", "--kernel", "0"],
        "--kernel 65": ["symmetries", "--kernel", "65"],
        "--kernel 3x": ["symmetries", "--kernel", "3x"],
        "unknown option": ["symmetries", "--frobnicate"],
    },
    "demo": {
        "--bits 99": ["demo", "--bits", "99"],
        "--bits 1": ["demo", "--bits", "1"],
        "--seed x": ["demo", "--seed", "x"],
        "unknown option": ["demo", "--frobnicate"],
    },
    "train": {
        "missing data": [*TRAIN, "--data-dir", "{missing_png}", "-o", OUT_ST],
        "data dir is a file": [*TRAIN, "--data-dir", "{text_png}", "-o", OUT_ST],
        "unreadable data": [*TRAIN, "--data-dir", "{mnist_locked}", "-o", OUT_ST],
        "png as IDX data": [*TRAIN, "--data-dir", "{mnist_png}", "-o", OUT_ST],
        "output is a directory": [*TRAIN, "-o", "{dir_safetensors}"],
        "output of the wrong type": [*TRAIN, "-o", "{out}/x.png"],
        "--epochs -1": ["train", "--epochs", "-1", "-o", OUT_ST],
        "--batch-size 0": ["train", "--batch-size", "0", "-o", OUT_ST],
        "--lr nan": ["train", "--lr", "nan", "-o", OUT_ST],
        "--max-steps -1": ["train", "--max-steps", "-1", "-o", OUT_ST],
        "unknown option": ["train", "-o", OUT_ST, "--frobnicate"],
    },
    "analyze": {
        "missing": ["analyze", "{missing_safetensors}"],
        "directory": ["analyze", "{dir_safetensors}"],
        "unreadable": ["analyze", "{unreadable_safetensors}"],
        "png as .safetensors": ["analyze", "{png_safetensors}"],
        "text as .pt": ["analyze", "{text_pt}"],
        "symc as model": ["analyze", S],
        "plot of the wrong type": ["analyze", M, "--plot", "{out}/x.txt"],
        "unknown option": ["analyze", M, "--frobnicate"],
    },
    "transmit": {
        "missing": ["transmit", "{missing_safetensors}"],
        "directory": ["transmit", "{dir_safetensors}"],
        "unreadable": ["transmit", "{unreadable_safetensors}"],
        "png as .pt": ["transmit", "{png_pt}"],
        "--snr-db inf": ["transmit", M, "--channel", "awgn", "--snr-db", "inf"],
        "--p 2": ["transmit", M, "--channel", "bsc", "--p", "2"],
        "--p nan": ["transmit", M, "--channel", "bsc", "--p", "nan"],
        "--bits 99": ["transmit", M, "--bits", "99"],
        "--alpha 2": ["transmit", M, "--alpha", "2"],
        "--packet-bytes 0": [
            "transmit",
            M,
            "--channel",
            "erasure",
            "--p",
            "0.1",
            "--packet-bytes",
            "0",
        ],  # fmt: skip
        "--code-rate 0": ["transmit", M, "--code-rate", "0"],
        "--bandwidth-hz -1": ["transmit", M, "--bandwidth-hz", "-1"],
        "output is a directory": ["transmit", M, "-o", "{dir_safetensors}"],
        "unknown channel": ["transmit", M, "--channel", "pigeon"],
        "unknown option": ["transmit", M, "--frobnicate"],
    },
    "reproduce": {
        "missing": ["reproduce", "{missing_toml}"],
        "directory": ["reproduce", "{dir_toml}"],
        "unreadable": ["reproduce", "{unreadable_toml}"],
        "png as .toml": ["reproduce", "{png_toml}"],
        "symc as .toml": ["reproduce", S],
        "output is a file": ["reproduce", T, "-o", M],
        "unknown option": ["reproduce", T, "--frobnicate"],
        "training seed not in the study": ["reproduce", T, "--train-seeds", "7"],
    },
    "ablate": {
        "missing": ["ablate", "{missing_toml}"],
        "directory": ["ablate", "{dir_toml}"],
        "unreadable": ["ablate", "{unreadable_toml}"],
        "png as .toml": ["ablate", "{png_toml}"],
        "text as .toml": ["ablate", "{text_toml}"],
        "output is a file": ["ablate", T, "-o", M],
        "unknown option": ["ablate", T, "--frobnicate"],
        "training seed not in the study": ["ablate", T, "--train-seeds", "7"],
    },
}
BAD_STUDY_VALUES = {
    "bits 99": "bits = [99]",
    "trials 0": "trials = 0",
    "alpha 2": "alpha = 2",
    "unknown key": "frobnicate = 1",
    "snr inf": '[channel]\nname = "awgn"\nsnr_db = [inf]',
    "p 2": '[channel]\nname = "bsc"\np = [2]',
    "epochs -1": "[training]\nepochs = -1",
}


@pytest.mark.parametrize(
    "command, case",
    [(command, case) for command, cases in BAD_INPUT.items() for case in cases],
)
def test_bad_input_gives_one_error_line_and_status_2(command, case, inputs, tmp_path, capsys):
    if "unreadable" in case and IS_ROOT:
        pytest.skip("running as root: chmod 000 does not stop root from reading")
    argv = [a.format(**{k: str(v) for k, v in inputs.items()}) for a in BAD_INPUT[command][case]]
    before = _listing(tmp_path)
    code, err = _run(argv, capsys)
    _assert_one_line_error(code, err)
    assert _listing(tmp_path) == before  # nothing written, no temporary file left
    assert _listing(inputs["out"]) == []


@pytest.mark.parametrize("command", ["reproduce", "ablate"])
@pytest.mark.parametrize("case", sorted(BAD_STUDY_VALUES))
def test_out_of_range_study_values(command, case, tmp_path, capsys):
    study = tmp_path / "bad.toml"
    study.write_text(f'name = "bad"\n{BAD_STUDY_VALUES[case]}\n')
    code, err = _run([command, study, "-o", tmp_path / "results"], capsys)
    _assert_one_line_error(code, err)
    assert not (tmp_path / "results").exists()


def test_unreadable_files_get_one_line_when_not_root(tmp_path, capsys):
    if IS_ROOT:
        pytest.skip("running as root: chmod 000 does not stop root from reading")
    path = tmp_path / "locked.symc"
    path.write_bytes(b"SYMC")
    path.chmod(0)
    try:
        code, err = _run(["info", path], capsys)
    finally:
        path.chmod(0o644)
    _assert_one_line_error(code, err, "permission denied")


def test_paths_the_os_cannot_take(tmp_path, capsys):
    """A NUL byte or an over-long name is bad input, not an internal error."""
    for bad in ("a\x00b.symc", "x" * 5000 + ".symc", str(tmp_path / ("y" * 300) / "z.symc")):
        with pytest.raises(SymcodecError):
            symio.read_bytes(bad)
        code, err = _run(["info", bad], capsys)
        _assert_one_line_error(code, err)


def test_permission_denied_reads_get_one_line_even_as_root(tmp_path, monkeypatch, capsys):
    path = tmp_path / "model.symc"
    path.write_bytes(BLOB)

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    code, err = _run(["info", path], capsys)
    _assert_one_line_error(code, err, "permission denied")


def test_unwritable_directory_gets_one_line(tmp_path, monkeypatch, capsys):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(symio.os, "open", denied)
    monkeypatch.setattr(symio.tempfile, "mkstemp", denied)
    model = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(2)}, model)
    code, err = _run(["encode", model, "-o", tmp_path / "x.symc"], capsys)
    _assert_one_line_error(code, err, "cannot write")
    assert _listing(tmp_path) == ["model.safetensors"]


@pytest.mark.parametrize("temporary", ["unnamed", "named"])
def test_atomic_writes_replace_the_file_and_leave_nothing_else(tmp_path, monkeypatch, temporary):
    if temporary == "named":
        monkeypatch.setattr(symio, "_O_TMPFILE", 0)
    elif not HAS_O_TMPFILE:
        pytest.skip("no O_TMPFILE on this system")
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    symio.write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    with pytest.raises(KeyboardInterrupt), symio.atomic_open(target) as handle:
        handle.write(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"new"
    assert _listing(tmp_path) == ["x.bin"]


def _stored_header_stream(stored: bytes, flags: int = 1) -> bytes:
    import struct

    return b"SYMC" + struct.pack(">HHII", 1, flags, len(stored), zlib.crc32(stored)) + stored


def test_compressed_headers_are_smaller_and_decode_the_same():
    sd = {"conv.weight": torch.randn(8, 4, 3, 3), "conv.bias": torch.randn(8)}
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=6)
    packed, plain = encode(sd, plan), encode(sd, plan, compress_header=False)
    assert len(packed) < len(plain)
    assert inspect(packed).header_bits < inspect(plain).header_bits
    a, b = decode(packed), decode(plain)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (b"\x78\x9c not deflate at all", "compressed header is corrupt"),
        (zlib.compress(b"{}")[:-3], "truncated"),
        (zlib.compress(b"{}") + b"junk", "trailing bytes"),
        # a bomb: 64 MiB of spaces from about 64 kB (limit: 256 x the stored size)
        (zlib.compress(b" " * (64 * 2**20), 9), "inflates beyond"),
    ],
)
def test_hostile_compressed_headers_are_refused(stored, message):
    with pytest.raises(SymcodecError, match=message):
        decode(_stored_header_stream(stored))


def test_unknown_flags_are_refused():
    with pytest.raises(SymcodecError, match="unsupported .symc flags"):
        decode(_stored_header_stream(b"{}", flags=2))


def test_outputs_get_the_usual_permissions(tmp_path):
    from symcodec.io import atomic_open

    previous = os.umask(0o027)
    try:
        with atomic_open(tmp_path / "out.bin") as handle:
            handle.write(b"x")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o640
