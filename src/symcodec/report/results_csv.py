"""results.csv: one row per trial, typed on reading (:data:`RESULT_COLUMNS`).

The setting that trials are averaged over is :data:`GROUP_KEYS`.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping

from ..errors import SymcodecError
from ..io import atomic_open, read_bytes

# ---------------------------------------------------------------------------------------------
# results.csv: one row per trial
# ---------------------------------------------------------------------------------------------

RESULT_COLUMNS: tuple[str, ...] = (
    "study",
    "dataset",
    "model",
    "method",
    "symmetry",
    "mode",
    "bits",
    "channel",
    "channel_param",
    "channel_value",
    "energy",
    "alpha",
    "trial",
    "seed",
    "epochs_total",
    "acc_ref",
    "acc_tx",
    "acc_txq",
    "acc_rx",
    "d_acc_pp",
    "values_sent",
    "values_total",
    "payload_bits",
    "mask_bits",
    "payload_bits_oracle",
    "header_bits",
    "bits_sent",
    "payload_reduction_pct",
    "bit_errors",
    "ber",
    "crc_failures",
    "encode_ms",
    "decode_ms",
    "air_ms",
    "latency_ms",
    "distance",
    "conv_share",
)
"""The results.csv schema, in column order (one row per trial)."""

_INT_COLUMNS = frozenset(
    {
        "bits",
        "trial",
        "seed",
        "epochs_total",
        "values_sent",
        "values_total",
        "payload_bits",
        "mask_bits",
        "payload_bits_oracle",
        "header_bits",
        "bits_sent",
        "bit_errors",
        "crc_failures",
    }
)
_STR_COLUMNS = frozenset(
    {
        "study",
        "dataset",
        "model",
        "method",
        "symmetry",
        "mode",
        "channel",
        "channel_param",
        "energy",
    }
)


def _column_type(column: str) -> type:
    if column in _INT_COLUMNS:
        return int
    if column in _STR_COLUMNS:
        return str
    return float


def _format_cell(column: str, value, row_number: int) -> str:
    kind = _column_type(column)
    where = f"result row {row_number}, column {column!r}"
    if kind is str:
        return "" if value is None else str(value)
    if kind is int:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SymcodecError(f"{where}: expected an integer, got {value!r}") from None
        if not math.isfinite(number) or number != int(number):
            raise SymcodecError(f"{where}: expected an integer, got {value!r}")
        return str(int(number))
    if value is None:
        return "nan"
    try:
        return repr(float(value))  # shortest text that reads back to the same float
    except (TypeError, ValueError):
        raise SymcodecError(f"{where}: expected a number, got {value!r}") from None


def _parse_cell(column: str, text: str, where: str):
    kind = _column_type(column)
    if kind is str:
        return text
    if kind is float:
        if text.strip() == "":
            return math.nan
        try:
            return float(text)
        except ValueError:
            raise SymcodecError(f"{where}, column {column!r}: not a number: {text!r}") from None
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number == int(number):
            return int(number)
        raise SymcodecError(f"{where}, column {column!r}: not an integer: {text!r}") from None


def _csv_text(rows: Iterable[Mapping], header: bool, first_row_number: int = 1) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(RESULT_COLUMNS)
    for number, row in enumerate(rows, start=first_row_number):
        missing = [c for c in RESULT_COLUMNS if c not in row]
        extra = [c for c in row if c not in RESULT_COLUMNS]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if extra:
                parts.append(f"unknown {', '.join(map(str, extra))}")
            raise SymcodecError(f"result row {number}: {'; '.join(parts)}")
        writer.writerow([_format_cell(c, row[c], number) for c in RESULT_COLUMNS])
    return buffer.getvalue()


def write_results_csv(rows: Iterable[Mapping], path: str | os.PathLike) -> None:
    """Write result rows (dicts with exactly :data:`RESULT_COLUMNS`) to a CSV file, atomically.

    Floats are written in their shortest round-trip form (``nan`` for missing values), so
    :func:`read_results_csv` gives back exactly what was written. Rows are checked before
    anything is written; a bad row raises :class:`SymcodecError` and leaves ``path`` untouched.

    Example:
        >>> import math, os, tempfile
        >>> row = dict.fromkeys(RESULT_COLUMNS, 0)
        >>> row.update(method="symmetric", symmetry="central-skew", mode="dof", channel="ideal")
        >>> row.update(channel_param="", channel_value=math.nan, acc_rx=98.25)
        >>> path = os.path.join(tempfile.mkdtemp(), "results.csv")
        >>> write_results_csv([row], path)
        >>> back = read_results_csv(path)[0]
        >>> back["acc_rx"], back["bits"], math.isnan(back["channel_value"])
        (98.25, 0, True)
    """
    text = _csv_text(list(rows), header=True)
    with atomic_open(path, "w") as handle:
        handle.write(text)


def _read_csv_text(path: str | os.PathLike) -> str:
    try:
        return read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise SymcodecError(f"{path}: not a UTF-8 text file") from None


def _check_header(header: list[str] | None, path) -> None:
    if header is None:
        raise SymcodecError(f"{path}: empty file, expected a results.csv header")
    if tuple(header) != RESULT_COLUMNS:
        missing = [c for c in RESULT_COLUMNS if c not in header]
        extra = [c for c in header if c not in RESULT_COLUMNS]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing)}")
        if extra:
            detail.append(f"unknown {', '.join(extra)}")
        if not detail:
            detail.append("columns in a different order")
        raise SymcodecError(f"{path}: not a symcodec results.csv ({'; '.join(detail)})")


def read_results_csv(path: str | os.PathLike) -> list[dict]:
    """Read a results.csv written by :func:`write_results_csv`, with typed values.

    Integer columns come back as ``int``, numeric columns as ``float`` (``nan`` included),
    the rest as ``str``. A file with other columns raises :class:`SymcodecError`.
    """
    reader = csv.reader(io.StringIO(_read_csv_text(path)))
    _check_header(next(reader, None), path)
    rows = []
    for line_number, record in enumerate(reader, start=2):
        if not record:
            continue
        where = f"{path}, line {line_number}"
        if len(record) != len(RESULT_COLUMNS):
            raise SymcodecError(f"{where}: {len(record)} fields, expected {len(RESULT_COLUMNS)}")
        rows.append(
            {c: _parse_cell(c, t, where) for c, t in zip(RESULT_COLUMNS, record, strict=True)}
        )
    return rows


def append_results_csv(rows: Iterable[Mapping], path: str | os.PathLike) -> None:
    """Append result rows to ``path`` (created with a header if it does not exist).

    Used for resumable runs. The existing content is kept byte for byte and the new full
    content is written to a temporary file and renamed into place, so an interrupted append
    leaves the previous file intact. An existing file must have the results.csv header.

    Example:
        >>> import os, tempfile
        >>> row = dict.fromkeys(RESULT_COLUMNS, 1)
        >>> path = os.path.join(tempfile.mkdtemp(), "results.csv")
        >>> append_results_csv([row], path)
        >>> append_results_csv([row, row], path)
        >>> len(read_results_csv(path))
        3
    """
    rows = list(rows)
    if not os.path.exists(path):
        write_results_csv(rows, path)
        return
    old = _read_csv_text(path)
    reader = csv.reader(io.StringIO(old))
    _check_header(next(reader, None), path)
    existing = sum(1 for record in reader if record)
    if old and not old.endswith("\n"):
        old += "\n"
    new = _csv_text(rows, header=False, first_row_number=existing + 1)
    with atomic_open(path, "w") as handle:
        handle.write(old + new)


GROUP_KEYS: tuple[str, ...] = (
    "method",
    "symmetry",
    "mode",
    "bits",
    "channel",
    "channel_param",
    "channel_value",
    "energy",
    "alpha",
)
"""The columns that define one setting (one summary row / table row)."""
