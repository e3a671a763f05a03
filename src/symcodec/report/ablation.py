"""The ablation of SPEC section 8, point 5 (``symcodec ablate``): ``ablation.csv``,
``ablation.md`` and ``ablation.png``. Does receiver projection help only near V_S?"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import SymcodecError
from ..io import atomic_open
from .claim_distance import (
    ACCURATE_WITHIN_PP,
    DistanceSweep,
    claim5_of_sweep,
    distance_sweep,
    qualification_cell,
    sweep_line,
)
from .confidence import mean_ci95
from .format import is_finite, penalty_text
from .gain_line import GainLine
from .paired import compare_differences
from .plot_style import pyplot, save_figure
from .trial_fields import train_seed

ABLATION_COLUMNS = (
    "experiment",
    "symmetry",
    "bits",
    "channel",
    "channel_value",
    "tx_alpha",
    "penalty",
    "distance",
    "rx_alpha",
    "trial",
    "acc_tx",
    "acc_rx",
    "train_seed",
    "acc_ref",
)
"""The ablation.csv schema, in column order (one row per trial of one arm). ``penalty`` is
the soft symmetry penalty lambda the transmitted model was trained with (``inf``: trained
symmetric; ``nan``: not recorded, a file written before the column existed).
``train_seed`` is the training seed of the transmitted model and ``acc_ref`` the test
accuracy (%) of that seed's unconstrained model, the reference its Acc Tx is held against
(a file written before these columns existed reads as seed 0 with ``acc_ref`` nan)."""

_LEGACY_SCHEMAS = (
    ABLATION_COLUMNS[: ABLATION_COLUMNS.index("train_seed")],
    tuple(c for c in ABLATION_COLUMNS[: ABLATION_COLUMNS.index("train_seed")] if c != "penalty"),
)
"""Schemas of older ablation.csv files: before ``train_seed`` and ``acc_ref``, and also
before ``penalty``."""

_NUMBER_COLUMNS = (
    "channel_value",
    "tx_alpha",
    "penalty",
    "distance",
    "rx_alpha",
    "acc_tx",
    "acc_rx",
    "acc_ref",
)


def read_ablation_csv(path: str | os.PathLike) -> list[dict]:
    """Rows of an ``ablation.csv`` (numbers as floats, trial, bits and train_seed as ints).
    A file written before the ``penalty`` column existed (its distance sweep projected the
    unconstrained model at the transmitter) reads with ``penalty`` nan; one written before
    ``train_seed`` and ``acc_ref`` reads as training seed 0 with ``acc_ref`` nan."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) not in (ABLATION_COLUMNS, *_LEGACY_SCHEMAS):
            raise SymcodecError(f"{path}: not an ablation.csv written by symcodec")
        rows = []
        for raw in reader:
            row: dict = {"penalty": "nan", "train_seed": "0", "acc_ref": "nan", **raw}
            for key in _NUMBER_COLUMNS:
                row[key] = float(row[key])
            for key in ("trial", "bits", "train_seed"):
                row[key] = int(row[key])
            rows.append(row)
    return rows


def write_ablation(rows: Sequence[Mapping], acc_ref: float, directory: str | os.PathLike) -> None:
    """Write ``ablation.csv``, ``ablation.md`` and ``ablation.png`` (SPEC 8, point 5).
    Without a finite ``acc_ref``, the reference is the mean of the rows' seeds' own."""
    out = Path(directory)
    if not is_finite(acc_ref):
        acc_ref = distance_sweep({"ablation": rows}).reference
    with atomic_open(out / "ablation.csv", "w") as handle:
        handle.write(_ablation_csv_text(rows))
    with atomic_open(out / "ablation.md", "w") as handle:
        handle.write(_ablation_markdown(rows, acc_ref))
    _plot_ablation(rows, acc_ref, out / "ablation.png")


def _ablation_csv_text(rows: Sequence[Mapping]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ABLATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # rows made before the penalty, train_seed and acc_ref columns
        full = {"penalty": math.nan, "train_seed": 0, "acc_ref": math.nan, **row}
        writer.writerow({k: full[k] for k in ABLATION_COLUMNS})
    return buffer.getvalue()


def _arms(rows: Sequence[Mapping], kind: str, key: str) -> dict[tuple, list[Mapping]]:
    """Rows of one experiment (``rx-alpha`` or ``tx-distance``) by (``key``, rx_alpha)."""
    result: dict = {}
    for r in rows:
        if r["experiment"] == kind:
            result.setdefault((r[key], r["rx_alpha"]), []).append(r)
    return result


def _distance_points(rows: Sequence[Mapping]) -> list[tuple[float, list, list]]:
    """The tx-distance sweep by transmitted model (its distance d_S), in order of d_S:
    ``(d_S, rows without receiver projection, rows with it)``."""
    points: dict[float, tuple[list, list]] = {}
    for r in rows:
        if r["experiment"] == "tx-distance" and r["rx_alpha"] in (0.0, 1.0):
            arm = points.setdefault(round(float(r["distance"]), 6), ([], []))
            arm[int(r["rx_alpha"] == 1.0)].append(r)
    return [(d, *points[d]) for d in sorted(points)]


def _ablation_markdown(rows: Sequence[Mapping], acc_ref: float) -> str:
    first = rows[0]
    sweep = distance_sweep({"ablation": rows, "acc_ref": acc_ref})
    seeds = sorted({train_seed(r) for r in rows})
    seed_text = (
        f"training seed {seeds[0]}"
        if len(seeds) == 1
        else f"{len(seeds)} training seeds ({', '.join(map(str, seeds))}; the trials of all "
        "seeds pooled in the means)"
    )
    lines = [
        f"# Ablation: does receiver projection help only near V_S? ({first['symmetry']})",
        "",
        f"Channel {first['channel']} at {first['channel_value']:g}, {first['bits']} bits, "
        f"full-project mode, {len({r['trial'] for r in rows})} trials per model, {seed_text}; "
        f"unconstrained float accuracy {sweep.reference:.2f}%"
        + (" (the mean of the seeds')" if len(seeds) > 1 else "")
        + ". Mean ± 95% CI.",
        "",
        "## Receiver projection strength (model trained symmetric)",
        "",
        "| alpha | Acc Rx (%) |",
        "|---:|---:|",
    ]
    for (_, rx_alpha), items in sorted(_arms(rows, "rx-alpha", "tx_alpha").items()):
        m, h = mean_ci95([r["acc_rx"] for r in items])
        lines.append(f"| {rx_alpha:g} | {m:.2f} ± {h:.2f} |")
    lines += [
        "",
        "## Distance to V_S (models trained with a soft symmetry penalty lambda)",
        "",
        "lambda 0 is the unconstrained reference, inf the model trained symmetric; the "
        "receiver projects (alpha 1) or not (alpha 0) the same noisy receptions. Gain: "
        "projected - not, paired, with its 95% CI. A model qualifies when its Acc Tx is "
        f"within {ACCURATE_WITHIN_PP:g} pp of its own training seed's reference accuracy. "
        "One line per distance: the models trained symmetric (d_S 0) of every seed share one.",
        "",
        "| lambda | d_S | Acc Tx (%) | Acc Rx, no projection (%) | Acc Rx, projected (%) "
        "| Gain (pp) | Qualifies | Seeds |",
        "|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    points = {p.distance: p for p in sweep.points}
    for d, without, with_ in _distance_points(rows):
        m0, h0 = mean_ci95([r["acc_rx"] for r in without])
        m1, h1 = mean_ci95([r["acc_rx"] for r in with_])
        ref = (with_ or without)[0]
        point = points.get(d)
        gain, qualifies = _gain_cells(point)
        acc_tx = point.acc_tx if point is not None else ref["acc_tx"]
        seeds_here = ", ".join(str(s) for s in sorted({train_seed(r) for r in with_ + without}))
        lines.append(
            f"| {penalty_text(ref.get('penalty', math.nan))} | {ref['distance']:.3f} | "
            f"{acc_tx:.2f} | {m0:.2f} ± {h0:.2f} | {m1:.2f} ± {h1:.2f} | {gain} | "
            f"{qualifies} | {seeds_here} |"
        )
    fitted = sweep_line(sweep)
    lines += ["", _fit_paragraph(sweep, fitted)]
    claim = claim5_of_sweep(sweep, fitted)
    lines += ["", f"**Claim 5: {claim.verdict}.** {claim.evidence}", ""]
    return "\n".join(lines)


def _gain_cells(point) -> tuple[str, str]:
    """A distance's gain cell (mean and 95% CI) and its qualification cell."""
    if point is None:
        return "-", "-"
    c = compare_differences(point.gains)
    ci = f" [{c.ci_low:+.2f}, {c.ci_high:+.2f}]" if is_finite(c.ci_low) else ""
    return f"{c.mean_diff:+.2f}{ci}", qualification_cell(point)


def _fit_paragraph(sweep: DistanceSweep, fitted: tuple[GainLine | None, str]) -> str:
    """The line fitted to the qualifying models (``fitted``, :func:`sweep_line` of
    ``sweep``): slope and zero crossing with their CIs."""
    used = f"{len(sweep.qualifying)} of {len(sweep.points)} models qualify"
    line, why_not = fitted
    if line is None:
        return f"Fit of the gain against d_S ({used}; only they are used): none. {why_not}"
    return (
        f"Fit of the gain against d_S ({used}; only they are used): slope "
        f"{line.slope_text()} ({line.bootstrap_text}); {line.crossing_text()}."
    )


def _plot_ablation(rows: Sequence[Mapping], acc_ref: float, path: str | os.PathLike) -> None:
    first = rows[0]
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    alpha_groups = sorted(_arms(rows, "rx-alpha", "tx_alpha").items())
    xs = [k[1] for k, _ in alpha_groups]
    stats = [mean_ci95([r["acc_rx"] for r in items]) for _, items in alpha_groups]
    ax1.errorbar(
        xs,
        [m for m, _ in stats],
        yerr=[h if is_finite(h) else 0 for _, h in stats],
        marker="o",
        capsize=3,
    )
    ax1.set_xlabel("receiver projection strength alpha")
    ax1.set_ylabel("Acc Rx (%)")
    ax1.set_title("trained symmetric: accuracy vs alpha")
    points = _distance_points(rows)
    for arm, label in ((1, "no projection"), (2, "receiver projects")):
        pts = [(p[0], mean_ci95([r["acc_rx"] for r in p[arm]])) for p in points if p[arm]]
        ax2.errorbar(
            [d for d, _ in pts],
            [m for _, (m, _) in pts],
            yerr=[h if is_finite(h) else 0 for _, (_, h) in pts],
            marker="o",
            capsize=3,
            label=label,
        )
    ax2.axhline(acc_ref, color="grey", linestyle="--", label="unconstrained float")
    ax2.set_xlabel("distance d_S of the transmitted kernels to V_S")
    ax2.set_ylabel("Acc Rx (%)")
    ax2.set_title("accuracy vs distance to the subspace")
    ax2.legend(fontsize=8)
    fig.suptitle(
        f"Ablation ({first['symmetry']}, {first['channel']} {first['channel_value']:g}, "
        f"{first['bits']} bits)"
    )
    save_figure(fig, path)
