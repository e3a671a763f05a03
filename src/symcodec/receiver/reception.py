"""What a transmission reports: the :class:`ReceiverOptions` a receiver runs with, and the
:class:`Reception` (a :class:`TensorReception` per tensor) that :func:`~symcodec.receiver.transmit`
returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from ..channel import ChannelStats, Link
from ..errors import SymcodecError


@dataclass(frozen=True)
class ReceiverOptions:
    """What the receiver does with what arrives.

    Attributes:
        alpha: projection strength for ``full-project`` kernels, in ``[0, 1]``
            (1: orthogonal projection onto ``V_S``; 0: none).
        strict: raise on a payload CRC mismatch instead of decoding anyway.
        equal_energy: analog channels: SNR per degree of freedom instead of per value.
        protect: ``none`` (every tensor crosses the noisy link) or ``side`` (every tensor
            that is not a conv kernel crosses a protected sub-link error-free; see
            :mod:`symcodec.receiver.protection`).
        repetition: analog: the repetition factor ``r`` a protected value (or mask bit)
            is charged in channel uses and energy.
        code_rate: digital: the code rate protected bits are charged at.
    """

    alpha: float = 1.0
    strict: bool = False
    equal_energy: bool = False
    protect: Literal["none", "side"] = "none"
    repetition: int = 4
    code_rate: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise SymcodecError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.protect not in ("none", "side"):
            raise SymcodecError(f"protect must be 'none' or 'side', got {self.protect!r}")
        if (
            isinstance(self.repetition, bool)
            or not isinstance(self.repetition, int)
            or (self.repetition < 1)
        ):
            raise SymcodecError(f"repetition must be an integer >= 1, got {self.repetition!r}")
        if not 0.0 < self.code_rate <= 1.0:
            raise SymcodecError(f"code_rate must be in (0, 1], got {self.code_rate!r}")


@dataclass(frozen=True)
class TensorReception:
    """What happened to one tensor on the link."""

    name: str
    mode: str
    values_sent: int
    payload_bits: int  # values x bits + pruning positions
    mask_bits: int
    bit_errors: int
    crc_ok: bool
    erased_values: int
    snr_db: float | None = None  # analog: the per-value SNR this tensor was sent at
    coder: str = "fixed"
    chunks: int = 0  # ans: chunks of the record
    lost_chunks: tuple[int, ...] = ()  # ans: chunks that failed their CRC (concealed)
    concealed_values: int = 0  # ans: values of the lost chunks, set to 0
    protected: bool = False  # crossed the protected sub-link (error-free)
    energy: float = 0.0  # analog: sum of squared values as sent (dof: orthonormal basis)


@dataclass
class Reception:
    """The received model and the figures of its transmission.

    Times are in seconds, latency in milliseconds, sizes in bits unless named bytes.
    """

    state_dict: dict[str, torch.Tensor]
    tensors: list[TensorReception]
    channel: str
    domain: str
    payload_bits: int  # values x bits, padding excluded
    payload_bytes: int  # bytes of payload on the wire
    header_bits: int  # preamble + header (protected side information)
    bits_sent: int  # header + payload as sent (byte padding included)
    bit_errors: int
    encode_s: float
    channel_s: float  # simulation time (not part of the latency)
    decode_s: float
    air_time_s: float
    latency_ms: float  # encode + air time + decode
    link: Link
    stats: list[ChannelStats] = field(default_factory=list, repr=False)
    channel_uses: int = 0  # see symcodec.receiver.protection
    energy: float = 0.0  # relative; see symcodec.receiver.protection
    protect: str = "none"  # none / side, or an NR protection's preset name
    # NR unequal protection: every class and segment (a ProtectionReport); None otherwise
    protection: Any = field(default=None, repr=False)

    @property
    def values_sent(self) -> int:
        return sum(t.values_sent for t in self.tensors)

    @property
    def mask_bits(self) -> int:
        """Bits of pruning positions inside the payload (protected, like the header)."""
        return sum(t.mask_bits for t in self.tensors)

    @property
    def crc_failures(self) -> list[str]:
        """Tensors whose payload CRC failed (corrupted on the link)."""
        return [t.name for t in self.tensors if not t.crc_ok]

    @property
    def erased_values(self) -> int:
        return sum(t.erased_values for t in self.tensors)

    @property
    def lost_chunks(self) -> int:
        """Entropy-coded chunks lost on the link (CRC failed), over all tensors."""
        return sum(len(t.lost_chunks) for t in self.tensors)

    @property
    def lost_chunks_by_tensor(self) -> dict[str, tuple[int, ...]]:
        """The lost chunks of every tensor that lost any."""
        return {t.name: t.lost_chunks for t in self.tensors if t.lost_chunks}

    @property
    def concealed_values(self) -> int:
        """Values of lost chunks, concealed with zeros."""
        return sum(t.concealed_values for t in self.tensors)

    @property
    def ber(self) -> float:
        """Payload bit error rate (digital channels)."""
        payload = 8 * self.payload_bytes
        return self.bit_errors / payload if payload else 0.0
