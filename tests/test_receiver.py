"""The link end to end: transmit() through every kind of channel, receiver repair, accounting."""

import math

import numpy as np
import pytest
import torch

from symcodec import SymcodecError
from symcodec.channel import Link, make_channel
from symcodec.codec import TransmissionPlan, decode, encode, inspect
from symcodec.codec.format import read_header
from symcodec.receiver import ReceiverOptions, transmit, transmitter_view
from symcodec.symmetry import get_symmetry


def model(symmetry="central-skew", seed=0, out=32, inp=16):
    g = torch.Generator().manual_seed(seed)
    sym = get_symmetry(symmetry)
    return {
        "conv1.weight": sym.project(torch.randn(out, inp, 3, 3, generator=g)),
        "conv1.bias": torch.randn(out, generator=g),
        "bn.num_batches_tracked": torch.tensor(3),
        "fc.weight": torch.randn(10, out, generator=g),
    }


def test_ideal_channel_round_trips_exactly():
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=6)
    rx = transmit(sd, plan, make_channel("ideal"), seed=0)
    expected = decode(encode(sd, plan))
    for key in sd:
        assert torch.equal(rx.state_dict[key], expected[key])
    assert rx.bit_errors == 0 and rx.crc_failures == [] and rx.erased_values == 0
    acc = inspect(encode(sd, plan))
    assert rx.payload_bits == acc.payload_bits and rx.bits_sent == acc.stream_bits
    assert rx.header_bits == acc.header_bits


def test_float32_over_ideal_channel_gives_the_transmitter_model():
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=32)
    rx = transmit(sd, plan, make_channel("ideal"), seed=0)
    tx = transmitter_view(sd, plan)
    for key in sd:
        assert torch.equal(rx.state_dict[key], tx[key])


@pytest.mark.parametrize("bits", [3, 4, 8, 12])
def test_bit_errors_never_leave_the_quantizer_range(bits):
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=bits, per_channel=True)
    blob = encode(sd, plan)
    header = read_header(blob)
    rx = transmit(sd, plan, make_channel("bsc", p=0.2), seed=1)
    assert rx.bit_errors > 0 and "conv1.weight" in rx.crc_failures
    sym = get_symmetry("central-skew")
    for record in header.records:
        if record.params is None:
            continue
        got = rx.state_dict[record.name]
        values = sym.gather(got) if record.mode == "dof" else got
        lo = torch.from_numpy(record.params.lo).reshape(-1, *[1] * (values.dim() - 1))
        hi = torch.from_numpy(record.params.hi).reshape(-1, *[1] * (values.dim() - 1))
        assert bool(((values >= lo - 1e-6) & (values <= hi + 1e-6)).all()), record.name
    # dead orbits stay zero: the centre of every central-skew kernel
    assert bool((rx.state_dict["conv1.weight"][..., 1, 1] == 0).all())
    assert sym.is_symmetric(rx.state_dict["conv1.weight"])


def test_bit_error_count_matches_the_channel():
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
    rx = transmit(sd, plan, make_channel("bpsk-awgn", ebn0_db=2.0), seed=3)
    assert rx.bit_errors == sum(t.bit_errors for t in rx.tensors)
    assert rx.bit_errors == rx.stats[0].bit_errors
    from symcodec.channel import ber_bpsk_awgn

    n = 8 * rx.payload_bytes
    p = float(ber_bpsk_awgn(2.0))
    assert abs(rx.ber - p) < 6 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("channel", ["bsc", "qam16-rayleigh", "awgn", "erasure"])
def test_same_seed_same_reception(channel):
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=4)
    kwargs = {"bsc": {"p": 0.01}, "qam16-rayleigh": {"ebn0_db": 8}, "awgn": {"snr_db": 10}}
    ch = make_channel(channel, **kwargs.get(channel, {"p": 0.2, "packet_bytes": 16}))
    a = transmit(sd, plan, ch, seed=5).state_dict
    b = transmit(sd, plan, ch, seed=5).state_dict
    c = transmit(sd, plan, ch, seed=6).state_dict
    assert all(torch.equal(a[k], b[k]) for k in sd)
    assert not all(torch.equal(a[k], c[k]) for k in sd)


def test_projection_removes_noise_outside_the_subspace():
    """i.i.d. noise on a kernel: projection leaves DoF/k^2 of its energy (SPEC section 3)."""
    for name in ["central-skew", "hflip", "d4"]:
        sym = get_symmetry(name)
        sd = {
            "k": sym.project(torch.randn(128, 64, 3, 3, generator=torch.Generator().manual_seed(0)))
        }
        channel = make_channel("awgn", snr_db=10.0)
        full = TransmissionPlan({"k": TransmissionPlan.default(sd, sym, 32, "full")["k"]})
        proj = TransmissionPlan.default(sd, sym, 32, "full-project")
        noise_full = transmit(sd, full, channel, seed=1).state_dict["k"] - sd["k"]
        noise_proj = transmit(sd, proj, channel, seed=1).state_dict["k"] - sd["k"]
        ratio = float(noise_proj.pow(2).sum() / noise_full.pow(2).sum())
        assert ratio == pytest.approx(sym.dof(3) / 9, rel=0.03), name


def test_partial_projection_strength():
    sym = get_symmetry("central")
    sd = {"k": sym.project(torch.randn(64, 32, 3, 3))}
    plan = TransmissionPlan.default(sd, sym, 32, "full-project")
    ch = make_channel("awgn", snr_db=5.0)
    none = transmit(sd, plan, ch, seed=2, options=ReceiverOptions(alpha=0.0)).state_dict["k"]
    half = transmit(sd, plan, ch, seed=2, options=ReceiverOptions(alpha=0.5)).state_dict["k"]
    full = transmit(sd, plan, ch, seed=2).state_dict["k"]
    torch.testing.assert_close(half, 0.5 * none + 0.5 * full)
    assert not sym.is_symmetric(none) and sym.is_symmetric(full)


def test_equal_energy_charges_redundant_modes():
    sym = get_symmetry("central-skew")
    sd = {"k": sym.project(torch.randn(16, 8, 3, 3)), "b": torch.randn(16)}
    ch = make_channel("awgn", snr_db=12.0)
    opts = ReceiverOptions(equal_energy=True)
    dof = transmit(sd, TransmissionPlan.default(sd, sym, 8, "dof"), ch, seed=0, options=opts)
    fp = transmit(
        sd, TransmissionPlan.default(sd, sym, 8, "full-project"), ch, seed=0, options=opts
    )
    snr = {t.name: t.snr_db for t in dof.tensors}
    assert snr["k"] == pytest.approx(12.0) and snr["b"] == pytest.approx(12.0)
    snr = {t.name: t.snr_db for t in fp.tensors}
    assert snr["k"] == pytest.approx(12.0 - 10 * math.log10(9 / 4))


def test_erasures_are_zero_filled_and_counted():
    sd = {"w": torch.full((4096,), 3.0), "k": torch.randn(8, 8, 3, 3)}
    plan = TransmissionPlan.default(sd, symmetry="none", bits=5, grid="symmetric")
    rx = transmit(sd, plan, make_channel("erasure", p=0.3, packet_bytes=64), seed=0)
    w = rx.state_dict["w"]
    zeros = int((w == 0).sum())
    assert rx.tensors[0].erased_values == zeros > 0
    # every surviving value is exact (3.0 is the top of the symmetric grid's range)
    survivors = w[w != 0]
    assert torch.allclose(survivors, survivors[0].expand_as(survivors))
    assert rx.erased_values == sum(t.erased_values for t in rx.tensors)


def test_latency_is_encode_air_decode():
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
    link = Link(bandwidth_hz=2e6, bits_per_symbol=2)
    rx = transmit(sd, plan, make_channel("qpsk-awgn", ebn0_db=10), seed=0, link=link)
    assert rx.air_time_s == pytest.approx(rx.bits_sent / 4e6)
    assert rx.latency_ms == pytest.approx(1000 * (rx.encode_s + rx.air_time_s + rx.decode_s))


def test_strict_receiver_rejects_corruption():
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
    with pytest.raises(SymcodecError, match="CRC mismatch"):
        transmit(
            sd, plan, make_channel("bsc", p=0.05), seed=0, options=ReceiverOptions(strict=True)
        )


def test_modules_are_accepted():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
    plan = TransmissionPlan.default(net.state_dict(), symmetry="d4", bits=8)
    rx = transmit(net, plan, make_channel("ideal"))
    net.load_state_dict(rx.state_dict)
    assert get_symmetry("d4").is_symmetric(net[0].weight.detach())


def test_erased_value_mapping():
    from symcodec.codec.bitpack import codes_touching as _erased_values

    mask = np.zeros(10, dtype=bool)
    mask[2] = True  # bits 16..23
    lost = _erased_values(mask, count=8, bits=10)  # value i spans bits 10i .. 10i+9
    assert lost.tolist() == [False, True, True, False, False, False, False, False]


# --- protect: the side tensors on a protected sub-link, charged in channel uses (SPEC 10)


def test_protect_side_on_an_analog_link_keeps_the_side_tensors_exact_and_charges_them():
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=32, mode="dof")
    channel = make_channel("awgn", snr_db=5.0)
    none = transmit(sd, plan, channel, seed=3)
    side = transmit(sd, plan, channel, seed=3, options=ReceiverOptions(protect="side"))
    for name in ("conv1.bias", "fc.weight"):
        assert torch.equal(side.state_dict[name], sd[name])
        assert not torch.equal(none.state_dict[name], sd[name])
    assert torch.equal(side.state_dict["conv1.weight"], none.state_dict["conv1.weight"])  # paired
    kernel_values = 32 * 16 * 4
    side_values = 32 + 10 * 32
    assert none.channel_uses == kernel_values + side_values + 4 * 1  # the int buffer: r x 1
    assert side.channel_uses == kernel_values + 4 * (side_values + 1)
    energy = {
        n: float(sd[n].double().pow(2).sum()) for n in ("conv1.weight", "conv1.bias", "fc.weight")
    }
    # dof in the orthonormal basis: the kernel's own energy
    assert side.energy == pytest.approx(
        energy["conv1.weight"] + 4 * (energy["conv1.bias"] + energy["fc.weight"]), rel=1e-5
    )
    assert none.energy == pytest.approx(sum(energy.values()), rel=1e-5)
    assert side.protect == "side" and none.protect == "none"


def test_protect_side_charges_pruning_masks_r_times_their_bits_on_analog_links():
    sd = model("none")
    plan = TransmissionPlan.pruned(sd, "central-skew", bits=8)
    rx = transmit(
        sd,
        plan,
        make_channel("awgn", snr_db=20.0),
        seed=0,
        options=ReceiverOptions(protect="side", repetition=3),
    )
    kept = 32 * 16 * 4
    assert rx.mask_bits > 0
    assert rx.channel_uses == kept + 3 * (32 + 320 + 1 + rx.mask_bits)


def test_protect_side_on_a_digital_link_keeps_the_side_tensors_exact_and_charges_the_code_rate():
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
    channel = make_channel("qpsk-awgn", ebn0_db=0.0)
    options = ReceiverOptions(protect="side", code_rate=0.5)
    rx = transmit(sd, plan, channel, seed=1, options=options)
    expected = decode(encode(sd, plan))
    for name in ("conv1.bias", "fc.weight", "bn.num_batches_tracked"):
        assert torch.equal(rx.state_dict[name], expected[name])
    assert rx.crc_failures == ["conv1.weight"]
    kernel_bits = 32 * 16 * 4 * 8
    side_bits = (32 + 320) * 8 + 64  # the int64 buffer travels raw
    assert rx.channel_uses == math.ceil((kernel_bits + side_bits / 0.5) / 2)
    none = transmit(sd, plan, channel, seed=1)
    assert none.channel_uses == math.ceil((kernel_bits + side_bits) / 2)


def test_protect_side_on_an_erasure_link_erases_no_side_value():
    sd = model()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
    channel = make_channel("erasure", p=0.5, packet_bytes=8)
    rx = transmit(sd, plan, channel, seed=2, options=ReceiverOptions(protect="side"))
    by_name = {t.name: t for t in rx.tensors}
    assert by_name["fc.weight"].erased_values == 0 and by_name["conv1.bias"].erased_values == 0
    assert by_name["conv1.weight"].erased_values > 0


def test_receiver_options_refuse_an_unknown_protection_or_charge():
    for bad in ({"protect": "all"}, {"repetition": 0}, {"code_rate": 0.0}, {"code_rate": 1.5}):
        with pytest.raises(SymcodecError):
            ReceiverOptions(**bad)
