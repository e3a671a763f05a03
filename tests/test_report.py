"""Tests for symcodec.report: results.csv, CIs, summaries, the table, figures and claims."""

from __future__ import annotations

import math
import os
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symcodec import report as R
from symcodec.errors import SymcodecError
from symcodec.report import paired as P
from symcodec.report.rank_tests import sign_test_p, signed_ranks, wilcoxon_signed_rank_p
from symcodec.study.rows import TrialRow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_row(**overrides) -> dict:
    """A complete results.csv row with plausible defaults."""
    row = dict(
        study="unit",
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
        protect="none",
        alpha=1.0,
        trial=0,
        train_seed=0,
        noise_seed=0,
        epochs_total=5,
        acc_ref=99.0,
        acc_tx=98.5,
        acc_txq=98.4,
        acc_rx=98.0,
        d_acc_pp=-1.0,
        values_sent=30_000,
        values_total=60_000,
        payload_bits=240_000,
        mask_bits=0,
        payload_bits_oracle=240_000,
        header_bits=1_500,
        bits_sent=241_500,
        channel_uses=30_000,
        payload_reduction_pct=50.0,
        bit_errors=0,
        ber=0.0,
        crc_failures=0,
        encode_ms=1.5,
        decode_ms=2.5,
        air_ms=241.5,
        latency_ms=245.5,
        distance=0.12,
        conv_share=0.9,
        spec_id="0123456789ab",
    )
    for column, kind in typing.get_type_hints(TrialRow).items():  # columns added since
        row.setdefault(column, {int: 0, float: 0.0, str: ""}[kind])
    row.update(overrides)
    if "acc_rx" in overrides and "d_acc_pp" not in overrides:
        row["d_acc_pp"] = row["acc_rx"] - row["acc_ref"]
    return row


def trials(accs, **overrides) -> list[dict]:
    return [make_row(trial=i, noise_seed=i, acc_rx=a, **overrides) for i, a in enumerate(accs)]


def same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and type(a) is type(b)


# --- results.csv -----------------------------------------------------------------------------


def test_columns_match_schema():
    assert R.RESULT_COLUMNS[:4] == ("study", "dataset", "model", "method")
    assert R.RESULT_COLUMNS[-2:] == ("distance", "conv_share")
    assert len(R.RESULT_COLUMNS) == len(set(R.RESULT_COLUMNS)) == 46  # 41 + 5 NR columns
    assert set(make_row()) == set(R.RESULT_COLUMNS)


def test_csv_round_trip_types_and_nan(tmp_path):
    rows = [
        make_row(),
        make_row(
            channel="ideal",
            channel_param="",
            channel_value=math.nan,
            study='name, with "quotes"',
            acc_rx=0.1 + 0.2,
            ber=math.nan,
            bits=4,
        ),
    ]
    path = tmp_path / "results.csv"
    R.write_results_csv(rows, path)
    back = R.read_results_csv(path)
    assert len(back) == 2
    for original, read in zip(rows, back, strict=True):
        assert list(read) == list(R.RESULT_COLUMNS)
        for column in R.RESULT_COLUMNS:
            expected = original[column]
            if column in ("bits", "trial", "payload_bits", "bit_errors"):
                assert type(read[column]) is int
            if isinstance(expected, float):
                assert type(read[column]) is float
            assert same(read[column], expected), column
    assert back[1]["acc_rx"] == 0.1 + 0.2  # exact float round trip
    assert back[1]["channel_param"] == ""


def test_csv_write_rejects_bad_rows_and_leaves_file(tmp_path):
    path = tmp_path / "results.csv"
    R.write_results_csv([make_row()], path)
    before = path.read_bytes()
    bad = make_row()
    del bad["ber"]
    with pytest.raises(SymcodecError, match="missing ber"):
        R.write_results_csv([bad], path)
    with pytest.raises(SymcodecError, match="unknown extra"):
        R.write_results_csv([make_row(extra=1)], path)
    with pytest.raises(SymcodecError, match="integer"):
        R.write_results_csv([make_row(bits=4.5)], path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["results.csv"]


def test_read_rejects_other_csv(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SymcodecError, match="not a symcodec results.csv"):
        R.read_results_csv(path)
    with pytest.raises(SymcodecError, match="no such file"):
        R.read_results_csv(tmp_path / "missing.csv")


def test_append_creates_then_appends(tmp_path):
    path = tmp_path / "results.csv"
    R.append_results_csv([make_row(trial=0)], path)
    first = path.read_text()
    R.append_results_csv([make_row(trial=1), make_row(trial=2)], path)
    assert path.read_text().startswith(first)  # existing content kept byte for byte
    assert [r["trial"] for r in R.read_results_csv(path)] == [0, 1, 2]
    assert path.read_text().count("study,dataset") == 1
    R.append_results_csv([], path)
    assert len(R.read_results_csv(path)) == 3
    assert sorted(os.listdir(tmp_path)) == ["results.csv"]


def test_append_refuses_foreign_file(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("x,y\n")
    with pytest.raises(SymcodecError):
        R.append_results_csv([make_row()], path)
    assert path.read_text() == "x,y\n"


# --- statistics ------------------------------------------------------------------------------


def test_t_table_values():
    assert R.t_critical_975(1) == pytest.approx(12.7062, abs=1e-4)
    assert R.t_critical_975(4) == pytest.approx(2.776445, abs=1e-6)
    assert R.t_critical_975(30) == pytest.approx(2.0423, abs=1e-4)
    assert R.t_critical_975(10**7) == pytest.approx(1.96, abs=1e-3)
    assert R.t_critical_975(math.inf) == pytest.approx(1.959964)
    # interpolation in 1/df: reference values of Student t 0.975 quantiles
    assert R.t_critical_975(35) == pytest.approx(2.030108, abs=2e-4)
    assert R.t_critical_975(150) == pytest.approx(1.975905, abs=2e-4)
    values = [R.t_critical_975(df) for df in range(1, 2000)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    with pytest.raises(SymcodecError):
        R.t_critical_975(0)


def test_mean_ci95_by_hand():
    mean, half = R.mean_ci95([1, 2, 3, 4, 5])
    s = math.sqrt(sum((v - 3) ** 2 for v in [1, 2, 3, 4, 5]) / 4)
    assert s == pytest.approx(1.5811, abs=1e-4)
    assert mean == 3.0
    assert half == pytest.approx(2.776445 * s / math.sqrt(5))
    assert half == pytest.approx(1.9632, abs=1e-4)
    one = R.mean_ci95([7.0])
    assert one[0] == 7.0 and math.isnan(one[1])
    assert all(math.isnan(v) for v in R.mean_ci95([]))
    assert R.mean_ci95([1.0, math.nan, 3.0])[0] == 2.0


# --- paired statistics -----------------------------------------------------------------------


def test_sign_test_by_hand():
    # 3 positive, 1 negative: P(X <= 1) = (1 + 4) / 16, two-sided 10/16
    assert sign_test_p([1.0, 2.0, 0.5, -1.0]) == pytest.approx(0.625)
    assert sign_test_p([1.0] * 10) == pytest.approx(2 / 2**10)
    assert sign_test_p([0.0, 0.0]) == 1.0
    assert sign_test_p([3.0, 0.0, -1.0]) == 1.0  # the zero is dropped: 1 vs 1


def test_wilcoxon_exact_by_hand():
    # n = 6, W- = 4: sign assignments with negative rank sum <= 4 are {}, {1}, {2}, {3}, {4},
    # {1,2}, {1,3}: 7 of 64, two-sided 14/64
    assert wilcoxon_signed_rank_p([1, 2, 3, -4, 5, 6]) == pytest.approx(14 / 64)
    assert wilcoxon_signed_rank_p([-1, -2, -3, 4, -5, -6]) == pytest.approx(14 / 64)
    # ties get average ranks: |1|, |1| -> 1.5, 1.5; |2| -> 3
    assert signed_ranks([1.0, -1.0, 2.0]) == [1.5, 1.5, 3.0]
    # W+ = 1.5 + 3 = 4.5; the 8 assignments give W+ 0, 1.5, 1.5, 3, 3, 4.5, 4.5, 6:
    # P(W+ >= 4.5) = 3/8, two-sided 3/4
    assert wilcoxon_signed_rank_p([1.0, -1.0, 2.0]) == pytest.approx(0.75)
    assert wilcoxon_signed_rank_p([]) == 1.0


def test_wilcoxon_normal_approximation_above_25():
    n = 30
    data = [float(i) for i in range(1, n + 1)]  # all positive, no ties: W+ = 465
    mean, var = n * (n + 1) / 4, n * (n + 1) * (2 * n + 1) / 24
    expected = math.erfc((465 - mean - 0.5) / math.sqrt(var) / math.sqrt(2))
    assert wilcoxon_signed_rank_p(data) == pytest.approx(expected)
    # ties: 26 values of |d| = 1 (one tie group), 20 positive: W+ = 20 x 13.5 = 270
    ties = [1.0] * 20 + [-1.0] * 6
    mean, var = 26 * 27 / 4, 26 * 27 * 53 / 24 - (26**3 - 26) / 48
    expected = math.erfc((270 - mean - 0.5) / math.sqrt(var) / math.sqrt(2))
    assert wilcoxon_signed_rank_p(ties) == pytest.approx(expected)


def test_t_interval_and_single_seed_fallback():
    low, high = P.t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (low + high) / 2 == pytest.approx(3.0)
    assert (high - low) / 2 == pytest.approx(1.9632, abs=1e-4)
    c = P.compare_differences({0: [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert c.ci_method == "t over pairs" and (c.ci_low, c.ci_high) == (low, high)
    assert c.median_diff == 3.0 and c.sign_p == pytest.approx(0.0625)
    one = P.compare_differences({0: [2.0]})
    assert one.n_pairs == 1 and math.isnan(one.ci_low) and not one.a_ahead


def test_two_level_bootstrap():
    by_seed = {0: [1.0, 1.2, 0.8], 1: [2.0, 2.2, 1.8], 2: [3.0, 3.2, 2.8]}
    c = P.compare_differences(by_seed)
    assert c.ci_method == "two-level bootstrap" and c.n_train_seeds == 3
    assert c.mean_diff == pytest.approx(2.0)
    # seed means 1, 2, 3: the CI spans most of that seed-to-seed spread, unlike the t interval
    # over the 9 pairs as if independent (about 2 +- 0.66)
    assert 0.9 < c.ci_low < 1.5 and 2.5 < c.ci_high < 3.1
    assert P.compare_differences(by_seed) == c  # fixed RNG seed
    assert P.two_level_bootstrap_ci({0: [5.0, 5.0], 1: [5.0]}) == (5.0, 5.0)


def test_compare_paired_pairs_by_training_and_noise_seed():
    a = [
        dict(train_seed=s, noise_seed=n, trial=0, acc_rx=80.0 + n, acc_txq=96.0)
        for s in (0, 1)
        for n in (10, 11, 12)
    ]
    b = [dict(r, acc_rx=r["acc_rx"] - 2.0 - 0.1 * r["train_seed"]) for r in a[:-1]]  # one unpaired
    b.append(dict(train_seed=1, noise_seed=99, trial=0, acc_rx=10.0, acc_txq=96.0))
    c = P.compare_paired(a, b)
    assert c.n_pairs == 5 and c.n_train_seeds == 2 and c.ci_method == "two-level bootstrap"
    assert c.mean_diff == pytest.approx((3 * 2.0 + 2 * 2.1) / 5)
    # outage: Acc Rx < 96 - 5 = 91: a has 90 (seeds 0 and 1) among its 5 paired rows, b
    # (2 pp lower) all 5
    assert c.outage_a == pytest.approx(2 / 5)
    assert c.outage_b == pytest.approx(1.0)
    # rows without the pairing columns pair by trial
    legacy = P.compare_paired(
        [{"trial": t, "acc_rx": 5.0 + t} for t in range(3)],
        [{"trial": t, "acc_rx": 4.0} for t in (2, 1, 0)],
    )
    assert legacy.n_pairs == 3 and legacy.mean_diff == pytest.approx(2.0)


differences = st.lists(
    st.floats(min_value=-20, max_value=20, allow_nan=False).map(lambda v: round(v, 2)),
    min_size=2,
    max_size=8,
)


@settings(max_examples=25, deadline=None)
@given(st.lists(differences, min_size=1, max_size=3))
def test_swapping_a_and_b_negates_mean_and_ci_keeps_p_values(groups):
    a, b = [], []
    for seed, diffs in enumerate(groups):
        for n, d in enumerate(diffs):
            a.append(dict(train_seed=seed, noise_seed=n, acc_rx=50.0 + d, acc_txq=60.0))
            b.append(dict(train_seed=seed, noise_seed=n, acc_rx=50.0, acc_txq=60.0))
    ab, ba = P.compare_paired(a, b), P.compare_paired(b, a)
    assert ba.n_pairs == ab.n_pairs
    assert ba.mean_diff == pytest.approx(-ab.mean_diff, abs=1e-9)
    assert ba.median_diff == pytest.approx(-ab.median_diff, abs=1e-9)
    assert ba.ci_low == pytest.approx(-ab.ci_high, abs=1e-9)
    assert ba.ci_high == pytest.approx(-ab.ci_low, abs=1e-9)
    assert ba.sign_p == pytest.approx(ab.sign_p)
    assert ba.wilcoxon_p == pytest.approx(ab.wilcoxon_p)
    assert (ba.outage_a, ba.outage_b) == (ab.outage_b, ab.outage_a)
    assert ab.ci_low <= ab.mean_diff + 1e-9 and ab.mean_diff <= ab.ci_high + 1e-9


# --- summaries -------------------------------------------------------------------------------


def test_summarize_groups_and_orders():
    rows = []
    rows += trials([60.0, 62.0], method="quant-only", symmetry="none", mode="full")
    rows += trials([40.0, 44.0], method="pruned", mode="pruned", mask_bits=1000)
    rows += trials([90.0, 92.0], symmetry="d4", channel_value=20.0)
    rows += trials([80.0, 82.0], symmetry="d4", channel_value=0.0)
    rows += trials([95.0, 97.0], symmetry="d4", channel_value=20.0, bits=4)
    rows += trials([91.0, 93.0], mode="full-project")
    rows += trials([70.0, 72.0])  # central-skew dof
    rows += trials([99.0], channel="ideal", channel_param="", channel_value=math.nan)
    rows += trials([98.0], channel="ideal", channel_param="", channel_value=math.nan)
    summary = R.summarize(rows)
    order = [
        (s["method"], s["symmetry"], s["mode"], s["bits"], s["channel"], s["channel_value"])
        for s in summary
    ]
    nan = order[0][5]
    assert math.isnan(nan)
    assert order == [
        ("symmetric", "central-skew", "dof", 8, "ideal", nan),
        ("symmetric", "central-skew", "dof", 8, "awgn", 10.0),
        ("symmetric", "central-skew", "full-project", 8, "awgn", 10.0),
        ("symmetric", "d4", "dof", 4, "awgn", 20.0),
        ("symmetric", "d4", "dof", 8, "awgn", 0.0),
        ("symmetric", "d4", "dof", 8, "awgn", 20.0),
        ("pruned", "central-skew", "pruned", 8, "awgn", 10.0),
        ("quant-only", "none", "full", 8, "awgn", 10.0),
    ]
    assert [s["n"] for s in summary] == [2, 2, 2, 2, 2, 2, 2, 2]
    ideal = summary[0]
    assert ideal["acc_rx"] == 98.5
    pruned = summary[6]
    assert pruned["acc_rx"] == 42.0
    assert pruned["acc_rx_ci"] == pytest.approx(12.706205 * math.sqrt(8) / math.sqrt(2))
    assert pruned["d_acc_pp"] == pytest.approx(-57.0)
    assert pruned["mask_bits"] == 1000
    for key in ("acc_ref", "acc_tx", "acc_txq", "payload_bits_oracle", "latency_ms", "ber"):
        assert key in pruned
    assert R.summarize([]) == []


def test_summarize_refuses_mixed_studies():
    with pytest.raises(SymcodecError, match="several studies"):
        R.summarize([make_row(), make_row(dataset="cifar10")])


# --- table -----------------------------------------------------------------------------------


META = dict(
    study="unit",
    dataset="mnist",
    model="lenet",
    epochs_total=5,
    trials=3,
    snr_convention="per value",
    link_rate=1_000_000,
    conv_share=0.9,
    command="symcodec study --quick",
    date="2025-01-01",
)


def test_table_columns_and_pruning_oracle():
    rows = trials([97.0, 98.0, 99.0])
    rows += trials(
        [40.0, 50.0, 60.0],
        method="pruned",
        mode="pruned",
        payload_bits=300_000,
        mask_bits=60_000,
        payload_bits_oracle=240_000,
    )
    text = R.table_markdown(R.summarize(rows), META)
    header = next(line for line in text.splitlines() if line.startswith("| Method"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns == [
        "Method",
        "Symmetry",
        "Mode",
        "Bits",
        "SNR (dB)",
        "Acc Tx (%)",
        "Acc Tx,q (%)",
        "Acc Rx (%)",
        "Median Rx (%)",
        "Outage (%)",
        "dAcc (pp)",
        "Unique (x10^3)",
        "Payload (kbits)",
        "Payload reduction (%)",
        "Bits sent (kbits)",
        "E2E latency (ms)",
    ]
    body = [line for line in text.splitlines() if line.startswith("| symmetric")]
    assert "98.00 ± 2.48" in body[0] and "| 240.0 |" in body[0]
    assert "| 98.00 ± 2.48 | 98.00 | 0 |" in body[0]  # mean, median, outage (%)
    pruned = next(line for line in text.splitlines() if line.startswith("| pruned"))
    assert "300.0 (oracle 240.0)" in pruned
    assert "| 50.00 ± 24.84 | 50.00 | 100 |" in pruned  # every trial below 98.4 - 5
    assert "50.00 ± 24.84" in pruned
    for fragment in ("mnist", "lenet", "1 Mbit/s", "90.0%", "bounded", "per value", "2025"):
        assert fragment in text
    assert "`symcodec study --quick`" in text
    other = dict(META, link_rate_bps=250_000)
    del other["link_rate"]
    assert "250 kbit/s" in R.table_markdown(R.summarize(rows), other)


def test_table_protect_column_and_legacy_note():
    old = R.summarize(trials([90.0, 92.0, 97.0]))
    assert old[0]["outage_pct"] == pytest.approx(200 / 3)
    assert old[0]["acc_rx_median"] == 92.0 and old[0]["train_seeds"] == 1
    text = R.table_markdown(old, {})
    assert "| Protect |" not in text
    pairing_columns = dict(train_seed=0, channel_uses=30_000)
    new = trials([90.0], protect="none", **pairing_columns)
    new += trials([91.0], protect="side", **pairing_columns)
    text_new = R.table_markdown(R.summarize(new), {})
    assert "predate" not in text_new
    assert "| Protect |" in text_new and "| side |" in text_new


def test_table_channel_column_names():
    ebn0 = R.summarize(trials([90.0], channel="bpsk-awgn", channel_param="ebn0_db"))
    assert "| Eb/N0 (dB) |" in R.table_markdown(ebn0, {})
    bsc = R.summarize(trials([90.0], channel="bsc", channel_param="p", channel_value=0.001))
    text = R.table_markdown(bsc, {})
    assert "| p |" in text and "| 0.001 |" in text
    mixed = R.summarize(trials([90.0]) + trials([91.0], channel="bsc", channel_param="p"))
    text = R.table_markdown(mixed, {})
    assert "| Channel | Channel setting |" in text and "SNR 10 dB" in text


def test_write_table(tmp_path):
    path = tmp_path / "table.md"
    R.write_table(R.summarize(trials([90.0, 91.0])), META, path)
    assert path.read_text().startswith("# Results: unit")


# --- figures ---------------------------------------------------------------------------------


def figure_summary() -> list[dict]:
    rows = []
    for bits in (4, 8):
        for snr in (0.0, 10.0, 20.0):
            accs = [80 + snr - 0.5, 80 + snr + 0.5]
            rows += trials(accs, bits=bits, channel_value=snr)
            rows += trials(accs, bits=bits, channel_value=snr, symmetry="d4")
            rows += trials(
                [a - 30 for a in accs],
                bits=bits,
                channel_value=snr,
                method="pruned",
                mode="pruned",
                mask_bits=50_000,
                payload_bits=290_000,
            )
    return R.summarize(rows)


@pytest.mark.parametrize("plot", [R.plot_accuracy_vs_snr, R.plot_accuracy_vs_bits, R.plot_payload])
def test_plots_write_png(tmp_path, plot):
    path = tmp_path / "figure.png"
    plot(figure_summary(), path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert os.listdir(tmp_path) == ["figure.png"]


@pytest.mark.parametrize("plot", [R.plot_accuracy_vs_snr, R.plot_accuracy_vs_bits, R.plot_payload])
def test_plots_leave_no_file_on_error(tmp_path, plot):
    with pytest.raises(SymcodecError):
        plot([], tmp_path / "empty.png")
    with pytest.raises(SymcodecError):
        plot(figure_summary(), tmp_path / "missing-dir" / "figure.png")
    assert os.listdir(tmp_path) == []


def test_snr_plot_needs_noisy_rows(tmp_path):
    ideal = R.summarize(trials([90.0], channel="ideal", channel_param="", channel_value=math.nan))
    with pytest.raises(SymcodecError, match="noisy channel"):
        R.plot_accuracy_vs_snr(ideal, tmp_path / "x.png")
    assert os.listdir(tmp_path) == []


# --- claims (the rules themselves: tests/test_claims.py) -------------------------------------


def pruning_rows(sym_accs, pruned_accs) -> list[dict]:
    rows = []
    for snr in (0.0, 10.0, 20.0, 30.0):
        rows += trials(sym_accs, channel_value=snr)
        rows += trials(
            pruned_accs,
            channel_value=snr,
            method="pruned",
            mode="pruned",
            mask_bits=60_000,
            payload_bits=300_000,
        )
    return rows


def test_claims_read_trial_rows():
    claims = R.evaluate_claims(pruning_rows([97.0, 98.0, 99.0], [30.0, 31.0, 32.0]))
    assert [(c.number, c.verdict) for c in claims] == [
        (1, "holds"),
        (2, "holds"),
        (3, "not tested"),
        (4, "not tested"),
        (5, "not tested"),
    ]
    assert "4 of 4 settings" in claims[1].evidence and "+67.00 pp" in claims[1].evidence
    # these rows carry train_seed, noise_seed, protect and channel_uses: no legacy note
    assert claims[1].note == ""
    close = R.evaluate_claims(pruning_rows([97.0, 98.0, 99.0], [96.0, 98.5, 97.5]))[1]
    assert close.verdict == "does not hold" and "0 of 4 settings" in close.evidence


def _ablation(gain_by_distance, trials=3):
    """tx-distance rows: Acc Rx without (rx_alpha 0) and with (rx_alpha 1) projection."""
    rows = []
    for d, gain in gain_by_distance.items():
        for t in range(trials):
            base = 80.0 + t  # trial-to-trial spread, the same in both arms
            for rx_alpha, acc in ((0.0, base), (1.0, base + gain + 0.1 * t)):
                rows.append(
                    dict(
                        experiment="tx-distance",
                        distance=d,
                        rx_alpha=rx_alpha,
                        acc_rx=acc,
                        acc_tx=96.5,
                        trial=t,
                    )
                )
    return rows


def test_claim5_ablation():
    helps_near_only = _ablation({0.0: 5.0, 0.3: 1.0, 0.6: -4.0})
    claim = R.evaluate_claims([], {"ablation": helps_near_only, "acc_ref": 97.0})[4]
    assert claim.verdict == "holds"
    assert "d_S 0.000: Acc Tx 96.50%, gain +5.10 pp" in claim.evidence
    assert "d_S 0.600: Acc Tx 96.50%, gain -3.90 pp" in claim.evidence
    helps_everywhere = _ablation({0.0: 5.0, 0.3: 5.0, 0.6: 5.0})
    assert R.evaluate_claims([], {"ablation": helps_everywhere})[4].verdict == "does not hold"
    two_distances = _ablation({0.0: 5.0, 0.6: -4.0})
    assert R.evaluate_claims([], {"ablation": two_distances})[4].verdict == "not tested"
    claim = R.evaluate_claims([], {})[4]
    assert claim.verdict == "not tested" and "symcodec ablate" in claim.evidence


def test_ablation_outputs(tmp_path):
    rows = []
    for r in _ablation({0.0: 5.0, 0.3: 1.0, 0.6: -4.0}):
        rows.append(
            dict(
                r,
                symmetry="central-skew",
                bits=4,
                channel="awgn",
                channel_value=15.0,
                tx_alpha=1.0 - r["distance"],
                acc_tx=96.5,
            )
        )
    for a in (0.0, 0.5, 1.0):
        rows.append(
            dict(
                experiment="rx-alpha",
                symmetry="central-skew",
                bits=4,
                channel="awgn",
                channel_value=15.0,
                tx_alpha=1.0,
                distance=0.0,
                rx_alpha=a,
                trial=0,
                acc_tx=95.0,
                acc_rx=90.0 + 5 * a,
            )
        )
    R.write_ablation(rows, 97.0, tmp_path)
    assert (tmp_path / "ablation.png").read_bytes()[:4] == b"\x89PNG"
    text = (tmp_path / "ablation.md").read_text()
    assert "Claim 5: holds" in text and "| 0.5 | 92.50" in text
    back = R.read_ablation_csv(tmp_path / "ablation.csv")
    assert len(back) == len(rows) and back[0]["bits"] == 4


def test_claims_markdown_and_file(tmp_path):
    claims = R.evaluate_claims(pruning_rows([97.0, 98.0], [30.0, 31.0]), META)
    assert [c.number for c in claims] == [1, 2, 3, 4, 5]
    assert all(c.verdict in R.VERDICTS for c in claims)
    assert all(c.statement == R.CLAIM_STATEMENTS[c.number] for c in claims)
    text = R.claims_markdown(claims, META)
    assert "| 2 | holds |" in text
    assert text.count("Rule: ") == 5
    assert "## Claim 3: not tested" in text
    path = tmp_path / "claims.md"
    R.write_claims(claims, META, path)
    assert path.read_text() == text


def test_a_pruned_baseline_is_not_drawn_in_its_symmetrys_colour():
    from symcodec.report.plot_style import CurveStyles

    summary = figure_summary()
    styles = CurveStyles(summary)
    symmetric = styles({"method": "symmetric", "symmetry": "central-skew", "mode": "dof"})
    pruned = styles({"method": "pruned", "symmetry": "central-skew", "mode": "pruned"})
    assert pruned["color"] != symmetric["color"]
    assert pruned["marker"] != symmetric["marker"]


def test_the_snr_figure_has_a_column_per_protection_preset(tmp_path):
    from symcodec.report.figures import snr_panel_columns

    rows = [
        {**row, "protect": protect}
        for protect in ("none", "side")
        for row in trials([80.0, 82.0], channel_value=10.0)
    ]
    summary = R.summarize(rows)
    assert snr_panel_columns(summary) == [(8, "none"), (8, "side")]
    one_preset = R.summarize(trials([80.0, 82.0], channel_value=10.0))
    assert [protect for _, protect in snr_panel_columns(one_preset)] == [None]
    R.plot_accuracy_vs_snr(summary, tmp_path / "snr.png")
    assert (tmp_path / "snr.png").read_bytes()[:8] == PNG_MAGIC
