"""5G NR modulation and coding schemes: a named 38.214 MCS table and an index in it.

The four PDSCH tables of 3GPP TS 38.214 section 5.1.3.1 are named as the RRC parameter
``mcs-Table`` names them:

=================  ====================  =================  ==========
name               38.214 table          modulations        indices
=================  ====================  =================  ==========
``qam64``          5.1.3.1-1 (default)   QPSK .. 64-QAM     0 .. 28
``qam256``         5.1.3.1-2             QPSK .. 256-QAM    0 .. 27
``qam64-lowse``    5.1.3.1-3             QPSK .. 64-QAM     0 .. 28
``qam1024``        5.1.3.1-4             QPSK .. 1024-QAM   0 .. 26
=================  ====================  =================  ==========

The entries (modulation order ``Q_m`` and target code rate ``R x 1024``) are read from Sionna
(``sionna.phy.nr.utils.decode_mcs_index``), not copied here; the reserved indices (29-31, and
28 in ``qam256``, 27-28 in ``qam1024``) are refused. Needs the ``links`` extra.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ...errors import SymcodecError
from .backend import require_sionna

__all__ = ["MCS_TABLES", "Mcs", "McsTable", "lookup_mcs", "table_number"]

McsTable = Literal["qam64", "qam256", "qam64-lowse", "qam1024"]

#: table name -> (38.214 table number 5.1.3.1-N, highest valid MCS index)
MCS_TABLES: dict[str, tuple[int, int]] = {
    "qam64": (1, 28),
    "qam256": (2, 27),
    "qam64-lowse": (3, 28),
    "qam1024": (4, 26),
}


@dataclass(frozen=True)
class Mcs:
    """One MCS: what an index of a named table means.

    Attributes:
        table: the table's name (``"qam64"``, ...).
        index: the MCS index ``I_MCS`` in that table.
        bits_per_symbol: modulation order ``Q_m`` (2 QPSK, 4 16-QAM, 6 64-QAM, ...).
        code_rate: target code rate ``R`` (the table's ``R x 1024`` over 1024).
    """

    table: str
    index: int
    bits_per_symbol: int
    code_rate: float

    @property
    def spectral_efficiency(self) -> float:
        """Information bits per channel use at the target rate: ``Q_m * R``."""
        return self.bits_per_symbol * self.code_rate

    @property
    def table_number(self) -> int:
        """The N of 38.214 Table 5.1.3.1-N (Sionna's ``table_index``)."""
        return table_number(self.table)

    @property
    def modulation(self) -> str:
        """``"QPSK"``, ``"16-QAM"``, ``"64-QAM"``, ...

        >>> Mcs("qam64", 9, 2, 679 / 1024).modulation
        'QPSK'
        """
        return "QPSK" if self.bits_per_symbol == 2 else f"{2**self.bits_per_symbol}-QAM"

    def __str__(self) -> str:
        return (
            f"MCS {self.index} of {self.table} ({self.modulation}, "
            f"R = {self.code_rate * 1024:g}/1024)"
        )


def table_number(table: str) -> int:
    """The N of 38.214 Table 5.1.3.1-N for a table name; SymcodecError for an unknown name.

    >>> table_number("qam256")
    2
    """
    if table not in MCS_TABLES:
        raise SymcodecError(f"unknown NR MCS table {table!r}; known: {', '.join(MCS_TABLES)}")
    return MCS_TABLES[table][0]


def lookup_mcs(index: int, table: McsTable = "qam64") -> Mcs:
    """The MCS at ``index`` of the named 38.214 table.

    Raises SymcodecError (one line) for an unknown table, a non-integer index, an index
    outside the table or a reserved entry, and when the ``links`` extra is missing.
    """
    number = table_number(table)
    highest = MCS_TABLES[table][1]
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise SymcodecError(f"MCS index must be an integer, got {index!r}")
    if not 0 <= int(index) <= highest:
        raise SymcodecError(
            f"MCS index {index} is not in NR MCS table {table} "
            f"(38.214 Table 5.1.3.1-{number}: indices 0..{highest})"
        )
    require_sionna()
    from sionna.phy.nr.utils import decode_mcs_index

    order, rate = decode_mcs_index(
        int(index), table_index=number, is_pusch=False, check_index_validity=False, device="cpu"
    )
    order, rate = int(order.reshape(-1)[0]), float(rate.reshape(-1)[0])
    if order <= 0 or not math.isfinite(rate) or rate <= 0:  # pragma: no cover - Sionna's tables
        raise SymcodecError(f"MCS index {index} is reserved in NR MCS table {table}")
    return Mcs(table=table, index=int(index), bits_per_symbol=order, code_rate=rate)
