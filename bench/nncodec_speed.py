"""Encode and decode speed, symcodec against NNCodec, timed interleaved (issue 14's target:
symcodec encodes at least 10x and decodes at least 3x faster).

The frontier (``bench/vs_nncodec.py``) times each codec's points one after the other, so on
a shared machine the two codecs meet different loads and their ratio swings (2.4x to 15x
for the same encoder across two runs). This script times the two codecs at the frontier's
iso-accuracy settings on the same model, alternating them call by call (NNCodec, symcodec,
symcodec, NNCodec, ...), so both see the same load; the ratio of the medians is the figure.

Settings come from a frontier ``results.csv``: per (data set, model, variant, training
seed), NNCodec's iso-accuracy qp and symcodec's (one step for all) iso-accuracy step, the
smallest streams within 0.3 pp of the float model (``nncodec_results.table_rows``). The
model is the study's recipe model from the cache (trained there if absent).

Run in the NNCodec environment (``make bench-nncodec`` creates it)::

    .venv-nncodec/bin/python bench/nncodec_speed.py --models deepcnn --seeds 0 --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from nncodec_adapter import NNCodec, import_nncodec
from nncodec_models import bench_model, bench_spec, parse_seeds, torch_threads
from nncodec_results import read_csv, table_rows
from nncodec_symcodec import Symcodec

from symcodec.data import load_dataset

DEFAULT_RESULTS = Path(__file__).resolve().parent.parent / "docs/results/frontier/results.csv"


def interleaved(calls: dict[str, callable], repeats: int) -> dict[str, float]:
    """Median seconds of each call over ``repeats`` rounds; each round runs every call once,
    the order reversed every other round so that no call always runs first."""
    names = list(calls)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            t0 = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - t0)
    return {n: statistics.median(v) for n, v in times.items()}


def time_pair(nncodec, symcodec, model, qp: int, step: float, repeats: int):
    """``(NNCodec's stream, symcodec's stream, median ms by call)`` of both codecs on one
    model, encode and decode timed :func:`interleaved`."""
    state, shapes = model.state, model.shapes
    n_blob, s_blob = nncodec.encode(state, qp), symcodec.encode(state, step)
    medians = interleaved(
        {
            "nnc-enc": lambda: nncodec.encode(state, qp),
            "sym-enc": lambda: symcodec.encode(state, step),
            "nnc-dec": lambda: nncodec.decode(n_blob, shapes),
            "sym-dec": lambda: symcodec.decode(s_blob, shapes),
        },
        repeats,
    )
    return n_blob, s_blob, {k: 1e3 * v for k, v in medians.items()}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="frontier results.csv")
    p.add_argument("--datasets", default="fashion-mnist", help="comma-separated")
    p.add_argument("--models", default="deepcnn", help="comma-separated")
    p.add_argument("--variants", default="none,central-skew", help="comma-separated")
    p.add_argument("--seeds", default="0", help="training seeds, comma-separated")
    p.add_argument("--repeats", type=int, default=7, help="rounds per codec and direction")
    p.add_argument("--threads", type=int, default=1, help="torch threads while coding")
    p.add_argument(
        "--train-threads",
        type=int,
        default=torch.get_num_threads(),
        help="torch threads of training (part of the model cache key; default torch's)",
    )
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    if not args.results.is_file():
        p.error(f"--results {args.results}: no such file")
    try:
        args.seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        p.error(str(exc))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    nnc, version, _ = import_nncodec()
    wanted = (
        set(args.datasets.split(",")),
        set(args.models.split(",")),
        set(args.variants.split(",")),
        set(args.seeds),
    )
    rows = [
        r
        for r in table_rows(read_csv(args.results))
        if (r["dataset"], r["model"], r["variant"], r["seed"]) in _product(*wanted)
        and r["nnc"]
        and r["sym"]
    ]
    if not rows:
        sys.exit(f"nncodec_speed: no iso-accuracy pair of both codecs in {args.results}")
    print(f"NNCodec {version}; {args.repeats} interleaved rounds, {args.threads} torch thread(s)")
    print(
        "| data set | model | variant | seed | NNCodec qp, bytes | symcodec step, bytes "
        "| NNCodec enc / dec ms | symcodec enc / dec ms | encode x | decode x |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    data = {}
    for r in rows:
        ds = r["dataset"]
        data.setdefault(ds, load_dataset(ds))
        spec = bench_spec(ds, r["model"], seeds=(r["seed"],))
        model, _ = bench_model(
            spec, data[ds], r["variant"], r["seed"], args.train_threads, log=print
        )
        qp, step = int(r["nnc"].value), float(r["sym"].value)
        with torch_threads(args.threads):
            n_blob, s_blob, ms = time_pair(
                NNCodec(nnc), Symcodec(r["variant"]), model, qp, step, args.repeats
            )
        print(
            f"| {ds} | {r['model']} | {r['variant']} | {r['seed']} | {qp}, {len(n_blob):,} "
            f"| {step:g}, {len(s_blob):,} | {ms['nnc-enc']:.1f} / {ms['nnc-dec']:.1f} "
            f"| {ms['sym-enc']:.1f} / {ms['sym-dec']:.1f} "
            f"| {ms['nnc-enc'] / ms['sym-enc']:.1f} | {ms['nnc-dec'] / ms['sym-dec']:.1f} |",
            flush=True,
        )
    return 0


def _product(datasets, models, variants, seeds) -> set[tuple]:
    return {(d, m, v, s) for d in datasets for m in models for v in variants for s in seeds}


if __name__ == "__main__":
    raise SystemExit(main())
