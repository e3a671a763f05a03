"""The soft symmetry penalty: its value and gradient, and training with it."""

import math

import pytest
import torch
from torch import nn

from symcodec import SymcodecError
from symcodec.constrain import distance, train_symmetric
from symcodec.soft_constraint import symmetry_penalty, train_near_symmetric
from symcodec.symmetry import get_symmetry
from symcodec.training import TrainConfig, seeded, train

CONFIG = TrainConfig(epochs=15, batch_size=16, lr=0.01, seed=3)


def small_net() -> nn.Module:
    with seeded(0):
        return nn.Sequential(
            nn.Conv2d(1, 4, 3),
            nn.ReLU(),
            nn.Conv2d(4, 4, 3),
            nn.ReLU(),
            nn.Conv2d(4, 2, 1),  # 1x1: central-skew has no DoF there, left out
            nn.Flatten(),
            nn.Linear(2 * 4 * 4, 2),
        )


def data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 1, 8, 8, generator=g)
    return x, (x[:, 0, :4].sum((1, 2)) > x[:, 0, 4:].sum((1, 2))).long()


def test_penalty_value_and_gradient():
    net = small_net()
    sym = get_symmetry("central-skew")
    penalty = symmetry_penalty(net, sym)
    expected = sum(
        float((net[i].weight - sym.project(net[i].weight)).detach().pow(2).sum()) for i in (0, 2)
    )
    assert penalty.item() == pytest.approx(expected, rel=1e-6)
    penalty.backward()
    for i in (0, 2):  # P_S is an orthogonal projector: the gradient is 2 (W - P_S W)
        w = net[i].weight.detach()
        torch.testing.assert_close(net[i].weight.grad, 2 * (w - sym.project(w)))
    assert net[4].weight.grad is None  # the 1x1 layer is not penalised
    # on exactly symmetric kernels the penalty is 0; on no layer at all too
    assert symmetry_penalty(train_symmetric(small_net(), sym, *data(), CONFIG).model, sym) == 0
    assert symmetry_penalty(nn.Linear(2, 2), sym).item() == 0.0


def test_penalty_zero_is_plain_training_bit_for_bit():
    x, y = data()
    plain, soft = small_net(), small_net()
    expected = train(plain, x, y, CONFIG, progress=False)
    result = train_near_symmetric(soft, "central-skew", x, y, CONFIG, penalty=0.0)
    assert result.train.losses == expected.losses
    for (name, a), b in zip(plain.state_dict().items(), soft.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    none = small_net()
    train_near_symmetric(none, "none", x, y, CONFIG, penalty=5.0)
    assert all(
        torch.equal(a, b) for a, b in zip(plain.parameters(), none.parameters(), strict=True)
    )


def test_penalty_infinity_is_the_hard_constraint():
    x, y = data()
    hard, soft = small_net(), small_net()
    train_symmetric(hard, "central-skew", x, y, CONFIG)
    result = train_near_symmetric(soft, "central-skew", x, y, CONFIG, penalty=math.inf)
    assert all(torch.equal(a, b) for a, b in zip(hard.parameters(), soft.parameters(), strict=True))
    assert distance(soft, "central-skew").overall == 0.0
    assert result.report.applied_names == ["0", "2"]


def test_distance_falls_as_the_penalty_grows():
    x, y = data()
    distances = {}
    for penalty in (0.0, 0.3, 30.0):
        net = small_net()
        result = train_near_symmetric(net, "central-skew", x, y, CONFIG, penalty=penalty)
        assert result.report.applied_names == ["0", "2"]
        distances[penalty] = distance(net, "central-skew").overall
    # random 3x3 kernels lie about sqrt(5/9) from central-skew's V_S
    assert distances[0.0] > 0.6
    assert distances[0.0] > distances[0.3] + 0.1
    assert distances[0.3] > distances[30.0] + 0.1
    assert distances[30.0] < 0.05


def test_bad_penalty():
    for bad in (-1.0, math.nan):
        with pytest.raises(SymcodecError, match="penalty"):
            train_near_symmetric(small_net(), "central", *data(), CONFIG, penalty=bad)
