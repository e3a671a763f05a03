"""Claim 6 (the NR link at equal air time) decides known synthetic cases correctly."""

from __future__ import annotations

import math

import pytest

from symcodec.report.claim_air_time import (
    claim6_dof_protection_at_equal_air_time,
    welch_difference,
)
from symcodec.report.claim_rules import evaluate_claims

TXQ = 90.0


def trials(mode, protect, mcs, air_ms, accs, snr_db=4.0):
    return [
        dict(
            method="symmetric",
            symmetry="central-skew",
            bits=8,
            channel="nr-ldpc",
            channel_value=snr_db,
            mode=mode,
            protect=protect,
            mcs=mcs,
            protect_mcs=-1 if protect == "none" else 4,
            air_ms=air_ms,
            latency_ms=air_ms + 1,
            acc_rx=acc,
            acc_txq=TXQ,
            alpha=1.0,
            energy="per-value",
            channel_param="snr_db",
            payload_bits=1000,
            values_sent=100,
            acc_ref=91.0,
            trial=t,
        )
        for t, acc in enumerate(accs)
    ]


def link(full_accs, dof_accs, snr_db=4.0):
    """full fits the budget only at MCS 19; dof (a third of the stream) at the robust MCS 9."""
    return (
        trials("full", "none", 19, 3.0, full_accs, snr_db)
        + trials("full", "none", 9, 7.0, [TXQ] * len(full_accs), snr_db)
        + trials("dof", "side", 9, 2.5, dof_accs, snr_db)
    )


def test_holds_when_the_protected_dof_arrives_and_full_does_not():
    claim = claim6_dof_protection_at_equal_air_time(link([40, 45, 50, 42], [89, 89.5, 88.8, 89]))
    assert claim.verdict == "holds"
    assert "ahead at 1 of 1" in claim.evidence


def test_does_not_hold_when_full_is_ahead():
    claim = claim6_dof_protection_at_equal_air_time(link([89, 89.5, 88.8, 89], [40, 45, 50, 42]))
    assert claim.verdict == "does not hold"
    assert "behind at 1" in claim.evidence


def test_the_budget_is_equal_air_time_not_each_senders_best():
    # full at its robust MCS 9 would arrive intact, but needs 7 ms; the budget is 3 ms
    rows = link([40, 45, 50, 42], [89, 89.5, 88.8, 89])
    assert "full" in {r["mode"] for r in rows if r["mcs"] == 9}
    assert claim6_dof_protection_at_equal_air_time(rows).verdict == "holds"


@pytest.mark.parametrize(
    ("drop_pp", "verdict"),
    [(0.9, "not tested"), (1.1, "holds")],  # just inside / outside the 1 pp
)
def test_an_snr_decides_only_where_the_link_costs_more_than_1_pp(drop_pp, verdict):
    # full loses drop_pp, dof 0.5 pp less; constant (zero variance: any gap is beyond the CI)
    rows = link([TXQ - drop_pp] * 4, [TXQ - drop_pp + 0.5] * 4)
    claim = claim6_dof_protection_at_equal_air_time(rows)
    assert claim.verdict == verdict, claim.evidence


def test_inconclusive_is_neither_ahead_nor_behind():
    claim = claim6_dof_protection_at_equal_air_time(link([40, 80, 20, 70], [60, 30, 85, 40]))
    assert claim.verdict == "does not hold"
    assert "ahead at 0 of 1" in claim.evidence and "behind at 0" in claim.evidence


def test_majority_over_snrs():
    rows = (
        link([40, 45, 50, 42], [89, 89.5, 88.8, 89], snr_db=2.0)
        + link([40, 45, 50, 42], [89, 89.5, 88.8, 89], snr_db=4.0)
        + link([89, 89.5, 88.8, 89], [40, 45, 50, 42], snr_db=6.0)
    )
    claim = claim6_dof_protection_at_equal_air_time(rows)
    assert claim.verdict == "holds" and "ahead at 2 of 3" in claim.evidence
    rows += link([89, 89.5, 88.8, 89], [40, 45, 50, 42], snr_db=8.0)
    assert claim6_dof_protection_at_equal_air_time(rows).verdict == "does not hold"


def test_not_tested_off_the_nr_link_and_only_added_to_nr_studies():
    analog = [dict(r, channel="awgn", mcs=0) for r in link([40] * 3, [89] * 3)]
    assert claim6_dof_protection_at_equal_air_time(analog).verdict == "not tested"
    assert [c.number for c in evaluate_claims(analog)] == [1, 2, 3, 4, 5]
    nr = evaluate_claims(link([40, 45, 50, 42], [89, 89.5, 88.8, 89]))
    assert [c.number for c in nr][-1] == 6 and nr[-1].verdict == "holds"


def test_welch_difference_known_answer():
    d = welch_difference([1, 2, 3, 4, 5], [0, 0, 1, 1, 0])
    # se^2 = 2.5/5 + 0.3/5 = 0.56; df = 0.56^2 / (0.5^2/4 + 0.06^2/4) = 4.946; t = 2.579
    assert d.difference == pytest.approx(2.6)
    assert d.half_width == pytest.approx(2.579 * math.sqrt(0.56), abs=2e-3)
    assert welch_difference([1.0], [2.0, 3.0]).half_width == math.inf


@pytest.mark.parametrize(
    ("best_acc", "verdict"),
    [(0.49 * TXQ, "not tested"), (0.51 * TXQ, "holds")],  # just below / above half of Tx,q
)
def test_a_model_below_half_its_txq_is_lost_like_a_missing_header(best_acc, verdict):
    # full's header is lost (Acc Rx 0); dof arrives with a constant accuracy
    rows = link([0.0] * 4, [best_acc] * 4)
    claim = claim6_dof_protection_at_equal_air_time(rows)
    assert claim.verdict == verdict, claim.evidence
    if verdict == "not tested":
        assert "both lost at 1" in claim.evidence


def test_air_time_to_target_is_reported_against_the_compressed_alternative():
    step_ans = [
        dict(r, method="step-ans", symmetry="none", air_ms=r["air_ms"] / 2)
        for r in trials("full", "none", 9, 7.0, [TXQ] * 4)
    ]
    protected = [dict(r, protect="side", air_ms=10 * r["air_ms"]) for r in step_ans]
    rows = link([40] * 4, [89] * 4) + protected + step_ans
    claim = claim6_dof_protection_at_equal_air_time(rows)  # against step-ans unprotected
    # dof + side reaches the target at MCS 9 in 2.5 ms; step-ans in 3.5 ms; full in 7 ms
    assert "dof/full protect none: median 0.36" in claim.evidence
    assert "dof/step-ans: median 0.71" in claim.evidence
