"""Rate–distortion-optimised rounding (``TensorPlan.rdo_lambda``, :mod:`symcodec.codec.rdo`):
an encoder choice of levels that decodes with the unchanged version-1 decoder."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symcodec import SymcodecError
from symcodec.codec import TensorPlan, TransmissionPlan, decode, encode
from symcodec.codec.format import decode_stream
from symcodec.codec.rdo import code_lengths_bits, rdo_levels


def conv_model(seed: int = 0, scale: float = 0.05) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    w = torch.from_numpy(rng.laplace(0.0, scale, (64, 32, 3, 3)).astype(np.float32))
    return {"conv.weight": w, "conv.bias": torch.from_numpy(rng.normal(0.0, scale, 64))}


def test_zero_lagrangian_is_plain_rounding_bit_for_bit():
    sd = conv_model()
    plain = TransmissionPlan.default(sd, symmetry="central-skew", step=0.02, coder="ans")
    rdo0 = TransmissionPlan.default(
        sd, symmetry="central-skew", step=0.02, coder="ans", rdo_lambda=0.0
    )
    assert encode(sd, plain) == encode(sd, rdo0)


def test_rdo_levels_are_a_neighbour_of_the_value_inside_the_plain_range():
    rng = np.random.default_rng(1)
    x = rng.laplace(0.0, 3.0, 4000)
    plain = rdo_levels(x, 1.0, 0.0)
    levels = rdo_levels(x, 1.0, 0.3)
    assert set(np.unique(levels - np.floor(x)).tolist()) <= {0, 1}
    assert plain.min() <= levels.min() and levels.max() <= plain.max()
    assert (levels != plain).any()  # the rate term moved some values


def test_rdo_trades_squared_error_for_bits_on_a_laplacian():
    """On Laplacian weights at a coarse step, RDO sends a clearly smaller stream than plain
    rounding at the same step, for a larger but bounded error."""
    sd = conv_model(seed=3)
    sizes, errors = {}, {}
    for label, lam in (("plain", 0.0), ("rdo", 0.25)):
        plan = TransmissionPlan.default(
            sd, symmetry="central-skew", step=0.05, coder="ans", rdo_lambda=lam
        )
        blob = encode(sd, plan)
        sizes[label] = len(blob)
        w = sd["conv.weight"]
        sym = plan["conv.weight"].symmetry
        errors[label] = float(((decode(blob)["conv.weight"] - sym.project(w)) ** 2).sum())
    assert sizes["rdo"] < 0.95 * sizes["plain"]
    assert errors["rdo"] > errors["plain"]  # it is lossy: the trade is real
    # never worse than one step per coefficient
    assert errors["rdo"] < sd["conv.weight"].numel() * 0.05**2


def test_code_lengths_of_a_histogram_leave_unused_levels_infinite():
    bits = code_lengths_bits(np.array([-1] * 60 + [1] * 60), -1, 3)
    assert bits[0] == pytest.approx(1.0, abs=0.05) and bits[1] > 10


@pytest.mark.parametrize(
    "options, message",
    [
        ({"rdo_lambda": 0.1}, "needs a step"),
        ({"rdo_lambda": 0.1, "step": 0.1}, "coder 'ans'"),
        ({"rdo_lambda": -0.1, "step": 0.1, "coder": "ans"}, ">= 0"),
        ({"rdo_lambda": float("nan"), "step": 0.1, "coder": "ans"}, ">= 0"),
        ({"rdo_lambda": True, "step": 0.1, "coder": "ans"}, "must be a number"),
    ],
)
def test_plan_refuses_bad_rdo_settings(options, message):
    with pytest.raises(SymcodecError, match=message):
        TensorPlan(**options)


def test_default_plan_gives_rdo_to_float_tensors_only():
    sd = {"conv.weight": torch.randn(4, 2, 3, 3), "steps": torch.tensor(3)}
    plan = TransmissionPlan.default(
        sd, symmetry="central-skew", step=0.1, coder="ans", rdo_lambda=0.2
    )
    assert plan["conv.weight"].rdo_lambda == 0.2 and plan["steps"].rdo_lambda == 0.0
    assert torch.equal(decode(encode(sd, plan))["steps"], sd["steps"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    out_channels=st.integers(1, 12),
    scale=st.floats(1e-3, 1.0),
    step_log2=st.integers(-10, 0),
    lam=st.floats(0.0, 2.0),
    dead_zone=st.sampled_from([0.0, 0.2]),
    mode=st.sampled_from(["dof", "full"]),
    chunk_values=st.sampled_from([7, 64, 16384]),
)
def test_rdo_round_trip(seed, out_channels, scale, step_log2, lam, dead_zone, mode, chunk_values):
    """Every RDO stream decodes, strictly, to levels * step with each level one of the two
    neighbours of the value sent (so within one step of it), and the header validates."""
    g = torch.Generator().manual_seed(seed)
    sd = {
        "conv.weight": torch.randn(out_channels, 3, 3, 3, generator=g) * scale,
        "fc.weight": torch.randn(5, out_channels, generator=g) * scale,
    }
    step = 2.0**step_log2
    plan = TransmissionPlan.default(
        sd,
        symmetry="central-skew",
        mode=mode,
        step=step,
        coder="ans",
        rdo_lambda=lam,
        dead_zone=dead_zone,
        chunk_values=chunk_values,
    )
    blob = encode(sd, plan)
    header, decoded = decode_stream(blob, strict=True)
    from symcodec.codec.wire import transmitted_values

    for item in decoded:
        sent = transmitted_values(sd[item.record.name], plan[item.record.name]).reshape(-1)
        got = item.values.reshape(-1).double()
        levels = torch.round(got / step)
        assert torch.equal(levels * step, got)  # on the grid
        assert bool(((sent.double() - got).abs() <= step * (1 + 1e-6)).all())
    out = decode(blob)
    assert set(out) == set(sd)
