"""Fuzz the ``.symc`` decoder: mutated streams must decode or raise ``SymcodecError``.

Starts from a corpus of valid streams (every mode, quantizer kind, dtype, pruning encoding,
named and user-defined symmetries, empty and dof-0 tensors) and applies random mutators: bit
flips, byte overwrites, truncation and extension, splices of two streams, header edits that
are re-CRC'd so they reach the field validation (bit flips in the JSON, random JSON values
put at random places, textual number and nesting tricks, synthetic records whose count,
length, offset and CRC are consistent with a random payload) and payload edits with their
record CRCs fixed so that strict decoding goes all the way. Every case runs ``read_header``,
``inspect``, ``decode(strict=True)`` and ``decode(strict=False)``.

A crash is any exception other than ``SymcodecError``, or a case slower than ``--timeout``
seconds. Each distinct crash is saved as a reproducer (``<crash-dir>/<id>.symc``). The report
gives the cases run, crashes, cases/s and peak memory: the largest per-case ``tracemalloc``
peak (Python and numpy allocations) and the processes' ``ru_maxrss``.

    .venv/bin/python bench/fuzz_decoder.py --cases 100000 --workers 2 [--seed 0]

``tests/test_hardening.py`` drives the same mutators under hypothesis for a few hundred cases.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import resource
import signal
import struct
import sys
import time
import traceback
import tracemalloc
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from symcodec.codec import TensorPlan, TransmissionPlan, decode, encode, inspect
from symcodec.codec.format import read_header
from symcodec.codec.limits import check_symmetry_limits
from symcodec.errors import SymcodecError
from symcodec.symmetry import Symmetry, get_symmetry, symmetry_names

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


INTERESTING_INTS = [
    0, 1, -1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 255, 256, 1023, 1024, 1025,
    4096, 65535, 65536, 2**24, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**39, 2**40, 2**53,
    2**63 - 1, 2**63, 2**64, -(2**31), -(2**63), 10**30,
]  # fmt: skip
INTERESTING_FLOATS = [0.0, -0.0, 0.5, 1.5, -1e-45, 1e-300, 3.4e38, 3.5e38, 1e308, -1e308]
INTERESTING_STRINGS = [
    "", "symc", "float32", "bool", "int64", "uniform", "raw", "float16", "minmax", "step",
    "ans", "laplace", "gaussian", "histogram",
    "symmetric", "dof", "full", "full-project", "pruned", "fixed", "bitmap", "indices",
    "d4", "central-skew", "hflip", "rot90", "spiral", "x" * 2000, "\u00e9\u0000\ud7ff",
]  # fmt: skip
# Raw JSON text a number token can become (re-CRC'd, so it reaches the parser and fields).
TEXT_TOKENS = [
    b"1e999", b"-1e999", b"NaN", b"Infinity", b"-Infinity", b"1.0", b"-0", b"true", b"null",
    b'"3"', b"[]", b"{}", b"9" * 5000, b"1" * 400, b"[" * 5000 + b"]" * 5000,
    b"[" * 900 + b"0" + b"]" * 900, b'{"a":' * 800 + b"0" + b"}" * 800, b"1e-400", b"0.1e1",
]  # fmt: skip


def random_value(rng: np.random.Generator, depth: int = 0):
    """A random JSON value, biased towards the boundaries the decoder must check."""
    r = rng.integers(0, 100)
    if r < 30:
        v = INTERESTING_INTS[rng.integers(len(INTERESTING_INTS))]
        return v if rng.random() < 0.8 else v + int(rng.integers(-2, 3))
    if r < 38:
        return INTERESTING_FLOATS[rng.integers(len(INTERESTING_FLOATS))]
    if r < 55:
        return INTERESTING_STRINGS[rng.integers(len(INTERESTING_STRINGS))]
    if r < 62:
        return bool(rng.integers(2))
    if r < 66:
        return None
    if r < 85 and depth < 4:
        n = int(rng.choice([0, 1, 2, 3, 4, 9, 16, 300]))
        if rng.random() < 0.5:  # homogeneous int lists look like shapes, perms, lo/hi
            return [int(x) for x in rng.integers(-2, 2 ** int(rng.integers(1, 41)), size=n)]
        return [random_value(rng, depth + 1) for _ in range(min(n, 6))]
    if depth < 4:
        keys = [
            "name", "generators", "signs", "kind", "bits", "x", "shape", "lo", "hi",
            "family", "center", "decay", "counts", "step", "min_level", "max_level",
        ]  # fmt: skip
        return {
            keys[rng.integers(len(keys))]: random_value(rng, depth + 1)
            for _ in range(rng.integers(0, 4))
        }
    return int(rng.integers(-5, 5))


def nodes(doc, path=()):
    """Every (path, value) in a JSON document."""
    yield path, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from nodes(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from nodes(v, (*path, i))


def set_at(doc, path, value):
    if not path:
        return value
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


# ------------------------------------------------------------------------------------
# Mutators: (blob, rng, corpus) -> bytes


def bit_flips(blob, rng, streams):
    out = bytearray(blob)
    for _ in range(int(rng.integers(1, 9))):
        if out:
            out[rng.integers(len(out))] ^= 1 << int(rng.integers(8))
    return bytes(out)


def byte_overwrite(blob, rng, streams):
    out = bytearray(blob)
    for _ in range(int(rng.integers(1, 5))):
        if out:
            i = int(rng.integers(len(out)))
            n = int(rng.integers(1, 9))
            fill = rng.choice([0x00, 0xFF, 0x7F, 0x80, int(rng.integers(256))])
            vals = rng.integers(0, 256, size=n) if rng.random() < 0.5 else [fill] * n
            out[i : i + n] = bytes(int(v) for v in vals)
    return bytes(out)


def truncate_or_extend(blob, rng, streams):
    if rng.random() < 0.6:
        return blob[: int(rng.integers(0, len(blob) + 1))]
    return blob + rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8).tobytes()


def splice(blob, rng, streams):
    other = streams[rng.integers(len(streams))]
    return (
        blob[: int(rng.integers(0, len(blob) + 1))] + other[int(rng.integers(0, len(other) + 1)) :]
    )


def header_bit_flips(blob, rng, streams):
    """Flip bits or overwrite bytes of the JSON header, then fix the header CRC."""
    parts = split(blob)
    if parts is None or not parts[0]:
        return bit_flips(blob, rng, streams)
    header = bytearray(parts[0])
    for _ in range(int(rng.integers(1, 4))):
        i = int(rng.integers(len(header)))
        if rng.random() < 0.5:
            header[i] ^= 1 << int(rng.integers(8))
        else:
            header[i] = int(rng.choice(list(b'0123456789-.e"[]{},:tfn ')))
    return assemble(bytes(header), parts[1])


def header_field_value(blob, rng, streams):
    """Put a random JSON value at a random place of the header (or delete, add, duplicate)."""
    doc, payload = header_doc(blob)
    if doc is None:
        return header_bit_flips(blob, rng, streams)
    for _ in range(int(rng.integers(1, 3))):
        all_nodes = list(nodes(doc))
        path, value = all_nodes[rng.integers(len(all_nodes))]
        r = rng.random()
        if r < 0.6 or not path:
            doc = set_at(doc, path, random_value(rng))
        elif r < 0.7 and isinstance(value, dict):
            value["extra"] = random_value(rng)
        elif r < 0.8:
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent.pop(path[-1])
        elif r < 0.9 and isinstance(value, list) and value:
            value.append(value[rng.integers(len(value))])  # duplicate an entry
        elif isinstance(value, list) and value:
            rng.shuffle(value)
    if rng.random() < 0.5:
        fix_record_crcs(doc, payload)
    try:
        header = dump(doc)
    except (ValueError, TypeError, RecursionError):
        return blob
    return assemble(header, payload)


def header_text_tokens(blob, rng, streams):
    """Replace a number in the header text with a raw token (1e999, NaN, deep nesting, ...),
    or duplicate a key inside an object."""
    parts = split(blob)
    if parts is None:
        return bit_flips(blob, rng, streams)
    header, payload = parts
    if rng.random() < 0.3 and b'{"' in header:
        starts = [i for i in range(len(header) - 1) if header[i : i + 2] == b'{"']
        i = starts[rng.integers(len(starts))] + 1
        j = header.find(b",", i)
        if j > i:  # repeat the object's first member: a duplicate key
            header = header[:i] + header[i:j] + b"," + header[i:]
        return assemble(header, payload)
    digits = [i for i in range(len(header)) if header[i : i + 1].isdigit()]
    if not digits:
        return assemble(header + TEXT_TOKENS[rng.integers(len(TEXT_TOKENS))], payload)
    i = digits[rng.integers(len(digits))]
    j = i
    while j < len(header) and header[j : j + 1] in b"0123456789.e+-":
        j += 1
    while i > 0 and header[i - 1 : i] in b"0123456789.-":
        i -= 1
    token = TEXT_TOKENS[rng.integers(len(TEXT_TOKENS))]
    return assemble(header[:i] + token + header[j:], payload)


def payload_with_crcs(blob, rng, streams):
    """Corrupt the payload and fix every record's CRC, so strict decoding decodes it."""
    doc, payload = header_doc(blob)
    if doc is None or not payload:
        return bit_flips(blob, rng, streams)
    out = bytearray(payload)
    for _ in range(int(rng.integers(1, 17))):
        if rng.random() < 0.5:
            out[rng.integers(len(out))] ^= 1 << int(rng.integers(8))
        else:
            out[rng.integers(len(out))] = int(rng.choice([0x00, 0xFF, int(rng.integers(256))]))
    fix_record_crcs(doc, bytes(out))
    return assemble(dump(doc), bytes(out))


SHAPES = [
    [], [0], [3], [2**39, 2], [2**40 - 1], [2**20, 2**20], [4, 2, 3, 3], [0, 2, 3, 3],
    [2, 0, 3, 3], [1, 1, 1, 1], [1, 1, 32, 32], [1, 1, 33, 33], [1, 1, 64, 64],
    [1, 1, 2000, 2000], [2**30, 1, 1, 1], [5, 1, 1, 4096], [1, 1, 1, 1, 1, 1, 1, 1, 1],
    [3, 3], [2, 3, 5], [1, 2**24 + 1], [16, 16, 1, 1], [40, 1], [64, 3, 3, 3], [20, 2, 4, 4],
    [2, 2, 5, 5], [3, 3, 4, 3], [1, 1, 12, 12], [1, 2, 32, 32],
]  # fmt: skip


def random_symmetry(rng, shape=()):
    r = rng.random()
    if r < 0.25:
        return None
    if r < 0.55:
        names = symmetry_names() + ["spiral", "D4", ""]
        return {"name": names[rng.integers(len(names))]}
    n = int(rng.choice([1, 2, 4, 9, 12, 15, 16, 25, 1024, 1025, 4096]))
    if len(shape) >= 2 and shape[-1] * shape[-2] <= 4096 and rng.random() < 0.7:
        n = shape[-1] * shape[-2]  # permutations of this very kernel
    gens, signs = [], []
    for _ in range(int(rng.choice([0, 1, 2, 3, 17]))):
        kind = rng.random()
        if kind < 0.3:
            gens.append(
                ["hflip", "vflip", "rot90", "rot180", "transpose", "bogus"][rng.integers(6)]
            )
        elif kind < 0.5:  # an n-cycle: with a transposition it generates the whole S_n
            gens.append([(p + 1) % n for p in range(n)])
        elif kind < 0.7:
            perm = list(range(n))
            if n > 1:
                perm[0], perm[1] = perm[1], perm[0]
            gens.append(perm)
        else:
            gens.append([int(x) for x in rng.permutation(n)])
        signs.append(int(rng.choice([1, -1, 1, 0, 2])))
    doc = {"name": f"custom{rng.integers(1000)}", "generators": gens, "signs": signs}
    if rng.random() < 0.1:
        doc["extra"] = 1
    return doc


def synthetic_records(blob, rng, streams):
    """A header of 1..3 synthetic records with consistent count, length, offset and CRC
    (computed from the decoder's own rules when they apply), over a random payload."""
    from symcodec.codec.bitpack import packed_size
    from symcodec.codec.pruning import positions_for

    records, payload = [], b""
    for k in range(int(rng.integers(1, 4))):
        shape = [int(s) for s in SHAPES[rng.integers(len(SHAPES))]]
        if rng.random() < 0.3:
            shape = [int(s) for s in rng.integers(0, 9, size=int(rng.integers(0, 5)))]
        sym = random_symmetry(rng, shape)
        modes = ["full", "dof", "full-project", "pruned"]
        mode = modes[rng.integers(4)]
        dtype = ["float32", "float32", "float64", "float16", "bfloat16", "int64", "bool"][
            rng.integers(7)
        ]
        bits = int(rng.choice([2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 1, 17, 32]))
        kind = (
            "raw"
            if dtype in ("int64", "bool")
            else ["uniform", "float16", "float32", "step"][rng.integers(4)]
        )
        if kind == "raw":
            bits = 64 if dtype == "int64" else 8
        elif kind in ("float16", "float32"):
            bits = 16 if kind == "float16" else 32
        levels = None
        if kind == "step":
            span = int(rng.choice([0, 1, 2, 5, 100, 2**16 - 1, 2**16, 2**20, 2**25]))
            low = int(rng.integers(-(2**24), 2**24 - min(span, 2**24) + 1))
            levels = (low, low + span)
            bits = max(1, span.bit_length())
        numel = math.prod(shape)
        count = numel
        if mode == "dof" and sym is not None and len(shape) >= 2:
            try:
                s = Symmetry.from_dict(sym) if "generators" in sym else get_symmetry(sym["name"])
                kh, kw = shape[-2:]
                check_symmetry_limits(s, (kh, kw), "fuzz")  # bounded before s.dof
                count = math.prod(shape[:-2]) * s.dof((kh, kw))
            except (SymcodecError, TypeError, ValueError, KeyError):
                count = int(rng.integers(0, 10))
        keep = None
        if mode == "pruned":
            keep = int(rng.integers(0, max(1, min(numel, 50)) + 1)) if numel < 2**62 else 0
            count = keep
        if count > 2**20:  # keep the payload small: claims go through the header
            length = packed_size(count, bits)
            data = b""
        else:
            length = packed_size(count, bits)
            data = rng.integers(0, 256, size=length, dtype=np.uint8).tobytes()
        quantizer = {"kind": kind, "bits": bits}
        if levels is not None:
            step = float(np.float32(rng.choice([1e-3, 0.5, 1.0, 3e38, 1e-45])))
            quantizer.update(step=step, dead_zone=float(rng.choice([0.0, 0.25, 0.49])))
            quantizer.update(min_level=levels[0], max_level=levels[1])
        ans = None
        if kind in ("uniform", "step") and rng.random() < 0.6:
            n = levels[1] - levels[0] + 1 if levels else 2**bits
            first = levels[0] if levels else 0
            chunk_values = int(rng.choice([1, 7, 64, 16384, 2**22]))
            chunks = -(-count // chunk_values) if count <= 2**24 else 3
            lengths = [4 * int(rng.integers(0, 5)) for _ in range(min(chunks, 64))]
            if n == 1:
                lengths = [0] * len(lengths)
            data = b"".join(rng.integers(0, 256, size=m, dtype=np.uint8).tobytes() for m in lengths)
            length = len(data)
            family = ["laplace", "gaussian", "histogram"][rng.integers(3)]
            if family == "histogram":
                size = min(n, 300) if rng.random() < 0.8 else min(n, 2**16 + 1)
                model = {"family": family, "counts": [0] * size}
                if size and count <= 2**40:
                    model["counts"][int(rng.integers(size))] = count
            else:
                center = first + float(rng.integers(-2, 2 * min(n, 2**20) + 2)) / 2
                decay = float(rng.choice([1e-300, 0.5, 0.999, 1 - 1e-16, 0.0, 1.0]))
                model = {"family": family, "center": center, "decay": decay}
            crcs = []
            pos = 0
            for m in lengths:
                crcs.append([m, zlib.crc32(data[pos : pos + m])])
                pos += m
            ans = {"model": model, "chunk_values": chunk_values, "chunks": crcs}
        if kind == "uniform":
            per_channel = bool(rng.random() < 0.3)
            channels = shape[0] if per_channel and shape and count else 1
            channels = channels if channels <= 4096 else int(rng.integers(1, 3))
            lo = [float(x) for x in rng.normal(size=channels)]
            hi = [v + abs(float(rng.normal())) for v in lo]
            quantizer.update(grid=["minmax", "symmetric"][rng.integers(2)], per_channel=per_channel)
            quantizer.update(lo=lo, hi=hi)
        rec = {
            "name": f"t{k}" if rng.random() < 0.95 else "t0",
            "shape": shape,
            "dtype": dtype,
            "symmetry": sym,
            "mode": mode,
            "coder": "fixed" if ans is None else "ans",
            "quantizer": quantizer,
            "count": count,
            "offset": len(payload),
            "length": length,
            "crc32": 0,
        }
        if ans is not None:
            rec.update(ans)
        if mode == "pruned" and numel < 2**62:
            pos = positions_for(numel, keep).to_json() if numel else {}
            rec["positions"] = pos
            if pos and pos["length"] <= 2**20:
                posdata = rng.integers(0, 256, size=pos["length"], dtype=np.uint8).tobytes()
                data = posdata + data
                rec["length"] = len(data)
        if rng.random() < 0.2:  # one random field value on top
            keys = list(rec)
            rec[keys[rng.integers(len(keys))]] = random_value(rng)
        rec["crc32"] = zlib.crc32(data)
        records.append(rec)
        payload += data
    doc = {"format": "symc", "producer": "fuzz", "metadata": {}, "tensors": records}
    try:
        return assemble(dump(doc), payload)
    except (ValueError, TypeError):
        return blob


def random_header(blob, rng, streams):
    """A random JSON document as the header, with a valid preamble and CRC."""
    doc = random_value(rng)
    if rng.random() < 0.7:
        doc = {"format": "symc", "tensors": [random_value(rng) for _ in range(rng.integers(0, 3))]}
    try:
        header = dump(doc)
    except (ValueError, TypeError):
        header = b"{}"
    payload = rng.integers(0, 256, size=int(rng.integers(0, 64)), dtype=np.uint8).tobytes()
    return assemble(header, payload)


MUTATORS = {
    "bit_flips": bit_flips,
    "byte_overwrite": byte_overwrite,
    "truncate_or_extend": truncate_or_extend,
    "splice": splice,
    "header_bit_flips": header_bit_flips,
    "header_field_value": header_field_value,
    "header_text_tokens": header_text_tokens,
    "payload_with_crcs": payload_with_crcs,
    "synthetic_records": synthetic_records,
    "random_header": random_header,
}


def mutate(streams: list[bytes], rng: np.random.Generator) -> tuple[str, bytes]:
    """One fuzz case: a random corpus stream through one or two random mutators."""
    blob = streams[rng.integers(len(streams))]
    names = list(MUTATORS)
    name = names[rng.integers(len(names))]
    blob = _apply(name, blob, rng, streams)
    if rng.random() < 0.15:
        second = names[rng.integers(len(names))]
        blob = _apply(second, blob, rng, streams)
        name = f"{name}+{second}"
    return name, blob


def _apply(name: str, blob: bytes, rng: np.random.Generator, streams: list[bytes]) -> bytes:
    try:
        return MUTATORS[name](blob, rng, streams)
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        OverflowError,
        RecursionError,
    ):
        return blob  # a mutator that cannot handle this input leaves it as it is


# ------------------------------------------------------------------------------------
# Running cases


def exercise(blob: bytes) -> str:
    """Run every decoder entry point; returns 'ok' or 'rejected'. Raises anything else."""
    outcome = "ok"
    for call in (
        read_header,
        inspect,
        lambda b: decode(b, strict=True),
        lambda b: decode(b, strict=False),
    ):
        try:
            call(blob)
        except SymcodecError as exc:
            message = str(exc)
            assert message and "\n" not in message, f"bad SymcodecError message {message!r}"
            outcome = "rejected"
    return outcome


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout("case exceeded the time limit")


def crash_id(exc: BaseException) -> str:
    """Type and innermost symcodec frame: one id per distinct bug."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "symcodec" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__}@{where}"


def worker(args) -> dict:
    seed, cases, timeout, crash_dir, trace_memory, save_slowest = args
    torch.set_num_threads(1)
    signal.signal(signal.SIGALRM, _alarm)
    streams = corpus()
    rng = np.random.default_rng(seed)
    outcomes: Counter = Counter()
    mutators: Counter = Counter()
    crashes: dict[str, dict] = {}
    peak_traced = 0
    slowest, slowest_name = 0.0, ""
    start = time.perf_counter()
    for i in range(cases):
        name, blob = mutate(streams, rng)
        mutators[name.split("+")[0]] += 1
        if trace_memory:
            tracemalloc.start()
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            outcomes[exercise(blob)] += 1
        except BaseException as exc:  # noqa: BLE001 - everything else is a crash
            if isinstance(exc, KeyboardInterrupt):
                raise
            outcomes["crash"] += 1
            cid = crash_id(exc)
            if cid not in crashes:
                digest = hashlib.sha1(blob).hexdigest()[:12]
                path = Path(crash_dir) / f"{cid.replace('@', '-').replace(':', '-')}-{digest}.symc"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blob)
                crashes[cid] = {
                    "mutator": name,
                    "case": i,
                    "message": f"{type(exc).__name__}: {str(exc)[:200]}",
                    "reproducer": str(path),
                    "count": 0,
                }
            crashes[cid]["count"] += 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = time.perf_counter() - t0
        if elapsed > slowest:
            slowest, slowest_name = elapsed, f"{name} (case {i}, seed {seed})"
            if save_slowest:
                path = Path(crash_dir) / f"slowest-seed{seed}.symc"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blob)
        if trace_memory:
            peak_traced = max(peak_traced, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    return {
        "cases": cases,
        "seconds": time.perf_counter() - start,
        "outcomes": dict(outcomes),
        "mutators": dict(mutators),
        "crashes": crashes,
        "peak_traced": peak_traced,
        "slowest": slowest,
        "slowest_name": slowest_name,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100_000, help="total cases (default 100000)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--seed", type=int, default=0, help="worker k uses seed + k")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per case (a crash)")
    p.add_argument("--crash-dir", default="fuzz-crashes", help="where reproducers go")
    p.add_argument(
        "--no-tracemalloc", action="store_true", help="skip per-case tracemalloc (faster)"
    )
    p.add_argument(
        "--memory-limit-mb",
        type=int,
        default=4096,
        help="RLIMIT_AS per worker: a larger allocation fails and counts as a crash",
    )
    p.add_argument(
        "--save-slowest", action="store_true", help="save each worker's slowest case too"
    )
    args = p.parse_args(argv)
    if args.memory_limit_mb:
        limit = args.memory_limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # inherited by the workers
    per = [
        args.cases // args.workers + (k < args.cases % args.workers) for k in range(args.workers)
    ]
    jobs = [
        (args.seed + k, n, args.timeout, args.crash_dir, not args.no_tracemalloc, args.save_slowest)
        for k, n in enumerate(per)
    ]
    start = time.perf_counter()
    if args.workers == 1:
        results = [worker(jobs[0])]
    else:
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            results = pool.map(worker, jobs)
    wall = time.perf_counter() - start
    total = sum(r["cases"] for r in results)
    outcomes: Counter = Counter()
    mutators: Counter = Counter()
    crashes: dict[str, dict] = {}
    for r in results:
        outcomes.update(r["outcomes"])
        mutators.update(r["mutators"])
        for cid, info in r["crashes"].items():
            if cid in crashes:
                crashes[cid]["count"] += info["count"]
            else:
                crashes[cid] = info
    print(f"symcodec decoder fuzz: {total:,} cases, {args.workers} worker(s), seed {args.seed}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"outcomes: {outcomes.get('ok', 0):,} decoded, {outcomes.get('rejected', 0):,} rejected "
        f"with SymcodecError, {outcomes.get('crash', 0):,} crashes"
    )
    print("mutators: " + ", ".join(f"{k} {v:,}" for k, v in sorted(mutators.items())))
    rates = ", ".join(f"{r['cases'] / r['seconds']:,.0f}" for r in results)
    slow = max(results, key=lambda r: r["slowest"])
    print(
        f"time: {wall:.1f} s wall, {total / wall:,.0f} cases/s overall ({rates} cases/s per "
        f"worker); slowest case {slow['slowest']:.3f} s: {slow['slowest_name']}"
    )
    if not args.no_tracemalloc:
        peak = max(r["peak_traced"] for r in results)
        print(f"peak memory per case (tracemalloc): {peak / 2**20:.1f} MiB")
    print(
        "peak RSS per worker (ru_maxrss): "
        + ", ".join(f"{r['maxrss_kib'] / 1024:.0f} MiB" for r in results)
    )
    if crashes:
        print(f"{len(crashes)} distinct crash(es):")
        for cid, info in sorted(crashes.items()):
            print(
                f"  {cid}: {info['count']} case(s), first from {info['mutator']}: "
                f"{info['message']} -> {info['reproducer']}"
            )
        return 1
    print("crashes: 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
