"""Deciding the SPEC section 8 claims from a study's trial rows: one function per claim and
:func:`evaluate_claims`, which applies all five. Each rule is stated in
:data:`~symcodec.report.claims.CLAIM_RULES`; claim 3 (curves) is in
:mod:`symcodec.report.claim_curves`, claim 5 (gain against distance) in
:mod:`symcodec.report.claim_distance`.

Comparisons are paired (:mod:`symcodec.report.paired`): rows of two methods at one setting
are matched by training seed and noise seed (or trial), and a method is *ahead beyond the
CI* when the 95% CI of the mean paired difference excludes 0 on its side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .claim_air_time import claim6_dof_protection_at_equal_air_time
from .claim_curves import KERNEL_SIZE, claim3_projection_denoises, dof_per_kernel
from .claim_distance import claim5_projection_near_subspace
from .claims import Claim, decided_claim
from .confidence import mean_skipping_nan
from .format import format_channel_setting, is_finite
from .paired import PairedComparison, compare_paired
from .summary import conv_share, distinct_values, grouping_key
from .trial_fields import channel_uses, legacy_note, mcs_setting, nr_setting, protect

KERNEL_CUT_THRESHOLD_PCT = 25.0
"""Claim 1 holds when central-skew's kernel payload reduction is at least this (%)."""

MIN_PAIRS = 2
"""A comparison needs this many paired trials (below it there is no CI)."""

_SETTING_KEYS = ("bits", "channel", "channel_param", "channel_value", "energy")


def setting_key(row: Mapping, *extra: str) -> tuple:
    """What makes two rows the same setting: bits, channel and its value, energy convention,
    protection and, on the NR link, the MCS setting (:func:`nr_setting`), plus the ``extra``
    columns first."""
    keys = (*extra, *_SETTING_KEYS)
    return (*(grouping_key(row[k]) for k in keys), protect(row), *nr_setting(row))


def setting_text(row: Mapping) -> str:
    """A setting in words, e.g. ``8 bits, awgn SNR 10 dB`` or ``8 bits, nr-ldpc SNR 10 dB,
    MCS 14 (protect MCS 9), protect side``."""
    if row["channel"] == "ideal" or not is_finite(row["channel_value"]):
        where = "ideal"
    else:
        where = f"{row['channel']} {format_channel_setting(row, single_param=False)}"
    mcs, robust = nr_setting(row)
    if mcs:
        where += f", MCS {mcs}" + ("" if robust is None else f" (protect MCS {robust})")
    extra = "" if protect(row) == "none" else f", protect {protect(row)}"
    return f"{row['bits']} bits, {where}{extra}"


def _main_rows(rows: Sequence[Mapping]) -> list[Mapping]:
    """Rows at full projection strength (alpha = 1) when the run has any; the alpha sweep is
    the ablation's business."""
    symmetric = [r for r in rows if r["method"] == "symmetric"]
    if any(is_finite(r["alpha"]) and float(r["alpha"]) == 1.0 for r in symmetric):
        return [
            r
            for r in rows
            if r["method"] != "symmetric" or (is_finite(r["alpha"]) and float(r["alpha"]) == 1.0)
        ]
    return list(rows)


def _by_setting(rows: Sequence[Mapping], *extra: str) -> dict[tuple, list[Mapping]]:
    groups: dict[tuple, list[Mapping]] = {}
    for r in rows:
        groups.setdefault(setting_key(r, *extra), []).append(r)
    return groups


def _ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Mean over mean (nan when either is missing or the denominator is 0)."""
    top, bottom = mean_skipping_nan(numerators), mean_skipping_nan(denominators)
    return top / bottom if is_finite(top) and is_finite(bottom) and bottom != 0 else math.nan


def _difference_text(a: str, b: str, c: PairedComparison) -> str:
    """``a - b`` with its deciding numbers and both sides' outage, for one setting."""
    return f"{a} - {b} {c.text()}; outage {a} {100 * c.outage_a:.0f}%, {b} {100 * c.outage_b:.0f}%"


def _shown(items: Sequence[str], limit: int = 6) -> str:
    return "; ".join(items[:limit]) + (
        f"; ... ({len(items) - limit} more)" if len(items) > limit else ""
    )


# --- claim 1 ---------------------------------------------------------------------------------


def claim1_payload_reduction(rows: Sequence[Mapping], meta: Mapping) -> Claim:
    """Claim 1: the kernel payload reduction of central-skew `dof` (1 - DoF/k^2) is at
    least :data:`KERNEL_CUT_THRESHOLD_PCT`; the whole-model reduction is reported beside it
    with the conv-share bound (whole-model cut <= conv share x kernel cut)."""
    dof = [r for r in rows if r["method"] == "symmetric" and r["mode"] == "dof"]
    central = [r for r in dof if r["symmetry"] == "central-skew"]
    if not central:
        return decided_claim(1, "not tested", "no central-skew `dof` rows in this run.")
    d = dof_per_kernel("central-skew")
    k2 = KERNEL_SIZE**2
    kernel_cut = 100 * (1 - d / k2)
    share = conv_share(rows, meta)
    parts = [
        f"central-skew {KERNEL_SIZE}x{KERNEL_SIZE}: {d}/{k2} values per kernel, kernel payload "
        f"reduction {kernel_cut:.1f}% (threshold {KERNEL_CUT_THRESHOLD_PCT:.0f}%)"
    ]
    whole = []
    above_bound = []
    for b in sorted({int(r["bits"]) for r in central}):
        value = mean_skipping_nan(
            r.get("payload_reduction_pct", math.nan) for r in central if int(r["bits"]) == b
        )
        whole.append(f"{b} bits {value:.1f}%" if is_finite(value) else f"{b} bits n/a")
        if is_finite(value) and is_finite(share) and value > share * kernel_cut + 0.05:
            above_bound.append(f"{b} bits")
    parts.append("whole-model payload reduction " + ", ".join(whole))
    if is_finite(share):
        bound = share * kernel_cut
        parts.append(
            f"conv kernels hold {100 * share:.1f}% of the parameters, so the whole-model cut is "
            f"at most {100 * share:.1f}% x {kernel_cut:.1f}% = {bound:.1f}%"
        )
        if above_bound:
            parts.append(
                "the measured whole-model cut exceeds that bound at "
                + ", ".join(above_bound)
                + " (the payload or the conv share is miscounted)"
            )
    else:
        parts.append("conv share unknown (not in meta or rows), so no whole-model bound")
    others = []
    for symmetry in distinct_values(dof, "symmetry"):
        sd = dof_per_kernel(symmetry)
        if symmetry != "central-skew" and sd is not None:
            others.append(f"{symmetry} {sd}/{k2} ({100 * (1 - sd / k2):.1f}%)")
    if others:
        parts.append("other symmetries' kernel cuts: " + ", ".join(others))
    verdict = "holds" if kernel_cut >= KERNEL_CUT_THRESHOLD_PCT else "does not hold"
    return decided_claim(1, verdict, "; ".join(parts) + ".")


# --- claim 2 ---------------------------------------------------------------------------------


def resource(row: Mapping) -> float:
    """What a transmission costs on its link: channel uses on analog links (``snr_db`` or
    ideal), payload bits (mask included) on digital ones."""
    if row["channel_param"] in ("snr_db", "") or row["channel"] == "ideal":
        return channel_uses(row)
    return float(row.get("payload_bits", math.nan))


EQUAL_RESOURCE_TOLERANCE = 0.01
"""Claim 2 compares a setting when pruning had at least (1 - this) x dof's resources."""


def claim2_beats_pruning(rows: Sequence[Mapping]) -> Claim:
    """Claim 2: symmetric `dof` is ahead of the pruned baseline beyond the paired CI at a
    majority of the settings compared (pruning given no fewer channel uses), against every
    pruning variant in the run (``pruned``: per layer, ``pruned-global``,
    ``pruned-kernel``); it holds only if it holds against each of them."""
    dof = _by_setting(
        [r for r in rows if r["method"] == "symmetric" and r["mode"] == "dof"], "symmetry"
    )
    variants = sorted({r["mode"] for r in rows if r["method"] == "pruned"})
    results = []
    for variant in variants:
        pruned = _by_setting(
            [r for r in rows if r["method"] == "pruned" and r["mode"] == variant], "symmetry"
        )
        results.append(_claim2_against(variant, dof, pruned))
    tested = [(v, e) for v, e in results if v != "not tested"]
    if not tested:
        evidence = "; ".join(e for _, e in results) if results else "no pruned rows in this run"
        return decided_claim(2, "not tested", evidence + ".")
    holds = all(v == "holds" for v, _ in tested)
    evidence = " | ".join(e for _, e in results)
    return decided_claim(2, "holds" if holds else "does not hold", evidence + ".")


def _claim2_against(variant: str, dof: dict, pruned: dict) -> tuple[str, str]:
    """Claim 2 against one pruning variant: ``(verdict, evidence)``."""
    compared: list[tuple[Mapping, PairedComparison, float]] = []
    skipped = []
    for key, mine in dof.items():
        theirs = pruned.get(key)
        if not theirs:
            continue
        ratio = _ratio([resource(r) for r in theirs], [resource(r) for r in mine])
        if is_finite(ratio) and ratio < 1 - EQUAL_RESOURCE_TOLERANCE:
            skipped.append(f"{mine[0]['symmetry']} {setting_text(mine[0])} (ratio {ratio:.3f})")
            continue
        comparison = compare_paired(mine, theirs)
        if comparison.n_pairs >= MIN_PAIRS:
            compared.append((mine[0], comparison, ratio))
    if not compared:
        return "not tested", (
            f"against `{variant}`: no symmetric `dof` setting has {MIN_PAIRS} or more trials "
            "paired with it at the same symmetry, bits, channel setting, energy and protection"
            + (f"; pruning had fewer resources at {_shown(skipped)}" if skipped else "")
        )
    wins = [c for _, c, _ in compared if c.a_ahead]
    losses = [c for _, c, _ in compared if c.b_ahead]
    holds = len(wins) > len(compared) / 2
    lines = [
        f"{r['symmetry']} {setting_text(r)}: {_difference_text('dof', variant, c)}; "
        f"{variant}/dof resources {ratio:.3f}"
        for r, c, ratio in compared
    ]
    evidence = (
        f"against `{variant}`: dof ahead beyond the paired CI at {len(wins)} of "
        f"{len(compared)} settings, {variant} ahead at {len(losses)} (majority needed: more "
        f"than {len(compared) / 2:g}). " + _shown(lines, 8)
    )
    if skipped:
        evidence += ". Not compared (pruning had fewer resources): " + _shown(skipped)
    return ("holds" if holds else "does not hold"), evidence


# --- claim 4 ---------------------------------------------------------------------------------


def claim4_central_skew_best(rows: Sequence[Mapping]) -> Claim:
    """Claim 4: no other symmetry is ahead of central-skew beyond the paired CI (`dof`, same
    bits and channel setting) at more settings than it is behind."""
    dof = [r for r in rows if r["method"] == "symmetric" and r["mode"] == "dof"]
    symmetries = distinct_values(dof, "symmetry")
    if "central-skew" not in symmetries:
        return decided_claim(4, "not tested", "no central-skew `dof` rows in this run.")
    if len(symmetries) < 2:
        return decided_claim(
            4, "not tested", "only one symmetry in `dof` mode; nothing to compare."
        )
    groups = _by_setting(dof, "symmetry")
    parts, failing, compared_any = [], [], False
    for symmetry in symmetries:
        if symmetry == "central-skew":
            continue
        payload, compared = [], []
        for key, theirs in groups.items():
            if key[0] != symmetry:
                continue
            mine = groups.get(("central-skew", *key[1:]))
            if not mine:
                continue
            c = compare_paired(theirs, mine)
            if c.n_pairs < MIN_PAIRS:
                continue
            compared.append((theirs[0], c))
            ratio = _ratio(
                [r.get("payload_bits", math.nan) for r in theirs],
                [r.get("payload_bits", math.nan) for r in mine],
            )
            if is_finite(ratio):
                payload.append(ratio)
        if not compared:
            continue
        compared_any = True
        ahead = sum(c.a_ahead for _, c in compared)
        behind = sum(c.b_ahead for _, c in compared)
        even = len(compared) - ahead - behind
        payload_text = (
            f"; its payload is {sum(payload) / len(payload):.2f}x central-skew's" if payload else ""
        )
        # the settings where this symmetry came closest to central-skew first: they decide
        compared.sort(key=lambda pair: -pair[1].mean_diff)
        lines = [
            f"{setting_text(r)}: {_difference_text(symmetry, 'central-skew', c)}"
            for r, c in compared
        ]
        parts.append(
            f"{symmetry} ahead of central-skew beyond the paired CI at {ahead}, behind at "
            f"{behind}, within the CI at {even} settings{payload_text}; closest first: "
            + _shown(lines, 4)
        )
        if ahead > behind:
            failing.append(symmetry)
    if not compared_any:
        return decided_claim(
            4,
            "not tested",
            f"no setting has {MIN_PAIRS} or more paired central-skew and other-symmetry trials.",
        )
    evidence = "; ".join(parts)
    if failing:
        evidence += f". Ahead more often than behind: {', '.join(failing)}"
    return decided_claim(4, "does not hold" if failing else "holds", evidence + ".")


# --- all -------------------------------------------------------------------------------------


def _trial_rows(rows: Sequence[Mapping]) -> tuple[list[Mapping], str]:
    """The rows as trials, and a note when they are per-setting means (a summary) instead."""
    rows = list(rows)
    if rows and all("n" in r and "trial" not in r for r in rows):
        note = (
            "These claims were decided from per-setting means (a summary), not trials: each "
            "setting counts as one trial, so there are no paired CIs; decide from results.csv."
        )
        return [dict(r, trial=0) for r in rows], note
    return rows, ""


def evaluate_claims(rows: Sequence[Mapping], meta: Mapping | None = None) -> list[Claim]:
    """Decide the five SPEC section 8 claims from a study's trial rows (``results.csv``),
    and claim 6 (:mod:`.claim_air_time`) when the rows ride the NR link.

    Each verdict follows from the numbers by the rule in :data:`CLAIM_RULES` (also printed
    by :func:`claims_markdown`). Claims 1-4 use the rows at full projection strength
    (alpha = 1) when the run has any. ``meta`` may hold ``conv_share`` (claim 1) and
    ``ablation``, the rows of ``ablation.csv`` (claim 5, when the results have no distance
    sweep), with ``acc_ref``. Summary rows (from :func:`summarize`) are accepted too, each
    setting counted as one trial; the claims then say so.

    Example:
        >>> base = dict(symmetry="central-skew", bits=8, channel="awgn", channel_param="snr_db",
        ...     channel_value=10.0, energy="per-value", alpha=1.0, acc_ref=99.0, acc_txq=98.0,
        ...     payload_bits=1000, values_sent=100)
        >>> rows = [dict(base, method=m, mode=mode, trial=t, acc_rx=a + t)
        ...         for t in range(5)
        ...         for m, mode, a in (("symmetric", "dof", 95.0), ("pruned", "pruned", 30.0))]
        >>> claims = evaluate_claims(rows)
        >>> [(c.number, c.verdict) for c in claims]  # doctest: +NORMALIZE_WHITESPACE
        [(1, 'holds'), (2, 'holds'), (3, 'not tested'), (4, 'not tested'),
         (5, 'not tested')]
    """
    meta = dict(meta or {})
    trials, summary_note = _trial_rows(rows)
    main = _main_rows(trials)
    claims = [
        claim1_payload_reduction(main, meta),
        claim2_beats_pruning(main),
        claim3_projection_denoises(main),
        claim4_central_skew_best(main),
        claim5_projection_near_subspace(meta, trials),
    ]
    if any(mcs_setting(r) for r in trials):
        claims.append(claim6_dof_protection_at_equal_air_time(trials))
    note = " ".join(n for n in (summary_note, legacy_note(trials)) if n)
    for claim in claims:
        claim.note = note
    return claims
