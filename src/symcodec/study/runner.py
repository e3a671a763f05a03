"""Running (or resuming) a study: every trial of its grid into ``results.csv``.

:func:`run_study` reuses the rows of ``results.csv`` made under the same spec
(:mod:`symcodec.study.resume`), trains or loads every model (:func:`prepare`), runs the
missing trials a transmitter configuration at a time (locally, or on Ray) and appends
each configuration's rows as they come, so an interrupted study resumes where it stopped.
It returns a :class:`StudyRun` with every row and the run's metadata; the report (table,
figures, claims) is written from it by ``symcodec reproduce``.
"""

from __future__ import annotations

import dataclasses
import json
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

from ..data import load_dataset
from ..errors import SymcodecError
from ..version import __version__
from .context import StudyContext, prepare
from .model_identity import check_models
from .ray_executor import run_configs_ray
from .resume import reusable_rows
from .rows import TrialKey, TrialRow, append_results_csv, reference_by_train_seed
from .spec import StudySpec
from .trials import TxConfig, run_config, study_grid, tx_configs
from .waterfall import resolve_auto_grid, stored_auto_grid

__all__ = ["StudyRun", "run_study", "run_metadata", "train_models"]


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
    and never mixed in. Trials are added only with the models the directory's earlier
    trials were made with (``models.json``, :func:`symcodec.study.model_identity.check_models`;
    on the local executor: Ray's workers load their models themselves, unchecked).
    ``executor`` is ``local`` or ``ray`` (``address``: a Ray cluster).
    """
    start = time.perf_counter()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.csv"
    if executor not in ("local", "ray"):
        raise SymcodecError(f"unknown executor {executor!r}; known: local, ray")
    data = None
    grid_search = None
    searched_ctx = None
    if spec.channel.auto:
        grid_search = stored_auto_grid(spec, out, log)
        if grid_search is None:  # the search needs the first seed's models
            data = load_dataset(spec.dataset, data_dir=spec.data_dir)
            searched_ctx = prepare(spec, progress=progress, log=log, data=data)
            grid_search = resolve_auto_grid(searched_ctx, out, log)
            searched_ctx = dataclasses.replace(searched_ctx, spec=grid_search.spec)
        spec = grid_search.spec
    configs = tx_configs(spec)
    seeds = spec.training.seeds
    channel = spec.channel
    settings = len(channel.values) * len(channel.protect) * len(channel.mcs_settings)
    per_seed = len(configs) * settings * spec.trials
    total = per_seed * len(seeds)
    rows = reusable_rows(spec, results_path, log)
    done = {TrialKey.of(r) for r in rows}
    reused = len(done)
    contexts: list[StudyContext] = []
    if len(done) >= total and rows:
        log(f"all {total} trials already in {results_path}; writing the outputs")
    else:
        if done:
            log(f"resuming: {len(done)} of {total} trials already in {results_path}")
        if executor == "ray":
            new_rows = run_configs_ray(spec, configs, done, results_path, address, log)
        else:
            if data is None:
                data = load_dataset(spec.dataset, data_dir=spec.data_dir)
            new_rows = []
            grid = study_grid(spec)
            for seed in seeds:
                pending = {k for k in grid if k.train_seed == seed} - done
                if not pending:
                    continue
                if searched_ctx is not None and searched_ctx.train_seed == seed:
                    ctx = searched_ctx
                else:
                    ctx = prepare(spec, seed, progress=progress, log=log, data=data)
                earlier = any(k.train_seed == seed for k in done)
                check_models(out, seed, ctx.models, earlier_rows=earlier, log=log)
                contexts.append(ctx)
                new_rows += _run_local(ctx, configs, done, results_path, total, progress)
        rows += [row.as_dict() for row in new_rows]
    seconds = time.perf_counter() - start
    meta = run_metadata(spec, contexts, rows, command, seconds, executor)
    meta["seconds_all_runs"] = round(seconds + _earlier_seconds(out, reused), 1)
    if grid_search is not None:
        meta["auto_grid"] = grid_search.as_dict()
    return StudyRun(spec, out, rows, seconds, total - reused, meta)


def _earlier_seconds(out: Path, reused: int) -> float:
    """The wall time the earlier runs of this results directory took (0 when none of their
    rows was reused, or their ``run.json`` is missing or unreadable)."""
    if not reused:
        return 0.0
    try:
        earlier = json.loads((Path(out) / "run.json").read_text())
        return float(earlier.get("seconds_all_runs", earlier.get("seconds", 0.0)))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


def train_models(
    spec: StudySpec, progress: bool = False, log: Callable[[str], None] = print
) -> list[tuple[int, float]]:
    """Train (or find in the model cache) every model of ``spec`` for every training seed,
    without running a trial (``symcodec reproduce --train-only``: fill the cache first, on
    a quiet machine). Returns ``(training seed, reference accuracy %)`` per seed."""
    data = load_dataset(spec.dataset, data_dir=spec.data_dir)
    return [
        (seed, prepare(spec, seed, progress=progress, log=log, data=data).acc_ref)
        for seed in spec.training.seeds
    ]


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
            bar.update(task, description=f"seed {ctx.train_seed}: {config.label}")
            rows = run_config(ctx, config, done)
            if rows:
                append_results_csv(rows, results_path)
                new_rows += rows
                done |= {TrialKey.of(r.as_dict()) for r in rows}
                finished += len(rows)
            per_s = finished / max(1e-9, time.perf_counter() - started)
            bar.update(task, advance=len(rows), rate=f"{per_s:.1f} trials/s")
    return new_rows


def _test_images(spec: StudySpec, contexts: Sequence[StudyContext]) -> int:
    """How many test images each trial is scored on."""
    if contexts:
        return int(contexts[0].test_y.shape[0])
    count = int(load_dataset(spec.dataset, data_dir=spec.data_dir).test_y.shape[0])
    return count if spec.test_limit is None else min(count, spec.test_limit)


def run_metadata(
    spec: StudySpec,
    contexts: Sequence[StudyContext],
    rows: Sequence[dict],
    command: str,
    seconds: float,
    executor: str,
) -> dict:
    """The run's metadata (``run.json``): the spec, the command, the reference accuracy
    (mean over the training seeds, and per seed), timing, versions and machine. The
    reference figures come from the rows (every seed's rows carry its ``acc_ref``)."""
    by_seed = reference_by_train_seed(rows)
    for ctx in contexts:
        by_seed.setdefault(ctx.train_seed, ctx.acc_ref)
    by_seed = dict(sorted(by_seed.items()))
    acc_ref = sum(by_seed.values()) / len(by_seed) if by_seed else math.nan
    conv_share = contexts[0].conv_share if contexts else (rows[0]["conv_share"] if rows else 0)
    return {
        "study": spec.name,
        "command": command,
        "spec": spec.to_dict(),
        "dataset": spec.dataset,
        "model": spec.model,
        "trials": spec.trials,
        "epochs_total": spec.training.epochs,
        "acc_ref": acc_ref,
        "acc_ref_by_train_seed": {str(k): v for k, v in by_seed.items()},
        "test_images": _test_images(spec, contexts),
        "train_seeds": list(spec.training.seeds),
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
