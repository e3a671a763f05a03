"""The outputs of bench/nr_bler_validation.py: ``bler.csv``, ``bler.png`` and ``README.md``."""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import os
import platform
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

import numpy as np
from nr_bler_points import (
    CONFIDENCE,
    WATERFALL,
    Fading,
    LinkPair,
    Point,
    fit_snr_offset,
    two_sample_p,
)


def csv_text(points: Sequence[Point]) -> str:
    """``bler.csv``: one row per point, the :class:`Point` fields as columns."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, [f.name for f in fields(Point)], lineterminator="\n")
    writer.writeheader()
    for pt in points:
        row = asdict(pt)
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = f"{value:.6g}"
        writer.writerow(row)
    return buf.getvalue()


def plot(path: Path, pairs: Sequence[LinkPair], points: Sequence[Point], fading: Fading,
         seed: int) -> None:  # fmt: skip
    """``bler.png``: bit-true points with their CIs, the abstract curve, one colour per link."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.0, 5.2), dpi=120)
    floor = 0.5 / max(p.code_blocks for p in points)
    snrs = [p.snr_db for p in points]
    x_lo, x_hi = min(snrs) - 0.5, max(snrs) + 0.5
    for grid in pairs[0].table_snr_dbs:
        if x_lo < grid < x_hi:
            ax.axvline(grid, color="0.85", lw=0.8, ls=":", zorder=0)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, pair in enumerate(pairs):
        fmt = pair.bit_true.fmt
        mine = [
            p for p in points if (p.mcs, p.symbols_per_tb) == (fmt.mcs.index, fmt.symbols_per_tb)
        ]
        if not mine:
            continue
        colour = colours[i % len(colours)]
        lo, hi = min(p.snr_db for p in mine) - 0.5, max(p.snr_db for p in mine) + 0.5
        fine = np.linspace(lo, hi, 121)
        curve = np.maximum(pair.abstract_bler(fine, fading, seed=seed), floor / 10)
        ax.plot(fine, curve, color=colour, lw=1.4,
                label=f"{pair.label}: abstract ({pair.tables} table)")  # fmt: skip
        x = np.array([p.snr_db for p in mine])
        y = np.array([p.bit_true_bler for p in mine])
        err_lo = y - np.array([p.ci_low for p in mine])
        err_hi = np.array([p.ci_high for p in mine]) - y
        shown = y > 0
        ax.errorbar(
            x[shown], y[shown], yerr=[err_lo[shown], err_hi[shown]], fmt="o", ms=4.5,
            color=colour, capsize=2.5, label=f"{pair.label}: bit-true, {CONFIDENCE:.0%} CI",
        )  # fmt: skip
        if (~shown).any():  # no failure: the CI's upper end, as an arrow down
            ax.plot(x[~shown], [p.ci_high for p, s in zip(mine, shown, strict=True) if not s],
                    "v", ms=5, color=colour, mfc="none")  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, 1.5)
    ax.set_xlim(x_lo, x_hi)
    ax.set_xlabel("SNR (Es/N0 per channel use), dB")
    ax.set_ylabel("code block error rate")
    blocks = max(p.code_blocks for p in points)
    ax.set_title(
        f"5G NR, qam64, {fading}: abstracted ({_tables_phrase(pairs)}) vs bit-true, {blocks} "
        "CBs per point\n(dotted: the table's SNR grid; open triangles: no failure, CI upper end)",
        fontsize=10,
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _tables_phrase(pairs: Sequence[LinkPair]) -> str:
    """``"Sionna's shipped tables"``, ``"measured tables"`` or both."""
    kinds = {p.tables for p in pairs}
    names = {"shipped": "Sionna's shipped tables", "measured": "measured tables"}
    return " and ".join(names[k] for k in ("shipped", "measured") if k in kinds)


def _sha256_12(path: str) -> str:
    """The first 12 hex digits of a file's SHA-256 (which content was used)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def tables_markdown(pairs: Sequence[LinkPair], seed: int) -> str:
    """README's section on the measured tables: files, their counts, the seed rule ("" when
    every link drew from Sionna's shipped tables)."""
    measured = [p for p in pairs if p.tables == "measured"]
    if not measured:
        return ""
    rows = "\n".join(
        f"| {p.label} | `{p.table_file}` (sha256 `{_sha256_12(p.table_file)}`) | "
        + ", ".join(f"{c.snr_db:g}: {c.failed}/{c.sent}" for c in p.table_counts)
        + " |"
        for p in measured
    )
    return f"""
## Tables

The abstraction drew from BLER tables measured bit-true for these very transport formats by
`symcodec measure-bler`, on seeds other than this run's seed {seed}: the files record their
counts, not their seed, so the bench requires an explicit `--seed` and whoever runs it
vouches that it differs. Table and bit-true run are then independent measurements of the
same code. At its own grid SNRs a table holds a measured BLER with its own sampling error
(the counts below), which the bit-true CI does not include; between them it interpolates
log-linearly, and a table BLER of 0 (no failure in the blocks sent) reads as 0 beyond the
last failing point.

| link | file | SNR dB: failed / sent blocks |
|---|---|---|
{rows}
"""


@dataclass(frozen=True)
class Offset:
    """The fitted SNR offset of one link, with what it was fitted on."""

    pair: LinkPair
    offset_db: float  # best fit over all the link's points
    low_db: float  # its 95% likelihood-ratio interval (assumes the curve's shape is right)
    high_db: float
    in_waterfall: int
    inside: int
    point_offsets_db: tuple[float, ...]  # per waterfall point (NaN-free), by SNR


def offsets(pairs: Sequence[LinkPair], points: Sequence[Point], fading: Fading,
            seed: int) -> list[Offset]:  # fmt: skip
    """The best-fit SNR offset per link (all its points), and its waterfall counts."""
    out = []
    for pair in pairs:
        fmt = pair.bit_true.fmt
        mine = [
            p for p in points if (p.mcs, p.symbols_per_tb) == (fmt.mcs.index, fmt.symbols_per_tb)
        ]
        best, low, high = fit_snr_offset(
            [p.snr_db for p in mine], [p.bit_true_failed for p in mine],
            [p.code_blocks for p in mine],
            lambda s, pair=pair: pair.abstract_bler(s, fading, seed=seed),
            step_db=0.02 if fading == "awgn" else 0.05,
        )  # fmt: skip
        wf = [p for p in mine if WATERFALL[0] <= p.bit_true_bler <= WATERFALL[1]]
        each = tuple(p.offset_db for p in wf if math.isfinite(p.offset_db))
        out.append(Offset(pair, best, low, high, len(wf), sum(p.inside for p in wf), each))
    return out


def _spread(values: Sequence[float]) -> str:
    """``"0.61 to 1.32 dB (median 1.05)"`` or ``"none"``."""
    if not values:
        return "none"
    return f"{min(values):+.2f} to {max(values):+.2f} dB (median {float(np.median(values)):+.2f})"


def reading(fits: Sequence[Offset], points: Sequence[Point]) -> str:
    """The README's paragraph: how well the levels agree, and by how much they do not."""
    parts = []
    for fit in fits:
        fmt = fit.pair.bit_true.fmt
        mine = [
            p for p in points if (p.mcs, p.symbols_per_tb) == (fmt.mcs.index, fmt.symbols_per_tb)
        ]
        wf = [p for p in mine if WATERFALL[0] <= p.bit_true_bler <= WATERFALL[1]]
        excess = fmt.cb_bits / fmt.cw_bits[0] / fmt.mcs.code_rate - 1.0
        if abs(fit.offset_db) < 0.005:
            shift = "the abstraction is off by 0.00 dB"
        else:
            side = "optimistic" if fit.offset_db > 0 else "pessimistic"
            shift = f"the abstraction is {side} by {abs(fit.offset_db):.2f} dB"
        rate = f"CB rate {fmt.cb_bits / fmt.cw_bits[0]:.3f}"
        if fit.pair.tables == "measured":  # measured on this very code: R does not matter
            about = f"{rate}; measured table `{fit.pair.table_file}`"
        else:
            about = (
                f"{rate}, {100 * excess:+.1f}% against the table's R = {fmt.mcs.code_rate:.3f}; "
                f"table CB sizes {', '.join(map(str, fit.pair.table_cb_sizes))}"
            )
        text = (
            f"{fit.pair.label} ({about}): the abstract BLER is inside "
            f"the bit-true {CONFIDENCE:.0%} CI at {fit.inside} of {fit.in_waterfall} waterfall "
            f"points; {shift} (the SNR shift that "
            f"best fits all its points; 95% interval {fit.low_db:+.2f} to {fit.high_db:+.2f} dB, "
            f"{'which holds' if fit.low_db <= 0 <= fit.high_db else 'which excludes'} 0), point "
            f"by point by {_spread(fit.point_offsets_db)}"
        )
        if wf:
            worst = max(wf, key=lambda p: abs(math.log10(max(p.abstract_bler, 1e-6) /
                                                         max(p.bit_true_bler, 1e-6))))  # fmt: skip
            text += (
                f"; largest gap at {worst.snr_db:.2f} dB: bit-true {worst.bit_true_bler:.3f} "
                f"[{worst.ci_low:.3f}, {worst.ci_high:.3f}] against abstract "
                f"{worst.abstract_bler:.3f}"
            )
        grid = [p for p in wf if p.table_grid_point]
        if grid:
            text += (
                f"; at the table's own grid SNRs {sum(p.inside for p in grid)} of {len(grid)} "
                "inside"
            )
        matched = [
            (p, c) for p in grid for c in fit.pair.table_counts if abs(c.snr_db - p.snr_db) < 1e-6
        ]
        if matched:  # a measured table: both sides are samples
            agree = sum(
                two_sample_p(p.bit_true_failed, p.code_blocks, c.failed, c.sent) >= 0.05
                for p, c in matched
            )
            text += (
                f", and {agree} of {len(matched)} consistent with the table's own counts "
                "(Fisher's exact test, two-sided 5%: both are samples)"
            )
        parts.append(text + ".")
    return " ".join(parts)


def table_markdown(points: Sequence[Point]) -> str:
    """The points as a Markdown table."""
    lines = [
        "| MCS | K / E (rate; R) | SNR dB | grid | bit-true BLER [95% CI] | failed / CBs "
        "| abstract BLER (table) | abstract drawn | inside | offset dB |",
        "|---|---|---:|:-:|---|---:|---:|---:|:-:|---:|",
    ]
    for p in points:
        offset = f"{p.offset_db:+.2f}" if math.isfinite(p.offset_db) else ""
        lines.append(
            f"| {p.mcs} ({p.modulation}) | {p.cb_bits} / {p.cw_bits} ({p.cb_rate:.3f}; "
            f"{p.mcs_rate:.3f}) | {p.snr_db:.2f} | {'yes' if p.table_grid_point else ''} | "
            f"{p.bit_true_bler:.3f} [{p.ci_low:.3f}, {p.ci_high:.3f}] | "
            f"{p.bit_true_failed} / {p.code_blocks} | {p.abstract_bler:.4f} | "
            f"{p.abstract_drawn_bler:.3f} | {'yes' if p.inside else '**no**'} | {offset} |"
        )
    return "\n".join(lines)


def readme_text(
    argv: Sequence[str],
    args: argparse.Namespace,
    pairs: Sequence[LinkPair],
    points: Sequence[Point],
    wall_s: float,
    cpu_s: float,
    started: datetime,
    load: tuple[float, float, float],
) -> str:
    """``README.md`` of one run."""
    import sionna
    import torch

    fits = offsets(pairs, points, args.fading, args.seed)
    niceness = os.nice(0)
    omp = os.environ.get("OMP_NUM_THREADS")
    launcher = (f"OMP_NUM_THREADS={omp} " if omp else "") + (
        f"nice -n {niceness} " if niceness else ""
    )
    rayleigh = args.fading == "rayleigh"
    eesm = ", EESM effective SNR per CB" if rayleigh else ""
    mean = " (mean over fading draws)" if rayleigh else ""
    notes = f"\n## Notes\n\n{args.note_text}\n" if args.note_text else ""
    command = "python bench/nr_bler_validation.py " + " ".join(shlex.quote(a) for a in argv)
    fit_rows = "\n".join(
        f"| {f.pair.label} | {f.pair.tables} | {f.offset_db:+.2f} | "
        f"{f.low_db:+.2f} to {f.high_db:+.2f} | {_spread(f.point_offsets_db)} | "
        f"{f.inside} / {f.in_waterfall} |"
        for f in fits
    )
    if all(p.tables == "shipped" for p in pairs):
        drawn_from = "Sionna's shipped PHY-abstraction tables"
        tables_line = f"`{pairs[0].table_file}` as shipped with sionna {sionna.__version__}"
    else:
        drawn_from = f"{_tables_phrase(pairs)}, see *Tables*"
        tables_line = ", ".join(sorted({f"`{p.table_file}`" for p in pairs}))
    return f"""# 5G NR link: abstracted against bit-true BLER ({args.fading})

Made by `bench/nr_bler_validation.py` (issue 15):

    {launcher}{command}

- Date: {started:%Y-%m-%d %H:%M} UTC. Wall time {wall_s:.0f} s, CPU time {cpu_s:.0f} s
  ({sum(p.bit_true_cpu_s for p in points):.0f} s of it in the bit-true links).
- Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.2f} at the
  start (shared); Python {platform.python_version()}, torch {torch.__version__}
  ({args.threads} thread), sionna {sionna.__version__}; seed {args.seed}.
- Tables: {tables_line}.
- Link: qam64 MCS table, {args.fading}, one code block (CB) per transport block; per point
  the same random payload of {args.blocks} CBs is sent bit-true (Sionna's TB encoder, 5G LDPC,
  20 BP iterations, app demapping, CRCs) and abstracted (CB errors drawn from
  {drawn_from}{eesm}). SNR is Es/N0 per channel use.
- Columns: *K / E* CB information bits (CRCs included) and coded bits, the CB's rate and the
  table's target rate R; *grid*: the SNR is on the table's own SNR grid (there the table
  holds a measurement, elsewhere a log-linear interpolation); *abstract BLER (table)*: the
  abstraction's probability{mean},
  compared with the bit-true {CONFIDENCE:.0%} Clopper-Pearson CI (*inside*); *abstract drawn*:
  what the abstraction drew on the same CBs; *offset*: the SNR shift `d` for which the
  abstract curve at `SNR - d` passes through the bit-true BLER (positive: the abstraction is
  optimistic by `d` dB). `bler.csv` has every column, `bler.png` the curves.

{table_markdown(points)}

Per link: the SNR shift that best explains all its bit-true counts with the abstract curve
(maximum likelihood; where the two curves differ in shape, the points with many failures
weigh most) with its {CONFIDENCE:.0%} likelihood-ratio interval (bit-true sampling only; it
holds 0 where the two levels agree within it), the point-by-point offsets over the waterfall
(bit-true BLER in [{WATERFALL[0]}, {WATERFALL[1]}]), and the waterfall points whose abstract
BLER is inside the CI:

| link | tables | best-fit offset dB | {CONFIDENCE:.0%} interval dB | point by point | inside |
|---|---|---:|---|---|---|
{fit_rows}

## Reading

{reading(fits, points)}
{tables_markdown(pairs, args.seed)}{notes}"""
