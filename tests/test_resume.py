"""Honest resume: which rows of an existing results.csv a study may reuse.

Rows are keyed by (spec_id, configuration, channel value, trial, protection, training
seed). The spec id hashes every setting that changes a result and leaves out the grid axes,
so a study that only grows its grid keeps its rows, and one whose channel, energy
convention, training ... changed sets the old rows aside with a one-line message. (End to
end, with real trials: tests/test_experiment.py.)
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from symcodec import SymcodecError
from symcodec.study import (
    RESULT_COLUMNS,
    TrialKey,
    TrialRow,
    parse_study,
    read_results_csv,
    spec_id,
    trial_seed,
    tx_configs,
    write_results_csv,
)
from symcodec.study.resume import reusable_rows
from symcodec.study.trials import study_grid

BASE = {
    "name": "resume",
    "dataset": "mnist-5k",
    "model": "deepcnn-gap",
    "symmetries": ["central-skew"],
    "modes": ["dof", "full"],
    "bits": [4],
    "baselines": ["quant-only"],
    "trials": 2,
    "channel": {"name": "awgn", "snr_db": [10, 30]},
    "training": {"epochs": 1, "max_steps": 12},
}


def rows_of(doc: dict, acc_rx: float = 50.0) -> list[TrialRow]:
    """One row per trial of a study, with made-up figures (no training, no channel)."""
    spec = parse_study(doc)
    return [
        TrialRow(
            **{
                **dict.fromkeys(RESULT_COLUMNS, 0),
                "study": spec.name,
                "dataset": spec.dataset,
                "model": spec.model,
                "method": config.method,
                "symmetry": config.symmetry,
                "mode": config.mode,
                "bits": config.bits,
                "channel": spec.channel.name,
                "channel_param": spec.channel.param,
                "channel_value": value,
                "energy": spec.channel.energy,
                "protect": protect,
                "alpha": spec.alpha,
                "spec_id": spec_id(spec),
                "trial": trial,
                "train_seed": spec.training.seeds[0],
                "epochs_total": spec.training.epochs,
                "acc_rx": acc_rx,
            }
        )
        for config in tx_configs(spec)
        for value in spec.channel.values
        for protect in spec.channel.protect
        for trial in range(spec.trials)
    ]


@pytest.fixture
def results(tmp_path):
    path = tmp_path / "results.csv"
    write_results_csv(rows_of(BASE), path)
    return path


def test_an_unchanged_spec_reuses_every_row(results):
    before = results.read_bytes()
    messages: list[str] = []
    kept = reusable_rows(parse_study(BASE), results, messages.append)
    assert len(kept) == 2 * 2 * 2 + 2 * 2  # (2 modes + quant-only) x 2 SNRs x 2 trials
    assert messages == [] and results.read_bytes() == before


def test_a_grown_grid_keeps_the_rows_it_shares(results):
    grown = {
        **BASE,
        "symmetries": ["central-skew", "central"],
        "bits": [4, 8],
        "trials": 3,
        "channel": {"name": "awgn", "snr_db": [0, 10, 30]},
    }
    assert spec_id(parse_study(grown)) == spec_id(parse_study(BASE))
    messages: list[str] = []
    kept = reusable_rows(parse_study(grown), results, messages.append)
    assert len(kept) == 12 and messages == []


def test_a_narrowed_grid_sets_the_rest_aside_and_a_widened_one_takes_it_back(results):
    narrowed = {**BASE, "trials": 1, "channel": {"name": "awgn", "snr_db": [30]}}
    messages: list[str] = []
    kept = reusable_rows(parse_study(narrowed), results, messages.append)
    assert len(kept) == 3 and {r["channel_value"] for r in kept} == {30.0}
    assert messages == [
        "setting aside 9 rows outside this study's grid in results.outside-grid.csv "
        "(reused if the grid grows back)"
    ]
    assert read_results_csv(results) == kept
    assert sorted(p.name for p in results.parent.iterdir()) == [
        "results.csv",
        "results.outside-grid.csv",
    ]
    messages.clear()
    again = reusable_rows(parse_study(BASE), results, messages.append)
    assert len(again) == 12 and messages == []
    assert sorted(p.name for p in results.parent.iterdir()) == ["results.csv"]
    assert len(read_results_csv(results)) == 12


def with_seeds(doc: dict, seeds: list[int]) -> dict:
    return {**doc, "training": {**doc["training"], "seeds": seeds}}


def test_a_run_of_some_training_seeds_sets_the_others_aside_naming_them(tmp_path):
    """``--train-seeds 1`` narrows the spec to seed 1: seed 0's rows leave results.csv, the
    message says whose they are, and a run with both seeds reads them back."""
    path = tmp_path / "results.csv"
    both = with_seeds(BASE, [0, 1])
    write_results_csv(rows_of(with_seeds(both, [0])) + rows_of(with_seeds(both, [1])), path)
    only_1 = parse_study(with_seeds(both, [1]))
    assert spec_id(only_1) == spec_id(parse_study(both))
    messages: list[str] = []
    kept = reusable_rows(only_1, path, messages.append)
    assert len(kept) == 12 and {r["train_seed"] for r in kept} == {1}
    assert messages == [
        "setting aside 12 rows outside this run's grid in results.outside-grid.csv (12 of "
        "them of training seed 0, which this run leaves out; reused by a run that includes it)"
    ]
    messages.clear()
    again = reusable_rows(parse_study(both), path, messages.append)
    assert len(again) == 24 and messages == []
    assert {r["train_seed"] for r in again} == {0, 1}


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"channel": {"name": "bpsk-awgn", "ebn0_db": [10, 30]}}, "channel: awgn -> bpsk-awgn"),
        (
            {"channel": {**BASE["channel"], "equal_energy": True}},
            "energy: per-value -> equal-energy",
        ),
        ({"alpha": 0.5}, "alpha: 1 -> 0.5"),
        ({"dataset": "fashion-mnist"}, "dataset: mnist-5k -> fashion-mnist"),
        ({"training": {"epochs": 2, "max_steps": 12}}, "training.epochs: 1 -> 2"),
    ],
)
def test_rows_of_another_spec_are_set_aside_with_what_changed(results, change, what):
    old = rows_of(BASE)
    edited = parse_study({**BASE, **change})
    messages: list[str] = []
    kept = reusable_rows(edited, results, messages.append)
    assert kept == [] and read_results_csv(results) == []
    stale = results.with_name(f"results.stale-{spec_id(parse_study(BASE))}.csv")
    assert messages == [
        f"results.csv: {len(old)} rows from another spec set aside in {stale.name} ({what})"
    ]
    assert read_results_csv(stale) == [r.as_dict() for r in old]


def test_the_old_spec_from_run_json_names_every_change(results):
    import json

    from symcodec.study import StudySpec

    old = parse_study(BASE)
    (results.parent / "run.json").write_text(json.dumps({"spec": old.to_dict()}))
    assert StudySpec.from_dict(old.to_dict()) == old
    edited = parse_study(
        {**BASE, "seed": 3, "training": {"epochs": 1, "max_steps": 12, "lr": 0.01}}
    )
    messages: list[str] = []
    reusable_rows(edited, results, messages.append)
    assert len(messages) == 1
    assert messages[0].endswith("(training.lr: 0.001 -> 0.01; seed: 0 -> 3)")


def test_a_change_no_row_records_is_named_by_spec_id(results):
    edited = parse_study({**BASE, "seed": 3})
    messages: list[str] = []
    reusable_rows(edited, results, messages.append)
    old_id, new_id = spec_id(parse_study(BASE)), spec_id(edited)
    assert messages[0].endswith(f"(spec {old_id} -> {new_id})")


def test_rows_of_the_current_spec_stay_when_others_are_set_aside(results):
    current = parse_study({**BASE, "alpha": 0.5})
    mixed = read_results_csv(results) + [r.as_dict() for r in rows_of({**BASE, "alpha": 0.5})]
    write_results_csv(mixed, results)
    messages: list[str] = []
    kept = reusable_rows(current, results, messages.append)
    assert len(kept) == 12 and {r["spec_id"] for r in kept} == {spec_id(current)}
    assert len(messages) == 1 and "12 rows from another spec" in messages[0]
    assert read_results_csv(results) == kept


def test_a_results_csv_without_spec_id_is_set_aside_not_a_crash(tmp_path):
    rows = [r.as_dict() for r in rows_of(BASE)]
    old_columns = [c for c in RESULT_COLUMNS if c != "spec_id"]
    path = tmp_path / "results.csv"
    lines = [",".join(old_columns)] + [",".join(str(r[c]) for c in old_columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SymcodecError, match="missing spec_id"):
        read_results_csv(path)
    messages: list[str] = []
    assert reusable_rows(parse_study(BASE), path, messages.append) == []
    assert messages == [
        "results.csv: 12 rows without a spec_id (an older symcodec) set aside in "
        "results.stale-no-spec-id.csv"
    ]
    assert not path.exists()
    assert (tmp_path / "results.stale-no-spec-id.csv").read_text().count("\n") == 13


SAME_ID = [
    {"name": "renamed"},
    {"data_dir": "/elsewhere"},
    {"symmetries": ["central", "hflip"]},
    {"modes": ["dof"]},
    {"bits": [2, 8]},
    {"baselines": ["pruned"]},  # no pruning fine-tuning: the reference model is the same
    {"trials": 9},
    {"channel": {"name": "awgn", "snr_db": [0]}},
    {"channel": {"name": "awgn", "snr_db": "auto"}},
    {"training": {"epochs": 1, "max_steps": 12, "seeds": [0, 1, 2]}},  # seeds: a grid axis
]
OTHER_ID = [
    {"dataset": "fashion-mnist"},
    {"model": "deepcnn"},
    {"training": {"epochs": 2, "max_steps": 12}},
    {"training": {"epochs": 1, "max_steps": 13}},
    {"training": {"epochs": 1, "max_steps": 12, "lr": 0.01}},
    {"training": {"epochs": 1, "max_steps": 12, "batch_size": 64}},
    {"per_channel": True},
    {"channel": {"name": "bpsk-awgn", "ebn0_db": [10, 30]}},
    {"channel": {"name": "awgn", "snr_db": [10, 30], "equal_energy": True}},
    {"channel": {"name": "awgn", "snr_db": [10, 30], "packet_bytes": 64}},
    {"alpha": 0.0},
    {"seed": 1},
    {"link": {"bandwidth_hz": 2e6}},
    {"test_limit": 100},
]


@pytest.mark.parametrize("change", SAME_ID, ids=lambda c: next(iter(c)))
def test_the_grid_axes_and_names_leave_the_spec_id_alone(change):
    assert spec_id(parse_study({**BASE, **change})) == spec_id(parse_study(BASE))


@pytest.mark.parametrize("change", OTHER_ID, ids=str)
def test_every_setting_that_changes_a_result_changes_the_spec_id(change):
    assert spec_id(parse_study({**BASE, **change})) != spec_id(parse_study(BASE))


def test_pruning_finetuning_changes_the_spec_id_only_with_the_pruning_baseline():
    tuned = {"training": {"epochs": 2, "prune_finetune_epochs": 1, "max_steps": 12}}
    plain = {"training": {"epochs": 2, "max_steps": 12}}
    assert spec_id(parse_study({**BASE, **tuned})) == spec_id(parse_study({**BASE, **plain}))
    pruned = {"baselines": ["pruned", "quant-only"]}
    assert spec_id(parse_study({**BASE, **pruned, **tuned})) != spec_id(
        parse_study({**BASE, **pruned, **plain})
    )


def test_the_spec_id_is_stable_and_short():
    # a hash of plain data: the same in every process and on every machine (Ray workers);
    # the training recipe's optimizer, schedule and weight decay are part of it
    assert spec_id(parse_study(BASE)) == "d943f1fa03fa"
    assert spec_id(dataclasses.replace(parse_study(BASE))) == "d943f1fa03fa"


def test_trial_keys_normalise_the_channel_value():
    row = rows_of(BASE)[0]
    assert TrialKey.of(row) == TrialKey.of(row.as_dict())
    assert TrialKey.make("x", "a", "b", "c", 4, 10, 0) == TrialKey.make(
        "x", "a", "b", "c", 4.0, 10.0000001, 0
    )
    assert TrialKey.make("x", "a", "b", "c", 4, math.nan, 0).channel_value == "nan"


def test_adding_side_protection_keeps_the_rows_of_none(results):
    both = {**BASE, "channel": {**BASE["channel"], "protect": ["none", "side"]}}
    spec = parse_study(both)
    assert spec.channel.protect == ("none", "side")
    assert spec_id(spec) == spec_id(parse_study(BASE))  # protect is a grid axis
    assert len(study_grid(spec)) == 2 * len(study_grid(parse_study(BASE)))
    messages: list[str] = []
    kept = reusable_rows(spec, results, messages.append)
    assert len(kept) == 12 and messages == [] and {r["protect"] for r in kept} == {"none"}


def test_a_side_only_spec_keeps_none_of_the_unprotected_rows(results):
    side = {**BASE, "channel": {**BASE["channel"], "protect": "side"}}
    messages: list[str] = []
    kept = reusable_rows(parse_study(side), results, messages.append)
    assert kept == [] and messages == [
        "setting aside 12 rows outside this study's grid in results.outside-grid.csv "
        "(reused if the grid grows back)"
    ]


def test_a_bad_protection_is_named():
    for bad in ("all", ["none", "none"], []):
        with pytest.raises(SymcodecError, match="channel.protect"):
            parse_study({**BASE, "channel": {**BASE["channel"], "protect": bad}})


def test_the_noise_seed_depends_on_the_setting_not_on_the_configuration():
    spec = parse_study(BASE)
    seed = trial_seed(spec, 10.0, 0)
    assert seed == trial_seed(spec, 10, 0, "none", 0)  # the spec's training seed, no protection
    others = [
        trial_seed(spec, 10.0, 1),
        trial_seed(spec, 30.0, 0),
        trial_seed(spec, 10.0, 0, "side"),
        trial_seed(spec, 10.0, 0, train_seed=1),
        trial_seed(parse_study({**BASE, "seed": 1}), 10.0, 0),
        trial_seed(
            parse_study({**BASE, "channel": {**BASE["channel"], "equal_energy": True}}), 10, 0
        ),
        trial_seed(parse_study({**BASE, "channel": {"name": "bpsk-awgn", "ebn0_db": [10]}}), 10, 0),
    ]
    assert len({seed, *others}) == len(others) + 1
    # the configuration (method, mode, symmetry, bits) is not an input: a grown grid pairs
    grown = parse_study({**BASE, "symmetries": ["central"], "bits": [8], "modes": ["full"]})
    assert trial_seed(grown, 10.0, 0) == seed
