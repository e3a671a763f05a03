"""Measured BLER curves for the NR abstraction (symcodec.channel.nr.bler_measure, bler_table,
``symcodec measure-bler``, a study's ``[channel] bler_tables``), on a small transport block
(100 symbols, one CB of 144 bits) so the bit-true runs take seconds."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from symcodec.channel.nr import backend

if not backend.sionna_available():
    pytest.skip("needs the links extra (sionna-no-rt)", allow_module_level=True)

from nr_support import (  # noqa: E402, F401 (one_torch_thread: an autouse fixture)
    one_torch_thread,
    set_point_table,
    wilson_99,
)

from symcodec.channel.nr import (  # noqa: E402
    BlerCurve,
    BlerPoint,
    NrAbstractLink,
    NrLdpcLink,
    count_block_errors,
    measure_bler_curve,
    write_bler_table,
)
from symcodec.cli import main  # noqa: E402
from symcodec.errors import SymcodecError  # noqa: E402
from symcodec.receiver.nr_protection import NrProtection  # noqa: E402
from symcodec.receiver.unequal_protection import protection_channels  # noqa: E402
from symcodec.study import StudySpec, parse_study, spec_id  # noqa: E402
from symcodec.study.spec_parsing import load_study  # noqa: E402

MCS, SYMBOLS = 9, 100
MIN_FAILURES, MAX_BLOCKS = 100, 300


@pytest.fixture(scope="module")
def link() -> NrLdpcLink:
    return NrLdpcLink(MCS, symbols_per_tb=SYMBOLS)


@pytest.fixture(scope="module")
def curve(link) -> BlerCurve:
    return measure_bler_curve(
        link, step_db=0.5, min_failures=MIN_FAILURES, max_blocks=MAX_BLOCKS, seed=3
    )


@pytest.fixture(scope="module")
def table(curve, tmp_path_factory):
    path = tmp_path_factory.mktemp("bler") / f"qam64-mcs{MCS}-{SYMBOLS}.json"
    write_bler_table(path, [curve])
    return path


def test_curve_crosses_the_waterfall_on_its_grid(curve):
    points = curve.points
    assert points[0].bler == 1.0 and points[-1].failed_blocks == 0
    assert any(0.1 < p.bler < 0.9 for p in points)
    assert all(b > a for a, b in zip(curve.snr_dbs, curve.snr_dbs[1:], strict=False))
    assert all(float(p.snr_db / 0.5).is_integer() for p in points)
    for p in points:  # the stopping rule, exactly (one CB per TB, batches never overshoot)
        assert p.failed_blocks == MIN_FAILURES or p.sent_blocks == MAX_BLOCKS
        assert p.sent_blocks <= MAX_BLOCKS
    assert points[0].sent_blocks == MIN_FAILURES  # every block lost: stops at the count


def test_a_point_depends_on_its_grid_position_not_on_the_sweep(link, curve):
    """A sweep started elsewhere measures the same noise at the SNRs both visit."""
    other = measure_bler_curve(
        link, step_db=0.5, min_failures=MIN_FAILURES, max_blocks=MAX_BLOCKS, seed=3,
        start_db=curve.snr_dbs[-1],
    )  # fmt: skip
    shared = set(curve.snr_dbs) & set(other.snr_dbs)
    assert len(shared) >= 3
    mine = {p.snr_db: p for p in curve.points}
    assert all(mine[p.snr_db] == p for p in other.points if p.snr_db in shared)


def test_abstract_link_returns_the_measured_points(curve, table):
    abstract = NrAbstractLink(MCS, symbols_per_tb=SYMBOLS, bler_tables=[table])
    for p in curve.points:
        assert abstract.block_error_rate(snr_db=p.snr_db) == pytest.approx(p.bler, rel=1e-4)


def test_abstract_on_measured_table_agrees_with_bit_true_between_points(link, curve, table):
    """The abstraction on the measured curve matches an independent bit-true run half way
    between two of the curve's points, in the waterfall (99% CI, 400 CBs)."""
    abstract = NrAbstractLink(MCS, symbols_per_tb=SYMBOLS, bler_tables=[table])
    waterfall = [p.snr_db for p in curve.points if 0.2 < p.bler < 0.8]
    snr_db = waterfall[0] + 0.25
    p = count_block_errors(link, snr_db, min_failures=400, max_blocks=400, seed=99)
    lo, hi = wilson_99(p.failed_blocks, p.sent_blocks)
    assert 0.05 < p.bler < 0.95
    assert lo <= abstract.block_error_rate(snr_db=snr_db) <= hi


def test_table_records_its_format_and_counts(curve, table):
    doc = json.loads(table.read_text())
    (record,) = doc["symcodec"]["curves"]
    assert (record["mcs"], record["symbols_per_tb"], record["cb_bits"]) == (MCS, SYMBOLS, 144)
    assert record["failed_blocks"] == [p.failed_blocks for p in curve.points]
    assert record["sent_blocks"] == [p.sent_blocks for p in curve.points]


def test_a_table_of_another_tb_size_is_refused(table):
    with pytest.raises(SymcodecError, match="measured on 100 symbols per TB; this link sends 120"):
        NrAbstractLink(MCS, symbols_per_tb=120, bler_tables=[table])


def test_an_mcs_the_table_lacks_is_refused(table):
    with pytest.raises(SymcodecError, match="no BLER table for MCS 10"):
        NrAbstractLink(10, symbols_per_tb=SYMBOLS, bler_tables=[table])


def test_bad_curves_and_counts_are_refused(link, curve, tmp_path):
    with pytest.raises(SymcodecError, match="two curves for the same MCS"):
        write_bler_table(tmp_path / "t.json", [curve, curve])
    with pytest.raises(SymcodecError, match="at least two points"):
        BlerCurve(link.fmt, (BlerPoint(1.0, 1, 2),))
    with pytest.raises(SymcodecError, match="must fall"):
        BlerCurve(link.fmt, (BlerPoint(1.0, 2, 2), BlerPoint(2.0, 2, 2)))
    with pytest.raises(SymcodecError, match="min_failures must be a positive integer"):
        count_block_errors(link, 3.0, min_failures=0, max_blocks=10, seed=0)
    with pytest.raises(SymcodecError, match="snr_db must be a finite number"):
        count_block_errors(link, math.nan, min_failures=1, max_blocks=10, seed=0)
    assert not list(tmp_path.iterdir())


def test_measure_bler_command_writes_a_table_the_link_reads(tmp_path, capsys):
    out = tmp_path / "t.json"
    argv = ["measure-bler", "--mcs", str(MCS), "--symbols-per-tb", str(SYMBOLS), "-o", str(out)]
    assert main([*argv, "--min-failures", "10", "--max-blocks", "40", "--seed", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    abstract = NrAbstractLink(MCS, symbols_per_tb=SYMBOLS, bler_tables=[out])
    assert abstract.block_error_rate(snr_db=-10.0) == 1.0  # clamped to the first point


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--mcs", "9", "9"], "lists an index twice"),
        (["--mcs", "40"], "MCS 40"),
        (["--mcs", "9", "--max-blocks", "0"], "count must be an integer >= 1"),
    ],
)
def test_measure_bler_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "t.json"
    code = main(["measure-bler", *extra, "--symbols-per-tb", str(SYMBOLS), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert not out.exists()


# ----------------------------------------------------------------------------- the study
# A study sends TBs of DEFAULT_SYMBOLS_PER_TB symbols; its tables here are written from set
# points (the parsing and plumbing are under test, not the measurement).


@pytest.fixture(scope="module")
def study_tables(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("study-bler")
    paths = []
    for mcs in (4, MCS):
        points = [(0.0, 50, 50), (2.0, 20, 100), (4.0, 0, 400)]
        paths.append(str(set_point_table(folder / f"mcs{mcs}.json", mcs, points)))
    return paths


def _nr_study(tables: list[str], **channel) -> dict:
    return {
        "name": "nr-bler",
        "model": "deepcnn-gap",
        "modes": ["dof"],
        "bits": [8],
        "channel": {"name": "nr-ldpc", "snr_db": [3.0], "mcs": [MCS], "bler_tables": tables,
                    **channel},
    }  # fmt: skip


def test_study_channels_draw_from_tables_named_relative_to_the_study_file(
    study_tables, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    study = tmp_path / "studies" / "s.toml"
    (study.parent / "bler").mkdir(parents=True)
    for path in study_tables:
        (study.parent / "bler" / os.path.basename(path)).write_bytes(Path(path).read_bytes())
    study.write_text(
        'model = "deepcnn-gap"\nmodes = ["dof"]\nbits = [8]\n'
        '[channel]\nname = "nr-ldpc"\nsnr_db = [2.0]\nmcs = [9]\nprotect = ["none", "side"]\n'
        'bler_tables = ["bler/mcs4.json", "bler/mcs9.json"]\n'
    )
    spec = load_study(study)
    assert spec.channel.bler_tables == ("studies/bler/mcs4.json", "studies/bler/mcs9.json")
    channel = spec.channel.make(2.0, MCS)
    assert channel.link.block_error_rate(snr_db=2.0) == pytest.approx(0.2, rel=1e-4)
    protection = NrProtection.from_preset("side", mcs=MCS, mcs_table="qam64")
    robust = protection_channels(channel, protection)[4]  # the side tensors' MCS
    assert robust.bler_tables == channel.bler_tables
    assert robust.link.block_error_rate(snr_db=4.0) == 0.0
    assert StudySpec.from_dict(spec.to_dict()) == spec


def test_table_content_is_part_of_the_spec_id(study_tables, tmp_path):
    changed = tmp_path / "mcs9.json"
    doc = json.loads(Path(study_tables[1]).read_text())
    doc["category"]["1"]["index"]["1"]["MCS"]["9"]["CBS"]["24"]["BLER"][1] = 0.3
    changed.write_text(json.dumps(doc))
    base = parse_study(_nr_study(study_tables[1:]))
    assert spec_id(base) != spec_id(parse_study(_nr_study([str(changed)])))
    plain = _nr_study([])
    del plain["channel"]["bler_tables"]
    assert spec_id(parse_study(plain)) != spec_id(base)


@pytest.mark.parametrize(
    "tables, channel, message",
    [
        (["missing.json"], {}, "channel.bler_tables': file not found: missing.json"),
        ([], {}, "non-empty list of file paths"),
        (None, {"level": "bit-true"}, 'apply to level = "abstract"'),
        (None, {"mcs": [10]}, "no BLER table for MCS 10"),
    ],
)
def test_bad_bler_tables_keys_are_refused(study_tables, tables, channel, message):
    doc = _nr_study(study_tables if tables is None else tables, **channel)
    with pytest.raises(SymcodecError, match=message) as info:
        parse_study(doc)
    assert "\n" not in str(info.value)


def test_auto_mcs_plans_with_the_tables(study_tables):
    spec = parse_study(_nr_study(study_tables, mcs="auto"))
    assert spec.channel.mcs_auto and spec.channel.bler_tables == tuple(study_tables)


def test_tables_must_cover_the_protection_mcs(study_tables):
    doc = _nr_study(study_tables[1:], protect=["none", "side"])  # MCS 9's table, not MCS 4's
    with pytest.raises(SymcodecError, match="protection MCS 4 of MCS 9: no BLER table for MCS 4"):
        parse_study(doc)


def test_tables_of_another_tb_size_are_refused_by_the_study(table):
    with pytest.raises(SymcodecError, match="measured on 100 symbols per TB"):
        parse_study(_nr_study([str(table)]))


def test_random_payload_does_not_touch_global_rng(link):
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    count_block_errors(link, 3.0, min_failures=2, max_blocks=4, seed=0)
    assert np.random.random() == expected
