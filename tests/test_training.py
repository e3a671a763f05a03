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
