"""An MCS for every class of the stream on an NR link: :class:`NrProtection` and its presets.

Every class of :mod:`.stream_classes` (``header``, ``side``, ``kernel-msb``, ``kernel``) gets
an MCS of one 38.214 table; the classes that share an MCS form one *segment*
(:meth:`NrProtection.segments`), sent in its own transport blocks
(:mod:`.unequal_protection`).

Presets (:meth:`NrProtection.from_preset`): ``none`` one MCS for all; ``side`` the robust
``protect_mcs`` for ``header`` and ``side``, the chosen MCS for the kernels; ``side+msb``
also the kernels' MSB plane at ``protect_mcs``.

>>> p = NrProtection.from_preset("side+msb", mcs=15, protect_mcs=6)
>>> p.mcs["header"], p.mcs["kernel-msb"], p.mcs["kernel"], p.msb_split
(6, 6, 15, True)
>>> p.segments()
[(6, ('header', 'side', 'kernel-msb')), (15, ('kernel',))]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from ..channel.nr import MCS_TABLES
from ..errors import SymcodecError
from .stream_classes import STREAM_CLASSES

__all__ = [
    "PROTECT_MCS_STEP",
    "PROTECT_PRESETS",
    "NrProtection",
    "ProtectPreset",
    "default_protect_mcs",
]

ProtectPreset = Literal["none", "side", "side+msb"]
PROTECT_PRESETS: tuple[str, ...] = get_args(ProtectPreset)
#: how many MCS indices below the chosen one the default protection MCS sits
PROTECT_MCS_STEP = 5
# the lowest MCS of each table that Sionna's BLER tables cover (the abstraction's floor)
_LOWEST_TABULATED = {"qam64": 3, "qam256": 2, "qam64-lowse": 9, "qam1024": 2}


def default_protect_mcs(mcs: int, mcs_table: str = "qam64") -> int:
    """The robust MCS a preset uses when none is given: ``PROTECT_MCS_STEP`` indices below
    ``mcs``, but not below the lowest MCS the PHY abstraction has a table for (nor above
    ``mcs``).

    >>> default_protect_mcs(15), default_protect_mcs(5), default_protect_mcs(2)
    (10, 3, 2)
    """
    floor = _LOWEST_TABULATED.get(mcs_table, 0)
    return max(mcs - PROTECT_MCS_STEP, min(mcs, floor))


@dataclass(frozen=True)
class NrProtection:
    """An MCS for every class of the stream (:data:`~.stream_classes.STREAM_CLASSES`).

    Attributes:
        mcs: class name -> MCS index in ``mcs_table`` (every class, no other key).
        mcs_table: the 38.214 MCS table's name.
        name: the preset's name, or ``"custom"``.
    """

    mcs: Mapping[str, int]
    mcs_table: str = "qam64"
    name: str = "custom"

    def __post_init__(self) -> None:
        if self.mcs_table not in MCS_TABLES:
            raise SymcodecError(
                f"unknown NR MCS table {self.mcs_table!r}; known: {', '.join(MCS_TABLES)}"
            )
        if set(self.mcs) != set(STREAM_CLASSES):
            missing = sorted(set(STREAM_CLASSES) - set(self.mcs))
            extra = sorted(set(self.mcs) - set(STREAM_CLASSES))
            raise SymcodecError(
                f"an NR protection needs an MCS for each of {', '.join(STREAM_CLASSES)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        highest = MCS_TABLES[self.mcs_table][1]
        for cls, index in self.mcs.items():
            if isinstance(index, bool) or not isinstance(index, int | np.integer):
                raise SymcodecError(f"MCS of class {cls} must be an integer, got {index!r}")
            if not 0 <= int(index) <= highest:
                raise SymcodecError(
                    f"MCS {index} of class {cls} is not in NR MCS table {self.mcs_table} "
                    f"(indices 0..{highest})"
                )
        object.__setattr__(self, "mcs", {c: int(self.mcs[c]) for c in STREAM_CLASSES})

    @classmethod
    def from_preset(
        cls,
        preset: str,
        mcs: int,
        protect_mcs: int | None = None,
        mcs_table: str = "qam64",
    ) -> NrProtection:
        """A named preset: ``none``, ``side`` or ``side+msb`` (see the module docstring);
        ``protect_mcs`` defaults to :func:`default_protect_mcs` and may not exceed ``mcs``."""
        if preset not in PROTECT_PRESETS:
            raise SymcodecError(
                f"unknown protection preset {preset!r}; known: {', '.join(PROTECT_PRESETS)}"
            )
        robust = default_protect_mcs(mcs, mcs_table) if protect_mcs is None else protect_mcs
        if isinstance(robust, int) and isinstance(mcs, int) and robust > mcs:
            raise SymcodecError(
                f"the protection MCS ({robust}) must not exceed the MCS ({mcs}): it is the "
                "more robust one"
            )
        side = mcs if preset == "none" else robust
        msb = robust if preset == "side+msb" else mcs
        table = {"header": side, "side": side, "kernel-msb": msb, "kernel": mcs}
        return cls(table, mcs_table, preset)

    @property
    def msb_split(self) -> bool:
        """Whether the kernels' MSB plane travels apart (its MCS differs from the rest's)."""
        return self.mcs["kernel-msb"] != self.mcs["kernel"]

    def segments(self) -> list[tuple[int, tuple[str, ...]]]:
        """``(MCS, classes)`` of every segment, in the order of the classes' first MCS."""
        out: dict[int, list[str]] = {}
        for c in STREAM_CLASSES:
            if c == "kernel-msb" and not self.msb_split:
                continue
            out.setdefault(self.mcs[c], []).append(c)
        return [(m, tuple(cs)) for m, cs in out.items()]
