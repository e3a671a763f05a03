"""Two-sided tests of "the median paired difference is 0", without scipy: the sign test
(exact binomial) and the Wilcoxon signed-rank test (exact up to 25 non-zero differences,
normal approximation above). Zero differences are left out, as usual."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

WILCOXON_EXACT_MAX_N = 25
"""Up to this many non-zero differences the Wilcoxon p-value is exact."""


def _nonzero(differences: Iterable[float]) -> list[float]:
    return [float(d) for d in differences if not math.isnan(float(d)) and float(d) != 0.0]


def sign_test_p(differences: Iterable[float]) -> float:
    """Two-sided exact sign test: ``min(1, 2 P(X <= min(#pos, #neg)))``, X ~ Bin(n, 1/2),
    n the number of non-zero differences (1.0 when there are none).

    >>> sign_test_p([1, 2, 3, 4, 5])  # 2 / 2**5
    0.0625
    >>> sign_test_p([1, -1, 2, 0])  # zeros dropped; 2 * (1 + 3) / 8 capped at 1
    1.0
    """
    data = _nonzero(differences)
    n = len(data)
    if n == 0:
        return 1.0
    k = min(sum(d > 0 for d in data), sum(d < 0 for d in data))
    tail = math.fsum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2.0 * tail)


def signed_ranks(differences: Sequence[float]) -> list[float]:
    """Ranks of ``|d|`` (1 = smallest, ties get their average rank), in input order.

    >>> signed_ranks([-1.0, 2.0, 2.0, 3.0])
    [1.0, 2.5, 2.5, 4.0]
    """
    order = sorted(range(len(differences)), key=lambda i: abs(differences[i]))
    ranks = [0.0] * len(differences)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and abs(differences[order[j + 1]]) == abs(differences[order[i]]):
            j += 1
        for position in range(i, j + 1):
            ranks[order[position]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _exact_tail_counts(doubled_ranks: Sequence[int]) -> list[int]:
    """Number of sign assignments giving each value of 2 W+ (W+ = sum of positive ranks)."""
    counts = [0] * (sum(doubled_ranks) + 1)
    counts[0] = 1
    for r in doubled_ranks:
        for total in range(len(counts) - 1, r - 1, -1):
            counts[total] += counts[total - r]
    return counts


def wilcoxon_signed_rank_p(differences: Iterable[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences.

    W+ is the sum of the ranks of ``|d|`` (average ranks for ties) over positive ``d``.
    For n <= :data:`WILCOXON_EXACT_MAX_N` non-zero differences the p-value is exact:
    ``min(1, 2 min(P(W+ <= w), P(W+ >= w)))`` over the 2^n equally likely sign assignments
    of the observed ranks. Above, the normal approximation with tie correction and
    continuity correction. 1.0 when there are no non-zero differences.

    >>> wilcoxon_signed_rank_p([1, 2, 3, 4, 5])  # only the all-positive assignment: 2 / 32
    0.0625
    >>> round(wilcoxon_signed_rank_p([1, -2, 3, 4, 5]), 6)  # W+ = 13: P(W+ >= 13) = 3/32
    0.1875
    """
    data = _nonzero(differences)
    n = len(data)
    if n == 0:
        return 1.0
    ranks = signed_ranks(data)
    w_plus = math.fsum(r for r, d in zip(ranks, data, strict=True) if d > 0)
    if n <= WILCOXON_EXACT_MAX_N:
        doubled = [round(2 * r) for r in ranks]
        counts = _exact_tail_counts(doubled)
        w2 = round(2 * w_plus)
        total = 2**n
        lower = sum(counts[: w2 + 1]) / total
        upper = sum(counts[w2:]) / total
        return min(1.0, 2.0 * min(lower, upper))
    mean = n * (n + 1) / 4
    ties: dict[float, int] = {}
    for r in ranks:
        ties[r] = ties.get(r, 0) + 1
    variance = n * (n + 1) * (2 * n + 1) / 24 - sum(t**3 - t for t in ties.values()) / 48
    if variance <= 0:
        return 1.0
    excess = max(abs(w_plus - mean) - 0.5, 0.0)
    return min(1.0, math.erfc(excess / math.sqrt(variance) / math.sqrt(2)))
