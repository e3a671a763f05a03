"""The checks of single study keys (:mod:`symcodec.study.spec_parsing`): each returns the
key's value or raises :class:`~symcodec.errors.SymcodecError` naming the key
(``study key 'channel.p': ...``). ``prefix`` is the table's path (``"channel."``).
"""

from __future__ import annotations

import math
from typing import NoReturn

from ..errors import SymcodecError

__all__ = [
    "bool_field",
    "fail",
    "float_field",
    "int_field",
    "one_of",
    "reject_unknown",
    "strings",
]


def fail(key: str, why: str) -> NoReturn:
    """Raise the error of study key ``key``: ``study key 'channel.p': why``."""
    raise SymcodecError(f"study key {key!r}: {why}")


def reject_unknown(table: dict, known: set[str], prefix: str) -> None:
    """Fail on the first key of ``table`` not in ``known`` (named with ``prefix``)."""
    unknown = sorted(set(table) - known)
    if unknown:
        fail(prefix + unknown[0], "unknown key")


def one_of(doc: dict, key: str, default: str, known: list[str], what: str) -> str:
    """``doc[key]`` (or ``default``), which must be one of ``known`` (a ``what``)."""
    value = doc.get(key, default)
    if value not in known:
        fail(key, f"unknown {what} {value!r}; known: {', '.join(known)}")
    return value


def strings(doc: dict, key: str, default: list[str], allowed, prefix: str = "") -> tuple[str, ...]:
    """``doc[key]`` (or ``default``) as a tuple: one string or a non-empty list of them,
    each in ``allowed``."""
    value = doc.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        fail(prefix + key, "must be a non-empty list of strings")
    for v in value:
        if v not in allowed:
            fail(prefix + key, f"unknown value {v!r}; known: {', '.join(allowed)}")
    return tuple(value)


def int_field(doc: dict, key: str, default: int | None, low: int, prefix: str) -> int | None:
    """``doc[key]`` (or ``default``, which may be None): an integer at least ``low``.

    >>> int_field({"trials": 5}, "trials", 1, 1, ""), int_field({}, "test_limit", None, 1, "")
    (5, None)
    """
    value = doc.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        fail(prefix + key, f"must be an integer >= {low}, got {value!r}")
    return value


def bool_field(doc: dict, key: str, default: bool, prefix: str) -> bool:
    """``doc[key]`` (or ``default``): true or false."""
    value = doc.get(key, default)
    if not isinstance(value, bool):
        fail(prefix + key, "must be true or false")
    return value


def float_field(doc: dict, key: str, default: float, prefix: str) -> float:
    """``doc[key]`` (or ``default``): a finite number, as a float."""
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        fail(prefix + key, f"must be a finite number, got {value!r}")
    return float(value)
