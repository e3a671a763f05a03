"""``symcodec encode --budget-bytes`` / ``--target-accuracy-drop``: the calibration set comes
from the model file's data set; the stream fits; impossible budgets are one line."""

import pytest
import torch

from symcodec.cli import main
from symcodec.io import save_state_dict
from symcodec.models import build_model


@pytest.fixture()
def model_file(tmp_path):
    torch.manual_seed(0)
    model = build_model("deepcnn-gap")
    path = tmp_path / "gap.safetensors"
    save_state_dict(path, model.state_dict(), {"model": "deepcnn-gap", "dataset": "mnist-5k"})
    return path


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


ALLOCATE = ["--symmetry", "central-skew", "--coder", "ans", "--calibration-images", "32"]


def test_encode_fits_the_budget(model_file, tmp_path, capsys):
    out = tmp_path / "m.symc"
    code, text, err = run(
        ["encode", model_file, "-o", out, *ALLOCATE, "--budget-bytes", 20_000], capsys
    )
    assert code == 0, err
    assert out.stat().st_size <= 20_000
    assert "calibration: 32 training images of mnist-5k" in text
    assert "allocation: budget 20,000 bytes" in text
    assert "steps: " in text and "conv1.weight" in text


def test_a_budget_too_small_is_one_line(model_file, tmp_path, capsys):
    code, _, err = run(
        ["encode", model_file, "-o", tmp_path / "m.symc", *ALLOCATE, "--budget-bytes", 500], capsys
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symcodec: error: a budget of 500 bytes")


@pytest.mark.parametrize(
    "extra, pattern",
    [
        (["--budget-bytes", "0"], "budget must be at least 1 byte"),
        (["--budget-bytes", "9000", "--step", "0.01"], "drop --bits/--step"),
        (["--budget-bytes", "9000", "--target-accuracy-drop", "1"], "not allowed with"),
    ],
)
def test_bad_allocation_options(model_file, tmp_path, capsys, extra, pattern):
    code, _, err = run(["encode", model_file, "-o", tmp_path / "m.symc", *ALLOCATE, *extra], capsys)
    assert code == 2 and pattern in err and len(err.strip().splitlines()) == 1, err


def test_encode_meets_an_accuracy_target(model_file, tmp_path, capsys):
    out = tmp_path / "m.symc"
    argv = ["encode", model_file, "-o", out, *ALLOCATE, "--target-accuracy-drop", 2]
    code, text, err = run(argv, capsys)
    assert code == 0, err
    assert "allocation: calibration accuracy >= " in text and out.exists()
