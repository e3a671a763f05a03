"""Running a study's trials on Ray (``symcodec reproduce --executor ray``).

Ray is an optional extra (``pip install symcodec[ray]``). Training jobs and trial groups
(one transmitter configuration: every channel setting and trial) run as Ray tasks, on a
local Ray instance or on an existing cluster (``--address``). Each task sets torch to the
driver's thread count and derives every seed from the study, so the results equal those of
the local executor.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..errors import SymcodecError
from .context import prepare
from .rows import TrialKey, TrialRow, append_results_csv
from .spec import StudySpec
from .trials import TxConfig, run_config

__all__ = ["run_configs_ray"]


def _require_ray():
    try:
        import ray
    except ImportError:
        raise SymcodecError("the ray executor needs Ray: pip install 'symcodec[ray]'") from None
    return ray


def _worker_setup(threads: int, cache: str | None) -> None:
    if cache:
        os.environ["SYMCODEC_CACHE"] = cache
    torch.set_num_threads(threads)


def _train_task(spec_doc: dict, seed: int, threads: int, cache: str | None) -> str:
    _worker_setup(threads, cache)
    prepare(StudySpec.from_dict(spec_doc), seed, progress=False, log=lambda _m: None)
    return "trained"


def _config_task(
    spec_doc: dict, seed: int, config: dict, done: list, threads: int, cache: str | None
) -> list[TrialRow]:
    _worker_setup(threads, cache)
    ctx = prepare(StudySpec.from_dict(spec_doc), seed, progress=False, log=lambda _m: None)
    return run_config(ctx, TxConfig(**config), {TrialKey(*k) for k in done})


def run_configs_ray(
    spec: StudySpec,
    configs: Sequence[TxConfig],
    done: set[TrialKey],
    results_path: Path,
    address: str | None,
    log: Callable[[str], None] = print,
) -> list[TrialRow]:
    """Run every pending trial as Ray tasks (one per training seed and configuration);
    append rows to ``results_path`` as they come and return them."""
    ray = _require_ray()
    threads = torch.get_num_threads()
    cache = os.environ.get("SYMCODEC_CACHE")
    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"include_dashboard": False, "log_to_driver": False}
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, **kwargs)
    try:
        spec_doc = spec.to_dict()
        train = ray.remote(num_cpus=1)(_train_task)
        # training jobs first (one per seed): each trains (or finds in the cache) its models
        seeds = spec.training.seeds
        ray.get([train.remote(spec_doc, seed, threads, cache) for seed in seeds])
        task = ray.remote(num_cpus=1)(_config_task)
        done_list = [list(k) for k in done]
        pending = [
            task.remote(spec_doc, seed, dataclasses.asdict(c), done_list, threads, cache)
            for seed in seeds
            for c in configs
        ]
        new_rows: list[TrialRow] = []
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            rows = ray.get(ready[0])
            if rows:
                append_results_csv(rows, results_path)
                new_rows += rows
            log(f"ray: {len(new_rows)} new trials")
        return new_rows
    finally:
        if started_here:
            ray.shutdown()
