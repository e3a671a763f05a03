"""The decoder fuzzer's mutators (``bench/fuzz_decoder.py``).

Each mutator maps ``(blob, rng, corpus)`` to a new stream; :data:`MUTATORS` names them and
:func:`mutate` makes one fuzz case of a corpus stream. Also here: the boundary values they draw
from (``INTERESTING_*``, :data:`TEXT_TOKENS`, :data:`SHAPES`), :func:`random_value`,
:func:`random_symmetry` and the JSON path helpers :func:`nodes` and :func:`set_at`.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from fuzz_corpus import assemble, dump, fix_record_crcs, header_doc, split

from symcodec.codec.limits import check_symmetry_limits
from symcodec.errors import SymcodecError
from symcodec.symmetry import Symmetry, get_symmetry, symmetry_names

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
