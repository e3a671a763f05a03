"""The decoder fuzzer's corpus and stream surgery (``bench/fuzz_decoder.py``).

:func:`corpus` builds small valid ``.symc`` streams that cover every code path of the decoder.
The helpers take a stream apart and put it back together: :func:`split` and :func:`assemble`
(the preamble, its length and CRC), :func:`header_doc` and :func:`dump` (the JSON header) and
:func:`fix_record_crcs` (the records' CRCs over a changed payload).
"""

from __future__ import annotations

import json
import struct
import zlib

import torch

from symcodec.codec import TensorPlan, TransmissionPlan, encode
from symcodec.symmetry import Symmetry, get_symmetry

PREAMBLE = struct.Struct(">4sHHII")

# ------------------------------------------------------------------------------------
# Corpus of valid streams


def corpus() -> list[bytes]:
    """Small valid streams covering every code path of the decoder."""
    g = torch.Generator().manual_seed(0)
    cs = get_symmetry("central-skew")
    base = {
        "conv1.weight": cs.project(torch.randn(4, 2, 3, 3, generator=g)),
        "conv1.bias": torch.randn(4, generator=g),
        "conv2.weight": torch.randn(3, 4, 3, 3, generator=g),
        "proj.weight": torch.randn(3, 4, 1, 1, generator=g),
        "fc.weight": torch.randn(5, 6, generator=g),
    }
    streams = []
    for sym, bits, mode, per_channel in [
        ("central-skew", 4, "dof", False),
        ("d4", 3, "dof", True),
        ("hflip", 8, "full-project", True),
        ("c4", 12, "dof", False),
        ("transpose-skew", 16, "full-project", False),
        ("central", 32, "dof", False),
        ("none", 5, "dof", False),
    ]:
        plan = TransmissionPlan.default(
            base, symmetry=sym, bits=bits, mode=mode, per_channel=per_channel
        )
        streams.append(encode(base, plan, metadata={"dataset": "fuzz", "seed": "0"}))
    # float16 passthrough, symmetric grid, rectangular kernels
    rect = {"k.weight": torch.randn(2, 2, 3, 5, generator=g), "b": torch.randn(2, generator=g)}
    streams.append(encode(rect, TransmissionPlan.default(rect, "hflip", bits=16, float16=True)))
    streams.append(encode(rect, TransmissionPlan.default(rect, "vflip-skew", 6, grid="symmetric")))
    # many channels at 16 bits: dequantized without a level table
    wide = {
        "fc.weight": torch.randn(40, 3, generator=g),
        "k.weight": torch.randn(24, 1, 3, 3, generator=g),
    }
    streams.append(encode(wide, TransmissionPlan.default(wide, "d4", bits=16, per_channel=True)))
    # raw dtypes, half precision, empty and scalar tensors
    mixed = {
        "w": torch.randn(2, 3, 3, 3, generator=g).to(torch.bfloat16),
        "h": torch.randn(5, generator=g).half(),
        "d": torch.randn(3, generator=g).double(),
        "steps": torch.tensor(7, dtype=torch.int64),
        "idx": torch.arange(6, dtype=torch.int32).reshape(2, 3),
        "small": torch.tensor([-3, 4], dtype=torch.int8),
        "short": torch.tensor([300, -2], dtype=torch.int16),
        "bytes": torch.tensor([0, 255], dtype=torch.uint8),
        "mask": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 3),
        "empty_kernel": torch.zeros(0, 2, 3, 3),
    }
    streams.append(encode(mixed, TransmissionPlan.default(mixed, "central", bits=8)))
    streams.append(encode(mixed, TransmissionPlan.default(mixed, "d4", bits=32)))
    # pruning: bitmap and index positions
    for sym in ("central-skew", "d4"):
        plan = TransmissionPlan.pruned(base, sym, bits=6)
        streams.append(encode(base, plan))
    big = {"k.weight": torch.randn(64, 64, 3, 3, generator=g)}
    sparse = TransmissionPlan({"k.weight": TensorPlan(mode="pruned", bits=4, keep=5)})
    streams.append(encode(big, sparse))
    # user-defined symmetries: geometric generators, and an explicit permutation
    custom = Symmetry("rot-skew", ("rot90", "hflip"), (-1, 1))
    explicit = Symmetry("swap-corners", (tuple([8, 1, 2, 3, 4, 5, 6, 7, 0]),), (-1,))
    for sym in (custom, explicit):
        sd = {"k.weight": sym.project(torch.randn(3, 2, 3, 3, generator=g))}
        streams.append(encode(sd, TransmissionPlan.default(sd, sym, bits=7)))
    # a kernel with no degree of freedom sent in dof mode (zero payload bytes)
    zero = Symmetry("dead", ("hflip",), (-1,))
    sd = {"k.weight": torch.zeros(2, 2, 1, 1)}
    streams.append(encode(sd, TransmissionPlan({"k.weight": TensorPlan(zero, "dof", bits=8)})))
    streams.append(encode({}, TransmissionPlan({})))
    # step quantizers and the ans coder: every model family, several chunks, a one-level
    # range (empty chunks), an empty tensor, pruned positions before the chunks
    laplace = {
        "k.weight": cs.project(torch.randn(8, 8, 3, 3, generator=g)) * 0.1,
        "b": torch.randn(300, generator=g).sign() * torch.rand(300, generator=g) ** 4,
        "n": torch.tensor(3, dtype=torch.int64),
    }
    streams.append(encode(laplace, TransmissionPlan.default(laplace, "central-skew", step=0.01)))
    streams.append(
        encode(
            laplace,
            TransmissionPlan.default(
                laplace, "central-skew", step=0.02, dead_zone=0.2, coder="ans", chunk_values=100
            ),
        )
    )
    streams.append(
        encode(
            laplace, TransmissionPlan.default(laplace, "d4", bits=6, coder="ans", per_channel=True)
        )
    )
    # bimodal values: a histogram model
    wide = {
        "w": torch.cat([torch.randn(1000, generator=g) - 4, torch.randn(1000, generator=g) + 4])
    }
    streams.append(encode(wide, TransmissionPlan.default(wide, step=0.05, coder="ans")))
    flat = {"z": torch.zeros(50), "e": torch.zeros(0, 3), "one": torch.ones(7)}
    streams.append(encode(flat, TransmissionPlan.default(flat, step=0.5, coder="ans")))
    sparse = TransmissionPlan(
        {"k.weight": TensorPlan(mode="pruned", keep=40, step=0.1, coder="ans", chunk_values=16)}
    )
    streams.append(encode(big, sparse))
    # what `--symmetry auto` with an allocation writes: a symmetry per conv layer (one left
    # unconstrained), a step per tensor, ans records beside a tensor that fell back to fixed
    d4 = get_symmetry("d4")
    per_layer = {
        "conv1.weight": cs.project(torch.randn(32, 16, 3, 3, generator=g)) * 0.2,
        "conv2.weight": d4.project(torch.randn(5, 32, 3, 3, generator=g)) * 0.1,
        "conv3.weight": torch.randn(4, 5, 3, 3, generator=g) * 0.1,
        "conv3.bias": torch.randn(4, generator=g) * 0.01,
        "fc.weight": torch.randn(10, 64, generator=g) * 0.05,
    }
    streams.append(
        encode(
            per_layer,
            TransmissionPlan(
                {
                    "conv1.weight": TensorPlan(cs, "dof", step=0.013, coder="ans"),
                    "conv2.weight": TensorPlan(d4, "dof", step=0.021, coder="ans", chunk_values=64),
                    "conv3.weight": TensorPlan(step=0.008, coder="ans", dead_zone=0.1),
                    "conv3.bias": TensorPlan(step=0.002, coder="ans"),
                    "fc.weight": TensorPlan(step=0.005, coder="ans", ans_fallback=False),
                }
            ),
        )
    )
    return streams


# ------------------------------------------------------------------------------------
# Helpers


def split(blob: bytes) -> tuple[bytes, bytes] | None:
    """(header JSON bytes, payload) of a stream whose preamble is readable, else None.
    A compressed header (flag bit 0) is inflated."""
    if len(blob) < PREAMBLE.size:
        return None
    _, _, flags, n, _ = PREAMBLE.unpack_from(blob)
    if PREAMBLE.size + n > len(blob):
        return None
    header = blob[PREAMBLE.size : PREAMBLE.size + n]
    if flags & 1:
        try:
            header = zlib.decompress(header)
        except zlib.error:
            return None
    return header, blob[PREAMBLE.size + n :]


def assemble(header: bytes, payload: bytes) -> bytes:
    """A stream with a valid preamble (length, CRC) around any header bytes (stored as
    they are: flag bit 0 clear)."""
    return PREAMBLE.pack(b"SYMC", 1, 0, len(header), zlib.crc32(header)) + header + payload


def header_doc(blob: bytes):
    parts = split(blob)
    if parts is None:
        return None, b""
    try:
        return json.loads(parts[0]), parts[1]
    except ValueError:
        return None, parts[1]


def dump(doc) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=True).encode()


def fix_record_crcs(doc, payload: bytes) -> None:
    """Recompute each record's CRC from the payload (where its offset and length fit), and
    the CRCs of an ``ans`` record's chunks, so corrupt data reaches the entropy decoder."""
    tensors = doc.get("tensors") if isinstance(doc, dict) else None
    for rec in tensors if isinstance(tensors, list) else []:
        if not isinstance(rec, dict):
            continue
        off, length = rec.get("offset"), rec.get("length")
        if isinstance(off, int) and isinstance(length, int) and 0 <= off <= off + length:
            rec["crc32"] = zlib.crc32(payload[off : off + length])
            chunks = rec.get("chunks")
            if isinstance(chunks, list):
                pos = _positions_length(rec)
                for entry in chunks:
                    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int):
                        start = off + pos
                        entry[1] = zlib.crc32(payload[start : start + max(0, entry[0])])
                        pos += max(0, entry[0])


def _positions_length(rec: dict) -> int:
    positions = rec.get("positions")
    if isinstance(positions, dict) and isinstance(positions.get("length"), int):
        return max(0, positions["length"])
    return 0
