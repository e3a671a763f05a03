"""5G NR links over Sionna (symcodec.channel.nr): MCS tables, transport format, bit-true and
abstracted transmission. Skipped when the ``links`` extra (sionna-no-rt) is not installed.

Small transport blocks keep the bit-true runs short (Sionna's BP decoder is pure PyTorch).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from nr_support import one_torch_thread, wilson_99  # noqa: F401 (autouse fixture)

from symcodec.channel.nr import (
    NrAbstractLink,
    NrLdpcLink,
    backend,
    lookup_mcs,
    nr_abstract,
    nr_ldpc,
    transport_format,
)
from symcodec.channel.nr.transport import erased_bytes
from symcodec.errors import SymcodecError

# symcodec.channel.nr imports Sionna lazily; skip without importing it (importing Sionna reseeds
# torch's global generator, see symcodec.channel.nr.backend)
if not backend.sionna_available():
    pytest.skip("needs the links extra (sionna-no-rt)", allow_module_level=True)

SMALL = {"mcs_index": 9, "symbols_per_tb": 100}  # QPSK R 679/1024: 128-bit TBs, one CB of 144


def random_bytes(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


@pytest.fixture(scope="module")
def small_link() -> NrLdpcLink:
    return NrLdpcLink(SMALL["mcs_index"], symbols_per_tb=SMALL["symbols_per_tb"])


@pytest.fixture(scope="module")
def small_abstract() -> NrAbstractLink:
    return NrAbstractLink(SMALL["mcs_index"], symbols_per_tb=SMALL["symbols_per_tb"])


def test_loading_sionna_keeps_torch_global_rng():
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    backend.require_sionna()
    assert torch.equal(torch.rand(3), expected)


def test_missing_extra_is_one_line_error(monkeypatch):
    monkeypatch.setattr(backend, "sionna_available", lambda: False)
    with pytest.raises(SymcodecError, match=r"install symcodec\[links\]") as info:
        backend.require_sionna()
    assert "\n" not in str(info.value)


# -- MCS tables --------------------------------------------------------------------------


def test_mcs_known_entries_of_38_214():
    m = lookup_mcs(9)  # Table 5.1.3.1-1: Q_m 2, R x 1024 = 679
    assert (m.table, m.bits_per_symbol, m.code_rate * 1024, m.modulation) == (
        "qam64",
        2,
        679,
        "QPSK",
    )
    assert m.spectral_efficiency == pytest.approx(2 * 679 / 1024)
    assert (lookup_mcs(28).bits_per_symbol, lookup_mcs(28).code_rate * 1024) == (6, 948)
    top = lookup_mcs(27, "qam256")  # Table 5.1.3.1-2
    assert (top.bits_per_symbol, top.code_rate * 1024, top.modulation) == (8, 948, "256-QAM")
    assert lookup_mcs(20, "qam256").code_rate * 1024 == pytest.approx(682.5)
    assert (
        lookup_mcs(0, "qam64-lowse").code_rate * 1024,
        lookup_mcs(26, "qam1024").bits_per_symbol,
    ) == (30, 10)


@pytest.mark.parametrize(
    ("index", "table"),
    [(29, "qam64"), (-1, "qam64"), (28, "qam256"), (27, "qam1024"), (31, "qam64-lowse")],
)
def test_mcs_outside_table_refused(index, table):
    with pytest.raises(SymcodecError, match=f"MCS index {index} is not in NR MCS table {table}"):
        lookup_mcs(index, table)


@pytest.mark.parametrize("index", [9.0, True, "9", None])
def test_mcs_index_must_be_integer(index):
    with pytest.raises(SymcodecError, match="MCS index must be an integer"):
        lookup_mcs(index)


def test_unknown_mcs_table_refused():
    with pytest.raises(SymcodecError, match="unknown NR MCS table 'table1'"):
        lookup_mcs(9, "table1")
    with pytest.raises(SymcodecError, match="MCS index 29 is not in"):
        nr_ldpc.transmit_bytes(b"x", mcs_index=29, snr_db=10.0, seed=0)


# -- transport format and air time -------------------------------------------------------


def test_air_time_matches_hand_computation(small_abstract):
    # QPSK, R = 679/1024, 100 symbols per TB: G = 200 coded bits, N_info = R G = 132.6;
    # 38.214 5.1.3.2: n = max(3, floor(log2 132.6) - 6) = 3, N'_info = 8 floor(132.6 / 8) = 128,
    # the TBS table's smallest entry >= 128 is 128; TB CRC 16, one CB of K = 144 bits.
    fmt = small_abstract.fmt
    assert (fmt.coded_bits, fmt.tb_bits, fmt.tb_crc_bits, fmt.num_cbs, fmt.cb_bits) == (
        200, 128, 16, 1, 144,
    )  # fmt: skip
    assert fmt.cw_bits == (200,) and fmt.code_rate == 128 / 200
    link = NrAbstractLink(9, symbols_per_tb=100, symbol_rate_hz=2e6)
    result = link.transmit_bytes(bytes(100), snr_db=30.0, seed=0)
    # 100 bytes = 800 bits in TBs of 128 bits: 7 TBs (the last one padded), 100 symbols each
    assert (result.transport_blocks, result.code_blocks, result.channel_uses) == (7, 7, 700)
    assert result.air_time_s == pytest.approx(700 / 2e6)
    # Eb/N0 per payload bit: 128 payload bits on 100 symbols
    assert result.ebn0_db == pytest.approx(30.0 - 10 * math.log10(128 / 100))
    again = link.transmit_bytes(bytes(100), ebn0_db=result.ebn0_db, seed=0)
    assert again.snr_db == pytest.approx(30.0)


def test_multi_cb_format_and_erasure_spans():
    # 64-QAM R = 910/1024 on 2000 symbols: a 10.6 kbit TB in C = 2 CBs, each with a CRC24B
    fmt = transport_format(lookup_mcs(27), 2000)
    assert fmt.num_cbs == 2 and fmt.cb_crc_bits == 24 and fmt.tb_crc_bits == 24
    assert fmt.num_cbs * (fmt.cb_bits - 24) == fmt.tb_bits + 24 and sum(fmt.cw_bits) == 12000
    failed = np.array([[True, False], [False, False]])
    mask = erased_bytes(fmt, failed, 2 * fmt.tb_bytes - 5)
    seg = fmt.cb_bits - 24  # payload+CRC bits per CB
    assert mask[: seg // 8].all() and not mask[-(-seg // 8) : fmt.tb_bytes].any()
    assert not mask[fmt.tb_bytes :].any() and mask.size == 2 * fmt.tb_bytes - 5


def test_format_refuses_rates_sionna_cannot_code():
    with pytest.raises(SymcodecError, match="above 0.95"):
        transport_format(lookup_mcs(28), 10)
    with pytest.raises(SymcodecError, match="1/5"):
        transport_format(lookup_mcs(0), 1000)
    with pytest.raises(SymcodecError, match="symbols_per_tb must be a positive integer"):
        transport_format(lookup_mcs(9), 0)


# -- argument checks (both levels) -------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"snr_db": 3.0, "ebn0_db": 2.0},
        {"snr_db": float("nan")},
        {"snr_db": float("inf")},
        {"ebn0_db": -float("inf")},
        {"snr_db": "3"},
        {"snr_db": True},
    ],
)
def test_snr_must_be_one_finite_number(small_link, small_abstract, kwargs):
    for link in (small_link, small_abstract):
        with pytest.raises(SymcodecError, match="snr_db|ebn0_db"):
            link.transmit_bytes(b"abc", seed=0, **kwargs)


def test_bad_seed_fading_payload_refused(small_abstract):
    with pytest.raises(SymcodecError, match="seed"):
        small_abstract.transmit_bytes(b"abc", snr_db=3.0, seed=None)
    with pytest.raises(SymcodecError, match="unknown fading"):
        small_abstract.transmit_bytes(b"abc", snr_db=3.0, fading="rician", seed=0)
    with pytest.raises(SymcodecError, match="payload"):
        small_abstract.transmit_bytes([1, 2, 3], snr_db=3.0, seed=0)


# -- bit-true ----------------------------------------------------------------------------


def test_bit_true_high_snr_reproduces_payload(small_link):
    payload = random_bytes(301)
    for fading, snr_db in (("awgn", 12.0), ("rayleigh", 30.0)):
        r = small_link.transmit_bytes(payload, snr_db=snr_db, fading=fading, seed=3)
        assert r.received == payload and r.level == "bit-true"
        assert (r.failed_code_blocks, r.erased_bytes, r.residual_bit_errors) == (0, 0, 0)
        assert r.code_blocks == r.transport_blocks == 19  # ceil(301 / 16)


def test_bit_true_multi_cb_high_snr_exact():
    payload = random_bytes(1300, seed=2)  # one TB of 1345 bytes, padded
    r = nr_ldpc.transmit_bytes(payload, mcs_index=27, symbols_per_tb=2000, snr_db=30.0, seed=1)
    assert r.received == payload and (r.transport_blocks, r.code_blocks) == (1, 2)
    assert r.failed_code_blocks == 0 and r.residual_bit_errors == 0


def test_bit_true_very_low_snr_erases_everything(small_link):
    payload = random_bytes(100, seed=1)
    r = small_link.transmit_bytes(payload, snr_db=-10.0, seed=0)
    assert r.failed_code_blocks == r.code_blocks == 7 and r.bler == 1.0
    assert r.erased_mask.all() and r.erased_bytes == 100 and r.received == bytes(100)
    assert r.residual_bit_errors == 0  # nothing is delivered as good


def test_bit_true_is_deterministic_per_seed(small_link):
    payload = random_bytes(160, seed=4)
    a, b = (small_link.transmit_bytes(payload, snr_db=3.5, seed=7) for _ in range(2))
    c = small_link.transmit_bytes(payload, snr_db=3.5, seed=8)
    assert a.received == b.received and np.array_equal(a.erased_mask, b.erased_mask)
    assert a.failed_code_blocks == b.failed_code_blocks
    assert not np.array_equal(a.erased_mask, c.erased_mask)
    # bytes of failed CBs are zero; the others are exact (the CRC caught every error here)
    ok = ~a.erased_mask
    got, sent = np.frombuffer(a.received, np.uint8), np.frombuffer(payload, np.uint8)
    assert np.array_equal(got[ok], sent[ok]) and not got[a.erased_mask].any()


# -- abstracted --------------------------------------------------------------------------


def test_abstract_uses_sionna_tables(small_abstract):
    blers = [small_abstract.block_error_rate(snr_db=s) for s in (-5.0, 2.0, 3.0, 4.0, 15.0)]
    assert blers[0] == pytest.approx(1.0) and blers[-1] == 0.0
    assert all(a >= b for a, b in zip(blers, blers[1:], strict=False))
    r = small_abstract.transmit_bytes(random_bytes(1600), snr_db=3.0, seed=0)  # 100 CBs
    lo, hi = wilson_99(r.failed_code_blocks, r.code_blocks)
    assert lo <= blers[2] <= hi and r.residual_bit_errors == 0 and r.level == "abstract"
    sent, got = np.frombuffer(random_bytes(1600), np.uint8), np.frombuffer(r.received, np.uint8)
    assert np.array_equal(got[~r.erased_mask], sent[~r.erased_mask])
    assert not got[r.erased_mask].any() and r.erased_bytes == 16 * r.failed_code_blocks


def test_abstract_rayleigh_is_worse_than_awgn_and_seeded(small_abstract):
    payload = random_bytes(16 * 400)
    awgn = small_abstract.transmit_bytes(payload, snr_db=6.0, seed=1)
    ray = small_abstract.transmit_bytes(payload, snr_db=6.0, fading="rayleigh", seed=1)
    again = small_abstract.transmit_bytes(payload, snr_db=6.0, fading="rayleigh", seed=1)
    assert awgn.bler < 0.05 < ray.bler < 1.0
    assert np.array_equal(ray.erased_mask, again.erased_mask)
    with pytest.raises(SymcodecError, match="EESM"):
        NrAbstractLink(12, "qam64-lowse", symbols_per_tb=300).transmit_bytes(
            payload, snr_db=6.0, fading="rayleigh", seed=0
        )


def test_abstract_refuses_mcs_without_table():
    with pytest.raises(SymcodecError, match="no BLER table for MCS 2 of qam64"):
        nr_abstract.transmit_bytes(b"abc", mcs_index=2, symbols_per_tb=100, snr_db=1.0, seed=0)
