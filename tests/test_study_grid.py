"""The study's grid: training seeds as a grid axis, the pruning variants, the auto SNR grid
and the SNR-to-target table."""

from __future__ import annotations

import math

import pytest
import torch

from symcodec.codec import TransmissionPlan, decode, encode
from symcodec.codec.pruning import kernel_magnitude_mask, pruning_masks
from symcodec.errors import SymcodecError
from symcodec.report.snr_targets import snr_to_target
from symcodec.study import parse_study, spec_id, tx_configs
from symcodec.study.trials import study_grid
from symcodec.study.waterfall import grid_across, projection_margin_db
from symcodec.symmetry import get_symmetry

BASE = {
    "name": "grid",
    "symmetries": ["central-skew", "d4"],
    "modes": ["dof", "full"],
    "bits": [4],
    "trials": 2,
    "channel": {"name": "awgn", "snr_db": [0, 10]},
    "training": {"epochs": 1, "max_steps": 3},
}


def test_training_seeds_are_a_grid_axis_with_one_spec_id():
    one = parse_study(BASE)
    three = parse_study({**BASE, "training": {**BASE["training"], "seeds": [0, 1, 2]}})
    assert spec_id(one) == spec_id(three)
    grid = study_grid(three)
    assert {k.train_seed for k in grid} == {0, 1, 2}
    assert len(grid) == 3 * len(study_grid(one))
    assert study_grid(one) <= grid  # the one-seed study's trials are among the three-seed's


@pytest.mark.parametrize(
    "training, message",
    [
        ({"seed": 0, "seeds": [1]}, "not both"),
        ({"seeds": [1, 1]}, "twice"),
        ({"seeds": []}, "non-empty"),
        ({"seeds": [-1]}, ">= 0"),
    ],
)
def test_bad_seed_lists_are_refused_by_key(training, message):
    with pytest.raises(SymcodecError, match=rf"training.seeds.*{message}"):
        parse_study({**BASE, "training": training})


def test_every_pruning_baseline_adds_its_own_mode():
    spec = parse_study({**BASE, "baselines": ["pruned", "pruned-global", "pruned-kernel"]})
    modes = {(c.mode, c.symmetry) for c in tx_configs(spec) if c.method == "pruned"}
    assert modes == {
        (m, s) for m in ("pruned", "pruned-global", "pruned-kernel") for s in BASE["symmetries"]
    }


def test_compared_symmetries_are_sent_in_dof_alone_and_keep_the_spec_id():
    base = {**BASE, "baselines": ["pruned", "quant-only"]}
    lean = parse_study({**base, "symmetries": ["central-skew"]})
    spec = parse_study({**base, "symmetries": ["central-skew"], "compare_symmetries": ["d4"]})
    full = parse_study(base)  # d4 with every mode and its own pruning baseline
    assert spec_id(spec) == spec_id(lean) == spec_id(full)
    added = {(c.method, c.symmetry, c.mode) for c in tx_configs(spec)} - {
        (c.method, c.symmetry, c.mode) for c in tx_configs(lean)
    }
    assert added == {("symmetric", "d4", "dof")}
    # the compared symmetry's trials are the same trials as in the study that has it in full
    assert study_grid(lean) < study_grid(spec) < study_grid(full)
    assert spec.all_symmetries == ("central-skew", "d4")
    assert parse_study({**base, "compare_symmetries": []}).compare_symmetries == ()


@pytest.mark.parametrize(
    "compared, message",
    [(["d4"], "already in 'symmetries'"), (["nope"], "unknown value 'nope'"), ([3], "strings")],
)
def test_bad_compared_symmetries_are_refused_by_key(compared, message):
    with pytest.raises(SymcodecError, match=rf"compare_symmetries.*{message}"):
        parse_study({**BASE, "compare_symmetries": compared})


def test_a_spec_written_before_compared_symmetries_reads_back():
    from symcodec.study import StudySpec

    doc = parse_study(BASE).to_dict()
    del doc["compare_symmetries"]
    assert StudySpec.from_dict(doc) == parse_study(BASE)


def test_pruning_masks_keep_the_same_total_by_each_rule():
    torch.manual_seed(0)
    kernels = {"a": torch.randn(4, 2, 3, 3), "b": 3 * torch.randn(8, 4, 3, 3)}
    keep = {"a": 4 * 2 * 4, "b": 8 * 4 * 4}  # central-skew: 4 of 9 per kernel
    for scope in ("layer", "global", "kernel"):
        masks = pruning_masks(kernels, keep, scope)
        assert sum(int(m.sum()) for m in masks.values()) == sum(keep.values()), scope
    per_kernel = pruning_masks(kernels, keep, "kernel")["b"].reshape(32, 9).sum(1)
    assert per_kernel.tolist() == [4] * 32
    # global: one threshold, so the larger-valued layer keeps more than its share
    glob = pruning_masks(kernels, keep, "global")
    assert int(glob["b"].sum()) > keep["b"]
    smallest_kept = min(kernels[n][glob[n]].abs().min() for n in kernels)
    largest_dropped = max(kernels[n][~glob[n]].abs().max() for n in kernels)
    assert smallest_kept >= largest_dropped


def test_per_kernel_pruning_keeps_the_largest_of_every_slice():
    w = torch.arange(18, dtype=torch.float32).reshape(2, 1, 3, 3) - 4.0
    mask = kernel_magnitude_mask(w, 3).reshape(2, 9)
    assert mask[0].nonzero().flatten().tolist() == [0, 1, 8]  # |-4|, |-3|, |4|
    assert mask[1].nonzero().flatten().tolist() == [6, 7, 8]
    with pytest.raises(SymcodecError, match="split evenly"):
        pruning_masks({"w": w}, {"w": 5}, "kernel")


def test_a_pruned_model_sends_its_own_counts_and_comes_back_exactly():
    torch.manual_seed(1)
    sd = {"conv.weight": torch.randn(8, 4, 3, 3), "conv.bias": torch.randn(8)}
    masks = pruning_masks({"conv.weight": sd["conv.weight"]}, {"conv.weight": 70}, "global")
    sd["conv.weight"] = sd["conv.weight"] * masks["conv.weight"]
    plan = TransmissionPlan.pruned(sd, "central-skew", bits=32, keep={"conv.weight": 70})
    assert plan["conv.weight"].keep == 70
    out = decode(encode(sd, plan))
    assert torch.equal(out["conv.weight"], sd["conv.weight"])


def test_the_auto_grid_spans_the_waterfall_and_the_projection_margin():
    assert grid_across(3.2, 9.9, 0.0, 2.0) == (2.0, 4.0, 6.0, 8.0, 10.0)
    assert grid_across(3.0, 9.0, 1.0, 1.5) == (1.5, 3.0, 4.5, 6.0, 7.5, 9.0)
    assert projection_margin_db(["central-skew"]) == pytest.approx(10 * math.log10(9 / 4))
    margin = projection_margin_db(["central-skew", "d4"])
    assert margin == pytest.approx(10 * math.log10(9 / get_symmetry("d4").dof(3)))


@pytest.mark.parametrize(
    "channel, message",
    [
        ({"name": "awgn", "snr_db": "auto", "auto_step_db": 2.5}, r"\(0, 2\] dB"),
        ({"name": "awgn", "snr_db": [1], "auto_step_db": 1}, 'only with snr_db = "auto"'),
        ({"name": "bsc", "p": "auto"}, "non-empty list of numbers"),
    ],
)
def test_auto_grid_settings_are_checked(channel, message):
    with pytest.raises(SymcodecError, match=message):
        parse_study({**BASE, "channel": channel})


def test_an_auto_study_searches_its_grid_once_and_reuses_it(tmp_path, monkeypatch):
    from symcodec.study import run_study

    monkeypatch.setenv("SYMCODEC_CACHE", str(tmp_path / "cache"))
    spec = parse_study(
        {
            **BASE,
            "symmetries": ["central-skew"],
            "modes": ["full"],
            "baselines": [],
            "trials": 1,
            "test_limit": 200,
            "channel": {"name": "awgn", "snr_db": "auto"},
            "training": {"epochs": 1, "max_steps": 60, "batch_size": 64, "lr": 0.003},
        }
    )
    messages: list[str] = []
    run = run_study(spec, tmp_path / "s", progress=False, log=messages.append)
    grid = run.meta["auto_grid"]
    values = grid["values_db"]
    assert values == sorted(values) and len(values) >= 2
    assert all(b - a == pytest.approx(2.0) for a, b in zip(values, values[1:], strict=False))
    assert values[0] <= grid["bottom_db"] - grid["margin_db"] and values[-1] >= grid["top_db"]
    assert grid["top_db"] > grid["bottom_db"]
    # the searched accuracies: below half of Acc Tx,q at the bottom, near it at the top
    searched = {float(k): v for k, v in grid["searched"].items()}
    assert searched[grid["bottom_db"]] < grid["acc_txq"] / 2
    assert searched[grid["top_db"]] >= grid["acc_txq"] - 1.0
    assert {float(r["channel_value"]) for r in run.rows} == set(values)
    # all trials in the directory, the model cache emptied (a new machine): the outputs are
    # written from the stored grid and the rows, and no model is trained
    monkeypatch.setenv("SYMCODEC_CACHE", str(tmp_path / "empty-cache"))
    messages.clear()
    again = run_study(spec, tmp_path / "s", progress=False, log=messages.append)
    assert again.new_trials == 0 and again.meta["auto_grid"]["values_db"] == values
    assert any("auto grid from auto_grid.json" in m for m in messages)
    assert not [m for m in messages if m.startswith("training")], messages
    assert not (tmp_path / "empty-cache").exists() or not any((tmp_path / "empty-cache").iterdir())


def _curve_rows(mode: str, shift_db: float, seeds=(0, 1), trials=3, txq=90.0):
    return [
        dict(
            method="symmetric",
            symmetry="central-skew",
            mode=mode,
            bits=8,
            energy="per-value",
            protect="none",
            channel_param="snr_db",
            channel_value=float(s),
            train_seed=seed,
            trial=t,
            acc_txq=txq,
            acc_rx=min(txq, 10.0 * (s + shift_db) + t),
        )
        for seed in seeds
        for s in range(0, 12)
        for t in range(trials)
    ]


def test_snr_to_target_reads_each_curve_and_pairs_the_gain():
    rows = _curve_rows("full", 0.0) + _curve_rows("full-project", 2.0)
    table = {r["mode"]: r for r in snr_to_target(rows)}
    full, projected = table["full"], table["full-project"]
    # target 89%: curve t is 10 s + t up to the cap of 90%, so between 8 and 9 dB it runs from
    # 80 + t to 90 and reaches 89 at 8 + (9 - t) / (10 - t) dB; the mean over t = 0, 1, 2
    expected = sum(8 + (9 - t) / (10 - t) for t in range(3)) / 3
    assert full["target_acc_pct"] == 89.0
    assert full["snr_db"] == pytest.approx(expected, abs=0.005)
    assert projected["snr_db"] == pytest.approx(expected - 2, abs=0.005)
    assert projected["gain_vs_full_db"] == pytest.approx(2.0)
    assert projected["curves_crossing"] == projected["curves"] == 6
    assert projected["bound_db"] == pytest.approx(10 * math.log10(9 / 4), abs=0.01)
    assert math.isnan(full["gain_vs_full_db"])


def test_a_curve_that_never_reaches_the_target_has_no_snr():
    rows = _curve_rows("full", -20.0)  # at most 10 x (11 - 20) + 2 < 89 anywhere
    (row,) = snr_to_target(rows)
    assert row["curves_crossing"] == 0 and math.isnan(row["snr_db"])


def test_train_only_fills_the_cache_for_every_seed(tmp_path, monkeypatch):
    from symcodec.cli import main
    from symcodec.study import model_cache_dir

    monkeypatch.setenv("SYMCODEC_CACHE", str(tmp_path / "cache"))
    study = tmp_path / "s.toml"
    study.write_text(
        'name = "s"\nmodel = "deepcnn-gap"\nsymmetries = ["central"]\nbaselines = ["pruned"]\n'
        'compare_symmetries = ["hflip"]\n'
        "test_limit = 100\n[training]\nepochs = 1\nmax_steps = 3\nseeds = [0, 1]\n"
        "prune_finetune_epochs = 1\n"
    )
    assert main(["reproduce", str(study), "--train-only", "--no-progress"]) == 0
    files = sorted(p.name for p in model_cache_dir().iterdir())
    # per seed: the reference, the central model, the pruned one and the compared hflip model
    # (a compared symmetry has no pruning baseline)
    assert len(files) == 8
    assert sum("-pruned-layer-central-" in f for f in files) == 2
    assert sum("-hflip-" in f for f in files) == 2 and not any(
        "pruned-layer-hflip" in f for f in files
    )
