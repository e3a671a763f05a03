"""What a stream expects to lose on an abstracted NR link at one SNR, and its air time.

:func:`expected_loss` scores one :class:`~.nr_protection.NrProtection` without sending
anything:

1. **Air time**: each segment's bits (:func:`~.stream_classes.class_bit_counts`) in whole
   transport blocks at its MCS, over the symbol rate, exactly as
   :func:`~symcodec.receiver.transmit` counts it.
2. **Expected damage**: the PHY abstraction's code block error rate ``q`` of each segment's
   MCS at the SNR
   (:meth:`~symcodec.channel.nr.NrAbstractLink.expected_block_error_rate`), and for every unit
   the receiver loses as a whole (a ``fixed`` value, an ``ans`` chunk, a tensor's pruning
   positions, the header) of ``L`` bits the probability ``1 - (1 - q)^(1 + (L - 1) / K')``
   that a CB carrying it fails (a unit at a random offset spans ``1 + (L - 1) / K'`` CBs on
   average, ``K'`` the payload bits of a CB). Summed over units this gives the expected
   fraction of kernel values lost, of kernel values that keep only their MSB (``side+msb``),
   of side values lost, and the probability that the header is lost.
3. **Expected accuracy drop** (:meth:`ExpectedLoss.expected_drop_pp`): a
   :class:`~.loss_curve.LossCurve` maps each fraction to an accuracy drop in percentage
   points; the drops of the three kinds add up (capped at the accuracy), and a lost header
   costs all of the accuracy (nothing decodes):
   ``E[drop] = P_h * acc + (1 - P_h) * min(acc, d_kernel + d_msb_kept + d_side)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..channel.nr import NrAbstractLink, TransportFormat
from ..codec.format import Header
from ..errors import SymcodecError
from .loss_curve import DAMAGE_KINDS, LossCurve
from .nr_protection import NrProtection
from .stream_classes import class_bit_counts, has_msb_plane, is_kernel

__all__ = ["AbstractLinks", "ExpectedLoss", "expected_loss"]


@dataclass(frozen=True)
class ExpectedLoss:
    """What a protection expects to lose at one SNR, and what it costs in air time.

    Attributes:
        protection: the MCS per class.
        block_error_rate: segment MCS -> the probability one of its CBs fails.
        lost_fraction: damage kind -> expected fraction of those values lost.
        header_loss_probability: probability the header is lost.
        channel_uses: channel uses of every segment.
        air_time_s: ``channel_uses`` over the symbol rate.
    """

    protection: NrProtection
    block_error_rate: Mapping[int, float]
    lost_fraction: Mapping[str, float]
    header_loss_probability: float
    channel_uses: int
    air_time_s: float

    @property
    def mcs(self) -> int:
        """The kernels' MCS (the one a preset is built around)."""
        return self.protection.mcs["kernel"]

    @property
    def worst_block_error_rate(self) -> float:
        """The largest code block error rate of any segment."""
        return max(self.block_error_rate.values())

    def expected_drop_pp(self, curve: LossCurve) -> float:
        """``P_h * acc + (1 - P_h) * min(acc, sum of the kinds' drops)``."""
        acc = curve.accuracy_pp
        drops = sum(curve.drop_pp(k, f) for k, f in self.lost_fraction.items())
        p = self.header_loss_probability
        return p * acc + (1.0 - p) * min(acc, drops)


class AbstractLinks:
    """The abstracted NR links of one MCS table by MCS index, each built once (each loads
    Sionna's BLER table, or the measured ``bler_tables``: then only the MCS they hold have a
    link), and their code block error rates by SNR, each computed once."""

    def __init__(
        self,
        mcs_table: str,
        symbols_per_tb: int,
        fading: str,
        bler_tables: Sequence[str | os.PathLike] | None = None,
    ) -> None:
        self.mcs_table, self.symbols_per_tb, self.fading = mcs_table, symbols_per_tb, fading
        self.bler_tables = None if bler_tables is None else tuple(map(os.fspath, bler_tables))
        self._links: dict[int, NrAbstractLink | None] = {}
        self._bler: dict[tuple[int, float], float] = {}

    def link(self, mcs: int) -> NrAbstractLink | None:
        """The link at ``mcs``, or None when no transport format or BLER table fits it."""
        if mcs not in self._links:
            try:
                self._links[mcs] = NrAbstractLink(
                    mcs, self.mcs_table, symbols_per_tb=self.symbols_per_tb,
                    bler_tables=self.bler_tables,
                )  # fmt: skip
            except SymcodecError:
                self._links[mcs] = None
        return self._links[mcs]

    def fmt(self, mcs: int) -> TransportFormat:
        """The transport format at ``mcs``; SymcodecError when no link fits it."""
        link = self.link(mcs)
        if link is None:
            raise SymcodecError(f"no abstracted NR link for MCS {mcs} of {self.mcs_table}")
        return link.fmt

    def bler(self, mcs: int, snr_db: float) -> float:
        """The code block error rate at ``mcs`` and Es/N0 ``snr_db`` under this fading."""
        key = (mcs, snr_db)
        if key not in self._bler:
            link = self.link(mcs)
            if link is None:
                raise SymcodecError(f"no abstracted NR link for MCS {mcs} of {self.mcs_table}")
            self._bler[key] = link.expected_block_error_rate(snr_db, self.fading)
        return self._bler[key]


def _unit_loss(q: float, bits: float, fmt: TransportFormat) -> float:
    """Probability that a unit of ``bits`` bits meets a failed CB (CB error rate ``q``)."""
    if bits <= 0 or q <= 0.0:
        return 0.0
    spans = 1.0 + (bits - 1.0) / (fmt.cb_bits - fmt.cb_crc_bits)
    return 1.0 - (1.0 - q) ** spans


def expected_loss(
    header: Header,
    protection: NrProtection,
    snr_db: float,
    *,
    fading: str = "awgn",
    symbols_per_tb: int,
    symbol_rate_hz: float,
    links: AbstractLinks | None = None,
) -> ExpectedLoss:
    """The expected damage and the air time of sending the stream of ``header`` under
    ``protection`` at Es/N0 ``snr_db`` (see the module docstring); ``links`` reuses
    links and error rates across calls."""
    links = links or AbstractLinks(protection.mcs_table, symbols_per_tb, fading)
    split = protection.msb_split
    bits = class_bit_counts(header, msb_split=split)
    uses, q = 0, {}
    for mcs, classes in protection.segments():
        fmt = links.fmt(mcs)
        uses += fmt.num_tbs(-(-sum(bits[c] for c in classes) // 8)) * fmt.symbols_per_tb
        q[mcs] = links.bler(mcs, snr_db)

    def loss(cls: str, unit_bits: float) -> float:
        mcs = protection.mcs[cls]
        return _unit_loss(q[mcs], unit_bits, links.fmt(mcs))

    lost = dict.fromkeys(DAMAGE_KINDS, 0.0)
    totals = dict.fromkeys(("kernel", "side"), 0)
    for record in header.records:
        kind = "kernel" if is_kernel(record) else "side"
        value_cls = "kernel" if kind == "kernel" else "side"
        keep_positions = 1.0 - loss("side", 8 * record.positions_length)
        totals[kind] += record.count
        if record.coder == "ans":
            for index, (length, _) in enumerate(record.chunks):
                values = min(record.chunk_values, record.count - index * record.chunk_values)
                kept = keep_positions * (1.0 - loss(value_cls, 8 * length))
                lost[kind] += values * (1.0 - kept)
            continue
        width = record.quantizer.bits
        if split and has_msb_plane(record):
            keep_msb = keep_positions * (1.0 - loss("kernel-msb", 1))
            keep_rest = 1.0 - loss("kernel", width - 1)
            lost["kernel"] += record.count * (1.0 - keep_msb)
            lost["kernel-msb-kept"] += record.count * keep_msb * (1.0 - keep_rest)
        else:
            kept = keep_positions * (1.0 - loss(value_cls, width))
            lost[kind] += record.count * (1.0 - kept)
    fractions = {
        "kernel": lost["kernel"] / max(1, totals["kernel"]),
        "kernel-msb-kept": lost["kernel-msb-kept"] / max(1, totals["kernel"]),
        "side": lost["side"] / max(1, totals["side"]),
    }
    return ExpectedLoss(
        protection=protection,
        block_error_rate=q,
        lost_fraction=fractions,
        header_loss_probability=loss("header", bits["header"]),
        channel_uses=uses,
        air_time_s=uses / symbol_rate_hz,
    )
