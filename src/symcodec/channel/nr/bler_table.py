"""BLER tables in Sionna's JSON layout: the shipped ones, and ones measured for one link.

``sionna.sys.PHYAbstraction`` reads tables shaped
``{"category": {cat: {"index": {table: {"MCS": {mcs: {"SNR_db": [...],
"CBS": {cb_size: {"BLER": [...]}}}}}}}}}`` and interpolates them bilinearly in
``(CB size, SNR dB)`` on ``log10(BLER)``. Sionna ships tables on an SNR grid of about
1.6-1.8 dB measured for ``n = K / R`` coded bits per CB; a real NR transport block has a
slightly higher rate (its CRC rides on top of ``R * G``), so in the waterfall the shipped
tables can be optimistic by a few tenths of a dB. :func:`write_bler_table` stores a curve
measured on the link's own transport format (e.g. by
:meth:`symcodec.channel.nr.nr_ldpc.NrLdpcLink.measure_bler`) in the same layout, for
``NrAbstractLink(..., bler_tables=[path])``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from itertools import pairwise

from ...errors import SymcodecError
from .backend import require_sionna
from .transport import TransportFormat

__all__ = ["PDSCH_CATEGORY", "shipped_bler_table", "write_bler_table"]

PDSCH_CATEGORY = 1  # Sionna's table category for PDSCH (0 is PUSCH)
# a measured curve is stored for both ends of the NR CB size range, so Sionna's bilinear
# interpolation returns it unchanged for the link's own CB size
_CBS_RANGE = (24, 8448)


def shipped_bler_table(table_number: int) -> str:
    """Path of the PDSCH BLER table Sionna ships for 38.214 Table 5.1.3.1-``table_number``."""
    require_sionna()
    import sionna.sys

    folder = os.path.join(os.path.dirname(sionna.sys.__file__), "bler_tables")
    return os.path.join(folder, f"PDSCH_table{int(table_number)}.json")


def write_bler_table(
    path: str | os.PathLike,
    fmt: TransportFormat,
    snr_dbs: Sequence[float],
    blers: Sequence[float],
) -> None:
    """Write one measured BLER-vs-SNR curve for ``fmt``'s MCS in Sionna's layout.

    ``snr_dbs`` must be finite and increasing (at least two), ``blers`` probabilities. The
    curve stands for ``fmt``'s CB size only: use it with links of that transport format.
    """
    snrs, rates = [float(s) for s in snr_dbs], [float(b) for b in blers]
    if len(snrs) < 2 or len(snrs) != len(rates):
        raise SymcodecError("a BLER table needs at least two (snr_db, bler) points")
    if not all(math.isfinite(s) for s in snrs) or any(b <= a for a, b in pairwise(snrs)):
        raise SymcodecError("BLER table SNRs must be finite and increasing")
    if not all(0.0 <= b <= 1.0 for b in rates):
        raise SymcodecError("BLER table values must be probabilities in [0, 1]")
    curve = {"SNR_db": snrs, "CBS": {str(cbs): {"BLER": rates} for cbs in _CBS_RANGE}}
    doc = {
        "_comment": (
            f"BLER measured bit-true by symcodec for {fmt.mcs}, CB of {fmt.cb_bits} bits, "
            f"{fmt.symbols_per_tb} symbols per TB; valid for that transport format only"
        ),
        "category": {
            str(PDSCH_CATEGORY): {
                "index": {str(fmt.mcs.table_number): {"MCS": {str(fmt.mcs.index): curve}}}
            }
        },
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
