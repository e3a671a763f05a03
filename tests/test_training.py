"""Training and evaluation loops, and constrained training on real data."""

import pytest
import torch
from torch import nn

from symcodec import SymcodecError
from symcodec.constrain import distance, symmetrize, unsymmetrize
from symcodec.symmetry import get_symmetry
from symcodec.training import TrainConfig, evaluate, seeded, train


def toy_data(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 4, 4, generator=g)
    y = (x[:, 0, :2].sum((1, 2)) > x[:, 0, 2:].sum((1, 2))).long()
    return x, y


def toy_model(seed: int = 0) -> nn.Module:
    with seeded(seed):
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.Dropout(0.1),  # uses the global RNG: must still be deterministic
            nn.Flatten(),
            nn.Linear(64, 2),
        )


def test_train_is_deterministic_given_seed_and_leaves_global_rng_alone():
    x, y = toy_data()
    config = TrainConfig(epochs=3, batch_size=32, lr=1e-2, seed=7)
    state = torch.random.get_rng_state()
    a, b = toy_model(), toy_model()
    ra = train(a, x, y, config, progress=False)
    rb = train(b, x, y, config, progress=False)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert ra.losses == rb.losses
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = toy_model()
    rc = train(c, x, y, TrainConfig(epochs=3, batch_size=32, lr=1e-2, seed=8), progress=False)
    assert rc.losses != ra.losses


def test_train_result_and_max_steps():
    x, y = toy_data(200)
    model = toy_model()
    r = train(model, x, y, TrainConfig(epochs=4, batch_size=64, lr=1e-2), progress=False)
    assert r.steps == 16 and len(r.losses) == 4 and len(r.epoch_seconds) == 4
    assert r.samples == 800 and r.seconds > 0
    assert r.losses[-1] < r.losses[0]
    assert evaluate(model, x, y) > 80
    r = train(toy_model(), x, y, TrainConfig(epochs=10, batch_size=64, max_steps=6), False)
    assert r.steps == 6 and len(r.losses) == 2  # 4 steps, then 2 of the second epoch
    # a last batch of one example is dropped (batch norm cannot train on it)
    assert (
        train(toy_model(), x[:65], y[:65], TrainConfig(epochs=1, batch_size=64), False).steps == 1
    )


def test_train_with_progress_bar(capsys):
    x, y = toy_data(64)
    r = train(toy_model(), x, y, TrainConfig(epochs=2, batch_size=16), progress=True)
    assert r.steps == 8
    assert "loss" in capsys.readouterr().err


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_optimizers(optimizer):
    x, y = toy_data()
    config = TrainConfig(epochs=5, batch_size=32, lr=1e-2, optimizer=optimizer, weight_decay=1e-4)
    r = train(toy_model(), x, y, config, progress=False)
    assert r.losses[-1] < r.losses[0]


def test_bad_input():
    with pytest.raises(SymcodecError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(SymcodecError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(SymcodecError, match="lr"):
        TrainConfig(lr=0)
    x, y = toy_data()
    with pytest.raises(SymcodecError, match="labels"):
        train(toy_model(), x, y[:-1], progress=False)
    with pytest.raises(SymcodecError, match="labels"):
        evaluate(toy_model(), x, y.float())
    with pytest.raises(SymcodecError, match="diverged"):
        train(toy_model(), x * float("nan"), y, TrainConfig(epochs=1), progress=False)


def test_evaluate_restores_mode_and_batches():
    x, y = toy_data(250)
    model = toy_model()
    model.train()
    a = evaluate(model, x, y, batch_size=7)
    assert model.training
    assert a == evaluate(model, x, y, batch_size=1000)
    with torch.no_grad():
        model.eval()
        expected = 100.0 * float((model(x).argmax(1) == y).float().mean())
    assert a == pytest.approx(expected)
    assert evaluate(model, x[:0], y[:0]) == 0.0


def test_constrained_deepcnn_learns_mnist_5k():
    data = pytest.importorskip("symcodec.data")
    models = pytest.importorskip("symcodec.models")
    ds = data.load_dataset("mnist-5k")
    sym = get_symmetry("central-skew")
    with seeded(0):
        model = models.build_model("deepcnn", num_classes=ds.num_classes)
    symmetrize(model, sym)
    assert model.symcodec_report.applied_names == ["conv1", "conv2", "conv3", "conv4"]
    # 120 steps of 64 (under 2 epochs of the 4,000 images): ~93% on 2 idle cores in ~6 s
    config = TrainConfig(epochs=10, batch_size=64, lr=1e-3, max_steps=120, seed=0)
    result = train(model, ds.train_x, ds.train_y, config, progress=False)
    assert result.steps == 120
    accuracy = evaluate(model, ds.test_x, ds.test_y)
    assert accuracy > 85, accuracy  # chance is 10%
    for name in model.symcodec_report.applied_names:
        w = getattr(model, name).weight.detach()
        assert torch.equal(sym.project(w), w), name
        assert torch.equal(w, -w.flip(-1, -2)), name
    unsymmetrize(model)
    assert distance(model, sym).overall == 0.0
    assert evaluate(model, ds.test_x, ds.test_y) == accuracy


def test_schedules_change_the_run_and_stay_deterministic():
    import torch
    from torch import nn

    from symcodec.errors import SymcodecError
    from symcodec.training import TrainConfig, seeded, train

    x = torch.randn(96, 4, generator=torch.Generator().manual_seed(0))
    y = (x.sum(1) > 0).long()

    def run(schedule: str) -> torch.Tensor:
        with seeded(0):
            net = nn.Linear(4, 2)
        config = TrainConfig(epochs=3, batch_size=16, lr=0.1, schedule=schedule)
        train(net, x, y, config, progress=False)
        return net.weight.detach().clone()

    constant, onecycle, cosine = run("constant"), run("onecycle"), run("cosine")
    assert torch.equal(onecycle, run("onecycle"))
    assert not torch.equal(constant, onecycle) and not torch.equal(constant, cosine)
    with pytest.raises(SymcodecError, match="unknown schedule 'linear'"):
        TrainConfig(schedule="linear")


# ------------------------------------------------------------------ the training recipe


def test_one_recipe_per_family_for_every_model():
    from symcodec.models import model_names
    from symcodec.recipes import Recipe, recipe_for

    recipe = recipe_for("fashion-mnist", "deepcnn")
    assert isinstance(recipe, Recipe)
    assert recipe.schedule in ("onecycle", "cosine") and recipe.epochs >= 5
    for dataset in ("mnist-5k", "mnist", "fashion-mnist"):
        for model in model_names():
            assert recipe_for(dataset, model) == recipe
    with pytest.raises(SymcodecError, match="imagenet"):
        recipe_for("imagenet", "deepcnn")
    with pytest.raises(SymcodecError, match="resnet"):
        recipe_for("mnist-5k", "resnet")


def test_recipe_is_frozen_validated_and_becomes_a_train_config():
    import dataclasses

    from symcodec.recipes import Recipe, recipe_for

    recipe = recipe_for("mnist-5k", "deepcnn")
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.lr = 1.0
    config = recipe.train_config(seed=4, max_steps=3)
    assert (config.optimizer, config.lr, config.schedule, config.epochs) == (
        recipe.optimizer,
        recipe.lr,
        recipe.schedule,
        recipe.epochs,
    )
    assert (config.weight_decay, config.seed, config.max_steps) == (recipe.weight_decay, 4, 3)
    assert recipe.replace(epochs=1, lr=None) == dataclasses.replace(recipe, epochs=1)
    with pytest.raises(SymcodecError, match="optimizer"):
        Recipe(optimizer="lbfgs")
    with pytest.raises(SymcodecError, match="schedule"):
        Recipe(schedule="step")
    meta = recipe.to_metadata()
    assert meta["recipe.optimizer"] == recipe.optimizer and meta["recipe.epochs"] == "10"


def test_train_cli_follows_the_recipe_and_records_it(tmp_path, capsys):
    from safetensors import safe_open

    from symcodec.cli import main
    from symcodec.recipes import recipe_for

    recipe = recipe_for("mnist-5k", "deepcnn-gap")
    out = tmp_path / "m.safetensors"
    args = ["train", "--model", "deepcnn-gap", "--max-steps", "4", "--no-progress"]
    assert main([*args, "-o", str(out)]) == 0
    assert f"{recipe.epochs} epochs of {recipe.optimizer}" in capsys.readouterr().out
    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
    assert meta["recipe.schedule"] == recipe.schedule and meta["recipe.overrides"] == "none"
    assert meta["epochs"] == str(recipe.epochs) and meta["lr"] == str(recipe.lr)
    assert float(meta["train_seconds"]) > 0 and 0 <= float(meta["accuracy"]) <= 100
    # explicit options override single fields of the recipe
    override = ["--epochs", "1", "--lr", "0.01", "--schedule", "constant", "--optimizer", "sgd"]
    assert main([*args, *override, "-o", str(out)]) == 0
    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
    assert (meta["recipe.epochs"], meta["recipe.lr"]) == ("1", "0.01")
    assert (meta["recipe.schedule"], meta["recipe.optimizer"]) == ("constant", "sgd")
    assert meta["recipe.weight_decay"] == str(recipe.weight_decay)
    assert meta["recipe.overrides"] == "epochs,lr,optimizer,schedule"


def test_train_help_says_the_defaults_come_from_the_recipe(capsys):
    from symcodec.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--epochs", "--lr", "--schedule", "--optimizer", "--weight-decay"):
        assert option in text
    assert text.count("default from the data set's recipe") >= 5


# ------------------------------------------------------------ the study's training table


def test_study_training_defaults_to_the_recipe_and_enters_the_spec_id():
    import dataclasses

    from symcodec.recipes import recipe_for
    from symcodec.study import StudySpec, parse_study
    from symcodec.study.identity import spec_fingerprint, spec_id

    recipe = recipe_for("mnist-5k", "deepcnn")
    spec = parse_study({"name": "s", "training": {"epochs": 1}})
    t = spec.training
    assert (t.optimizer, t.schedule, t.weight_decay) == (
        recipe.optimizer,
        recipe.schedule,
        recipe.weight_decay,
    )
    config = t.train_config(epochs=1, seed=0)
    assert (config.optimizer, config.schedule) == (recipe.optimizer, recipe.schedule)
    cosine = parse_study({"name": "s", "training": {"epochs": 1, "schedule": "cosine"}})
    assert cosine.training.schedule == "cosine"
    assert spec_fingerprint(cosine)["training.schedule"] == "cosine"
    assert spec_id(cosine) != spec_id(spec)
    no_decay = dataclasses.replace(spec, training=dataclasses.replace(t, weight_decay=0.0))
    assert spec_id(no_decay) != spec_id(spec)
    # a stored spec from before recipes trained with Adam at a constant rate
    old = spec.to_dict()
    for key in ("optimizer", "schedule", "weight_decay"):
        del old["training"][key]
    legacy = StudySpec.from_dict(old).training
    assert (legacy.optimizer, legacy.schedule, legacy.weight_decay) == ("adam", "constant", 0.0)
    assert StudySpec.from_dict(spec.to_dict()) == spec
    for bad, key in (({"schedule": "step"}, "schedule"), ({"weight_decay": -1}, "weight_decay")):
        with pytest.raises(SymcodecError, match=f"training.{key}"):
            parse_study({"name": "s", "training": bad})


def test_every_committed_study_trains_with_the_recipe():
    from pathlib import Path

    from symcodec.recipes import recipe_for
    from symcodec.study import load_study

    for path in sorted((Path(__file__).parent.parent / "studies").glob("*.toml")):
        study = load_study(path)
        recipe = recipe_for(study.dataset, study.model)
        t = study.training
        # quick.toml (the 5-minute demonstration) alone trains fewer epochs
        epochs = 3 if study.name == "quick" else recipe.epochs
        assert (t.epochs, t.lr, t.batch_size) == (epochs, recipe.lr, recipe.batch_size)
        assert (t.optimizer, t.schedule, t.weight_decay) == (
            recipe.optimizer,
            recipe.schedule,
            recipe.weight_decay,
        ), path.name
