"""The SNR each configuration needs to reach a target accuracy, and projection's gain in dB.

For every configuration of an SNR sweep (method, symmetry, mode, bits, energy convention,
protection), :func:`snr_to_target` reads each trial curve (one training seed, one trial
number, every channel setting: :func:`~symcodec.report.trial_fields.curve_id`) at the
target accuracy ``Acc Tx,q - 1 pp`` (:data:`~symcodec.report.claim_curves.TARGET_DROP_PP`)
by :func:`~symcodec.report.claim_curves.snr_to_reach`. The target is tied to the model's
own Tx,q, per training seed: for the symmetric modes it is that of ``full`` at the same
symmetry and bits (every mode of a symmetric model races to the same accuracy); for the
baselines, their own.

The mean over curves has the CI of :func:`~symcodec.report.paired.mean_difference_ci`
(two-level bootstrap over training seeds, then curves; a t interval with one seed). For
``full-project`` and ``dof`` the gain is paired per curve, ``SNR(full) - SNR(mode)``, with
the same CI, beside the bound ``10 log10(k^2 / DoF)``. A curve that never reaches the target
inside the grid (or starts above it) has no SNR; the table says how many curves crossed.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence

from ..io import atomic_open
from ..symmetry import projection_gain_bound_db
from .claim_curves import KERNEL_SIZE, TARGET_DROP_PP, dof_per_kernel, snr_to_reach
from .confidence import mean_skipping_nan
from .format import is_finite
from .paired import mean_difference_ci
from .summary import METHOD_ORDER, MODE_ORDER, grouping_key
from .trial_fields import curve_id, protect, train_seed

__all__ = ["SNR_TARGET_COLUMNS", "snr_to_target", "write_snr_targets", "snr_targets_markdown"]

SNR_TARGET_COLUMNS = (
    "method",
    "symmetry",
    "mode",
    "bits",
    "energy",
    "protect",
    "target_acc_pct",
    "snr_db",
    "snr_ci_low_db",
    "snr_ci_high_db",
    "curves_crossing",
    "curves",
    "gain_vs_full_db",
    "gain_ci_low_db",
    "gain_ci_high_db",
    "bound_db",
)


def _configuration(row: Mapping) -> tuple:
    return (
        row["method"],
        row["symmetry"],
        row["mode"],
        grouping_key(row["bits"]),
        row["energy"],
        protect(row),
    )


def _targets(rows: Sequence[Mapping]) -> dict[tuple, float]:
    """Target accuracy per (method, symmetry, target mode, bits, energy, protect, seed)."""
    txq: dict[tuple, list[float]] = {}
    for r in rows:
        key = (*_configuration(r), train_seed(r))
        txq.setdefault(key, []).append(float(r.get("acc_txq", math.nan)))
    return {k: mean_skipping_nan(v) - TARGET_DROP_PP for k, v in txq.items()}


def _target_key(config: tuple, seed: int, targets: Mapping) -> tuple:
    method, symmetry, mode, bits, energy, prot = config
    if method == "symmetric":
        full = (method, symmetry, "full", bits, energy, prot, seed)
        if full in targets:
            return full
    return (*config, seed)


def snr_to_target(rows: Sequence[Mapping]) -> list[dict]:
    """One row per configuration of an SNR sweep (columns :data:`SNR_TARGET_COLUMNS`).

    >>> rows = [dict(method="symmetric", symmetry="central-skew", mode=m, bits=8,
    ...              energy="per-value", protect="none", channel_param="snr_db",
    ...              channel_value=s, train_seed=0, trial=t, acc_txq=90.0,
    ...              acc_rx=min(90.0, 10.0 * (s + shift)))
    ...         for m, shift in (("full", 0.0), ("full-project", 2.0)) for s in range(0, 12)
    ...         for t in range(3)]
    >>> [(r["mode"], r["snr_db"], r["gain_vs_full_db"]) for r in snr_to_target(rows)]
    [('full-project', 6.9, 2.0), ('full', 8.9, nan)]
    """
    swept = [
        r
        for r in rows
        if r["channel_param"] in ("snr_db", "ebn0_db") and is_finite(r["channel_value"])
    ]
    targets = _targets(swept)
    curves: dict[tuple, dict[tuple, list[tuple[float, float]]]] = {}
    for r in swept:
        if is_finite(r["acc_rx"]):
            points = curves.setdefault(_configuration(r), {}).setdefault(curve_id(r), [])
            points.append((float(r["channel_value"]), float(r["acc_rx"])))
    needs: dict[tuple, dict[tuple, float | None]] = {}
    for config, by_curve in curves.items():
        needs[config] = {}
        for cid, points in by_curve.items():
            target = targets.get(_target_key(config, cid[0], targets), math.nan)
            needs[config][cid] = snr_to_reach(points, target)[0] if is_finite(target) else None
    out = []
    for config in sorted(needs, key=_order):
        out.append(_row(config, needs, targets))
    return out


def _order(config: tuple):
    method, symmetry, mode, bits, energy, prot = config
    return (
        METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER),
        symmetry,
        float(bits) if isinstance(bits, int | float) else math.inf,
        energy,
        prot,
        MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER),
    )


def _ci(by_seed: dict[int, list[float]]) -> tuple[float, float, float]:
    values = [v for vs in by_seed.values() for v in vs]
    if not values:
        return math.nan, math.nan, math.nan
    low, high, _ = mean_difference_ci(by_seed)
    return sum(values) / len(values), low, high


def _row(config: tuple, needs: Mapping, targets: Mapping) -> dict:
    method, symmetry, mode, bits, energy, prot = config
    mine = needs[config]
    by_seed: dict[int, list[float]] = {}
    for cid, need in mine.items():
        if need is not None:
            by_seed.setdefault(cid[0], []).append(need)
    snr, low, high = _ci(by_seed)
    seeds = sorted({cid[0] for cid in mine})
    target = mean_skipping_nan(
        targets.get(_target_key(config, s, targets), math.nan) for s in seeds
    )
    gain = gain_low = gain_high = bound = math.nan
    if method == "symmetric" and mode in ("dof", "full-project"):
        full = needs.get((method, symmetry, "full", bits, energy, prot), {})
        gains: dict[int, list[float]] = {}
        for cid, need in mine.items():
            other = full.get(cid)
            if need is not None and other is not None:
                gains.setdefault(cid[0], []).append(other - need)
        gain, gain_low, gain_high = _ci(gains)
        if dof_per_kernel(symmetry):
            bound = projection_gain_bound_db(symmetry, KERNEL_SIZE)
    if isinstance(bits, float) and bits.is_integer():
        bits = int(bits)
    return {
        "method": method,
        "symmetry": symmetry,
        "mode": mode,
        "bits": bits,
        "energy": energy,
        "protect": prot,
        "target_acc_pct": _round(target),
        "snr_db": _round(snr),
        "snr_ci_low_db": _round(low),
        "snr_ci_high_db": _round(high),
        "curves_crossing": sum(len(v) for v in by_seed.values()),
        "curves": len(mine),
        "gain_vs_full_db": _round(gain),
        "gain_ci_low_db": _round(gain_low),
        "gain_ci_high_db": _round(gain_high),
        "bound_db": _round(bound),
    }


def _round(value: float) -> float:
    return round(value, 2) if is_finite(value) else math.nan


def _cell(value, unit: str = "") -> str:
    return f"{value:.2f}{unit}" if is_finite(value) else "—"


def snr_targets_markdown(table: Sequence[Mapping]) -> str:
    """The table as Markdown (one line per configuration)."""
    lines = [
        f"# SNR to reach Acc Tx,q − {TARGET_DROP_PP:g} pp",
        "",
        "Per trial curve (training seed × trial), the SNR at which the received accuracy "
        "reaches the target and stays there (linear interpolation on the grid); the mean over "
        "curves with a 95% CI (two-level bootstrap over training seeds, then curves; t "
        "interval with one seed). Gain: SNR(full) − SNR(mode), paired per curve; bound: "
        "10 log10(9/DoF). A curve that does not cross the target inside the grid has no "
        "SNR (see *crossing*).",
        "",
        "| method | symmetry | mode | bits | energy | protect | target | SNR needed (95% CI) "
        "| crossing | gain vs full (95% CI) | bound |",
        "|---|---|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in table:
        snr = _cell(r["snr_db"], " dB")
        if is_finite(r["snr_ci_low_db"]):
            snr += f" [{r['snr_ci_low_db']:.2f}, {r['snr_ci_high_db']:.2f}]"
        gain = _cell(r["gain_vs_full_db"], " dB")
        if is_finite(r["gain_ci_low_db"]):
            gain += f" [{r['gain_ci_low_db']:.2f}, {r['gain_ci_high_db']:.2f}]"
        lines.append(
            f"| {r['method']} | {r['symmetry']} | {r['mode']} | {r['bits']} | {r['energy']} | "
            f"{r['protect']} | {_cell(r['target_acc_pct'], '%')} | {snr} | "
            f"{r['curves_crossing']}/{r['curves']} | {gain} | {_cell(r['bound_db'], ' dB')} |"
        )
    return "\n".join(lines) + "\n"


def write_snr_targets(rows: Sequence[Mapping], directory: str | os.PathLike) -> list[dict]:
    """Write ``snr_to_target.csv`` and ``snr_to_target.md`` into ``directory`` (nothing when
    the rows have no SNR sweep); returns the table."""
    table = snr_to_target(rows)
    if not table:
        return table
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SNR_TARGET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    with atomic_open(os.path.join(directory, "snr_to_target.csv"), "w") as fh:
        fh.write(buffer.getvalue())
    with atomic_open(os.path.join(directory, "snr_to_target.md"), "w") as fh:
        fh.write(snr_targets_markdown(table))
    return table
