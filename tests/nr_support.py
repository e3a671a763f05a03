"""Shared by the NR link tests: a binomial interval and the one-torch-thread fixture."""

from __future__ import annotations

import math

import pytest
import torch


def wilson_99(failures: int, n: int) -> tuple[float, float]:
    """99% Wilson score interval of a binomial proportion.

    >>> [round(x, 3) for x in wilson_99(50, 100)]
    [0.375, 0.625]
    """
    z, p = 2.5758, failures / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Sionna's decoder is many small torch ops: on busy cores one thread is ~5x faster.
    Import it into a test module to apply it there (autouse, module scope)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
