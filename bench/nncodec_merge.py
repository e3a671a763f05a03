"""Merge frontier runs made apart (``bench/vs_nncodec.py --merge DIR ...``): one run per
training seed, or a run that adds a lever to a seed already measured, into one directory
whose BD-rates then pool every seed.

:func:`merge_runs` reads each run's ``results.csv``, ``correct.npz`` and ``run.json`` and
writes their union into ``out`` (whose own files, if any, come first):

* a curve (keyed by data set, model, curve and training seed) is taken from the first run
  that has it; a later run's curve under the same key must have the same stream sizes and
  the same per-image correctness (a deterministic codec, re-run), else the merge is refused
  naming the key: two different measurements of one curve are never silently mixed;
* a point of ``results.csv`` (data set, model, variant, seed, codec, setting) is likewise
  taken from the first run that has it (its times are that run's); runs whose model of one
  (data set, model, variant, seed) has a different float accuracy are refused (the model
  was trained again, and its curves would meet another model's anchors);
* ``run.json`` keeps the first run's record and lists every merged run's command, seeds,
  commit and wall time under ``merged``.

The BD-rates, tables and plots are then rewritten from the merged files (``--replot``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from nncodec_frontier import Curve, load_curves, save_curves
from nncodec_results import read_csv, write_bytes, write_csv, write_text
from nncodec_sweep import Point

FILES = ("results.csv", "correct.npz")


class MergeError(ValueError):
    """Two runs disagree, or a run lacks its files."""


def point_key(p: Point) -> tuple:
    """What identifies a point across runs."""
    return (p.dataset, p.model, p.variant, p.seed, p.codec, p.setting)


def same_curve(a: Curve, b: Curve) -> bool:
    """Equal stream sizes and per-image correctness (labels and settings aside)."""
    return a.stream_bytes == b.stream_bytes and np.array_equal(a.correct, b.correct)


def merge_curves(runs: Sequence[dict[str, Curve]]) -> dict[str, Curve]:
    """The union of ``runs``' curves, the first run's first; refuses a key two runs measured
    differently.

    >>> c = Curve("symcodec-uniform", ("step=1",), (10,), np.ones((1, 4), dtype=bool))
    >>> d = Curve("symcodec-uniform", ("step=1",), (12,), np.ones((1, 4), dtype=bool))
    >>> sorted(merge_curves([{"a": c}, {"a": c, "b": d}]))
    ['a', 'b']
    >>> merge_curves([{"a": c}, {"a": d}])
    Traceback (most recent call last):
    ...
    nncodec_merge.MergeError: curve 'a' differs between the runs merged (bytes (10,) and (12,))
    """
    merged: dict[str, Curve] = {}
    for curves in runs:
        for key, curve in curves.items():
            if key not in merged:
                merged[key] = curve
            elif not same_curve(merged[key], curve):
                raise MergeError(
                    f"curve {key!r} differs between the runs merged (bytes "
                    f"{merged[key].stream_bytes} and {curve.stream_bytes})"
                )
    return merged


def merge_points(runs: Sequence[list[Point]]) -> list[Point]:
    """The union of ``runs``' points (the first run's copy of a point is kept). Refuses runs
    whose model of one (data set, model, variant, training seed) has a different float
    accuracy: that model was trained again (another machine, an emptied cache; CPU training
    is not bit-reproducible across machines), and one model's codec curves would be compared
    with another's anchors."""
    seen: dict[tuple, Point] = {}
    float_acc: dict[tuple, float] = {}
    for points in runs:
        for p in points:
            model = (p.dataset, p.model, p.variant, p.seed)
            if float_acc.setdefault(model, p.float_acc) != p.float_acc:
                raise MergeError(
                    f"model {'/'.join(map(str, model))} differs between the runs merged "
                    f"(float accuracy {float_acc[model]}% and {p.float_acc}%): it was trained "
                    "again; measure every curve of that model in one run"
                )
            seen.setdefault(point_key(p), p)
    return list(seen.values())


def merge_runs(out: Path, sources: Sequence[Path]) -> list[str]:
    """Merge the runs in ``sources`` into ``out`` (see the module docstring); writes
    ``results.csv``, ``correct.npz`` and ``run.json`` there. Returns the curve keys added."""
    out = Path(out)
    out_has_run = all((out / f).exists() for f in FILES)
    dirs = ([out] if out_has_run else []) + [Path(s) for s in sources]
    for d in dirs:
        missing = [f for f in FILES if not (d / f).exists()]
        if missing:
            raise MergeError(f"{d}: no {missing[0]} (not a frontier run)")
    curve_runs = [load_curves(d / "correct.npz") for d in dirs]
    curves = merge_curves(curve_runs)
    points = merge_points([read_csv(d / "results.csv") for d in dirs])
    records = [_run_record(d) for d in dirs]
    out.mkdir(parents=True, exist_ok=True)
    record = dict(records[0])
    record["merged"] = [*record.get("merged", []), *(_summary(r) for r in records[1:])]
    write_csv(out / "results.csv", points)
    write_bytes(out / "correct.npz", save_curves(curves))
    write_text(out / "run.json", json.dumps(record, indent=2, default=str) + "\n")
    return sorted(set(curves) - set(curve_runs[0] if out_has_run else ()))


def _run_record(directory: Path) -> dict:
    path = directory / "run.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    return {**record, "directory": str(directory)}


def _summary(record: dict) -> dict:
    keys = ("directory", "command", "seeds", "symcodec_commit", "wall_seconds")
    return {k: record.get(k) for k in keys}
