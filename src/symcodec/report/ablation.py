"""The ablation of SPEC section 8, point 5 (``symcodec ablate``): ``ablation.csv``,
``ablation.md`` and ``ablation.png``. Does receiver projection help only near V_S?"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import SymcodecError
from ..io import atomic_open
from .claim_rules import claim5_projection_near_subspace
from .confidence import mean_ci95
from .format import is_finite
from .plot_style import pyplot, save_figure

ABLATION_COLUMNS = (
    "experiment",
    "symmetry",
    "bits",
    "channel",
    "channel_value",
    "tx_alpha",
    "distance",
    "rx_alpha",
    "trial",
    "acc_tx",
    "acc_rx",
)
"""The ablation.csv schema, in column order (one row per trial of one arm)."""


def read_ablation_csv(path: str | os.PathLike) -> list[dict]:
    """Rows of an ``ablation.csv`` (numbers as floats, trial and bits as ints)."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != ABLATION_COLUMNS:
            raise SymcodecError(f"{path}: not an ablation.csv written by symcodec")
        rows = []
        for raw in reader:
            row: dict = dict(raw)
            for key in ("channel_value", "tx_alpha", "distance", "rx_alpha", "acc_tx", "acc_rx"):
                row[key] = float(row[key])
            row["trial"], row["bits"] = int(row["trial"]), int(row["bits"])
            rows.append(row)
    return rows


def write_ablation(rows: Sequence[Mapping], acc_ref: float, directory: str | os.PathLike) -> None:
    """Write ``ablation.csv``, ``ablation.md`` and ``ablation.png`` (SPEC 8, point 5)."""
    out = Path(directory)
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
        writer.writerow({k: row[k] for k in ABLATION_COLUMNS})
    return buffer.getvalue()


def _arms(rows: Sequence[Mapping], kind: str, key: str) -> dict[tuple, list[Mapping]]:
    """Rows of one experiment (``rx-alpha`` or ``tx-distance``) by (``key``, rx_alpha)."""
    result: dict = {}
    for r in rows:
        if r["experiment"] == kind:
            result.setdefault((r[key], r["rx_alpha"]), []).append(r)
    return result


def _ablation_markdown(rows: Sequence[Mapping], acc_ref: float) -> str:
    first = rows[0]
    lines = [
        f"# Ablation: does receiver projection help only near V_S? ({first['symmetry']})",
        "",
        f"Channel {first['channel']} at {first['channel_value']:g}, {first['bits']} bits, "
        f"full-project mode, {len({r['trial'] for r in rows})} trials per point; unconstrained "
        f"float accuracy {acc_ref:.2f}%. Mean ± 95% CI.",
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
        "## Distance to V_S (unconstrained model partially projected at the transmitter)",
        "",
        "| tx projection | d_S | Acc Tx (%) | Acc Rx, no projection (%) | Acc Rx, projected (%) |",
        "|---:|---:|---:|---:|---:|",
    ]
    table = _arms(rows, "tx-distance", "tx_alpha")
    for tx_alpha in sorted({k[0] for k in table}):
        without = table.get((tx_alpha, 0.0), [])
        with_ = table.get((tx_alpha, 1.0), [])
        m0, h0 = mean_ci95([r["acc_rx"] for r in without])
        m1, h1 = mean_ci95([r["acc_rx"] for r in with_])
        ref = (with_ or without)[0]
        lines.append(
            f"| {tx_alpha:g} | {ref['distance']:.3f} | {ref['acc_tx']:.2f} | "
            f"{m0:.2f} ± {h0:.2f} | {m1:.2f} ± {h1:.2f} |"
        )
    claim = claim5_projection_near_subspace({"ablation": rows, "acc_ref": acc_ref})
    lines += ["", f"**Claim 5: {claim.verdict}.** {claim.evidence}", ""]
    return "\n".join(lines)


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
    table = _arms(rows, "tx-distance", "tx_alpha")
    for rx_alpha, label in ((0.0, "no projection"), (1.0, "receiver projects")):
        pts = sorted(
            (items[0]["distance"], mean_ci95([r["acc_rx"] for r in items]))
            for (tx_a, a), items in table.items()
            if a == rx_alpha
        )
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
