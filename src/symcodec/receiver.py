"""The link end to end: encode, channel, receiver repair, accounting (SPEC sections 3, 5, 7).

:func:`transmit` sends a model (an ``nn.Module`` or a state dict) under a
:class:`~symcodec.codec.TransmissionPlan` through a :class:`~symcodec.channel.Channel` and
returns a :class:`Reception`: the received state dict with honest accounting of payload,
bits sent, bit errors, CRC failures, erasures and end-to-end latency.

* Digital channels corrupt the payload bytes; the header is protected (SPEC section 4). A
  payload CRC mismatch is expected and is reported per tensor instead of aborting. Codes
  outside the quantizer's range are clamped, so every value stays inside ``[lo, hi]``.
  Entropy-coded (``ans``) records are checked chunk by chunk: a chunk that fails its CRC is
  lost, its values are concealed with zeros (inside ``V_S`` for ``dof`` and
  ``full-project`` kernels), and the loss is reported (:attr:`Reception.lost_chunks`,
  :attr:`Reception.concealed_values`); the other chunks arrive exact.
* Analog channels (``awgn``) add noise to the values sent (after quantization to the plan's
  bits); the receiver clamps them to the quantizer's range. With ``equal_energy`` the SNR is
  per degree of freedom: a tensor that sends ``n`` values for ``d`` DoF gets
  ``snr_db - 10 log10(n / d)`` per value (SPEC section 5).
* The receiver rebuilds ``dof`` kernels from their coefficients (dead orbits are zero),
  projects ``full-project`` kernels onto ``V_S`` (partial strength ``alpha``), and leaves
  ``full`` tensors as they arrived.

>>> import torch
>>> from symcodec.codec import TransmissionPlan
>>> from symcodec.channel import make_channel
>>> sd = {"conv.weight": torch.randn(8, 4, 3, 3), "conv.bias": torch.zeros(8)}
>>> plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
>>> rx = transmit(sd, plan, make_channel("bpsk-awgn", ebn0_db=6.0), seed=0)
>>> rx.bits_sent == rx.header_bits + 8 * (rx.payload_bytes)
True
>>> sorted(rx.state_dict) == sorted(sd)
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .channel import AWGNChannel, Channel, ChannelStats, IdealChannel, Link
from .codec import (
    TransmissionPlan,
    decode_mask,
    decode_record,
    encode,
    pruning_mask,
    read_header,
    rebuild_tensor,
)
from .codec.container import _DTYPES, Header, TensorRecord, decode_values, lost_chunk_values
from .codec.quantize import QuantizerParams, StepParams
from .errors import SymcodecError

__all__ = ["ReceiverOptions", "Reception", "TensorReception", "transmit", "transmitter_view"]

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


@dataclass(frozen=True)
class ReceiverOptions:
    """What the receiver does with what arrives.

    Attributes:
        alpha: projection strength for ``full-project`` kernels, in ``[0, 1]``
            (1: orthogonal projection onto ``V_S``; 0: none).
        strict: raise on a payload CRC mismatch instead of decoding anyway.
        equal_energy: analog channels: SNR per degree of freedom instead of per value.
    """

    alpha: float = 1.0
    strict: bool = False
    equal_energy: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise SymcodecError(f"alpha must be in [0, 1], got {self.alpha}")


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


def _state_dict(model: nn.Module | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if isinstance(model, nn.Module):
        return {k: v.detach() for k, v in model.state_dict().items()}
    if isinstance(model, Mapping):
        return dict(model)
    raise SymcodecError(f"expected an nn.Module or a state dict, got {type(model).__name__}")


def transmitter_view(
    model: nn.Module | Mapping[str, torch.Tensor], plan: TransmissionPlan
) -> dict[str, torch.Tensor]:
    """The transmitter's model in float: every kernel the plan constrains projected onto
    its symmetric subspace (pruned kernels: their kept values), everything else unchanged
    (the "Acc Tx" model of SPEC section 7)."""
    out = {}
    for name, tensor in _state_dict(model).items():
        tplan = plan[name]
        if tplan.mode == "pruned":
            out[name] = tensor * pruning_mask(tensor, tplan)
        elif tplan.symmetry is not None and tplan.mode != "full":
            out[name] = tplan.symmetry.project(tensor.to(torch.float32)).to(tensor.dtype)
        else:
            out[name] = tensor
    return out


def transmit(
    model: nn.Module | Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    channel: Channel,
    seed: int | None = 0,
    link: Link | None = None,
    options: ReceiverOptions | None = None,
) -> Reception:
    """Send ``model`` under ``plan`` over ``channel``; return the :class:`Reception`.

    Args:
        model: an ``nn.Module`` or a state dict.
        plan: what each tensor gets on the wire.
        channel: a channel from :func:`symcodec.channel.make_channel`.
        seed: seed of the channel noise for this transmission (None: the channel's own
            generator).
        link: bit rate for the air time (default: the channel's modulation at 1 MHz).
        options: receiver options (projection strength, strictness, equal energy).

    The same inputs and seed give the same received state dict.
    """
    options = options or ReceiverOptions()
    link = link or Link.for_channel(channel)
    state_dict = _state_dict(model)

    start = time.perf_counter()
    blob = encode(state_dict, plan)
    encode_s = time.perf_counter() - start

    header = read_header(blob)
    payload = np.frombuffer(blob, dtype=np.uint8)[header.payload_offset :]
    rng = None if seed is None else torch.Generator().manual_seed(int(seed))
    if rng is None:
        rng = channel._rng  # the channel's own stream

    digital = channel.domain in ("digital", "both")
    if digital:
        start = time.perf_counter()
        received, stats = channel.transmit_bits(payload, rng=rng)
        received = _restore_protected(header, payload, received)
        channel_s = time.perf_counter() - start
        start = time.perf_counter()
        state, tensors = _receive_digital(header, payload, received, stats, options)
        decode_s = time.perf_counter() - start
        all_stats = [stats]
        bit_errors = sum(t.bit_errors for t in tensors)
    else:
        start = time.perf_counter()
        noisy, tensors, all_stats = _analog_link(header, payload, channel, rng, options)
        channel_s = time.perf_counter() - start
        start = time.perf_counter()
        state = {}
        for record, values in zip(header.records, noisy, strict=True):
            data = payload[record.offset : record.offset + record.positions_length].tobytes()
            state[record.name] = _rebuild(record, values, options, decode_mask(record, data))
        decode_s = time.perf_counter() - start
        bit_errors = 0

    bits_sent = 8 * len(blob)
    return Reception(
        state_dict=state,
        tensors=tensors,
        channel=channel.name,
        domain="digital" if digital else "analog",
        payload_bits=sum(r.payload_bits for r in header.records),
        payload_bytes=header.payload_bytes,
        header_bits=header.header_bits,
        bits_sent=bits_sent,
        bit_errors=bit_errors,
        encode_s=encode_s,
        channel_s=channel_s,
        decode_s=decode_s,
        air_time_s=link.air_time_s(bits_sent),
        latency_ms=link.latency_ms(encode_s, bits_sent, decode_s),
        link=link,
        stats=all_stats,
    )


def _rebuild(
    record: TensorRecord,
    values: torch.Tensor,
    options: ReceiverOptions,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    tensor = rebuild_tensor(
        values, record.shape, record.symmetry, record.mode, options.alpha, mask=mask
    )
    return tensor.to(_DTYPES[record.dtype])


def _restore_protected(header: Header, sent: np.ndarray, received: np.ndarray) -> np.ndarray:
    """Pruning positions travel protected, like the header: undo what the channel did to
    them (their bits are counted in the payload all the same; SPEC section 6)."""
    protected = [r for r in header.records if r.positions_length]
    if not protected:
        return received
    received = np.array(received, copy=True)
    for r in protected:
        received[r.offset : r.offset + r.positions_length] = sent[
            r.offset : r.offset + r.positions_length
        ]
    return received


def _receive_digital(
    header: Header,
    sent: np.ndarray,
    received: np.ndarray,
    stats: ChannelStats,
    options: ReceiverOptions,
) -> tuple[dict[str, torch.Tensor], list[TensorReception]]:
    import zlib

    state = {}
    rows = []
    for record in header.records:
        lo, hi = record.offset, record.offset + record.length
        data = received[lo:hi]
        crc_ok = zlib.crc32(data) == record.crc32
        if options.strict and not crc_ok:
            raise SymcodecError(f"payload CRC mismatch in tensor {record.name!r}")
        errors = int(_POPCOUNT[np.bitwise_xor(sent[lo:hi], data)].sum()) if not crc_ok else 0
        raw = data.tobytes()
        values, lost_chunks = decode_values(record, raw)  # lost ans chunks: set to zero
        mask = decode_mask(record, raw)
        erased = 0
        if stats.erased_mask is not None and record.coder == "fixed":
            value_bytes = stats.erased_mask[lo + record.positions_length : hi]
            lost = _erased_values(value_bytes, record.count, record.quantizer.bits)
            erased = int(lost.sum())
            if erased:
                flat = values.reshape(-1).clone()
                flat[torch.from_numpy(lost)] = 0
                values = flat.reshape(values.shape)
        state[record.name] = _rebuild(record, values, options, mask)
        rows.append(
            TensorReception(
                name=record.name,
                mode=record.mode,
                values_sent=record.count,
                payload_bits=record.payload_bits,
                mask_bits=record.mask_bits,
                bit_errors=errors,
                crc_ok=crc_ok,
                erased_values=erased,
                coder=record.coder,
                chunks=len(record.chunks),
                lost_chunks=lost_chunks,
                concealed_values=lost_chunk_values(record, lost_chunks),
            )
        )
    return state, rows


def _erased_values(byte_mask: np.ndarray, count: int, bits: int) -> np.ndarray:
    """Which of ``count`` packed ``bits``-bit values touch an erased byte."""
    if count == 0 or not byte_mask.any():
        return np.zeros(count, dtype=bool)
    index = np.arange(count, dtype=np.int64)
    first = (index * bits) // 8
    last = ((index + 1) * bits - 1) // 8
    middle = np.minimum(first + 1, last)  # a value spans at most 3 bytes (bits <= 16)
    mask = byte_mask.astype(bool)
    if bits > 16:  # float32 / int64 passthrough: check every byte
        per_value = bits // 8
        return mask.reshape(count, per_value).any(axis=1)
    return mask[first] | mask[middle] | mask[last]


def _analog_link(
    header: Header,
    payload: np.ndarray,
    channel: Channel,
    rng: torch.Generator,
    options: ReceiverOptions,
) -> tuple[list[torch.Tensor], list[TensorReception], list[ChannelStats]]:
    if not isinstance(channel, AWGNChannel | IdealChannel):
        raise SymcodecError(f"channel {channel.name!r} is not an analog channel")
    noisy, rows, stats = [], [], []
    for record in header.records:
        data = payload[record.offset : record.offset + record.length].tobytes()
        values = decode_record(record, data)  # what the transmitter puts on the air
        per_value_snr = None
        if not values.is_floating_point():
            noisy.append(values)  # integer buffers travel as data, not as analog values
        else:
            link_channel = channel
            if isinstance(channel, AWGNChannel):
                per_value_snr = channel.snr_db
                if options.equal_energy and record.count:
                    dof = _degrees_of_freedom(record)
                    per_value_snr = channel.snr_db - 10.0 * math.log10(record.count / dof)
                    link_channel = AWGNChannel(per_value_snr)
            received, s = link_channel.transmit_values(values, rng=rng)
            stats.append(s)
            if record.params is not None:  # the receiver clamps to the quantizer's range
                received = _clamp_to_range(received, record)
            noisy.append(received)
        rows.append(
            TensorReception(
                name=record.name,
                mode=record.mode,
                values_sent=record.count,
                payload_bits=record.payload_bits,
                mask_bits=record.mask_bits,
                bit_errors=0,
                crc_ok=True,
                erased_values=0,
                snr_db=per_value_snr,
                coder=record.coder,
                chunks=len(record.chunks),
            )
        )
    return noisy, rows, stats


def _degrees_of_freedom(record: TensorRecord) -> int:
    """DoF carried by a tensor: ``prod(shape[:-2]) * DoF(kernel)`` if symmetric, else numel."""
    if record.symmetry is None:
        return max(1, record.numel)
    lead = math.prod(record.shape[:-2])
    return max(1, lead * record.symmetry.dof(tuple(record.shape[-2:])))


def _clamp_to_range(values: torch.Tensor, record: TensorRecord) -> torch.Tensor:
    if isinstance(record.params, StepParams):  # levels min_level .. max_level, times the step
        step = record.quantizer.step
        assert step is not None
        low = float(np.float32(record.params.min_level * step))
        high = float(np.float32(record.params.max_level * step))
        return values.clamp(low, high)
    assert isinstance(record.params, QuantizerParams)
    lo = torch.from_numpy(record.params.lo.astype(np.float32))
    hi = torch.from_numpy(record.params.hi.astype(np.float32))
    if lo.numel() == 1:
        return values.clamp(float(lo[0]), float(hi[0]))
    shape = (-1,) + (1,) * (values.dim() - 1)
    return torch.maximum(torch.minimum(values, hi.reshape(shape)), lo.reshape(shape))
