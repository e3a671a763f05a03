"""``symcodec train``, ``analyze`` and ``transmit`` end to end on the embedded MNIST subset."""

import re

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from symcodec.cli import main
from symcodec.symmetry import get_symmetry


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A deepcnn-gap trained for 80 steps of 32 images under central-skew on mnist-5k."""
    path = tmp_path_factory.mktemp("train") / "cs.safetensors"
    code = main(
        [
            "train",
            "--dataset",
            "mnist-5k",
            "--model",
            "deepcnn-gap",
            "--symmetry",
            "central-skew",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--max-steps",
            "80",
            "--lr",
            "3e-3",
            "--seed",
            "0",
            "--no-progress",
            "-o",
            str(path),
        ]
    )
    assert code == 0
    return path


def test_train_writes_a_symmetric_model_with_metadata(trained):
    sd = load_file(str(trained))
    sym = get_symmetry("central-skew")
    kernels = [k for k, v in sd.items() if v.dim() == 4]
    assert len(kernels) == 4
    assert all(sym.is_symmetric(sd[k]) for k in kernels)
    with safe_open(str(trained), "pt") as f:
        meta = f.metadata()
    assert meta["model"] == "deepcnn-gap" and meta["symmetry"] == "central-skew"
    assert meta["dataset"] == "mnist-5k" and meta["seed"] == "0" and meta["steps"] == "80"
    assert float(meta["accuracy"]) > 40.0  # chance is 10%


def test_analyze_marks_the_training_symmetry(trained, tmp_path, capsys):
    plot = tmp_path / "filters.png"
    assert main(["analyze", str(trained), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "closest symmetry overall: central-skew" in out
    distance_rows = [line for line in out.splitlines() if re.match(r"conv\d\.weight +\d+x", line)]
    assert len(distance_rows) == 4
    for line in distance_rows:
        assert re.search(r"0\.000\*", line), line
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analyze_finds_the_strongest_exact_symmetry(tmp_path, capsys):
    # a d4-symmetric kernel is also c4-, central-, hflip-... symmetric: d4 has the fewest DoF
    sd = {"k.weight": get_symmetry("d4").project(torch.randn(8, 8, 5, 5))}
    path = tmp_path / "d4.safetensors"
    save_file(sd, str(path))
    assert main(["analyze", str(path)]) == 0
    assert "closest symmetry overall: d4" in capsys.readouterr().out


def test_transmit_reports_link_and_accuracies(trained, tmp_path, capsys):
    out = tmp_path / "rx.safetensors"
    argv = ["transmit", str(trained), "--symmetry", "central-skew", "--bits", "6"]
    argv += ["--channel", "bpsk-awgn", "--ebn0-db", "4", "--seed", "3", "-o", str(out)]
    assert main(argv + ["--dataset", "mnist-5k"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"bit errors [\d,]+ of [\d,]+ payload bits", text)
    assert re.search(r"latency [\d.]+ ms = encode [\d.]+ \+ air [\d.]+ \+ decode", text)
    acc = re.search(r"accuracy: Tx ([\d.]+)%  Tx,q ([\d.]+)%  Rx ([\d.]+)%", text)
    assert acc, text
    tx, txq, rx = map(float, acc.groups())
    assert tx > 40 and abs(txq - tx) < 5
    received = load_file(str(out))
    assert get_symmetry("central-skew").is_symmetric(received["conv2.weight"])
    # the same seed gives the same received model
    again = tmp_path / "rx2.safetensors"
    assert main(argv[:-2] + ["-o", str(again)]) == 0
    second = load_file(str(again))
    assert all(torch.equal(received[k], second[k]) for k in received)


def test_transmit_analog_equal_energy(trained, capsys):
    argv = ["transmit", str(trained), "--symmetry", "central-skew", "--mode", "full-project"]
    argv += ["--channel", "awgn", "--snr-db", "20", "--equal-energy"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    # kernels pay 10 log10(9/4) = 3.52 dB for sending 9 values per 4 DoF; biases do not
    assert "SNR per value (dB): 16.48, 20.00" in text


@pytest.mark.parametrize(
    "extra, pattern",
    [
        (["--channel", "bpsk-awgn"], "ebn0_db"),
        (["--channel", "awgn", "--snr-db", "nan"], "finite"),
        (["--channel", "bsc", "--p", "1.5"], "p"),
        (["--channel", "teleport"], "unknown channel"),
        (["--alpha", "2"], "alpha"),
        (["--dataset", "imagenet"], "unknown dataset"),
    ],
)
def test_transmit_bad_input(trained, tmp_path, extra, pattern, capsys):
    out = tmp_path / "rx.safetensors"
    code = main(["transmit", str(trained), "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and pattern in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["train", "--dataset", "nope", "-o", "{dir}/m.safetensors"], "unknown dataset"),
        (["train", "--model", "resnet", "-o", "{dir}/m.safetensors"], "unknown model"),
        (["train", "--symmetry", "spiral", "-o", "{dir}/m.safetensors"], "unknown symmetry"),
        (["train", "--epochs", "-1", "-o", "{dir}/m.safetensors"], "non-negative"),
        (["train", "--device", "cuda:0", "-o", "{dir}/m.safetensors"], "CUDA"),
        (["train", "-o", "{dir}/m.txt"], "must end in .safetensors"),
        (["analyze", "{dir}/missing.safetensors"], "no such file"),
        (["analyze", "{dir}"], "is a directory"),
    ],
)
def test_train_analyze_bad_input(argv, pattern, tmp_path, capsys):
    code = main([a.format(dir=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and pattern in err, err
    assert list(tmp_path.iterdir()) == []
