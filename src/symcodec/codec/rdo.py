"""Rate–distortion-optimised rounding of a ``step`` quantizer's levels (an encoder choice).

Plain rounding picks the level nearest to ``x / step``. Rate–distortion-optimised (RDO)
rounding picks, for every value, the one of its two neighbouring levels ``floor(x / step)``
and ``floor(x / step) + 1`` that minimises

    (x - level * step) ** 2 + lagrangian * step ** 2 * bits(level)

where ``bits(level) = -log2 p(level)`` is the code length under the entropy model the
``ans`` coder would fit to the levels (:func:`~.entropy.fit_model`). The model depends on
the levels, so the choice is iterated a few times from plain rounding (the model refitted
each time). ``lagrangian`` is dimensionless: the distortion, in units of ``step ** 2``, worth
one bit; the high-rate optimum of a uniform quantizer is ``ln(2) / 6`` (about 0.12).

The decoder is not involved: it dequantizes whatever levels arrive, so RDO streams are
ordinary version-1 streams. Levels stay inside the range plain rounding produced, so the
alphabet of the ``ans`` model never grows.

>>> import numpy as np
>>> x = np.array([0.0, 0.45, 0.55, 0.55, -0.55, 0.0, 0.0, 0.0], dtype=np.float32)
>>> rdo_levels(x, step=1.0, lagrangian=0.0).tolist()      # plain rounding
[0, 0, 1, 1, -1, 0, 0, 0]
>>> rdo_levels(x, step=1.0, lagrangian=0.5).tolist()      # 0.55 costs too many bits as 1
[0, 0, 0, 0, 0, 0, 0, 0]
"""

from __future__ import annotations

import numpy as np

from ..errors import SymcodecError
from .entropy import fit_model

#: Refits of the entropy model (each followed by a new choice of levels).
DEFAULT_ITERATIONS = 2


def check_lagrangian(lagrangian) -> float:
    """``lagrangian`` as a float, refused unless a finite number ``>= 0``.

    >>> check_lagrangian(0.12)
    0.12
    """
    if isinstance(lagrangian, bool) or not isinstance(lagrangian, int | float | np.floating):
        raise SymcodecError(f"rdo_lambda must be a number, got {type(lagrangian).__name__}")
    value = float(lagrangian)
    if not (np.isfinite(value) and value >= 0.0):
        raise SymcodecError(f"rdo_lambda must be a finite number >= 0, got {value!r}")
    return value


def code_lengths_bits(levels: np.ndarray, first: int, n: int) -> np.ndarray:
    """``-log2 p(k)`` for the ``n`` levels ``k = first .. first + n - 1`` under the model
    :func:`~.entropy.fit_model` fits to ``levels``; ``inf`` where the model gives 0 (an
    unused level of a histogram), 0 for a one-level range.

    >>> code_lengths_bits(np.array([0, 0, 1, -1]), -1, 3).round(3).tolist()
    [2.0, 1.0, 2.0]
    """
    if n == 1:
        return np.zeros(1)
    model, _ = fit_model((levels - first).astype(np.int32), first, n)
    weights = model.weights(first, n)
    with np.errstate(divide="ignore"):
        return -np.log2(weights / weights.sum())


def rdo_levels(
    values: np.ndarray,
    step: float,
    lagrangian: float,
    start: np.ndarray | None = None,
    iterations: int = DEFAULT_ITERATIONS,
) -> np.ndarray:
    """The RDO levels (int32, C order) of ``values`` at ``step`` (see the module docstring).

    ``start`` is the plain rounding to begin from (default: rounding half away from zero,
    the ``step`` quantizer with no dead zone); the levels stay inside its range.
    ``lagrangian == 0`` returns ``start`` unchanged.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    u = x / float(step)
    if start is None:
        start = np.sign(u) * np.floor(np.abs(u) + 0.5)
    levels = np.asarray(start).astype(np.int64).reshape(-1)
    if levels.size == 0 or lagrangian == 0.0:
        return levels.astype(np.int32)
    first, top = int(levels.min()), int(levels.max())
    below = np.floor(u).astype(np.int64)
    low = np.clip(below, first, top)
    high = np.clip(below + 1, first, top)
    err_low = (u - low) ** 2
    err_high = (u - high) ** 2
    for _ in range(iterations):
        bits = code_lengths_bits(levels, first, top - first + 1)
        cost_low = err_low + lagrangian * bits[low - first]
        cost_high = err_high + lagrangian * bits[high - first]
        chosen = np.where(cost_low <= cost_high, low, high)
        if np.array_equal(chosen, levels):
            break
        levels = chosen
    return levels.astype(np.int32)
