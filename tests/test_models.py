"""Reference models: shapes, parameter counts worked out by hand, summaries, registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symcodec.errors import SymcodecError
from symcodec.models import (
    build_model,
    default_input_shape,
    format_summary,
    model_names,
    model_summary,
)


def conv3x3(cin: int, cout: int) -> int:
    return cin * cout * 9 + cout


def linear(fin: int, fout: int) -> int:
    return fin * fout + fout


def widths(name: str) -> tuple[int, int, int, int]:
    return (48, 48, 96, 96) if name.endswith("-wide") else (32, 32, 64, 64)


def trunk(cin: int, w: tuple[int, int, int, int] = (32, 32, 64, 64)) -> int:
    c1, c2, c3, c4 = w
    return conv3x3(cin, c1) + conv3x3(c1, c2) + conv3x3(c2, c3) + conv3x3(c3, c4)


def trunk_kernels(cin: int, w: tuple[int, int, int, int] = (32, 32, 64, 64)) -> int:
    c1, c2, c3, c4 = w
    return 9 * (cin * c1 + c1 * c2 + c2 * c3 + c3 * c4)


def expected_params(name: str, k: int) -> int:
    cin, side = (3, 32) if name.endswith("cifar") else (1, 28)
    w = widths(name)
    channels = sum(w)  # 192, or 288 wide: the conv biases, or each BN's gamma and beta
    if "-bn" in name:  # convs without bias, each followed by BN (gamma and beta)
        return trunk(cin, w) - channels + 2 * channels + linear(w[3], k)
    if "gap" in name:
        return trunk(cin, w) + linear(w[3], k)
    return trunk(cin) + linear(64 * (side // 4) ** 2, 128) + linear(128, k)


def test_names():
    assert model_names() == [
        "deepcnn",
        "deepcnn-gap",
        "deepcnn-gap-bn",
        "deepcnn-gap-wide",
        "deepcnn-gap-bn-wide",
        "deepcnn-cifar",
        "deepcnn-gap-cifar",
    ]
    assert default_input_shape("deepcnn") == (1, 28, 28)
    assert default_input_shape("deepcnn-gap-cifar") == (3, 32, 32)


def test_deepcnn_is_the_studys_467818():
    # 320 + 9,248 + 18,496 + 36,928 (conv) + 401,536 (3136 -> 128) + 1,290 (128 -> 10)
    assert 320 + 9248 + 18496 + 36928 + 401536 + 1290 == 467818
    model = build_model("deepcnn")
    assert sum(p.numel() for p in model.parameters()) == 467818


@pytest.mark.parametrize("name", model_names())
@pytest.mark.parametrize("k", [10, 3])
def test_forward_and_param_counts(name, k):
    model = build_model(name, num_classes=k)
    assert isinstance(model, nn.Module)
    c, h, w = default_input_shape(name)
    out = model(torch.randn(2, c, h, w))
    assert out.shape == (2, k) and out.dtype == torch.float32
    assert sum(p.numel() for p in model.parameters()) == expected_params(name, k)
    summary = model_summary(model)
    assert summary.total_params == expected_params(name, k)
    assert summary.conv_kernel_params == trunk_kernels(c, widths(name))
    assert 0 < summary.conv_share < 1
    assert summary.conv_share == pytest.approx(
        trunk_kernels(c, widths(name)) / expected_params(name, k)
    )
    assert summary.other_params == summary.total_params - summary.conv_kernel_params


def test_known_totals():
    assert expected_params("deepcnn-gap", 10) == 65642
    assert expected_params("deepcnn-gap-bn", 10) == 65834
    assert expected_params("deepcnn-cifar", 10) == 591274
    assert expected_params("deepcnn-gap-cifar", 10) == 66218
    s = model_summary(build_model("deepcnn"))
    assert (s.total_params, s.conv_kernel_params) == (467818, 64800)
    assert round(100 * s.conv_share, 2) == 13.85


def test_state_dict_keys_are_readable():
    keys = set(build_model("deepcnn").state_dict())
    expected = {f"conv{i}.{p}" for i in range(1, 5) for p in ("weight", "bias")}
    assert keys == expected | {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    keys = set(build_model("deepcnn-gap").state_dict())
    assert keys == expected | {"head.weight", "head.bias"}


def test_rows():
    s = model_summary(build_model("deepcnn"))
    assert [r.name for r in s.rows] == ["conv1", "conv2", "conv3", "conv4", "fc1", "fc2"]
    assert [r.kind for r in s.rows[:5]] == ["Conv2d"] * 4 + ["Linear"]
    assert s.rows[1].weight_shape == (32, 32, 3, 3)
    assert s.rows[1].params == 9248 and s.rows[1].conv_kernel_params == 9216
    assert s.rows[4].weight_shape == (128, 3136) and s.rows[4].conv_kernel_params == 0
    assert sum(r.params for r in s.rows) == s.total_params


@pytest.mark.parametrize("size", [32, 20])
def test_in_channels_and_image_size(size):
    model = build_model("deepcnn", in_channels=2, image_size=size, num_classes=4)
    assert model(torch.zeros(1, 2, size, size)).shape == (1, 4)
    assert model.fc1.in_features == 64 * (size // 4) ** 2
    gap = build_model("deepcnn-gap", in_channels=3)
    assert gap(torch.zeros(1, 3, 17, 23)).shape == (1, 10)


def test_shared_parameters_counted_once():
    conv = nn.Conv2d(2, 2, 3)
    model = nn.Sequential(conv, nn.ReLU(), conv)
    s = model_summary(model)
    assert s.total_params == 2 * 2 * 9 + 2 and s.conv_kernel_params == 36
    assert len(s.rows) == 1


def test_no_parameters():
    s = model_summary(nn.ReLU())
    assert (s.total_params, s.conv_kernel_params, s.conv_share, s.rows) == (0, 0, 0.0, ())


def test_format_summary_states_the_bound():
    text = format_summary(model_summary(build_model("deepcnn")))
    assert "conv1" in text and "fc2" in text and "467818" in text
    last = text.splitlines()[-1]
    assert "64,800 of 467,818" in last and "13.85%" in last
    assert "at most 13.85%" in last and "DoF codec" in last


def test_unknown_model():
    with pytest.raises(SymcodecError) as info:
        build_model("resnet50")
    msg = str(info.value)
    assert "resnet50" in msg and "\n" not in msg
    for name in model_names():
        assert name in msg


@pytest.mark.parametrize(
    "kwargs", [{"num_classes": 1}, {"num_classes": 2.0}, {"in_channels": 0}, {"image_size": 3}]
)
def test_bad_arguments(kwargs):
    with pytest.raises(SymcodecError):
        build_model("deepcnn", **kwargs)


def test_plain_model_name_and_folded_weights_rebuild_as_the_plain_model():
    from symcodec.models import model_from_weights, plain_model_name

    assert plain_model_name("deepcnn-gap-bn") == "deepcnn-gap"
    assert plain_model_name("deepcnn") == "deepcnn"
    bn = build_model("deepcnn-gap-bn")
    # weights with batch-norm buffers rebuild the batch-norm model ...
    assert type(model_from_weights(bn.state_dict(), {"model": "deepcnn-gap-bn"})) is type(bn)
    # ... and plain conv weights (folded) the plain one, whichever name the file carries
    plain = build_model("deepcnn-gap").state_dict()
    for name in ("deepcnn-gap-bn", "deepcnn-gap"):
        assert type(model_from_weights(plain, {"model": name})).__name__ == "DeepCNNGAP"
    with pytest.raises(SymcodecError, match="do not fit"):
        model_from_weights(plain, {"model": "deepcnn"})
