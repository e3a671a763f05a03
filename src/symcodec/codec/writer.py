"""Writing a ``.symc`` stream: :func:`encode` a state dict under a transmission plan.

Each tensor becomes a record (see :mod:`.records`) and a run of payload bytes: its values on
the wire (:mod:`.wire`), quantized (:mod:`.quantize`), then packed at a fixed width
(:mod:`.bitpack`) or entropy-coded in chunks (:mod:`.entropy`), behind the pruning positions
of a ``pruned`` tensor. The encoder enforces the decoder's limits (:mod:`.limits`), so it
never writes a stream that the decoder refuses.

>>> import torch
>>> from symcodec.codec import TransmissionPlan, decode
>>> sd = {"conv.weight": torch.randn(4, 2, 3, 3), "conv.bias": torch.zeros(4)}
>>> plan = TransmissionPlan.default(sd, symmetry="central", bits=32)
>>> out = decode(encode(sd, plan))
>>> from symcodec.symmetry import get_symmetry
>>> torch.equal(out["conv.weight"], get_symmetry("central").project(sd["conv.weight"]))
True
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import SymcodecError
from ..version import __version__
from .bitpack import pack_codes, packed_size
from .entropy import MAX_ALPHABET, EntropyModel, encode_chunks, fit_model
from .limits import MAX_DIMS, MAX_HEADER_BYTES, check_element_total, check_symmetry_limits
from .plan import TensorPlan, TransmissionPlan
from .pruning import Positions, encode_positions
from .quantize import Quantized, QuantizerParams, QuantizerSpec, StepParams, quantize
from .rdo import rdo_levels
from .records import (
    DTYPE_NAMES,
    FLAG_DEFLATE_HEADER,
    FORMAT_VERSION,
    MAGIC,
    PREAMBLE,
    PREAMBLE_BYTES,
    RAW_NUMPY_DTYPES,
    TensorRecord,
    symbol_range,
)
from .wire import pruning_mask, transmitted_values


def encode(
    state_dict: Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    metadata: Mapping[str, str] | None = None,
    compress_header: bool = True,
) -> bytes:
    """Encode a state dict into a ``.symc`` stream following ``plan``.

    The header (side information, counted in every figure) is stored DEFLATE-compressed
    when ``compress_header`` is set and that makes it smaller. Deterministic: the same
    tensors and plan give the same bytes.
    """
    variants: list[list[_Option]] = []
    layouts: dict = {}
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise SymcodecError(f"{name}: expected a tensor, got {type(tensor).__name__}")
        variants.append(_encode_tensor(name, tensor, plan[name], layouts))
    # a tensor with two codings (ans, and fixed as its fallback) keeps the one that makes
    # the whole stream (header as stored included) smaller, tried tensor by tensor
    choice = [0] * len(variants)
    header_bytes, flags = _assemble(variants, choice, metadata, compress_header)
    size = len(header_bytes) + _data_length(variants, choice)
    for i, options in enumerate(variants):
        if len(options) < 2:
            continue
        # the other coding cannot win when its data outgrows this one's by the whole header
        # as stored (the trial's header is at least empty): skipped, it is never made
        if options[1].length - options[choice[i]].length >= len(header_bytes):
            continue
        trial = [*choice[:i], 1, *choice[i + 1 :]]
        try:
            t_header, t_flags = _assemble(variants, trial, metadata, compress_header)
        except SymcodecError:  # the other coding breaks a limit: keep this one
            continue
        t_size = len(t_header) + _data_length(variants, trial)
        if t_size < size:
            choice, size = trial, t_size
            header_bytes, flags = t_header, t_flags
    crc = zlib.crc32(header_bytes)
    preamble = PREAMBLE.pack(MAGIC, FORMAT_VERSION, flags, len(header_bytes), crc)
    data = [options[c].made[1] for options, c in zip(variants, choice, strict=True)]
    return b"".join([preamble, header_bytes, *data])


class _Option:
    """One coding of a tensor: its data length, known at once, and its record and data,
    made the first time they are asked for (a fallback coding that cannot win never is)."""

    def __init__(self, length: int, make: Callable[[], tuple[TensorRecord, bytes]]):
        self.length = length
        self._make: Callable[[], tuple[TensorRecord, bytes]] | None = make
        self._made: tuple[TensorRecord, bytes] | None = None

    @property
    def made(self) -> tuple[TensorRecord, bytes]:
        """``(record at offset 0, data)``."""
        if self._made is None:
            assert self._make is not None
            self._made, self._make = self._make(), None
            assert self._made[0].length == self.length, "a coding's length was mispredicted"
        return self._made

    @functools.cached_property
    def record_json(self) -> dict:
        """The record's header object at offset 0 (:meth:`TensorRecord.to_json`), made once
        for every header it is tried in."""
        return self.made[0].to_json()


def _data_length(variants: list[list[_Option]], choice: list[int]) -> int:
    """Bytes of the chosen codings' data."""
    return sum(options[c].length for options, c in zip(variants, choice, strict=True))


def _assemble(
    variants: list[list[_Option]],
    choice: list[int],
    metadata: Mapping[str, str] | None,
    compress_header: bool,
) -> tuple[bytes, int]:
    """The header of the chosen codings as stored, and its flags. Each record's object is
    its coding's :attr:`_Option.record_json` with the offset it gets here (the key keeps its
    place, so the JSON is that of the record at that offset)."""
    tensors, offset = [], 0
    for options, c in zip(variants, choice, strict=True):
        doc = dict(options[c].record_json)
        doc["offset"] = offset
        tensors.append(doc)
        offset += options[c].length
    header = {
        "format": "symc",
        "producer": f"symcodec {__version__}",
        "metadata": {str(k): str(v) for k, v in (metadata or {}).items()},
        "tensors": tensors,
    }
    header_bytes = json.dumps(header, separators=(",", ":"), sort_keys=False).encode()
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise SymcodecError(f"header of {len(header_bytes)} bytes exceeds {MAX_HEADER_BYTES}")
    records = [options[c].made[0] for options, c in zip(variants, choice, strict=True)]
    _check_elements(records, stream_bytes=PREAMBLE_BYTES + len(header_bytes) + offset)
    flags = 0
    if compress_header:
        packed = zlib.compress(header_bytes, 9)
        if len(packed) < len(header_bytes):
            header_bytes, flags = packed, FLAG_DEFLATE_HEADER
    return header_bytes, flags


def _encode_tensor(
    name: str, tensor: torch.Tensor, tplan: TensorPlan, layouts: dict
) -> list[_Option]:
    """One tensor's coding (its record at offset 0 and data); two of them, the smaller by
    :func:`_code_values`'s estimate first, for an ``ans`` tensor that may fall back."""
    dtype_name = _check_tensor(name, tensor, tplan, layouts)
    spec = tplan.quantizer_for(tensor.dtype)
    coder = tplan.coder_for(spec)
    values, positions, positions_data = _sent_values(name, tensor, tplan)
    out = []
    codings = _code_values(
        name,
        values,
        spec,
        coder,
        tplan.chunk_values,
        dtype_name,
        tplan.ans_fallback,
        tplan.rdo_lambda,
    )
    for coding in codings:

        def make(coding=coding) -> tuple[TensorRecord, bytes]:
            used, spec_used, params, coded, model, chunk_table = coding
            data = positions_data + (coded.make() if isinstance(coded, _LazyData) else coded)
            record = TensorRecord(
                name=name,
                shape=tuple(int(s) for s in tensor.shape),
                dtype=dtype_name,
                symmetry=tplan.symmetry,
                mode=tplan.mode,
                coder=used,
                quantizer=spec_used,
                params=params,
                count=int(values.numel()),
                offset=0,
                length=len(data),
                crc32=zlib.crc32(data),
                positions=positions,
                model=model,
                chunk_values=tplan.chunk_values if used == "ans" else 0,
                chunks=chunk_table,
            )
            return record, data

        out.append(_Option(len(positions_data) + coding_length(coding), make))
    return out


def _check_tensor(name: str, tensor: torch.Tensor, tplan: TensorPlan, layouts: dict) -> str:
    """Refuse a tensor the plan cannot send (dtype, dimensions, a kernel the symmetry does
    not fit or that exceeds the limits); return its dtype's record name."""
    dtype_name = DTYPE_NAMES.get(tensor.dtype)
    if dtype_name is None:
        raise SymcodecError(f"{name}: unsupported dtype {tensor.dtype}")
    if tensor.dim() > MAX_DIMS:
        raise SymcodecError(f"{name}: more than {MAX_DIMS} dimensions")
    if tplan.mode != "full" and (tensor.dim() < 2 or not tensor.dtype.is_floating_point):
        raise SymcodecError(
            f"{name}: mode {tplan.mode!r} needs a float kernel tensor, "
            f"got {dtype_name} of shape {tuple(tensor.shape)}"
        )
    if tplan.symmetry is not None:
        kernel = tuple(tensor.shape[-2:])
        if tensor.dim() >= 2:
            check_symmetry_limits(tplan.symmetry, kernel, name, layouts)
        if not tplan.symmetry.supports(kernel):
            tplan.symmetry.dof(kernel)  # raises the precise error
    return dtype_name


def _sent_values(
    name: str, tensor: torch.Tensor, tplan: TensorPlan
) -> tuple[torch.Tensor, Positions | None, bytes]:
    """The values the tensor sends and, in ``pruned`` mode, its positions and their bytes."""
    if tplan.mode != "pruned":
        return transmitted_values(tensor.cpu(), tplan), None, b""
    if tplan.keep > tensor.numel():
        raise SymcodecError(f"{name}: cannot keep {tplan.keep} of {tensor.numel()} values")
    mask = pruning_mask(tensor.cpu(), tplan)
    positions, positions_data = encode_positions(mask)
    values = tensor.detach().cpu().reshape(-1)[mask.reshape(-1)]
    return values, positions, positions_data


@dataclass(frozen=True)
class _LazyData:
    """Data not made yet: its length in bytes, and the function that makes it."""

    length: int
    make: Callable[[], bytes]


_Coding = tuple[
    str,
    QuantizerSpec,
    QuantizerParams | StepParams | None,
    bytes | _LazyData,
    EntropyModel | None,
    tuple[tuple[int, int], ...],
]


def _code_values(
    name: str,
    values: torch.Tensor,
    spec: QuantizerSpec,
    coder: str,
    chunk_values: int,
    dtype_name: str,
    fallback: bool = True,
    rdo_lambda: float = 0.0,
) -> list[_Coding]:
    """Quantize and code the values: the coder used, the quantizer as the stream records it
    (a ``step`` quantizer gets the width of its level range), its parameters, the coded
    bytes, and for ``ans`` the model and chunk table.

    With ``fallback``, a tensor planned ``ans`` gets two codings, ``ans`` and ``fixed``, the
    smaller first by an estimate: the fixed codes' bytes against the ``ans`` chunks' bytes
    plus what its model and chunk table add to the header as JSON (:func:`ans_side_bytes`);
    :func:`encode` keeps the one that makes the stream as stored smaller.

    With ``rdo_lambda > 0`` (a ``step`` quantizer coded ``ans``), the levels are chosen by
    rate–distortion-optimised rounding (:func:`~.rdo.rdo_levels`) before they are coded.
    """
    try:
        q = quantize(values, spec)
    except SymcodecError as exc:
        raise SymcodecError(f"{name}: {exc}") from None
    if rdo_lambda and coder == "ans" and spec.kind == "step" and q.codes.size:
        assert spec.step is not None
        flat = values.detach().to(torch.float32).cpu().reshape(-1).numpy()
        levels = rdo_levels(flat, spec.step, rdo_lambda, start=q.codes)
        q = Quantized(levels, StepParams(int(levels.min()), int(levels.max())))
    if spec.kind == "step":
        assert isinstance(q.params, StepParams)
        spec = replace(spec, bits=q.params.width)
    if coder != "ans":
        return [_fixed_coding(q, spec, dtype_name)]
    first, n = symbol_range(spec, q.params)
    if n > MAX_ALPHABET:
        raise SymcodecError(
            f"{name}: coder 'ans' takes at most {MAX_ALPHABET} levels, step "
            f"{spec.step:g} gives {n} (use a larger step or coder 'fixed')"
        )
    symbols = (
        np.subtract(q.codes, first, dtype=np.int32)
        if first
        else q.codes.astype(np.int32, copy=False)
    )
    model, _ = fit_model(symbols, first, n)
    pieces = encode_chunks(symbols, model, first, n, chunk_values)
    chunk_table = tuple((len(p), zlib.crc32(p)) for p in pieces)
    ans: _Coding = ("ans", spec, q.params, b"".join(pieces), model, chunk_table)
    if not fallback:
        return [ans]
    ans_bytes = len(ans[3]) + ans_side_bytes(model, chunk_values, chunk_table)
    fixed = _fixed_coding(q, spec, dtype_name)
    return [fixed, ans] if coding_length(fixed) <= ans_bytes else [ans, fixed]


def _fixed_coding(q, spec: QuantizerSpec, dtype_name: str) -> _Coding:
    """The values as fixed-length codes (or passthrough / raw bytes), their data a
    :class:`_LazyData`: its length computed, the packing left until the coding is used."""

    def data() -> bytes:
        if spec.kind == "uniform":
            return pack_codes(q.codes, spec.bits)
        if spec.kind == "step":
            assert isinstance(q.params, StepParams)
            return pack_codes((q.codes - q.params.min_level).astype(np.uint32), spec.bits)
        if spec.kind == "raw":
            return q.codes.astype(RAW_NUMPY_DTYPES[dtype_name], copy=False).tobytes()
        return q.codes.astype(q.codes.dtype.newbyteorder("<"), copy=False).tobytes()

    count = int(q.codes.size)
    if spec.kind in ("uniform", "step"):
        length = packed_size(count, spec.bits)
    elif spec.kind == "raw":
        length = count * np.dtype(RAW_NUMPY_DTYPES[dtype_name]).itemsize
    else:
        length = count * q.codes.dtype.itemsize
    return "fixed", spec, q.params, _LazyData(length, data), None, ()


def coding_length(coding: _Coding) -> int:
    """Bytes of a coding's data, made or not."""
    coded = coding[3]
    return coded.length if isinstance(coded, _LazyData) else len(coded)


def ans_side_bytes(
    model: EntropyModel, chunk_values: int, chunk_table: tuple[tuple[int, int], ...]
) -> int:
    """Bytes an ``ans`` record adds to the (uncompressed) header: its ``model``,
    ``chunk_values`` and ``chunks`` fields, as :attr:`TensorRecord.model_bits` counts them.

    >>> from symcodec.codec.entropy import EntropyModel
    >>> ans_side_bytes(EntropyModel("histogram", counts=(3, 1)), 16384, ((4, 123),))
    85
    """
    fields = {
        "model": model.to_json(),
        "chunk_values": chunk_values,
        "chunks": [[length, crc] for length, crc in chunk_table],
    }
    return len(json.dumps(fields, separators=(",", ":"))) - 2  # without the braces


def _check_elements(records: list[TensorRecord], stream_bytes: int) -> None:
    """The decoder's element allowance (:func:`~.limits.element_limit`), record by record."""
    total = 0
    for record in records:
        total += record.numel
        check_element_total(total, stream_bytes, record.name)
        total += record.table_entries
        check_element_total(total, stream_bytes, record.name, "quantizer")
