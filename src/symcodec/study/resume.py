"""Resuming a study honestly: which rows of an existing ``results.csv`` a study may reuse.

A row is reused only if it was made under the same spec (its ``spec_id``, see
:mod:`symcodec.study.identity`) and is a trial of the study's grid. Rows of another spec
are never mixed in: they are moved to ``results.stale-<spec_id>.csv`` beside it, with a
one-line message saying what changed. Rows of the same spec outside the grid (a narrowed
study) are set aside in ``results.outside-grid.csv`` (:data:`OUTSIDE_GRID_NAME`) and read
back when a later grid includes them again, so narrowing a study never throws work away.
A ``results.csv`` of an older symcodec (no ``spec_id`` column) is moved whole to
``results.stale-no-spec-id.csv``; one written before the NR columns is read with
their defaults and rewritten with today's header.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from ..errors import SymcodecError
from ..io import read_bytes
from .identity import describe_changes, row_fingerprint, spec_fingerprint, spec_id
from .rows import (
    TrialKey,
    append_results_csv,
    read_results_csv,
    results_csv_is_current,
    results_csv_lacks_spec_id,
    write_results_csv,
)
from .spec import StudySpec
from .trials import study_grid

__all__ = ["reusable_rows", "stale_path"]


OUTSIDE_GRID_NAME = "results.outside-grid.csv"
"""Beside ``results.csv``: rows of the same spec that the current grid does not include."""


def stale_path(results_path: Path, old_spec_id: str | None) -> Path:
    """Where rows of another spec are set aside: ``results.stale-<spec_id>.csv``
    (``unknown`` for a spec id that is not a hex hash, ``no-spec-id`` for ``None``: a file
    of an older symcodec)."""
    if old_spec_id is None:
        tag = "no-spec-id"
    else:
        tag = old_spec_id if re.fullmatch(r"[0-9a-f]{1,64}", old_spec_id) else "unknown"
    return results_path.with_name(f"{results_path.stem}.stale-{tag}{results_path.suffix}")


def reusable_rows(
    spec: StudySpec, results_path: Path, log: Callable[[str], None] = print
) -> list[dict]:
    """The rows of ``results_path`` (and of the rows set aside beside it) that ``spec`` can
    reuse, in file order; ``results.csv`` is rewritten to hold only those, the others are
    set aside, each group with a one-line message."""
    if not results_path.exists():
        return []
    old_rows = results_csv_lacks_spec_id(results_path)
    if old_rows is not None:
        target = _unused(stale_path(results_path, None))
        os.replace(results_path, target)
        log(
            f"{results_path.name}: {old_rows} rows without a spec_id (an older symcodec) "
            f"set aside in {target.name}"
        )
        return []
    found = read_results_csv(results_path)
    aside_path = results_path.with_name(OUTSIDE_GRID_NAME)
    aside = read_results_csv(aside_path) if aside_path.exists() else []
    current = spec_id(spec)
    same_spec = [r for r in found + aside if r["spec_id"] == current]
    others: dict[str, list[dict]] = {}
    for row in found + aside:
        if row["spec_id"] != current:
            others.setdefault(row["spec_id"], []).append(row)
    for old_id, rows in others.items():
        target = stale_path(results_path, old_id)
        append_results_csv(rows, target)
        log(
            f"{results_path.name}: {len(rows)} rows from another spec set aside in "
            f"{target.name} ({_what_changed(results_path.parent, old_id, rows[0], spec)})"
        )
    grid = study_grid(spec)
    kept, outside, seen = [], [], set()
    left_out: dict[int, int] = {}  # rows of training seeds this run leaves out, per seed
    for row in same_spec:
        key = TrialKey.of(row)
        if key in seen:  # a row both in results.csv and set aside: the first one counts
            continue
        seen.add(key)
        in_grid = row["study"] == spec.name and key in grid
        (kept if in_grid else outside).append(row)
        if key.train_seed not in spec.training.seeds:
            left_out[key.train_seed] = left_out.get(key.train_seed, 0) + 1
    if outside:
        log(_set_aside_message(len(outside), left_out))
        write_results_csv(outside, aside_path)
    elif aside_path.exists():
        aside_path.unlink()
    if len(kept) != len(found) or not results_csv_is_current(results_path):
        write_results_csv(kept, results_path)  # also brings a pre-NR header up to date
    return kept


def _set_aside_message(count: int, left_out: dict[int, int]) -> str:
    """The line that says how many rows were set aside, and how many of them belong to
    training seeds the run leaves out (``--train-seeds``), which are not lost either."""
    if not left_out:
        return (
            f"setting aside {count} rows outside this study's grid in {OUTSIDE_GRID_NAME} "
            "(reused if the grid grows back)"
        )
    seeds = sorted(left_out)
    named = ", ".join(map(str, seeds))
    plural = len(seeds) > 1
    return (
        f"setting aside {count} rows outside this run's grid in {OUTSIDE_GRID_NAME} "
        f"({sum(left_out.values())} of them of training seed{'s' if plural else ''} {named}, "
        f"which this run leaves out; reused by a run that includes {'them' if plural else 'it'})"
    )


def _unused(path: Path) -> Path:
    number = 1
    candidate = path
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def _what_changed(directory: Path, old_id: str, row: dict, spec: StudySpec) -> str:
    """The settings that changed: all of them if the directory's run.json holds the old
    spec, else those a row records; else the two spec ids."""
    new = spec_fingerprint(spec)
    old_spec = _run_json_spec(directory)
    if old_spec is not None and spec_id(old_spec) == old_id:
        changes = describe_changes(spec_fingerprint(old_spec), new)
    else:
        changes = describe_changes(row_fingerprint(row), new)
    return changes or f"spec {old_id or 'unknown'} -> {spec_id(spec)}"


def _run_json_spec(directory: Path) -> StudySpec | None:
    path = directory / "run.json"
    if not path.exists():
        return None
    try:
        return StudySpec.from_dict(json.loads(read_bytes(path))["spec"])
    except (SymcodecError, ValueError, KeyError, TypeError, AttributeError):
        return None
