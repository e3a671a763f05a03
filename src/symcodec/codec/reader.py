"""Reading a ``.symc`` stream's payload: every record's values, pruning mask and lost
chunks (:func:`decode_stream`, :func:`decode_payload`), and the state dict rebuilt from them
(:func:`decode`, :func:`rebuild_state_dict`), into new tensors or, with ``into``, into
existing ones (see :mod:`.inplace`).

>>> import torch
>>> from symcodec.codec import TransmissionPlan, encode
>>> sd = {"conv.weight": torch.randn(4, 2, 3, 3), "conv.bias": torch.zeros(4)}
>>> blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8))
>>> header, decoded = decode_stream(blob)
>>> [(d.record.name, tuple(d.values.shape), d.crc_ok) for d in decoded]
[('conv.weight', (4, 2, 4), True), ('conv.bias', (4,), True)]
>>> model = {"conv.weight": torch.empty(4, 2, 3, 3), "conv.bias": torch.empty(4)}
>>> out = decode(blob, into=model)
>>> out is model and torch.equal(model["conv.weight"], decode(blob)["conv.weight"])
True
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar, overload

import numpy as np
import torch

from ..errors import SymcodecError
from .bitpack import unpack_codes
from .entropy import ChunkError, chunk_bounds, decode_chunks, entropy_bits
from .header import read_header
from .inplace import CodeWriter, check_target
from .pruning import decode_positions
from .quantize import dequantize, dequantize_levels
from .records import RAW_NUMPY_DTYPES, DecodedTensor, Header, TensorRecord
from .wire import rebuild_tensor, sent_shape

Payload = bytes | bytearray | memoryview | np.ndarray
Sliceable = TypeVar("Sliceable", bytes, bytearray, memoryview, np.ndarray)
Targets = TypeVar("Targets", bound=Mapping[str, torch.Tensor])


def record_payloads(header: Header, payload: Sliceable) -> Iterator[tuple[TensorRecord, Sliceable]]:
    """Every record of ``header`` with its data: the slice ``[offset, offset + length)`` of
    ``payload`` (the bytes after the header, or anything laid out like them: an array of
    received bytes, a mask per byte), in stream order. Slices of a memoryview or an array
    are views."""
    for record in header.records:
        yield record, payload[record.offset : record.offset + record.length]


def decode_mask(record: TensorRecord, data: bytes | memoryview) -> torch.Tensor | None:
    """The kept positions of a ``pruned`` record (None for other modes)."""
    if record.positions is None:
        return None
    raw = bytes(data[: record.positions.length])
    try:
        flat = decode_positions(record.positions, raw, record.numel, record.count)
    except SymcodecError as exc:
        raise SymcodecError(f"tensor {record.name!r}: {exc}") from None
    return flat.reshape(record.shape)


def chunk_data(record: TensorRecord, data: bytes | memoryview) -> list[bytes | memoryview]:
    """The bytes of every chunk of an ``ans`` record, from the record's data."""
    pieces = []
    pos = record.positions_length
    for length, _ in record.chunks:
        pieces.append(data[pos : pos + length])
        pos += length
    return pieces


def lost_chunk_values(record: TensorRecord, lost: tuple[int, ...] | set[int]) -> int:
    """Values in the chunks ``lost`` of an ``ans`` record."""
    bounds = chunk_bounds(record.count, record.chunk_values) if lost else []
    return sum(bounds[i][1] - bounds[i][0] for i in lost)


def record_symbols(
    record: TensorRecord,
    data: bytes | memoryview,
    strict: bool = True,
    lost: set[int] | None = None,
) -> np.ndarray:
    """The integer symbols of a quantized record (levels of a ``step`` quantizer, codes of a
    ``uniform`` one) as int32, from the record's data.

    ``fixed`` codes beyond the range (possible after bit errors) are clamped to it. An
    ``ans`` chunk whose CRC fails or whose data does not decode raises
    :class:`SymcodecError` when ``strict``; otherwise its index goes into ``lost`` and its
    symbols are left at the bottom of the range.
    """
    spec = record.quantizer
    first, n = record.symbol_range
    body = data[record.positions_length :]
    if record.coder == "ans":
        assert record.model is not None
        lost = set() if lost is None else lost
        pieces = chunk_data(record, data)
        for index, (piece, (_, crc)) in enumerate(zip(pieces, record.chunks, strict=True)):
            if zlib.crc32(piece) != crc:
                if strict:
                    raise SymcodecError(
                        f"payload CRC mismatch in tensor {record.name!r}, chunk {index}: "
                        "data is corrupt"
                    )
                lost.add(index)
        try:
            symbols = decode_chunks(
                pieces,
                record.model,
                first,
                n,
                record.count,
                record.chunk_values,
                lost=None if strict else lost,
            )
        except ChunkError as exc:
            raise SymcodecError(f"tensor {record.name!r}: corrupt ans data, {exc}") from None
        except SymcodecError as exc:
            raise SymcodecError(f"tensor {record.name!r}: field 'model': {exc}") from None
        if first:
            symbols += first
        return symbols
    codes = unpack_codes(np.frombuffer(body, dtype=np.uint8), spec.bits, record.count)
    if spec.kind == "uniform":
        return np.minimum(codes, spec.max_code).astype(np.int32)
    return np.minimum(codes, n - 1).astype(np.int32) + np.int32(first)


def record_entropy_bits(record: TensorRecord, data: bytes | memoryview) -> float | None:
    """The empirical entropy of a quantized record's symbols times their count, in bits:
    what an ideal memoryless coder that knows their histogram would spend. None for
    passthrough and raw records and for records whose data is corrupt.

    >>> import torch
    >>> from symcodec.codec import TransmissionPlan, encode
    >>> from symcodec.codec.format import read_header
    >>> sd = {"w": torch.tensor([0.0, 0.0, 1.0, -1.0])}
    >>> blob = encode(sd, TransmissionPlan.default(sd, step=1.0, coder="ans"))
    >>> header = read_header(blob)
    >>> record = header.records[0]
    >>> record_entropy_bits(record, blob[header.payload_offset :])   # 4 x 1.5 bits
    6.0
    """
    if not record.quantizer.is_quantized or zlib.crc32(data) != record.crc32:
        return None
    try:
        symbols = record_symbols(record, data, strict=True)
    except SymcodecError:
        return None
    first, n = record.symbol_range
    return entropy_bits(np.bincount(symbols - first, minlength=n))


def record_codes(
    record: TensorRecord, data: bytes | memoryview, strict: bool = False, lost: set | None = None
) -> np.ndarray:
    """What a quantized record's values are dequantized from: the codes of a ``uniform``
    quantizer sent ``fixed`` as unpacked (unsigned, the smallest width; the dequantization
    clamps them), else the integer symbols of :func:`record_symbols` (int32)."""
    spec = record.quantizer
    if spec.kind == "uniform" and record.coder == "fixed":  # the fast path: no int32 copy
        body = np.frombuffer(data[record.positions_length :], dtype=np.uint8)
        return unpack_codes(body, spec.bits, record.count)
    return record_symbols(record, data, strict=strict, lost=lost)


def decode_values(
    record: TensorRecord, data: bytes | memoryview, strict: bool = False
) -> tuple[torch.Tensor, tuple[int, ...]]:
    """The values sent (dequantized, shape of the sent values) and, for ``ans`` records, the
    indices of the chunks lost to corruption, whose values are concealed with 0 (with
    ``strict``, a corrupt chunk raises :class:`SymcodecError` instead). ``fixed`` codes out
    of the quantizer's range (possible after bit errors) are clamped."""
    spec = record.quantizer
    shape = sent_shape(record.shape, record.mode, record.symmetry, record.count)
    if not spec.is_quantized:
        return _decode_passthrough(record, data[record.positions_length :], shape), ()
    lost: set[int] = set()
    codes = record_codes(record, data, strict=strict, lost=lost)
    if spec.kind == "step":
        values = dequantize_levels(codes, spec).reshape(shape)
    else:
        values = dequantize(codes, record.params, spec, shape)
    if lost:
        flat = values.reshape(-1)
        bounds = chunk_bounds(record.count, record.chunk_values)
        for index in lost:
            flat[bounds[index][0] : bounds[index][1]] = 0.0
    return values, tuple(sorted(lost))


def decode_record(
    record: TensorRecord, data: bytes | memoryview, strict: bool = False
) -> torch.Tensor:
    """Dequantize one record's payload bytes to the values sent (shape of the sent values).

    Codes out of the quantizer's range (possible after bit errors) are clamped; lost ``ans``
    chunks are concealed with 0 (see :func:`decode_values`).
    """
    return decode_values(record, data, strict=strict)[0]


def _decode_passthrough(
    record: TensorRecord, data: bytes | memoryview, shape: tuple
) -> torch.Tensor:
    spec = record.quantizer
    if spec.kind == "raw":
        if record.dtype == "bool":  # any non-zero byte is True (a valid torch bool)
            return torch.from_numpy(np.frombuffer(data, dtype=np.uint8) != 0).reshape(shape)
        arr = np.frombuffer(data, dtype=RAW_NUMPY_DTYPES[record.dtype])
        return torch.from_numpy(arr.copy()).reshape(shape)
    np_dtype = np.dtype("<f4") if spec.kind == "float32" else np.dtype("<f2")
    arr = np.frombuffer(data, dtype=np_dtype).astype(np_dtype.newbyteorder("="))
    return torch.from_numpy(arr).to(torch.float32).reshape(shape)


def decode_payload(header: Header, payload: Payload, strict: bool = True) -> list[DecodedTensor]:
    """Dequantize every record of ``header`` from ``payload`` (the bytes after the header,
    e.g. as they arrived over a link).

    With ``strict`` a payload CRC mismatch (of a record, or of an ``ans`` chunk) raises
    :class:`SymcodecError` naming the tensor; otherwise the tensor is decoded anyway and
    marked ``crc_ok=False`` (a noisy link): ``fixed`` codes are clamped to the quantizer's
    range, and the ``ans`` chunks that fail their CRC are concealed with zeros and listed
    in ``lost_chunks``.
    """
    decoded = []
    for record, data in record_payloads(header, _byte_view(payload)):
        crc_ok = zlib.crc32(data) == record.crc32
        if strict and not crc_ok:
            raise SymcodecError(f"payload CRC mismatch in tensor {record.name!r}: data is corrupt")
        values, lost = decode_values(record, data, strict=strict)
        decoded.append(
            DecodedTensor(
                record,
                values,
                crc_ok and not lost,
                decode_mask(record, data),
                lost_chunks=lost,
                concealed_values=lost_chunk_values(record, lost),
            )
        )
    return decoded


def decode_stream(blob: bytes, strict: bool = True) -> tuple[Header, list[DecodedTensor]]:
    """Parse a stream and dequantize every record (see :func:`decode_payload` for
    ``strict``)."""
    header = read_header(blob)
    return header, decode_payload(header, _stream_payload(blob, header), strict=strict)


def rebuild_state_dict(
    decoded: Sequence[DecodedTensor], alpha: float = 1.0
) -> dict[str, torch.Tensor]:
    """The state dict of tensors as :func:`decode_stream` returned them (what
    :func:`decode` does after parsing): each rebuilt to its shape and original dtype, with
    ``full-project`` kernels projected at strength ``alpha`` (see :func:`rebuild_tensor`)."""
    out = {}
    for item in decoded:
        r = item.record
        tensor = rebuild_tensor(item.values, r.shape, r.symmetry, r.mode, alpha, mask=item.mask)
        out[r.name] = tensor.to(r.torch_dtype)
    return out


@overload
def decode(blob: bytes, strict: bool = True, into: None = None) -> dict[str, torch.Tensor]: ...


@overload
def decode(blob: bytes, strict: bool = True, *, into: Targets) -> Targets: ...


def decode(blob, strict=True, into=None):
    """Decode a ``.symc`` stream into a state dict of full tensors.

    ``dof`` kernels are rebuilt from their coefficients, ``full-project`` kernels are
    projected onto their symmetric subspace, and every tensor gets its original dtype. See
    :func:`decode_payload` for ``strict``.

    With ``into`` (a mapping of names to tensors, e.g. ``model.state_dict()``), every tensor
    is written in place into the tensor of the same name there instead, and ``into`` is
    returned: the values are those :func:`decode` returns, converted to the target's dtype.
    Targets must have the shape of the stream's tensors (any float dtype for float tensors,
    the stream's dtype for the others); a missing name or a mismatch raises
    :class:`SymcodecError` before anything is written, and so does, with ``strict``, a
    payload CRC mismatch. Entries the stream does not carry are left as they are. Quantized
    ``dof`` and ``full`` tensors are dequantized (and scattered) block by block straight
    into a contiguous float32 CPU target, without a full-size temporary (see
    :mod:`.inplace`); other targets get a ``copy_``.
    """
    header = read_header(blob)
    payload = _stream_payload(blob, header)
    if into is None:
        return rebuild_state_dict(decode_payload(header, payload, strict=strict))
    if not isinstance(into, Mapping):
        raise SymcodecError(
            f"'into' must map tensor names to tensors (e.g. model.state_dict()), "
            f"got {type(into).__name__}"
        )
    targets = [check_target(into, record) for record in header.records]
    records = list(record_payloads(header, payload))
    if strict:
        for record, data in records:
            if zlib.crc32(data) != record.crc32:
                raise SymcodecError(
                    f"payload CRC mismatch in tensor {record.name!r}: data is corrupt"
                )
    writer = CodeWriter()
    with torch.no_grad():
        for target, (record, data) in zip(targets, records, strict=True):
            _decode_into(writer, target, record, data, strict)
    return into


def _decode_into(
    writer: CodeWriter, target: torch.Tensor, record: TensorRecord, data: memoryview, strict: bool
) -> None:
    """Write one record's tensor into ``target``: straight from the codes when ``writer``
    takes it, else through a full tensor."""
    if writer.takes(target, record):
        lost: set[int] = set()
        codes = record_codes(record, data, strict=strict, lost=lost)
        if not lost:
            writer.write(target, record, codes)
            return
    values, _ = decode_values(record, data, strict=strict)
    tensor = rebuild_tensor(
        values, record.shape, record.symmetry, record.mode, mask=decode_mask(record, data)
    )
    target.copy_(tensor.to(record.torch_dtype))


def _byte_view(payload: Payload) -> memoryview:
    """``payload`` as a flat memoryview of bytes (slicing it slices bytes, not items)."""
    view = memoryview(payload)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _stream_payload(blob: bytes, header: Header) -> memoryview:
    """The payload of a stream (the bytes after its header), as a memoryview of bytes."""
    if not isinstance(blob, bytes):  # a memoryview of wider items would slice by item
        blob = bytes(blob)
    return memoryview(blob)[header.payload_offset :]
