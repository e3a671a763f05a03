"""95% confidence intervals without scipy: Student t quantiles and the mean with its half-width."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..errors import SymcodecError

# Student t 0.975 quantiles (two-sided 95%), df -> t. Beyond the table the normal limit is used.
_T975: tuple[tuple[int, float], ...] = (
    (1, 12.706205),
    (2, 4.302653),
    (3, 3.182446),
    (4, 2.776445),
    (5, 2.570582),
    (6, 2.446912),
    (7, 2.364624),
    (8, 2.306004),
    (9, 2.262157),
    (10, 2.228139),
    (11, 2.200985),
    (12, 2.178813),
    (13, 2.160369),
    (14, 2.144787),
    (15, 2.131450),
    (16, 2.119905),
    (17, 2.109816),
    (18, 2.100922),
    (19, 2.093024),
    (20, 2.085963),
    (21, 2.079614),
    (22, 2.073873),
    (23, 2.068658),
    (24, 2.063899),
    (25, 2.059539),
    (26, 2.055529),
    (27, 2.051831),
    (28, 2.048407),
    (29, 2.045230),
    (30, 2.042272),
    (40, 2.021075),
    (50, 2.008559),
    (60, 2.000298),
    (80, 1.990063),
    (100, 1.983972),
    (120, 1.979930),
    (200, 1.971896),
    (500, 1.964720),
    (1000, 1.962339),
)
_Z975 = 1.959964


def t_critical_975(df: float) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (two-sided 95%).

    Exact table values (6 decimals) for df 1..30, 40, 50, 60, 80, 100, 120, 200, 500, 1000;
    between entries, linear interpolation in 1/df (error below 1e-4); the normal quantile
    1.959964 as df goes to infinity.

    Example:
        >>> t_critical_975(4)
        2.776445
        >>> round(t_critical_975(10**9), 4)
        1.96
    """
    if isinstance(df, float) and math.isinf(df) and df > 0:
        return _Z975
    try:
        df = float(df)
    except (TypeError, ValueError):
        raise SymcodecError(f"degrees of freedom must be a number, got {df!r}") from None
    if not df >= 1:
        raise SymcodecError(f"degrees of freedom must be >= 1, got {df}")
    points = [(1.0 / d, t) for d, t in _T975] + [(0.0, _Z975)]  # descending in 1/df
    x = 1.0 / df
    for (x_hi, t_hi), (x_lo, t_lo) in zip(points, points[1:], strict=False):
        if x == x_hi:
            return t_hi
        if x_lo <= x < x_hi:
            return t_lo + (t_hi - t_lo) * (x - x_lo) / (x_hi - x_lo)
    return _Z975  # not reached


def mean_ci95(values: Iterable[float]) -> tuple[float, float]:
    """Mean and 95% confidence half-width ``t(n-1) * s / sqrt(n)`` (sample std, ddof=1).

    NaN values are left out (a trial that produced no number). One value gives a half-width
    of nan; no values give ``(nan, nan)``.

    Example:
        >>> mean, half = mean_ci95([1, 2, 3, 4, 5])
        >>> mean, round(half, 4)
        (3.0, 1.9632)
    """
    data = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(data)
    if n == 0:
        return math.nan, math.nan
    mean = math.fsum(data) / n
    if n == 1:
        return mean, math.nan
    s = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1))
    return mean, t_critical_975(n - 1) * s / math.sqrt(n)


def mean_skipping_nan(values: Iterable[float]) -> float:
    """The mean of the values that are numbers (None and NaN left out); NaN if there are none.

    Example:
        >>> mean_skipping_nan([1.0, float("nan"), 3.0])
        2.0
    """
    return mean_ci95(values)[0]
