"""The line through a distance sweep's projection gains: ``gain = intercept + slope x d_S``
fitted by least squares (:func:`fit_gain_line`), with 95% CIs of its slope and of its zero
crossing (the distance at which the fitted gain falls through 0) from one stratified bootstrap.
Claim 5 (:mod:`symcodec.report.claim_distance`) is decided from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .paired import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED


@dataclass(frozen=True)
class GainLine:
    """The least-squares line ``gain = intercept + slope x d_S`` and its bootstrap CIs.

    Attributes:
        slope, slope_low, slope_high: the slope (pp per unit d_S) and its 95% CI.
        intercept: the fitted gain at d_S = 0 (pp).
        crossing, crossing_low, crossing_high: where the fitted gain falls through 0 (d_S)
            and its 95% CI. ``inf`` when the fitted gain never falls to 0 (slope >= 0, gain
            positive at 0), ``-inf`` when it is not positive at d_S = 0 and does not fall.
        d_min, d_max: the smallest and largest distance fitted.
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

    def gain_at(self, distance: float) -> float:
        """The fitted gain (pp) at ``distance``."""
        return self.intercept + self.slope * distance

    @property
    def crossing_in_sweep(self) -> bool:
        """Whether the fitted gain crosses 0 within the distances fitted."""
        return self.d_min <= self.crossing <= self.d_max

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
                f"the fitted gain crosses 0 at d_S {self.crossing:.3f} ({ci}): projection stops "
                "paying beyond it"
            )
        if self.crossing > self.d_max:
            at = f"{self.gain_at(self.d_max):+.2f} pp at the largest d_S {self.d_max:.3f}"
            beyond = (
                f"; the line would cross 0 at d_S {self.crossing:.3f}, an extrapolation"
                if math.isfinite(self.crossing)
                else ""
            )
            return (
                "zero crossing not reached in the sweep: the fitted gain is still "
                f"{at}{beyond} ({ci})"
            )
        at = f"{self.gain_at(self.d_min):+.2f} pp at the smallest d_S {self.d_min:.3f}"
        return f"zero crossing not reached in the sweep: the fitted gain is already {at} ({ci})"


def _distance_text(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _zero_crossings(intercepts: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """Where ``intercept + slope x d`` falls through 0: ``-intercept/slope`` for a falling
    line, ``inf`` for one that never falls to 0, ``-inf`` for one not above 0 at d = 0 that
    does not fall."""
    intercepts, slopes = np.asarray(intercepts, float), np.asarray(slopes, float)
    out = np.where(intercepts > 0, np.inf, -np.inf)
    falling = slopes < 0
    out[falling] = -intercepts[falling] / slopes[falling]
    return out


def fit_gain_line(
    by_distance: Mapping[float, Sequence[float]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    rng_seed: int = BOOTSTRAP_SEED,
) -> GainLine:
    """Least-squares line of gain on distance, with 95% percentile CIs of its slope and of
    its zero crossing from one stratified bootstrap (the gains resampled with replacement
    within each distance; fixed RNG seed).

    >>> line = fit_gain_line({0.0: [2.0, 2.0], 1.0: [1.0, 1.0], 3.0: [-1.0, -1.0]})
    >>> line.slope, line.intercept, line.crossing, line.crossing_low, line.crossing_high
    (-1.0, 2.0, 2.0, 2.0, 2.0)
    """
    levels = sorted(by_distance)
    counts = np.array([len(by_distance[d]) for d in levels], dtype=float)
    x = np.repeat(np.array(levels, dtype=float), counts.astype(int))
    x_mean = float(x.mean())
    weights = counts * (np.array(levels, dtype=float) - x_mean)
    sxx = float(((x - x_mean) ** 2).sum())
    level_means = np.array([np.mean(by_distance[d]) for d in levels])
    slope = float(weights @ level_means / sxx)
    intercept = float(counts @ level_means / counts.sum() - slope * x_mean)
    rng = np.random.default_rng(rng_seed)
    boot = np.zeros((resamples, len(levels)))
    for j, d in enumerate(levels):
        values = np.asarray(by_distance[d], dtype=float)
        boot[:, j] = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(1)
    slopes = boot @ weights / sxx
    crossings = _zero_crossings(boot @ counts / counts.sum() - slopes * x_mean, slopes)
    crossing = float(_zero_crossings(np.array([intercept]), np.array([slope]))[0])
    return GainLine(
        slope=slope,
        slope_low=float(np.percentile(slopes, 2.5)),
        slope_high=float(np.percentile(slopes, 97.5)),
        intercept=intercept,
        crossing=crossing,
        crossing_low=float(np.percentile(crossings, 2.5, method="inverted_cdf")),
        crossing_high=float(np.percentile(crossings, 97.5, method="inverted_cdf")),
        d_min=float(levels[0]),
        d_max=float(levels[-1]),
    )


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
