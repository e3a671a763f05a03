"""Symmetry constraints on models: parametrization, projection, distance (SPEC section 2)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from symcodec import SymcodecError
from symcodec.constrain import (
    DofKernel,
    constrained_layers,
    distance,
    finetune,
    project,
    symmetric_layers,
    symmetrize,
    unsymmetrize,
)
from symcodec.symmetry import get_symmetry
from symcodec.training import TrainConfig, seeded

SYMMETRIES = ["central-skew", "central", "hflip-skew", "transpose-skew", "d4", "c4", "d2", "none"]


class SmallNet(nn.Module):
    """Plain, grouped, depthwise, 1x1, 5x5 and rectangular convs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 8, 3, padding=1)
        self.block = nn.Sequential(
            nn.Conv2d(8, 8, 3, padding=1, groups=4),  # grouped
            nn.ReLU(),
            nn.Conv2d(8, 8, 5, padding=2, groups=8, bias=False),  # depthwise 5x5
        )
        self.point = nn.Conv2d(8, 6, 1)  # 1x1: DoF 0 for skew symmetries
        self.rect = nn.Conv2d(6, 4, (3, 5), padding=(1, 2))  # not square
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.block(x))
        x = F.relu(self.point(x))
        x = F.relu(self.rect(x))
        return self.fc(x.flatten(1))


def make_net(seed: int = 0) -> SmallNet:
    with seeded(seed):
        return SmallNet()


def exactly_symmetric(sym, w: torch.Tensor) -> bool:
    """w[g(p)] == chi(g) w[p] bit for bit: rebuild from the representatives and compare."""
    layout = sym.layout(tuple(w.shape[-2:]))
    reps = torch.tensor(layout.representatives)
    coefficients = w.detach().flatten(-2).index_select(-1, reps)
    return torch.equal(sym.scatter(coefficients, layout.kernel_shape), w.detach())


def conv_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: m.weight.detach().clone()
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d)
    }


def random_batch(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, 6, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("name", SYMMETRIES)
def test_optimizer_steps_never_break_symmetry(name):
    sym = get_symmetry(name)
    model = symmetrize(make_net(), name)
    report = model.symcodec_report
    assert report.applied_names  # something is constrained
    opt = torch.optim.Adam(model.parameters(), lr=0.5)  # a large lr: big, uneven steps
    for step in range(5):
        x, y = random_batch(seed=step)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    modules = dict(model.named_modules())
    for layer in report.applied_names:
        w = modules[layer].weight
        assert exactly_symmetric(sym, w), layer
        assert torch.equal(sym.project(w.detach()), w.detach()), layer
    # the coefficients moved: the constraint did not freeze training
    fresh = symmetrize(make_net(), name)
    assert not torch.equal(model.conv1.weight, fresh.conv1.weight)


@pytest.mark.parametrize("name", SYMMETRIES)
def test_trainable_conv_parameters_are_the_degrees_of_freedom(name):
    sym = get_symmetry(name)
    model = symmetrize(make_net(), name)
    expected = 0
    for layer, m in model.named_modules():
        if not isinstance(m, nn.Conv2d):
            continue
        kh, kw = m.kernel_size
        per_kernel = m.in_channels // m.groups * m.out_channels
        if layer in model.symcodec_report.applied_names:
            expected += sym.dof((kh, kw)) * per_kernel
            original = m.parametrizations.weight.original
            assert original.shape == (m.out_channels, m.in_channels // m.groups, sym.dof((kh, kw)))
            assert m.weight.shape == (m.out_channels, m.in_channels // m.groups, kh, kw)
        else:
            expected += kh * kw * per_kernel  # left alone: every value trainable
    conv_params = sum(
        p.numel()
        for n, p in model.named_parameters()
        if p.requires_grad
        and ("weight.original" in n or n.endswith(".weight"))
        and not n.startswith("fc.")
    )
    assert conv_params == expected
    assert model.symcodec_report.dof_count == sum(
        sym.dof(p.kernel_shape) * p.kernels for p in model.symcodec_report.applied
    )


def test_central_skew_counts_on_the_small_net():
    report = symmetric_layers(make_net(), "central-skew")
    # conv1 8*2*4, grouped 8*2*4, depthwise 5x5 8*1*12, rect 3x5 4*6*7
    assert report.applied_names == ["conv1", "block.0", "block.2", "rect"]
    assert report.dof_count == 64 + 64 + 96 + 168
    assert report.skipped == {"point": "central-skew has 0 degrees of freedom on 1x1 kernels"}
    assert get_symmetry("central-skew").dof((3, 5)) == 7


def test_zero_dof_and_unsupported_layers_are_skipped_and_reported():
    model = make_net()
    before = conv_weights(model)
    symmetrize(model, "transpose-skew")
    skipped = model.symcodec_report.skipped
    assert set(skipped) == {"point", "rect"}
    assert "0 degrees of freedom on 1x1" in skipped["point"]
    assert "not defined on 3x5" in skipped["rect"]
    assert set(constrained_layers(model)) == {"conv1", "block.0", "block.2"}
    # skipped layers are plain and untouched
    assert "weight" in model.point._parameters and "weight" in model.rect._parameters
    assert torch.equal(model.point.weight, before["point"])
    assert torch.equal(model.rect.weight, before["rect"])


def test_zero_dof_layer_applied_when_asked():
    model = symmetrize(make_net(), "central-skew", layers=["point"], skip_zero_dof=False)
    assert constrained_layers(model) == {"point": get_symmetry("central-skew")}
    assert model.point.parametrizations.weight.original.shape == (6, 8, 0)
    assert torch.count_nonzero(model.point.weight) == 0
    model(random_batch()[0]).sum().backward()  # still differentiable end to end
    with pytest.raises(SymcodecError, match="not defined on 3x5"):
        symmetrize(make_net(), "d4", layers=["rect"], skip_zero_dof=False)


def test_layer_selection_and_errors():
    model = symmetrize(make_net(), "hflip", layers=["block.2", "conv1"])
    assert model.symcodec_report.applied_names == ["conv1", "block.2"]  # module order
    assert set(constrained_layers(model)) == {"conv1", "block.2"}
    with pytest.raises(SymcodecError, match="no layer named 'conv9'"):
        symmetrize(make_net(), "hflip", layers=["conv9"])
    with pytest.raises(SymcodecError, match="not a Conv2d"):
        symmetrize(make_net(), "hflip", layers=["fc"])
    with pytest.raises(SymcodecError, match="unknown symmetry"):
        symmetrize(make_net(), "nope")
    with pytest.raises(SymcodecError, match="no layer named"):
        project(make_net(), "hflip", layers=["missing"])
    with pytest.raises(SymcodecError, match="no layer named"):
        distance(make_net(), "hflip", layers=["missing"])


def test_symmetrize_twice():
    model = symmetrize(make_net(), "central")
    w = model.conv1.weight.detach().clone()
    symmetrize(model, "central")  # same symmetry: kept as it is
    assert torch.equal(model.conv1.weight, w)
    assert len(model.conv1.parametrizations.weight) == 1
    with pytest.raises(SymcodecError, match="already constrained to central"):
        symmetrize(model, "hflip")


@pytest.mark.parametrize("name", ["central-skew", "central", "hflip", "d4", "c4", "transpose"])
def test_symmetrize_keeps_symmetric_weights_exactly(name):
    model = project(make_net(), name)
    before = conv_weights(model)
    x = random_batch()[0]
    with torch.no_grad():
        out_before = model(x)
    symmetrize(model, name)
    after = conv_weights(model)
    for layer in model.symcodec_report.applied_names:
        assert torch.equal(after[layer], before[layer]), layer  # incl. d4 5x5: orbits of 8
    with torch.no_grad():
        torch.testing.assert_close(model(x), out_before)


def test_symmetrize_projects_a_random_model():
    sym = get_symmetry("central-skew")
    model = make_net()
    expected = {k: sym.project(w) for k, w in conv_weights(model).items()}
    symmetrize(model, sym)
    got = conv_weights(model)
    for layer in model.symcodec_report.applied_names:
        assert torch.equal(got[layer], expected[layer])


def test_unsymmetrize_gives_plain_state_dict_and_same_weights():
    plain_keys = sorted(make_net().state_dict())
    model = symmetrize(make_net(), "central-skew")
    assert "conv1.parametrizations.weight.original" in model.state_dict()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    x, y = random_batch()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    weights = conv_weights(model)
    with torch.no_grad():
        out = model(x)
    unsymmetrize(model)
    assert sorted(model.state_dict()) == plain_keys
    assert not hasattr(model, "symcodec_report")
    assert constrained_layers(model) == {}
    for layer, w in conv_weights(model).items():
        assert torch.equal(w, weights[layer])
        assert isinstance(dict(model.named_modules())[layer].weight, nn.Parameter)
    with torch.no_grad():
        assert torch.equal(model(x), out)
    # the plain state dict loads into a fresh model
    fresh = make_net(seed=5)
    fresh.load_state_dict(model.state_dict())
    assert unsymmetrize(fresh) is fresh  # no-op on a plain model


@pytest.mark.parametrize("name", ["central-skew", "hflip", "d4", "transpose-skew"])
def test_project_is_idempotent_and_alpha_zero_is_identity(name):
    once = project(make_net(), name)
    w1 = conv_weights(once)
    w2 = conv_weights(project(once, name))
    for layer in w1:
        assert torch.equal(w2[layer], w1[layer]), layer
    model = make_net()
    before = conv_weights(model)
    assert project(model, name, alpha=0.0) is model
    assert all(torch.equal(w, before[k]) for k, w in conv_weights(model).items())


def test_partial_projection_matches_the_formula():
    sym = get_symmetry("central-skew")
    model = make_net()
    before = conv_weights(model)
    project(model, sym, alpha=0.3)
    after = conv_weights(model)
    for layer, w in before.items():
        if layer == "point":  # DoF 0: skipped
            assert torch.equal(after[layer], w)
        else:
            torch.testing.assert_close(after[layer], 0.7 * w + 0.3 * sym.project(w))
    # the residual W - P W shrinks by exactly 1 - alpha: d = 0.7 r / sqrt(p^2 + 0.49 r^2)
    d0 = distance(make_net(), sym).overall
    expected = 0.7 * d0 / math.sqrt(1 - d0**2 + 0.49 * d0**2)
    assert distance(model, sym).overall == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan")])
def test_project_rejects_alpha_outside_unit_interval(alpha):
    with pytest.raises(SymcodecError, match="alpha"):
        project(make_net(), "central", alpha=alpha)


def test_project_through_a_parametrization():
    model = symmetrize(make_net(), "hflip")
    project(model, "vflip")  # stored via right_inverse: now in hflip and vflip (= d2)
    d2 = get_symmetry("d2")
    for layer in model.symcodec_report.applied_names:
        w = dict(model.named_modules())[layer].weight
        assert exactly_symmetric(d2, w)


def test_distance_zero_for_symmetric_positive_for_random_and_by_hand():
    sym = get_symmetry("central-skew")
    model = make_net()
    report = distance(model, sym)
    assert set(report.per_layer) == {"conv1", "block.0", "block.2", "rect"}
    assert all(d > 0 for d in report.per_layer.values()) and report.overall > 0
    # by hand: W - P W = (W + rot180(W)) / 2 for central-skew
    weights = conv_weights(model)
    residual2 = norm2 = 0.0
    for layer in report.per_layer:
        w = weights[layer].double()
        r = (w + w.flip(-1, -2)) / 2
        assert report.per_layer[layer] == pytest.approx(float(r.norm() / w.norm()), rel=1e-12)
        residual2 += float((r**2).sum())
        norm2 += float((w**2).sum())
    assert report.overall == pytest.approx(math.sqrt(residual2 / norm2), rel=1e-12)
    # a random kernel is ~ half in V_S for a two-element group
    assert 0.5 < report.overall < 0.9
    project(model, sym)
    assert distance(model, sym).overall == 0.0
    assert distance(symmetrize(make_net(), sym), sym).overall == 0.0
    assert distance(make_net(), sym, layers=["conv1"]).per_layer.keys() == {"conv1"}
    assert distance(nn.Linear(2, 2), sym).overall == 0.0  # no conv layer


def test_grouped_and_depthwise_convs():
    sym = get_symmetry("d4")
    model = symmetrize(make_net(), sym, layers=["block.0", "block.2"])
    grouped = model.block[0].parametrizations.weight.original
    depthwise = model.block[2].parametrizations.weight.original
    assert grouped.shape == (8, 2, 3) and depthwise.shape == (8, 1, 6)
    x, y = random_batch()
    F.cross_entropy(model(x), y).backward()
    assert grouped.grad is not None and grouped.grad.shape == grouped.shape
    assert depthwise.grad.abs().sum() > 0
    # the gradient of the coefficients is the signed sum over each orbit of the kernel grad
    layout = sym.layout(5)
    g = torch.randn_like(model.block[2].weight)
    coeff = depthwise.detach().clone().requires_grad_(True)
    (DofKernel(sym, (5, 5))(coeff) * g).sum().backward()
    signed = g.flatten(-2) * torch.tensor(layout.sign, dtype=g.dtype)
    sums = torch.zeros_like(coeff).index_add_(-1, torch.tensor(layout.source), signed)
    torch.testing.assert_close(coeff.grad, sums)


def test_parametrization_follows_dtype_and_deepcopy():
    import copy

    model = symmetrize(make_net().double(), "central-skew")
    assert model.conv1.weight.dtype == torch.float64
    model.float()
    x = random_batch()[0]
    assert model(x).dtype == torch.float32
    clone = copy.deepcopy(model)
    with torch.no_grad():
        assert torch.equal(clone(x), model(x))
    assert constrained_layers(clone) == constrained_layers(model)


def test_finetune_projects_trains_and_returns_a_plain_model():
    model = make_net()
    x, y = random_batch(64)
    result = finetune(model, "central-skew", x, y, TrainConfig(epochs=2, batch_size=16, lr=1e-2))
    assert result.model is model
    assert result.train.steps == 8 and len(result.train.losses) == 2
    assert result.report.skipped.keys() == {"point"}
    assert constrained_layers(model) == {}
    assert distance(model, "central-skew").overall == 0.0
    assert "conv1.weight" in model.state_dict()
