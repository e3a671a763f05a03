"""The receiving end of an analog link (``awgn``): the values sent, after quantization to the
plan's bits, arrive with noise; the receiver clamps them to the quantizer's range.

* Paired noise (SPEC section 10, :mod:`.noise`): every tensor's noise is one standard-normal
  draw in the shape of the full tensor, seeded by the trial's noise seed and the tensor's
  name; each mode sees its part of it.
* ``dof`` coefficients travel in the orthonormal basis of ``V_S``: the coefficient of an
  orbit of size ``m`` is multiplied by ``sqrt(m)`` before the link and divided by it after,
  so the energy per DoF is the kernel's energy and, at equal energy, ``dof`` receives
  exactly the kernel noise that ``full-project`` keeps after its projection.
* With ``protect="side"`` the tensors that are not conv kernels arrive exact (the protected
  sub-link, :mod:`.protection`).
* With ``equal_energy`` the SNR is per degree of freedom: a tensor that sends ``n`` values
  for ``d`` DoF gets ``snr_db - 10 log10(n / d)`` per value
  (:func:`~symcodec.channel.equal_energy_snr_db`, SPEC section 5).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..channel import AWGNChannel, Channel, ChannelStats, IdealChannel, equal_energy_snr_db
from ..codec.format import DecodedTensor, Header, clamp_to_range, decode_payload
from ..errors import SymcodecError
from .noise import orbit_scales, sent_noise, standard_normal
from .protection import is_protected
from .reception import ReceiverOptions, TensorReception


def receive_analog(
    header: Header,
    payload: np.ndarray,
    channel: Channel,
    noise_seed: int,
    options: ReceiverOptions,
) -> tuple[list[DecodedTensor], list[TensorReception], list[ChannelStats]]:
    """Send every record's values through an analog channel with the paired noise of
    ``noise_seed``: the values as received (clamped to the quantizer's range), one row per
    tensor, the channel's stats."""
    if not isinstance(channel, AWGNChannel | IdealChannel):
        raise SymcodecError(f"channel {channel.name!r} is not an analog channel")
    received, rows, stats = [], [], []
    for item in decode_payload(header, payload, strict=False):  # what goes on the air
        record, values = item.record, item.values
        per_value_snr = None
        protected = is_protected(record, options.protect)
        energy = _energy(item)
        if not protected:  # protected values (and integer buffers) arrive exact
            if isinstance(channel, AWGNChannel):
                per_value_snr = channel.snr_db
                if options.equal_energy and record.count:
                    dof = max(1, record.degrees_of_freedom)
                    per_value_snr = equal_energy_snr_db(channel.snr_db, record.count, dof)
                values, s = _noisy(item, AWGNChannel(per_value_snr), noise_seed)
            else:
                values, s = channel.transmit_values(values)
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
                protected=protected,
                energy=energy,
            )
        )
    return received, rows, stats


def _noisy(
    item: DecodedTensor, link: AWGNChannel, noise_seed: int
) -> tuple[torch.Tensor, ChannelStats]:
    """The values of ``item`` after ``link``, with the paired noise of ``noise_seed``
    (``dof`` coefficients sent in the orthonormal basis)."""
    record, values = item.record, item.values
    z = sent_noise(record, standard_normal(noise_seed, record.name, record.numel), item.mask)
    if record.mode != "dof":
        return link.add_noise(values, z.reshape(values.shape))
    assert record.symmetry is not None
    scales = orbit_scales(record.symmetry, tuple(record.shape[-2:]))
    coordinates = values.to(torch.float64) * scales
    arrived, s = link.add_noise(coordinates, z.reshape(coordinates.shape))
    return (arrived / scales).to(values.dtype), s


def _energy(item: DecodedTensor) -> float:
    """Sum of the squared values ``item`` sends (``dof``: in the orthonormal basis, i.e. the
    energy of the rebuilt kernel); 0 for integer buffers."""
    values = item.values
    if not values.is_floating_point():
        return 0.0
    values = values.to(torch.float64)
    if item.record.mode == "dof":
        assert item.record.symmetry is not None
        values = values * orbit_scales(item.record.symmetry, tuple(item.record.shape[-2:]))
    return float(values.pow(2).sum())
