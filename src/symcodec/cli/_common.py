"""Argument types and output helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..errors import SymcodecError


def console() -> Console:
    """Console on stdout; plain text when stdout is not a terminal."""
    probe = Console()
    width = None if probe.is_terminal else 160
    return Console(highlight=False, soft_wrap=False, width=width)


def checked_number(name: str, kind: type, accept: Callable[[Any], bool], rule: str):
    """An argparse type: ``kind(text)`` (int or float) that ``accept`` must pass; errors
    read "NAME must be RULE, got TEXT".

    >>> step = checked_number("step", float, lambda v: v > 0, "a number > 0")
    >>> step("0.5")
    0.5
    >>> step("-1")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: step must be a number > 0, got '-1'
    """
    noun = "an integer" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {noun}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{name} must be {rule}, got {text!r}")
        return value

    parse.__name__ = name.replace(" ", "_")  # argparse names the type in its messages
    return parse


positive_count = checked_number("count", int, lambda v: v >= 1, "an integer >= 1")
"""A count argument (trials, blocks, ...): an integer >= 1."""

bits_arg = checked_number("bits", int, lambda v: 2 <= v <= 16 or v == 32, "in 2..16 or 32")
"""``--bits``: 2..16 for uniform codes, 32 for float32 passthrough."""


def kernel_arg(text: str) -> tuple[int, int]:
    """``--kernel 3`` or ``--kernel 3x5``."""
    parts = text.lower().split("x")
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"kernel must be K or KHxKW, got {text!r}") from None
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < 1 or max(dims) > 64:
        raise argparse.ArgumentTypeError(f"kernel must be K or KHxKW with 1..64, got {text!r}")
    return dims[0], dims[1]


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def output_path(path: str, suffixes: tuple[str, ...]) -> Path:
    """Validate an output path before any work is done."""
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise SymcodecError(f"output {out} must end in {' or '.join(suffixes)}")
    if out.is_dir():
        raise SymcodecError(f"output {out} is a directory")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise SymcodecError(f"output directory {parent} does not exist")
    return out


def new_table(title: str | None = None) -> Table:
    return Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)


def kbits(bits: int) -> str:
    return f"{bits / 1000:,.1f}"
