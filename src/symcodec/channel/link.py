"""A link's bit rate and end-to-end latency (SPEC section 7).

A block-coded link (``block_bits``, e.g. a 5G NR link's transport blocks) sends whole blocks:
its air time rounds the bits up to whole blocks, so the padding of the last one is on the air.

>>> Link(bandwidth_hz=2e6).rate_bps
2000000.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import SymcodecError
from .analog import AWGNChannel
from .base import Channel, finite_number
from .digital import ModulatedChannel
from .nr import NrChannel

__all__ = ["Link"]


@dataclass(frozen=True)
class Link:
    """A link's bit rate and end-to-end latency (SPEC section 7).

    ``rate_bps = bandwidth_hz * bits_per_symbol * code_rate`` (one symbol per second per Hz),
    or, when ``capacity_snr_db`` is set, the Shannon capacity
    ``bandwidth_hz * log2(1 + 10^(capacity_snr_db/10))`` (``bits_per_symbol`` and
    ``code_rate`` are then ignored). With ``block_bits`` the bits go in blocks of that many
    (the last one padded), and the air time counts whole blocks. Analog transmissions are
    costed like digital ones: the study counts the payload in bits, so the same bit rate
    applies (default BPSK, rate 1).

    Attributes:
        bandwidth_hz: bandwidth in Hz (default 1 MHz).
        bits_per_symbol: modulation bits per symbol (default 1: BPSK).
        code_rate: channel code rate in (0, 1] (default 1: uncoded).
        capacity_snr_db: SNR in dB for the Shannon rate; None for the modulation rate.
        block_bits: information bits per coded block (e.g. an NR transport block); None for
            a stream that needs no padding.

    >>> Link(bits_per_symbol=2).air_time_s(4_000_000)
    2.0
    >>> Link(bits_per_symbol=2, code_rate=0.5, block_bits=1000).air_time_s(2500)  # 3 blocks
    0.003
    >>> round(Link(capacity_snr_db=10.0).rate_bps / 1e6, 3)
    3.459
    """

    bandwidth_hz: float = 1e6
    bits_per_symbol: float = 1.0
    code_rate: float = 1.0
    capacity_snr_db: float | None = None
    block_bits: int | None = None

    def __post_init__(self) -> None:
        for name in ("bandwidth_hz", "bits_per_symbol"):
            if finite_number(name, getattr(self, name)) <= 0:
                raise SymcodecError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 0.0 < finite_number("code_rate", self.code_rate) <= 1.0:
            raise SymcodecError(f"code_rate must be in (0, 1], got {self.code_rate!r}")
        if self.capacity_snr_db is not None:
            finite_number("capacity_snr_db", self.capacity_snr_db)
        if self.block_bits is not None and (
            isinstance(self.block_bits, bool)
            or not isinstance(self.block_bits, int)
            or self.block_bits < 1
        ):
            raise SymcodecError(f"block_bits must be a positive integer, got {self.block_bits!r}")

    @property
    def rate_bps(self) -> float:
        """Bit rate in bits/s."""
        if self.capacity_snr_db is not None:
            snr = 10.0 ** (self.capacity_snr_db / 10.0)
            return self.bandwidth_hz * math.log2(1.0 + snr)
        return self.bandwidth_hz * self.bits_per_symbol * self.code_rate

    def air_time_s(self, bits: float) -> float:
        """Seconds on the air for ``bits`` bits (payload + header + code overhead), rounded
        up to whole blocks when the link has ``block_bits``."""
        if finite_number("bits", bits) < 0:
            raise SymcodecError(f"bits must be non-negative, got {bits!r}")
        if self.block_bits is not None:
            bits = math.ceil(bits / self.block_bits) * self.block_bits
        return float(bits) / self.rate_bps

    def latency_ms(self, encode_s: float, bits: float, decode_s: float) -> float:
        """End-to-end latency in ms: ``encode_s + bits / rate_bps + decode_s`` (seconds in).

        >>> Link().latency_ms(0.001, 1000, 0.001)
        3.0
        """
        for name, v in (("encode_s", encode_s), ("decode_s", decode_s)):
            if finite_number(name, v) < 0:
                raise SymcodecError(f"{name} must be non-negative, got {v!r}")
        return 1000.0 * (float(encode_s) + self.air_time_s(bits) + float(decode_s))

    @classmethod
    def for_channel(
        cls,
        channel: Channel,
        *,
        bandwidth_hz: float | None = None,
        code_rate: float = 1.0,
        capacity: bool = False,
    ) -> Link:
        """The link of a channel: its modulation's bits per symbol (BPSK 1, QPSK 2, 16-QAM 4;
        other channels 1, the BPSK default) at ``bandwidth_hz`` symbols per second (default
        1 MHz).

        An ``nr-ldpc`` channel (:class:`~symcodec.channel.nr.NrChannel`) brings its own code:
        its symbol rate, ``Q_m`` bits per symbol, code rate ``tb_bits / G`` and transport
        blocks of ``tb_bits``, so the air time of ``n`` bits is the channel uses of
        ``ceil(n / tb_bits)`` TBs over the symbol rate. ``code_rate`` must then stay 1 and
        ``bandwidth_hz``, if given, must equal the channel's ``symbol_rate_hz``.

        With ``capacity=True`` the rate is the Shannon capacity at the channel's SNR: ``awgn``:
        ``snr_db``; modulated: ``Es/N0 = ebn0_db + 10 log10(bits per symbol)`` (for Rayleigh
        this is the AWGN capacity at the average SNR, an upper bound). Other channels have no
        SNR: SymcodecError.

        >>> Link.for_channel(ModulatedChannel("qam16", ebn0_db=8.0)).rate_bps
        4000000.0
        """
        if isinstance(channel, NrChannel):
            return _nr_link(channel, bandwidth_hz, code_rate, capacity)
        bandwidth_hz = 1e6 if bandwidth_hz is None else bandwidth_hz
        if not capacity:
            return cls(bandwidth_hz, float(channel.bits_per_symbol or 1), code_rate)
        if isinstance(channel, AWGNChannel):
            snr_db = channel.snr_db
        elif isinstance(channel, ModulatedChannel):
            snr_db = channel.ebn0_db + 10.0 * math.log10(channel.bits_per_symbol)
        else:
            raise SymcodecError(f"channel {channel.name!r} has no SNR for a Shannon capacity")
        return cls(bandwidth_hz, 1.0, 1.0, capacity_snr_db=snr_db)


def _nr_link(
    channel: NrChannel, bandwidth_hz: float | None, code_rate: float, capacity: bool
) -> Link:
    """The link of an NR channel: its own symbol rate, modulation, code rate and TB size."""
    rate_hz = channel.symbol_rate_hz
    if bandwidth_hz is not None and finite_number("bandwidth_hz", bandwidth_hz) != rate_hz:
        raise SymcodecError(
            f"channel {channel.name!r} sends {rate_hz:g} symbols/s; give that symbol rate to "
            f"the channel (symbol_rate_hz), not bandwidth_hz={bandwidth_hz:g} to the link"
        )
    if code_rate != 1.0:
        raise SymcodecError(
            f"channel {channel.name!r} has its own code (rate {channel.fmt.code_rate:.4f}); "
            "give no code_rate"
        )
    if capacity:
        return Link(rate_hz, 1.0, 1.0, capacity_snr_db=channel.snr_db)
    fmt = channel.fmt
    return Link(
        rate_hz, float(fmt.mcs.bits_per_symbol), fmt.tb_bits / fmt.coded_bits,
        block_bits=fmt.tb_bits,
    )  # fmt: skip
