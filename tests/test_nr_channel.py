"""The 5G NR link as a channel (``nr-ldpc``): end to end through the receiver, air time, the
``transmit --fec ldpc`` command. Skipped without the ``links`` extra (sionna-no-rt).

Tiny models and small transport blocks keep the bit-true runs short; the BLER waterfall
itself is tested in test_nr_links.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from symcodec.channel import (
    Link,
    NrChannel,
    NrChannelStats,
    channel_names,
    channel_options,
    channel_parameter,
    make_channel,
)
from symcodec.channel.nr import backend
from symcodec.cli import main
from symcodec.codec import TransmissionPlan, decode, encode
from symcodec.errors import SymcodecError
from symcodec.receiver import transmit

if not backend.sionna_available():
    pytest.skip("needs the links extra (sionna-no-rt)", allow_module_level=True)

from nr_support import set_point_table  # noqa: E402

# qam64 MCS 9: QPSK, R = 679/1024; on 100 symbols G = 200 coded bits, N_info = R G = 132.6
# -> a 128-bit TB (38.214 TBS table) with a 16-bit CRC in one code block of 144 bits
SMALL = {"mcs": 9, "symbols_per_tb": 100}
HIGH_SNR_DB, LOW_SNR_DB = 20.0, -10.0


def tiny_state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("nr") / "tiny.safetensors"
    save_file(tiny_state_dict(), str(path))
    return str(path)


def nr(snr_db: float, level: str = "bit-true", **kw) -> NrChannel:
    return make_channel("nr-ldpc", snr_db=snr_db, level=level, seed=0, **{**SMALL, **kw})


# --------------------------------------------------------------------------------------
# the channel through the receiver


@pytest.mark.parametrize("coder", ["fixed", "ans"])
def test_bit_true_at_high_snr_delivers_the_stream_exactly(coder):
    sd = tiny_state_dict()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8, coder=coder)
    rx = transmit(sd, plan, nr(HIGH_SNR_DB), seed=1)
    expected = decode(encode(sd, plan))
    assert all(torch.equal(rx.state_dict[k], expected[k]) for k in sd)
    (stats,) = rx.stats
    assert isinstance(stats, NrChannelStats) and stats.lossless and stats.code_blocks > 0
    assert rx.bit_errors == 0 and rx.crc_failures == [] and rx.erased_values == 0


def test_every_block_lost_is_erased_and_filled_by_the_receiver():
    sd = tiny_state_dict()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)  # fixed codes
    rx = transmit(sd, plan, nr(LOW_SNR_DB), seed=1)
    (stats,) = rx.stats
    assert stats.failed_code_blocks == stats.code_blocks == stats.packets > 0
    assert stats.erased_packets == stats.code_blocks
    assert stats.erased_bytes == rx.payload_bytes and stats.erased_mask.all()
    assert stats.erased_ranges() == [(0, rx.payload_bytes)]
    # the receiver fills every erased value with zero; every tensor fails its CRC
    assert rx.erased_values == rx.values_sent
    assert sorted(rx.crc_failures) == sorted(sd)
    assert all(not v.any() for v in rx.state_dict.values())


def test_same_seed_same_reception_and_no_global_state_touched():
    sd = tiny_state_dict()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
    threads = torch.get_num_threads()
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    a = transmit(sd, plan, nr(1.0), seed=3)
    b = transmit(sd, plan, nr(1.0), seed=3)
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in sd)
    np.testing.assert_array_equal(a.stats[0].erased_mask, b.stats[0].erased_mask)


def test_stats_match_the_bytes_that_arrived():
    payload = np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8)
    received, stats = nr(3.0).transmit_bits(payload, rng=5)  # in the waterfall: some lost
    assert 0 < stats.failed_code_blocks < stats.code_blocks
    assert not received[stats.erased_mask].any()
    wrong = np.unpackbits(np.bitwise_xor(received, payload)[~stats.erased_mask]).sum()
    assert stats.residual_bit_errors == stats.bit_errors == wrong
    assert stats.erased_bytes == int(stats.erased_mask.sum())
    assert stats.bits_sent == 8 * payload.size and stats.symbols == stats.channel_uses


@pytest.mark.parametrize(("snr_db", "bler"), [(HIGH_SNR_DB, 0.0), (LOW_SNR_DB, 1.0)])
@pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
def test_abstract_and_bit_true_agree_away_from_the_waterfall(snr_db, bler, fading):
    payload = np.random.default_rng(1).integers(0, 256, 320, dtype=np.uint8)  # 20 CBs
    for level in ("bit-true", "abstract"):
        _, stats = nr(snr_db, level, fading=fading).transmit_bits(payload, rng=2)
        assert stats.code_blocks == 20 and stats.bler == bler, (level, stats)


# --------------------------------------------------------------------------------------
# air time


def test_air_time_is_channel_uses_over_the_symbol_rate():
    sd = tiny_state_dict()
    plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
    channel = nr(HIGH_SNR_DB, symbol_rate_hz=2e6)
    # by hand: QPSK (2 bits/symbol) at 100 symbols per TB: G = 200 coded bits carry a
    # 128-bit TB, so the code rate is 128 / 200 = 0.64 and the link 2e6 * 2 * 0.64 bit/s
    assert (channel.fmt.tb_bits, channel.fmt.coded_bits, channel.bits_per_symbol) == (128, 200, 2)
    link = Link.for_channel(channel)
    assert link.bits_per_symbol == 2 and link.code_rate == pytest.approx(0.64)
    assert link.rate_bps == pytest.approx(2.56e6) and link.block_bits == 128
    rx = transmit(sd, plan, channel, seed=0)
    stream_bits = 8 * len(encode(sd, plan))
    assert rx.bits_sent == stream_bits
    tbs = math.ceil(stream_bits / 128)  # the last TB padded
    assert rx.air_time_s == pytest.approx(tbs * 100 / 2e6, rel=1e-12)
    assert rx.latency_ms == pytest.approx(1e3 * (rx.encode_s + tbs * 100 / 2e6 + rx.decode_s))
    # the payload alone, as the channel sent it
    (stats,) = rx.stats
    assert stats.channel_uses == math.ceil(8 * rx.payload_bytes / 128) * 100
    assert stats.air_time_s == pytest.approx(stats.channel_uses / 2e6)
    assert link.air_time_s(8 * rx.payload_bytes) == pytest.approx(stats.air_time_s, rel=1e-12)


@pytest.mark.parametrize("payload_bytes", [0, 1, 16, 17, 1000])
def test_link_air_time_equals_the_channel_uses_for_any_stream(payload_bytes):
    channel = nr(HIGH_SNR_DB, "abstract", mcs=20, symbols_per_tb=300)  # 64-QAM
    _, stats = channel.transmit_bits(bytes(payload_bytes))
    assert stats.channel_uses == channel.channel_uses(payload_bytes)
    assert Link.for_channel(channel).air_time_s(8 * payload_bytes) == pytest.approx(
        stats.channel_uses / 1e6, rel=1e-12, abs=1e-15
    )


def test_link_refuses_settings_the_nr_code_fixes():
    channel = nr(HIGH_SNR_DB, "abstract")
    assert Link.for_channel(channel, bandwidth_hz=1e6).rate_bps == pytest.approx(1.28e6)
    with pytest.raises(SymcodecError, match="symbol_rate_hz"):
        Link.for_channel(channel, bandwidth_hz=2e6)
    with pytest.raises(SymcodecError, match="own code"):
        Link.for_channel(channel, code_rate=0.5)
    assert Link.for_channel(channel, capacity=True).capacity_snr_db == HIGH_SNR_DB
    with pytest.raises(SymcodecError, match="block_bits"):
        Link(block_bits=0)


# --------------------------------------------------------------------------------------
# registry


def test_registry_entry():
    assert channel_names()[-1] == "nr-ldpc" and "nr-ldpc" not in channel_names(extras=False)
    assert channel_parameter("NR-LDPC") == "snr_db"
    assert channel_options("nr-ldpc") == (
        "mcs", "mcs_table", "fading", "level", "symbols_per_tb", "symbol_rate_hz", "bler_tables",
    )  # fmt: skip
    channel = nr(3.0, "abstract", mcs_table="qam256", mcs=5)
    assert channel.domain == "digital" and channel.mcs.table == "qam256"
    assert "NrChannel(snr_db=3.0, mcs=5, mcs_table='qam256'" in repr(channel)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"snr_db": 1.0}, "needs mcs"),
        ({"mcs": 9}, "needs snr_db"),
        ({"ebn0_db": 1.0, "mcs": 9}, "needs snr_db"),
        ({"snr_db": 1.0, "mcs": 9, "p": 0.1}, "takes no p"),
        ({"snr_db": 1.0, "mcs": 29}, "not in NR MCS table qam64"),
        ({"snr_db": 1.0, "mcs": 28, "mcs_table": "qam256"}, "not in NR MCS table qam256"),
        ({"snr_db": 1.0, "mcs": 9, "mcs_table": "qam4096"}, "unknown NR MCS table"),
        ({"snr_db": float("nan"), "mcs": 9}, "finite"),
        ({"snr_db": [], "mcs": 9}, "finite"),
        ({"snr_db": 1.0, "mcs": 9, "level": "exact"}, "unknown NR link level"),
        ({"snr_db": 1.0, "mcs": 9, "fading": "rician"}, "unknown fading"),
        ({"snr_db": 1.0, "mcs": 9, "symbols_per_tb": 0}, "symbols_per_tb"),
    ],
)
def test_make_channel_refuses_bad_settings(kwargs, pattern):
    with pytest.raises(SymcodecError, match=pattern) as info:
        make_channel("nr-ldpc", **kwargs)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------------------
# the command line


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fec_argv(model: str, snr_db: float, *extra: str) -> list[str]:
    return [
        "transmit", model, "--symmetry", "central-skew", "--bits", "8", "--fec", "ldpc",
        "--mcs", "9", "--symbols-per-tb", "100", "--snr-db", str(snr_db), *extra,
    ]  # fmt: skip


def test_cli_bit_true_at_high_snr_writes_the_sent_model(tiny_model, tmp_path, capsys):
    out = tmp_path / "rx.safetensors"
    code, text, err = run(fec_argv(tiny_model, HIGH_SNR_DB, "-o", str(out)), capsys)
    assert code == 0, err
    assert "MCS 9 of qam64 (QPSK, R = 679/1024), bit-true, awgn, SNR 20 dB" in text
    assert "residual bit errors 0" in text and "code blocks failed 0 of " in text
    assert "channel uses" in text and "air time" in text
    sd = tiny_state_dict()
    expected = decode(encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8)))
    received = load_file(str(out))
    assert all(torch.equal(received[k], expected[k]) for k in sd)


@pytest.mark.parametrize("coder", ["fixed", "ans"])
def test_cli_total_loss_needs_lenient(tiny_model, tmp_path, capsys, coder):
    out = tmp_path / "rx.safetensors"
    ans_only = ["--ans-only"] if coder == "ans" else []  # the tiny tensors would go fixed
    argv = fec_argv(tiny_model, LOW_SNR_DB, "--coder", coder, *ans_only, "-o", str(out))
    code, _, err = run(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "lost" in err and "--lenient" in err and not out.exists()

    code, text, err = run([*argv, "--lenient"], capsys)
    assert code == 0 and out.exists(), err
    blocks = [int(n) for n in _match(r"code blocks failed ([\d,]+) of ([\d,]+)", text)]
    assert blocks[0] == blocks[1] > 0
    assert "tensors with a failed CRC: 4 (0.bias, 0.weight, 2.bias, 2.weight)" in text
    if coder == "fixed":
        assert "erased values (filled with 0): 231" in text
    else:
        assert "entropy-coded chunks lost: 4" in text and "concealed with 0: 231" in text
    assert set(load_file(str(out))) == set(tiny_state_dict())


def test_cli_abstract_level_and_channel_name(tiny_model, capsys):
    argv = ["transmit", tiny_model, "--channel", "nr-ldpc", "--mcs", "20", "--snr-db", "30"]
    code, text, err = run([*argv, "--fec-level", "abstract", "--fading", "rayleigh"], capsys)
    assert code == 0, err
    assert "MCS 20 of qam64 (64-QAM" in text and "abstract, rayleigh" in text


def test_cli_abstract_level_draws_from_given_bler_tables(tiny_model, tmp_path, capsys):
    """A table that says every block fails up to 35 dB: the link loses every block at 30 dB,
    where Sionna's shipped table loses none."""
    points = [(0.0, 9, 9), (35.0, 9, 9), (40.0, 0, 9)]
    table = set_point_table(tmp_path / "mcs20.json", 20, points, 1872)
    out = str(tmp_path / "rx.safetensors")
    argv = ["transmit", tiny_model, "--fec", "ldpc", "--mcs", "20", "--snr-db", "30",
            "--fec-level", "abstract", "--lenient", "-o", out]  # fmt: skip
    code, text, err = run(argv, capsys)
    assert code == 0 and "code blocks failed 0 of" in text, err
    code, text, err = run([*argv, "--bler-tables", str(table)], capsys)
    failed, sent = (int(n) for n in _match(r"code blocks failed ([\d,]+) of ([\d,]+)", text))
    assert code == 0 and failed == sent > 0, err


def _match(pattern: str, text: str) -> tuple[str, ...]:
    import re

    found = re.search(pattern, text)
    assert found, text
    return tuple(g.replace(",", "") for g in found.groups())


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--fec", "ldpc", "--mcs", "29", "--snr-db", "10"], "MCS index 29 is not in"),
        (["--fec", "ldpc", "--mcs", "-1", "--snr-db", "10"], "MCS index -1 is not in"),
        (["--fec", "ldpc", "--mcs", "27", "--mcs-table", "qam1024", "--snr-db", "1"], "qam1024"),
        (["--fec", "ldpc", "--mcs", "9", "--snr-db", ""], "expected a number"),
        (["--fec", "ldpc", "--mcs", "9", "--snr-db", "nan"], "finite"),
        (["--fec", "ldpc", "--mcs", "9", "--snr-db", "inf"], "finite"),
        (["--fec", "ldpc", "--mcs", "9"], "needs snr_db"),
        (["--fec", "ldpc", "--snr-db", "10"], "needs --mcs"),
        (["--fec", "ldpc", "--mcs", "9", "--channel", "awgn", "--snr-db", "10"], "analog"),
        (["--fec", "ldpc", "--mcs", "9", "--channel", "bsc", "--p", "0.1"], "drop --channel"),
        (["--mcs", "9", "--channel", "bsc", "--p", "0.1"], "--mcs needs --fec ldpc"),
        (["--fading", "rayleigh"], "--fading needs --fec ldpc"),
        (["--fec", "ldpc", "--mcs", "9", "--snr-db", "1", "--code-rate", "0.5"], "code rate"),
        (["--fec", "ldpc", "--mcs", "9", "--snr-db", "1", "--fec-level", "x"], "invalid choice"),
        (
            ["--fec", "ldpc", "--mcs", "9", "--snr-db", "1", "--bler-tables", "t.json"],
            "needs --fec-level abstract",
        ),
        (
            [
                "--fec",
                "ldpc",
                "--mcs",
                "9",
                "--snr-db",
                "1",
                "--fec-level",
                "abstract",
                "--bler-tables",
                "missing.json",
            ],
            "not found",
        ),
    ],
)
def test_cli_bad_input_is_one_line(tiny_model, tmp_path, capsys, extra, pattern):
    out = tmp_path / "rx.safetensors"
    code, _, err = run(["transmit", tiny_model, "-o", str(out), *extra], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and pattern in err, err
    assert not out.exists()
