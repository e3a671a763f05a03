"""The line through a distance sweep's projection gains: ``gain = intercept + slope x d_S``
fitted by least squares (:func:`fit_gain_line`), with a 95% CI of its slope, and the zero
crossing of the measured gains (the distance at which the mean gain, joined linearly between
the measured distances, falls through 0: :func:`first_zero_crossing`) with its 95% CI, both
from one bootstrap.
Claim 5 (:mod:`symcodec.report.claim_distance`) is decided from it.

The bootstrap covers the variance the gains have. With one training seed it is stratified:
the gains are resampled within each distance (noise draws only). With two or more training
seeds it is two-level, like the paired CIs of :mod:`symcodec.report.paired`: the training
seeds are resampled with replacement, then, within each drawn seed, the gains of each of its
models; so the CI also covers how the models of different seeds scatter about the line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .paired import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

Bootstrap = Literal["stratified", "two-level"]
"""How :func:`fit_gain_line` resamples: within distances, or training seeds then within."""

Gains = Sequence[float] | Mapping[int, Sequence[float]]
"""A distance's gains (pp): pooled, or by training seed."""


@dataclass(frozen=True)
class GainLine:
    """The least-squares line ``gain = intercept + slope x d_S``, the zero crossing of the
    measured gains, and their bootstrap CIs.

    Attributes:
        slope, slope_low, slope_high: the slope (pp per unit d_S) and its 95% CI.
        intercept: the fitted gain at d_S = 0 (pp).
        crossing, crossing_low, crossing_high: where the mean gain, taken in order of d_S and
            joined linearly between the measured distances, first falls from above 0 to 0 or
            below (:func:`first_zero_crossing`), and its 95% CI. ``inf`` when it stays above 0
            over the sweep, ``-inf`` when it is not above 0 at the smallest distance. The gain
            against d_S is rarely a line (it falls steeply near the subspace and flattens far
            from it), so the crossing is read from the measurements, not from the line.
        d_min, d_max: the smallest and largest distance fitted.
        gain_min_d, gain_max_d: the mean gain (pp) at the smallest and the largest distance.
        bootstrap: ``"stratified"`` (one training seed: gains resampled within each
            distance) or ``"two-level"`` (training seeds, then gains within each).
    """

    slope: float
    slope_low: float
    slope_high: float
    intercept: float
    crossing: float
    crossing_low: float
    crossing_high: float
    d_min: float
    d_max: float
    gain_min_d: float = math.nan
    gain_max_d: float = math.nan
    bootstrap: Bootstrap = "stratified"

    @property
    def bootstrap_text(self) -> str:
        """How the CIs were resampled, in words."""
        if self.bootstrap == "two-level":
            return "two-level bootstrap: training seeds, then trials within each model"
        return "stratified bootstrap over trials"

    def gain_at(self, distance: float) -> float:
        """The fitted line's gain (pp) at ``distance``."""
        return self.intercept + self.slope * distance

    @property
    def crossing_in_sweep(self) -> bool:
        """Whether the measured gain crosses 0 within the sweep."""
        return math.isfinite(self.crossing)

    def slope_text(self) -> str:
        """``-4.00 pp per unit d_S, 95% CI [-5.00, -3.00]``."""
        return (
            f"{self.slope:+.2f} pp per unit d_S, 95% CI [{self.slope_low:+.2f}, "
            f"{self.slope_high:+.2f}]"
        )

    def crossing_text(self) -> str:
        """Where projection stops paying: the zero crossing with its CI, or why it is not
        reached in the sweep."""
        ci = f"95% CI [{_distance_text(self.crossing_low)}, {_distance_text(self.crossing_high)}]"
        if self.crossing_in_sweep:
            return (
                "the measured gain (joined linearly between the distances) crosses 0 at d_S "
                f"{self.crossing:.3f} ({ci}): projection stops paying beyond it"
            )
        if self.crossing > 0:
            at = f"{self.gain_max_d:+.2f} pp at the largest d_S {self.d_max:.3f}"
            return f"zero crossing not reached in the sweep: the gain is still {at} ({ci})"
        at = f"{self.gain_min_d:+.2f} pp at the smallest d_S {self.d_min:.3f}"
        return f"zero crossing not reached in the sweep: the gain is already {at} ({ci})"


def _distance_text(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def first_zero_crossing(levels: Sequence[float], means: Sequence[float]) -> float:
    """Where the mean gains ``means`` at the distances ``levels`` (ascending), joined
    linearly, first fall from above 0 to 0 or below; ``inf`` if they stay above 0, ``-inf``
    if the first is not above 0. Distances without a mean (nan) are passed over.

    >>> first_zero_crossing([0.0, 0.1, 0.5], [4.0, 2.0, -6.0])
    0.2
    >>> first_zero_crossing([0.0, 1.0], [1.0, 0.5]), first_zero_crossing([0.0, 1.0], [0.0, -1.0])
    (inf, -inf)
    """
    points = [(float(d), float(g)) for d, g in zip(levels, means, strict=True) if not math.isnan(g)]
    if not points or points[0][1] <= 0:
        return -math.inf
    for (d0, g0), (d1, g1) in zip(points, points[1:], strict=False):
        if g1 <= 0:
            return d0 + g0 * (d1 - d0) / (g0 - g1)
    return math.inf


def fit_gain_line(
    by_distance: Mapping[float, Gains],
    resamples: int = BOOTSTRAP_RESAMPLES,
    rng_seed: int = BOOTSTRAP_SEED,
) -> GainLine:
    """Least-squares line of gain on distance (all gains pooled), with 95% percentile CIs of
    its slope and of its zero crossing from one bootstrap (fixed RNG seed). A distance's
    gains are a sequence, or a mapping from training seed to a sequence. With two or more
    training seeds among them the bootstrap is two-level (seeds, then each drawn seed's
    gains within each distance), else stratified (gains within each distance).

    >>> line = fit_gain_line({0.0: [2.0, 2.0], 1.0: [1.0, 1.0], 3.0: [-1.0, -1.0]})
    >>> line.slope, line.intercept, line.crossing, line.crossing_low, line.crossing_high
    (-1.0, 2.0, 2.0, 2.0, 2.0)
    >>> seeds = {0.0: {0: [2.0, 2.0], 1: [2.5, 2.5]}, 0.4: {0: [1.0, 1.0]}, 0.6: {1: [0.0, 0.0]}}
    >>> two = fit_gain_line(seeds)
    >>> two.bootstrap, round(two.slope, 3), two.slope_low < two.slope < two.slope_high
    ('two-level', -3.611, True)
    """
    by_seed = _by_seed(by_distance)
    levels = np.array(sorted(by_distance), dtype=float)
    groups = [(s, np.searchsorted(levels, d), np.asarray(v, dtype=float)) for s, d, v in by_seed]
    counts = np.zeros(len(levels))
    sums = np.zeros(len(levels))
    for _, j, values in groups:
        counts[j] += len(values)
        sums[j] += values.sum()
    slope, intercept = _line(levels, counts[None], sums[None])
    rng = np.random.default_rng(rng_seed)
    seeds = sorted({s for s, _, _ in groups})
    if len(seeds) >= 2:
        boot_counts, boot_sums = _two_level(levels, groups, seeds, resamples, rng)
        method: Bootstrap = "two-level"
    else:
        boot_counts = np.broadcast_to(counts, (resamples, len(levels)))
        boot_sums = np.zeros((resamples, len(levels)))
        for _, j, values in groups:
            boot_sums[:, j] += values[rng.integers(0, len(values), (resamples, len(values)))].sum(1)
        method = "stratified"
    slopes, _ = _line(levels, boot_counts, boot_sums)
    slopes = slopes[np.isfinite(slopes)]
    with np.errstate(divide="ignore", invalid="ignore"):
        boot_means = np.where(boot_counts > 0, boot_sums / boot_counts, np.nan)
    crossings = np.array([first_zero_crossing(levels, m) for m in boot_means])
    means = sums / counts
    return GainLine(
        slope=float(slope[0]),
        slope_low=float(np.percentile(slopes, 2.5)),
        slope_high=float(np.percentile(slopes, 97.5)),
        intercept=float(intercept[0]),
        crossing=first_zero_crossing(levels, means),
        crossing_low=float(np.percentile(crossings, 2.5, method="inverted_cdf")),
        crossing_high=float(np.percentile(crossings, 97.5, method="inverted_cdf")),
        d_min=float(levels[0]),
        d_max=float(levels[-1]),
        gain_min_d=float(means[0]),
        gain_max_d=float(means[-1]),
        bootstrap=method,
    )


def _by_seed(by_distance: Mapping[float, Gains]) -> list[tuple[int, float, Sequence[float]]]:
    """``(training seed, distance, gains)`` per seed and distance (seed 0 for pooled gains)."""
    out = []
    for d in sorted(by_distance):
        gains = by_distance[d]
        items = gains.items() if isinstance(gains, Mapping) else ((0, gains),)
        out += [(int(s), d, v) for s, v in sorted(items) if len(v)]
    return out


def _line(levels: np.ndarray, counts: np.ndarray, sums: np.ndarray):
    """Least-squares slopes and intercepts, one per row of ``counts`` (gains per distance)
    and ``sums`` (their sums): nan where a row has fewer than two distances."""
    n = counts.sum(1)
    x_mean = counts @ levels / n
    centred = levels[None] - x_mean[:, None]
    sxx = (counts * centred**2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.where(sxx > 0, (centred * sums).sum(1) / sxx, np.nan)
    return slopes, sums.sum(1) / n - slopes * x_mean


def _two_level(levels, groups, seeds, resamples: int, rng: np.random.Generator):
    """Per resample, the gains' counts and sums per distance when the training seeds are
    drawn with replacement and each drawn seed's gains within each distance are drawn with
    replacement (a seed drawn k times contributes k independent draws)."""
    n_seeds = len(seeds)
    drawn = rng.integers(0, n_seeds, (resamples, n_seeds))
    times = np.stack([(drawn == i).sum(1) for i in range(n_seeds)], axis=1)
    counts = np.zeros((resamples, len(levels)))
    sums = np.zeros((resamples, len(levels)))
    for seed, j, values in groups:
        k = times[:, seeds.index(seed)]
        n = len(values)
        draws = values[rng.integers(0, n, (resamples, n_seeds, n))].sum(2)
        counts[:, j] += k * n
        sums[:, j] += np.where(np.arange(n_seeds)[None] < k[:, None], draws, 0.0).sum(1)
    return counts, sums


def slope_with_ci(
    by_distance: Mapping[float, Sequence[float]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    rng_seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float]:
    """Least-squares slope of gain on distance and its 95% percentile CI by a stratified
    bootstrap (the gains resampled with replacement within each distance; fixed RNG seed);
    the slope of :func:`fit_gain_line`.

    >>> slope, low, high = slope_with_ci({0.0: [2.0, 2.0], 1.0: [1.0, 1.0], 2.0: [0.0, 0.0]})
    >>> slope, low, high
    (-1.0, -1.0, -1.0)
    """
    line = fit_gain_line(by_distance, resamples, rng_seed)
    return line.slope, line.slope_low, line.slope_high
