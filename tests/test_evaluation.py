"""Batched evaluation of many state dicts equals one-at-a-time ``training.evaluate``."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrize

from symcodec.data import load_dataset
from symcodec.errors import SymcodecError
from symcodec.evaluation import count_correct_many, evaluate_many, evaluate_one, state_digest
from symcodec.models import build_model
from symcodec.training import evaluate, seeded

# Float32 rounding differs between kernels (batch size, memory format), so a prediction may
# legitimately change where the two largest logits are this close (relative to the logits).
NEAR_TIE = 1e-5


def small_cnn(seed: int, width: int = 4, classes: int = 3) -> nn.Module:
    with seeded(seed):
        return nn.Sequential(
            nn.Conv2d(2, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(width * 3 * 3, classes),
        )


def small_mlp(seed: int, classes: int = 3) -> nn.Module:
    with seeded(seed):
        return nn.Sequential(nn.Flatten(), nn.Linear(72, 16), nn.Tanh(), nn.Linear(16, classes))


def data(n: int, seed: int, classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, 6, 6, generator=g), torch.randint(0, classes, (n,), generator=g)


def one_at_a_time(template: nn.Module, states, x, y, batch_size: int = 1000) -> list[float]:
    out = []
    for state in states:
        model = copy.deepcopy(template)
        model.load_state_dict(state)
        out.append(evaluate(model, x, y, batch_size=batch_size))
    return out


def assert_matches(template: nn.Module, states, x, y, got: list[float]) -> None:
    """``got`` equals one-at-a-time evaluation; a difference is allowed only for near-ties."""
    want = one_at_a_time(template, states, x, y)
    assert len(got) == len(want)
    for state, a, b in zip(states, got, want, strict=True):
        if a == b:
            continue
        model = copy.deepcopy(template).eval()
        model.load_state_dict(state)
        with torch.no_grad():
            logits = model(x)
        top = logits.topk(2, dim=1).values
        scale = logits.abs().amax(dim=1).clamp_min(1.0)
        ties = int(((top[:, 0] - top[:, 1]) <= NEAR_TIE * scale).sum())
        assert abs(a - b) * x.shape[0] / 100 <= ties + 1e-9, (a, b, ties)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_models=st.integers(0, 7),
    n=st.integers(1, 40),
    batch_size=st.integers(1, 17),
    models_per_pass=st.integers(1, 5),
    mlp=st.booleans(),
    channels_last=st.sampled_from([None, True, False]),
)
def test_random_small_models_match_one_at_a_time(
    seed, n_models, n, batch_size, models_per_pass, mlp, channels_last
):
    make = small_mlp if mlp else small_cnn
    template = make(seed)
    states = [make(seed + 1 + i).state_dict() for i in range(n_models)]
    x, y = data(n, seed)
    got = evaluate_many(
        template,
        states,
        x,
        y,
        batch_size=batch_size,
        models_per_pass=models_per_pass,
        channels_last=channels_last,
    )
    assert_matches(template, states, x, y, got)


def test_same_kernels_as_evaluate_are_bit_identical():
    template = small_cnn(0)
    states = [small_cnn(i).state_dict() for i in range(1, 6)]
    x, y = data(300, 1)
    for bs in (1000, 64):
        got = evaluate_many(template, states, x, y, batch_size=bs, channels_last=False)
        assert got == one_at_a_time(template, states, x, y, batch_size=bs)


@pytest.fixture(scope="module")
def mnist_slice() -> tuple[torch.Tensor, torch.Tensor]:
    ds = load_dataset("mnist-5k")
    return ds.test_x[:300], ds.test_y[:300]


def test_deepcnn_random_weights_on_mnist_5k(mnist_slice):
    x, y = mnist_slice
    x, y = x[:200], y[:200]
    template = build_model("deepcnn")
    states = []
    for i in range(10):  # 10 models, 4 per pass: the last group has 2
        with seeded(100 + i):
            states.append(build_model("deepcnn").state_dict())
    got = evaluate_many(template, states, x, y, batch_size=64, models_per_pass=4)
    assert_matches(template, states, x, y, got)
    assert len(set(got)) > 1  # the models really differ
    counts = count_correct_many(template, states[:3], x, y, batch_size=64, models_per_pass=2)
    assert got[:3] == [100.0 * c / x.shape[0] for c in counts]


def test_deepcnn_gap_noisy_copies(mnist_slice):
    x, y = mnist_slice
    with seeded(5):
        template = build_model("deepcnn-gap")
    g = torch.Generator().manual_seed(0)
    states = [
        {k: v + 0.05 * torch.randn(v.shape, generator=g) for k, v in template.state_dict().items()}
        for _ in range(5)
    ]
    got = evaluate_many(template, states, x, y, batch_size=50, models_per_pass=2)
    assert_matches(template, states, x, y, got)


def test_number_of_models_not_divisible_by_chunk_and_order_kept():
    template = small_cnn(0)
    states = [small_cnn(i).state_dict() for i in range(1, 8)]
    x, y = data(150, 2)
    want = evaluate_many(template, states, x, y, models_per_pass=1, batch_size=150)
    for per_pass in (2, 3, 5, 7, 100):
        got = evaluate_many(template, states, x, y, models_per_pass=per_pass, batch_size=64)
        assert got == want
    # each model's result does not depend on its neighbours
    assert evaluate_many(template, states[::-1], x, y, models_per_pass=3) == want[::-1]


def test_empty_inputs():
    template = small_cnn(0)
    x, y = data(10, 0)
    assert evaluate_many(template, [], x, y) == []
    assert count_correct_many(template, [], x, y) == []
    states = [small_cnn(1).state_dict()] * 2
    assert evaluate_many(template, states, x[:0], y[:0]) == [0.0, 0.0]


def test_evaluate_one_matches_evaluate():
    template = small_cnn(0)
    state = small_cnn(3).state_dict()
    x, y = data(77, 4)
    assert (
        evaluate_one(template, state, x, y, batch_size=1000, channels_last=False)
        == (one_at_a_time(template, [state], x, y)[0])
    )
    assert evaluate_one(template, state, x, y) == evaluate_many(template, [state], x, y)[0]


def test_template_is_left_alone():
    template = small_cnn(0).train()
    before = {k: v.clone() for k, v in template.state_dict().items()}
    x, y = data(20, 0)
    evaluate_many(template, [small_cnn(1).state_dict()], x, y)
    assert template.training
    for k, v in template.state_dict().items():
        assert torch.equal(v, before[k])
        assert v.is_contiguous()


class _Symmetric(nn.Module):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return (w + w.transpose(-1, -2)) / 2


def test_parametrized_template_rebuilds_weights_per_model():
    def make(seed: int) -> nn.Module:
        model = small_cnn(seed)
        parametrize.register_parametrization(model[3], "weight", _Symmetric())
        return model

    template = make(0)
    states = [make(i).state_dict() for i in range(1, 6)]
    x, y = data(60, 3)
    got = evaluate_many(template, states, x, y, models_per_pass=2, batch_size=25)
    assert_matches(template, states, x, y, got)


def test_mismatched_state_dict_raises():
    template = small_cnn(0)
    good = small_cnn(1).state_dict()
    x, y = data(10, 0)
    missing = {k: v for k, v in good.items() if k != "6.bias"}
    extra = {**good, "7.weight": torch.zeros(1)}
    wrong_shape = {**good, "6.weight": torch.zeros(3, 5)}
    not_tensor = {**good, "6.bias": [0.0, 0.0, 0.0]}
    other_arch = small_mlp(0).state_dict()
    for bad, match in (
        (missing, "missing 6.bias"),
        (extra, "unexpected 7.weight"),
        (wrong_shape, "6.weight has shape"),
        (not_tensor, "not a tensor"),
        (other_arch, "does not fit"),
        ([1, 2], "expected a mapping"),
    ):
        with pytest.raises(SymcodecError, match=match):
            evaluate_many(template, [good, good, bad], x, y, models_per_pass=2)
    with pytest.raises(SymcodecError, match="state dict 0"):
        evaluate_one(template, missing, x, y)


def test_bad_arguments_raise():
    template = small_cnn(0)
    states = [small_cnn(1).state_dict()]
    x, y = data(10, 0)
    with pytest.raises(SymcodecError, match="batch_size"):
        evaluate_many(template, states, x, y, batch_size=0)
    with pytest.raises(SymcodecError, match="models_per_pass"):
        evaluate_many(template, states, x, y, models_per_pass=0)
    with pytest.raises(SymcodecError, match="labels"):
        evaluate_many(template, states, x, y[:5])
    with pytest.raises(SymcodecError, match="integer"):
        evaluate_many(template, states, x, y.float())
    with pytest.raises(SymcodecError, match="channels_last"):
        mlp_states = [small_mlp(1).state_dict()]
        evaluate_many(small_mlp(0), mlp_states, x.flatten(1), y, channels_last=True)


def test_int32_labels_accepted():
    template = small_cnn(0)
    states = [small_cnn(1).state_dict()]
    x, y = data(30, 0)
    assert evaluate_many(template, states, x, y.int()) == evaluate_many(template, states, x, y)


def test_identical_state_dicts_run_once_and_share_their_score():
    template = small_cnn(0)
    a, b = small_cnn(1).state_dict(), small_cnn(2).state_dict()
    a_copy = {k: v.clone() for k, v in a.items()}  # equal bytes, another object
    x, y = data(50, 2)
    forwards = []
    template.register_forward_hook(lambda *_: forwards.append(1))  # deep copies keep it
    got = evaluate_many(template, [a, b, a_copy, a, b], x, y, batch_size=50)
    assert len(forwards) == 2  # one pass of 50 inputs per distinct state dict
    forwards.clear()
    want = evaluate_many(template, [a, b], x, y, batch_size=50)
    assert got == [want[0], want[1], want[0], want[0], want[1]]
    # one changed value is another model
    a_copy["0.weight"][0, 0, 0, 0] += 1e-6
    forwards.clear()
    evaluate_many(template, [a, a_copy], x, y, batch_size=50)
    assert len(forwards) == 2


def test_state_digest_tells_dtype_shape_and_name_apart():
    z = torch.zeros(4)
    digests = {
        state_digest(sd)
        for sd in (
            {"w": z},
            {"v": z},
            {"w": z.double()},
            {"w": z.reshape(2, 2)},
            {"w": z, "n": torch.tensor(0)},
        )
    }
    assert len(digests) == 5
    assert state_digest({"w": z, "n": torch.tensor(0)}) == state_digest(
        {"n": torch.tensor(0), "w": z.clone()}
    )
