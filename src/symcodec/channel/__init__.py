"""Channels, closed-form bit error rates and link latency (SPEC sections 5 and 7).

Two domains:

* **analog** channels act on the float values sent, one ``torch.Tensor`` per transmitted
  tensor, via :meth:`Channel.transmit_values`: :class:`AWGNChannel` (and
  :class:`IdealChannel`); :class:`~symcodec.channel.nr.NrChannel` (``nr-ldpc``): a 5G NR
  link (LDPC, QAM, AWGN or Rayleigh; bit-true or abstracted) whose failed code blocks erase
  the bytes they carried (needs the ``links`` extra: Sionna).
* **digital** channels act on the payload bytes (the channel sees only a bit stream, MSB
  first), via :meth:`Channel.transmit_bits`: :class:`BSCChannel`, :class:`ModulatedChannel`
  (BPSK, QPSK, 16-QAM; AWGN or flat Rayleigh fading), :class:`ErasureChannel` (and
  :class:`IdealChannel`); :class:`~symcodec.channel.nr.NrChannel` (``nr-ldpc``): a 5G NR
  link (LDPC, QAM, AWGN or Rayleigh; bit-true or abstracted) whose failed code blocks erase
  the bytes they carried (needs the ``links`` extra: Sionna).

Every call returns the channel output and a :class:`ChannelStats` saying what the channel did.
Each channel owns a ``torch.Generator`` seeded from its ``seed``; a call may pass ``rng``
instead. The same seed gives the same output; no global RNG state is touched.

Where things live:

* ``base``: :class:`Channel`, :class:`ChannelStats`, ``CHUNK_BITS``, shared helpers;
* ``analog``: :class:`IdealChannel`, :class:`AWGNChannel`, :func:`equal_energy_snr_db`;
* ``digital``: :class:`BSCChannel`, :class:`ModulatedChannel`, :class:`ErasureChannel`;
* ``theory``: closed-form BER (:func:`q_function`, :func:`ber_theory`, ...);
* ``nr``: the 5G NR links over Sionna and :class:`NrChannel`, :class:`NrChannelStats`;
* ``link``: :class:`Link` (bit rate, latency, Shannon capacity, block padding);
* ``registry``: :func:`channel_names`, :func:`make_channel`, :func:`channel_parameter`.

>>> ch = make_channel("bpsk-awgn", ebn0_db=4.0, seed=1)
>>> received, stats = ch.transmit_bits(bytes(1000))
>>> len(received), stats.bits_sent
(1000, 8000)
>>> abs(stats.ber - ber_theory(ch)) < 0.01
True
>>> round(Link().latency_ms(encode_s=0.010, bits=20_000, decode_s=0.005), 6)  # 20 ms on air
35.0
"""

from __future__ import annotations

from .analog import AWGNChannel, IdealChannel, equal_energy_snr_db
from .base import CHUNK_BITS, DEFAULT_PACKET_BYTES, Channel, ChannelStats, Payload, Rng
from .digital import MODULATIONS, BSCChannel, ErasureChannel, ModulatedChannel
from .link import Link
from .nr import NrChannel, NrChannelStats
from .registry import (
    CHANNEL_PARAMETERS,
    ChannelParameter,
    canonical_channel_name,
    channel_names,
    channel_options,
    channel_parameter,
    make_channel,
)
from .theory import (
    ber_bpsk_awgn,
    ber_bpsk_rayleigh,
    ber_qam_awgn,
    ber_qam_rayleigh,
    ber_theory,
    q_function,
)

__all__ = [
    "CHUNK_BITS",
    "DEFAULT_PACKET_BYTES",
    "MODULATIONS",
    "CHANNEL_PARAMETERS",
    "ChannelParameter",
    "Payload",
    "Rng",
    "Channel",
    "ChannelStats",
    "IdealChannel",
    "AWGNChannel",
    "BSCChannel",
    "ModulatedChannel",
    "ErasureChannel",
    "NrChannel",
    "NrChannelStats",
    "Link",
    "make_channel",
    "channel_names",
    "canonical_channel_name",
    "channel_parameter",
    "channel_options",
    "q_function",
    "ber_bpsk_awgn",
    "ber_qam_awgn",
    "ber_bpsk_rayleigh",
    "ber_qam_rayleigh",
    "ber_theory",
    "equal_energy_snr_db",
]
