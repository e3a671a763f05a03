"""The study end to end on small real data: outputs, baselines, resuming, executors, bad specs."""

import math
import shutil

import pytest

from symcodec import SymcodecError
from symcodec.cli.study_commands import write_ablation_outputs, write_study_outputs
from symcodec.study import (
    RESULT_COLUMNS,
    load_study,
    parse_study,
    read_results_csv,
    run_study,
    spec_id,
    tx_configs,
)
from symcodec.symmetry import get_symmetry

TINY = {
    "name": "tiny",
    "dataset": "mnist-5k",
    "model": "deepcnn-gap",
    "symmetries": ["central-skew", "central"],
    "modes": ["dof", "full"],
    "bits": [4],
    "baselines": ["pruned", "quant-only"],
    "trials": 2,
    "channel": {"name": "awgn", "snr_db": [10, 30]},
    "training": {"epochs": 1, "batch_size": 32, "max_steps": 12, "lr": 0.003},
    "test_limit": 300,
}
OUTPUTS = [
    "results.csv",
    "table.md",
    "accuracy_vs_snr.png",
    "accuracy_vs_bits.png",
    "payload.png",
    "claims.md",
    "run.json",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, cache):
    mp = pytest.MonkeyPatch()
    mp.setenv("SYMCODEC_CACHE", str(cache))
    out = tmp_path_factory.mktemp("study")
    run = run_study(parse_study(TINY), out, progress=False, log=lambda _m: None)
    write_study_outputs(run)
    yield run
    mp.undo()


def test_every_output_file_with_the_right_columns(tiny_run):
    for name in OUTPUTS:
        assert (tiny_run.directory / name).stat().st_size > 0, name
    rows = read_results_csv(tiny_run.directory / "results.csv")
    assert list(rows[0]) == list(RESULT_COLUMNS)
    configs = tx_configs(parse_study(TINY))
    assert len(configs) == 2 * 2 + 2 + 1  # symmetric, pruned eq., quant-only
    assert len(rows) == len(configs) * 2 * 2
    table = (tiny_run.directory / "table.md").read_text()
    for column in ["Acc Tx (%)", "Acc Tx,q (%)", "Acc Rx (%)", "Payload (kbits)", "E2E latency"]:
        assert column in table
    claims = (tiny_run.directory / "claims.md").read_text()
    assert claims.count("holds") + claims.count("not tested") >= 5


def test_pruning_baseline_matches_the_dof_count_and_pays_for_positions(tiny_run):
    rows = read_results_csv(tiny_run.directory / "results.csv")
    for sym in ["central-skew", "central"]:
        dof = next(
            r
            for r in rows
            if r["method"] == "symmetric" and r["symmetry"] == sym and r["mode"] == "dof"
        )
        pruned = next(r for r in rows if r["method"] == "pruned" and r["symmetry"] == sym)
        assert pruned["values_sent"] == dof["values_sent"]
        # deepcnn-gap: four 3x3 conv layers; a bitmap of N bits per layer is the cheaper code
        numels = [32 * 1 * 9, 32 * 32 * 9, 64 * 32 * 9, 64 * 64 * 9]
        keeps = [n // 9 * get_symmetry(sym).dof(3) for n in numels]
        expected = sum(
            min(n, k * math.ceil(math.log2(n))) for n, k in zip(numels, keeps, strict=True)
        )
        assert pruned["mask_bits"] == expected
        assert pruned["payload_bits"] == dof["payload_bits"] + expected
        assert pruned["payload_bits_oracle"] == dof["payload_bits"]


def test_trial_fields_are_consistent(tiny_run):
    rows = read_results_csv(tiny_run.directory / "results.csv")
    for r in rows:
        assert r["d_acc_pp"] == pytest.approx(r["acc_rx"] - r["acc_ref"])
        assert r["bits_sent"] >= r["payload_bits"] - r["mask_bits"] + r["header_bits"]
        assert r["latency_ms"] == pytest.approx(r["encode_ms"] + r["air_ms"] + r["decode_ms"])
        assert 0 <= r["acc_rx"] <= 100 and r["epochs_total"] == 1
    quant = [r for r in rows if r["method"] == "quant-only"]
    assert all(r["payload_reduction_pct"] == pytest.approx(0.0) for r in quant)


def test_resume_runs_only_missing_trials(tiny_run, tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))
    out = tmp_path / "again"
    shutil.copytree(tiny_run.directory, out)
    rows = (out / "results.csv").read_text().splitlines()
    (out / "results.csv").write_text("\n".join(rows[:-3]) + "\n")  # lose the last 3 trials
    run = run_study(parse_study(TINY), out, progress=False, log=lambda _m: None)
    assert run.new_trials == 3
    # the wall time of every run that made the directory's rows adds up
    first = tiny_run.meta["seconds"]
    assert run.meta["seconds_all_runs"] == pytest.approx(first + run.seconds, abs=0.11)
    before = read_results_csv(tiny_run.directory / "results.csv")
    after = read_results_csv(out / "results.csv")
    assert len(after) == len(before)
    key = lambda r: (r["method"], r["symmetry"], r["mode"], r["channel_value"], r["trial"])  # noqa: E731
    assert {key(r): r["acc_rx"] for r in after} == {key(r): r["acc_rx"] for r in before}
    # nothing left to do
    assert run_study(parse_study(TINY), out, progress=False, log=lambda _m: None).new_trials == 0


def test_trials_are_added_only_with_the_models_the_earlier_ones_used(
    tiny_run, tmp_path, cache, monkeypatch
):
    import json

    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))
    recorded = json.loads((tiny_run.directory / "models.json").read_text())
    # every model the seed's trials used: the reference, the symmetric models, the pruned ones
    assert set(recorded["0"]) >= {"none", "central-skew", "central"}
    assert all(d.startswith("sha256:") for d in recorded["0"].values())
    out = tmp_path / "retrained"
    shutil.copytree(tiny_run.directory, out)
    rows = (out / "results.csv").read_text().splitlines()
    (out / "results.csv").write_text("\n".join(rows[:-3]) + "\n")  # 3 trials to add
    # as if the directory's trials had been made with another central-skew model
    other = {**recorded, "0": {**recorded["0"], "central-skew": "sha256:" + "0" * 64}}
    (out / "models.json").write_text(json.dumps(other))
    with pytest.raises(SymcodecError, match="'central-skew' of training seed 0 differs"):
        run_study(parse_study(TINY), out, progress=False, log=lambda _m: None)
    assert len((out / "results.csv").read_text().splitlines()) == len(rows) - 3
    # a directory older than models.json: the trials are added, and a line says that the
    # models could not be checked; the record is written for the next resume
    (out / "models.json").unlink()
    messages: list[str] = []
    run = run_study(parse_study(TINY), out, progress=False, log=messages.append)
    assert run.new_trials == 3
    assert any("cannot be checked" in m for m in messages)
    assert json.loads((out / "models.json").read_text()) == recorded


def test_ray_executor_gives_the_local_results(tiny_run, tmp_path, cache, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))
    out = tmp_path / "ray"
    run_study(parse_study(TINY), out, executor="ray", progress=False, log=lambda _m: None)
    local = read_results_csv(tiny_run.directory / "results.csv")
    remote = read_results_csv(out / "results.csv")
    fields = [
        "acc_tx",
        "acc_txq",
        "acc_rx",
        "payload_bits",
        "bits_sent",
        "noise_seed",
        "bit_errors",
    ]
    key = lambda r: (r["method"], r["symmetry"], r["mode"], r["channel_value"], r["trial"])  # noqa: E731
    assert {key(r): [r[f] for f in fields] for r in remote} == {
        key(r): [r[f] for f in fields] for r in local
    }


@pytest.mark.parametrize(
    "change, key",
    [
        ({"colour": "red"}, "colour"),
        ({"symmetries": ["spiral"]}, "symmetries"),
        ({"channel": {"name": "awgn", "snr_db": []}}, "channel.snr_db"),
        ({"channel": {"name": "awgn", "snr_db": [10], "p": 0.1}}, "channel.p"),
        ({"channel": {"name": "bsc", "p": [1.5]}}, "channel.p"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"bits": [1]}, "bits"),
        ({"trials": 0}, "trials"),
        ({"training": {"epochs": 1, "prune_finetune_epochs": 2}}, "prune_finetune_epochs"),
        ({"training": {"optimizer": "sgd"}}, "training.optimizer"),
    ],
)
def test_bad_study_keys_are_named(change, key):
    with pytest.raises(SymcodecError, match=key):
        parse_study({**TINY, **change})


def test_study_files(tmp_path):
    from symcodec.cli.study_commands import default_study

    quick = load_study(default_study())
    assert quick.name == "quick" and quick.trials >= 5 and quick.dataset == "mnist-5k"
    for name, model, equal_energy in [
        ("paper.toml", "deepcnn", False),
        ("paper-equal-energy.toml", "deepcnn", True),
        ("paper-gap.toml", "deepcnn-gap-bn", False),
        ("paper-gap-equal-energy.toml", "deepcnn-gap-bn", True),
    ]:
        paper = load_study(default_study().with_name(name))
        # the referee's standard (issue 13): converged recipe, 3 seeds, 20 paired trials,
        # an auto grid across the waterfall, protected and unprotected side tensors
        assert paper.model == model and paper.dataset == "fashion-mnist"
        assert paper.channel.equal_energy is equal_energy and paper.channel.auto
        assert paper.trials >= 20 and len(paper.training.seeds) >= 3
        assert paper.training.epochs == 10 and paper.channel.protect == ("none", "side")
        assert {"pruned", "pruned-global", "pruned-kernel"} <= set(paper.baselines)
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(SymcodecError, match="not a valid TOML"):
        load_study(bad)


def test_a_smaller_grid_keeps_only_its_own_trials(tiny_run, tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))
    out = tmp_path / "smaller"
    shutil.copytree(tiny_run.directory, out)
    smaller = parse_study({**TINY, "trials": 1, "channel": {"name": "awgn", "snr_db": [30]}})
    run = run_study(smaller, out, progress=False, log=lambda _m: None)
    assert run.new_trials == 0
    rows = read_results_csv(out / "results.csv")
    assert len(rows) == len(tx_configs(smaller))
    assert {r["trial"] for r in rows} == {0} and {r["channel_value"] for r in rows} == {30.0}


def test_ablation_feeds_claim_5(tiny_run, tmp_path, cache, monkeypatch):
    from symcodec.study import run_ablation

    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))
    out = tmp_path / "ablate"
    shutil.copytree(tiny_run.directory, out)
    spec = parse_study({**TINY, "trials": 2})
    ablation = run_ablation(spec, alphas=(0.0, 0.5, 1.0), progress=False, log=lambda _m: None)
    write_ablation_outputs(ablation, out)
    rows = ablation.rows
    assert {r["experiment"] for r in rows} == {"rx-alpha", "tx-distance"}
    distances = sorted({round(r["distance"], 6) for r in rows if r["experiment"] == "tx-distance"})
    assert distances[0] == pytest.approx(0.0, abs=1e-6) and distances[-1] > 0.1
    for name in ("ablation.csv", "ablation.md", "ablation.png"):
        assert (out / name).stat().st_size > 0
    write_study_outputs(run_study(spec, out, progress=False, log=lambda _m: None))
    section = (out / "claims.md").read_text().split("## Claim 5: ")[1].split("## Claim")[0]
    # the ablation's sweep is what claim 5 is decided from (the study has one distance)
    assert "the ablation's tx-distance sweep" in section
    assert section.splitlines()[0] in ("holds", "does not hold", "not tested")


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"channel": {"name": "bpsk-awgn", "ebn0_db": [10, 30]}}, "channel: awgn -> bpsk-awgn"),
        (
            {"channel": {**TINY["channel"], "equal_energy": True}},
            "energy: per-value -> equal-energy",
        ),
    ],
    ids=["channel", "energy"],
)
def test_an_edited_spec_reuses_no_stale_row(tiny_run, tmp_path, cache, monkeypatch, change, what):
    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))
    out = tmp_path / "edited"
    shutil.copytree(tiny_run.directory, out)
    before = read_results_csv(out / "results.csv")
    old_id = before[0]["spec_id"]
    edited = parse_study({**TINY, **change, "trials": 1})  # one trial per setting: quicker
    assert {r["spec_id"] for r in before} == {old_id} != {spec_id(edited)}
    messages: list[str] = []
    run = run_study(edited, out, progress=False, log=messages.append)
    assert run.new_trials == len(before) // 2  # every trial run again, none reused
    stale = f"results.stale-{old_id}.csv"
    assert [m for m in messages if "another spec" in m] == [
        f"results.csv: {len(before)} rows from another spec set aside in {stale} ({what})"
    ]
    assert read_results_csv(out / stale) == before  # kept aside, byte for byte the old rows
    rows = read_results_csv(out / "results.csv")
    assert len(rows) == run.new_trials and {r["spec_id"] for r in rows} == {spec_id(edited)}
    if "equal_energy" in change["channel"]:
        assert {r["energy"] for r in rows} == {"equal-energy"}
        assert {r["energy"] for r in before} == {"per-value"}
    else:
        assert {(r["channel"], r["channel_param"]) for r in rows} == {("bpsk-awgn", "ebn0_db")}
        assert all(math.isfinite(r["ber"]) for r in rows)
    # paired noise: one noise seed per (setting, trial), shared by every configuration; a new
    # channel or energy convention is a new setting, with new noise
    setting = lambda r: (r["channel_value"], r["protect"], r["train_seed"], r["trial"])  # noqa: E731
    seeds = {setting(r): r["noise_seed"] for r in rows}
    assert all(r["noise_seed"] == seeds[setting(r)] for r in rows)
    assert not {r["noise_seed"] for r in rows} & {r["noise_seed"] for r in before}
    # The edited spec, run again unchanged, reuses everything it made.
    messages.clear()
    again = run_study(edited, out, progress=False, log=messages.append)
    assert again.new_trials == 0 and not [m for m in messages if "set aside" in m]
    assert read_results_csv(out / "results.csv") == rows


def test_an_unchanged_spec_reuses_everything(tiny_run, tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))
    out = tmp_path / "same"
    shutil.copytree(tiny_run.directory, out)
    before = (out / "results.csv").read_bytes()
    messages: list[str] = []
    run = run_study(parse_study(TINY), out, progress=False, log=messages.append)
    assert run.new_trials == 0
    assert messages == [
        f"all {len(run.rows)} trials already in {out / 'results.csv'}; writing the outputs"
    ]
    assert (out / "results.csv").read_bytes() == before
    assert not list(out.glob("results.stale-*"))


# A near-clean study under equal energy, with both protections and a fine-tuned pruned
# baseline: what its numbers must be.
CLEAN = {
    "name": "clean",
    "dataset": "mnist-5k",
    "model": "deepcnn-gap",
    "symmetries": ["central-skew"],
    "modes": ["dof", "full-project"],
    "bits": [8],
    "baselines": ["pruned", "quant-only"],
    "trials": 1,
    "channel": {"name": "awgn", "snr_db": [60], "equal_energy": True, "protect": ["none", "side"]},
    "training": {
        "epochs": 2,
        "prune_finetune_epochs": 1,
        "batch_size": 32,
        "max_steps": 12,
        "lr": 0.003,
    },
    "test_limit": 300,
}


def test_a_near_clean_equal_energy_study_receives_what_it_sent(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))
    run = run_study(parse_study(CLEAN), tmp_path, progress=False, log=lambda _m: None)
    rows = run.rows
    assert len(rows) == 4 * 2  # (dof, full-project, pruned eq., quant-only) x protections
    assert {r["energy"] for r in rows} == {"equal-energy"}
    for r in rows:  # 60 dB: the link costs (almost) nothing
        assert abs(r["acc_rx"] - r["acc_txq"]) <= 1.0, (r["method"], r["mode"], r["protect"])
        assert r["epochs_total"] == 2
    # paired noise: one seed per (setting, trial), another one per protection
    by_protect = {p: {r["noise_seed"] for r in rows if r["protect"] == p} for p in ("none", "side")}
    assert all(len(seeds) == 1 for seeds in by_protect.values())
    assert by_protect["none"] != by_protect["side"]
    uses = {(r["method"], r["mode"], r["protect"]): r["channel_uses"] for r in rows}
    dof, full = uses[("symmetric", "dof", "none")], uses[("symmetric", "full-project", "none")]
    assert dof < full  # the same kernel noise at equal energy, fewer channel uses
    for method, mode in [("symmetric", "dof"), ("pruned", "pruned"), ("quant-only", "full")]:
        assert uses[(method, mode, "side")] > uses[(method, mode, "none")]  # r = 4
    for r in rows:
        assert r["channel_uses"] >= r["values_sent"] - 1  # int buffers: charged r x 1, not sent


TINY_TWO_SEEDS_TOML = """
name = "tiny"
dataset = "mnist-5k"
model = "deepcnn-gap"
symmetries = ["central-skew", "central"]
modes = ["dof", "full"]
bits = [4]
baselines = ["pruned", "quant-only"]
trials = 2
test_limit = 300
[channel]
name = "awgn"
snr_db = [10, 30]
[training]
epochs = 1
batch_size = 32
max_steps = 12
lr = 0.003
seeds = [0, 7]
"""


def test_reproduce_runs_only_the_chosen_training_seeds(tiny_run, tmp_path, cache, monkeypatch):
    from symcodec.cli import main

    monkeypatch.setenv("SYMCODEC_CACHE", str(cache))  # seed 0's models: tiny_run's
    study = tmp_path / "tiny.toml"
    study.write_text(TINY_TWO_SEEDS_TOML)
    out = tmp_path / "out"
    args = ["reproduce", str(study), "-o", str(out), "--no-progress", "--train-seeds", "0"]
    assert main(args) == 0
    rows = read_results_csv(out / "results.csv")
    assert {r["train_seed"] for r in rows} == {0}
    assert len(rows) == len(read_results_csv(tiny_run.directory / "results.csv"))
    assert '"train_seeds": [\n    0\n  ]' in (out / "run.json").read_text()


def test_reproduce_refuses_a_training_seed_the_study_lacks(tmp_path, capsys):
    from symcodec.cli import main

    study = tmp_path / "tiny.toml"
    study.write_text(TINY_TWO_SEEDS_TOML)
    out = tmp_path / "out"
    assert main(["reproduce", str(study), "-o", str(out), "--train-seeds", "3"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--train-seeds 3" in err and "[0, 7]" in err
    assert not out.exists()
