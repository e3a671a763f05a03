"""Shared by the NR link tests: a binomial interval, the one-torch-thread fixture, and BLER
table files written from set points."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from symcodec.channel.nr import (
    DEFAULT_SYMBOLS_PER_TB,
    BlerCurve,
    BlerPoint,
    lookup_mcs,
    transport_format,
    write_bler_table,
)


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


def set_point_table(
    path: str | os.PathLike,
    mcs: int,
    points: Sequence[tuple[float, int, int]],
    symbols_per_tb: int = DEFAULT_SYMBOLS_PER_TB,
) -> Path:
    """A BLER table file for qam64 ``mcs`` on ``symbols_per_tb`` symbols per TB, written from
    set ``(snr_db, failed blocks, sent blocks)`` points: for tests of what reads tables, not of
    the measurement. Returns ``path``."""
    fmt = transport_format(lookup_mcs(mcs, "qam64"), symbols_per_tb)
    write_bler_table(path, [BlerCurve(fmt, tuple(BlerPoint(*p) for p in points))])
    return Path(path)
