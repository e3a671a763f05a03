"""Measuring one comparison of bench/nr_bler_validation.py: the statistics (Clopper-Pearson
interval, Fisher's two-sample test, best-fit SNR offset), both levels of one NR link and the
table its abstraction draws from (shipped or measured), one point, the automatic sweep."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

CONFIDENCE = 0.95
SWEEP_START_BLER = 0.97  # the automatic sweep starts where the abstract BLER drops below this
SWEEP_STOP_BLER = 0.01  # ... and stops once both levels are at or below this
WATERFALL = (0.01, 0.99)  # bit-true BLERs that count as "in the waterfall" in the summary
GRID_TOLERANCE_DB = 0.05  # a swept SNR this close to a table grid SNR stands for it
RAYLEIGH_SAMPLES = 4000  # fading draws behind one abstract Rayleigh BLER
Fading = Literal["awgn", "rayleigh"]
TableKind = Literal["shipped", "measured"]


# --------------------------------------------------------------------------------------
# statistics


def _binomial_tail(k: int, n: int, p: float, upper: bool) -> float:
    """P(X >= k) (``upper``) or P(X <= k) for X ~ Binomial(n, p), summed in log space."""
    if p <= 0.0:
        return 1.0 if (not upper or k <= 0) else 0.0
    if p >= 1.0:
        return 1.0 if (upper or k >= n) else 0.0
    terms = range(k, n + 1) if upper else range(0, k + 1)
    lp, lq = math.log(p), math.log1p(-p)
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
        for i in terms
    ]
    top = max(logs)
    return math.exp(top) * math.fsum(math.exp(v - top) for v in logs)


def clopper_pearson(failures: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval of a binomial proportion ``failures / n``.

    >>> lo, hi = clopper_pearson(0, 10)
    >>> lo, round(hi, 4)  # (1 - 0.025 ** (1 / 10))
    (0.0, 0.3085)
    >>> [round(x, 4) for x in clopper_pearson(5, 10)]
    [0.1871, 0.8129]
    """
    if n < 1 or not 0 <= failures <= n:
        raise ValueError(f"need 0 <= failures <= n and n >= 1, got {failures} of {n}")
    alpha = (1.0 - confidence) / 2.0

    def solve(tail: Callable[[float], float]) -> float:
        lo, hi = 0.0, 1.0  # tail(p) - alpha changes sign once on [0, 1]
        for _ in range(60):
            mid = (lo + hi) / 2.0
            if tail(mid) < alpha:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2.0

    low = 0.0 if failures == 0 else solve(lambda p: _binomial_tail(failures, n, p, True))
    if failures == n:
        return low, 1.0
    return low, 1.0 - solve(lambda q: _binomial_tail(failures, n, 1.0 - q, False))


def two_sample_p(failed_a: int, sent_a: int, failed_b: int, sent_b: int) -> float:
    """Two-sided p-value of Fisher's exact test that two binomial counts (``failed_a`` of
    ``sent_a``, ``failed_b`` of ``sent_b``) share one failure rate (scipy, which Sionna
    brings)."""
    from scipy.stats import fisher_exact

    table = [[failed_a, sent_a - failed_a], [failed_b, sent_b - failed_b]]
    return float(fisher_exact(table).pvalue)


def fit_snr_offset(
    snr_dbs: Sequence[float],
    failures: Sequence[int],
    blocks: Sequence[int],
    abstract_bler: Callable[[np.ndarray], np.ndarray],
    *,
    span_db: float = 4.0,
    step_db: float = 0.02,
) -> tuple[float, float, float]:
    """The SNR offset ``d`` (dB) for which ``abstract_bler(snr - d)`` best explains the
    bit-true counts (maximum likelihood), with its 95% likelihood-ratio interval.

    ``abstract_bler`` maps an array of SNRs (dB) to BLERs. ``d > 0``: the bit-true link needs
    ``d`` dB more than the abstraction says (the abstraction is optimistic). Searched on a
    grid of ``step_db`` over ``[-span_db, span_db]``; an end of the interval at the edge of the
    grid means "at least that far".
    """
    offsets = np.round(np.arange(-span_db, span_db + step_db / 2, step_db), 6)
    snrs = np.asarray(snr_dbs, dtype=float)
    k, n = np.asarray(failures, dtype=float), np.asarray(blocks, dtype=float)
    p = np.stack([abstract_bler(snrs - d) for d in offsets])  # [offsets, points]
    p = np.clip(p, 1e-9, 1.0 - 1e-9)
    loglik = (k * np.log(p) + (n - k) * np.log1p(-p)).sum(axis=1)
    top = float(loglik.max())
    # the abstraction looks SNRs up on a 0.1 dB grid, so the likelihood has flat steps:
    # the estimate is the middle of the best step
    best = offsets[loglik >= top - 1e-9]
    inside = offsets[loglik >= top - 1.920729]  # chi2(1) 95% / 2
    return float(round((best.min() + best.max()) / 2, 3)), float(inside.min()), float(inside.max())


# --------------------------------------------------------------------------------------
# the links


@dataclass(frozen=True)
class TableCount:
    """One point of a measured table as its file records it: ``failed`` of ``sent`` code
    blocks failed bit-true at ``snr_db``."""

    snr_db: float
    failed: int
    sent: int


@dataclass(frozen=True)
class LinkPair:
    """Both levels of one link (MCS and TB size), built once, and the table it draws from."""

    bit_true: object  # NrLdpcLink
    abstract: object  # NrAbstractLink
    table_snr_dbs: tuple[float, ...]  # the SNR grid of the table's entry for this MCS
    table_cb_sizes: tuple[int, ...]  # the CB sizes of that entry
    tables: TableKind = "shipped"
    table_file: str = ""  # the file holding that entry (as given on the command line)
    table_counts: tuple[TableCount, ...] = ()  # a measured table's counts behind each point

    @property
    def label(self) -> str:
        fmt = self.bit_true.fmt
        return f"MCS {fmt.mcs.index} ({fmt.mcs.modulation}), K {fmt.cb_bits} / E {fmt.cw_bits[0]}"

    def abstract_bler(self, snr_dbs: np.ndarray, fading: Fading, seed: int = 0) -> np.ndarray:
        """The abstraction's model BLER at each SNR (Rayleigh: mean over fading draws, the
        same draws at every SNR)."""
        link = self.abstract
        if fading == "awgn":
            return np.array([link.block_error_rate(snr_db=float(s)) for s in snr_dbs])
        return np.array([
            link.expected_block_error_rate(float(s), "rayleigh", samples=RAYLEIGH_SAMPLES,
                                           seed=seed)
            for s in snr_dbs
        ])  # fmt: skip


def _table_entry(doc: object, table_number: int, mcs: int) -> dict | None:
    """The entry (``SNR_db``, ``CBS``) of ``mcs`` in a table file's PDSCH tables, or None."""
    try:
        entry = doc["category"]["1"]["index"][str(table_number)]["MCS"][str(mcs)]
    except (KeyError, TypeError):
        return None
    return entry if isinstance(entry, dict) else None


def _measured_counts(doc: dict, fmt) -> tuple[TableCount, ...] | None:
    """The counts symcodec recorded for ``fmt``'s MCS in a table file, or None."""
    from symcodec.channel.nr.bler_table import measured_record

    c = measured_record(doc, fmt.mcs)
    if c is None:
        return None
    try:
        return tuple(
            TableCount(float(s), int(k), int(n))
            for s, k, n in zip(c["snr_db"], c["failed_blocks"], c["sent_blocks"], strict=True)
        )
    except (KeyError, TypeError, ValueError):  # a damaged record counts as none
        return None


def build_pair(
    mcs: int, symbols_per_tb: int, table: str, bler_tables: Sequence[Path] | None = None
) -> LinkPair:
    """Both links of one configuration and the grid of the table the abstraction draws from:
    Sionna's shipped table, or (``bler_tables``) the measured file holding this MCS
    (SymcodecError if impossible: more than one CB per TB, no file or two files for the MCS,
    a file not measured by symcodec, or one measured for another TB size)."""
    import json

    from symcodec.channel.nr import NrAbstractLink, NrLdpcLink, shipped_bler_table
    from symcodec.errors import SymcodecError

    bit_true = NrLdpcLink(mcs, table, symbols_per_tb=symbols_per_tb)
    fmt = bit_true.fmt
    if fmt.num_cbs != 1 or len(set(fmt.cw_bits)) != 1:
        raise SymcodecError(
            f"{fmt.mcs} on {symbols_per_tb} symbols per TB gives {fmt.num_cbs} code blocks; "
            "this benchmark wants one CB per TB (fewer symbols per TB)"
        )
    # refuses a file measured for another TB size, and tables without this MCS
    abstract = NrAbstractLink(mcs, table, symbols_per_tb=symbols_per_tb, bler_tables=bler_tables)
    number = fmt.mcs.table_number
    if bler_tables is None:
        with open(shipped_bler_table(number), encoding="utf-8") as f:
            entry = _table_entry(json.load(f), number, mcs)
        return LinkPair(
            bit_true, abstract, tuple(float(s) for s in entry["SNR_db"]),
            tuple(sorted(int(c) for c in entry["CBS"])), "shipped",
            os.path.basename(shipped_bler_table(number)),
        )  # fmt: skip
    holding = []
    for path in bler_tables:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        entry = _table_entry(doc, number, mcs)
        if entry is not None:
            holding.append((os.fspath(path), doc, entry))
    if len(holding) != 1:  # none: NrAbstractLink has refused already
        raise SymcodecError(
            f"--bler-tables: {' and '.join(h[0] for h in holding)} all hold {fmt.mcs}; "
            "give one file per MCS"
        )
    path, doc, entry = holding[0]
    counts = _measured_counts(doc, fmt)
    if counts is None:
        raise SymcodecError(
            f"--bler-tables: {path} holds {fmt.mcs} without symcodec's record of its transport "
            "format and counts (not written by measure-bler / write_bler_table)"
        )
    return LinkPair(
        bit_true, abstract, tuple(float(s) for s in entry["SNR_db"]),
        tuple(sorted(int(c) for c in entry["CBS"])), "measured", path, counts,
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# measuring


@dataclass
class Point:
    """One (MCS, SNR) comparison: a row of ``bler.csv``."""

    fading: str
    tables: TableKind  # what the abstraction drew from: Sionna's shipped or measured tables
    mcs: int
    modulation: str
    mcs_rate: float  # the table's target code rate R
    symbols_per_tb: int
    tb_bits: int
    cb_bits: int  # K, CRCs included
    cw_bits: int  # E
    cb_rate: float  # K / E
    snr_db: float
    table_grid_point: bool  # the SNR is on the table's grid (no SNR interpolation)
    code_blocks: int
    bit_true_failed: int
    bit_true_bler: float
    ci_low: float
    ci_high: float
    abstract_bler: float  # the table's (model) BLER
    abstract_failed: int  # drawn on the same CBs
    abstract_drawn_bler: float
    inside: bool  # abstract_bler in [ci_low, ci_high]
    bit_true_cpu_s: float
    # the SNR shift d with abstract(snr - d) = bit-true BLER (dB; > 0: the abstraction is
    # optimistic); NaN where the bit-true BLER is 0 or 1 (set by :func:`set_point_offsets`)
    offset_db: float = math.nan


def point_seed(seed: int, mcs: int, symbols_per_tb: int, snr_db: float, fading: str) -> int:
    """A seed for one point that depends on what the point is, not on the order of the run."""
    fading_index = ("awgn", "rayleigh").index(fading)
    snr_mdb = round(1000 * snr_db) + 10**6  # non-negative for any SNR above -1000 dB
    ss = np.random.SeedSequence([seed, mcs, symbols_per_tb, snr_mdb, fading_index])
    return int(ss.generate_state(1, np.uint64)[0] >> 2)


def measure(pair: LinkPair, snr_db: float, fading: Fading, blocks: int, seed: int) -> Point:
    """Send one random payload of ``blocks`` CBs at both levels at ``snr_db``."""
    fmt = pair.bit_true.fmt
    rng = np.random.default_rng(point_seed(seed, fmt.mcs.index, fmt.symbols_per_tb, snr_db, fading))
    tbs = -(-blocks // fmt.num_cbs)
    payload = rng.integers(0, 256, tbs * fmt.tb_bytes, dtype=np.uint8)
    bt_seed, ab_seed = (int(x) for x in rng.integers(0, 2**62, 2))
    start = time.process_time()
    bt = pair.bit_true.transmit_bytes(payload, snr_db=snr_db, fading=fading, seed=bt_seed)
    cpu_s = time.process_time() - start
    ab = pair.abstract.transmit_bytes(payload, snr_db=snr_db, fading=fading, seed=ab_seed)
    model = float(pair.abstract_bler(np.array([snr_db]), fading, seed=seed)[0])
    low, high = clopper_pearson(bt.failed_code_blocks, bt.code_blocks)
    on_grid = any(abs(snr_db - s) < 1e-6 for s in pair.table_snr_dbs)
    return Point(
        fading=fading, tables=pair.tables, mcs=fmt.mcs.index, modulation=fmt.mcs.modulation,
        mcs_rate=fmt.mcs.code_rate, symbols_per_tb=fmt.symbols_per_tb, tb_bits=fmt.tb_bits,
        cb_bits=fmt.cb_bits, cw_bits=fmt.cw_bits[0], cb_rate=fmt.cb_bits / fmt.cw_bits[0],
        snr_db=snr_db, table_grid_point=on_grid, code_blocks=bt.code_blocks,
        bit_true_failed=bt.failed_code_blocks, bit_true_bler=bt.bler, ci_low=low, ci_high=high,
        abstract_bler=model, abstract_failed=ab.failed_code_blocks, abstract_drawn_bler=ab.bler,
        inside=low <= model <= high, bit_true_cpu_s=cpu_s,
    )  # fmt: skip


def sweep(
    pair: LinkPair,
    fading: Fading,
    blocks: int,
    seed: int,
    *,
    step_db: float,
    max_points: int,
    log: Callable[[Point], None],
) -> list[Point]:
    """The automatic sweep across this configuration's waterfall (see the module docstring)."""
    fine = np.round(np.arange(-10.0, 40.0, 0.1), 3)
    p = pair.abstract_bler(fine, fading, seed=seed)
    above = fine[p >= SWEEP_START_BLER]
    start = float(above.max()) if above.size else float(fine[0])
    start = math.floor(start / step_db) * step_db
    points: dict[float, Point] = {}

    def take(snr: float) -> Point:
        snr = round(snr, 6)
        points[snr] = measure(pair, snr, fading, blocks, seed)
        log(points[snr])
        return points[snr]

    first = take(start)
    low = start
    while first.bit_true_bler < 0.9 and len(points) < max_points:  # the top of the waterfall
        low = round(low - step_db, 6)
        first = take(low)
    snr = start
    while len(points) < max_points:
        last = points[max(points)]
        if last.bit_true_bler <= SWEEP_STOP_BLER and last.abstract_bler <= SWEEP_STOP_BLER:
            break
        snr = round(snr + step_db, 6)
        take(snr)
    lo, hi = min(points), max(points)
    for grid in pair.table_snr_dbs:
        near = any(abs(grid - s) < GRID_TOLERANCE_DB for s in points)
        if lo < grid < hi and not near:
            take(grid)
    return [points[s] for s in sorted(points)]


def set_point_offsets(pair: LinkPair, points: Sequence[Point], fading: Fading, seed: int) -> None:
    """Fill each point's ``offset_db``: how far the abstract curve must move to pass through
    the bit-true BLER at that SNR (read off the curve on a fine grid, log-linear between its
    steps; NaN for a bit-true BLER of 0 or 1, or one the curve does not reach)."""
    if not points:
        return
    step = 0.02 if fading == "awgn" else 0.05
    snrs = np.round(np.arange(min(p.snr_db for p in points) - 5.0,
                              max(p.snr_db for p in points) + 1.0 + step / 2, step), 6)  # fmt: skip
    log_curve = np.log10(np.clip(pair.abstract_bler(snrs, fading, seed=seed), 1e-12, 1.0))
    for p in points:
        target = p.bit_true_bler
        if not 0.0 < target < 1.0 or not log_curve.min() < math.log10(target) < log_curve.max():
            p.offset_db = math.nan
            continue
        # the curve falls with SNR: interpolate SNR against -log BLER (increasing)
        crossing = float(np.interp(-math.log10(target), -log_curve, snrs))
        p.offset_db = round(p.snr_db - crossing, 3)
