"""Deciding the SPEC section 8 claims from a study's summary: one function per claim and
:func:`evaluate_claims`, which applies all five. Each rule is stated in
:data:`~symcodec.report.claims.CLAIM_RULES`."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from ..errors import SymcodecError
from ..symmetry import get_symmetry
from .claims import Claim, decided_claim
from .confidence import mean_ci95, mean_skipping_nan
from .format import format_channel_setting, is_finite
from .summary import conv_share, distinct_values, grouping_key


def _tolerance(a: Mapping, b: Mapping, column: str = "acc_rx") -> float:
    halves = [r.get(f"{column}_ci", math.nan) for r in (a, b)]
    return max([float(h) for h in halves if is_finite(h)], default=0.0)


def _main_rows(summary: Sequence[Mapping]) -> list[Mapping]:
    """Rows at full projection strength (alpha = 1) when the run has any; the alpha sweep is
    the ablation's business."""
    symmetric = [r for r in summary if r["method"] == "symmetric"]
    if any(is_finite(r["alpha"]) and float(r["alpha"]) == 1.0 for r in symmetric):
        return [
            r
            for r in summary
            if r["method"] != "symmetric" or (is_finite(r["alpha"]) and float(r["alpha"]) == 1.0)
        ]
    return list(summary)


def _setting(row: Mapping, *extra: str) -> tuple:
    keys = (*extra, "bits", "channel", "channel_param", "channel_value", "energy")
    return tuple(grouping_key(row[k]) for k in keys)


def _setting_text(row: Mapping) -> str:
    channel = row["channel"]
    if channel == "ideal" or not is_finite(row["channel_value"]):
        where = "ideal"
    else:
        where = f"{channel} {format_channel_setting(row, single_param=False)}"
    return f"{row['bits']} bits, {where}"


def _dof_per_kernel(symmetry: str, k: int = 3) -> int | None:
    """Degrees of freedom of a ``k`` x ``k`` kernel (:meth:`Symmetry.dof`); None if unknown."""
    try:
        return get_symmetry(symmetry).dof(k)
    except (SymcodecError, ValueError):
        return None


def claim1_payload_reduction(
    rows: Sequence[Mapping], summary: Sequence[Mapping], meta: Mapping
) -> Claim:
    """Claim 1: DoF transmission cuts the payload by at least 25% at every bit width."""
    dof = [r for r in rows if r["method"] == "symmetric" and r["mode"] == "dof"]
    if not dof:
        return decided_claim(1, "not tested", "no symmetric `dof` rows in this run.")
    present = distinct_values(dof, "symmetry")
    checked = ["central-skew"] if "central-skew" in present else present
    share = conv_share(summary, meta)
    parts, ok, any_value = [], True, False
    for symmetry in checked:
        mine = [r for r in dof if r["symmetry"] == symmetry]
        per_bits = []
        for b in sorted({int(r["bits"]) for r in mine}):
            value = mean_skipping_nan(
                r["payload_reduction_pct"] for r in mine if int(r["bits"]) == b
            )
            if is_finite(value):
                any_value = True
                ok = ok and value >= 25.0
                per_bits.append(f"{b} bits {value:.1f}%")
            else:
                per_bits.append(f"{b} bits n/a")
        text = f"{symmetry} (dof): payload reduction {', '.join(per_bits)}"
        d = _dof_per_kernel(symmetry)
        if d is not None:
            text += f"; per 3x3 kernel {d}/9 values sent ({100 * (1 - d / 9):.1f}% fewer)"
            if is_finite(share):
                text += (
                    f"; with conv share {100 * share:.1f}% the reduction is at most "
                    f"{100 * share * (1 - d / 9):.1f}%"
                )
        parts.append(text)
    if is_finite(share):
        parts.append(
            f"conv kernels hold {100 * share:.1f}% of the parameters, which bounds any DoF "
            "codec's payload reduction"
        )
    else:
        parts.append("conv share unknown (not in meta or rows)")
    if not any_value:
        return decided_claim(1, "not tested", "; ".join(parts) + ". No payload reduction figures.")
    verdict = "holds" if ok else "does not hold"
    return decided_claim(1, verdict, "; ".join(parts) + ". Threshold: 25% at every bit width.")


def claim2_beats_pruning(rows: Sequence[Mapping]) -> Claim:
    """Claim 2: symmetric `dof` beats pruning at equal settings in at least 75% of pairs."""
    pruned = [r for r in rows if r["method"] == "pruned"]
    by_setting = {_setting(r, "symmetry"): r for r in pruned}
    pairs = []
    for r in rows:
        if r["method"] == "symmetric" and r["mode"] == "dof":
            other = by_setting.get(_setting(r, "symmetry"))
            if other is not None and is_finite(r["acc_rx"]) and is_finite(other["acc_rx"]):
                pairs.append((r, other))
    collapsed = [
        r
        for r in pruned
        if is_finite(r["acc_rx"]) and is_finite(r["acc_ref"]) and r["acc_rx"] < 0.5 * r["acc_ref"]
    ]
    collapse_text = (
        f"{len(collapsed)} of {len(pruned)} pruned settings collapse (Acc Rx below half of the "
        "unconstrained float accuracy)"
    )
    if not pairs:
        return decided_claim(
            2,
            "not tested",
            "no symmetric `dof` row has a `pruned` row at the same symmetry, bits and channel "
            f"setting; {collapse_text}.",
        )
    gaps = [s["acc_rx"] - p["acc_rx"] for s, p in pairs]
    wins = [g > 0 and g >= _tolerance(s, p) for g, (s, p) in zip(gaps, pairs, strict=True)]
    fraction = sum(wins) / len(pairs)
    ratios = [
        p["payload_bits"] / s["payload_bits"]
        for s, p in pairs
        if is_finite(p["payload_bits"]) and is_finite(s["payload_bits"]) and s["payload_bits"] > 0
    ]
    lost = [
        _setting_text(s) + f" ({s['symmetry']}: {g:+.2f} pp)"
        for g, w, (s, _) in zip(gaps, wins, pairs, strict=True)
        if not w
    ]
    evidence = (
        f"symmetric dof beats pruning beyond the CI in {sum(wins)} of {len(pairs)} paired "
        f"settings ({100 * fraction:.0f}%; threshold 75%); median gap "
        f"{statistics.median(gaps):+.2f} pp (range {min(gaps):+.2f} to {max(gaps):+.2f}); "
        f"{collapse_text}"
    )
    if ratios:
        evidence += (
            f"; pruned payload / symmetric payload: median {statistics.median(ratios):.3f} "
            "(mask bits included)"
        )
    if lost:
        shown = "; ".join(lost[:6]) + ("; ..." if len(lost) > 6 else "")
        evidence += f". Not won: {shown}"
    return decided_claim(2, "holds" if fraction >= 0.75 else "does not hold", evidence + ".")


def _snr_to_reach(points: Sequence[tuple[float, float]], target: float) -> tuple[float | None, str]:
    """SNR at which a curve reaches ``target`` and stays there, by linear interpolation."""
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


def _snr_gaps(full: Sequence[Mapping], projected: Sequence[Mapping]) -> list[str]:
    """Per (symmetry, bits, energy): the SNR that `full` and `full-project` each need to reach
    the unconstrained float accuracy - 1 pp, their gap and the bound 10 log10(k^2/DoF)."""
    curves: dict[tuple, dict[str, list[Mapping]]] = {}
    for r in [*full, *projected]:
        key = (r["symmetry"], int(r["bits"]), r["energy"])
        curves.setdefault(key, {"full": [], "full-project": []})[r["mode"]].append(r)
    gaps = []
    for (symmetry, b, energy), modes in curves.items():
        if not modes["full"] or not modes["full-project"]:
            continue
        ref = mean_skipping_nan(r["acc_ref"] for r in modes["full"] + modes["full-project"])
        if not is_finite(ref):
            continue
        target = ref - 1.0
        need = {}
        notes = {}
        for mode, members in modes.items():
            pts = [
                (float(r["channel_value"]), r["acc_rx"])
                for r in members
                if is_finite(r["channel_value"]) and is_finite(r["acc_rx"])
            ]
            need[mode], notes[mode] = _snr_to_reach(pts, target)
        d = _dof_per_kernel(symmetry)
        bound = f"{10 * math.log10(9 / d):.2f} dB" if d else "n/a"
        head = f"{symmetry}, {b} bits, {energy}: target {target:.2f}%"
        if need["full"] is not None and need["full-project"] is not None:
            gap = need["full"] - need["full-project"]
            gaps.append(
                f"{head}: full needs {need['full']:.2f} dB, full-project "
                f"{need['full-project']:.2f} dB, gap {gap:+.2f} dB (bound {bound})"
            )
        else:
            said = [
                f"{m} {notes[m]}" if need[m] is None else f"{m} needs {need[m]:.2f} dB"
                for m in ("full", "full-project")
            ]
            gaps.append(f"{head}: {', '.join(said)}; no gap estimate (bound {bound})")
    return gaps


def claim3_projection_denoises(rows: Sequence[Mapping]) -> Claim:
    """Claim 3: under AWGN, `full-project` is never worse than `full` beyond the CI and
    better at one SNR or more (with the SNR each needs for the target accuracy)."""
    awgn = [r for r in rows if r["method"] == "symmetric" and r["channel"] == "awgn"]
    full = [r for r in awgn if r["mode"] == "full"]
    projected = [r for r in awgn if r["mode"] == "full-project"]
    if not full or not projected:
        missing = "`full`" if not full else "`full-project`"
        return decided_claim(3, "not tested", f"no {missing} rows under awgn in this run.")
    by_setting = {_setting(r, "symmetry"): r for r in full}
    pairs = [
        (p, by_setting[_setting(p, "symmetry")])
        for p in projected
        if _setting(p, "symmetry") in by_setting
        and is_finite(p["acc_rx"])
        and is_finite(by_setting[_setting(p, "symmetry")]["acc_rx"])
    ]
    if not pairs:
        return decided_claim(
            3, "not tested", "no `full-project` and `full` rows at the same setting."
        )
    diffs = [p["acc_rx"] - f["acc_rx"] for p, f in pairs]
    tolerances = [_tolerance(p, f) for p, f in pairs]
    worse = [(p, d) for (p, _), d, t in zip(pairs, diffs, tolerances, strict=True) if d < -t]
    better = sum(1 for d, t in zip(diffs, tolerances, strict=True) if d > t and d > 0)
    evidence = (
        f"{len(pairs)} paired AWGN settings: full-project better beyond the CI at {better}, "
        f"worse beyond the CI at {len(worse)}; median difference "
        f"{statistics.median(diffs):+.2f} pp (range {min(diffs):+.2f} to {max(diffs):+.2f})"
    )
    if worse:
        evidence += ". Worse at: " + "; ".join(
            f"{p['symmetry']} {_setting_text(p)} ({d:+.2f} pp)" for p, d in worse[:6]
        )
    gaps = _snr_gaps(full, projected)
    if gaps:
        evidence += ". SNR for the target accuracy: " + "; ".join(gaps)
    holds = not worse and better > 0
    return decided_claim(3, "holds" if holds else "does not hold", evidence + ".")


def claim4_central_skew_best(rows: Sequence[Mapping]) -> Claim:
    """Claim 4: no other symmetry dominates central-skew (payload and accuracy) at 75% of the
    settings or more."""
    dof = [
        r
        for r in rows
        if r["method"] == "symmetric" and r["mode"] == "dof" and is_finite(r["acc_rx"])
    ]
    symmetries = distinct_values(dof, "symmetry")
    if "central-skew" not in symmetries:
        return decided_claim(4, "not tested", "no central-skew `dof` rows in this run.")
    if len(symmetries) < 2:
        return decided_claim(
            4, "not tested", "only one symmetry in `dof` mode; nothing to compare."
        )
    settings: dict[tuple, list[Mapping]] = {}
    for r in dof:
        settings.setdefault(_setting(r), []).append(r)
    compared, dominated, best = 0, [], 0
    for members in settings.values():
        mine = [r for r in members if r["symmetry"] == "central-skew"]
        others = [r for r in members if r["symmetry"] != "central-skew"]
        if not mine or not others:
            continue
        cs = mine[0]
        compared += 1
        if cs["acc_rx"] >= max(o["acc_rx"] for o in others):
            best += 1
        by = []
        for o in others:
            no_larger = o["payload_bits"] <= cs["payload_bits"]
            no_lower = o["acc_rx"] >= cs["acc_rx"]
            strictly = o["payload_bits"] < cs["payload_bits"] or o["acc_rx"] - cs[
                "acc_rx"
            ] > _tolerance(o, cs)
            if no_larger and no_lower and strictly:
                by.append(
                    f"{o['symmetry']} ({o['payload_bits'] / 1000:.1f} vs "
                    f"{cs['payload_bits'] / 1000:.1f} kbits, {o['acc_rx']:.2f} vs "
                    f"{cs['acc_rx']:.2f}%)"
                )
        if by:
            dominated.append(f"{_setting_text(cs)}: by {', '.join(by)}")
    if not compared:
        return decided_claim(4, "not tested", "no setting has central-skew and another symmetry.")
    fraction = (compared - len(dominated)) / compared
    evidence = (
        f"symmetries compared: {', '.join(symmetries)}; central-skew is not dominated in "
        f"{compared - len(dominated)} of {compared} settings ({100 * fraction:.0f}%; "
        f"threshold 75%) and has the highest mean Acc Rx in {best} of {compared}"
    )
    if dominated:
        evidence += ". Dominated at: " + "; ".join(dominated[:6])
        if len(dominated) > 6:
            evidence += f"; ... ({len(dominated) - 6} more)"
    return decided_claim(4, "holds" if fraction >= 0.75 else "does not hold", evidence + ".")


def claim5_projection_near_subspace(meta: Mapping) -> Claim:
    """Claim 5: receiver projection helps near V_S and no longer far from it, from the
    ablation's tx-distance sweep in ``meta["ablation"]``."""
    ablation = meta.get("ablation")
    if not ablation:
        return decided_claim(5, "not tested", "not tested in this run: see `symcodec ablate`.")
    by_distance: dict[float, dict[float, list[float]]] = {}
    for e in ablation:
        if e.get("experiment") != "tx-distance":
            continue
        d, rx_alpha, acc = float(e["distance"]), float(e["rx_alpha"]), float(e["acc_rx"])
        by_distance.setdefault(round(d, 6), {}).setdefault(rx_alpha, []).append(acc)
    points = []
    for d in sorted(by_distance):
        groups = by_distance[d]
        if 0.0 in groups and 1.0 in groups and len(groups[0.0]) == len(groups[1.0]):
            gains = [a - b for a, b in zip(groups[1.0], groups[0.0], strict=True)]
            mean, half = mean_ci95(gains)
            points.append((d, mean, half if is_finite(half) else 0.0))
    if len(points) < 2:
        return decided_claim(
            5, "not tested", "the ablation has fewer than 2 distances with both arms."
        )
    evidence = "projection gain (Acc Rx with - without receiver projection, pp) by d_S: " + (
        ", ".join(f"d_S {d:.3f}: {m:+.2f} ± {h:.2f}" for d, m, h in points)
    )
    near, far = points[0], points[-1]
    holds = near[1] - near[2] > 0 and not far[1] - far[2] > 0
    return decided_claim(5, "holds" if holds else "does not hold", evidence + ".")


def evaluate_claims(summary: Sequence[Mapping], meta: Mapping | None = None) -> list[Claim]:
    """Decide the five SPEC section 8 claims from the summary (and ``meta``).

    Each verdict follows from the numbers by the rule in :data:`CLAIM_RULES` (also printed
    by :func:`claims_markdown`); nothing is assumed. Claims 1-4 use the rows at full
    projection strength (alpha = 1) when the run has any. ``meta`` may hold ``conv_share``
    (claim 1) and ``ablation``, a list of dicts with keys alpha, distance, acc (claim 5).

    Example:
        >>> base = dict(symmetry="central-skew", bits=8, channel="awgn",
        ...     channel_param="snr_db", channel_value=10.0, energy="per-value", alpha=1.0,
        ...     acc_ref=99.0, payload_bits=1000)
        >>> rows = [dict(base, method="symmetric", mode="dof", acc_rx=98.0),
        ...         dict(base, method="pruned", mode="pruned", acc_rx=30.0)]
        >>> from symcodec.report import summarize
        >>> claims = evaluate_claims(summarize(rows))
        >>> [(c.number, c.verdict) for c in claims]  # doctest: +NORMALIZE_WHITESPACE
        [(1, 'not tested'), (2, 'holds'), (3, 'not tested'), (4, 'not tested'),
         (5, 'not tested')]
    """
    meta = dict(meta or {})
    rows = _main_rows(summary)
    return [
        claim1_payload_reduction(rows, summary, meta),
        claim2_beats_pruning(rows),
        claim3_projection_denoises(rows),
        claim4_central_skew_best(rows),
        claim5_projection_near_subspace(meta),
    ]
