"""What a stream costs: per-tensor and total figures from its header
(:class:`Accounting`, :func:`inspect`), and with the payload the entropy bound of every
quantized record.

>>> import torch
>>> from symcodec.codec import TransmissionPlan, encode
>>> sd = {"conv.weight": torch.randn(16, 8, 3, 3), "conv.bias": torch.randn(16)}
>>> acc = inspect(encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=4)))
>>> acc.values_sent, acc.values_total, acc.payload_bits   # 16*8*4 coefficients + 16 biases
(528, 1168, 2112)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .header import read_header
from .reader import record_entropy_bits, record_payloads
from .records import Header


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
    (:func:`~.reader.record_entropy_bits`)."""
    entropy: dict[str, float | None] = {}
    if payload is not None:
        for r, data in record_payloads(header, payload):
            entropy[r.name] = record_entropy_bits(r, data)
    rows = []
    for r in header.records:
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
                entropy_bits=entropy.get(r.name),
            )
        )
    return Accounting(
        tensors=tuple(rows),
        header_bits=header.header_bits,
        stream_bits=8 * (header.payload_offset + header.payload_bytes),
        notes=notes,
    )


def inspect(blob: bytes, entropy: bool = False) -> Accounting:
    """The :class:`Accounting` of a stream: sizes from its header alone, and with
    ``entropy`` the entropy bound of every quantized record, which decodes the payload
    (see :func:`~.reader.record_entropy_bits`)."""
    header = read_header(blob)
    if not entropy:
        return accounting(header)
    payload = memoryview(bytes(blob))[header.payload_offset :]
    return accounting(header, payload=payload)
