"""Paired noise on analog links (SPEC section 10): the noise of a trial depends only on its
noise seed and the tensor, never on the mode, symmetry or bits; ``dof`` coefficients travel
in the orthonormal basis, so at equal energy ``dof`` and ``full-project`` receive the same
kernel noise."""

import pytest
import torch

from symcodec.channel import make_channel
from symcodec.codec import TransmissionPlan
from symcodec.receiver import ReceiverOptions, transmit
from symcodec.receiver.noise import orbit_scales, sent_noise, standard_normal
from symcodec.symmetry import get_symmetry, symmetry_names

SNR_DB = 10.0


def model(symmetry="central-skew", seed=0, out=32, inp=16, k=3):
    g = torch.Generator().manual_seed(seed)
    sym = get_symmetry(symmetry)
    return {
        "conv.weight": sym.project(torch.randn(out, inp, k, k, generator=g)),
        "conv.bias": torch.randn(out, generator=g),
        "fc.weight": torch.randn(10, out, generator=g),
    }


def receive(sd, symmetry, mode, seed=5, bits=32, equal_energy=False, snr_db=SNR_DB):
    if mode == "pruned":
        plan = TransmissionPlan.pruned(sd, symmetry, bits=bits)
    else:
        plan = TransmissionPlan.default(sd, symmetry=symmetry, bits=bits, mode=mode)
    options = ReceiverOptions(equal_energy=equal_energy)
    channel = make_channel("awgn", snr_db=snr_db)
    return transmit(sd, plan, channel, seed=seed, options=options).state_dict


def test_full_project_receives_the_projection_of_what_full_receives():
    sd, sym = model(), get_symmetry("central-skew")
    for equal_energy in (False, True):
        full = receive(sd, "central-skew", "full", equal_energy=equal_energy)
        projected = receive(sd, "central-skew", "full-project", equal_energy=equal_energy)
        assert torch.allclose(projected["conv.weight"], sym.project(full["conv.weight"]), atol=1e-6)


@pytest.mark.parametrize("name", ["central-skew", "central", "d4"])
def test_dof_receives_the_kernel_noise_full_project_keeps_at_equal_energy(name):
    sd = model(name, k=5 if name == "d4" else 3)
    dof = receive(sd, name, "dof", equal_energy=True)
    projected = receive(sd, name, "full-project", equal_energy=True)
    assert not torch.equal(dof["conv.weight"], sd["conv.weight"])  # there is noise
    assert torch.allclose(dof["conv.weight"], projected["conv.weight"], atol=1e-5)


def test_tensors_outside_the_kernels_get_the_same_noise_in_every_mode_and_symmetry():
    sd = model("central")  # a kernel symmetric under central, sent under other symmetries too
    reference = receive(sd, "central", "dof")
    for symmetry, mode, bits in [
        ("central", "full", 32),
        ("hflip", "full-project", 32),
        ("none", "full", 32),
        ("central", "pruned", 32),
    ]:
        other = receive(sd, symmetry, mode, bits=bits)
        for name in ("conv.bias", "fc.weight"):
            assert torch.equal(other[name], reference[name]), (symmetry, mode, name)


def test_pruned_kernels_get_the_noise_at_their_kept_positions():
    sd = model("none")
    full = receive(sd, "none", "full")["conv.weight"]
    pruned = receive(sd, "central-skew", "pruned")["conv.weight"]
    kept = pruned != 0
    noise_full = (full - sd["conv.weight"])[kept]
    noise_pruned = (pruned - sd["conv.weight"])[kept]
    ratio = noise_pruned / noise_full  # one scale: the two links' noise levels differ
    assert torch.allclose(ratio, ratio.median().expand_as(ratio), rtol=1e-3)


@pytest.mark.parametrize("name", ["central-skew", "d4"])
def test_equal_energy_gives_pruned_kernels_the_energy_per_value_of_dof(name):
    """A kernel pruned to the symmetry's DoF count sends as many values as ``dof``, and its
    degrees of freedom are the values it keeps: at equal energy neither gets more energy
    per value than the SNR (a pruned kernel counted at its full size would get
    10 log10(k^2/DoF) dB more than ``dof``, an energy budget 2.25x larger for central-skew)."""
    sd = model("none", k=5 if name == "d4" else 3)
    for mode in ("pruned", "dof"):
        per_value = receive(sd, name, mode)["conv.weight"]
        equal_energy = receive(sd, name, mode, equal_energy=True)["conv.weight"]
        assert not torch.equal(per_value, sd["conv.weight"])  # there is noise
        assert torch.equal(equal_energy, per_value), mode


def test_different_trials_and_seeds_differ():
    sd = model()
    a = receive(sd, "central-skew", "dof", seed=1)
    b = receive(sd, "central-skew", "dof", seed=2)
    again = receive(sd, "central-skew", "dof", seed=1)
    for name in sd:
        assert not torch.equal(a[name], b[name])
        assert torch.equal(a[name], again[name])


def test_the_noise_does_not_depend_on_the_bits_where_no_clamp_bites():
    sd = model()
    coarse = receive(sd, "central-skew", "full", bits=16, snr_db=30.0)
    fine = receive(sd, "central-skew", "full", bits=32, snr_db=30.0)
    # 16-bit quantization moves values by at most half a step; the noise is the same draw
    step = 2 * sd["conv.weight"].abs().max() / (2**16 - 1)
    assert (coarse["conv.weight"] - fine["conv.weight"]).abs().max() < step


@pytest.mark.parametrize("name", [n for n in symmetry_names() if n != "none"])
def test_reconstruction_noise_of_dof_equals_full_project_at_equal_energy(name):
    """For every named symmetry: at equal energy the noise left in the rebuilt kernel is
    the same for ``dof`` and ``full-project`` (pathwise, with paired noise), and its energy
    is ``sigma^2 D`` with ``sigma^2 = ||w||^2 / D * 10^(-snr/10)`` (D: the kernel's DoF)."""
    sym = get_symmetry(name)
    k = 3 if sym.dof(3) > 0 else 5
    sd = {"conv.weight": model(name, out=64, inp=32, k=k)["conv.weight"]}
    w = sd["conv.weight"]
    noise = {}
    for mode in ("dof", "full-project"):
        rx = receive(sd, name, mode, equal_energy=True)["conv.weight"]
        noise[mode] = (rx - w).double()
    assert torch.allclose(noise["dof"], noise["full-project"], atol=1e-5)
    d = 64 * 32 * sym.dof(k)
    expected = w.double().pow(2).sum() / d * 10 ** (-SNR_DB / 10) * d
    for mode in noise:
        assert abs(noise[mode].pow(2).sum() / expected - 1) < 0.05, mode


def test_dof_noise_is_the_orthonormal_coordinate_of_the_full_draw():
    sym = get_symmetry("central")
    sd = {"w": sym.project(torch.randn(4, 2, 3, 3))}
    plan = TransmissionPlan.default(sd, symmetry="central", bits=32, mode="dof")
    rx = transmit(sd, plan, make_channel("ideal"), seed=0)  # the record, via the codec
    from symcodec.codec import encode
    from symcodec.codec.format import read_header

    record = read_header(encode(sd, plan)).records[0]
    z = standard_normal(3, "w", record.numel)
    coordinates = sent_noise(record, z).reshape(4, 2, -1)
    # orthonormal: the coordinate of orbit j is (1/sqrt(m_j)) sum chi_p z_p = sqrt(m_j) (P z)_rep
    expected = sym.gather(z.reshape(4, 2, 3, 3).double()) * orbit_scales(sym, (3, 3))
    assert torch.allclose(coordinates.double(), expected, atol=1e-6)
    assert rx.state_dict["w"].shape == (4, 2, 3, 3)
