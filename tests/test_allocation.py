"""Data-aware bit allocation (issue 14): budgets hold, the allocation beats one step for all on
a small trained model at equal bytes, DoF mode is respected, and bad budgets are one line."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symcodec.codec import TransmissionPlan, allocate, decode, encode
from symcodec.codec.allocation import rate_curves
from symcodec.codec.sensitivity import MeasuredLoss, calibration_loss, diagonal_fisher
from symcodec.constrain import train_symmetric
from symcodec.data import load_dataset
from symcodec.errors import SymcodecError
from symcodec.symmetry import get_symmetry
from symcodec.training import TrainConfig

SYMMETRY = "central-skew"


def small_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 49, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


@pytest.fixture(scope="module")
def trained():
    """A small central-skew net trained 300 steps on mnist-5k, and 512 training images."""
    torch.set_num_threads(1)
    data = load_dataset("mnist-5k")
    torch.manual_seed(0)
    net = small_net()
    config = TrainConfig(epochs=1, batch_size=64, lr=3e-3, max_steps=300)
    train_symmetric(net, SYMMETRY, data.train_x, data.train_y, config)
    state = {k: v.detach() for k, v in net.state_dict().items()}
    return net, state, (data.train_x[:512], data.train_y[:512])


def base_plan(state) -> TransmissionPlan:
    return TransmissionPlan.default(state, symmetry=SYMMETRY, coder="ans", step=0.01)


@pytest.fixture(scope="module")
def curves(trained):
    """The sensitivity measurement allocate makes, once for the budgets of these tests."""
    net, state, calibration = trained
    plan = base_plan(state)
    fisher = diagonal_fisher(net, state, plan, calibration)
    return rate_curves(state, plan, fisher, MeasuredLoss.of(net, state, plan, calibration))


def test_allocate_measures_what_the_given_curves_hold(trained, curves):
    net, state, calibration = trained
    fresh = allocate(net, base_plan(state), calibration=calibration, budget_bytes=12_000)
    reused = allocate(
        net, base_plan(state), calibration=calibration, budget_bytes=12_000, curves=curves
    )
    assert fresh.tensors == reused.tensors and fresh.notes == reused.notes


@pytest.mark.parametrize("step", [2.0**-4, 2.0**-5])
def test_equal_bytes_give_a_lower_calibration_loss_than_one_step_for_all(trained, curves, step):
    net, state, calibration = trained
    uniform = encode(
        state, TransmissionPlan.default(state, symmetry=SYMMETRY, coder="ans", step=step)
    )
    plan = allocate(
        net, base_plan(state), calibration=calibration, budget_bytes=len(uniform), curves=curves
    )
    allocated = encode(state, plan)
    assert len(allocated) <= len(uniform)
    assert len({plan[k].step for k in state}) > 1  # really per tensor
    loss_uniform = calibration_loss(net, decode(uniform), calibration)
    loss_allocated = calibration_loss(net, decode(allocated), calibration)
    assert loss_allocated < loss_uniform


@pytest.mark.parametrize("budget", [9_000, 20_000])
def test_the_stream_never_exceeds_the_budget(trained, budget):
    net, state, calibration = trained
    plan = allocate(
        state, base_plan(state), calibration=calibration, budget_bytes=budget, model=net
    )
    assert len(encode(state, plan)) <= budget
    assert plan.notes[-1].startswith(f"allocation: budget {budget:,} bytes")
    received = decode(encode(state, plan))
    sym = get_symmetry(SYMMETRY)
    assert all(sym.is_symmetric(received[k]) for k in state if plan[k].mode == "dof")


def test_a_budget_too_small_is_one_line(trained, curves):
    net, state, calibration = trained
    with pytest.raises(SymcodecError, match=r"below the smallest stream") as info:
        allocate(net, base_plan(state), calibration, budget_bytes=100, curves=curves)
    assert "\n" not in str(info.value)


def test_budget_and_accuracy_target_exclude_each_other(trained):
    net, state, calibration = trained
    with pytest.raises(SymcodecError, match="exactly one"):
        allocate(net, base_plan(state), calibration=calibration)


def test_an_accuracy_target_is_met_on_the_calibration_images(trained, curves):
    net, state, calibration = trained
    plan = allocate(net, base_plan(state), calibration, max_accuracy_drop_pp=1.0, curves=curves)
    x, y = calibration
    with torch.no_grad():
        reference = (net(x).argmax(1) == y).float().mean().item() * 100
        net_received = small_net()
        net_received.load_state_dict(decode(encode(state, plan)))
        received = (net_received(x).argmax(1) == y).float().mean().item() * 100
    assert received >= reference - 1.0


def test_dof_fisher_collects_the_whole_orbit():
    # a conv whose loss is linear in the kernel: the per-image gradient of a coefficient is
    # the signed sum of the gradients of its orbit's positions (noise moves all copies)
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False), nn.Flatten())
    with torch.no_grad():
        net[0].weight.copy_(get_symmetry(SYMMETRY).project(torch.randn(1, 1, 3, 3)))
    x = torch.randn(6, 1, 3, 3)

    def loss(logits, labels):  # the output itself: d loss / d w = the input patch
        return logits.sum()

    state = net.state_dict()
    dof_plan = TransmissionPlan.default(state, symmetry=SYMMETRY, bits=8)
    full_plan = TransmissionPlan.default(state, bits=8)
    labels = torch.zeros(6, dtype=torch.long)
    f_dof = diagonal_fisher(net, state, dof_plan, (x, labels), loss=loss)["0.weight"]
    f_full = diagonal_fisher(net, state, full_plan, (x, labels), loss=loss)["0.weight"]
    sym = get_symmetry(SYMMETRY)
    coefficient_grads = sym.gather(x[:, 0]) * 2  # signed orbit sums = 2 x signed means
    assert f_dof.shape == (1, 1, sym.dof(3))
    assert torch.allclose(f_dof[0, 0], coefficient_grads.square().mean(0), atol=1e-5)
    assert torch.allclose(f_full[0, 0], x[:, 0].square().mean(0), atol=1e-5)


def test_pruned_tensors_are_refused(trained):
    net, state, calibration = trained
    plan = TransmissionPlan.pruned(state, SYMMETRY, bits=8)
    with pytest.raises(SymcodecError, match="pruned"):
        allocate(net, plan, calibration=calibration, budget_bytes=50_000)
