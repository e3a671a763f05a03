"""Tests for symcodec.report: results.csv, CIs, summaries, the table, figures and claims."""

from __future__ import annotations

import math
import os

import pytest

from symcodec import report as R
from symcodec.errors import SymcodecError

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
    assert len(R.RESULT_COLUMNS) == len(set(R.RESULT_COLUMNS)) == 41
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
        "dAcc (pp)",
        "Unique (x10^3)",
        "Payload (kbits)",
        "Payload reduction (%)",
        "Bits sent (kbits)",
        "E2E latency (ms)",
    ]
    body = [line for line in text.splitlines() if line.startswith("| symmetric")]
    assert "98.00 ± 2.48" in body[0] and "| 240.0 |" in body[0]
    pruned = next(line for line in text.splitlines() if line.startswith("| pruned"))
    assert "300.0 (oracle 240.0)" in pruned
    assert "50.00 ± 24.84" in pruned
    for fragment in ("mnist", "lenet", "1 Mbit/s", "90.0%", "bounded", "per value", "2025"):
        assert fragment in text
    assert "`symcodec study --quick`" in text
    other = dict(META, link_rate_bps=250_000)
    del other["link_rate"]
    assert "250 kbit/s" in R.table_markdown(R.summarize(rows), other)


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


# --- claims ----------------------------------------------------------------------------------


def verdicts(rows, meta=None) -> dict[int, str]:
    return {c.number: c.verdict for c in R.evaluate_claims(R.summarize(rows), meta)}


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


def test_claim2_holds_when_symmetric_beats_pruning():
    claims = R.evaluate_claims(R.summarize(pruning_rows([97.0, 98.0, 99.0], [30.0, 31.0, 32.0])))
    claim = claims[1]
    assert claim.number == 2 and claim.verdict == "holds"
    assert "4 of 4" in claim.evidence
    assert "+67.00 pp" in claim.evidence
    assert "4 of 4 pruned settings collapse" in claim.evidence


def test_claim2_does_not_hold_within_noise():
    # symmetric ahead by 1 pp on average, but CIs of about +-2.5 pp: not beyond the CI
    claim = R.evaluate_claims(R.summarize(pruning_rows([97.0, 98.0, 99.0], [96.0, 97.0, 98.0])))[1]
    assert claim.verdict == "does not hold"
    assert "0 of 4" in claim.evidence
    assert "0 of 4 pruned settings collapse" in claim.evidence


def test_claim2_not_tested_without_pruning():
    assert verdicts(trials([97.0, 98.0]))[2] == "not tested"


def projection_rows(projected_gain: float) -> list[dict]:
    rows = []
    for snr in (0.0, 5.0, 10.0, 15.0, 20.0):
        full_acc = 58.0 + 2.0 * snr
        rows += trials([full_acc - 0.1, full_acc + 0.1], mode="full", channel_value=snr)
        fp = min(99.0, full_acc + projected_gain)
        rows += trials([fp - 0.1, fp + 0.1], mode="full-project", channel_value=snr)
    return rows


def test_claim3_holds_with_full_rows():
    claim = R.evaluate_claims(R.summarize(projection_rows(6.0)))[2]
    assert claim.verdict == "holds"
    # target 99 - 1 = 98%: full reaches it at 20 dB (98%); full-project goes from 94% at
    # 15 dB to 99% at 20 dB, so 15 + 5 * 4/5 = 19 dB
    assert "full needs 20.00 dB" in claim.evidence
    assert "full-project 19.00 dB" in claim.evidence
    assert "gap +1.00 dB" in claim.evidence
    assert "bound 3.52 dB" in claim.evidence  # 10 log10(9/4) for central-skew


def test_claim3_does_not_hold_when_projection_hurts():
    assert verdicts(projection_rows(-3.0))[3] == "does not hold"


def test_claim3_not_tested_without_full_rows():
    rows = [r for r in projection_rows(6.0) if r["mode"] != "full"]
    claim = R.evaluate_claims(R.summarize(rows))[2]
    assert claim.verdict == "not tested"
    assert "`full`" in claim.evidence


def test_claim1_payload_threshold():
    assert verdicts(trials([98.0]))[1] == "holds"
    claim = R.evaluate_claims(R.summarize(trials([98.0], payload_reduction_pct=20.0)), META)[0]
    assert claim.verdict == "does not hold"
    assert "4/9" in claim.evidence and "90.0%" in claim.evidence
    # without central-skew every symmetry present is checked
    rows = trials([98.0], symmetry="d4") + trials([98.0], symmetry="hflip", bits=4)
    claim = R.evaluate_claims(R.summarize(rows))[0]
    assert claim.verdict == "holds" and "d4" in claim.evidence and "hflip" in claim.evidence
    assert verdicts(trials([98.0], method="quant-only", symmetry="none", mode="full"))[1] == (
        "not tested"
    )


def test_claim4_dominance():
    cs = trials([97.0, 97.2], payload_bits=240_000)
    better_cheaper = trials([98.0, 98.2], symmetry="d4", payload_bits=180_000)
    worse_cheaper = trials([90.0, 90.2], symmetry="d4", payload_bits=180_000)
    assert verdicts(cs + worse_cheaper)[4] == "holds"
    claim = R.evaluate_claims(R.summarize(cs + better_cheaper))[3]
    assert claim.verdict == "does not hold"
    assert "by d4" in claim.evidence
    assert verdicts(cs)[4] == "not tested"


def _ablation(gain_by_distance, trials=3):
    """tx-distance rows: Acc Rx without (rx_alpha 0) and with (rx_alpha 1) projection."""
    rows = []
    for d, gain in gain_by_distance.items():
        for t in range(trials):
            base = 80.0 + t  # trial-to-trial spread, the same in both arms
            for rx_alpha, acc in ((0.0, base), (1.0, base + gain + 0.1 * t)):
                rows.append(
                    dict(experiment="tx-distance", distance=d, rx_alpha=rx_alpha, acc_rx=acc)
                )
    return rows


def test_claim5_ablation():
    helps_near_only = _ablation({0.0: 5.0, 0.3: 1.0, 0.6: -4.0})
    claim = R.evaluate_claims([], {"ablation": helps_near_only})[4]
    assert claim.verdict == "holds"
    assert "d_S 0.000: +5.10" in claim.evidence and "d_S 0.600: -3.90" in claim.evidence
    helps_everywhere = _ablation({0.0: 5.0, 0.6: 4.0})
    assert R.evaluate_claims([], {"ablation": helps_everywhere})[4].verdict == "does not hold"
    never_helps = _ablation({0.0: -1.0, 0.6: -4.0})
    assert R.evaluate_claims([], {"ablation": never_helps})[4].verdict == "does not hold"
    one_distance = _ablation({0.0: 5.0})
    assert R.evaluate_claims([], {"ablation": one_distance})[4].verdict == "not tested"
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
                trial=0,
                acc_tx=90.0,
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
    claims = R.evaluate_claims(R.summarize(pruning_rows([97.0, 98.0], [30.0, 31.0])), META)
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
