"""Fuzz the ``.symc`` decoder: mutated streams must decode or raise ``SymcodecError``.

Starts from a corpus of valid streams (every mode, quantizer kind, dtype, pruning encoding,
named and user-defined symmetries, empty and dof-0 tensors) and applies random mutators: bit
flips, byte overwrites, truncation and extension, splices of two streams, header edits that
are re-CRC'd so they reach the field validation (bit flips in the JSON, random JSON values
put at random places, textual number and nesting tricks, synthetic records whose count,
length, offset and CRC are consistent with a random payload) and payload edits with their
record CRCs fixed so that strict decoding goes all the way. Every case runs ``read_header``,
``inspect``, ``decode(strict=True)`` and ``decode(strict=False)``.

A crash is any exception other than ``SymcodecError``, or a case slower than ``--timeout``
seconds. Each distinct crash is saved as a reproducer (``<crash-dir>/<id>.symc``). The report
gives the cases run, crashes, cases/s and peak memory: the largest per-case ``tracemalloc``
peak (Python and numpy allocations) and the processes' ``ru_maxrss``.

    .venv/bin/python bench/fuzz_decoder.py --cases 100000 --workers 2 [--seed 0]

The corpus and the stream helpers are in ``bench/fuzz_corpus.py``, the mutators in
``bench/fuzz_mutators.py``; this script runs the cases.

``tests/test_hardening.py`` drives the same mutators under hypothesis for a few hundred cases.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import resource
import signal
import sys
import time
import traceback
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from fuzz_corpus import corpus
from fuzz_mutators import mutate

from symcodec.codec import decode, inspect
from symcodec.codec.format import read_header
from symcodec.errors import SymcodecError

# ------------------------------------------------------------------------------------
# Running cases


def exercise(blob: bytes) -> str:
    """Run every decoder entry point; returns 'ok' or 'rejected'. Raises anything else."""
    outcome = "ok"
    for call in (
        read_header,
        inspect,
        lambda b: decode(b, strict=True),
        lambda b: decode(b, strict=False),
    ):
        try:
            call(blob)
        except SymcodecError as exc:
            message = str(exc)
            assert message and "\n" not in message, f"bad SymcodecError message {message!r}"
            outcome = "rejected"
    return outcome


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout("case exceeded the time limit")


def crash_id(exc: BaseException) -> str:
    """Type and innermost symcodec frame: one id per distinct bug."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "symcodec" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__}@{where}"


def worker(args) -> dict:
    seed, cases, timeout, crash_dir, trace_memory, save_slowest = args
    torch.set_num_threads(1)
    signal.signal(signal.SIGALRM, _alarm)
    streams = corpus()
    rng = np.random.default_rng(seed)
    outcomes: Counter = Counter()
    mutators: Counter = Counter()
    crashes: dict[str, dict] = {}
    peak_traced = 0
    slowest, slowest_name = 0.0, ""
    start = time.perf_counter()
    for i in range(cases):
        name, blob = mutate(streams, rng)
        mutators[name.split("+")[0]] += 1
        if trace_memory:
            tracemalloc.start()
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            outcomes[exercise(blob)] += 1
        except BaseException as exc:  # noqa: BLE001 - everything else is a crash
            if isinstance(exc, KeyboardInterrupt):
                raise
            outcomes["crash"] += 1
            cid = crash_id(exc)
            if cid not in crashes:
                digest = hashlib.sha1(blob).hexdigest()[:12]
                path = Path(crash_dir) / f"{cid.replace('@', '-').replace(':', '-')}-{digest}.symc"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blob)
                crashes[cid] = {
                    "mutator": name,
                    "case": i,
                    "message": f"{type(exc).__name__}: {str(exc)[:200]}",
                    "reproducer": str(path),
                    "count": 0,
                }
            crashes[cid]["count"] += 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = time.perf_counter() - t0
        if elapsed > slowest:
            slowest, slowest_name = elapsed, f"{name} (case {i}, seed {seed})"
            if save_slowest:
                path = Path(crash_dir) / f"slowest-seed{seed}.symc"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blob)
        if trace_memory:
            peak_traced = max(peak_traced, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    return {
        "cases": cases,
        "seconds": time.perf_counter() - start,
        "outcomes": dict(outcomes),
        "mutators": dict(mutators),
        "crashes": crashes,
        "peak_traced": peak_traced,
        "slowest": slowest,
        "slowest_name": slowest_name,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100_000, help="total cases (default 100000)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--seed", type=int, default=0, help="worker k uses seed + k")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per case (a crash)")
    p.add_argument("--crash-dir", default="fuzz-crashes", help="where reproducers go")
    p.add_argument(
        "--no-tracemalloc", action="store_true", help="skip per-case tracemalloc (faster)"
    )
    p.add_argument(
        "--memory-limit-mb",
        type=int,
        default=4096,
        help="RLIMIT_AS per worker: a larger allocation fails and counts as a crash",
    )
    p.add_argument(
        "--save-slowest", action="store_true", help="save each worker's slowest case too"
    )
    args = p.parse_args(argv)
    if args.memory_limit_mb:
        limit = args.memory_limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # inherited by the workers
    per = [
        args.cases // args.workers + (k < args.cases % args.workers) for k in range(args.workers)
    ]
    jobs = [
        (args.seed + k, n, args.timeout, args.crash_dir, not args.no_tracemalloc, args.save_slowest)
        for k, n in enumerate(per)
    ]
    start = time.perf_counter()
    if args.workers == 1:
        results = [worker(jobs[0])]
    else:
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            results = pool.map(worker, jobs)
    wall = time.perf_counter() - start
    total = sum(r["cases"] for r in results)
    outcomes: Counter = Counter()
    mutators: Counter = Counter()
    crashes: dict[str, dict] = {}
    for r in results:
        outcomes.update(r["outcomes"])
        mutators.update(r["mutators"])
        for cid, info in r["crashes"].items():
            if cid in crashes:
                crashes[cid]["count"] += info["count"]
            else:
                crashes[cid] = info
    print(f"symcodec decoder fuzz: {total:,} cases, {args.workers} worker(s), seed {args.seed}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"outcomes: {outcomes.get('ok', 0):,} decoded, {outcomes.get('rejected', 0):,} rejected "
        f"with SymcodecError, {outcomes.get('crash', 0):,} crashes"
    )
    print("mutators: " + ", ".join(f"{k} {v:,}" for k, v in sorted(mutators.items())))
    rates = ", ".join(f"{r['cases'] / r['seconds']:,.0f}" for r in results)
    slow = max(results, key=lambda r: r["slowest"])
    print(
        f"time: {wall:.1f} s wall, {total / wall:,.0f} cases/s overall ({rates} cases/s per "
        f"worker); slowest case {slow['slowest']:.3f} s: {slow['slowest_name']}"
    )
    if not args.no_tracemalloc:
        peak = max(r["peak_traced"] for r in results)
        print(f"peak memory per case (tracemalloc): {peak / 2**20:.1f} MiB")
    print(
        "peak RSS per worker (ru_maxrss): "
        + ", ".join(f"{r['maxrss_kib'] / 1024:.0f} MiB" for r in results)
    )
    if crashes:
        print(f"{len(crashes)} distinct crash(es):")
        for cid, info in sorted(crashes.items()):
            print(
                f"  {cid}: {info['count']} case(s), first from {info['mutator']}: "
                f"{info['message']} -> {info['reproducer']}"
            )
        return 1
    print("crashes: 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
