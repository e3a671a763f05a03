"""BLER tables in Sionna's JSON layout: the shipped ones, and ones measured for one link.

``sionna.sys.PHYAbstraction`` reads tables shaped
``{"category": {cat: {"index": {table: {"MCS": {mcs: {"SNR_db": [...],
"CBS": {cb_size: {"BLER": [...]}}}}}}}}}`` and interpolates them bilinearly in
``(CB size, SNR dB)`` on ``log10(BLER)``. Sionna ships tables on an SNR grid of about
1.6-1.8 dB measured for ``n = K / R`` coded bits per CB; a real NR transport block has a
slightly higher rate (its CRC rides on top of ``R * G``), so in the waterfall the shipped
tables are optimistic by about 1 dB (``docs/results/nr-bler/``). :func:`write_bler_table`
stores curves measured on the link's own transport format
(:func:`symcodec.channel.nr.bler_measure.measure_bler_curve`, ``symcodec measure-bler``) in
the same layout, for ``NrAbstractLink(..., bler_tables=[path])``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ...errors import SymcodecError
from .backend import require_sionna
from .bler_measure import BlerCurve
from .mcs import Mcs
from .transport import TransportFormat

__all__ = [
    "PDSCH_CATEGORY", "measured_record", "measured_symbols_per_tb", "shipped_bler_table",
    "write_bler_table",
]  # fmt: skip

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


def write_bler_table(path: str | os.PathLike, curves: Sequence[BlerCurve]) -> None:
    """Write measured BLER curves (:func:`~symcodec.channel.nr.bler_measure.measure_bler_curve`)
    to one file in Sionna's layout, one curve per (MCS table, MCS).

    Each curve stands for its transport format only; the file records the format and the
    counts behind every point under ``"symcodec"``, and
    :class:`~symcodec.channel.nr.nr_abstract.NrAbstractLink` refuses the curve for a link of
    another TB size. The file is written to a temporary name and renamed.
    """
    if not curves:
        raise SymcodecError("write_bler_table needs at least one curve")
    keys = [(c.fmt.mcs.table_number, c.fmt.mcs.index) for c in curves]
    if len(set(keys)) != len(keys):
        raise SymcodecError("write_bler_table: two curves for the same MCS")
    tables: dict[str, dict] = {}
    for curve in curves:
        by_size = {str(c): {"BLER": curve.blers} for c in _CBS_RANGE}
        entry = {"SNR_db": curve.snr_dbs, "CBS": by_size}
        mcs = curve.fmt.mcs
        tables.setdefault(str(mcs.table_number), {"MCS": {}})["MCS"][str(mcs.index)] = entry
    doc = {
        "_comment": "BLER measured bit-true by symcodec (measure-bler); each curve is valid "
        "for the transport format recorded under 'symcodec' only",
        "symcodec": {"curves": [_provenance(c) for c in curves]},
        "category": {str(PDSCH_CATEGORY): {"index": tables}},
    }
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _provenance(curve: BlerCurve) -> dict:
    fmt = curve.fmt
    return {
        "mcs_table": fmt.mcs.table, "mcs": fmt.mcs.index, "symbols_per_tb": fmt.symbols_per_tb,
        "tb_bits": fmt.tb_bits, "num_cbs": fmt.num_cbs, "cb_bits": fmt.cb_bits,
        "snr_db": curve.snr_dbs,
        "failed_blocks": [p.failed_blocks for p in curve.points],
        "sent_blocks": [p.sent_blocks for p in curve.points],
    }  # fmt: skip


def measured_record(doc: object, mcs: Mcs) -> dict | None:
    """What :func:`write_bler_table` recorded for ``mcs`` in a loaded table file ``doc`` (its
    transport format and the counts behind each point), or None: no such MCS, or no
    symcodec record (Sionna's own tables)."""
    record = doc.get("symcodec", {}) if isinstance(doc, dict) else {}
    curves = record.get("curves", []) if isinstance(record, dict) else []
    for c in curves:
        if isinstance(c, dict) and (c.get("mcs_table"), c.get("mcs")) == (mcs.table, mcs.index):
            return c
    return None


def measured_symbols_per_tb(path: str | os.PathLike, fmt: TransportFormat) -> int | None:
    """The TB size (symbols) a symcodec-measured table file holds ``fmt``'s MCS for; None for
    a file without that MCS or without symcodec's record (Sionna's own tables)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as err:
        raise SymcodecError(f"cannot read BLER table {os.fspath(path)}: {err}") from None
    record = measured_record(doc, fmt.mcs)
    return None if record is None else int(record["symbols_per_tb"])
