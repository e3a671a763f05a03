"""Link adaptation on the NR link: expected damage from the PHY abstraction's BLER, air time
as a transmission counts it, accuracy-vs-loss curves (measured, saved, from a study), the
choice under each objective, and ``symcodec plan-link``. Skipped without the ``links`` extra."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from symcodec.channel import make_channel
from symcodec.channel.nr import backend
from symcodec.cli import main
from symcodec.codec import TransmissionPlan, encode
from symcodec.codec.format import read_header
from symcodec.errors import SymcodecError
from symcodec.receiver import NrProtection, transmit
from symcodec.receiver.expected_loss import expected_loss
from symcodec.receiver.link_adaptation import choose_mcs, plan_link
from symcodec.receiver.loss_curve import LossCurve, load_loss_curve, write_loss_curve
from symcodec.receiver.loss_measurement import measure_loss_curve

if not backend.sionna_available():
    pytest.skip("needs the links extra (sionna-no-rt)", allow_module_level=True)

from nr_support import set_point_table  # noqa: E402

SYMBOLS = 240
RATE_HZ = 1e6
CURVE = LossCurve(
    {"kernel": ((0.01, 0.5), (0.1, 5.0)), "side": ((0.01, 2.0), (0.1, 20.0))}, 90.0, "test"
)


def small_state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(4, 8, 3), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


def plan_of(sd):
    return TransmissionPlan.default(sd, symmetry="central-skew", bits=8)


@pytest.fixture(scope="module")
def header():
    sd = small_state_dict()
    return read_header(encode(sd, plan_of(sd)))


def loss_of(header, protection, snr_db):
    return expected_loss(header, protection, snr_db, symbols_per_tb=SYMBOLS, symbol_rate_hz=RATE_HZ)


@pytest.mark.parametrize("preset", ["none", "side", "side+msb"])
def test_air_time_is_what_the_transmission_counts(header, preset):
    sd = small_state_dict()
    protection = NrProtection.from_preset(preset, 16, 6)
    channel = make_channel(
        "nr-ldpc", snr_db=30.0, mcs=16, level="abstract", symbols_per_tb=SYMBOLS, seed=0
    )
    rx = transmit(sd, plan_of(sd), channel, seed=0, protection=protection)
    loss = loss_of(header, protection, 30.0)
    assert loss.channel_uses == rx.channel_uses
    assert loss.air_time_s == pytest.approx(rx.air_time_s)


def test_expected_loss_at_the_extremes(header):
    clean = loss_of(header, NrProtection.from_preset("none", 10), 30.0)
    assert clean.header_loss_probability == 0.0
    assert all(f == 0.0 for f in clean.lost_fraction.values())
    assert clean.expected_drop_pp(CURVE) == 0.0
    dead = loss_of(header, NrProtection.from_preset("none", 10), -10.0)
    assert dead.header_loss_probability == pytest.approx(1.0)
    assert dead.expected_drop_pp(CURVE) == pytest.approx(90.0)
    # protection moves the side losses onto the robust MCS
    mid = loss_of(header, NrProtection.from_preset("side", 20, 5), 10.0)
    assert mid.lost_fraction["side"] == 0.0 and mid.header_loss_probability == 0.0
    assert mid.lost_fraction["kernel"] > 0.5


def test_expected_kernel_loss_matches_abstracted_transmissions():
    """In the waterfall, the expected fraction of kernel values lost agrees with the mean
    fraction the abstracted link erases over many transmissions."""
    torch.manual_seed(1)
    sd = {"conv.weight": torch.randn(32, 16, 3, 3), "fc.weight": torch.randn(4, 8)}
    plan = plan_of(sd)
    header = read_header(encode(sd, plan))
    protection = NrProtection({"header": 4, "side": 4, "kernel-msb": 14, "kernel": 14})
    links = make_channel(
        "nr-ldpc", snr_db=6.5, mcs=14, level="abstract", symbols_per_tb=SYMBOLS, seed=0
    )
    q = links.link.expected_block_error_rate(6.5)
    assert 0.1 < q < 0.9  # the waterfall
    expected = loss_of(header, protection, 6.5).lost_fraction["kernel"]
    values = header.records[0].count
    lost = [
        transmit(sd, plan, links, seed=s, protection=protection).tensors[0].erased_values / values
        for s in range(40)
    ]
    assert abs(np.mean(lost) - expected) < 4 * np.std(lost) / np.sqrt(len(lost)) + 0.02


def test_plan_link_objectives(header):
    kw = {"symbols_per_tb": SYMBOLS, "symbol_rate_hz": RATE_HZ}
    easy = plan_link(header, CURVE, 30.0, max_drop_pp=0.0, **kw)
    assert easy.chosen.mcs >= 27 and easy.chosen.protection.name == "none"
    assert easy.chosen.air_time_ms == min(c.air_time_ms for c in easy.candidates)
    hard = plan_link(header, CURVE, 8.0, max_drop_pp=1.0, **kw)
    assert hard.chosen.expected_drop_pp <= 1.0
    faster = [c for c in hard.candidates if c.air_time_ms < hard.chosen.air_time_ms]
    assert faster and all(c.expected_drop_pp > 1.0 for c in faster)
    budget = plan_link(header, CURVE, 8.0, air_time_budget_ms=hard.chosen.air_time_ms, **kw)
    assert budget.chosen.air_time_ms <= hard.chosen.air_time_ms
    assert budget.chosen.expected_drop_pp <= hard.chosen.expected_drop_pp
    assert plan_link(header, CURVE, -10.0, max_drop_pp=1.0, **kw).chosen is None
    with pytest.raises(SymcodecError, match="exactly one"):
        plan_link(header, CURVE, 8.0, **kw)
    with pytest.raises(SymcodecError, match="presets"):
        plan_link(header, CURVE, 8.0, max_drop_pp=1.0, presets=["msb"], **kw)


def test_measured_curve_and_its_csv(tmp_path):
    sd = small_state_dict()
    plan = plan_of(sd)
    reference = {k: v.clone() for k, v in sd.items()}

    def closeness(state):  # 100 minus the relative error of the model, in %
        err = sum(float((state[k] - reference[k]).norm() ** 2) for k in reference)
        return 100.0 - 100.0 * (err / sum(float(v.norm() ** 2) for v in reference.values()))

    curve = measure_loss_curve(sd, plan, closeness, fractions=(0.05, 0.5), trials=2, seed=0)
    assert set(curve.points) == {"kernel", "kernel-msb-kept", "side"}
    for pts in curve.points.values():
        assert pts[1][1] > pts[0][1] >= 0.0  # more loss, more drop
    # losing the lower bits only costs less than losing the value
    assert curve.drop_pp("kernel-msb-kept", 0.5) < curve.drop_pp("kernel", 0.5)
    path = tmp_path / "curve.csv"
    write_loss_curve(path, curve)
    back = load_loss_curve(path)
    assert back.points == curve.points and back.accuracy_pp == curve.accuracy_pp


def test_study_results_give_a_curve(tmp_path):
    path = tmp_path / "results.csv"
    rows = [("erasure", p, protect, 90.0, 90.0 - drop, mode)
            for p, protect, drop, mode in [
                (0.01, "side", 1.0, "dof"), (0.01, "none", 4.0, "dof"),
                (0.1, "side", 6.0, "dof"), (0.1, "none", 30.0, "dof"),
                (0.1, "none", 50.0, "full")]]  # fmt: skip
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["channel", "channel_value", "protect", "acc_txq", "acc_rx", "mode"])
        out.writerow(["bsc", 0.01, "none", 90.0, 10.0, "dof"])  # not an erasure row
        out.writerows(rows)
    curve = load_loss_curve(path, where={"mode": "dof"})
    assert curve.points["kernel"] == ((0.01, 1.0), (0.1, 6.0))
    assert curve.points["side"] == ((0.01, 3.0), (0.1, 24.0))
    assert curve.accuracy_pp == 90.0
    with pytest.raises(SymcodecError, match="no column 'seed'"):
        load_loss_curve(path, where={"seed": "1"})


def test_cli_plan_link(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    save_file(small_state_dict(), str(model))
    curve = tmp_path / "curve.csv"
    write_loss_curve(curve, CURVE)
    base = ["plan-link", str(model), "--symmetry", "central-skew", "--bits", "8",
            "--symbols-per-tb", str(SYMBOLS), "--snr-db", "8"]  # fmt: skip
    assert main([*base, "--max-drop-pp", "1", "--curve", str(curve)]) == 0
    out = capsys.readouterr().out
    assert "<- chosen" in out and "chosen: MCS" in out and "objective: shortest air time" in out
    assert main([*base, "--max-drop-pp", "1"]) == 2
    assert "exactly one of --curve CSV and --dataset" in capsys.readouterr().err
    assert main([*base, "--curve", str(curve)]) == 2  # no objective
    capsys.readouterr()
    points = [(0.0, 9, 9), (1.0, 3, 9), (2.0, 0, 9)]
    table = set_point_table(tmp_path / "mcs9.json", 9, points, SYMBOLS)
    argv = [*base, "--max-drop-pp", "1", "--curve", str(curve), "--bler-tables", str(table)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "chosen: MCS 9" in out  # the only MCS the table holds


# --------------------------------------------------------------------------------------
# choose_mcs and transmit --auto-mcs


def test_choose_mcs_is_the_fastest_within_the_target(header):
    kw = {"symbols_per_tb": SYMBOLS, "symbol_rate_hz": RATE_HZ}
    choice = choose_mcs(header, 8.0, target_bler=1e-3, **kw)
    within = [c for c in choice.candidates if c.worst_block_error_rate <= 1e-3]
    assert within and choice.chosen in within
    assert choice.chosen.air_time_s == min(c.air_time_s for c in within)
    # the next MCS up misses the target: the choice sits at the edge of the waterfall
    faster = [c for c in choice.candidates if c.mcs > choice.chosen.mcs]
    assert faster and faster[0].worst_block_error_rate > 1e-3
    # a looser target or a higher SNR never chooses a slower MCS
    loose = choose_mcs(header, 8.0, target_bler=0.5, **kw).chosen
    assert loose.air_time_s <= choice.chosen.air_time_s
    assert choose_mcs(header, 20.0, target_bler=1e-3, **kw).chosen.mcs > choice.chosen.mcs
    # protection: every segment within the target, the protected classes at protect_mcs
    side = choose_mcs(header, 8.0, target_bler=1e-3, preset="side", protect_mcs=4, **kw)
    assert side.chosen.protection.mcs["side"] == 4
    assert all(c.mcs >= 4 for c in side.candidates)
    assert choose_mcs(header, -10.0, target_bler=1e-3, **kw).chosen is None
    with pytest.raises(SymcodecError, match="target_bler"):
        choose_mcs(header, 8.0, target_bler=0.0, **kw)
    with pytest.raises(SymcodecError, match="no protect_mcs"):
        choose_mcs(header, 8.0, target_bler=0.1, protect_mcs=3, **kw)


def test_cli_transmit_auto_mcs(tmp_path, capsys):
    """End to end on a tiny model: the MCS choose_mcs picks is printed and used, and the
    stream arrives exact (bit-true LDPC at an SNR the choice keeps clear of the waterfall)."""
    sd = small_state_dict()
    model = tmp_path / "m.safetensors"
    save_file(sd, str(model))
    out = tmp_path / "rx.safetensors"
    base = ["transmit", str(model), "--symmetry", "central-skew", "--bits", "8",
            "--fec", "ldpc", "--symbols-per-tb", str(SYMBOLS), "--snr-db", "12"]  # fmt: skip
    expected = choose_mcs(
        read_header(encode(sd, plan_of(sd))), 12.0, target_bler=1e-4,
        symbols_per_tb=SYMBOLS, symbol_rate_hz=1e6,
    ).chosen  # fmt: skip
    assert main([*base, "--auto-mcs", "--target-bler", "1e-4", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "<- chosen" in text and f"auto MCS: {expected.mcs} (none protection)" in text
    assert f"NR link: MCS {expected.mcs} of qam64" in text and "bit-true" in text
    assert "code blocks failed 0 of" in text
    assert f"air time {1000 * expected.air_time_s:.3f} ms" in text  # as choose_mcs counted
    assert main([*base, "--auto-mcs", "--protect", "side", "--fec-level", "abstract"]) == 0
    assert "protection side" in capsys.readouterr().out
    bad = [
        (["--auto-mcs", "--mcs", "9"], "--auto-mcs chooses the MCS; drop --mcs"),
        (["--target-bler", "0.1", "--mcs", "9"], "--target-bler needs --auto-mcs"),
        (["--auto-mcs", "--target-bler", "2"], "--target-bler must be in (0, 1)"),
        (["--auto-mcs", "--snr-db", "-20"], "no MCS keeps the code block error rate"),
    ]
    for extra, message in bad:
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err.replace("usage:", "").split("error:")[-1]
    for channel in (["--channel", "awgn", "--snr-db", "10"], ["--channel", "bsc", "--p", "0.1"]):
        assert main(["transmit", str(model), *channel, "--auto-mcs"]) == 2
        assert "--auto-mcs needs --fec ldpc" in capsys.readouterr().err
    assert main(["transmit", str(model), "--fec", "ldpc", "--auto-mcs"]) == 2
    assert "--auto-mcs needs --snr-db" in capsys.readouterr().err


def test_measured_tables_restrict_and_move_the_choice(header, tmp_path):
    """With measured BLER tables, only their MCS are scored, at their error rates: a table
    whose MCS 9 curve falls 3 dB later than Sionna's moves choose_mcs down to MCS 4."""
    kw = {"symbols_per_tb": SYMBOLS, "symbol_rate_hz": RATE_HZ}
    tables = []
    for mcs, (fall_db, clear_db) in {4: (-4.0, 0.0), 9: (6.0, 9.0)}.items():
        points = [(fall_db, 9, 9), (fall_db + 1.0, 3, 9), (clear_db, 0, 9)]
        tables.append(set_point_table(tmp_path / f"mcs{mcs}.json", mcs, points, SYMBOLS))
    shipped = choose_mcs(header, 5.0, target_bler=1e-3, **kw)
    assert shipped.chosen.mcs >= 9  # Sionna's tables: MCS 9 is clear at 5 dB
    measured = choose_mcs(header, 5.0, target_bler=1e-3, bler_tables=tables, **kw)
    assert [c.mcs for c in measured.candidates] == [4, 9]
    assert measured.chosen.mcs == 4 and measured.candidates[1].worst_block_error_rate == 1.0
    plan = plan_link(header, CURVE, 5.0, max_drop_pp=1.0, bler_tables=tables, **kw)
    assert {c.mcs for c in plan.candidates} == {4, 9} and plan.chosen.mcs == 4
    with pytest.raises(SymcodecError, match="no MCS of qam64 has a BLER table for 100 symbols"):
        choose_mcs(
            header, 5.0, target_bler=1e-3, bler_tables=tables, **{**kw, "symbols_per_tb": 100}
        )
