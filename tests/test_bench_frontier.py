"""The BD-rate plumbing of the NNCodec benchmark (bench/nncodec_frontier.py and the modules
around it), on synthetic curves with known answers; NNCodec itself is not run."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import nncodec_adapter as adapter  # noqa: E402
import nncodec_frontier as frontier  # noqa: E402
import nncodec_frontier_files as frontier_files  # noqa: E402
import nncodec_symcodec  # noqa: E402
from nncodec_plots import plot_frontier  # noqa: E402

from symcodec.codec import TransmissionPlan  # noqa: E402
from symcodec.report.bd_rate import bd_rate_bootstrap  # noqa: E402
from symcodec.symmetry import get_symmetry  # noqa: E402

IMAGES = 4000
SIZES = (10_000, 14_000, 20_000, 28_000, 40_000, 56_000, 80_000)


def synthetic(label: str, scale: float, seed: int, truth: np.ndarray) -> frontier.Curve:
    """A curve whose point k is right on the reference's correct images except a fraction
    that shrinks with k: accuracy rises with bytes; ``scale`` multiplies every size."""
    rng = np.random.default_rng(seed)
    keep = (0.955, 0.97, 0.98, 0.987, 0.992, 0.996, 0.999)
    rows = np.stack([truth & (rng.random(IMAGES) < p) for p in keep])
    return frontier.Curve(
        label, tuple(f"p={k}" for k in keep), tuple(int(s * scale) for s in SIZES), rows
    )


@pytest.fixture()
def truth():
    return np.random.default_rng(0).random(IMAGES) < 0.92


def same_rows(curve: frontier.Curve, label: str, scale: float) -> frontier.Curve:
    """``curve``'s points (same correctness) at ``scale`` times the bytes."""
    return frontier.Curve(
        label, curve.settings, tuple(int(b * scale) for b in curve.stream_bytes), curve.correct
    )


def test_known_bd_rates_against_the_three_anchors(truth):
    sym = synthetic("symcodec-uniform", 1.0, 1, truth)
    curves = {
        "symcodec-uniform": sym,
        "nncodec-unconstrained": same_rows(sym, "nncodec-unconstrained", 2.0),  # sym: -50%
        "nncodec-symmetric": same_rows(sym, "nncodec-symmetric", 1.0),  # 0%
        "nncodec-dof": same_rows(sym, "nncodec-dof", 0.8),  # +25%
    }
    headline, ablation = frontier.bd_rate_rows("ds", "m", curves, truth, resamples=100)
    by_anchor = {r["anchor"]: r for r in headline}
    assert [r["anchor"] for r in headline] == list(frontier.ANCHORS)
    assert by_anchor["nncodec-unconstrained"]["bd_rate_pct"] == pytest.approx(-50.0, abs=0.05)
    assert by_anchor["nncodec-symmetric"]["bd_rate_pct"] == pytest.approx(0.0, abs=0.05)
    assert by_anchor["nncodec-dof"]["bd_rate_pct"] == pytest.approx(25.0, abs=0.1)
    for r in headline:  # paired: the same images in every curve, so the ratio is exact
        assert r["ci_low_pct"] == pytest.approx(r["bd_rate_pct"], abs=0.1)
        assert r["ci_high_pct"] == pytest.approx(r["bd_rate_pct"], abs=0.1)
    text = frontier.csv_text(headline, frontier.BD_COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == list(frontier.BD_COLUMNS)
    assert parsed[0]["dataset"] == "ds" and float(parsed[0]["bd_rate_pct"]) == pytest.approx(-50)
    assert {r["symcodec"] for r in ablation} == {"symcodec-uniform", "symcodec-best"}


def test_the_union_of_levers_takes_the_better_points(truth):
    uniform = synthetic("symcodec-uniform", 1.0, 1, truth)
    allocated = same_rows(uniform, "symcodec-allocated", 0.5)
    anchor = same_rows(uniform, "nncodec-unconstrained", 1.0)
    curves = {c.label: c for c in (uniform, allocated, anchor)}
    headline, ablation = frontier.bd_rate_rows("ds", "m", curves, truth, resamples=20)
    rates = {r["symcodec"]: r["bd_rate_pct"] for r in ablation}
    assert rates["symcodec-uniform"] == pytest.approx(0.0, abs=0.05)
    assert rates["symcodec-allocated"] == pytest.approx(-50.0, abs=0.05)
    assert rates["symcodec-best"] == pytest.approx(-50.0, abs=0.05)
    assert headline[0]["bd_rate_pct"] == rates["symcodec-best"]


def test_symcodec_on_the_unconstrained_model_is_an_ablation_row_only(truth):
    sym = synthetic("symcodec-uniform", 1.0, 1, truth)
    curves = {
        "symcodec-uniform": sym,
        "nncodec-unconstrained": same_rows(sym, "nncodec-unconstrained", 1.0),
        "nncodec-symmetric": same_rows(sym, "nncodec-symmetric", 1.0),
        # symcodec's coder and allocation on the unconstrained model: far better points,
        # which must neither enter the union nor be compared with the symmetric model
        "symcodec-unconstrained": same_rows(sym, "symcodec-unconstrained", 0.8),
        "symcodec-allocated-unconstrained": same_rows(sym, "x", 0.5),
    }
    headline, ablation = frontier.bd_rate_rows("ds", "m", curves, truth, resamples=20)
    assert all(r["bd_rate_pct"] == pytest.approx(0.0, abs=0.05) for r in headline)
    rows = {(r["symcodec"], r["anchor"]): r["bd_rate_pct"] for r in ablation}
    assert rows[("symcodec-unconstrained", "nncodec-unconstrained")] == pytest.approx(-20, abs=0.1)
    assert rows[("symcodec-allocated-unconstrained", "nncodec-unconstrained")] == pytest.approx(
        -50, abs=0.1
    )
    assert ("symcodec-unconstrained", "nncodec-symmetric") not in rows
    assert rows[("symcodec-best", "nncodec-unconstrained")] == pytest.approx(0.0, abs=0.05)


def test_curves_that_miss_the_band_give_nan_and_a_note(truth):
    sym = synthetic("symcodec-uniform", 1.0, 1, truth)
    poor = frontier.Curve("nncodec-dof", ("x",), (1000,), np.zeros((1, IMAGES), dtype=bool))
    headline, ablation = frontier.bd_rate_rows("ds", "m", {c.label: c for c in (sym, poor)}, truth)
    assert math.isnan(headline[0]["bd_rate_pct"]) and "overlap" in ablation[0]["note"]
    assert "| - |" in frontier.ablation_markdown(ablation)


def test_correctness_survives_the_npz(tmp_path, truth):
    sym = synthetic("symcodec-uniform", 1.0, 1, truth)
    key = frontier.curve_key("mnist-5k", "deepcnn", sym.label)
    path = tmp_path / "correct.npz"
    path.write_bytes(frontier.save_curves({key: sym}))
    back = frontier.load_curves(path)[key]
    assert back.label == sym.label and back.stream_bytes == sym.stream_bytes
    assert back.settings == sym.settings and np.array_equal(back.correct, sym.correct)


def test_the_frontier_plot_is_a_png(truth):
    sym = synthetic("symcodec-uniform", 1.0, 1, truth)
    anchor = same_rows(sym, "nncodec-unconstrained", 2.0)
    curves = {frontier.curve_key("d", "m", c.label): c for c in (sym, anchor)}
    headline, _ = frontier.bd_rate_rows("d", "m", {c.label: c for c in (sym, anchor)}, truth, 10)
    png = plot_frontier(curves, {("d", "m"): 92.0}, headline)
    assert png.startswith(b"\x89PNG")


def test_nncodec_dof_arrays_round_trip():
    g = torch.Generator().manual_seed(0)
    sym = get_symmetry("central-skew")
    state = {
        "conv.weight": sym.project(torch.randn(8, 4, 3, 3, generator=g)),
        "conv.bias": torch.randn(8, generator=g),
        "fc.weight": torch.randn(10, 8, generator=g),
    }
    plan = TransmissionPlan.default(state, symmetry="central-skew", bits=32)
    arrays = adapter.dof_arrays(state, plan)
    assert tuple(arrays["conv.weight"].shape) == (8, 4 * sym.dof(3))  # 2-D for NNCodec
    back = adapter.from_dof_arrays(arrays, {k: v.shape for k, v in state.items()}, plan)
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_correctness_rows_match_the_accuracy():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
    x = torch.eye(4).reshape(4, 1, 2, 2)
    y = torch.tensor([0, 1, 0, 1])
    states = [
        {"1.weight": torch.tensor([[1.0, 0, 1, 0], [0, 1, 0, 1]])},
        {"1.weight": -torch.ones(2, 4)},
    ]
    rows = frontier.correctness(net, states, x, y, batch_size=3)
    assert rows.tolist() == [[True, True, True, True], [True, False, True, False]]


def test_allocation_budgets_cover_the_window_one_point_below_and_steps_under_it(truth):
    curve = synthetic("symcodec-uniform", 1.0, 1, truth)  # accuracies rise with the sizes
    reference = float(curve.accuracy[-1])
    window = nncodec_symcodec.ALLOCATION_WINDOW_PP
    pairs = zip(curve.stream_bytes, curve.accuracy, strict=True)
    inside = [b for b, a in pairs if a >= reference - window]
    budgets = nncodec_symcodec.allocation_budgets(curve, reference)
    below = nncodec_symcodec.BUDGETS_BELOW
    assert budgets[below + 1 :] == sorted(inside)
    next_size = max(b for b in curve.stream_bytes if b < min(inside))
    assert budgets[below] == next_size
    ratio = nncodec_symcodec.BELOW_RATIO
    assert budgets[:below] == [round(next_size * ratio**k) for k in range(below, 0, -1)]


def test_pooled_bd_rate_of_one_seed_is_the_library_bootstrap(truth):
    sym = synthetic("symcodec-uniform", 1.0, 1, truth)
    anchor = synthetic("nncodec-unconstrained", 1.3, 2, truth)  # other images, other sizes
    pooled = frontier.pooled_bd_rate([(sym, anchor, truth)], resamples=50, seed=3)
    library = bd_rate_bootstrap(
        sym.stream_bytes,
        sym.correct,
        anchor.stream_bytes,
        anchor.correct,
        truth,
        band_pp=frontier.BAND_PP,
        resamples=50,
        seed=3,
    )
    assert pooled == library


def test_pooled_bd_rate_is_the_mean_over_seeds(truth):
    other_truth = np.random.default_rng(5).random(IMAGES) < 0.9  # seed 1's reference
    sym0 = synthetic("symcodec-uniform", 1.0, 1, truth)
    sym1 = synthetic("symcodec-uniform", 1.0, 2, other_truth)
    pairs = [
        (sym0, same_rows(sym0, "nncodec-dof", 2.0), truth),  # -50%
        (sym1, same_rows(sym1, "nncodec-dof", 1.0), other_truth),  # 0%
    ]
    r = frontier.pooled_bd_rate(pairs, resamples=200)
    assert r.bd_rate_pct == pytest.approx(-25.0, abs=0.05)
    # the CI covers the spread between the seeds: draws that pick seed 0 twice give -50%,
    # seed 1 twice 0% (a quarter of the draws each)
    assert r.ci_low_pct == pytest.approx(-50.0, abs=0.1)
    assert r.ci_high_pct == pytest.approx(0.0, abs=0.1) and r.resamples == 200
    reference = (100 * truth.mean() + 100 * other_truth.mean()) / 2
    assert r.band == pytest.approx((reference - 2.0, reference - 0.3))


def read_rows(path: Path) -> list[dict]:
    """The rows of a CSV file."""
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_the_frontier_files_give_each_seed_and_their_pool(tmp_path, truth):
    curves = {}
    for seed, factor in ((0, 2.0), (1, 1.0)):
        sym = synthetic("symcodec-uniform", 1.0, 1 + seed, truth)
        anchor = same_rows(sym, "nncodec-unconstrained", factor)
        ref = frontier.Curve(frontier.REFERENCE, ("float32",), (10**6,), truth[None, :])
        for c in (sym, anchor, ref):
            curves[frontier.curve_key("ds", "m", c.label, seed)] = c
    table = frontier_files.write_frontier(tmp_path, curves, resamples=20)
    pooled = read_rows(tmp_path / "bd_rate.csv")
    assert list(pooled[0]) == list(frontier.BD_COLUMNS) and len(pooled) == 1
    assert float(pooled[0]["bd_rate_pct"]) == pytest.approx(-25.0, abs=0.05)
    per_seed = read_rows(tmp_path / "bd_rate_per_seed.csv")
    rates = {r["seeds"]: float(r["bd_rate_pct"]) for r in per_seed}
    assert rates == pytest.approx({"0": -50.0, "1": 0.0}, abs=0.05)
    ablation = read_rows(tmp_path / "bd_rate_ablation.csv")
    assert {r["seeds"] for r in ablation} == {"0", "1", "0+1"}
    assert "| 0+1 |" in table and (tmp_path / "frontier.png").read_bytes().startswith(b"\x89PNG")


def test_the_rdo_points_round_every_tensor_for_rate_and_stay_symmetric():
    torch.manual_seed(0)
    conv = get_symmetry("central-skew").project(torch.randn(8, 4, 3, 3))
    state = {"conv.weight": conv, "fc.weight": torch.randn(10, 32), "fc.bias": torch.randn(10)}
    shapes = {k: v.shape for k, v in state.items()}
    plain = nncodec_symcodec.Symcodec("central-skew")
    rdo = nncodec_symcodec.SymcodecRdo("central-skew")
    assert rdo.name == "symcodec-rdo" and rdo.rdo_lambda == pytest.approx(math.log(2) / 6)
    assert {tp.rdo_lambda for tp in rdo.plan(state, 0.05).tensors.values()} == {rdo.rdo_lambda}
    plain_blob, rdo_blob = plain.encode(state, 0.05), rdo.encode(state, 0.05)
    assert len(rdo_blob) < len(plain_blob)  # rounding for rate saves bytes at the same step
    received = rdo.decode(rdo_blob, shapes)
    kernel = received["conv.weight"].reshape(shapes["conv.weight"])
    assert torch.equal(get_symmetry("central-skew").project(kernel), kernel)
    for name, tensor in state.items():  # RDO moves a value by at most one step
        assert (received[name].reshape(tensor.shape) - tensor).abs().max() <= 0.05 * 1.0001


def write_run(directory: Path, seed: int, curves: dict, float_acc: float = 90.0) -> None:
    """A frontier run of one training seed: its curves and one point per curve, its model
    at ``float_acc``."""
    from nncodec_results import write_csv
    from nncodec_sweep import Point

    directory.mkdir(parents=True)
    (directory / "correct.npz").write_bytes(frontier.save_curves(curves))
    points = [
        Point(
            "fashion-mnist",
            "deepcnn",
            "central-skew",
            seed,
            100,
            float_acc,
            c.label,
            "step=1",
            1.0,
            c.stream_bytes[0],
            1.0,
            90.0,
            1.0,
            1.0,
            0.0,
        )  # fmt: skip
        for c in curves.values()
    ]
    write_csv(directory / "results.csv", points)
    (directory / "run.json").write_text(f'{{"command": "run {seed}", "seeds": [{seed}]}}')


def test_runs_of_separate_seeds_merge_and_a_different_measurement_is_refused(tmp_path, truth):
    import nncodec_merge

    def run(seed: int, factor: float) -> dict:
        sym = synthetic("symcodec-uniform", 1.0, 1, truth)
        anchor = same_rows(sym, "nncodec-unconstrained", factor)
        return {
            frontier.curve_key("fashion-mnist", "deepcnn", c.label, seed): c for c in (sym, anchor)
        }

    write_run(tmp_path / "s0", 0, run(0, 2.0))
    write_run(tmp_path / "s1", 1, run(1, 1.0))
    added = nncodec_merge.merge_runs(tmp_path / "s0", [tmp_path / "s1"])
    assert len(added) == 2 and all(frontier.parse_curve_key(key)[2] == 1 for key in added)
    merged = frontier.load_curves(tmp_path / "s0" / "correct.npz")
    assert set(merged) == set(run(0, 2.0)) | set(run(1, 1.0))
    record = json.loads((tmp_path / "s0" / "run.json").read_text())
    assert record["command"] == "run 0" and record["merged"][0]["seeds"] == [1]
    # the same seed measured again, identically: nothing changes; differently: refused
    assert nncodec_merge.merge_runs(tmp_path / "s0", [tmp_path / "s1"]) == []
    # into an empty directory every curve is added, the first run's too
    fresh = nncodec_merge.merge_runs(tmp_path / "fresh", [tmp_path / "s1"])
    assert fresh == sorted(run(1, 1.0))
    write_run(tmp_path / "s1-other", 1, run(1, 3.0))
    before = (tmp_path / "s0" / "correct.npz").read_bytes()
    with pytest.raises(nncodec_merge.MergeError, match="differs between the runs"):
        nncodec_merge.merge_runs(tmp_path / "s0", [tmp_path / "s1-other"])
    assert (tmp_path / "s0" / "correct.npz").read_bytes() == before  # nothing half-written
    with pytest.raises(nncodec_merge.MergeError, match="no results.csv"):
        nncodec_merge.merge_runs(tmp_path / "s0", [tmp_path / "nothing"])


def test_a_lever_measured_on_a_model_trained_again_is_refused(tmp_path, truth):
    """A later run that adds a curve (a lever) for a seed already measured, on a model of
    another float accuracy (trained again on another machine), would put one model's curve
    beside another's anchors: the merge refuses it and writes nothing."""
    import nncodec_merge

    sym = synthetic("symcodec-uniform", 1.0, 1, truth)
    anchor = same_rows(sym, "nncodec-unconstrained", 2.0)
    lever = same_rows(sym, "symcodec-allocated", 0.8)

    def keyed(*curves):
        return {frontier.curve_key("fashion-mnist", "deepcnn", c.label, 0): c for c in curves}

    write_run(tmp_path / "first", 0, keyed(sym, anchor), float_acc=93.46)
    write_run(tmp_path / "same-model", 0, keyed(lever), float_acc=93.46)
    write_run(tmp_path / "retrained", 0, keyed(lever), float_acc=93.43)
    before = (tmp_path / "first" / "correct.npz").read_bytes()
    with pytest.raises(nncodec_merge.MergeError, match="93.46% and 93.43%.*trained again"):
        nncodec_merge.merge_runs(tmp_path / "first", [tmp_path / "retrained"])
    assert (tmp_path / "first" / "correct.npz").read_bytes() == before
    added = nncodec_merge.merge_runs(tmp_path / "first", [tmp_path / "same-model"])
    assert added == sorted(keyed(lever))


def test_speed_rounds_alternate_the_order_and_take_each_calls_median(monkeypatch):
    import nncodec_speed

    clock = [0.0]  # a fake clock: each call advances it by its cost in that round
    monkeypatch.setattr(nncodec_speed.time, "perf_counter", lambda: clock[0])
    order: list[str] = []
    costs = {"a": iter([1.0, 5.0, 2.0]), "b": iter([3.0, 0.5, 0.25])}

    def call(name):
        def run():
            order.append(name)
            clock[0] += next(costs[name])

        return run

    medians = nncodec_speed.interleaved({"a": call("a"), "b": call("b")}, repeats=3)
    assert order == ["a", "b", "b", "a", "a", "b"]
    assert medians == {"a": 2.0, "b": 0.5}


def test_speed_script_refuses_bad_arguments_in_one_line(tmp_path, capsys):
    import nncodec_speed

    with pytest.raises(SystemExit) as exit_info:
        nncodec_speed.parse_args(["--results", str(tmp_path / "missing.csv")])
    assert exit_info.value.code == 2
    assert "--results" in capsys.readouterr().err.strip().splitlines()[-1]
    with pytest.raises(SystemExit):
        nncodec_speed.parse_args(["--repeats", "0", "--results", __file__])
