"""Bjøntegaard delta rate between two rate–accuracy curves (SPEC section 10).

The BD-rate of codec A against codec B is the average byte difference of their curves over a
common accuracy band: each curve's ``log10(bytes)`` is fitted against accuracy with a monotone,
shape-preserving piecewise cubic (Fritsch–Carlson / PCHIP), the difference of the two fits is
averaged over the band, and the result is ``10 ** mean - 1`` in percent. Negative: A needs
fewer bytes for the same accuracy.

Measured curves are not monotone (a smaller stream can score a lucky point), so each curve is
first reduced to its Pareto front: the points that no other point beats with fewer or equal
bytes and a higher or equal accuracy. The band is ``[reference - 2 pp, reference - 0.3 pp]``
by default (the reference is the best unconstrained float model), clipped to the accuracy
range both fronts cover.

>>> rate = [10_000, 20_000, 40_000, 80_000]
>>> acc = [88.0, 90.0, 91.0, 91.5]
>>> round(bd_rate(rate, acc, rate, acc, band=(89.0, 91.0)), 6)
0.0
>>> round(bd_rate([r / 2 for r in rate], acc, rate, acc, band=(89.0, 91.0)), 6)
-50.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SymcodecError

__all__ = [
    "BdRate",
    "PairedCurves",
    "bd_rate",
    "bd_rate_bootstrap",
    "bd_rate_bootstrap_seeds",
    "covered_band",
    "pareto_front",
    "pchip",
]

#: Points of the dense grid the band is averaged on (the fits are cubic: the trapezoid rule
#: on this grid is exact to far below the measurement's own error).
BAND_POINTS = 2001


def pareto_front(
    bytes_: Sequence[float], accuracy: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The points of a rate–accuracy curve that no other point dominates (fewer or equal
    bytes and higher or equal accuracy), sorted by accuracy; strictly increasing in both.

    >>> pareto_front([10, 20, 30, 40], [90.0, 89.0, 92.0, 92.0])
    (array([90., 92.]), array([10., 30.]))
    """
    b = np.asarray(bytes_, dtype=np.float64)
    a = np.asarray(accuracy, dtype=np.float64)
    if b.shape != a.shape or b.ndim != 1 or b.size == 0:
        raise SymcodecError("a rate-accuracy curve needs as many byte counts as accuracies (>= 1)")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(a)) and np.all(b > 0)):
        raise SymcodecError("a rate-accuracy curve needs finite accuracies and positive bytes")
    order = np.lexsort((-a, b))  # by bytes, the best accuracy first among equal bytes
    a, b = a[order], b[order]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(a)[:-1]))
    keep = a > best_before  # better than every point with fewer (or as many) bytes
    return a[keep], b[keep]


def pchip(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Monotone piecewise cubic Hermite interpolation (Fritsch–Carlson, with the end slopes
    of Moler's ``pchip``) of ``y(x)`` at ``at``; ``x`` strictly increasing, ``at`` inside.

    >>> pchip(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 4.0]), np.array([0.5, 1.0]))
    array([0.3125, 1.    ])
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size == 1:
        return np.full_like(np.asarray(at, dtype=np.float64), y[0])
    h = np.diff(x)
    delta = np.diff(y) / h
    slopes = np.zeros_like(y)
    if x.size == 2:
        slopes[:] = delta[0]
    else:
        # interior points where the secants on either side agree in sign get the weighted
        # harmonic mean of the two, written without dividing by a secant (a tiny one would
        # overflow); the others stay flat
        h0, h1 = h[:-1], h[1:]
        d0, d1 = delta[:-1], delta[1:]
        w1, w2 = 2 * h1 + h0, h1 + 2 * h0
        same_sign = d0 * d1 > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            harmonic = (w1 + w2) * d0 * d1 / (w1 * d1 + w2 * d0)
        slopes[1:-1] = np.where(same_sign, harmonic, 0.0)
        slopes[0] = _end_slope(h[0], h[1], delta[0], delta[1])
        slopes[-1] = _end_slope(h[-1], h[-2], delta[-1], delta[-2])
    at = np.asarray(at, dtype=np.float64)
    k = np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2)
    t = (at - x[k]) / h[k]
    h00, h10 = (1 + 2 * t) * (1 - t) ** 2, t * (1 - t) ** 2
    h01, h11 = t**2 * (3 - 2 * t), t**2 * (t - 1)
    return h00 * y[k] + h10 * h[k] * slopes[k] + h01 * y[k + 1] + h11 * h[k] * slopes[k + 1]


def _end_slope(h0: float, h1: float, d0: float, d1: float) -> float:
    slope = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if np.sign(slope) != np.sign(d0):
        return 0.0
    if np.sign(d0) != np.sign(d1) and abs(slope) > abs(3 * d0):
        return 3 * d0
    return slope


def bd_rate(
    bytes_a: Sequence[float],
    accuracy_a: Sequence[float],
    bytes_b: Sequence[float],
    accuracy_b: Sequence[float],
    band: tuple[float, float],
) -> float:
    """BD-rate of curve A against curve B, in percent, over the accuracy ``band`` clipped to
    the range both Pareto fronts cover (negative: A needs fewer bytes).

    Raises:
        SymcodecError: the fronts do not overlap inside the band.
    """
    xa, ya = pareto_front(bytes_a, accuracy_a)
    xb, yb = pareto_front(bytes_b, accuracy_b)
    low, high = _covered(xa, xb, band)
    grid = np.linspace(low, high, BAND_POINTS)
    difference = pchip(xa, np.log10(ya), grid) - pchip(xb, np.log10(yb), grid)
    # the trapezoid rule by hand: np.trapezoid is numpy 2 only, and NNCodec's environment
    # (make bench-nncodec) pins numpy < 2
    area = float(np.sum((difference[1:] + difference[:-1]) * np.diff(grid)) / 2)
    mean = area / (high - low)
    return float(100.0 * (10.0**mean - 1.0))


def covered_band(
    bytes_a: Sequence[float],
    accuracy_a: Sequence[float],
    bytes_b: Sequence[float],
    accuracy_b: Sequence[float],
    band: tuple[float, float],
) -> tuple[float, float]:
    """The accuracy interval :func:`bd_rate` averages over: ``band`` clipped to the range
    both Pareto fronts cover. A BD-rate says nothing of the rest of the band, where one
    curve has no point.

    >>> covered_band([1e4, 2e4], [88.0, 90.0], [1e4, 3e4], [87.0, 92.0], band=(89.0, 91.0))
    (89.0, 90.0)

    Raises:
        SymcodecError: the fronts do not overlap inside the band.
    """
    xa, _ = pareto_front(bytes_a, accuracy_a)
    xb, _ = pareto_front(bytes_b, accuracy_b)
    return _covered(xa, xb, band)


def _covered(xa: np.ndarray, xb: np.ndarray, band: tuple[float, float]) -> tuple[float, float]:
    low = float(max(band[0], xa[0], xb[0]))
    high = float(min(band[1], xa[-1], xb[-1]))
    if not high > low:
        raise SymcodecError(
            f"the curves do not overlap in the band [{band[0]:.2f}, {band[1]:.2f}] "
            f"(A covers {xa[0]:.2f}..{xa[-1]:.2f}, B {xb[0]:.2f}..{xb[-1]:.2f})"
        )
    return low, high


@dataclass(frozen=True)
class BdRate:
    """A BD-rate with its bootstrap CI (percent), the band it was asked for, and the part
    of it both curves cover (``covered``, what the point estimate averaged over; with
    several training seeds the mean of theirs). ``covered_fraction`` is its share of the
    band: a BD-rate over a sliver of the band is a statement about that sliver only."""

    bd_rate_pct: float
    ci_low_pct: float
    ci_high_pct: float
    band: tuple[float, float]
    resamples: int
    covered: tuple[float, float]

    @property
    def covered_fraction(self) -> float:
        """The covered interval's width over the band's."""
        return (self.covered[1] - self.covered[0]) / (self.band[1] - self.band[0])


@dataclass(frozen=True)
class PairedCurves:
    """Two rate–accuracy curves (A and B) of one training seed and that seed's reference,
    every point given by its stream size and its per-image correctness (a boolean row) over
    the same test images; the reference is the seed's best unconstrained float model."""

    bytes_a: Sequence[float]
    correct_a: np.ndarray
    bytes_b: Sequence[float]
    correct_b: np.ndarray
    reference_correct: np.ndarray


def bd_rate_bootstrap(
    bytes_a: Sequence[float],
    correct_a: np.ndarray,
    bytes_b: Sequence[float],
    correct_b: np.ndarray,
    reference_correct: np.ndarray,
    *,
    band_pp: tuple[float, float] = (2.0, 0.3),
    resamples: int = 1000,
    seed: int = 0,
) -> BdRate:
    """BD-rate of A against B with a 95% CI from a paired bootstrap over test images: the
    one-seed case of :func:`bd_rate_bootstrap_seeds`.

    Each curve point is given by its stream size and its per-image correctness (a boolean
    row over the same test images); the reference is the best unconstrained float model's
    correctness. One bootstrap draw resamples the images once, for every point of both
    curves and the reference alike (paired), recomputes the accuracies, the band
    ``[reference - band_pp[0], reference - band_pp[1]]`` and the BD-rate. The CI is the 2.5 and
    97.5 percentiles of the draws; draws whose curves do not overlap in the band are skipped
    (and the count of those that remained is reported).

    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(2000) < 0.9
    >>> points = [truth & (rng.random(2000) < p) for p in (0.96, 0.98, 0.99, 1.0)]
    >>> sizes = [1e4, 2e4, 4e4, 8e4]
    >>> r = bd_rate_bootstrap(sizes, points, [2 * s for s in sizes], points, truth,
    ...                       band_pp=(3.0, 0.2), resamples=200)
    >>> round(r.bd_rate_pct, 6), round(r.ci_low_pct, 6), round(r.ci_high_pct, 6)
    (-50.0, -50.0, -50.0)
    """
    curves = PairedCurves(bytes_a, correct_a, bytes_b, correct_b, reference_correct)
    return bd_rate_bootstrap_seeds([curves], band_pp=band_pp, resamples=resamples, seed=seed)


def bd_rate_bootstrap_seeds(
    seeds: Sequence[PairedCurves],
    *,
    band_pp: tuple[float, float] = (2.0, 0.3),
    resamples: int = 1000,
    seed: int = 0,
) -> BdRate:
    """The mean over training seeds of the BD-rate of A against B, with a 95% CI from a
    two-level bootstrap: training seeds, then test images.

    ``seeds`` holds one :class:`PairedCurves` per training seed, all over the same test
    images. Seed ``s``'s band is ``[ref_s - band_pp[0], ref_s - band_pp[1]]`` of its own
    reference. One draw picks as many seeds as there are, with replacement (with one seed,
    that one: no draw is spent on it), then resamples the test images once for every point
    of every curve and reference alike (paired: an image that is hard for one seed's models
    stays in or out for all of them), and averages the BD-rates of the seeds picked; the CI
    thus covers the spread between training seeds as well as the test set's sampling. A draw
    in which a picked seed's curves do not overlap in its band is skipped. The reported band
    is the mean of the seeds' bands.

    >>> rng = np.random.default_rng(1)
    >>> truth = rng.random(1000) < 0.9
    >>> points = [truth & (rng.random(1000) < p) for p in (0.96, 0.98, 0.99, 1.0)]
    >>> sizes = [1e4, 2e4, 4e4, 8e4]
    >>> half = PairedCurves([s / 2 for s in sizes], points, sizes, points, truth)
    >>> same = PairedCurves(sizes, points, sizes, points, truth)
    >>> r = bd_rate_bootstrap_seeds([half, same], band_pp=(3.0, 0.2), resamples=200)
    >>> round(r.bd_rate_pct, 6), r.ci_low_pct <= -25.0 <= r.ci_high_pct
    (-25.0, True)

    Raises:
        SymcodecError: no seed given, rows of different lengths, a seed's curves do not
            overlap in its band, or no draw overlapped.
    """
    if not seeds:
        raise SymcodecError("a BD-rate needs the curves of at least one training seed")
    # Correctness as 0/1 floats: a resample of the test images is then the image counts
    # (how often each image was drawn), and a point's accuracy one dot product with them,
    # exact in float64 and far cheaper than gathering the drawn columns.
    rows = [
        (
            np.asarray(c.correct_a, dtype=bool).astype(np.float64),
            np.asarray(c.correct_b, dtype=bool).astype(np.float64),
            np.asarray(c.reference_correct, dtype=bool).astype(np.float64),
            c.bytes_a,
            c.bytes_b,
        )
        for c in seeds
    ]
    images = rows[0][2].shape[-1]
    if any(r.shape[-1] != images for row in rows for r in row[:3]):
        raise SymcodecError("every curve point needs one correctness value per test image")

    def seed_curves(s: int, counts: np.ndarray) -> tuple:
        """Seed ``s``'s ``(bytes_a, accuracy_a, bytes_b, accuracy_b, band)`` on the test
        images drawn ``counts`` times each."""
        ca, cb, ref, bytes_a, bytes_b = rows[s]
        reference = 100.0 * ((ref @ counts) / images)
        band = (reference - band_pp[0], reference - band_pp[1])
        acc_a = 100.0 * ((ca @ counts) / images)
        acc_b = 100.0 * ((cb @ counts) / images)
        return bytes_a, acc_a, bytes_b, acc_b, band

    def estimate(picked: Sequence[int], counts: np.ndarray) -> float:
        return float(np.mean([bd_rate(*seed_curves(s, counts)) for s in picked]))

    every_seed = range(len(rows))
    every_image = np.ones(images)
    point = estimate(every_seed, every_image)
    covered = [covered_band(*seed_curves(s, every_image)) for s in every_seed]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        picked = rng.integers(0, len(rows), len(rows)) if len(rows) > 1 else every_seed
        counts = np.bincount(rng.integers(0, images, images), minlength=images).astype(float)
        try:
            draws.append(estimate(picked, counts))
        except SymcodecError:
            continue
    if not draws:
        raise SymcodecError("no bootstrap draw had overlapping curves in the band")
    low, high = np.percentile(draws, [2.5, 97.5])
    reference = float(np.mean([100.0 * row[2].mean() for row in rows]))
    band = (reference - band_pp[0], reference - band_pp[1])
    low_covered, high_covered = np.mean(covered, axis=0)
    return BdRate(
        point, float(low), float(high), band, len(draws), (float(low_covered), float(high_covered))
    )
