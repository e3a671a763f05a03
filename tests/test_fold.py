"""Folding batch norm into the convs: same outputs, exact symmetry kept, a plain model sent."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from symcodec.cli import main
from symcodec.constrain import symmetrize, unsymmetrize
from symcodec.fold import fold_batch_norm, fold_conv_bn
from symcodec.models import DeepCNNGAP, build_model, model_from_weights
from symcodec.symmetry import get_symmetry, symmetry_names
from symcodec.training import seeded


def bn_model_with_statistics(
    seed: int = 0, symmetry: str | None = None, name: str = "deepcnn-gap-bn"
) -> nn.Module:
    """A deepcnn-gap-bn (or ``name``) with non-trivial BN statistics and affine parameters
    (some gammas negative), optionally symmetrized, in eval mode."""
    with seeded(seed):
        model = build_model(name)
    if symmetry is not None:
        symmetrize(model, symmetry)
    g = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(3):  # running statistics from real forward passes
            model(torch.randn(16, 1, 28, 28, generator=g) * 2 + 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model.eval()


@pytest.mark.parametrize("name", ["deepcnn-gap-bn", "deepcnn-gap-bn-wide"])
def test_folded_model_has_the_same_outputs_in_eval_mode(name):
    model = bn_model_with_statistics(name=name)
    folded = fold_batch_norm(model)
    assert isinstance(folded, DeepCNNGAP) and not folded.training
    assert folded.widths == model.widths
    assert not any("bn" in key or "running" in key for key in folded.state_dict())
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = model(x), folded(x)
    assert torch.allclose(got, expected, atol=1e-5, rtol=0), (got - expected).abs().max()
    # the original model is left alone
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_fold_conv_bn_matches_the_formula():
    conv, bn = nn.Conv2d(2, 3, 3, bias=True), nn.BatchNorm2d(3, eps=1e-3)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0]))
        bn.weight.copy_(torch.tensor([1.0, -2.0, 0.5]))
        bn.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    w, b = fold_conv_bn(conv, bn)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    assert torch.allclose(w, conv.weight * scale.view(-1, 1, 1, 1))
    assert torch.allclose(b, (conv.bias - bn.running_mean) * scale + bn.bias)


@pytest.mark.parametrize("name", [s for s in symmetry_names() if s != "none"])
def test_a_symmetric_kernel_stays_exactly_symmetric_after_folding(name):
    sym = get_symmetry(name)
    model = bn_model_with_statistics(seed=2, symmetry=name)
    folded = fold_batch_norm(model)
    kernels = {k: v for k, v in folded.state_dict().items() if v.dim() == 4}
    assert len(kernels) == 4
    for key, weight in kernels.items():
        assert sym.is_symmetric(weight), key
        assert weight.abs().sum() > 0, key  # not trivially zero
    # folding the unsymmetrized (plain, exactly symmetric) model gives the same kernels
    again = fold_batch_norm(unsymmetrize(model))
    for key, weight in again.state_dict().items():
        assert torch.equal(weight, folded.state_dict()[key]), key


def test_a_model_without_batch_norm_is_returned_as_is():
    model = build_model("deepcnn-gap")
    assert fold_batch_norm(model) is model


@pytest.mark.parametrize(
    "names", [("deepcnn-gap", "deepcnn-gap-bn"), ("deepcnn-gap-wide", "deepcnn-gap-bn-wide")]
)
def test_folded_weights_rebuild_from_the_file_metadata(names):
    folded = fold_batch_norm(bn_model_with_statistics(name=names[1]))
    for name in names:
        rebuilt = model_from_weights(folded.state_dict(), {"model": name})
        x = torch.randn(2, 1, 28, 28)
        with torch.no_grad():
            assert torch.equal(rebuilt.eval()(x), folded(x))


def test_train_saves_the_batch_norm_model_folded(tmp_path):
    out = tmp_path / "bn.safetensors"
    args = ["train", "--model", "deepcnn-gap-bn", "--symmetry", "central-skew"]
    args += ["--max-steps", "6", "--batch-size", "32", "--no-progress", "-o", str(out)]
    assert main(args) == 0
    sd = load_file(str(out))
    assert not any("bn" in key for key in sd)
    assert {f"conv{i}.bias" for i in range(1, 5)} <= set(sd)
    sym = get_symmetry("central-skew")
    assert all(sym.is_symmetric(v) for v in sd.values() if v.dim() == 4)
    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
    assert meta["model"] == "deepcnn-gap" and meta["trained_as"] == "deepcnn-gap-bn"
    assert type(model_from_weights(sd, meta)).__name__ == "DeepCNNGAP"


def test_the_study_gets_the_folded_model_and_prunes_it(tmp_path, monkeypatch):
    from symcodec.data import load_dataset
    from symcodec.study import parse_study
    from symcodec.study.model_cache import pruned_model, trained_model

    monkeypatch.setenv("SYMCODEC_CACHE", str(tmp_path))
    spec = parse_study(
        {
            "name": "bn",
            "model": "deepcnn-gap-bn",
            "training": {"epochs": 1, "prune_finetune_epochs": 1, "batch_size": 32, "max_steps": 2},
        }
    )
    data = load_dataset("mnist-5k")
    quiet = lambda message: None  # noqa: E731
    base, info = trained_model(spec, data, "central", log=quiet)
    assert isinstance(base, DeepCNNGAP) and info["cached"] == "no"
    assert get_symmetry("central").is_symmetric(base.conv2.weight.detach())
    again, info = trained_model(spec, data, "central", log=quiet)
    assert info["cached"] == "yes"
    expected = base.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in again.state_dict().items())
    other_seed, info = trained_model(spec, data, "central", train_seed=1, log=quiet)
    assert info["cached"] == "no" and info["seed"] == "1"
    assert not torch.equal(other_seed.conv2.weight, base.conv2.weight)
    # the pruning baseline starts from the folded (plain) reference and keeps the DoF count
    reference, _ = trained_model(spec, data, "none", log=quiet)
    pruned = pruned_model(spec, data, reference, "central", "layer", log=quiet)
    assert isinstance(pruned, DeepCNNGAP)
    conv2 = pruned.conv2.weight.detach()
    assert int(torch.count_nonzero(conv2)) == get_symmetry("central").dof(3) * 32 * 32
    assert not torch.equal(conv2, reference.conv2.weight.detach())
