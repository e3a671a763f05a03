"""The study on the NR link, end to end on small real data: an MCS grid and ``mcs = "auto"``,
the NR protection presets, the results.csv columns and the equal-air-time outputs."""

import math

import pytest

from symcodec import SymcodecError
from symcodec.channel import channel_names
from symcodec.cli.study_commands import write_study_outputs
from symcodec.report import air_time_to_target, equal_air_time
from symcodec.study import parse_study, read_results_csv, run_study, spec_id, trial_seed

pytest.importorskip("sionna.phy")

from nr_support import set_point_table  # noqa: E402

ROBUST_MCS, FAST_MCS = 4, 12
LOW_SNR_DB, HIGH_SNR_DB = 3.0, 30.0
NR = {
    "name": "nr-tiny",
    "dataset": "mnist-5k",
    "model": "deepcnn-gap",
    "symmetries": ["central-skew"],
    "modes": ["dof", "full"],
    "bits": [8],
    "baselines": ["quant-only", "step-ans"],
    "trials": 1,
    "channel": {
        "name": "nr-ldpc",
        "snr_db": [LOW_SNR_DB, HIGH_SNR_DB],
        "mcs": [ROBUST_MCS, FAST_MCS],
        "protect": ["none", "side+msb"],
    },
    "training": {"epochs": 1, "batch_size": 32, "max_steps": 24, "lr": 0.003},
    "test_limit": 120,
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SYMCODEC_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def nr_run(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("nr-study")
    run = run_study(parse_study(NR), out, progress=False, log=lambda _m: None)
    write_study_outputs(run)
    return run


def test_grid_rows_carry_mcs_code_blocks_and_air_time(nr_run):
    rows = read_results_csv(nr_run.directory / "results.csv")
    # 4 configurations x 2 SNRs x 2 presets x 2 MCS x 1 trial
    assert len(rows) == len(nr_run.rows) == 4 * 2 * 2 * 2
    assert {r["mcs"] for r in rows} == {ROBUST_MCS, FAST_MCS}
    assert all(r["mcs_auto"] == 0 for r in rows)
    for r in rows:
        if r["protect"] == "none":
            assert r["protect_mcs"] == -1
        else:  # the preset's robust MCS, below the kernels'
            assert 0 <= r["protect_mcs"] <= r["mcs"]
        assert r["code_blocks"] > 0 and 0 <= r["failed_code_blocks"] <= r["code_blocks"]
        assert r["air_ms"] > 0 and r["channel"] == "nr-ldpc"
    # a robust MCS at a high SNR: nothing lost, the received model is the quantized one
    clean = [r for r in rows if r["channel_value"] == HIGH_SNR_DB and r["mcs"] == ROBUST_MCS]
    assert clean and all(r["failed_code_blocks"] == 0 for r in clean)
    assert all(r["acc_rx"] == r["acc_txq"] for r in clean)
    # a slower MCS takes longer on air for the same stream
    by = {(r["method"], r["mode"], r["protect"], r["channel_value"], r["mcs"]): r for r in rows}
    for (method, mode, prot, snr, mcs), r in by.items():
        if mcs == ROBUST_MCS:
            assert r["air_ms"] > by[(method, mode, prot, snr, FAST_MCS)]["air_ms"]


def test_noise_is_paired_across_configurations(nr_run):
    rows = nr_run.rows
    spec = nr_run.spec
    for r in rows:
        expected = trial_seed(
            spec, r["channel_value"], r["trial"], r["protect"], r["train_seed"], str(r["mcs"])
        )
        assert r["noise_seed"] == expected
    setting = {(r["channel_value"], r["protect"], r["mcs"], r["trial"]): set() for r in rows}
    for r in rows:
        setting[(r["channel_value"], r["protect"], r["mcs"], r["trial"])].add(r["noise_seed"])
    assert all(len(seeds) == 1 for seeds in setting.values())  # one seed for every method


def test_equal_air_time_outputs(nr_run):
    out = nr_run.directory
    for name in ("equal_air_time.md", "equal_air_time.csv", "air_time_to_target.csv"):
        assert (out / name).stat().st_size > 0
    assert (out / "equal_air_time.png").read_bytes()[:4] == b"\x89PNG"
    table = equal_air_time(nr_run.rows)
    assert len(table) == 2 * 4 * 2  # SNRs x configurations x presets
    for snr in (LOW_SNR_DB, HIGH_SNR_DB):
        mine = [r for r in table if r["snr_db"] == snr]
        budgets = {r["budget_ms"] for r in mine}
        assert len(budgets) == 1  # the same budget for every sender
        (budget,) = budgets
        assert all(r["air_ms"] <= budget + 1e-9 for r in mine)
        # the budget is the slowest sender's air time at its fastest MCS: someone spends it all
        assert any(math.isclose(r["air_ms"], budget) for r in mine)
    # at a high SNR every sender reaches its target, at its fastest MCS
    for r in air_time_to_target(nr_run.rows):
        if r["snr_db"] == HIGH_SNR_DB:
            assert r["kernel_mcs"] == FAST_MCS and r["air_ms"] > 0
    text = (out / "table.md").read_text()
    assert "| MCS |" in text


def test_auto_mcs_is_chosen_by_link_adaptation(tmp_path, cache):
    doc = dict(NR, name="nr-auto", modes=["dof"], baselines=[])
    doc["channel"] = dict(NR["channel"], mcs="auto", protect=["none"])
    run = run_study(parse_study(doc), tmp_path, progress=False, log=lambda _m: None)
    rows = {r["channel_value"]: r for r in run.rows}
    assert set(rows) == {LOW_SNR_DB, HIGH_SNR_DB}
    assert all(r["mcs_auto"] == 1 and r["mcs"] >= 0 for r in rows.values())
    # the noise seed is the setting's ("auto"), whatever MCS was chosen
    assert rows[LOW_SNR_DB]["noise_seed"] == trial_seed(run.spec, LOW_SNR_DB, 0, mcs="auto")
    # a better link carries a faster MCS, and at 30 dB nothing is lost
    assert rows[HIGH_SNR_DB]["mcs"] > rows[LOW_SNR_DB]["mcs"]
    assert rows[HIGH_SNR_DB]["failed_code_blocks"] == 0
    assert rows[HIGH_SNR_DB]["acc_rx"] == rows[HIGH_SNR_DB]["acc_txq"]


def test_auto_mcs_plans_on_the_studys_own_tables(tmp_path, cache):
    # Tables that put MCS 12's waterfall at 25 dB (Sionna's shipped tables: near 8 dB) and
    # MCS 4's below 0 dB: at 20 dB only MCS 4 delivers by the tables, though MCS 12 would by
    # the shipped ones; at 30 dB both do and MCS 12 is faster.
    tables = [
        str(set_point_table(tmp_path / "mcs4.json", ROBUST_MCS, [(-4.0, 50, 50), (0.0, 0, 400)])),
        str(set_point_table(tmp_path / "mcs12.json", FAST_MCS, [(24.0, 50, 50), (26.0, 0, 400)])),
    ]
    doc = dict(NR, name="nr-auto-tables", modes=["dof"], baselines=[])
    channel = dict(NR["channel"], mcs="auto", protect=["none"], snr_db=[20.0, HIGH_SNR_DB])
    doc["channel"] = dict(channel, bler_tables=tables)
    run = run_study(parse_study(doc), tmp_path / "out", progress=False, log=lambda _m: None)
    rows = {r["channel_value"]: r for r in run.rows}
    assert rows[20.0]["mcs"] == ROBUST_MCS and rows[HIGH_SNR_DB]["mcs"] == FAST_MCS
    assert all(r["mcs_auto"] == 1 and r["failed_code_blocks"] == 0 for r in rows.values())
    assert all(r["acc_rx"] == r["acc_txq"] for r in rows.values())


def test_nr_spec_keys():
    spec = parse_study(NR)
    assert spec.channel.mcs == (ROBUST_MCS, FAST_MCS) and spec.channel.level == "abstract"
    assert spec.channel.mcs_settings == ("4", "12")
    other = parse_study(dict(NR, channel=dict(NR["channel"], mcs=[ROBUST_MCS])))
    assert spec_id(other) == spec_id(spec)  # the MCS list is a grid axis
    rayleigh = parse_study(dict(NR, channel=dict(NR["channel"], fading="rayleigh")))
    assert spec_id(rayleigh) != spec_id(spec)
    assert "nr-ldpc" in channel_names()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mcs": [29]}, "channel.mcs"),
        ({"mcs": [0]}, "channel.mcs"),  # no BLER table for the abstraction
        ({"mcs": []}, "channel.mcs"),
        ({"mcs": [4, 4]}, "channel.mcs"),
        ({"mcs": "fast"}, "channel.mcs"),
        ({"mcs": None}, "channel.mcs"),
        ({"mcs_table": "qam4096"}, "channel.mcs_table"),
        ({"level": "fast"}, "channel.level"),
        ({"fading": "rician"}, "channel.fading"),
        ({"protect": ["msb"]}, "channel.protect"),
        ({"snr_db": []}, "channel.snr_db"),
        ({"snr_db": [float("nan")]}, "channel.snr_db"),
        ({"snr_db": "auto"}, "channel.snr_db"),
        ({"equal_energy": True}, "channel.equal_energy"),
    ],
)
def test_bad_nr_keys_are_refused(change, message):
    channel = {k: v for k, v in {**NR["channel"], **change}.items() if v is not None}
    with pytest.raises(SymcodecError, match=message.replace(".", r"\.")):
        parse_study(dict(NR, channel=channel))


def test_mcs_on_another_channel_is_refused():
    with pytest.raises(SymcodecError, match=r"channel\.mcs.*only to channel 'nr-ldpc'"):
        parse_study({"name": "s", "channel": {"name": "awgn", "snr_db": [1], "mcs": [4]}})


def test_a_results_csv_from_before_the_nr_columns_is_reused_and_upgraded(tmp_path):
    from symcodec.study import RESULT_COLUMNS, TrialRow, write_results_csv
    from symcodec.study.resume import reusable_rows
    from symcodec.study.rows import NR_COLUMN_DEFAULTS, results_csv_is_current
    from symcodec.study.trials import tx_configs

    doc = {"name": "old", "modes": ["dof"], "baselines": [], "bits": [4], "trials": 1,
           "channel": {"name": "awgn", "snr_db": [10]}}  # fmt: skip
    spec = parse_study(doc)
    (config,) = tx_configs(spec)
    row = TrialRow(**{**dict.fromkeys(RESULT_COLUMNS, 0), **NR_COLUMN_DEFAULTS,
        "study": "old", "dataset": spec.dataset, "model": spec.model, "method": config.method,
        "symmetry": config.symmetry, "mode": config.mode, "bits": 4, "channel": "awgn",
        "channel_param": "snr_db", "channel_value": 10.0, "energy": "per-value",
        "protect": "none", "alpha": 1.0, "spec_id": spec_id(spec), "epochs_total": 2,
    })  # fmt: skip
    path = tmp_path / "results.csv"
    write_results_csv([row], path)
    lines = path.read_text().splitlines()
    keep = [i for i, c in enumerate(RESULT_COLUMNS) if c not in NR_COLUMN_DEFAULTS]
    old = [",".join(line.split(",")[i] for i in keep) for line in lines]
    path.write_text("\n".join(old) + "\n")  # the header and row of an older symcodec
    assert not results_csv_is_current(path)
    assert read_results_csv(path) == [row.as_dict()]
    assert reusable_rows(spec, path, lambda _m: None) == [row.as_dict()]
    assert results_csv_is_current(path) and read_results_csv(path) == [row.as_dict()]
