"""The SPEC section 8 claim rules on synthetic trial rows whose answer is known: for each
claim one case that must hold, one that must fail, and cases just either side of each
threshold (a paired CI that just excludes or just includes 0)."""

from __future__ import annotations

import math
import typing

import pytest
from claim5_support import PENALTY_NOISE, penalty_sweep, tx_distance_row

from symcodec import SymcodecError
from symcodec import report as R
from symcodec.report import claim_curves, claim_rules
from symcodec.report.gain_line import fit_gain_line
from symcodec.report.trial_fields import LEGACY_DEFAULTS
from symcodec.study.rows import RESULT_COLUMNS, TrialRow

# Paired-CI threshold cases use 5 trials whose differences are mean + SPREAD: the sample std is
# sqrt(10/4) * 0.1 * scale, so the t half-width is 2.776445 * 0.158114 / sqrt(5) = 0.19632 x scale.
SPREAD = (-0.2, -0.1, 0.0, 0.1, 0.2)
HALF_WIDTH = 2.776445 * math.sqrt(sum(d * d for d in SPREAD) / 4) / math.sqrt(5)

_DEFAULTS: dict = dict(
    study="synthetic",
    dataset="mnist",
    model="lenet",
    method="symmetric",
    symmetry="central-skew",
    mode="dof",
    bits=8,
    channel="awgn",
    channel_param="snr_db",
    channel_value=10.0,
    energy="per-value",
    alpha=1.0,
    spec_id="synthetic000",
    epochs_total=5,
    acc_ref=99.0,
    acc_tx=98.8,
    acc_txq=98.6,
    acc_rx=98.0,
    values_sent=30_000,
    values_total=60_000,
    payload_bits=240_000,
    payload_bits_oracle=240_000,
    header_bits=1_500,
    bits_sent=241_500,
    payload_reduction_pct=45.0,
    conv_share=0.9,
    train_seed=0,
    protect="none",
)
_TYPES = typing.get_type_hints(TrialRow)


def synthetic_row(**overrides) -> dict:
    """One results.csv row with every :class:`TrialRow` field filled; the noise seed is the
    pairing key of (training seed, trial) and the channel uses are the values sent, unless
    given."""
    row = {c: _DEFAULTS.get(c, {int: 0, float: 0.0, str: ""}[_TYPES[c]]) for c in RESULT_COLUMNS}
    row.update(overrides)
    row.setdefault("trial", 0)
    # the same in every row that shares setting, training seed and trial: the pairing key
    row["noise_seed"] = overrides.get(
        "noise_seed", 10_000 * int(row["train_seed"]) + 100 * int(row["trial"]) + 7
    )
    if "channel_uses" not in overrides:
        row["channel_uses"] = row["values_sent"]
    row["d_acc_pp"] = row["acc_rx"] - row["acc_ref"]
    return row


def trials_of(accs, train_seed: int = 0, **overrides) -> list[dict]:
    return [
        synthetic_row(trial=t, train_seed=train_seed, acc_rx=a, **overrides)
        for t, a in enumerate(accs)
    ]


def legacy(rows: list[dict]) -> list[dict]:
    """The rows as an older study wrote them: without the pairing columns."""
    return [{c: v for c, v in r.items() if c not in LEGACY_DEFAULTS} for r in rows]


def claim(rows, number: int, meta=None) -> R.Claim:
    return R.evaluate_claims(rows, meta)[number - 1]


def test_synthetic_rows_fill_every_field():
    row = synthetic_row()
    back = TrialRow.from_dict({c: row[c] for c in RESULT_COLUMNS})
    assert back.acc_rx == 98.0 and back.d_acc_pp == pytest.approx(-1.0)
    for column in ("train_seed", "noise_seed", "protect", "channel_uses"):
        assert column in row


# --- claim 1 ---------------------------------------------------------------------------------


def test_claim1_kernel_cut_and_whole_model_bound():
    c = claim(trials_of([98.0, 98.2]), 1)
    assert c.verdict == "holds"
    assert "4/9" in c.evidence and "55.6%" in c.evidence and "threshold 25%" in c.evidence
    assert "8 bits 45.0%" in c.evidence  # the whole-model reduction, beside it
    assert "90.0% x 55.6% = 50.0%" in c.evidence and "exceeds" not in c.evidence
    too_good = claim(trials_of([98.0], payload_reduction_pct=60.0), 1)
    assert "exceeds that bound at 8 bits" in too_good.evidence
    assert (
        "d4 3/9 (66.7%)" in claim(trials_of([98.0]) + trials_of([98.0], symmetry="d4"), 1).evidence
    )


def test_claim1_threshold_either_side(monkeypatch):
    rows = trials_of([98.0])
    monkeypatch.setattr(claim_rules, "KERNEL_CUT_THRESHOLD_PCT", 100 * 5 / 9 - 0.01)
    assert claim(rows, 1).verdict == "holds"
    monkeypatch.setattr(claim_rules, "KERNEL_CUT_THRESHOLD_PCT", 100 * 5 / 9 + 0.01)
    assert claim(rows, 1).verdict == "does not hold"


def test_claim1_not_tested_without_central_skew():
    assert claim(trials_of([98.0], symmetry="d4"), 1).verdict == "not tested"


# --- claim 2 ---------------------------------------------------------------------------------


def pruning_rows(gap_by_snr: dict, train_seeds=(0,), scale: float = 1.0, **pruned) -> list[dict]:
    """dof and pruned trials per SNR; the pruned side is dof - gap - SPREAD x scale, and both
    share a trial effect (paired noise) of up to 2 pp."""
    rows = []
    for snr, gap in gap_by_snr.items():
        for seed in train_seeds:
            shared = [98.4 - 0.5 * t + 0.1 * seed for t in range(len(SPREAD))]
            rows += trials_of(shared, seed, channel_value=snr)
            rows += trials_of(
                [a - gap - scale * d for a, d in zip(shared, SPREAD, strict=True)],
                seed,
                channel_value=snr,
                method="pruned",
                mode="pruned",
                mask_bits=60_000,
                payload_bits=300_000,
                **pruned,
            )
    return rows


def test_claim2_holds_and_fails():
    c = claim(pruning_rows({0.0: 40.0, 10.0: 30.0, 20.0: 20.0}), 2)
    assert c.verdict == "holds"
    assert "3 of 3 settings" in c.evidence and "+40.00 pp [+39.80, +40.20]" in c.evidence
    assert "sign p=0.0625" in c.evidence and "outage dof 0%, pruned 100%" in c.evidence
    assert claim(pruning_rows({0.0: 0.0, 10.0: 0.0, 20.0: 0.0}), 2).verdict == "does not hold"
    assert claim(pruning_rows({0.0: -5.0, 10.0: -5.0}), 2).verdict == "does not hold"


def test_claim2_must_hold_against_every_pruning_rule():
    per_layer = pruning_rows({0.0: 40.0, 10.0: 30.0, 20.0: 20.0})
    global_wins = [
        r for r in pruning_rows({0.0: -5.0, 10.0: -5.0, 20.0: -5.0}) if r["method"] == "pruned"
    ]
    for r in global_wins:
        r["mode"] = "pruned-global"
    c = claim(per_layer + global_wins, 2)
    assert c.verdict == "does not hold"
    assert "against `pruned`: dof ahead beyond the paired CI at 3 of 3" in c.evidence
    assert "against `pruned-global`: dof ahead beyond the paired CI at 0 of 3" in c.evidence
    global_loses = [dict(r, acc_rx=r["acc_rx"] - 50.0) for r in global_wins]
    assert claim(per_layer + global_loses, 2).verdict == "holds"


def test_claim2_paired_ci_just_either_side():
    # one setting: the CI is gap -+ HALF_WIDTH
    just_out = claim(pruning_rows({10.0: HALF_WIDTH + 0.005}), 2)
    assert just_out.verdict == "holds"
    just_in = claim(pruning_rows({10.0: HALF_WIDTH - 0.005}), 2)
    assert just_in.verdict == "does not hold"
    assert "dof ahead beyond the paired CI at 0 of 1" in just_in.evidence


def test_claim2_majority_threshold():
    two_of_four = pruning_rows({0.0: 5.0, 10.0: 5.0, 20.0: 0.0, 30.0: 0.0})
    assert claim(two_of_four, 2).verdict == "does not hold"  # a half is not a majority
    three_of_four = pruning_rows({0.0: 5.0, 10.0: 5.0, 20.0: 5.0, 30.0: 0.0})
    assert claim(three_of_four, 2).verdict == "holds"


def test_claim2_equal_channel_uses_and_pairing():
    fewer = pruning_rows({10.0: 30.0}, channel_uses=29_000)  # pruning got fewer channel uses
    c = claim(fewer, 2)
    assert c.verdict == "not tested" and "fewer resources" in c.evidence
    # unpaired trials (other noise seeds) do not count
    rows = pruning_rows({10.0: 30.0})
    shifted = [
        dict(r, noise_seed=r["noise_seed"] + 1) if r["method"] == "pruned" else r for r in rows
    ]
    assert claim(shifted, 2).verdict == "not tested"


def test_claim2_several_training_seeds_use_the_two_level_bootstrap():
    rows = pruning_rows({10.0: 3.0}, train_seeds=(0, 1, 2))
    c = claim(rows, 2)
    assert c.verdict == "holds" and "n=15 pairs, 3 training seeds" in c.evidence


def test_claim2_legacy_rows_pair_by_trial_and_say_so():
    rows = legacy(pruning_rows({0.0: 40.0, 10.0: 30.0}))
    claims = R.evaluate_claims(rows)
    assert claims[1].verdict == "holds"
    assert (
        "predate the columns" in claims[1].note and "pairing by (setting, trial)" in claims[1].note
    )
    assert "predate the columns" in R.claims_markdown(claims)


def test_summary_rows_are_not_trials():
    claims = R.evaluate_claims(R.summarize(pruning_rows({0.0: 40.0, 10.0: 30.0})))
    assert claims[1].verdict == "not tested"
    assert "per-setting means" in claims[1].note


def nr_rows(method: str, mode: str, accs, mcs: int, **overrides) -> list[dict]:
    """Trials on the NR link at 10 dB, MCS ``mcs`` (or ``mcs_auto=1``): the noise seed
    includes the MCS setting, as a study's does."""
    setting = overrides.pop("setting", mcs)
    return [
        synthetic_row(
            method=method,
            mode=mode,
            trial=t,
            acc_rx=a,
            channel="nr-ldpc",
            mcs=mcs,
            noise_seed=1_000 * setting + t,
            **overrides,
        )  # fmt: skip
        for t, a in enumerate(accs)
    ]


def test_nr_rows_at_different_mcs_are_different_settings():
    """dof is ahead of pruning at MCS 4 and level at MCS 19: two settings, one won, so claim
    2 does not hold (pooled as one setting, the mean of both would be ahead beyond its CI);
    claim 4 likewise counts hflip behind at one MCS and ahead at the other."""
    shared = [90.0 - t for t in range(len(SPREAD))]
    rows = []
    for mcs, gap in ((4, 10.0), (19, 0.0)):
        rows += nr_rows("symmetric", "dof", shared, mcs)
        lost = [a - gap - d for a, d in zip(shared, SPREAD, strict=True)]
        rows += nr_rows("pruned", "pruned", lost, mcs, payload_bits=300_000)
    c = claim(rows, 2)
    assert c.verdict == "does not hold"
    assert "dof ahead beyond the paired CI at 1 of 2 settings" in c.evidence
    assert "nr-ldpc SNR 10 dB, MCS 4:" in c.evidence and "MCS 19:" in c.evidence
    hflip = []
    for mcs, gap in ((4, -3.0), (19, 3.0)):
        hflip += nr_rows("symmetric", "dof", shared, mcs)
        ahead = [a + gap + d for a, d in zip(shared, SPREAD, strict=True)]
        hflip += nr_rows("symmetric", "dof", ahead, mcs, symmetry="hflip")
    c4 = claim(hflip, 4)
    assert "hflip ahead of central-skew beyond the paired CI at 1, behind at 1" in c4.evidence


def test_nr_rows_at_different_protection_mcs_are_different_settings():
    shared = [90.0 - t for t in range(len(SPREAD))]
    rows = []
    for robust, gap in ((4, 10.0), (9, 0.0)):
        side = {"protect": "side", "protect_mcs": robust, "setting": 100 + robust}
        rows += nr_rows("symmetric", "dof", shared, 14, **side)
        lost = [a - gap - d for a, d in zip(shared, SPREAD, strict=True)]
        rows += nr_rows("pruned", "pruned", lost, 14, payload_bits=300_000, **side)
    c = claim(rows, 2)
    assert "at 1 of 2 settings" in c.evidence and c.verdict == "does not hold"
    assert "MCS 14 (protect MCS 4), protect side" in c.evidence


def test_nr_rows_under_link_adaptation_are_one_setting():
    """With ``mcs = "auto"`` each method rides the MCS link adaptation chose for it: one
    setting, paired by noise seed whatever the MCS chosen."""
    shared = [90.0 - t for t in range(len(SPREAD))]
    auto = {"mcs_auto": 1, "setting": 999, "protect": "side"}
    rows = nr_rows("symmetric", "dof", shared, 12, protect_mcs=5, **auto)
    lost = [a - 10.0 - d for a, d in zip(shared, SPREAD, strict=True)]
    rows += nr_rows("pruned", "pruned", lost, 9, protect_mcs=3, payload_bits=300_000, **auto)
    c = claim(rows, 2)
    assert c.verdict == "holds" and "at 1 of 1 settings" in c.evidence
    assert "MCS auto" in c.evidence


# --- claim 3 ---------------------------------------------------------------------------------


def projection_curves(shift_db: float, scale: float = 1.0, full_top: float = 99.9) -> list[dict]:
    """Per trial t: full = 60 + 2 x SNR dB and full-project the same curve moved left by
    shift_db + SPREAD[t] x scale dB (so per-trial shifts are known), SNR 0..25 in 1 dB steps,
    capped at ``full_top``. The target is Acc Tx,q - 1 = 97.6%: full needs 18.8 dB."""
    rows = []
    for t, d in enumerate(SPREAD):
        for snr in range(26):
            full = min(full_top, 60 + 2 * snr)
            projected = min(full_top, 60 + 2 * (snr + shift_db + scale * d))
            for mode, acc in (("full", full), ("full-project", projected)):
                rows.append(synthetic_row(mode=mode, trial=t, channel_value=float(snr), acc_rx=acc))
    return rows


def test_claim3_shift_with_ci_and_bound():
    c = claim(projection_curves(1.5), 3)
    assert c.verdict == "holds"
    assert "target Acc Tx,q - 1 pp = 97.60%" in c.evidence
    assert "full needs 18.80 dB, full-project 17.30 dB" in c.evidence
    assert "+1.50 dB [+1.30, +1.70]" in c.evidence
    assert "10 log10(9/4) = 3.52 dB" in c.evidence
    assert claim(projection_curves(-1.0), 3).verdict == "does not hold"


def test_claim3_ci_just_either_side():
    assert claim(projection_curves(HALF_WIDTH + 0.005), 3).verdict == "holds"
    assert claim(projection_curves(HALF_WIDTH - 0.005), 3).verdict == "does not hold"


def test_claim3_not_tested_when_the_grid_does_not_cross():
    c = claim(projection_curves(1.5, full_top=95.0), 3)
    assert c.verdict == "not tested"
    assert "does not cross the target" in c.evidence and "does not reach it" in c.evidence
    no_full = [r for r in projection_curves(1.5) if r["mode"] != "full"]
    assert claim(no_full, 3).verdict == "not tested"


# --- claim 4 ---------------------------------------------------------------------------------


def symmetry_rows(gap_by_setting: dict, other: str = "hflip", scale: float = 1.0) -> list[dict]:
    """central-skew and ``other`` in dof mode; ``other`` = central-skew + gap + SPREAD."""
    rows = []
    for (bits, snr), gap in gap_by_setting.items():
        shared = [90.0 - 2 * t for t in range(len(SPREAD))]
        rows += trials_of(shared, bits=bits, channel_value=snr)
        rows += trials_of(
            [a + gap + scale * d for a, d in zip(shared, SPREAD, strict=True)],
            bits=bits,
            channel_value=snr,
            symmetry=other,
            payload_bits=360_000,
        )
    return rows


def test_claim4_any_symmetry_may_beat_central_skew():
    behind = claim(symmetry_rows({(8, 0.0): -3.0, (8, 10.0): -3.0, (4, 10.0): -3.0}), 4)
    assert behind.verdict == "holds"
    assert "hflip ahead of central-skew beyond the paired CI at 0, behind at 3" in behind.evidence
    assert "1.50x central-skew's" in behind.evidence  # no payload pre-filter, shown beside
    ahead = claim(symmetry_rows({(8, 0.0): 3.0, (8, 10.0): 3.0}), 4)
    assert (
        ahead.verdict == "does not hold" and "Ahead more often than behind: hflip" in ahead.evidence
    )


def test_claim4_gives_each_settings_paired_difference_closest_first():
    rows = symmetry_rows({(8, 0.0): -3.0, (8, 10.0): -1.0, (4, 10.0): -5.0})
    evidence = claim(rows, 4).evidence
    shown = [evidence.index(f"hflip - central-skew {gap:+.2f} pp") for gap in (-1.0, -3.0, -5.0)]
    assert shown == sorted(shown)  # the setting that came closest first
    assert "8 bits, awgn SNR 10 dB: hflip - central-skew -1.00 pp [" in evidence


def test_claim4_counts_either_side():
    even = symmetry_rows({(8, 0.0): 3.0, (8, 10.0): -3.0})
    assert claim(even, 4).verdict == "holds"  # ahead at 1, behind at 1: not more
    one_more = symmetry_rows({(8, 0.0): 3.0, (8, 10.0): -3.0, (8, 20.0): 3.0})
    assert claim(one_more, 4).verdict == "does not hold"


def test_claim4_ci_just_either_side():
    assert claim(symmetry_rows({(8, 10.0): HALF_WIDTH + 0.005}), 4).verdict == "does not hold"
    assert claim(symmetry_rows({(8, 10.0): HALF_WIDTH - 0.005}), 4).verdict == "holds"


def test_claim4_not_tested_with_one_symmetry():
    assert claim(trials_of([90.0, 91.0]), 4).verdict == "not tested"


# --- claim 5 ---------------------------------------------------------------------------------


def distance_rows(slope: float, distances=(0.0, 0.1, 0.2, 0.3), acc_tx_drop: float = 0.0):
    """full and full-project trials of models at distance d from V_S: gain = 3 + slope x d +
    noise; Acc Tx falls by ``acc_tx_drop`` pp per 0.1 of distance."""
    rows = []
    noise = (0.3, -0.2, 0.1, -0.3, 0.1)
    for d in distances:
        acc_tx = 98.8 - acc_tx_drop * d / 0.1
        for t, e in enumerate(noise):
            base = 80.0 + t
            gain = 3.0 + slope * d + e * (1 + 3 * d)
            common = dict(trial=t, distance=d, acc_tx=acc_tx, mode="full")
            rows.append(synthetic_row(acc_rx=base, **common))
            rows.append(synthetic_row(acc_rx=base + gain, **dict(common, mode="full-project")))
    return rows


def test_claim5_gain_falls_with_distance():
    c = claim(distance_rows(-20.0), 5)
    assert c.verdict == "holds"
    assert "Slope of the gain on d_S" in c.evidence and "4 of 4 distances" in c.evidence
    assert claim(distance_rows(0.0), 5).verdict == "does not hold"
    assert claim(distance_rows(+10.0), 5).verdict == "does not hold"


def test_claim5_slope_ci_just_either_side():
    base = distance_rows(0.0)
    pooled: dict = {}
    for r in base:
        pooled.setdefault(r["distance"], {})
    gains: dict = {}
    by_key = {(r["distance"], r["trial"], r["mode"]): r["acc_rx"] for r in base}
    for d, t, mode in by_key:
        if mode == "full":
            gains.setdefault(d, []).append(by_key[(d, t, "full-project")] - by_key[(d, t, "full")])
    _, _, high = claim_curves.slope_with_ci(gains)
    # adding c x d to every gain moves every bootstrap slope by exactly c
    assert claim(distance_rows(-high - 0.01), 5).verdict == "holds"
    assert claim(distance_rows(-high + 0.01), 5).verdict == "does not hold"


def test_claim5_not_tested():
    c = claim(distance_rows(-20.0, distances=(0.0, 0.3)), 5)
    assert c.verdict == "not tested" and "symcodec ablate" in c.evidence
    inaccurate = claim(distance_rows(-20.0, acc_tx_drop=0.6), 5)  # 98.8, 98.2, 97.6, 97.0 vs 99
    assert inaccurate.verdict == "not tested" and "2 of 4 distances" in inaccurate.evidence


def ablation_rows(gain_by_distance: dict, acc_tx: float = 98.5) -> list[dict]:
    rows = []
    for d, gain in gain_by_distance.items():
        for t in range(4):
            for rx_alpha, acc in ((0.0, 80.0 + t), (1.0, 80.0 + t + gain + 0.2 * (t % 2))):
                rows.append(tx_distance_row(d, rx_alpha, t, acc_tx, acc))
    return rows


def test_claim5_from_the_ablation():
    meta = {"ablation": ablation_rows({0.0: 5.0, 0.2: 2.0, 0.4: -1.0}), "acc_ref": 99.0}
    c = claim(trials_of([90.0]), 5, meta)
    assert c.verdict == "holds" and "ablation" in c.evidence
    flat = {"ablation": ablation_rows({0.0: 2.0, 0.2: 2.0, 0.4: 2.0}), "acc_ref": 99.0}
    assert claim(trials_of([90.0]), 5, flat).verdict == "does not hold"
    far_off = {"ablation": ablation_rows({0.0: 5.0, 0.2: 2.0, 0.4: -1.0}), "acc_ref": 99.6}
    assert claim(trials_of([90.0]), 5, far_off).verdict == "not tested"


# lambda -> (d_S, Acc Tx, gain): accurate models whose gain falls as d_S grows
NEAR_HELPS = {
    0.0: (0.74, 98.6, -1.0),
    0.01: (0.42, 98.5, 0.5),
    0.1: (0.15, 98.4, 2.0),
    math.inf: (0.0, 98.3, 3.0),
}


def test_claim5_penalty_sweep_holds_and_fails():
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(NEAR_HELPS), "acc_ref": 98.6})
    assert c.verdict == "holds" and "4 of 4 distances" in c.evidence
    # the evidence states lambda, d_S, Acc Tx and the gain with its CI per model
    assert "λ inf, d_S 0.000: Acc Tx 98.30%, gain +3.00 pp [" in c.evidence
    assert "λ 0.01, d_S 0.420: Acc Tx 98.50%, gain +0.50 pp [" in c.evidence
    assert "λ 0, d_S 0.740: Acc Tx 98.60%, gain -1.00 pp [" in c.evidence
    flat = {k: (d, acc, 1.0) for k, (d, acc, _) in NEAR_HELPS.items()}
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(flat), "acc_ref": 98.6})
    assert c.verdict == "does not hold"
    rising = {k: (d, acc, 5 * d) for k, (d, acc, _) in NEAR_HELPS.items()}
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(rising), "acc_ref": 98.6})
    assert c.verdict == "does not hold"


def test_claim5_accuracy_threshold_just_either_side():
    ref = 99.0
    kept = {0.0: (0.7, 99.0, -1.0), 0.1: (0.3, 98.5, 1.0), 1.0: (0.1, 98.0, 2.0)}
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(kept), "acc_ref": ref})
    assert c.verdict == "holds" and "3 of 3 distances" in c.evidence  # exactly 1 pp: kept
    dropped = {**kept, 1.0: (0.1, 97.99, 2.0)}
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(dropped), "acc_ref": ref})
    assert c.verdict == "not tested" and "2 of 3 distances" in c.evidence
    assert "Acc Tx 97.99% (not kept)" in c.evidence
    # a model above the reference by more than 1 pp is not kept either
    above = {**kept, 1.0: (0.1, 100.01, 2.0)}
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(above), "acc_ref": ref})
    assert c.verdict == "not tested"


def test_claim5_penalty_sweep_slope_ci_just_either_side():
    flat = {k: (d, acc, 1.0) for k, (d, acc, _) in NEAR_HELPS.items()}
    gains: dict = {}
    for d, _, _ in flat.values():
        gains[d] = [1.0 + e for e in PENALTY_NOISE]
    _, _, high = claim_curves.slope_with_ci(gains)
    # adding c x d to every gain moves every bootstrap slope by exactly c
    for shift, verdict in ((-high - 0.01, "holds"), (-high + 0.01, "does not hold")):
        meta = {"ablation": penalty_sweep(flat, shift), "acc_ref": 98.6}
        assert claim(trials_of([90.0]), 5, meta).verdict == verdict


def test_claim5_penalty_sweep_needs_three_accurate_distances_and_two_trials():
    two = {k: NEAR_HELPS[k] for k in (0.0, math.inf)}
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(two), "acc_ref": 98.6})
    assert c.verdict == "not tested"
    one_trial = [r for r in penalty_sweep(NEAR_HELPS) if r["trial"] == 0]
    c = claim(trials_of([90.0]), 5, {"ablation": one_trial, "acc_ref": 98.6})
    assert c.verdict == "not tested" and "Fewer than 2 paired trials" in c.evidence


def test_ablation_csv_keeps_the_penalty(tmp_path):
    rows = penalty_sweep(NEAR_HELPS)
    R.write_ablation(rows, 98.6, tmp_path)
    back = R.read_ablation_csv(tmp_path / "ablation.csv")
    assert {r["penalty"] for r in back} == set(NEAR_HELPS)
    text = (tmp_path / "ablation.md").read_text()
    assert "| inf | 0.000 | 98.30 |" in text and "| 0.01 | 0.420 | 98.50 |" in text
    assert "Claim 5: holds" in text
    lines = (tmp_path / "ablation.csv").read_text().splitlines()

    def without(*names):
        columns = [lines[0].split(",").index(n) for n in names]
        path = tmp_path / f"legacy-{len(names)}.csv"
        path.write_text(
            "\n".join(
                ",".join(v for i, v in enumerate(x.split(",")) if i not in columns) for x in lines
            )
        )
        return R.read_ablation_csv(path)

    # a file written before the training seed and its reference were recorded: seed 0
    unseeded = without("train_seed", "acc_ref")
    assert {r["train_seed"] for r in unseeded} == {0}
    assert all(math.isnan(r["acc_ref"]) for r in unseeded)
    # a file written before the penalty column existed reads with penalty nan
    old = without("penalty", "train_seed", "acc_ref")
    assert len(old) == len(back) and all(math.isnan(r["penalty"]) for r in old)
    c = claim(trials_of([90.0]), 5, {"ablation": old, "acc_ref": 98.6})
    assert c.verdict == "holds" and "λ" not in c.evidence
    with pytest.raises(SymcodecError, match="not an ablation.csv"):
        without("penalty")  # never a schema: penalty gone but the seed columns there


def linear_sweep(gain_at, distances, acc_tx=98.5):
    """A penalty sweep whose gains lie exactly on ``gain_at(d)`` on average (the trial
    spread :data:`PENALTY_NOISE` sums to 0), one model per distance."""
    models = {float(i): (d, acc_tx, gain_at(d)) for i, d in enumerate(distances)}
    return penalty_sweep(models)


def test_zero_crossing_of_an_exact_linear_relation():
    line = fit_gain_line({d: [2.0 - 4.0 * d] * 3 for d in (0.0, 0.25, 0.5, 0.75)})
    assert (line.slope, line.intercept) == pytest.approx((-4.0, 2.0))
    assert (line.crossing, line.crossing_low, line.crossing_high) == pytest.approx((0.5,) * 3)
    assert line.crossing_in_sweep
    assert "crosses 0 at d_S 0.500 (95% CI [0.500, 0.500])" in line.crossing_text()
    assert "joined linearly between the distances" in line.crossing_text()
    # the same relation through the claim: the fit is on the trials' means, which are exact
    meta = {"ablation": linear_sweep(lambda d: 2.0 - 4.0 * d, (0.0, 0.25, 0.5, 0.75))}
    c = claim(trials_of([90.0]), 5, dict(meta, acc_ref=98.5))
    assert c.verdict == "holds"
    assert "Slope of the gain on d_S over the accurate models: -4.00 pp per unit d_S" in c.evidence
    assert "the measured gain (joined linearly between the distances) crosses 0 at d_S 0.500" in (
        c.evidence
    )


def test_zero_crossing_not_reached_in_the_sweep():
    # falls, but still above 0 at the largest distance: no crossing is claimed (the line
    # would cross at d_S 3, an extrapolation the measurements do not support)
    still_pays = fit_gain_line({d: [3.0 - d] * 2 for d in (0.0, 0.5, 1.0)})
    assert still_pays.crossing == math.inf and not still_pays.crossing_in_sweep
    assert still_pays.slope == pytest.approx(-1.0)
    text = still_pays.crossing_text()
    assert text.startswith("zero crossing not reached in the sweep: the gain is still")
    assert "+2.00 pp at the largest d_S 1.000" in text and "inf]" in text
    # flat and positive: never falls to 0
    flat = fit_gain_line({d: [1.0, 1.0] for d in (0.0, 0.5, 1.0)})
    assert flat.crossing == math.inf and flat.crossing_high == math.inf
    assert "not reached in the sweep" in flat.crossing_text()
    # not above 0 from the start
    never = fit_gain_line({d: [-1.0 - d] * 2 for d in (0.0, 0.5, 1.0)})
    assert never.crossing == -math.inf
    assert "already -1.00 pp at the smallest d_S 0.000" in never.crossing_text()


def test_zero_crossing_follows_the_measurements_where_the_line_does_not():
    """A gain that falls steeply near the subspace and flattens far from it (as measured on
    Fashion-MNIST): the line through it is below 0 already at d_S 0, the measured gain
    crosses 0 between its second and third distance."""
    gains = {0.0: 4.5, 0.008: 1.9, 0.043: -6.7, 0.236: -33.5, 0.747: -50.2}
    line = fit_gain_line({d: [g + e for e in PENALTY_NOISE] for d, g in gains.items()})
    assert line.gain_at(0.0) < 0 < gains[0.0]
    expected = 0.008 + 1.9 * (0.043 - 0.008) / (1.9 + 6.7)
    assert line.crossing == pytest.approx(expected)
    assert 0.008 < line.crossing_low <= line.crossing <= line.crossing_high < 0.043


def test_zero_crossing_ci_comes_from_the_same_bootstrap():
    gains = {d: [g + e for e in PENALTY_NOISE] for d, _, g in NEAR_HELPS.values()}
    line = fit_gain_line(gains)
    assert (line.slope, line.slope_low, line.slope_high) == claim_curves.slope_with_ci(gains)
    assert line.crossing_low < line.crossing < line.crossing_high
    assert 0.0 < line.crossing < 0.74


def test_claim5_holds_with_its_zero_crossing_and_qualifying_models():
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(NEAR_HELPS), "acc_ref": 98.6})
    assert c.verdict == "holds"
    assert "Qualifying (Acc Tx within 1 pp of the reference): λ inf, d_S 0.000; " in c.evidence
    assert "Not qualifying: none." in c.evidence
    assert "use only the qualifying models" in c.evidence
    assert "the measured gain (joined linearly between the distances) crosses 0 at d_S" in (
        c.evidence
    )


def test_claim5_fails_and_says_the_crossing_is_not_reached():
    flat = {k: (d, acc, 1.0) for k, (d, acc, _) in NEAR_HELPS.items()}
    c = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(flat), "acc_ref": 98.6})
    assert c.verdict == "does not hold"
    assert "zero crossing not reached in the sweep" in c.evidence


def test_claim5_verdict_uses_only_qualifying_models():
    """A model 1.01 pp below the reference with a wild gain changes nothing; at 1.00 pp below
    it qualifies and turns the verdict."""
    ref = 98.6
    base = {k: (d, ref, g) for k, (d, _, g) in NEAR_HELPS.items()}
    c_base = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(base), "acc_ref": ref})
    outlier = {**base, 1.0: (0.9, ref - 1.01, 60.0)}
    c_out = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(outlier), "acc_ref": ref})
    assert c_out.verdict == c_base.verdict == "holds"
    assert "Not qualifying: λ 1, d_S 0.900 (Acc Tx -1.01 pp from the reference)" in c_out.evidence
    fit_text = c_base.evidence.split("Slope of the gain")[1]
    assert c_out.evidence.split("Slope of the gain")[1] == fit_text
    inside = {**base, 1.0: (0.9, ref - 1.0, 60.0)}
    c_in = claim(trials_of([90.0]), 5, {"ablation": penalty_sweep(inside), "acc_ref": ref})
    assert c_in.verdict == "does not hold" and "Not qualifying: none." in c_in.evidence


def test_ablation_report_marks_qualifying_models_and_the_fit(tmp_path):
    ref = 99.0
    models = {0.0: (0.7, 99.0, -1.0), 0.1: (0.3, 98.5, 1.0), 1.0: (0.1, 98.0, 2.0)}
    models[0.01] = (0.5, 97.99, 0.0)  # just outside the 1 pp threshold
    R.write_ablation(penalty_sweep(models), ref, tmp_path)
    text = (tmp_path / "ablation.md").read_text()
    assert "| Gain (pp) | Qualifies |" in text
    assert "| 1 | 0.100 | 98.00 |" in text
    row = {line.split("|")[1].strip(): line for line in text.splitlines() if "| 0." in line}
    assert row["1"].rstrip().endswith("| yes | 0 |")  # exactly 1 pp below: qualifies
    assert row["0.01"].rstrip().endswith("| no (Acc Tx -1.01 pp) | 0 |")
    assert row["0"].rstrip().endswith("| yes | 0 |")
    assert "Fit of the gain against d_S (3 of 4 models qualify; only they are used): slope" in text
    assert "the measured gain (joined linearly between the distances) crosses 0 at d_S" in text
    assert "Claim 5: holds" in text
    few = {k: models[k] for k in (0.0, 0.01)}
    R.write_ablation(penalty_sweep(few), ref, tmp_path)
    text = (tmp_path / "ablation.md").read_text()
    assert "(1 of 2 models qualify; only they are used): none. Fewer than 3" in text


# --- claims.md -------------------------------------------------------------------------------


def test_claims_markdown_states_rules_and_numbers(tmp_path):
    rows = pruning_rows({0.0: 40.0, 10.0: 30.0}) + projection_curves(1.5)
    claims = R.evaluate_claims(rows)
    text = R.claims_markdown(claims, {"study": "synthetic"})
    assert text.count("Rule: ") == 5 and "two-level bootstrap" in text
    assert "| 1 | holds |" in text and "| 2 | holds |" in text and "| 3 | holds |" in text
    assert "Note:" not in text  # every pairing column present


def test_claim3_keeps_nr_curves_at_different_mcs_apart():
    """A curve per MCS: projection gains 1.5 dB at MCS 4 and loses 1 dB at MCS 19, so one
    of two curve groups holds and the claim does not (pooled, every trial's curve would
    mix both MCS' points at each SNR)."""
    rows = []
    for mcs, shift_db in ((4, 1.5), (19, -1.0)):
        for r in projection_curves(shift_db):
            r.update(channel="nr-ldpc", mcs=mcs, noise_seed=1_000 * mcs + int(r["trial"]))
            rows.append(r)
    c = claim(rows, 3)
    assert c.verdict == "does not hold"
    assert "MCS 4" in c.evidence and "MCS 19" in c.evidence
    assert "+1.50 dB [+1.30, +1.70]" in c.evidence
