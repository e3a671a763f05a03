"""The abstracted 5G NR link against the bit-true one: code block error rate (BLER) per SNR.

For each qam64 MCS (``--mcs``, on ``--symbols-per-tb`` channel uses per transport block) and
each SNR (Es/N0 per channel use, dB; ``--snr-db`` or an automatic sweep across the waterfall),
the same random payload of ``--blocks`` code blocks (CBs) is sent at both levels of
:mod:`symcodec.channel.nr`:

* ``bit-true``: :class:`~symcodec.channel.nr.NrLdpcLink` (Sionna's TB encoder, 5G LDPC with
  20 BP iterations, QAM, the channel, app demapping, CRC checks): the measurement, with its
  95% Clopper-Pearson interval;
* ``abstract``: :class:`~symcodec.channel.nr.NrAbstractLink` (CB errors drawn from Sionna's
  shipped PHY-abstraction tables, or with ``--bler-tables`` from tables measured bit-true for
  this very transport format by ``symcodec measure-bler``). Its model BLER (the table's value
  at this CB size and SNR; under ``rayleigh`` the mean over fading draws of the EESM lookup)
  is what is compared with the interval; the BLER it drew on the same CBs is recorded too.

With ``--bler-tables`` every MCS must be in exactly one of the files, measured on the same
``--symbols-per-tb`` (a file measured for another TB size is refused), and ``--seed`` must be
given and differ from the seed the tables were measured with (``measure-bler --seed``,
default 0): the files record their counts, not their seed, so the bench cannot check it; the
README states the bench's seed. That makes the comparison one of two independent
measurements of the same code.

The automatic sweep starts where the abstract BLER is about 0.97 and steps by ``--step-db``
until both levels are at or below 0.01 (at most ``--max-points`` points, stepping down first
while the bit-true BLER is still under 0.9), and adds the SNRs of the table's own grid that
fall inside (there the table holds a measurement, not an interpolation; a measured table's
grid is the step it was measured with, so with that ``--step-db`` every point is on it). Per
MCS it also fits the SNR offset that best explains the bit-true counts with the abstract
curve (maximum likelihood, 95% likelihood-ratio interval): a positive offset means the
abstraction is optimistic by that many dB.

Writes ``bler.csv`` (column ``tables``: ``shipped`` or ``measured``), ``bler.png`` (BLER vs
SNR, log y) and ``README.md`` (command, date, wall and CPU time, machine, the table files, a
reading of the agreement) into ``--out``; the files are written to temporary names and
renamed at the end, so a failed run leaves none half written.

Run (needs the ``links`` extra; one torch thread is fastest for Sionna's decoder)::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/nr_bler_validation.py \\
        --mcs 9 20 --symbols-per-tb 100 --blocks 400

On measured tables (the studies' transport format; a ``--seed`` the tables were not measured
with)::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/nr_bler_validation.py \\
        --mcs 4 9 --symbols-per-tb 1872 --bler-tables studies/bler/qam64-mcs{4,9}-1872.json \\
        --seed 1 --blocks 600 --out docs/results/nr-bler/measured-1872
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import numpy as np
from nr_bler_points import Point, build_pair, measure, set_point_offsets, sweep
from nr_bler_report import csv_text, plot, readme_text

PROG = "nr_bler_validation"
DEFAULT_OUT = Path("docs/results/nr-bler")


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


# --------------------------------------------------------------------------------------
# command line


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line, checked (UsageError for anything wrong)."""
    ap = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--mcs", type=int, nargs="+", default=[9, 20], help="qam64 MCS indices")
    ap.add_argument(
        "--symbols-per-tb", type=int, nargs="+", default=[100],
        help="channel uses per TB: one value, or one per --mcs (default 100: small CBs)",
    )  # fmt: skip
    ap.add_argument("--snr-db", type=float, nargs="+", help="SNRs (dB); default: a sweep")
    ap.add_argument("--step-db", type=float, default=0.5, help="step of the automatic sweep")
    ap.add_argument("--max-points", type=int, default=16, help="points per MCS in the sweep")
    ap.add_argument("--blocks", type=int, default=300, help="code blocks per point")
    ap.add_argument(
        "--seed", type=int,
        help="seed of the payloads and noise (default 0); required with --bler-tables, and "
        "then it must differ from the seed the tables were measured with (measure-bler "
        "--seed, default 0), which the table files do not record",
    )  # fmt: skip
    ap.add_argument(
        "--bler-tables", type=Path, nargs="+", metavar="FILE",
        help="draw the abstract link from these BLER tables, measured bit-true by "
        "`symcodec measure-bler` on the same --symbols-per-tb, one file per MCS (default: "
        "Sionna's shipped tables)",
    )  # fmt: skip
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--fading", choices=["awgn", "rayleigh"], default="awgn")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    ap.add_argument("--note", type=Path, help="a Markdown file appended to README.md as Notes")
    args = ap.parse_args(argv)
    if args.seed is None:
        if args.bler_tables is not None:
            raise UsageError(
                "--bler-tables needs an explicit --seed, other than the one the tables were "
                "measured with (measure-bler --seed, default 0)"
            )
        args.seed = 0
    for path in args.bler_tables or ():
        if not path.is_file():
            raise UsageError(f"--bler-tables {path}: no such file")
    if len(args.symbols_per_tb) not in (1, len(args.mcs)):
        raise UsageError("give one --symbols-per-tb, or one per --mcs")
    if len(args.symbols_per_tb) == 1:
        args.symbols_per_tb = args.symbols_per_tb * len(args.mcs)
    pairs = list(zip(args.mcs, args.symbols_per_tb, strict=True))
    if len(set(pairs)) != len(pairs):
        raise UsageError("an (--mcs, --symbols-per-tb) pair is given twice")
    for name, value, least in (
        ("--blocks", args.blocks, 1), ("--threads", args.threads, 1),
        ("--max-points", args.max_points, 1), ("--seed", args.seed, 0),
    ):  # fmt: skip
        if value < least:
            raise UsageError(f"{name} must be at least {least}, got {value}")
    if not (math.isfinite(args.step_db) and args.step_db > 0):
        raise UsageError(f"--step-db must be a positive number, got {args.step_db}")
    if args.snr_db is not None and not all(-100 <= s <= 100 for s in args.snr_db):
        raise UsageError("--snr-db values must be numbers in [-100, 100] dB")
    if args.note is not None:
        try:
            args.note_text = args.note.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"--note {args.note}: {exc.strerror or exc}") from None
    else:
        args.note_text = ""
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a directory")
    return args


def write_outputs(out: Path, files: dict[str, Callable[[Path], None]]) -> None:
    """Write every file to a temporary name in ``out``, then rename them all into place."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".nr-bler-", dir=out))
    try:
        for name, write in files.items():
            write(staging / name)
        for name in files:
            os.replace(staging / name, out / name)
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()


def run(argv: Sequence[str]) -> int:
    """Parse, measure, write; exceptions for bad input propagate to :func:`main`."""
    args = parse_args(argv)
    started, load = datetime.now(UTC), os.getloadavg()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    import torch

    from symcodec.channel.nr import require_sionna

    torch.set_num_threads(args.threads)
    require_sionna()
    pairs = [
        build_pair(m, s, "qam64", args.bler_tables)
        for m, s in zip(args.mcs, args.symbols_per_tb, strict=True)
    ]
    if args.fading == "rayleigh":  # EESM needs its calibration: fail before measuring
        pairs[0].abstract_bler(np.array([0.0]), "rayleigh")

    def log(p: Point) -> None:
        print(
            f"MCS {p.mcs:2d} K {p.cb_bits:4d} SNR {p.snr_db:6.2f} dB: bit-true "
            f"{p.bit_true_failed:4d}/{p.code_blocks} = {p.bit_true_bler:.3f} "
            f"[{p.ci_low:.3f}, {p.ci_high:.3f}]  abstract {p.abstract_bler:.4f} "
            f"{'inside' if p.inside else 'OUTSIDE'}  ({p.bit_true_cpu_s:.1f} s)",
            flush=True,
        )

    points: list[Point] = []
    for pair in pairs:
        print(
            f"{pair.label}, {pair.bit_true.fmt.symbols_per_tb} symbols per TB, "
            f"{pair.tables} table {pair.table_file}",
            flush=True,
        )
        first = len(points)
        if args.snr_db is None:
            points += sweep(
                pair, args.fading, args.blocks, args.seed, step_db=args.step_db,
                max_points=args.max_points, log=log,
            )  # fmt: skip
        else:
            for snr in sorted(set(args.snr_db)):
                points.append(measure(pair, snr, args.fading, args.blocks, args.seed))
                log(points[-1])
        set_point_offsets(pair, points[first:], args.fading, args.seed)
    wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
    readme = readme_text(argv, args, pairs, points, wall_s, cpu_s, started, load)
    write_outputs(
        args.out,
        {
            "bler.csv": lambda path: path.write_text(csv_text(points), encoding="utf-8"),
            "bler.png": lambda path: plot(path, pairs, points, args.fading, args.seed),
            "README.md": lambda path: path.write_text(readme, encoding="utf-8"),
        },
    )
    print(f"wrote {args.out}/bler.csv, bler.png, README.md in {wall_s / 60:.1f} min")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 on success, 2 with a one-line error for bad input."""
    from symcodec.errors import SymcodecError

    try:
        return run(sys.argv[1:] if argv is None else list(argv))
    except (UsageError, SymcodecError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
