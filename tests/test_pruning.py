"""The pruning baseline at equal payload (SPEC section 6)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from symcodec import SymcodecError
from symcodec.channel import make_channel
from symcodec.codec import TensorPlan, TransmissionPlan, decode, encode, inspect
from symcodec.codec.pruning import (
    decode_positions,
    encode_positions,
    magnitude_mask,
    position_bits,
)
from symcodec.receiver import transmit
from symcodec.symmetry import get_symmetry


def model(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "conv1.weight": torch.randn(16, 3, 3, 3, generator=g),
        "conv1.bias": torch.randn(16, generator=g),
        "conv2.weight": torch.randn(32, 16, 3, 3, generator=g),
        "pw.weight": torch.randn(32, 32, 1, 1, generator=g),
        "fc.weight": torch.randn(10, 32, generator=g),
    }


@pytest.mark.parametrize("name", ["central-skew", "central", "hflip", "d4"])
def test_pruning_keeps_exactly_the_dof_count_per_layer(name):
    sd = model()
    sym = get_symmetry(name)
    plan = TransmissionPlan.pruned(sd, name, bits=32)
    out = decode(encode(sd, plan))
    acc = {t.name: t for t in inspect(encode(sd, plan)).tensors}
    for key in ("conv1.weight", "conv2.weight"):
        w = sd[key]
        keep = math.prod(w.shape[:2]) * sym.dof(3)
        assert plan[key].keep == keep
        assert int((out[key] != 0).sum()) == keep
        # the kept values are the largest magnitudes, sent exactly at 32 bits
        kept = out[key] != 0
        assert torch.equal(out[key][kept], w[kept])
        assert float(w[kept].abs().min()) >= float(w[~kept].abs().max())
        n = w.numel()
        assert acc[key].mask_bits == min(n, keep * math.ceil(math.log2(n)))
        assert acc[key].payload_bits == keep * 32 + acc[key].mask_bits
    # a 1x1 kernel has no DoF under skew symmetries: sent in full, as in the DoF codec
    if sym.is_skew:
        assert plan["pw.weight"].mode == "full"


def test_pruned_payload_equals_dof_payload_plus_positions():
    sd = model()
    dof = inspect(encode(sd, TransmissionPlan.default(sd, "central-skew", bits=4)))
    pruned = inspect(encode(sd, TransmissionPlan.pruned(sd, "central-skew", bits=4)))
    assert pruned.values_sent == dof.values_sent
    assert pruned.payload_bits == dof.payload_bits + pruned.mask_bits
    assert pruned.mask_bits == 16 * 3 * 9 + 32 * 16 * 9  # bitmaps: N bits per layer


def test_index_list_when_few_values_are_kept():
    w = torch.randn(4, 4, 3, 3)
    sd = {"k": w}
    plan = TransmissionPlan({"k": TensorPlan(mode="pruned", bits=8, keep=5)})
    blob = encode(sd, plan)
    acc = inspect(blob)
    assert acc.mask_bits == 5 * 8 == position_bits(144, 5)  # 5 indices of ceil(log2 144) bits
    out = decode(blob)["k"]
    assert int((out != 0).sum()) == 5


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 400), frac=st.floats(0, 1), seed=st.integers(0, 1000))
def test_positions_round_trip(n, frac, seed):
    w = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    keep = int(frac * n)
    mask = magnitude_mask(w, keep)
    info, data = encode_positions(mask)
    assert info.bits == position_bits(n, keep)
    assert torch.equal(decode_positions(info, data, n, keep), mask)


def test_corrupt_positions_are_rejected():
    mask = magnitude_mask(torch.randn(100), 10)
    info, data = encode_positions(mask)
    bad = bytes([data[0] ^ 0xFF]) + data[1:]
    with pytest.raises(SymcodecError, match="positions are corrupt"):
        decode_positions(info, bad, 100, 10)


def test_positions_travel_protected_on_a_noisy_link():
    sd = model()
    plan = TransmissionPlan.pruned(sd, "central-skew", bits=6)
    rx = transmit(sd, plan, make_channel("bsc", p=0.05), seed=0)
    assert rx.bit_errors > 0
    assert rx.mask_bits == inspect(encode(sd, plan)).mask_bits
    clean = decode(encode(sd, plan))
    for key in ("conv1.weight", "conv2.weight"):
        # zeros exactly where the transmitter pruned: bit errors hit only the kept values
        assert bool((rx.state_dict[key][clean[key] == 0] == 0).all())


def test_pruned_mode_needs_keep():
    with pytest.raises(SymcodecError, match="pruned"):
        TensorPlan(mode="pruned", bits=8)
    with pytest.raises(SymcodecError, match="pruned"):
        TensorPlan(mode="full", bits=8, keep=3)
