"""Limits that keep a decoder's time and memory bounded by the size of the stream.

See ``docs/security.md``. The header validator (:mod:`.header`) checks every record against
them before anything is built, and the encoder (:mod:`.writer`) enforces them too, so it
never writes a stream that the decoder refuses.

>>> element_limit(1000)          # small streams get the minimum allowance
16777216
>>> element_limit(10**6)         # 1024 elements per byte
1024000000
"""

from __future__ import annotations

import numpy as np

from ..errors import SymcodecError
from ..symmetry import MAX_KERNEL_POSITIONS, Symmetry, generator_permutation

MAX_HEADER_BYTES = 64 * 1024 * 1024
# A compressed header may expand at most this much (JSON headers compress 3-6x; DEFLATE's
# own limit is about 1032x), so a small stream cannot make the decoder inflate megabytes.
MAX_HEADER_EXPANSION = 256
MIN_HEADER_ALLOWANCE = 64 * 1024
MAX_DIMS = 8

# MAX_KERNEL_POSITIONS (kh * kw of a kernel that carries a symmetry) is the symmetry
# module's own limit, 32 * 32.
MAX_GENERATORS = 16  # generators of a user-defined symmetry
MAX_GROUP_ORDER = 64  # elements of the group a user-defined symmetry generates
MAX_SYMMETRY_NAME = 256  # characters of a symmetry name
# Orbit layouts a stream makes the receiver derive: the sum over its distinct
# (symmetry, kernel shape) pairs of n**2 + n * |G| * (generators + 1), n = kh * kw.
MAX_SYMMETRY_WORK = 2**22
# Elements the receiver rebuilds: at most max(MIN_ELEMENT_ALLOWANCE, MAX_ELEMENTS_PER_BYTE x
# stream bytes). A dof kernel with no live orbit or a pruned tensor keeping nothing costs no
# payload, so the shapes alone must not be trusted.
MIN_ELEMENT_ALLOWANCE = 2**24
MAX_ELEMENTS_PER_BYTE = 1024

__all__ = [
    "MAX_DIMS",
    "MAX_ELEMENTS_PER_BYTE",
    "MAX_GENERATORS",
    "MAX_GROUP_ORDER",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_EXPANSION",
    "MAX_KERNEL_POSITIONS",
    "MAX_SYMMETRY_NAME",
    "MAX_SYMMETRY_WORK",
    "MIN_ELEMENT_ALLOWANCE",
    "MIN_HEADER_ALLOWANCE",
    "check_element_total",
    "check_symmetry_limits",
    "element_limit",
    "group_order",
    "show_value",
]


def show_value(value, limit: int = 64) -> str:
    """A short, safe rendering of an untrusted header value for an error message.

    >>> show_value("x" * 100, limit=10), show_value(10**40), show_value([1, 2])
    ("'xxxxxx...", '<big int>', '<list>')
    """
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "<big int>"
        return text if len(text) <= limit else text[: limit - 3] + "..."
    return f"<{type(value).__name__}>"


def element_limit(stream_bytes: int) -> int:
    """How many tensor elements a stream of ``stream_bytes`` bytes may make a receiver build."""
    return max(MIN_ELEMENT_ALLOWANCE, MAX_ELEMENTS_PER_BYTE * stream_bytes)


def check_element_total(total: int, stream_bytes: int, name: str, field: str = "shape") -> None:
    """Elements rebuilt plus entropy-table entries built, against :func:`element_limit`."""
    limit = element_limit(stream_bytes)
    if total > limit:
        raise SymcodecError(
            f"tensor {show_value(name)}: field {field!r} makes the stream hold more than {limit} "
            f"elements and table entries ({MAX_ELEMENTS_PER_BYTE} per byte of a "
            f"{stream_bytes}-byte stream)"
        )


def check_symmetry_limits(
    symmetry: Symmetry, kernel: tuple[int, ...], where: str, seen: dict | None = None
) -> None:
    """Refuse a symmetric kernel whose orbit layout would be too costly to derive.

    Checks ``kh * kw`` against :data:`MAX_KERNEL_POSITIONS`, the order of the group of a
    symmetry with explicit permutations against :data:`MAX_GROUP_ORDER` (found by a closure
    that stops at the bound), and, through ``seen`` (distinct ``(symmetry, kernel)`` pairs of
    one stream and their cost), the total against :data:`MAX_SYMMETRY_WORK`. Runs before any
    layout is derived.
    """
    if len(kernel) != 2:
        return  # symmetry.dof raises the precise error
    kh, kw = kernel
    n = kh * kw
    if n > MAX_KERNEL_POSITIONS:
        raise SymcodecError(
            f"{where}: a symmetric kernel has at most {MAX_KERNEL_POSITIONS} positions, "
            f"got {kh}x{kw}"
        )
    if n < 1:
        return  # symmetry.dof raises the precise error
    if len(symmetry.generators) > MAX_GENERATORS:
        raise SymcodecError(
            f"{where}: symmetry {show_value(symmetry.name)} has more than {MAX_GENERATORS} "
            "generators"
        )
    key = (symmetry, kh, kw)
    if seen is not None and key in seen:
        return
    order = 8  # geometric maps generate a subgroup of D4
    if any(not isinstance(g, str) for g in symmetry.generators):
        perms = []
        for g in symmetry.generators:
            try:
                perms.append(np.asarray(generator_permutation(symmetry, g, kh, kw), np.int64))
            except SymcodecError:
                return  # not a permutation of this kernel: symmetry.dof raises the error
        found = group_order(perms, MAX_GROUP_ORDER)
        if found is None:
            raise SymcodecError(
                f"{where}: symmetry {show_value(symmetry.name)} generates a group of more than "
                f"{MAX_GROUP_ORDER} elements"
            )
        order = found
    if seen is None:
        return
    seen[key] = n * n + n * order * (len(symmetry.generators) + 1)
    if sum(seen.values()) > MAX_SYMMETRY_WORK:
        raise SymcodecError(
            f"{where}: the stream's symmetries need too many orbit layouts "
            f"(more than {MAX_SYMMETRY_WORK} units of n^2 + n |G| (generators + 1))"
        )


def group_order(perms: list[np.ndarray], limit: int) -> int | None:
    """Order of the group the permutations generate, or None if it exceeds ``limit``."""
    if not perms:
        return 1
    identity = np.arange(perms[0].shape[0], dtype=np.int64)
    seen = {identity.tobytes()}
    frontier = [identity]
    while frontier:
        nxt = []
        for h in frontier:
            for g in perms:
                element = g[h]
                key = element.tobytes()
                if key not in seen:
                    seen.add(key)
                    if len(seen) > limit:
                        return None
                    nxt.append(element)
        frontier = nxt
    return len(seen)
