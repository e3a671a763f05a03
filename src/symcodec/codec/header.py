"""Reading a ``.symc`` stream's header: the preamble, the (inflated) JSON, and every
tensor record, each field validated before it is used (the field objects in
:mod:`.header_fields`, the resource bounds in :mod:`.limits`).

>>> import torch
>>> from symcodec.codec import TransmissionPlan, encode
>>> sd = {"conv.weight": torch.randn(4, 2, 3, 3), "conv.bias": torch.zeros(4)}
>>> header = read_header(encode(sd, TransmissionPlan.default(sd, symmetry="central", bits=8)))
>>> [(r.name, r.mode, r.count) for r in header.records]
[('conv.weight', 'dof', 40), ('conv.bias', 'full', 4)]
>>> read_header(b"SYMC")
Traceback (most recent call last):
...
symcodec.errors.SymcodecError: truncated .symc stream: 4 bytes, less than the preamble
"""

from __future__ import annotations

import json
import math
import zlib

from ..errors import SymcodecError
from ..symmetry import Symmetry
from .bitpack import packed_size
from .entropy import MAX_ALPHABET, EntropyModel
from .header_fields import (
    ANS_KEYS,
    expect,
    is_int,
    known_keys,
    parse_chunks,
    parse_model,
    parse_positions,
    parse_quantizer,
    parse_ranges,
    parse_symmetry,
)
from .limits import (
    MAX_DIMS,
    MAX_HEADER_BYTES,
    MAX_HEADER_EXPANSION,
    MIN_HEADER_ALLOWANCE,
    check_element_total,
    check_symmetry_limits,
    show_value,
)
from .plan import CODERS, MODES
from .pruning import Positions
from .quantize import QuantizerParams, QuantizerSpec, StepParams
from .records import (
    DTYPES,
    FLAG_DEFLATE_HEADER,
    FORMAT_VERSION,
    KNOWN_FLAGS,
    MAGIC,
    PREAMBLE,
    PREAMBLE_BYTES,
    Header,
    TensorRecord,
    symbol_range,
)
from .wire import sent_shape


def read_header(blob: bytes) -> Header:
    """Parse and validate the preamble and header of a ``.symc`` stream.

    Every field is checked before it is used; offsets and lengths must lie inside the
    stream. Raises :class:`SymcodecError` naming the first problem found.
    """
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise SymcodecError("a .symc stream must be bytes")
    blob = bytes(blob)
    header_len, header_bytes = _read_preamble(blob)
    doc = _parse_json(header_bytes)
    payload_bytes = len(blob) - PREAMBLE_BYTES - header_len
    return _parse_header(doc, header_len, payload_bytes)


def _read_preamble(blob: bytes) -> tuple[int, bytes]:
    """The stored header length and the header's JSON bytes (checked against the preamble's
    CRC, inflated when compressed)."""
    if len(blob) < PREAMBLE_BYTES:
        if not MAGIC.startswith(blob[:4]):
            raise SymcodecError("not a .symc stream (wrong magic)")
        raise SymcodecError(f"truncated .symc stream: {len(blob)} bytes, less than the preamble")
    magic, version, flags, header_len, header_crc = PREAMBLE.unpack_from(blob)
    if magic != MAGIC:
        raise SymcodecError("not a .symc stream (wrong magic)")
    if version != FORMAT_VERSION:
        raise SymcodecError(
            f"unsupported .symc format version {version} (this symcodec reads {FORMAT_VERSION})"
        )
    if flags & ~KNOWN_FLAGS:
        raise SymcodecError(f"unsupported .symc flags {flags:#06x}")
    if header_len > MAX_HEADER_BYTES:
        raise SymcodecError(f"header length {header_len} bytes exceeds {MAX_HEADER_BYTES}")
    if PREAMBLE_BYTES + header_len > len(blob):
        raise SymcodecError(
            f"truncated .symc stream: header of {header_len} bytes, "
            f"{len(blob) - PREAMBLE_BYTES} available"
        )
    header_bytes = blob[PREAMBLE_BYTES : PREAMBLE_BYTES + header_len]
    if zlib.crc32(header_bytes) != header_crc:
        raise SymcodecError("header CRC mismatch: the header is corrupt")
    if flags & FLAG_DEFLATE_HEADER:
        header_bytes = _inflate_header(header_bytes)
    return header_len, header_bytes


def _parse_json(header_bytes: bytes):
    """The header's JSON document (duplicate keys, NaN and Infinity refused)."""
    try:
        return json.loads(
            header_bytes.decode("utf-8"),
            object_pairs_hook=_json_object,
            parse_constant=_json_constant,
        )
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, integer too long
        raise SymcodecError(f"header is not valid JSON ({exc.__class__.__name__})") from None
    except RecursionError:
        raise SymcodecError("header is not valid JSON (nested too deeply)") from None
    except MemoryError:
        raise SymcodecError("header is too large to parse") from None


def _inflate_header(stored: bytes) -> bytes:
    """The JSON of a compressed header, inflated to a bounded size."""
    limit = min(MAX_HEADER_BYTES, max(MIN_HEADER_ALLOWANCE, MAX_HEADER_EXPANSION * len(stored)))
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(stored, limit)
    except zlib.error as exc:
        raise SymcodecError(f"compressed header is corrupt ({exc})") from None
    if inflater.unconsumed_tail:
        raise SymcodecError(f"compressed header inflates beyond {limit} bytes")
    if not inflater.eof or inflater.unused_data:
        raise SymcodecError("compressed header is truncated or has trailing bytes")
    return text


def _json_object(pairs: list) -> dict:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise SymcodecError(f"header has a duplicate key {show_value(key)}")
            seen.add(key)
    return doc


def _json_constant(token: str):
    raise SymcodecError(f"header contains {token}, which is not a JSON number")


def _parse_header(doc, header_len: int, payload_bytes: int) -> Header:
    expect(isinstance(doc, dict), "header must be a JSON object")
    known_keys(doc, {"format", "producer", "metadata", "tensors"}, "header")
    expect(doc.get("format") == "symc", "header field 'format' must be 'symc'")
    metadata = doc.get("metadata", {})
    expect(
        isinstance(metadata, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()),
        "header field 'metadata' must map strings to strings",
    )
    tensors = doc.get("tensors")
    expect(isinstance(tensors, list), "header field 'tensors' must be a list")
    records = []
    names = set()
    end_of_previous = 0
    layouts: dict = {}
    total_elements = 0
    stream_bytes = PREAMBLE_BYTES + header_len + payload_bytes
    for i, raw in enumerate(tensors):
        record = _parse_record(raw, i, layouts)
        if record.name in names:
            raise SymcodecError(f"duplicate tensor name {record.name!r} in header")
        names.add(record.name)
        if record.offset != end_of_previous:
            raise SymcodecError(
                f"tensor {record.name!r}: field 'offset' is {record.offset}, "
                f"expected {end_of_previous}"
            )
        end_of_previous = record.offset + record.length
        if end_of_previous > payload_bytes:
            raise SymcodecError(
                f"truncated .symc stream: tensor {record.name!r} needs payload bytes up to "
                f"{end_of_previous}, only {payload_bytes} present"
            )
        total_elements += record.numel
        check_element_total(total_elements, stream_bytes, record.name)
        total_elements += record.table_entries
        check_element_total(total_elements, stream_bytes, record.name, "quantizer")
        records.append(record)
    if end_of_previous != payload_bytes:
        raise SymcodecError(
            f"payload has {payload_bytes - end_of_previous} bytes after the last tensor"
        )
    return Header(
        version=FORMAT_VERSION,
        records=tuple(records),
        metadata=dict(metadata),
        header_bytes=header_len,
        payload_bytes=payload_bytes,
    )


_RECORD_KEYS = {
    "name",
    "shape",
    "dtype",
    "symmetry",
    "mode",
    "coder",
    "quantizer",
    "count",
    "offset",
    "length",
    "crc32",
}


def _parse_record(raw, index: int, layouts: dict | None = None) -> TensorRecord:
    """One tensor record, checked field by field in a fixed order (the first problem found
    is the one reported)."""
    where = _record_keys(raw, index)
    shape, dtype, mode, coder = _parse_layout(raw, where)
    symmetry = _parse_record_symmetry(raw, where, shape, mode, layouts)
    spec, ranges = parse_quantizer(raw["quantizer"], where, dtype)
    expect(
        coder != "ans" or spec.is_quantized,
        f"{where}: field 'coder' 'ans' needs a uniform or step quantizer, not {spec.kind!r}",
    )
    count, positions, sent = _parse_count(raw, where, shape, mode, symmetry, spec)
    params: QuantizerParams | StepParams | None = None
    if isinstance(ranges, StepParams):
        params = ranges
    elif ranges is not None:
        channels = len(ranges[0])
        want = sent[0] if spec.per_channel and len(sent) >= 1 and count > 0 else 1
        expect(channels == want, f"{where}: quantizer needs {want} ranges, got {channels}")
        params = parse_ranges(*ranges, where)
    for key in ("offset", "length", "crc32"):
        expect(is_int(raw[key]) and raw[key] >= 0, f"{where}: field {key!r} is invalid")
    expect(raw["crc32"] < 2**32, f"{where}: field 'crc32' is invalid")
    model, chunk_values, chunks = _parse_coder(raw, where, coder, spec, params, count, positions)
    return TensorRecord(
        name=raw["name"],
        shape=shape,
        dtype=dtype,
        symmetry=symmetry,
        mode=mode,
        coder=coder,
        quantizer=spec,
        params=params,
        count=count,
        offset=raw["offset"],
        length=raw["length"],
        crc32=raw["crc32"],
        positions=positions,
        model=model,
        chunk_values=chunk_values,
        chunks=chunks,
    )


def _record_keys(raw, index: int) -> str:
    """Check a record is an object with a valid name and exactly the fields its mode and
    coder need; return the ``where`` prefix of its error messages."""
    where = f"tensor record {index}"
    expect(isinstance(raw, dict), f"{where} must be an object")
    name = raw.get("name")
    expect(isinstance(name, str) and 0 < len(name) <= 1024, f"{where}: field 'name' is invalid")
    where = f"tensor {name!r}"
    known_keys(raw, _RECORD_KEYS | {"positions"} | ANS_KEYS, where)
    missing = _RECORD_KEYS - set(raw)
    if raw.get("mode") == "pruned" and "positions" not in raw:
        missing = missing | {"positions"}
    if raw.get("coder") == "ans":
        missing = missing | (ANS_KEYS - set(raw))
    expect(not missing, f"{where}: missing field {sorted(missing)[0]!r}" if missing else "")
    return where


def _parse_layout(raw: dict, where: str) -> tuple[tuple[int, ...], str, str, str]:
    """``shape``, ``dtype``, ``mode`` and ``coder``, and whether they fit together."""
    shape = raw["shape"]
    expect(
        isinstance(shape, list)
        and len(shape) <= MAX_DIMS
        and all(is_int(s) and 0 <= s < 2**40 for s in shape),
        f"{where}: field 'shape' is invalid",
    )
    shape = tuple(shape)
    dtype = raw["dtype"]
    expect(
        isinstance(dtype, str) and dtype in DTYPES,
        f"{where}: field 'dtype' {show_value(dtype)} is not supported",
    )
    mode = raw["mode"]
    expect(
        isinstance(mode, str) and mode in MODES,
        f"{where}: field 'mode' {show_value(mode)} is unknown",
    )
    coder = raw["coder"]
    expect(
        isinstance(coder, str) and coder in CODERS,
        f"{where}: field 'coder' {show_value(coder)} is unknown",
    )
    if coder != "ans":
        extra = sorted(ANS_KEYS & set(raw))
        expect(not extra, f"{where}: field {extra[0]!r} needs coder 'ans'" if extra else "")
    expect(
        mode == "full" or (len(shape) >= 2 and DTYPES[dtype].is_floating_point),
        f"{where}: mode {mode!r} needs a float kernel tensor, got {dtype} of shape {shape}",
    )
    return shape, dtype, mode, coder


def _parse_record_symmetry(
    raw: dict, where: str, shape: tuple[int, ...], mode: str, layouts: dict | None
) -> Symmetry | None:
    """The record's symmetry (required by ``dof`` and ``full-project``), within the limits
    and defined on the tensor's kernel shape."""
    symmetry = None
    if raw["symmetry"] is not None:
        symmetry = parse_symmetry(raw["symmetry"], where)
    expect(
        mode in ("full", "pruned") or symmetry is not None,
        f"{where}: mode {mode!r} needs a symmetry",
    )
    if symmetry is not None:
        expect(len(shape) >= 2, f"{where}: a symmetric tensor needs at least 2 dimensions")
        kernel = tuple(shape[-2:])
        check_symmetry_limits(symmetry, kernel, f"{where}: field 'symmetry'", layouts)
        try:
            symmetry.dof(kernel)
        except SymcodecError as exc:
            raise SymcodecError(f"{where}: field 'symmetry': {exc}") from None
    return symmetry


def _parse_count(
    raw: dict,
    where: str,
    shape: tuple[int, ...],
    mode: str,
    symmetry: Symmetry | None,
    spec: QuantizerSpec,
) -> tuple[int, Positions | None, tuple]:
    """``count`` (the values sent, which the mode and shape fix), the pruning ``positions``
    of a ``pruned`` record, and the shape of the values sent."""
    count = raw["count"]
    positions = None
    if mode == "pruned":
        numel = math.prod(shape)
        expect(is_int(count) and 0 <= count <= numel, f"{where}: field 'count' is invalid")
        positions = parse_positions(raw["positions"], where, numel, count)
        expect(not spec.per_channel, f"{where}: pruned values have one quantizer range")
    else:
        expect("positions" not in raw, f"{where}: field 'positions' needs mode 'pruned'")
    sent = sent_shape(shape, mode, symmetry, count if mode == "pruned" else None)
    expected = math.prod(sent)
    expect(is_int(count) and count == expected, f"{where}: field 'count' must be {expected}")
    return count, positions, sent


def _parse_coder(
    raw: dict,
    where: str,
    coder: str,
    spec: QuantizerSpec,
    params: QuantizerParams | StepParams | None,
    count: int,
    positions: Positions | None,
) -> tuple[EntropyModel | None, int, tuple[tuple[int, int], ...]]:
    """An ``ans`` record's model, ``chunk_values`` and chunk table; and the record's
    ``length``, which the coder fixes."""
    model, chunk_values, chunks = None, 0, ()
    if coder == "ans":
        first, n = symbol_range(spec, params)
        expect(
            n <= MAX_ALPHABET,
            f"{where}: quantizer level range of {n} levels exceeds {MAX_ALPHABET} for coder 'ans'",
        )
        model = parse_model(raw["model"], where, first, n, count)
        chunk_values, chunks = parse_chunks(raw["chunk_values"], raw["chunks"], where, count, n)
        want_length = sum(c[0] for c in chunks)
    else:
        want_length = packed_size(count, spec.bits)
    want_length += positions.length if positions else 0
    expect(raw["length"] == want_length, f"{where}: field 'length' must be {want_length} bytes")
    return model, chunk_values, chunks
