"""Measuring a 5G NR link's own BLER curve bit-true, for the PHY abstraction to draw from.

Sionna's shipped BLER tables are about 1 dB optimistic for NR transport blocks on AWGN
(``docs/results/nr-bler/``). :func:`measure_bler_curve` measures the curve of the transport
format a study actually uses, with :class:`~symcodec.channel.nr.nr_ldpc.NrLdpcLink` (Sionna's
encoder and BP decoder), and :func:`symcodec.channel.nr.bler_table.write_bler_table` stores it in
Sionna's layout, so that :class:`~symcodec.channel.nr.nr_abstract.NrAbstractLink` (and a study's
``[channel] bler_table``) draws code block errors from it.

The sweep runs on a grid of multiples of ``step_db`` (so a study's integer SNRs are grid
points, where the abstraction returns a measurement rather than an interpolation):

1. from a start near the Shannon limit of the MCS's spectral efficiency (rounded down to the
   grid), step down until a point loses every block it sent;
2. then step up until a point loses no block in ``max_blocks`` blocks.

Each point sends random transport blocks (AWGN) until ``min_failures`` blocks failed or
``max_blocks`` were sent. Below the first point the table holds its BLER (1.0) and above the
last its BLER (0.0): Sionna's interpolation clamps at a table's edges.

Cost: the bit-true decoder runs at about 15-60 kbit/s per core here, so one MCS of a
1,872-symbol TB takes a few minutes (``symcodec measure-bler`` prints each point).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import SymcodecError
from ..base import finite_number, positive_integer
from .nr_ldpc import NrLdpcLink
from .transport import TransportFormat, check_seed

__all__ = ["BlerCurve", "BlerPoint", "count_block_errors", "measure_bler_curve", "shannon_snr_db"]

_MAX_POINTS = 200  # a sweep that has not crossed the waterfall by then is refused


@dataclass(frozen=True)
class BlerPoint:
    """One measured point of a BLER curve: ``failed_blocks`` of ``sent_blocks`` code blocks
    failed at Es/N0 ``snr_db``.

    >>> BlerPoint(3.0, failed_blocks=25, sent_blocks=100).bler
    0.25
    """

    snr_db: float
    failed_blocks: int
    sent_blocks: int

    @property
    def bler(self) -> float:
        """The measured code block error rate."""
        return self.failed_blocks / self.sent_blocks


@dataclass(frozen=True)
class BlerCurve:
    """A BLER curve measured on one transport format ``fmt`` (its MCS and TB size), its points
    in increasing SNR."""

    fmt: TransportFormat
    points: tuple[BlerPoint, ...]

    def __post_init__(self) -> None:
        snrs = [p.snr_db for p in self.points]
        if len(snrs) < 2 or any(b <= a for a, b in zip(snrs, snrs[1:], strict=False)):
            raise SymcodecError("a BLER curve needs at least two points in increasing SNR")
        if self.points[0].bler <= self.points[-1].bler:  # Sionna cannot invert a flat curve
            raise SymcodecError("a BLER curve must fall from its first point to its last")

    @property
    def snr_dbs(self) -> list[float]:
        return [p.snr_db for p in self.points]

    @property
    def blers(self) -> list[float]:
        return [p.bler for p in self.points]


def count_block_errors(
    link: NrLdpcLink, snr_db: float, *, min_failures: int, max_blocks: int, seed: int
) -> BlerPoint:
    """Send random transport blocks bit-true over AWGN at ``snr_db`` (Es/N0, dB) in batches of
    ``link.tbs_per_batch`` until ``min_failures`` code blocks failed or ``max_blocks`` were sent.

    Payloads and noise come from ``seed`` alone. Stopping at a failure count keeps the relative
    error of every point alike (about ``1 / sqrt(min_failures)``) where the BLER is high.
    """
    positive_integer("min_failures", min_failures)
    positive_integer("max_blocks", max_blocks)
    snr_db = finite_number("snr_db", snr_db)
    fmt = link.fmt
    rng = np.random.default_rng(np.random.SeedSequence(check_seed(seed)))
    failed = sent = 0
    while failed < min_failures and sent < max_blocks:
        wanted = min(max_blocks - sent, min_failures - failed)  # no batch overshoots a rule
        tbs = min(link.tbs_per_batch, -(-wanted // fmt.num_cbs))
        payload = rng.integers(0, 256, tbs * fmt.tb_bytes, dtype=np.uint8)
        result = link.transmit_bytes(payload, snr_db=snr_db, seed=int(rng.integers(0, 2**62)))
        failed += result.failed_code_blocks
        sent += result.code_blocks
    return BlerPoint(snr_db, failed, sent)


def shannon_snr_db(bits_per_channel_use: float) -> float:
    """The Es/N0 (dB) at which AWGN capacity equals ``bits_per_channel_use``.

    >>> round(shannon_snr_db(1.0), 6)  # log2(1 + 1) = 1
    0.0
    """
    return 10.0 * math.log10(2.0**bits_per_channel_use - 1.0)


def measure_bler_curve(
    link: NrLdpcLink,
    *,
    step_db: float = 0.5,
    min_failures: int = 50,
    max_blocks: int = 400,
    seed: int = 0,
    start_db: float | None = None,
    on_point: Callable[[BlerPoint], None] | None = None,
) -> BlerCurve:
    """Measure ``link``'s AWGN BLER across its waterfall (see the module docstring).

    Args:
        link: the bit-true link; its MCS and transport block size fix the curve.
        step_db: grid step; every point is a multiple of it.
        min_failures, max_blocks: the stopping rule of each point
            (:func:`count_block_errors`).
        seed: the seed of the whole curve (each point draws from its own child stream).
        start_db: where to start; default: the Shannon limit of the MCS's bits per channel use.
        on_point: called with each point as it is measured (progress).

    Returns the curve; its first point lost every block it sent, its last none.
    """
    if not (math.isfinite(step_db) and step_db > 0):
        raise SymcodecError(f"step_db must be a number > 0, got {step_db!r}")
    positive_integer("min_failures", min_failures)
    positive_integer("max_blocks", max_blocks)
    if start_db is None:
        start_db = shannon_snr_db(link.mcs.bits_per_symbol * link.mcs.code_rate)
    else:
        start_db = finite_number("start_db", start_db)
    seed = check_seed(seed)
    points: dict[int, BlerPoint] = {}

    def take(step: int) -> BlerPoint:
        if len(points) >= _MAX_POINTS:
            raise SymcodecError(
                f"the BLER sweep of {link.mcs} did not cross the waterfall in {_MAX_POINTS} points"
            )
        # a point's noise depends on its grid position only, not on the order of the sweep
        state = np.random.SeedSequence([seed, step + (1 << 20)]).generate_state(1, np.uint64)
        child = int(state[0] >> 2)
        point = count_block_errors(
            link, round(step * step_db, 9), min_failures=min_failures,
            max_blocks=max_blocks, seed=child,
        )  # fmt: skip
        points[step] = point
        if on_point is not None:
            on_point(point)
        return point

    low = math.floor(start_db / step_db)
    while take(low).failed_blocks < points[low].sent_blocks:  # down to a point that loses all
        low -= 1
    high = max(points)
    while points[high].failed_blocks > 0:  # up to a point that loses none
        high += 1
        take(high)
    return BlerCurve(link.fmt, tuple(points[s] for s in sorted(points)))
