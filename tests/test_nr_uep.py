"""Unequal error protection on the NR link: each class of the stream at its own MCS, air time
counted in full, the MSB plane rebuilt, a lost header refused. Skipped without the ``links``
extra. Mostly the abstracted link (fast); one bit-true run on a tiny model."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from symcodec.channel import NrChannel, make_channel
from symcodec.channel.nr import backend, lookup_mcs, transport_format
from symcodec.cli import main
from symcodec.codec import TransmissionPlan, decode, encode
from symcodec.codec.format import read_header
from symcodec.errors import SymcodecError
from symcodec.receiver import HeaderLost, NrProtection, ReceiverOptions, transmit
from symcodec.receiver.stream_classes import class_bit_counts

if not backend.sionna_available():
    pytest.skip("needs the links extra (sionna-no-rt)", allow_module_level=True)

SYMBOLS = 240  # small TBs: several per class even for a tiny model


def small_state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(4, 8, 3), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


def plan_of(sd):
    return TransmissionPlan.default(sd, symmetry="central-skew", bits=8)


def nr(snr_db: float, mcs: int, level: str = "abstract", symbols: int = SYMBOLS) -> NrChannel:
    return make_channel(
        "nr-ldpc", snr_db=snr_db, mcs=mcs, level=level, symbols_per_tb=symbols, seed=0
    )


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("none", {"header": 14, "side": 14, "kernel-msb": 14, "kernel": 14}),
        ("side", {"header": 5, "side": 5, "kernel-msb": 14, "kernel": 14}),
        ("side+msb", {"header": 5, "side": 5, "kernel-msb": 5, "kernel": 14}),
    ],
)
def test_presets_put_each_class_at_its_mcs(preset, expected):
    sd = small_state_dict()
    protection = NrProtection.from_preset(preset, 14, 5)
    assert dict(protection.mcs) == expected
    rx = transmit(sd, plan_of(sd), nr(30.0, 14), seed=0, protection=protection)
    rows = rx.protection.by_class()
    bits = class_bit_counts(read_header(encode(sd, plan_of(sd))), msb_split=preset == "side+msb")
    for cls, mcs in expected.items():
        assert rows[cls].mcs == mcs and rows[cls].bits == bits[cls]
        assert (rows[cls].code_blocks > 0) == (bits[cls] > 0)
    for segment in rx.protection.segments:  # a segment carries the classes of one MCS
        assert all(expected[c] == segment.mcs_index for c in segment.classes)
    assert rx.protection.lossless
    ideal = decode(encode(sd, plan_of(sd)))
    assert all(torch.equal(rx.state_dict[k], ideal[k]) for k in ideal)


def test_air_time_counts_every_segment_at_its_own_mcs():
    sd = small_state_dict()
    blob = encode(sd, plan_of(sd))
    bits = class_bit_counts(read_header(blob), msb_split=True)
    rx = transmit(
        sd, plan_of(sd), nr(30.0, 14), seed=0,
        protection=NrProtection.from_preset("side+msb", 14, 5),
    )  # fmt: skip
    robust = transport_format(lookup_mcs(5), SYMBOLS)
    fast = transport_format(lookup_mcs(14), SYMBOLS)
    robust_tbs = math.ceil((bits["header"] + bits["side"] + bits["kernel-msb"]) / robust.tb_bits)
    fast_tbs = math.ceil(bits["kernel"] / fast.tb_bits)
    uses = (robust_tbs + fast_tbs) * SYMBOLS
    assert rx.channel_uses == uses
    assert rx.air_time_s == pytest.approx(uses / 1e6)
    assert [s.transport_blocks for s in rx.protection.segments] == [robust_tbs, fast_tbs]
    # the classes' shares add up to the segments' uses less the padding of their last TBs
    shares = sum(c.channel_uses for c in rx.protection.classes)
    assert uses - 2 * SYMBOLS < shares <= uses


def test_kernel_msb_plane_survives_and_rebuilds_lost_kernels():
    """At an SNR where MCS 27 always fails and MCS 3 never does, side+msb delivers the side
    tensors exactly and rebuilds every kernel value from its MSB (none is zeroed)."""
    sd = small_state_dict()
    ideal = decode(encode(sd, plan_of(sd)))
    channel = nr(6.0, 27, symbols=400)
    rx = transmit(sd, plan_of(sd), channel, seed=1, protection=NrProtection.from_preset(
        "side+msb", 27, 3))  # fmt: skip
    rows = rx.protection.by_class()
    assert rows["kernel"].failed_code_blocks == rows["kernel"].code_blocks > 0
    assert rows["kernel-msb"].failed_code_blocks == rows["header"].failed_code_blocks == 0
    kernel_values = rows["kernel-msb"].bits
    assert rows["kernel-msb"].concealed_values == kernel_values
    assert rx.erased_values == 0
    for name in ("0.bias", "2.weight", "2.bias"):
        assert torch.equal(rx.state_dict[name], ideal[name])
    # the rebuilt kernel keeps the sign pattern of the sent one far better than zeros would
    sent, got = ideal["0.weight"], rx.state_dict["0.weight"]
    assert torch.count_nonzero(got) > 0
    assert torch.linalg.norm(got - sent) < torch.linalg.norm(sent)
    # without the MSB plane the same loss zeroes every kernel value
    rx_side = transmit(sd, plan_of(sd), channel, seed=1, protection=NrProtection.from_preset(
        "side", 27, 3))  # fmt: skip
    assert rx_side.erased_values == kernel_values
    assert torch.count_nonzero(rx_side.state_dict["0.weight"]) == 0


def test_bit_true_high_snr_reproduces_the_stream_with_protection():
    sd = small_state_dict()
    rx = transmit(
        sd, plan_of(sd), nr(25.0, 14, level="bit-true"), seed=0,
        protection=NrProtection.from_preset("side+msb", 14, 5),
    )  # fmt: skip
    assert rx.protection.lossless and rx.protection.residual_bit_errors == 0
    ideal = decode(encode(sd, plan_of(sd)))
    assert all(torch.equal(rx.state_dict[k], ideal[k]) for k in ideal)


def test_lost_header_is_refused_with_the_report():
    sd = small_state_dict()
    with pytest.raises(HeaderLost, match="lost the stream's header") as info:
        transmit(sd, plan_of(sd), nr(-5.0, 14), seed=0,
                 protection=NrProtection.from_preset("none", 14))  # fmt: skip
    assert info.value.report.header_lost
    assert info.value.report.by_class()["header"].failed_code_blocks > 0


def test_explicit_mapping_and_bad_mappings():
    custom = NrProtection({"header": 3, "side": 4, "kernel-msb": 9, "kernel": 20})
    assert custom.segments() == [(3, ("header",)), (4, ("side",)), (9, ("kernel-msb",)),
                                 (20, ("kernel",))]  # fmt: skip
    with pytest.raises(SymcodecError, match="missing kernel"):
        NrProtection({"header": 3, "side": 4, "kernel-msb": 9})
    with pytest.raises(SymcodecError, match="not in NR MCS table"):
        NrProtection({"header": 3, "side": 4, "kernel-msb": 9, "kernel": 29})
    with pytest.raises(SymcodecError, match="must not exceed"):
        NrProtection.from_preset("side", 5, 9)
    with pytest.raises(SymcodecError, match="unknown protection preset"):
        NrProtection.from_preset("msb", 5)
    sd = small_state_dict()
    with pytest.raises(SymcodecError, match="needs an nr-ldpc channel"):
        transmit(sd, plan_of(sd), make_channel("bsc", p=0.0), protection=custom)
    with pytest.raises(SymcodecError, match="protect='none'"):
        transmit(sd, plan_of(sd), nr(30.0, 14), protection=custom,
                 options=ReceiverOptions(protect="side"))  # fmt: skip


def test_cli_protect(tmp_path, capsys):
    path = tmp_path / "m.safetensors"
    save_file(small_state_dict(), str(path))
    base = [
        "transmit", str(path), "--symmetry", "central-skew", "--bits", "8", "--fec", "ldpc",
        "--mcs", "14", "--fec-level", "abstract", "--symbols-per-tb", str(SYMBOLS),
    ]  # fmt: skip
    assert main([*base, "--snr-db", "30", "--protect", "side", "--protect-mcs", "5"]) == 0
    out = capsys.readouterr().out
    assert "protection side" in out and "stream classes" in out and "MCS 5 of qam64" in out
    assert main([*base, "--snr-db", "-5", "--protect", "none", "--lenient"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("symcodec: error: the NR link lost the stream's header")
    assert "\n" not in err
    assert main([*base, "--snr-db", "30", "--protect", "side", "--protect-mcs", "20"]) == 2
    assert "must not exceed" in capsys.readouterr().err
    assert main(["transmit", str(path), "--protect", "side"]) == 2
    assert "--protect needs --fec ldpc" in capsys.readouterr().err
