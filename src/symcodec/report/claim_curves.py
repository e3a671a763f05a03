"""Claim 3 of SPEC section 8, which reads curves rather than single settings: the SNR shift
between `full` and `full-project` at a target accuracy tied to the model's own quantized
accuracy, read off each trial's curve.

Claim 5 (the projection gain regressed on the distance d_S to the symmetric subspace) is in
:mod:`symcodec.report.claim_distance` (the line fit in :mod:`symcodec.report.gain_line`); its
names are re-exported here, where they were.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..errors import SymcodecError
from ..symmetry import get_symmetry, projection_gain_bound_db
from .claim_distance import ACCURATE_WITHIN_PP, MIN_DISTANCES, claim5_projection_near_subspace
from .claims import Claim, decided_claim
from .confidence import mean_skipping_nan
from .format import is_finite
from .gain_line import slope_with_ci
from .paired import compare_differences
from .summary import grouping_key
from .trial_fields import curve_id, nr_setting, protect, train_seed

__all__ = [
    "ACCURATE_WITHIN_PP",
    "KERNEL_SIZE",
    "MIN_DISTANCES",
    "TARGET_DROP_PP",
    "claim3_projection_denoises",
    "claim5_projection_near_subspace",
    "dof_per_kernel",
    "slope_with_ci",
    "snr_to_reach",
]

TARGET_DROP_PP = 1.0
"""Claim 3's target accuracy is the model's Acc Tx,q minus this (pp)."""


KERNEL_SIZE = 3
"""Kernel size of the DoF counts and bounds quoted (SPEC: 3x3)."""


def dof_per_kernel(symmetry: str, k: int = KERNEL_SIZE) -> int | None:
    """Degrees of freedom of a ``k`` x ``k`` kernel (:meth:`Symmetry.dof`); None if unknown.

    >>> dof_per_kernel("central-skew"), dof_per_kernel("no-such-symmetry")
    (4, None)
    """
    try:
        return get_symmetry(symmetry).dof(k)
    except (SymcodecError, ValueError, KeyError):
        return None


def snr_to_reach(points: Sequence[tuple[float, float]], target: float) -> tuple[float | None, str]:
    """The SNR at which a curve reaches ``target`` and stays there (linear interpolation
    between the last point below and the first point of the run at or above it), or None
    and why.

    >>> snr_to_reach([(0, 50.0), (10, 90.0), (20, 99.0)], 94.5)
    (15.0, '')
    >>> snr_to_reach([(0, 50.0), (10, 90.0)], 94.5)
    (None, 'does not reach it in the sweep')
    """
    points = sorted(points)
    if not points or points[-1][1] < target:
        return None, "does not reach it in the sweep"
    i = len(points) - 1
    while i > 0 and points[i - 1][1] >= target:
        i -= 1
    if i == 0:
        return None, f"is above it already at {points[0][0]:g} dB"
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return x0 + (target - y0) * (x1 - x0) / (y1 - y0), ""


def _curve_group_text(row: Mapping) -> str:
    extra = "" if protect(row) == "none" else f", protect {protect(row)}"
    mcs, robust = nr_setting(row)
    if mcs:
        extra += f", MCS {mcs}" + ("" if robust is None else f" (protect MCS {robust})")
    return f"{row['symmetry']}, {row['bits']} bits, {row['energy']}{extra}"


def _shift_of_group(members: Sequence[Mapping]) -> tuple[str, object]:
    """One curve group's SNR shift: ``("tested", (comparison, text))`` or
    ``("untested", text)``."""
    head = _curve_group_text(members[0])
    seeds_txq: dict[int, list[float]] = {}
    for r in members:
        seeds_txq.setdefault(train_seed(r), []).append(r.get("acc_txq", math.nan))
    targets = {s: mean_skipping_nan(v) - TARGET_DROP_PP for s, v in seeds_txq.items()}
    curves: dict[tuple, dict[str, list[tuple[float, float]]]] = {}
    for r in members:
        if is_finite(r["acc_rx"]):
            modes = curves.setdefault(curve_id(r), {"full": [], "full-project": []})
            modes[r["mode"]].append((float(r["channel_value"]), float(r["acc_rx"])))
    complete = {cid: m for cid, m in curves.items() if m["full"] and m["full-project"]}
    shifts: dict[int, list[float]] = {}
    needs: dict[str, list[float]] = {"full": [], "full-project": []}
    misses: list[str] = []
    for cid in sorted(complete):
        target = targets.get(cid[0], math.nan)
        if not is_finite(target):
            misses.append("no Acc Tx,q")
            continue
        need = {}
        for mode, points in complete[cid].items():
            need[mode], why = snr_to_reach(points, target)
            if need[mode] is None:
                misses.append(f"{mode} {why}")
        if need["full"] is not None and need["full-project"] is not None:
            shifts.setdefault(cid[0], []).append(need["full"] - need["full-project"])
            needs["full"].append(need["full"])
            needs["full-project"].append(need["full-project"])
    symmetry = members[0]["symmetry"]
    d = dof_per_kernel(symmetry)
    bound = "n/a"
    if d:
        db = projection_gain_bound_db(symmetry, KERNEL_SIZE)
        bound = f"10 log10({KERNEL_SIZE**2}/{d}) = {db:.2f} dB"
    target_text = ", ".join(f"{t:.2f}%" for _, t in sorted(targets.items()) if is_finite(t))
    head += f": target Acc Tx,q - {TARGET_DROP_PP:g} pp = {target_text or 'n/a'}"
    crossing = sum(len(v) for v in shifts.values())
    if crossing < 2 or crossing < len(complete) / 2:
        seen = sorted(set(misses))
        return "untested", (
            f"{head}: not tested, the grid does not cross the target on {len(complete) - crossing}"
            f" of {len(complete)} trial curves ({'; '.join(seen[:3]) or 'no curves'}); "
            f"bound {bound}"
        )
    c = compare_differences(shifts)
    text = (
        f"{head}: full needs {mean_skipping_nan(needs['full']):.2f} dB, full-project "
        f"{mean_skipping_nan(needs['full-project']):.2f} dB on average; SNR shift "
        f"{c.text('dB')}, {crossing} of {len(complete)} curves cross; bound {bound}"
    )
    return "tested", (c, text)


def claim3_projection_denoises(rows: Sequence[Mapping]) -> Claim:
    """Claim 3: the SNR that `full` needs for the target accuracy minus the SNR that
    `full-project` needs, per paired trial curve, is positive beyond its CI in a majority of
    the curve groups (symmetry, bits, energy, protection) where the grid crosses the target."""
    awgn = [
        r
        for r in rows
        if r["method"] == "symmetric"
        and r["channel_param"] == "snr_db"
        and is_finite(r["channel_value"])
        and r["mode"] in ("full", "full-project")
    ]
    modes = {r["mode"] for r in awgn}
    if modes != {"full", "full-project"}:
        missing = "`full`" if "full" not in modes else "`full-project`"
        return decided_claim(3, "not tested", f"no {missing} rows with an SNR sweep in this run.")
    groups: dict[tuple, list[Mapping]] = {}
    for r in awgn:
        key = (
            r["symmetry"], grouping_key(r["bits"]), r["energy"], protect(r), r["channel"],
            nr_setting(r),  # on the NR link, each MCS (and protection MCS) is its own curve
        )  # fmt: skip
        groups.setdefault(key, []).append(r)
    tested, texts = [], []
    for members in groups.values():
        if {r["mode"] for r in members} != {"full", "full-project"}:
            continue
        kind, result = _shift_of_group(members)
        if kind == "tested":
            comparison, text = result
            tested.append(comparison)
            texts.append(text)
        else:
            texts.append(result)
    if not tested:
        texts = texts or ["no symmetry has both `full` and `full-project` in an SNR sweep"]
        return decided_claim(3, "not tested", "; ".join(texts) + ".")
    positive = sum(c.a_ahead for c in tested)
    holds = positive > len(tested) / 2
    evidence = (
        f"the SNR shift (full - full-project) is positive beyond its CI in {positive} of "
        f"{len(tested)} curve groups where the grid crosses the target (majority needed). "
        + "; ".join(texts)
    )
    return decided_claim(3, "holds" if holds else "does not hold", evidence + ".")
