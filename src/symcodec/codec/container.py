"""The ``.symc`` container: a versioned bitstream of one model (see ``docs/format.md``).

Layout (all integers big-endian)::

    offset  size  field
    0       4     magic b"SYMC"
    4       2     format version (1)
    6       2     flags: bit 0 set = the header is DEFLATE-compressed (zlib); others 0
    8       4     header length H in bytes (as stored)
    12      4     CRC32 of the H header bytes as stored
    16      H     header: UTF-8 JSON object (one record per tensor), zlib-compressed
                  when flag bit 0 is set
    16 + H  ...   payload: each tensor's packed codes at its record's offset

The header and the 16-byte preamble are side information: their bits are counted, and the
channel does not corrupt them (SPEC section 4). Every record carries the CRC32 of its own
payload bytes.

>>> import torch
>>> from symcodec.codec import TransmissionPlan, encode, decode
>>> sd = {"conv.weight": torch.randn(4, 2, 3, 3), "conv.bias": torch.zeros(4)}
>>> plan = TransmissionPlan.default(sd, symmetry="central", bits=32)
>>> out = decode(encode(sd, plan))
>>> from symcodec.symmetry import get_symmetry
>>> torch.equal(out["conv.weight"], get_symmetry("central").project(sd["conv.weight"]))
True
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import SymcodecError
from ..symmetry import GEOMETRIC_MAPS, NAMED_SYMMETRIES, Symmetry, _generator_permutation
from ..version import __version__
from .bitpack import pack_codes, packed_size, unpack_codes
from .entropy import (
    FAMILIES,
    MAX_ALPHABET,
    MAX_CHUNK_VALUES,
    ChunkError,
    EntropyModel,
    chunk_bounds,
    decode_chunks,
    encode_chunks,
    entropy_bits,
    fit_model,
)
from .plan import CODERS, MODES, TensorPlan, TransmissionPlan
from .pruning import (
    Positions,
    decode_positions,
    encode_positions,
    magnitude_mask,
    positions_valid,
)
from .quantize import (
    MAX_STEP_LEVEL,
    QuantizerParams,
    QuantizerSpec,
    StepParams,
    dequantize,
    dequantize_levels,
    float32_step,
    quantize,
    step_width,
)

MAGIC = b"SYMC"
FORMAT_VERSION = 1
PREAMBLE = struct.Struct(">4sHHII")
PREAMBLE_BYTES = PREAMBLE.size  # 16
MAX_HEADER_BYTES = 64 * 1024 * 1024
FLAG_DEFLATE_HEADER = 0x0001  # the stored header is the zlib-compressed JSON
KNOWN_FLAGS = FLAG_DEFLATE_HEADER
# A compressed header may expand at most this much (JSON headers compress 3-6x; DEFLATE's
# own limit is about 1032x), so a small stream cannot make the decoder inflate megabytes.
MAX_HEADER_EXPANSION = 256
MIN_HEADER_ALLOWANCE = 64 * 1024
MAX_DIMS = 8

# Limits that keep the decoder's time and memory bounded by the size of the stream (see
# ``docs/security.md``). The encoder enforces them too, so it never writes a stream that the
# decoder refuses.
MAX_KERNEL_POSITIONS = 32 * 32  # kh * kw of a kernel that carries a symmetry
MAX_GENERATORS = 16  # generators of a user-defined symmetry
MAX_GROUP_ORDER = 64  # elements of the group a user-defined symmetry generates
MAX_SYMMETRY_NAME = 256  # characters of a symmetry name
# Orbit layouts a stream makes the receiver derive: the sum over its distinct
# (symmetry, kernel shape) pairs of n**2 + n * |G| * (generators + 1), n = kh * kw.
MAX_SYMMETRY_WORK = 2**22
# Elements the receiver rebuilds: at most max(MIN_ELEMENT_ALLOWANCE, MAX_ELEMENTS_PER_BYTE x
# stream bytes). A dof kernel with no live orbit or a pruned tensor keeping nothing costs no
# payload, so the shapes alone must not be trusted.
MIN_ELEMENT_ALLOWANCE = 2**24
MAX_ELEMENTS_PER_BYTE = 1024

_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
_DTYPE_NAMES = {v: k for k, v in _DTYPES.items()}
_RAW_NUMPY = {
    "int64": np.dtype("<i8"),
    "int32": np.dtype("<i4"),
    "int16": np.dtype("<i2"),
    "int8": np.dtype("i1"),
    "uint8": np.dtype("u1"),
    "bool": np.dtype("?"),
}


# ------------------------------------------------------------------------------------
# What a tensor looks like on the wire


def transmitted_values(tensor: torch.Tensor, plan: TensorPlan) -> torch.Tensor:
    """The values a tensor puts on the wire under ``plan`` (before quantization).

    In ``dof`` mode, the coefficients of the projection ``(..., DoF)``; in ``pruned`` mode
    the ``keep`` largest-magnitude values in C order (see :func:`pruning_mask`); otherwise
    the tensor itself.
    """
    if plan.mode == "pruned":
        mask = pruning_mask(tensor, plan)
        return tensor.detach().reshape(-1)[mask.reshape(-1)]
    if plan.mode == "dof":
        assert plan.symmetry is not None
        if tensor.dim() < 2:
            raise SymcodecError(
                f"mode 'dof' needs a kernel tensor, got shape {tuple(tensor.shape)}"
            )
        return plan.symmetry.gather(tensor.detach().to(torch.float32))
    return tensor.detach()


def pruning_mask(tensor: torch.Tensor, plan: TensorPlan) -> torch.Tensor:
    """The positions a ``pruned`` plan keeps: the ``keep`` largest magnitudes."""
    assert plan.keep is not None
    return magnitude_mask(tensor, plan.keep)


def rebuild_tensor(
    values: torch.Tensor,
    shape: tuple[int, ...],
    symmetry: Symmetry | None,
    mode: str,
    alpha: float = 1.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The receiver's side of :func:`transmitted_values`: scatter ``dof`` coefficients,
    project ``full-project`` kernels (partial projection of strength ``alpha``), put
    ``pruned`` values at their ``mask`` positions (zeros elsewhere), leave ``full`` values as
    they are."""
    if mode == "pruned":
        assert mask is not None
        flat = values.new_zeros(math.prod(shape))
        flat[mask.reshape(-1)] = values.reshape(-1)
        return flat.reshape(shape)
    if mode == "dof":
        assert symmetry is not None
        kernel = tuple(shape[-2:])
        return symmetry.scatter(values.reshape(*shape[:-2], symmetry.dof(kernel)), kernel)
    if mode == "full-project":
        assert symmetry is not None
        return symmetry.project(values.reshape(shape), alpha=alpha)
    return values.reshape(shape)


def sent_shape(
    shape: tuple[int, ...], plan_mode: str, symmetry: Symmetry | None, keep: int | None = None
) -> tuple:
    """Shape of the values sent for a tensor of ``shape``."""
    if plan_mode == "pruned":
        assert keep is not None
        return (keep,)
    if plan_mode == "dof":
        assert symmetry is not None
        return (*shape[:-2], symmetry.dof(tuple(shape[-2:])))
    return tuple(shape)


# ------------------------------------------------------------------------------------
# Records and accounting


@dataclass(frozen=True)
class TensorRecord:
    """One tensor's header record (see ``docs/format.md``)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    symmetry: Symmetry | None
    mode: str
    coder: str
    quantizer: QuantizerSpec
    params: QuantizerParams | StepParams | None
    count: int  # values sent
    offset: int  # bytes from the start of the payload
    length: int  # bytes
    crc32: int
    positions: Positions | None = None  # ``pruned`` mode: the kept positions (protected)
    model: EntropyModel | None = None  # ``ans``: the probability model
    chunk_values: int = 0  # ``ans``: values per chunk
    chunks: tuple[tuple[int, int], ...] = ()  # ``ans``: (bytes, CRC32) of every chunk

    @property
    def mask_bits(self) -> int:
        """Bits of the pruning positions (0 for other modes)."""
        return 0 if self.positions is None else self.positions.bits

    @property
    def value_bits(self) -> int:
        """Bits of the values: ``count x bits`` for ``fixed`` (padding excluded), the coded
        chunks' bytes x 8 for ``ans`` (what is on the wire)."""
        if self.coder == "ans":
            return 8 * (self.length - self.positions_length)
        return self.count * self.quantizer.bits

    @property
    def payload_bits(self) -> int:
        """Bits of the values plus the pruning positions (see :attr:`value_bits`)."""
        return self.value_bits + self.mask_bits

    @property
    def model_bits(self) -> int:
        """Header bits of the entropy coder's fields (model, chunk table); 0 for ``fixed``.
        They are part of :attr:`Header.header_bits`."""
        if self.coder != "ans":
            return 0
        doc = self.to_json()
        fields = {k: doc[k] for k in ("model", "chunk_values", "chunks")}
        return 8 * (len(json.dumps(fields, separators=(",", ":"))) - 2)  # without the braces

    @property
    def table_entries(self) -> int:
        """Entries of the probability table a decoder builds (``ans`` records with values);
        they count against the stream's element allowance like the elements rebuilt."""
        if self.coder != "ans" or self.count == 0:
            return 0
        return self.symbol_range[1]

    @property
    def symbol_range(self) -> tuple[int, int]:
        """``(first, n)``: the integer symbols of a quantized record are ``first .. first + n
        - 1`` (levels of a step quantizer, codes of a uniform one)."""
        return symbol_range(self.quantizer, self.params)

    @property
    def positions_length(self) -> int:
        """Bytes of pruning positions at the start of this record's data."""
        return 0 if self.positions is None else self.positions.length

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def to_json(self) -> dict:
        q: dict = {
            "kind": self.quantizer.kind,
            "bits": self.quantizer.bits,
        }
        if self.quantizer.kind == "uniform":
            q["grid"] = self.quantizer.grid
            q["per_channel"] = self.quantizer.per_channel
            assert isinstance(self.params, QuantizerParams)
            q["lo"] = [float(v) for v in self.params.lo]
            q["hi"] = [float(v) for v in self.params.hi]
        elif self.quantizer.kind == "step":
            assert isinstance(self.params, StepParams)
            q["step"] = self.quantizer.step
            q["dead_zone"] = self.quantizer.dead_zone
            q["min_level"] = self.params.min_level
            q["max_level"] = self.params.max_level
        doc = {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "symmetry": None if self.symmetry is None else self.symmetry.to_dict(),
            "mode": self.mode,
            "coder": self.coder,
            "quantizer": q,
            "count": self.count,
            "offset": self.offset,
            "length": self.length,
            "crc32": self.crc32,
        }
        if self.positions is not None:
            doc["positions"] = self.positions.to_json()
        if self.coder == "ans":
            assert self.model is not None
            doc["model"] = self.model.to_json()
            doc["chunk_values"] = self.chunk_values
            doc["chunks"] = [[length, crc] for length, crc in self.chunks]
        return doc


def symbol_range(
    spec: QuantizerSpec, params: QuantizerParams | StepParams | None
) -> tuple[int, int]:
    """``(first, n)`` of the integer symbols of a quantizer: the level range of a ``step``
    quantizer, the codes ``0 .. levels - 1`` of a ``uniform`` one."""
    if spec.kind == "step":
        assert isinstance(params, StepParams)
        return params.min_level, params.levels
    return 0, spec.levels


@dataclass(frozen=True)
class Header:
    """The parsed, validated header of a ``.symc`` stream."""

    version: int
    records: tuple[TensorRecord, ...]
    metadata: dict[str, str]
    header_bytes: int  # JSON length H
    payload_bytes: int

    @property
    def header_bits(self) -> int:
        """Side information in bits: the 16-byte preamble plus the JSON header."""
        return 8 * (PREAMBLE_BYTES + self.header_bytes)

    @property
    def payload_offset(self) -> int:
        return PREAMBLE_BYTES + self.header_bytes


@dataclass(frozen=True)
class TensorAccount:
    """Per-tensor figures for ``symcodec info`` and the study."""

    name: str
    shape: tuple[int, ...]
    symmetry: str
    mode: str
    coder: str
    bits: int
    values_total: int
    values_sent: int
    payload_bits: int  # values x bits (fixed) or coded bits (ans), + mask bits
    mask_bits: int  # pruning positions
    full_bits_same: int  # numel x bits
    full_bits_float32: int  # numel x 32
    model_bits: int = 0  # ans: header bits of the model and chunk table (in header_bits)
    entropy_bits: float | None = None  # empirical entropy of the levels x values sent

    @property
    def value_bits(self) -> int:
        """Payload bits of the values (pruning positions excluded)."""
        return self.payload_bits - self.mask_bits

    @property
    def bits_per_value(self) -> float:
        """Payload bits per value sent (positions excluded); 0 if nothing is sent."""
        return self.value_bits / self.values_sent if self.values_sent else 0.0

    @property
    def entropy_per_value(self) -> float | None:
        """The empirical entropy of the levels in bits per value: the rate of an ideal
        memoryless coder that knows their histogram (None: not quantized, or unknown)."""
        if self.entropy_bits is None:
            return None
        return self.entropy_bits / self.values_sent if self.values_sent else 0.0


@dataclass(frozen=True)
class Accounting:
    """Values, payload bits and side information of one stream, per tensor and in total."""

    tensors: tuple[TensorAccount, ...]
    header_bits: int
    stream_bits: int  # the whole stream as sent: preamble + header + payload (padding incl.)
    notes: tuple[str, ...] = field(default=())

    @property
    def values_total(self) -> int:
        return sum(t.values_total for t in self.tensors)

    @property
    def values_sent(self) -> int:
        return sum(t.values_sent for t in self.tensors)

    @property
    def payload_bits(self) -> int:
        return sum(t.payload_bits for t in self.tensors)

    @property
    def mask_bits(self) -> int:
        return sum(t.mask_bits for t in self.tensors)

    @property
    def model_bits(self) -> int:
        """Header bits of the entropy coders' models and chunk tables (in header_bits)."""
        return sum(t.model_bits for t in self.tensors)

    @property
    def bits_per_value(self) -> float:
        """Payload bits per value sent, pruning positions excluded."""
        sent = self.values_sent
        return (self.payload_bits - self.mask_bits) / sent if sent else 0.0

    @property
    def entropy_bits(self) -> float | None:
        """Sum of the tensors' entropy bounds where known (None if none is known)."""
        known = [t.entropy_bits for t in self.tensors if t.entropy_bits is not None]
        return sum(known) if known else None

    @property
    def full_bits_same(self) -> int:
        return sum(t.full_bits_same for t in self.tensors)

    @property
    def full_bits_float32(self) -> int:
        return sum(t.full_bits_float32 for t in self.tensors)

    @property
    def reduction_vs_same_bits(self) -> float:
        """Payload reduction (fraction) against every value sent at the same bits."""
        return 1.0 - self.payload_bits / self.full_bits_same if self.full_bits_same else 0.0

    @property
    def reduction_vs_float32(self) -> float:
        """Payload reduction (fraction) against every value sent as float32."""
        return 1.0 - self.payload_bits / self.full_bits_float32 if self.full_bits_float32 else 0.0


def accounting(
    header: Header, notes: tuple[str, ...] = (), payload: bytes | memoryview | None = None
) -> Accounting:
    """The :class:`Accounting` of a parsed header. With the stream's ``payload`` (the bytes
    after the header), also the entropy bound of every quantized record whose data is intact
    (:func:`record_entropy_bits`)."""
    rows = []
    for r in header.records:
        entropy = None
        if payload is not None:
            entropy = record_entropy_bits(r, payload[r.offset : r.offset + r.length])
        rows.append(
            TensorAccount(
                name=r.name,
                shape=r.shape,
                symmetry="-" if r.symmetry is None else r.symmetry.name,
                mode=r.mode,
                coder=r.coder,
                bits=r.quantizer.bits,
                values_total=r.numel,
                values_sent=r.count,
                payload_bits=r.payload_bits,
                mask_bits=r.mask_bits,
                full_bits_same=r.numel * r.quantizer.bits,
                full_bits_float32=r.numel * 32,
                model_bits=r.model_bits,
                entropy_bits=entropy,
            )
        )
    return Accounting(
        tensors=tuple(rows),
        header_bits=header.header_bits,
        stream_bits=8 * (header.payload_offset + header.payload_bytes),
        notes=notes,
    )


# ------------------------------------------------------------------------------------
# Encoding


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
    records: list[TensorRecord] = []
    chunks: list[bytes] = []
    offset = 0
    layouts: dict = {}
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise SymcodecError(f"{name}: expected a tensor, got {type(tensor).__name__}")
        tplan = plan[name]
        dtype_name = _DTYPE_NAMES.get(tensor.dtype)
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
        spec = tplan.quantizer_for(tensor.dtype)
        coder = tplan.coder_for(spec)
        positions, positions_data = None, b""
        if tplan.mode == "pruned":
            if tplan.keep > tensor.numel():
                raise SymcodecError(f"{name}: cannot keep {tplan.keep} of {tensor.numel()} values")
            mask = pruning_mask(tensor.cpu(), tplan)
            positions, positions_data = encode_positions(mask)
            values = tensor.detach().cpu().reshape(-1)[mask.reshape(-1)]
        else:
            values = transmitted_values(tensor.cpu(), tplan)
        try:
            q = quantize(values, spec)
        except SymcodecError as exc:
            raise SymcodecError(f"{name}: {exc}") from None
        model, chunk_table = None, ()
        if spec.kind == "step":
            assert isinstance(q.params, StepParams)
            spec = replace(spec, bits=q.params.width)
        if coder == "ans":
            first, n = symbol_range(spec, q.params)
            if n > MAX_ALPHABET:
                raise SymcodecError(
                    f"{name}: coder 'ans' takes at most {MAX_ALPHABET} levels, step "
                    f"{spec.step:g} gives {n} (use a larger step or coder 'fixed')"
                )
            symbols = q.codes.astype(np.int32)
            if first:
                symbols -= first
            model, _ = fit_model(symbols, first, n)
            pieces = encode_chunks(symbols, model, first, n, tplan.chunk_values)
            chunk_table = tuple((len(p), zlib.crc32(p)) for p in pieces)
            data = b"".join(pieces)
        elif spec.kind == "uniform":
            data = pack_codes(q.codes, spec.bits)
        elif spec.kind == "step":
            assert isinstance(q.params, StepParams)
            data = pack_codes((q.codes - q.params.min_level).astype(np.uint32), spec.bits)
        elif spec.kind == "raw":
            data = q.codes.astype(_RAW_NUMPY[dtype_name], copy=False).tobytes()
        else:
            data = q.codes.astype(q.codes.dtype.newbyteorder("<"), copy=False).tobytes()
        data = positions_data + data
        record = TensorRecord(
            name=name,
            shape=tuple(int(s) for s in tensor.shape),
            dtype=dtype_name,
            symmetry=tplan.symmetry,
            mode=tplan.mode,
            coder=coder,
            quantizer=spec,
            params=q.params,
            count=int(values.numel()),
            offset=offset,
            length=len(data),
            crc32=zlib.crc32(data),
            positions=positions,
            model=model,
            chunk_values=tplan.chunk_values if coder == "ans" else 0,
            chunks=chunk_table,
        )
        records.append(record)
        chunks.append(data)
        offset += len(data)
    header = {
        "format": "symc",
        "producer": f"symcodec {__version__}",
        "metadata": {str(k): str(v) for k, v in (metadata or {}).items()},
        "tensors": [r.to_json() for r in records],
    }
    header_bytes = json.dumps(header, separators=(",", ":"), sort_keys=False).encode()
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise SymcodecError(f"header of {len(header_bytes)} bytes exceeds {MAX_HEADER_BYTES}")
    stream_bytes = PREAMBLE_BYTES + len(header_bytes) + offset
    total = 0
    for record in records:
        total += record.numel
        _check_elements(total, stream_bytes, record.name)
        total += record.table_entries
        _check_elements(total, stream_bytes, record.name, "quantizer")
    flags = 0
    if compress_header:
        packed = zlib.compress(header_bytes, 9)
        if len(packed) < len(header_bytes):
            header_bytes, flags = packed, FLAG_DEFLATE_HEADER
    crc = zlib.crc32(header_bytes)
    preamble = PREAMBLE.pack(MAGIC, FORMAT_VERSION, flags, len(header_bytes), crc)
    return b"".join([preamble, header_bytes, *chunks])


def element_limit(stream_bytes: int) -> int:
    """How many tensor elements a stream of ``stream_bytes`` bytes may make a receiver build."""
    return max(MIN_ELEMENT_ALLOWANCE, MAX_ELEMENTS_PER_BYTE * stream_bytes)


def _check_elements(total: int, stream_bytes: int, name: str, field: str = "shape") -> None:
    """Elements rebuilt plus entropy-table entries built, against :func:`element_limit`."""
    limit = element_limit(stream_bytes)
    if total > limit:
        raise SymcodecError(
            f"tensor {_show(name)}: field {field!r} makes the stream hold more than {limit} "
            f"elements and table entries ({MAX_ELEMENTS_PER_BYTE} per byte of a "
            f"{stream_bytes}-byte stream)"
        )


def check_symmetry_limits(
    symmetry: Symmetry, kernel: tuple[int, ...], where: str, seen: dict | None = None
) -> None:
    """Refuse a symmetric kernel whose orbit layout would be too costly to derive.

    Checks ``kh * kw`` against :data:`MAX_KERNEL_POSITIONS`, the order of the group of a
    symmetry with explicit permutations against :data:`MAX_GROUP_ORDER` (found by a closure
    that stops at the bound), and, through ``seen`` (distinct ``(symmetry, kernel)`` pairs of
    one stream and their cost), the total against :data:`MAX_SYMMETRY_WORK`. Runs before any
    layout is derived.
    """
    if len(kernel) != 2:
        return  # symmetry.dof raises the precise error
    kh, kw = kernel
    n = kh * kw
    if n > MAX_KERNEL_POSITIONS:
        raise SymcodecError(
            f"{where}: a symmetric kernel has at most {MAX_KERNEL_POSITIONS} positions, "
            f"got {kh}x{kw}"
        )
    if n < 1:
        return  # symmetry.dof raises the precise error
    if len(symmetry.generators) > MAX_GENERATORS:
        raise SymcodecError(
            f"{where}: symmetry {_show(symmetry.name)} has more than {MAX_GENERATORS} generators"
        )
    key = (symmetry, kh, kw)
    if seen is not None and key in seen:
        return
    order = 8  # geometric maps generate a subgroup of D4
    if any(not isinstance(g, str) for g in symmetry.generators):
        perms = []
        for g in symmetry.generators:
            try:
                perms.append(np.asarray(_generator_permutation(symmetry, g, kh, kw), np.int64))
            except SymcodecError:
                return  # not a permutation of this kernel: symmetry.dof raises the error
        found = _group_order(perms, MAX_GROUP_ORDER)
        if found is None:
            raise SymcodecError(
                f"{where}: symmetry {_show(symmetry.name)} generates a group of more than "
                f"{MAX_GROUP_ORDER} elements"
            )
        order = found
    if seen is None:
        return
    seen[key] = n * n + n * order * (len(symmetry.generators) + 1)
    if sum(seen.values()) > MAX_SYMMETRY_WORK:
        raise SymcodecError(
            f"{where}: the stream's symmetries need too many orbit layouts "
            f"(more than {MAX_SYMMETRY_WORK} units of n^2 + n |G| (generators + 1))"
        )


def _group_order(perms: list[np.ndarray], limit: int) -> int | None:
    """Order of the group the permutations generate, or None if it exceeds ``limit``."""
    if not perms:
        return 1
    identity = np.arange(perms[0].shape[0], dtype=np.int64)
    seen = {identity.tobytes()}
    frontier = [identity]
    while frontier:
        nxt = []
        for h in frontier:
            for g in perms:
                element = g[h]
                key = element.tobytes()
                if key not in seen:
                    seen.add(key)
                    if len(seen) > limit:
                        return None
                    nxt.append(element)
        frontier = nxt
    return len(seen)


# ------------------------------------------------------------------------------------
# Decoding


def read_header(blob: bytes) -> Header:
    """Parse and validate the preamble and header of a ``.symc`` stream.

    Every field is checked before it is used; offsets and lengths must lie inside the
    stream. Raises :class:`SymcodecError` naming the first problem found.
    """
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise SymcodecError("a .symc stream must be bytes")
    blob = bytes(blob)
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
    try:
        doc = json.loads(
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
    payload_bytes = len(blob) - PREAMBLE_BYTES - header_len
    return _parse_header(doc, header_len, payload_bytes)


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
                raise SymcodecError(f"header has a duplicate key {_show(key)}")
            seen.add(key)
    return doc


def _json_constant(token: str):
    raise SymcodecError(f"header contains {token}, which is not a JSON number")


def _parse_header(doc, header_len: int, payload_bytes: int) -> Header:
    _expect(isinstance(doc, dict), "header must be a JSON object")
    _known_keys(doc, {"format", "producer", "metadata", "tensors"}, "header")
    _expect(doc.get("format") == "symc", "header field 'format' must be 'symc'")
    metadata = doc.get("metadata", {})
    _expect(
        isinstance(metadata, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()),
        "header field 'metadata' must map strings to strings",
    )
    tensors = doc.get("tensors")
    _expect(isinstance(tensors, list), "header field 'tensors' must be a list")
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
        _check_elements(total_elements, stream_bytes, record.name)
        total_elements += record.table_entries
        _check_elements(total_elements, stream_bytes, record.name, "quantizer")
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
    where = f"tensor record {index}"
    _expect(isinstance(raw, dict), f"{where} must be an object")
    name = raw.get("name")
    _expect(isinstance(name, str) and 0 < len(name) <= 1024, f"{where}: field 'name' is invalid")
    where = f"tensor {name!r}"
    _known_keys(raw, _RECORD_KEYS | {"positions"} | _ANS_KEYS, where)
    missing = _RECORD_KEYS - set(raw)
    if raw.get("mode") == "pruned" and "positions" not in raw:
        missing = missing | {"positions"}
    if raw.get("coder") == "ans":
        missing = missing | (_ANS_KEYS - set(raw))
    _expect(not missing, f"{where}: missing field {sorted(missing)[0]!r}" if missing else "")
    shape = raw["shape"]
    _expect(
        isinstance(shape, list)
        and len(shape) <= MAX_DIMS
        and all(_is_int(s) and 0 <= s < 2**40 for s in shape),
        f"{where}: field 'shape' is invalid",
    )
    shape = tuple(shape)
    dtype = raw["dtype"]
    _expect(
        isinstance(dtype, str) and dtype in _DTYPES,
        f"{where}: field 'dtype' {_show(dtype)} is not supported",
    )
    mode = raw["mode"]
    _expect(
        isinstance(mode, str) and mode in MODES, f"{where}: field 'mode' {_show(mode)} is unknown"
    )
    coder = raw["coder"]
    _expect(
        isinstance(coder, str) and coder in CODERS,
        f"{where}: field 'coder' {_show(coder)} is unknown",
    )
    if coder != "ans":
        extra = sorted(_ANS_KEYS & set(raw))
        _expect(not extra, f"{where}: field {extra[0]!r} needs coder 'ans'" if extra else "")
    _expect(
        mode == "full" or (len(shape) >= 2 and _DTYPES[dtype].is_floating_point),
        f"{where}: mode {mode!r} needs a float kernel tensor, got {dtype} of shape {shape}",
    )
    symmetry = None
    if raw["symmetry"] is not None:
        symmetry = _parse_symmetry(raw["symmetry"], where)
    _expect(
        mode in ("full", "pruned") or symmetry is not None,
        f"{where}: mode {mode!r} needs a symmetry",
    )
    if symmetry is not None:
        _expect(len(shape) >= 2, f"{where}: a symmetric tensor needs at least 2 dimensions")
        kernel = tuple(shape[-2:])
        check_symmetry_limits(symmetry, kernel, f"{where}: field 'symmetry'", layouts)
        try:
            symmetry.dof(kernel)
        except SymcodecError as exc:
            raise SymcodecError(f"{where}: field 'symmetry': {exc}") from None
    spec, ranges = _parse_quantizer(raw["quantizer"], where, dtype)
    _expect(
        coder != "ans" or spec.is_quantized,
        f"{where}: field 'coder' 'ans' needs a uniform or step quantizer, not {spec.kind!r}",
    )
    count = raw["count"]
    positions = None
    if mode == "pruned":
        numel = math.prod(shape)
        _expect(_is_int(count) and 0 <= count <= numel, f"{where}: field 'count' is invalid")
        positions = _parse_positions(raw["positions"], where, numel, count)
        _expect(not spec.per_channel, f"{where}: pruned values have one quantizer range")
    else:
        _expect("positions" not in raw, f"{where}: field 'positions' needs mode 'pruned'")
    sent = sent_shape(shape, mode, symmetry, count if mode == "pruned" else None)
    expected = math.prod(sent)
    _expect(_is_int(count) and count == expected, f"{where}: field 'count' must be {expected}")
    params: QuantizerParams | StepParams | None = None
    if isinstance(ranges, StepParams):
        params = ranges
    elif ranges is not None:
        channels = len(ranges[0])
        want = sent[0] if spec.per_channel and len(sent) >= 1 and expected > 0 else 1
        _expect(channels == want, f"{where}: quantizer needs {want} ranges, got {channels}")
        params = _parse_ranges(*ranges, where)
    for key in ("offset", "length", "crc32"):
        _expect(_is_int(raw[key]) and raw[key] >= 0, f"{where}: field {key!r} is invalid")
    _expect(raw["crc32"] < 2**32, f"{where}: field 'crc32' is invalid")
    length = raw["length"]
    model, chunk_values, chunks = None, 0, ()
    if coder == "ans":
        first, n = symbol_range(spec, params)
        _expect(
            n <= MAX_ALPHABET,
            f"{where}: quantizer level range of {n} levels exceeds {MAX_ALPHABET} for coder 'ans'",
        )
        model = _parse_model(raw["model"], where, first, n, count)
        chunk_values, chunks = _parse_chunks(raw["chunk_values"], raw["chunks"], where, count, n)
        want_length = sum(c[0] for c in chunks)
    else:
        want_length = packed_size(count, spec.bits)
    want_length += positions.length if positions else 0
    _expect(length == want_length, f"{where}: field 'length' must be {want_length} bytes")
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
        length=length,
        crc32=raw["crc32"],
        positions=positions,
        model=model,
        chunk_values=chunk_values,
        chunks=chunks,
    )


_ANS_KEYS = {"model", "chunk_values", "chunks"}
_MODEL_KEYS = {
    "laplace": {"family", "center", "decay"},
    "gaussian": {"family", "center", "decay"},
    "histogram": {"family", "counts"},
}


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_model(raw, where: str, first: int, n: int, count: int) -> EntropyModel:
    """An ``ans`` record's probability model; a histogram must have one count per symbol of
    the quantizer's range, summing to the values sent; a parametric model's centre is a
    multiple of 1/2 within half a symbol of the range, its decay in ``(0, 1)``."""
    where = f"{where}: field 'model'"
    _expect(isinstance(raw, dict), f"{where} must be an object")
    family = raw.get("family")
    _expect(
        isinstance(family, str) and family in FAMILIES,
        f"{where}: 'family' {_show(family)} is unknown (known: {', '.join(FAMILIES)})",
    )
    _known_keys(raw, _MODEL_KEYS[family], where)
    missing = sorted(_MODEL_KEYS[family] - set(raw))
    _expect(not missing, f"{where}: missing {missing[0]!r}" if missing else "")
    if family == "histogram":
        counts = raw["counts"]
        _expect(
            isinstance(counts, list) and len(counts) == n,
            f"{where}: 'counts' must list {n} counts (one per level of the quantizer's range)",
        )
        _expect(
            all(_is_int(c) and 0 <= c <= count for c in counts) and sum(counts) == count,
            f"{where}: 'counts' must be non-negative integers summing to 'count' ({count})",
        )
        return EntropyModel(family, counts=tuple(counts))
    center, decay = raw["center"], raw["decay"]
    ok = _is_number(center) and first - 1 <= center <= first + n
    _expect(
        ok and float(2 * center).is_integer(),
        f"{where}: 'center' must be a multiple of 1/2 in [{first - 1}, {first + n}]",
    )
    _expect(
        _is_number(decay) and 0 < decay < 1,
        f"{where}: 'decay' must be a number in (0, 1)",
    )
    return EntropyModel(family, center=float(center), decay=float(decay))


def _parse_chunks(
    chunk_values, raw, where: str, count: int, n: int
) -> tuple[int, tuple[tuple[int, int], ...]]:
    """``chunk_values`` and the chunk table ``[[bytes, crc32], ...]`` of an ``ans`` record:
    one entry per ``chunk_values`` values sent; lengths in whole 32-bit words (0 when the
    range has a single level: nothing is sent)."""
    _expect(
        _is_int(chunk_values) and 1 <= chunk_values <= MAX_CHUNK_VALUES,
        f"{where}: field 'chunk_values' must be an integer in 1..{MAX_CHUNK_VALUES}",
    )
    expected = -(-count // chunk_values)
    _expect(
        isinstance(raw, list) and len(raw) == expected,
        f"{where}: field 'chunks' must list {expected} chunks "
        f"({count} values, {chunk_values} per chunk)",
    )
    chunks = []
    for entry in raw:
        _expect(
            isinstance(entry, list)
            and len(entry) == 2
            and all(_is_int(v) for v in entry)
            and 0 <= entry[0] < 2**40
            and 0 <= entry[1] < 2**32,
            f"{where}: field 'chunks' entries must be [bytes, crc32] pairs of integers",
        )
        _expect(
            entry[0] % 4 == 0 and (n > 1 or entry[0] == 0),
            f"{where}: field 'chunks' has a length that is not whole 32-bit words"
            if n > 1
            else f"{where}: field 'chunks' must have empty chunks for a one-level range",
        )
        chunks.append((entry[0], entry[1]))
    return chunk_values, tuple(chunks)


def _parse_symmetry(raw, where: str) -> Symmetry:
    """A record's ``symmetry`` object, every field checked before a :class:`Symmetry` is built."""
    where = f"{where}: field 'symmetry'"
    _expect(isinstance(raw, dict), f"{where} must be an object or null")
    _known_keys(raw, {"name", "generators", "signs"}, where)
    name = raw.get("name")
    _expect(
        isinstance(name, str) and 0 < len(name) <= MAX_SYMMETRY_NAME,
        f"{where}: 'name' must be a string of 1..{MAX_SYMMETRY_NAME} characters",
    )
    if "generators" not in raw and "signs" not in raw:
        _expect(
            name in NAMED_SYMMETRIES,
            f"{where}: unknown symmetry {_show(name)} (a user-defined symmetry needs "
            "'generators' and 'signs')",
        )
        return NAMED_SYMMETRIES[name]
    generators, signs = raw.get("generators"), raw.get("signs")
    _expect(
        isinstance(generators, list)
        and isinstance(signs, list)
        and len(generators) == len(signs) <= MAX_GENERATORS,
        f"{where}: 'generators' and 'signs' must be lists of equal length "
        f"(at most {MAX_GENERATORS})",
    )
    for g in generators:
        if isinstance(g, str):
            _expect(g in GEOMETRIC_MAPS, f"{where}: unknown generator {_show(g)}")
        else:
            _expect(
                isinstance(g, list)
                and len(g) <= MAX_KERNEL_POSITIONS
                and all(_is_int(p) for p in g),
                f"{where}: a generator must be a map name or a list of at most "
                f"{MAX_KERNEL_POSITIONS} positions",
            )
    _expect(all(_is_int(s) and s in (1, -1) for s in signs), f"{where}: 'signs' must be +1 or -1")
    try:
        return Symmetry.from_dict(raw)
    except SymcodecError as exc:
        raise SymcodecError(f"{where}: {exc}") from None


def _parse_positions(raw, where: str, numel: int, count: int) -> Positions:
    _expect(isinstance(raw, dict), f"{where}: field 'positions' must be an object")
    _known_keys(raw, {"encoding", "bits", "length"}, f"{where}: positions")
    ok = all(_is_int(raw.get(k)) for k in ("bits", "length")) and isinstance(
        raw.get("encoding"), str
    )
    _expect(ok, f"{where}: field 'positions' is invalid")
    info = Positions(raw["encoding"], raw["bits"], raw["length"])
    _expect(positions_valid(info, numel, count), f"{where}: field 'positions' is inconsistent")
    return info


_STEP_KEYS = {"kind", "bits", "step", "dead_zone", "min_level", "max_level"}
_F32_MAX = float(np.finfo(np.float32).max)


def _parse_quantizer(
    raw, where: str, dtype: str
) -> tuple[QuantizerSpec, tuple | StepParams | None]:
    """The quantizer spec and, for ``uniform``, its raw ``(lo, hi)`` lists (type-checked;
    see :func:`_parse_ranges`), for ``step`` its level range."""
    _expect(isinstance(raw, dict), f"{where}: field 'quantizer' must be an object")
    kind = raw.get("kind")
    _expect(isinstance(kind, str), f"{where}: quantizer field 'kind' is invalid")
    allowed = {"kind", "bits"} | (
        {"grid", "per_channel", "lo", "hi"} if kind == "uniform" else set()
    )
    if kind == "step":
        allowed = _STEP_KEYS
    _known_keys(raw, allowed, f"{where}: quantizer")
    bits = raw.get("bits")
    _expect(_is_int(bits), f"{where}: quantizer field 'bits' is invalid")
    is_float = _DTYPES[dtype].is_floating_point
    _expect(
        (kind == "raw") != is_float,
        f"{where}: quantizer kind {_show(kind)} does not fit dtype {dtype}",
    )
    if kind == "step":
        return _parse_step(raw, where, bits)
    if kind == "uniform":
        _expect(isinstance(raw.get("grid"), str), f"{where}: quantizer field 'grid' is invalid")
    try:
        if kind != "uniform":
            spec = QuantizerSpec(kind=kind, bits=bits)
            if kind == "raw":
                _expect(
                    bits == _RAW_NUMPY[dtype].itemsize * 8,
                    f"{where}: quantizer field 'bits' does not fit dtype {dtype}",
                )
            return spec, None
        spec = QuantizerSpec(
            kind=kind,
            bits=bits,
            grid=raw.get("grid"),
            per_channel=raw.get("per_channel"),
        )
    except SymcodecError as exc:
        raise SymcodecError(f"{where}: quantizer: {exc}") from None
    _expect(isinstance(raw.get("per_channel"), bool), f"{where}: quantizer 'per_channel' invalid")
    lo, hi = raw.get("lo"), raw.get("hi")
    ok = isinstance(lo, list) and isinstance(hi, list) and len(lo) == len(hi) and len(lo) >= 1
    _expect(ok, f"{where}: quantizer ranges 'lo'/'hi' are invalid")
    return spec, (lo, hi)


def _parse_step(raw: dict, where: str, bits: int) -> tuple[QuantizerSpec, StepParams]:
    """A ``step`` quantizer: a float32 step > 0, a dead zone in [0, 0.5), a level range
    within +-2**24 whose dequantized ends are finite in float32, and ``bits`` the width of
    its fixed-length code."""
    missing = sorted(_STEP_KEYS - set(raw))
    _expect(not missing, f"{where}: quantizer field {missing[0]!r} is missing" if missing else "")
    step, dead_zone = raw["step"], raw["dead_zone"]
    ok = _is_number(step) and 0 < step <= _F32_MAX  # compared before float(): ints can be huge
    if ok:
        try:
            ok = float32_step(step) == float(step)
        except SymcodecError:
            ok = False
    _expect(ok, f"{where}: quantizer field 'step' must be a finite float32 number > 0")
    _expect(
        _is_number(dead_zone) and 0 <= dead_zone < 0.5,
        f"{where}: quantizer field 'dead_zone' must be a number in [0, 0.5)",
    )
    lo, hi = raw["min_level"], raw["max_level"]
    for key, value in (("min_level", lo), ("max_level", hi)):
        _expect(
            _is_int(value) and -MAX_STEP_LEVEL <= value <= MAX_STEP_LEVEL,
            f"{where}: quantizer field {key!r} must be an integer in "
            f"-{MAX_STEP_LEVEL}..{MAX_STEP_LEVEL}",
        )
    _expect(lo <= hi, f"{where}: quantizer field 'min_level' exceeds 'max_level'")
    _expect(
        max(abs(lo), abs(hi)) * float(step) <= _F32_MAX,
        f"{where}: quantizer field 'step' times the level range exceeds float32",
    )
    width = step_width(lo, hi)
    _expect(bits == width, f"{where}: quantizer field 'bits' must be {width} for this range")
    spec = QuantizerSpec(kind="step", bits=bits, step=float(step), dead_zone=float(dead_zone))
    return spec, StepParams(lo, hi)


def _parse_ranges(lo: list, hi: list, where: str) -> QuantizerParams:
    """Uniform quantizer ranges: numbers (not bools), finite, ``lo <= hi``, within float32."""
    _expect(
        all(isinstance(v, int | float) and not isinstance(v, bool) for v in lo)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in hi),
        f"{where}: quantizer ranges 'lo'/'hi' are invalid",
    )
    try:
        lo_a = np.asarray([float(v) for v in lo], dtype=np.float64)
        hi_a = np.asarray([float(v) for v in hi], dtype=np.float64)
    except OverflowError:  # an integer beyond the float range
        raise SymcodecError(f"{where}: quantizer ranges exceed float32") from None
    _expect(
        bool(np.isfinite(lo_a).all() and np.isfinite(hi_a).all() and (lo_a <= hi_a).all()),
        f"{where}: quantizer ranges must be finite with lo <= hi",
    )
    _expect(
        bool((np.abs(np.concatenate([lo_a, hi_a])) <= np.finfo(np.float32).max).all()),
        f"{where}: quantizer ranges exceed float32",
    )
    return QuantizerParams(lo=lo_a.astype(np.float32), hi=hi_a.astype(np.float32))


def _show(value, limit: int = 64) -> str:
    """A short, safe rendering of an untrusted header value for an error message."""
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "<big int>"
        return text if len(text) <= limit else text[: limit - 3] + "..."
    return f"<{type(value).__name__}>"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise SymcodecError(message)


def _known_keys(doc: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise SymcodecError(f"{where}: unknown field {_show(unknown[0])}")


@dataclass(frozen=True)
class DecodedTensor:
    """One tensor as received: the values sent (dequantized), the pruning mask if any, and
    for ``ans`` records the chunks lost to corruption (their values concealed with 0)."""

    record: TensorRecord
    values: torch.Tensor
    crc_ok: bool
    mask: torch.Tensor | None = None
    lost_chunks: tuple[int, ...] = ()
    concealed_values: int = 0


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
    >>> from symcodec.codec import TransmissionPlan, encode, read_header
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
    if spec.kind == "uniform" and record.coder == "fixed":  # the fast path: no int32 copy
        body = np.frombuffer(data[record.positions_length :], dtype=np.uint8)
        codes = unpack_codes(body, spec.bits, record.count)
        return dequantize(codes, record.params, spec, shape), ()
    lost: set[int] = set()
    symbols = record_symbols(record, data, strict=strict, lost=lost)
    if spec.kind == "step":
        values = dequantize_levels(symbols, spec).reshape(shape)
    else:
        values = dequantize(symbols, record.params, spec, shape)
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
        arr = np.frombuffer(data, dtype=_RAW_NUMPY[record.dtype])
        return torch.from_numpy(arr.copy()).reshape(shape)
    np_dtype = np.dtype("<f4") if spec.kind == "float32" else np.dtype("<f2")
    arr = np.frombuffer(data, dtype=np_dtype).astype(np_dtype.newbyteorder("="))
    return torch.from_numpy(arr).to(torch.float32).reshape(shape)


def decode_stream(blob: bytes, strict: bool = True) -> tuple[Header, list[DecodedTensor]]:
    """Parse a stream and dequantize every record.

    With ``strict`` a payload CRC mismatch (of a record, or of an ``ans`` chunk) raises
    :class:`SymcodecError` naming the tensor; otherwise the tensor is decoded anyway and
    marked ``crc_ok=False`` (a noisy link): ``fixed`` codes are clamped to the quantizer's
    range, and the ``ans`` chunks that fail their CRC are concealed with zeros and listed
    in ``lost_chunks``.
    """
    header = read_header(blob)
    if not isinstance(blob, bytes):  # a memoryview of wider items would slice by item
        blob = bytes(blob)
    payload = memoryview(blob)[header.payload_offset :]
    decoded = []
    for record in header.records:
        data = payload[record.offset : record.offset + record.length]
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
    return header, decoded


def decode(blob: bytes, strict: bool = True) -> dict[str, torch.Tensor]:
    """Decode a ``.symc`` stream into a state dict of full tensors.

    ``dof`` kernels are rebuilt from their coefficients, ``full-project`` kernels are
    projected onto their symmetric subspace, and every tensor gets its original dtype.
    """
    _, decoded = decode_stream(blob, strict=strict)
    return rebuild_state_dict(decoded)


def rebuild_state_dict(decoded: Sequence[DecodedTensor]) -> dict[str, torch.Tensor]:
    """The state dict of tensors as :func:`decode_stream` returned them (what
    :func:`decode` does after parsing): each rebuilt to its shape and original dtype."""
    out = {}
    for item in decoded:
        r = item.record
        tensor = rebuild_tensor(item.values, r.shape, r.symmetry, r.mode, mask=item.mask)
        out[r.name] = tensor.to(_DTYPES[r.dtype])
    return out


def inspect(blob: bytes, entropy: bool = False) -> Accounting:
    """The :class:`Accounting` of a stream: sizes from its header alone, and with
    ``entropy`` the entropy bound of every quantized record, which decodes the payload
    (see :func:`record_entropy_bits`)."""
    header = read_header(blob)
    if not entropy:
        return accounting(header)
    payload = memoryview(bytes(blob))[header.payload_offset :]
    return accounting(header, payload=payload)
