"""Paired comparisons of two methods at one setting: :func:`compare_paired`.

Rows of method A and method B are paired by :func:`~symcodec.report.trial_fields.pair_id`,
``(train_seed, noise_seed)`` (``(train_seed, trial)`` for older results): the two rows of a
pair saw the same trained seed's noise draw, so their difference in Acc Rx is free of the
noise that both share. The :class:`PairedComparison` holds the number of pairs, the mean
difference A - B with a 95% CI, the median difference, the sign-test and Wilcoxon p-values
and each side's outage ``P(Acc Rx < Acc Tx,q - 5 pp)``.

The CI (:func:`mean_difference_ci`) covers training-seed and noise variance: with two or more
training seeds it is a two-level percentile bootstrap (resample the training seeds with
replacement, then within each drawn seed its pairs with replacement; the statistic is the mean
over all drawn pairs; 2000 resamples; a fixed RNG seed, so the same data give the same CI).
With one training seed it is the Student t interval over the pairs.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .confidence import t_critical_975
from .rank_tests import sign_test_p, wilcoxon_signed_rank_p
from .trial_fields import pair_id

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240531
OUTAGE_MARGIN_PP = 5.0
"""A trial is an outage when its Acc Rx is below its Acc Tx,q by more than this (pp)."""


@dataclass(frozen=True)
class PairedComparison:
    """A paired comparison of A against B (differences are A - B, in pp of accuracy).

    Attributes:
        n_pairs: pairs with a number on both sides.
        n_train_seeds: distinct training seeds among the pairs.
        mean_diff: mean of the differences.
        ci_low, ci_high: its 95% CI (two-level bootstrap, or t over pairs with one training
            seed; nan with fewer than 2 pairs).
        ci_method: ``"two-level bootstrap"``, ``"t over pairs"`` or ``"none"``.
        median_diff: median of the differences.
        sign_p: two-sided exact sign-test p-value.
        wilcoxon_p: two-sided Wilcoxon signed-rank p-value.
        outage_a, outage_b: each side's share of trials with Acc Rx < Acc Tx,q - 5 pp.
    """

    n_pairs: int
    n_train_seeds: int
    mean_diff: float
    ci_low: float
    ci_high: float
    ci_method: str
    median_diff: float
    sign_p: float
    wilcoxon_p: float
    outage_a: float
    outage_b: float

    @property
    def a_ahead(self) -> bool:
        """A is ahead beyond the CI (its lower end above 0)."""
        return math.isfinite(self.ci_low) and self.ci_low > 0

    @property
    def b_ahead(self) -> bool:
        """B is ahead beyond the CI (its upper end below 0)."""
        return math.isfinite(self.ci_high) and self.ci_high < 0

    def text(self, unit: str = "pp") -> str:
        """The deciding numbers in one phrase, e.g. ``+1.20 pp [+0.40, +2.00] (n=20, ...)``."""
        ci = (
            f"[{self.ci_low:+.2f}, {self.ci_high:+.2f}]"
            if math.isfinite(self.ci_low)
            else "[no CI]"
        )
        return (
            f"{self.mean_diff:+.2f} {unit} {ci} (n={self.n_pairs} pairs, "
            f"{self.n_train_seeds} training seed{'s' if self.n_train_seeds != 1 else ''}; "
            f"median {self.median_diff:+.2f}; sign p={self.sign_p:.3g}, "
            f"Wilcoxon p={self.wilcoxon_p:.3g})"
        )


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """The 95% Student t interval of the mean of ``values`` (nan, nan with fewer than 2).

    >>> [round(x, 4) for x in t_interval([1.0, 2.0, 3.0])]  # 2 -+ 4.302653 / sqrt(3)
    [-0.4841, 4.4841]
    """
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    mean = math.fsum(values) / n
    s = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_critical_975(n - 1) * s / math.sqrt(n)
    return mean - half, mean + half


def two_level_bootstrap_ci(
    by_seed: Mapping[int, Sequence[float]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    rng_seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """95% percentile CI of the mean difference by a two-level bootstrap.

    Each resample draws as many training seeds as there are, with replacement, then for each
    drawn seed as many of its values as it has, with replacement, and takes the mean of all
    drawn values. The seeds are taken in sorted order and the RNG is
    ``numpy.random.default_rng(rng_seed)``, so the result is reproducible and negating every
    value negates (and swaps) the interval.

    >>> low, high = two_level_bootstrap_ci({0: [1.0, 1.0], 1: [1.0]})
    >>> low, high
    (1.0, 1.0)
    """
    seeds = sorted(by_seed)
    groups = [np.asarray(by_seed[s], dtype=float) for s in seeds]
    rng = np.random.default_rng(rng_seed)
    means = np.empty(resamples)
    for b in range(resamples):
        picked = rng.integers(0, len(groups), size=len(groups))
        total, count = 0.0, 0
        for g in picked:
            values = groups[g]
            draw = rng.integers(0, len(values), size=len(values))
            total += float(values[draw].sum())
            count += len(values)
        means[b] = total / count
    means.sort()
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def mean_difference_ci(by_seed: Mapping[int, Sequence[float]]) -> tuple[float, float, str]:
    """The 95% CI of the mean difference and how it was made: the two-level bootstrap with 2
    or more training seeds, the t interval over the pairs with one; ``"none"`` below 2 pairs.

    >>> mean_difference_ci({0: [1.0, 2.0, 3.0]})[2], mean_difference_ci({0: [1.0]})[2]
    ('t over pairs', 'none')
    """
    values = [v for s in sorted(by_seed) for v in by_seed[s]]
    if len(values) < 2:
        return math.nan, math.nan, "none"
    if len(by_seed) >= 2:
        low, high = two_level_bootstrap_ci(by_seed)
        return low, high, "two-level bootstrap"
    low, high = t_interval(values)
    return low, high, "t over pairs"


def outage_share(rows: Iterable[Mapping], margin_pp: float = OUTAGE_MARGIN_PP) -> float:
    """Share of rows (0..1) with ``acc_rx < acc_txq - margin_pp``; nan without rows that
    have both numbers.

    >>> outage_share([{"acc_rx": 90, "acc_txq": 96}, {"acc_rx": 92, "acc_txq": 96}])
    0.5
    """
    flags = [
        float(r["acc_rx"]) < float(r["acc_txq"]) - margin_pp
        for r in rows
        if _number(r.get("acc_rx")) and _number(r.get("acc_txq"))
    ]
    return sum(flags) / len(flags) if flags else math.nan


def _number(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def paired_values(
    a_rows: Iterable[Mapping], b_rows: Iterable[Mapping], column: str = "acc_rx"
) -> list[tuple[tuple[int, int], Mapping, Mapping]]:
    """The pairs ``(pair_id, a_row, b_row)`` sorted by pair id, for rows with a number in
    ``column`` on both sides. A pair id seen twice on one side is a data error: the first
    row is kept."""
    a_by: dict = {}
    for r in a_rows:
        if _number(r.get(column)):
            a_by.setdefault(pair_id(r), r)
    b_by: dict = {}
    for r in b_rows:
        if _number(r.get(column)):
            b_by.setdefault(pair_id(r), r)
    return [(key, a_by[key], b_by[key]) for key in sorted(a_by.keys() & b_by.keys())]


def compare_differences(by_seed: Mapping[int, Sequence[float]]) -> PairedComparison:
    """A :class:`PairedComparison` from paired differences grouped by training seed (no
    outage figures: those need the rows, see :func:`compare_paired`).

    >>> c = compare_differences({0: [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> c.n_pairs, c.mean_diff, c.median_diff, c.sign_p, c.wilcoxon_p, c.ci_method
    (5, 3.0, 3.0, 0.0625, 0.0625, 't over pairs')
    """
    values = [float(v) for s in sorted(by_seed) for v in by_seed[s]]
    by_seed = {s: [float(v) for v in by_seed[s]] for s in sorted(by_seed) if by_seed[s]}
    if not values:
        return PairedComparison(
            0, 0, math.nan, math.nan, math.nan, "none", math.nan, 1.0, 1.0, math.nan, math.nan
        )
    low, high, method = mean_difference_ci(by_seed)
    return PairedComparison(
        n_pairs=len(values),
        n_train_seeds=len(by_seed),
        mean_diff=math.fsum(values) / len(values),
        ci_low=low,
        ci_high=high,
        ci_method=method,
        median_diff=float(statistics.median(values)),
        sign_p=sign_test_p(values),
        wilcoxon_p=wilcoxon_signed_rank_p(values),
        outage_a=math.nan,
        outage_b=math.nan,
    )


def compare_paired(
    a_rows: Iterable[Mapping], b_rows: Iterable[Mapping], column: str = "acc_rx"
) -> PairedComparison:
    """Compare method A's rows with method B's at one setting, paired by training seed and
    noise seed (or trial): differences A - B of ``column`` (default Acc Rx).

    Rows without a partner are left out. The outage figures are over the paired rows.

    >>> a = [{"trial": t, "acc_rx": 90.0 + t, "acc_txq": 92.0} for t in range(4)]
    >>> b = [{"trial": t, "acc_rx": 85.0 + t, "acc_txq": 92.0} for t in range(4)]
    >>> c = compare_paired(a, b)
    >>> c.n_pairs, c.mean_diff, c.ci_method, c.outage_a, c.outage_b
    (4, 5.0, 't over pairs', 0.0, 0.5)
    """
    pairs = paired_values(a_rows, b_rows, column)
    by_seed: dict[int, list[float]] = {}
    for (seed, _), a, b in pairs:
        by_seed.setdefault(seed, []).append(float(a[column]) - float(b[column]))
    result = compare_differences(by_seed)
    return PairedComparison(
        **{
            **result.__dict__,
            "outage_a": outage_share(a for _, a, _ in pairs),
            "outage_b": outage_share(b for _, _, b in pairs),
        }
    )
