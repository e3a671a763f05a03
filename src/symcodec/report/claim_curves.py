"""Claims 3 and 5 of SPEC section 8, which read curves rather than single settings.

Claim 3: the SNR shift between `full` and `full-project` at a target accuracy tied to the
model's own quantized accuracy, read off each trial's curve. Claim 5: the projection gain
(`full-project` - `full`, or receiver projection on - off in the ablation) regressed on the
transmitted model's distance d_S to the symmetric subspace.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import SymcodecError
from ..symmetry import get_symmetry, projection_gain_bound_db
from .claims import Claim, decided_claim
from .confidence import mean_skipping_nan
from .format import is_finite, penalty_text
from .paired import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, compare_differences, paired_values
from .summary import grouping_key
from .trial_fields import curve_id, protect, train_seed

TARGET_DROP_PP = 1.0
"""Claim 3's target accuracy is the model's Acc Tx,q minus this (pp)."""

ACCURATE_WITHIN_PP = 1.0
"""Claim 5 uses models whose Acc Tx is within this (pp) of the reference accuracy."""

MIN_DISTANCES = 3
"""Claim 5 needs at least this many distinct distances d_S among accurate models."""


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
        key = (r["symmetry"], grouping_key(r["bits"]), r["energy"], protect(r), r["channel"])
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


# --- claim 5 ---------------------------------------------------------------------------------


def _results_gains(rows: Sequence[Mapping]) -> tuple[dict, dict, float, dict]:
    """From trial rows: paired gains full-project - full by distance (then training seed),
    the mean Acc Tx by distance, the reference accuracy (mean acc_ref) and no penalties."""
    symmetric = [
        r
        for r in rows
        if r["method"] == "symmetric"
        and r["mode"] in ("full", "full-project")
        and is_finite(r.get("distance"))
    ]
    groups: dict[tuple, dict[str, list[Mapping]]] = {}
    for r in symmetric:
        key = (
            round(float(r["distance"]), 6),
            r["symmetry"],
            *(grouping_key(r[k]) for k in ("bits", "channel", "channel_value", "energy")),
            protect(r),
        )
        groups.setdefault(key, {"full": [], "full-project": []})[r["mode"]].append(r)
    gains: dict[float, dict[int, list[float]]] = {}
    acc_tx: dict[float, list[float]] = {}
    for key, modes in groups.items():
        for (seed, _), projected, full in paired_values(modes["full-project"], modes["full"]):
            gains.setdefault(key[0], {}).setdefault(seed, []).append(
                float(projected["acc_rx"]) - float(full["acc_rx"])
            )
            acc_tx.setdefault(key[0], []).append(float(full.get("acc_tx", math.nan)))
    reference = mean_skipping_nan(r.get("acc_ref", math.nan) for r in symmetric)
    return gains, {d: mean_skipping_nan(v) for d, v in acc_tx.items()}, reference, {}


def _ablation_gains(ablation: Sequence[Mapping], acc_ref) -> tuple[dict, dict, float, dict]:
    """From the ablation's tx-distance rows: paired gains (receiver projection on - off) by
    distance, the mean Acc Tx by distance, the reference (``acc_ref`` if given, else the
    best mean Acc Tx among the distances) and the soft symmetry penalty lambda each
    distance's model was trained with (where the rows record it)."""
    arms: dict[tuple, dict[float, list[Mapping]]] = {}
    seen: dict[tuple, int] = {}
    for r in ablation:
        if r.get("experiment") != "tx-distance":
            continue
        base = (
            round(float(r["distance"]), 6),
            r.get("symmetry"),
            r.get("bits"),
            grouping_key(r.get("channel_value", math.nan)),
            r.get("trial", 0),
        )
        rx_alpha = float(r["rx_alpha"])
        occurrence = seen.get((*base, rx_alpha), 0)
        seen[(*base, rx_alpha)] = occurrence + 1
        arms.setdefault((*base, occurrence), {}).setdefault(rx_alpha, []).append(r)
    gains: dict[float, dict[int, list[float]]] = {}
    acc_tx: dict[float, list[float]] = {}
    penalties: dict[float, float] = {}
    for key, by_alpha in arms.items():
        if 0.0 in by_alpha and 1.0 in by_alpha:
            on, off = by_alpha[1.0][0], by_alpha[0.0][0]
            gains.setdefault(key[0], {}).setdefault(0, []).append(
                float(on["acc_rx"]) - float(off["acc_rx"])
            )
            acc_tx.setdefault(key[0], []).append(float(on.get("acc_tx", math.nan)))
            penalties[key[0]] = on.get("penalty", math.nan)
    means = {d: mean_skipping_nan(v) for d, v in acc_tx.items()}
    if is_finite(acc_ref):
        reference = float(acc_ref)
    else:
        reference = max((v for v in means.values() if is_finite(v)), default=math.nan)
    return gains, means, reference, penalties


def slope_with_ci(
    by_distance: Mapping[float, Sequence[float]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    rng_seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float]:
    """Least-squares slope of gain on distance and its 95% percentile CI by a stratified
    bootstrap (the gains resampled with replacement within each distance; fixed RNG seed).

    >>> slope, low, high = slope_with_ci({0.0: [2.0, 2.0], 1.0: [1.0, 1.0], 2.0: [0.0, 0.0]})
    >>> slope, low, high
    (-1.0, -1.0, -1.0)
    """
    levels = sorted(by_distance)
    x = np.repeat(levels, [len(by_distance[d]) for d in levels]).astype(float)
    counts = np.array([len(by_distance[d]) for d in levels], dtype=float)
    x_mean = float(x.mean())
    weights = counts * (np.array(levels, dtype=float) - x_mean)
    sxx = float(((x - x_mean) ** 2).sum())
    level_means = np.array([np.mean(by_distance[d]) for d in levels])
    slope = float(weights @ level_means / sxx)
    rng = np.random.default_rng(rng_seed)
    boot = np.zeros((resamples, len(levels)))
    for j, d in enumerate(levels):
        values = np.asarray(by_distance[d], dtype=float)
        boot[:, j] = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(1)
    slopes = boot @ weights / sxx
    return slope, float(np.percentile(slopes, 2.5)), float(np.percentile(slopes, 97.5))


def claim5_projection_near_subspace(meta: Mapping, rows: Sequence[Mapping] = ()) -> Claim:
    """Claim 5: the projection gain, regressed on the distance d_S of accurate transmitted
    models to V_S, decreases with d_S beyond the CI of the slope.

    The gain comes from the trial rows (`full-project` - `full`, paired) when their
    ``distance`` takes at least :data:`MIN_DISTANCES` values, else from ``meta["ablation"]``
    (receiver projection on - off in its tx-distance sweep of models trained with a soft
    symmetry penalty lambda; reference accuracy ``meta["acc_ref"]`` if given). The evidence
    lists, per model, lambda (where recorded), d_S, Acc Tx and the gain with its CI."""
    gains, acc_tx, reference, penalties = _results_gains(rows)
    source = "the study's `full-project` - `full` pairs"
    if len(gains) < MIN_DISTANCES and meta.get("ablation"):
        gains, acc_tx, reference, penalties = _ablation_gains(meta["ablation"], meta.get("acc_ref"))
        source = "the ablation's tx-distance sweep (receiver projection on - off)"
    elif len(gains) < MIN_DISTANCES:
        return decided_claim(
            5,
            "not tested",
            f"the results have {len(gains)} distance(s) d_S with paired `full-project` and "
            f"`full` trials (at least {MIN_DISTANCES} needed) and there is no ablation: see "
            "`symcodec ablate`.",
        )
    accurate = {
        d: g
        for d, g in gains.items()
        if is_finite(acc_tx.get(d)) and abs(acc_tx[d] - reference) <= ACCURATE_WITHIN_PP
    }
    listing = "; ".join(
        ("" if penalty_text(penalties.get(d)) == "-" else f"λ {penalty_text(penalties[d])}, ")
        + f"d_S {d:.3f}: Acc Tx {acc_tx.get(d, math.nan):.2f}%"
        + ("" if d in accurate else " (not kept)")
        + f", gain {compare_differences(g).text()}"
        for d, g in sorted(gains.items())
    )
    head = (
        f"from {source}; reference accuracy {reference:.2f}%, models kept when Acc Tx is within "
        f"{ACCURATE_WITHIN_PP:g} pp of it: {len(accurate)} of {len(gains)} distances. {listing}"
    )
    if len(accurate) < MIN_DISTANCES:
        return decided_claim(
            5,
            "not tested",
            f"{head}. Fewer than {MIN_DISTANCES} distances with accurate models.",
        )
    pooled = {d: [v for s in sorted(g) for v in g[s]] for d, g in accurate.items()}
    if min(len(v) for v in pooled.values()) < 2:
        return decided_claim(5, "not tested", f"{head}. Fewer than 2 paired trials at a distance.")
    slope, low, high = slope_with_ci(pooled)
    verdict = "holds" if high < 0 else "does not hold"
    return decided_claim(
        5,
        verdict,
        f"{head}. Slope of the gain on d_S over the accurate models: {slope:+.2f} pp per unit "
        f"d_S, 95% CI [{low:+.2f}, {high:+.2f}] (stratified bootstrap).",
    )
