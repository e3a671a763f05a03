"""The receiving end of an analog link (``awgn``): the values sent, after quantization to the
plan's bits, arrive with noise; the receiver clamps them to the quantizer's range. With
``equal_energy`` the SNR is per degree of freedom: a tensor that sends ``n`` values for ``d``
DoF gets ``snr_db - 10 log10(n / d)`` per value (SPEC section 5)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..channel import AWGNChannel, Channel, ChannelStats, IdealChannel, equal_energy_snr_db
from ..codec.format import DecodedTensor, Header, clamp_to_range, decode_payload
from ..errors import SymcodecError
from .reception import ReceiverOptions, TensorReception


def receive_analog(
    header: Header,
    payload: np.ndarray,
    channel: Channel,
    rng: torch.Generator,
    options: ReceiverOptions,
) -> tuple[list[DecodedTensor], list[TensorReception], list[ChannelStats]]:
    """Send every record's values through an analog channel: the values as received
    (clamped to the quantizer's range), one row per tensor, the channel's stats."""
    if not isinstance(channel, AWGNChannel | IdealChannel):
        raise SymcodecError(f"channel {channel.name!r} is not an analog channel")
    received, rows, stats = [], [], []
    for item in decode_payload(header, payload, strict=False):  # what goes on the air
        record, values = item.record, item.values
        per_value_snr = None
        if values.is_floating_point():  # integer buffers travel as data, not as values
            link_channel = channel
            if isinstance(channel, AWGNChannel):
                per_value_snr = channel.snr_db
                if options.equal_energy and record.count:
                    dof = max(1, record.degrees_of_freedom)
                    per_value_snr = equal_energy_snr_db(channel.snr_db, record.count, dof)
                    link_channel = AWGNChannel(per_value_snr)
            values, s = link_channel.transmit_values(values, rng=rng)
            stats.append(s)
            if record.params is not None:  # the receiver clamps to the quantizer's range
                values = clamp_to_range(values, record.quantizer, record.params)
        received.append(replace(item, values=values))
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
    return received, rows, stats
