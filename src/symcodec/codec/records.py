"""The records of a ``.symc`` stream: the preamble's constants, one :class:`TensorRecord`
per tensor, the parsed :class:`Header`, and the :class:`DecodedTensor` a decoder returns.

Layout of a stream (all integers big-endian; see ``docs/format.md``)::

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
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np
import torch

from ..symmetry import Symmetry
from .entropy import EntropyModel
from .plan import tensor_dof
from .pruning import Positions
from .quantize import QuantizerParams, QuantizerSpec, StepParams

MAGIC = b"SYMC"
FORMAT_VERSION = 1
PREAMBLE = struct.Struct(">4sHHII")
PREAMBLE_BYTES = PREAMBLE.size  # 16
FLAG_DEFLATE_HEADER = 0x0001  # the stored header is the zlib-compressed JSON
KNOWN_FLAGS = FLAG_DEFLATE_HEADER

#: The dtypes a stream carries, by the name its records use.
DTYPES: dict[str, torch.dtype] = {
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
#: The record name of every dtype of :data:`DTYPES`.
DTYPE_NAMES: dict[torch.dtype, str] = {v: k for k, v in DTYPES.items()}
#: How a ``raw`` record of a non-float dtype stores its values (little-endian).
RAW_NUMPY_DTYPES: dict[str, np.dtype] = {
    "int64": np.dtype("<i8"),
    "int32": np.dtype("<i4"),
    "int16": np.dtype("<i2"),
    "int8": np.dtype("i1"),
    "uint8": np.dtype("u1"),
    "bool": np.dtype("?"),
}


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
        """Elements of the tensor (``prod(shape)``)."""
        return math.prod(self.shape)

    @property
    def torch_dtype(self) -> torch.dtype:
        """The tensor's original dtype (what a decoder rebuilds it to)."""
        return DTYPES[self.dtype]

    @property
    def degrees_of_freedom(self) -> int:
        """Degrees of freedom the tensor carries: the values it keeps in ``pruned`` mode (the
        rest are zeros its positions fix), else ``prod(shape[:-2]) * DoF(kernel)`` under its
        symmetry (:meth:`~symcodec.symmetry.Symmetry.dof`), else every element."""
        if self.mode == "pruned":
            return self.count
        return tensor_dof(self.shape, self.symmetry)

    def to_json(self) -> dict:
        """The record as the header's JSON object stores it."""
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
class DecodedTensor:
    """One tensor as received: the values sent (dequantized), the pruning mask if any, and
    for ``ans`` records the chunks lost to corruption (their values concealed with 0)."""

    record: TensorRecord
    values: torch.Tensor
    crc_ok: bool
    mask: torch.Tensor | None = None
    lost_chunks: tuple[int, ...] = ()
    concealed_values: int = 0
