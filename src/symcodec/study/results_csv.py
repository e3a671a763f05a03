"""The ``results.csv`` file: one :class:`~symcodec.study.trial_row.TrialRow` per line, its
cells written and parsed by the column types of the schema, read back exactly, written and
appended atomically.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping

from ..errors import SymcodecError
from ..io import atomic_open, read_bytes
from .trial_row import (
    COLUMN_TYPES,
    NR_COLUMN_DEFAULTS,
    RESULT_COLUMNS,
    TrialRow,
    check_row_columns,
)

__all__ = [
    "write_results_csv",
    "read_results_csv",
    "append_results_csv",
    "results_csv_lacks_spec_id",
    "results_csv_is_current",
]


# ---------------------------------------------------------------------------------------------
# Cells


def _format_cell(column: str, value, row_number: int) -> str:
    kind = COLUMN_TYPES[column]
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
    kind = COLUMN_TYPES[column]
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


# ---------------------------------------------------------------------------------------------
# The file


def _csv_text(rows: Iterable[Mapping | TrialRow], header: bool, first_row_number: int = 1) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(RESULT_COLUMNS)
    for number, row in enumerate(rows, start=first_row_number):
        if isinstance(row, TrialRow):
            row = row.as_dict()
        check_row_columns(row, number)
        writer.writerow([_format_cell(c, row[c], number) for c in RESULT_COLUMNS])
    return buffer.getvalue()


def write_results_csv(rows: Iterable[Mapping | TrialRow], path: str | os.PathLike) -> None:
    """Write result rows (:class:`TrialRow` or dicts with exactly :data:`RESULT_COLUMNS`)
    to a CSV file, atomically.

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


#: The results.csv header written before :data:`NR_COLUMN_DEFAULTS` existed.
_PRE_NR_COLUMNS: tuple[str, ...] = tuple(c for c in RESULT_COLUMNS if c not in NR_COLUMN_DEFAULTS)


def _check_header(header: list[str] | None, path) -> None:
    if header is None:
        raise SymcodecError(f"{path}: empty file, expected a results.csv header")
    if tuple(header) not in (RESULT_COLUMNS, _PRE_NR_COLUMNS):
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
    the rest as ``str``. A file written before the NR columns (:data:`NR_COLUMN_DEFAULTS`)
    reads with their defaults filled in. A file with other columns raises
    :class:`SymcodecError` (a file of an older symcodec, without ``spec_id``: see
    :func:`results_csv_lacks_spec_id`).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "results.csv")
    >>> old = ",".join(_PRE_NR_COLUMNS) + "\\n" + ",".join(["1"] * len(_PRE_NR_COLUMNS)) + "\\n"
    >>> _ = open(path, "w").write(old)
    >>> row = read_results_csv(path)[0]
    >>> row["mcs"], row["mcs_auto"], row["bits"], list(row) == list(RESULT_COLUMNS)
    (-1, 0, 1, True)
    """
    reader = csv.reader(io.StringIO(_read_csv_text(path)))
    header = next(reader, None)
    _check_header(header, path)
    columns = tuple(header)
    rows = []
    for line_number, record in enumerate(reader, start=2):
        if not record:
            continue
        where = f"{path}, line {line_number}"
        if len(record) != len(columns):
            raise SymcodecError(f"{where}: {len(record)} fields, expected {len(columns)}")
        parsed = {c: _parse_cell(c, t, where) for c, t in zip(columns, record, strict=True)}
        rows.append({c: parsed.get(c, NR_COLUMN_DEFAULTS.get(c)) for c in RESULT_COLUMNS})
    return rows


def results_csv_is_current(path: str | os.PathLike) -> bool:
    """Whether ``path``'s header is today's (False for one written before the NR columns,
    which :func:`append_results_csv` does not extend: rewrite it first)."""
    reader = csv.reader(io.StringIO(_read_csv_text(path)))
    return tuple(next(reader, None) or ()) == RESULT_COLUMNS


def results_csv_lacks_spec_id(path: str | os.PathLike) -> int | None:
    """The number of rows of a results.csv written before rows recorded their ``spec_id``
    (its header is today's without that column); ``None`` for any other file.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "results.csv")
    >>> old = [c for c in RESULT_COLUMNS if c != "spec_id"]
    >>> _ = open(path, "w").write(",".join(old) + "\\n" + ",".join("1" * len(old)) + "\\n")
    >>> results_csv_lacks_spec_id(path)
    1
    """
    reader = csv.reader(io.StringIO(_read_csv_text(path)))
    header = next(reader, None)
    if header is None or tuple(header) != tuple(c for c in RESULT_COLUMNS if c != "spec_id"):
        return None
    return sum(1 for record in reader if record)


def append_results_csv(rows: Iterable[Mapping | TrialRow], path: str | os.PathLike) -> None:
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
    if not results_csv_is_current(path):
        raise SymcodecError(f"{path}: written before the NR columns; rewrite it before appending")
    existing = sum(1 for record in reader if record)
    if old and not old.endswith("\n"):
        old += "\n"
    new = _csv_text(rows, header=False, first_row_number=existing + 1)
    with atomic_open(path, "w") as handle:
        handle.write(old + new)
