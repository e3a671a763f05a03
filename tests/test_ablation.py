"""Claim 5's ablation on real data: models trained with the soft symmetry penalty, a short
training on mnist-5k for two training seeds, what the numbers of its distance sweep must be,
and a rerun that keeps the seeds already complete."""

import math

import pytest

from symcodec import SymcodecError
from symcodec.data import load_dataset
from symcodec.study import PENALTIES, parse_study, penalized_model, run_ablation, trained_model

SPEC = {
    "name": "tiny-ablation",
    "dataset": "mnist-5k",
    "model": "deepcnn-gap",
    "symmetries": ["central-skew"],
    "modes": ["full-project"],
    "bits": [8],
    "baselines": [],
    "trials": 2,
    "channel": {"name": "awgn", "snr_db": [10, 20, 30]},
    "training": {"epochs": 1, "batch_size": 32, "max_steps": 36, "lr": 0.003, "seeds": [0, 1]},
    "test_limit": 200,
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    mp.setenv("SYMCODEC_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def ablation(cache):
    return run_ablation(parse_study(SPEC), progress=False, log=lambda _m: None)


def sweep(rows, seed: int = 0) -> dict:
    """One training seed's tx-distance sweep by penalty: (d_S, Acc Tx, rows)."""
    out: dict = {}
    for r in rows:
        if r["experiment"] == "tx-distance" and r["train_seed"] == seed:
            out.setdefault(r["penalty"], (r["distance"], r["acc_tx"], []))[2].append(r)
    return out


def test_distance_falls_as_the_penalty_grows(ablation):
    for seed in (0, 1):
        by_penalty = sweep(ablation.rows, seed)
        assert sorted(by_penalty) == sorted(PENALTIES)
        distances = [by_penalty[p][0] for p in sorted(PENALTIES)]
        print(f"seed {seed}: d_S by penalty:", dict(zip(sorted(PENALTIES), distances, strict=True)))
        assert all(a > b for a, b in zip(distances, distances[1:], strict=False)), distances
        assert distances[0] > 0.5  # the unconstrained model: random-like kernels, ~sqrt(5/9)
        assert distances[-1] == pytest.approx(0.0, abs=1e-6)  # the symmetric model
        # the penalty-0 model is the seed's reference, which every row of the seed carries
        assert {r["acc_ref"] for r in by_penalty[0.0][2]} == {by_penalty[0.0][1]}


def test_every_seed_has_its_own_models_and_the_mean_reference(ablation):
    references = {r["train_seed"]: r["acc_ref"] for r in ablation.rows}
    assert sorted(references) == [0, 1]
    assert ablation.acc_ref == pytest.approx(sum(references.values()) / 2)
    # different seeds: different unconstrained models (their distances differ)
    assert sweep(ablation.rows, 0)[0.0][0] != sweep(ablation.rows, 1)[0.0][0]


def test_every_model_is_sent_paired_with_and_without_projection(ablation):
    for penalty, (_, _, rows) in sweep(ablation.rows).items():
        arms = {(r["rx_alpha"], r["trial"]) for r in rows}
        assert arms == {(a, t) for a in (0.0, 1.0) for t in range(2)}, penalty
        assert {r["channel_value"] for r in rows} == {20.0}  # the middle setting
        assert all(0.0 <= r["acc_rx"] <= 100.0 for r in rows)
    alpha_rows = [r for r in ablation.rows if r["experiment"] == "rx-alpha"]
    assert {r["penalty"] for r in alpha_rows} == {math.inf}
    assert {r["distance"] for r in alpha_rows} == {0.0}


def test_models_come_from_the_cache(ablation, cache):
    spec = parse_study(SPEC)
    data = load_dataset("mnist-5k")
    # lambda 0 and inf are the study's own models (the same cache entries)
    _, reference = trained_model(spec, data, "none")
    assert penalized_model(spec, data, "central-skew", 0.0)[1]["path"] == reference["path"]
    _, symmetric = trained_model(spec, data, "central-skew")
    assert penalized_model(spec, data, "central-skew", math.inf)[1]["path"] == symmetric["path"]
    _, soft = penalized_model(spec, data, "central-skew", PENALTIES[2])
    assert soft["cached"] == "yes" and soft["penalty"] == f"{PENALTIES[2]:g}"
    assert soft["path"] not in (reference["path"], symmetric["path"])
    log: list[str] = []
    again = run_ablation(
        spec, alphas=(1.0,), penalties=(PENALTIES[2],), progress=False, log=log.append
    )
    assert not [m for m in log if m.startswith("training")]
    # the same model and the same noise seeds: the same numbers
    same = [r for r in ablation.rows if r["penalty"] == PENALTIES[2]]
    assert [r for r in again.rows if r["experiment"] == "tx-distance"] == same


def test_a_rerun_keeps_the_complete_seeds_and_runs_only_the_others(ablation, cache):
    spec = parse_study(SPEC)
    seed0 = [r for r in ablation.rows if r["train_seed"] == 0]
    stray = {**seed0[0], "channel_value": 99.0}  # a row of another sweep: dropped
    log: list[str] = []
    saved: list[int] = []
    rerun = run_ablation(
        spec,
        progress=False,
        log=log.append,
        earlier=[*seed0, stray],
        on_seed=lambda run: saved.append(len(run.rows)),
    )
    assert "training seed 0: its ablation rows are already there" in log
    assert any("1 earlier rows of another sweep are replaced" in m for m in log)
    assert rerun.rows == ablation.rows and saved == [len(ablation.rows)]
    # --train-seeds 1 beside an earlier seed-0 run: seed 0's rows stay, seed 1 is run
    only1 = parse_study({**SPEC, "training": {**SPEC["training"], "seeds": [1]}})
    alone = run_ablation(only1, progress=False, log=lambda _m: None, earlier=seed0)
    assert alone.rows == ablation.rows
    # rows without their seed's reference (an older file) are run again
    unreferenced = [{**r, "acc_ref": math.nan} for r in ablation.rows]
    log.clear()
    again = run_ablation(spec, progress=False, log=log.append, earlier=unreferenced)
    assert not [m for m in log if "already there" in m] and again.rows == ablation.rows


def test_auto_grid_needs_the_study_directory():
    spec = parse_study({**SPEC, "channel": {"name": "awgn", "snr_db": "auto"}})
    with pytest.raises(SymcodecError, match="directory"):
        run_ablation(spec, progress=False, log=lambda _m: None)
