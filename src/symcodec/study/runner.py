"""Running (or resuming) a study: every trial of its grid into ``results.csv``.

:func:`run_study` reuses the rows of ``results.csv`` made under the same spec
(:mod:`symcodec.study.resume`), trains or loads every model (:func:`prepare`), runs the
missing trials a transmitter configuration at a time (locally, or on Ray) and appends
each configuration's rows as they come, so an interrupted study resumes where it stopped.
It returns a :class:`StudyRun` with every row and the run's metadata; the report (table,
figures, claims) is written from it by ``symcodec reproduce``.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..errors import SymcodecError
from ..version import __version__
from .context import StudyContext, prepare
from .ray_executor import run_configs_ray
from .resume import reusable_rows
from .rows import TrialKey, TrialRow, append_results_csv
from .spec import StudySpec
from .trials import TxConfig, run_config, tx_configs

__all__ = ["StudyRun", "run_study", "run_metadata"]


@dataclass
class StudyRun:
    """What :func:`run_study` produced.

    Attributes:
        spec: the study.
        directory: its directory (``results.csv`` in it).
        rows: every trial of the grid, as dicts in results.csv column order.
        seconds: wall time of the run.
        new_trials: trials run now (the others were reused).
        meta: the run's metadata (:func:`run_metadata`; ``run.json``).
    """

    spec: StudySpec
    directory: Path
    rows: list[dict]
    seconds: float
    new_trials: int
    meta: dict


def run_study(
    spec: StudySpec,
    directory: str | os.PathLike,
    executor: str = "local",
    address: str | None = None,
    progress: bool = True,
    command: str = "",
    log: Callable[[str], None] = print,
) -> StudyRun:
    """Run (or resume) a study into ``directory/results.csv``; returns a :class:`StudyRun`.

    Rows already in ``results.csv`` are reused if they were made under the same spec and
    belong to the grid; rows of another spec are set aside (``results.stale-<id>.csv``)
    and never mixed in. ``executor`` is ``local`` or ``ray`` (``address``: a Ray cluster).
    """
    start = time.perf_counter()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.csv"
    configs = tx_configs(spec)
    total = len(configs) * len(spec.channel.values) * spec.trials
    rows = reusable_rows(spec, results_path, log)
    done = {TrialKey.of(r) for r in rows}
    ctx = None
    if len(done) >= total and rows:
        log(f"all {total} trials already in {results_path}; writing the outputs")
    else:
        if done:
            log(f"resuming: {len(done)} of {total} trials already in {results_path}")
        if executor == "ray":
            ctx, new_rows = run_configs_ray(spec, configs, done, results_path, address, log)
        elif executor == "local":
            ctx = prepare(spec, progress=progress, log=log)
            new_rows = _run_local(ctx, configs, done, results_path, total, progress)
        else:
            raise SymcodecError(f"unknown executor {executor!r}; known: local, ray")
        rows += [row.as_dict() for row in new_rows]
    seconds = time.perf_counter() - start
    meta = run_metadata(spec, ctx, rows, command, seconds, executor)
    return StudyRun(spec, out, rows, seconds, total - len(done), meta)


def _run_local(
    ctx: StudyContext,
    configs: Sequence[TxConfig],
    done: set[TrialKey],
    results_path: Path,
    total: int,
    progress: bool,
) -> list[TrialRow]:
    new_rows: list[TrialRow] = []
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    started = time.perf_counter()
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("trials", total=total, completed=len(done), rate="")
        finished = 0
        for config in configs:
            bar.update(task, description=config.label)
            rows = run_config(ctx, config, done)
            if rows:
                append_results_csv(rows, results_path)
                new_rows += rows
                finished += len(rows)
            per_s = finished / max(1e-9, time.perf_counter() - started)
            bar.update(task, advance=len(rows), rate=f"{per_s:.1f} trials/s")
    return new_rows


def run_metadata(
    spec: StudySpec,
    ctx: StudyContext | None,
    rows: Sequence[dict],
    command: str,
    seconds: float,
    executor: str,
) -> dict:
    """The run's metadata (``run.json``): the spec, the command, the reference accuracy,
    timing, versions and machine. ``ctx`` is ``None`` when no trial ran here (all reused,
    or run on Ray): the reference figures then come from the rows."""
    acc_ref = ctx.acc_ref if ctx is not None else (rows[0]["acc_ref"] if rows else math.nan)
    conv_share = ctx.conv_share if ctx is not None else (rows[0]["conv_share"] if rows else 0)
    return {
        "study": spec.name,
        "command": command,
        "spec": spec.to_dict(),
        "dataset": spec.dataset,
        "model": spec.model,
        "trials": spec.trials,
        "epochs_total": spec.training.epochs,
        "acc_ref": acc_ref,
        "conv_share": conv_share,
        "snr_convention": "equal energy (per DoF)"
        if spec.channel.equal_energy
        else "per transmitted value",
        "link_rate_bps": spec.bandwidth_hz,
        "executor": executor,
        "seconds": round(seconds, 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "versions": {
            "symcodec": __version__,
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "python": sys.version.split()[0],
        },
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
    }
