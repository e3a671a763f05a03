"""Sending a model end to end: :func:`transmit` (encode, channel, receiver repair,
accounting; on an NR link optionally with unequal error protection) and
:func:`transmitter_view` (the model the transmitter means to send)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..channel import Channel, ChannelStats, Link, NrChannel
from ..codec import TransmissionPlan, encode
from ..codec.format import Header, pruning_mask, read_header, rebuild_state_dict
from ..errors import SymcodecError
from .analog import receive_analog
from .digital import decode_received, receive_digital
from .erasure_repair import decode_with_erasures, header_intact
from .nr_protection import NrProtection
from .protection import channel_uses, transmitted_energy
from .protection_report import HeaderLost, with_concealed
from .reception import ReceiverOptions, Reception, TensorReception
from .unequal_protection import protection_channels, send_protected


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
    protection: NrProtection | None = None,
) -> Reception:
    """Send ``model`` under ``plan`` over ``channel``; return the :class:`Reception`.

    Args:
        model: an ``nn.Module`` or a state dict.
        plan: what each tensor gets on the wire.
        channel: a channel from :func:`symcodec.channel.make_channel`.
        seed: the noise seed of this transmission (None: drawn from the channel's own
            generator). On analog links every tensor's noise depends only on it and the
            tensor's name (paired noise, :mod:`symcodec.receiver.noise`).
        link: bit rate for the air time (default: the channel's modulation at 1 MHz).
        options: receiver options (projection strength, strictness, equal energy,
            protection of the side tensors and its charges).
        protection: an ``nr-ldpc`` channel only: send each class of the stream (header,
            side tensors, kernel MSBs, the rest) at its own MCS
            (:mod:`symcodec.receiver.unequal_protection`); the header then crosses the
            link too, and :attr:`Reception.protection` reports every class and segment.
            ``channel`` gives the SNR, fading, level and TB size. A lost header raises
            :class:`~symcodec.receiver.protection_report.HeaderLost`.

    The same inputs and seed give the same received state dict.
    """
    options = options or ReceiverOptions()
    state_dict = _state_dict(model)
    if protection is not None:
        return _transmit_protected(state_dict, plan, channel, seed, link, options, protection)
    link = link or Link.for_channel(channel)
    blob, encode_s = _encode_timed(state_dict, plan)
    header = read_header(blob)
    payload = np.frombuffer(blob, dtype=np.uint8)[header.payload_offset :]
    noise_seed = _noise_seed(channel) if seed is None else int(seed)
    got = _receive(header, payload, channel, noise_seed, options)
    bits_sent = 8 * len(blob)
    domain = "digital" if channel.domain in ("digital", "both") else "analog"
    charges = {"repetition": options.repetition, "code_rate": options.code_rate}
    return Reception(
        **_stream_fields(header, blob, encode_s),
        state_dict=got.state_dict,
        tensors=got.tensors,
        channel=channel.name,
        domain=domain,
        bit_errors=got.bit_errors,
        channel_s=got.channel_s,
        decode_s=got.decode_s,
        air_time_s=link.air_time_s(bits_sent),
        latency_ms=link.latency_ms(encode_s, bits_sent, got.decode_s),
        link=link,
        stats=got.stats,
        channel_uses=channel_uses(
            got.tensors, domain, bits_per_symbol=link.bits_per_symbol, **charges
        ),
        energy=transmitted_energy(got.tensors, domain, **charges),
        protect=options.protect,
    )


@dataclass(frozen=True)
class _Received:
    """What :func:`_receive` got: the received state dict, a row per tensor, the channel's
    stats, bit errors, and the seconds on the channel and in the decoder."""

    state_dict: dict[str, torch.Tensor]
    tensors: list[TensorReception]
    stats: list[ChannelStats]
    bit_errors: int
    channel_s: float
    decode_s: float


def _encode_timed(
    state_dict: dict[str, torch.Tensor], plan: TransmissionPlan
) -> tuple[bytes, float]:
    """The stream of ``state_dict`` under ``plan`` and the seconds encoding took."""
    start = time.perf_counter()
    blob = encode(state_dict, plan)
    return blob, time.perf_counter() - start


def _stream_fields(header: Header, blob: bytes, encode_s: float) -> dict:
    """The :class:`Reception` fields that describe the stream sent."""
    return {
        "payload_bits": sum(r.payload_bits for r in header.records),
        "payload_bytes": header.payload_bytes,
        "header_bits": header.header_bits,
        "bits_sent": 8 * len(blob),
        "encode_s": encode_s,
    }


def _receive(
    header: Header,
    payload: np.ndarray,
    channel: Channel,
    noise_seed: int,
    options: ReceiverOptions,
) -> _Received:
    """Send the payload over ``channel`` (the header arrives intact) and decode it, timed:
    a digital link's decode time includes reading the damaged records, an analog one's only
    the rebuild."""
    start = time.perf_counter()
    if channel.domain in ("digital", "both"):
        rng = torch.Generator().manual_seed(noise_seed)
        received, stats = receive_digital(header, payload, channel, rng, options.protect)
        channel_s = time.perf_counter() - start
        start = time.perf_counter()
        decoded, tensors = decode_received(header, payload, received, stats, options)
        all_stats, bit_errors = [stats], sum(t.bit_errors for t in tensors)
    else:
        decoded, tensors, all_stats = receive_analog(header, payload, channel, noise_seed, options)
        channel_s = time.perf_counter() - start
        start = time.perf_counter()
        bit_errors = 0
    state = rebuild_state_dict(decoded, alpha=options.alpha)
    decode_s = time.perf_counter() - start
    return _Received(state, tensors, all_stats, bit_errors, channel_s, decode_s)


def _transmit_protected(
    state_dict: dict[str, torch.Tensor],
    plan: TransmissionPlan,
    channel: Channel,
    seed: int | None,
    link: Link | None,
    options: ReceiverOptions,
    protection: NrProtection,
) -> Reception:
    """:func:`transmit` with unequal error protection on an NR link."""
    if not isinstance(channel, NrChannel):
        raise SymcodecError(
            f"unequal protection needs an nr-ldpc channel (it sets MCS per class), got "
            f"{channel.name!r}"
        )
    if options.protect != "none":
        raise SymcodecError(
            "with an NR protection the side tensors really cross the link at their MCS; "
            "the notional protect='side' sub-link does not apply (use protect='none')"
        )
    link = link or Link.for_channel(channel)
    channels = protection_channels(channel, protection)
    blob, encode_s = _encode_timed(state_dict, plan)
    header = read_header(blob)
    noise_seed = _noise_seed(channel) if seed is None else int(seed)

    start = time.perf_counter()
    rng = torch.Generator().manual_seed(noise_seed)
    received, erased, report = send_protected(blob, header, protection, channels, rng)
    channel_s = time.perf_counter() - start
    if not header_intact(header, blob, received, erased):
        raise HeaderLost(replace(report, header_lost=True))
    start = time.perf_counter()
    decoded, tensors, rebuilt = decode_with_erasures(
        header, blob, received, erased, options, msb_split=protection.msb_split
    )
    state = rebuild_state_dict(decoded, alpha=options.alpha)
    decode_s = time.perf_counter() - start
    report = with_concealed(report, rebuilt)

    air_s = report.air_time_s
    coded_bits = sum(
        s.transport_blocks * channels[s.mcs_index].fmt.coded_bits for s in report.segments
    )
    return Reception(
        **_stream_fields(header, blob, encode_s),
        state_dict=state,
        tensors=tensors,
        channel=channel.name,
        domain="digital",
        bit_errors=sum(t.bit_errors for t in tensors),
        channel_s=channel_s,
        decode_s=decode_s,
        air_time_s=air_s,
        latency_ms=1000.0 * (encode_s + air_s + decode_s),
        link=link,
        stats=list(report.stats),
        channel_uses=report.channel_uses,
        energy=float(coded_bits),
        protect=protection.name,
        protection=report,
    )


def _noise_seed(channel: Channel) -> int:
    """A noise seed drawn from the channel's own generator (a transmission without a seed)."""
    return int(torch.randint(0, 2**62, (1,), generator=channel.generator))
