"""The codec commands of the CLI, run in-process and (once) as the installed console script."""

import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from symcodec.cli import main
from symcodec.codec import inspect
from symcodec.symmetry import get_symmetry


@pytest.fixture()
def model_file(tmp_path):
    g = torch.Generator().manual_seed(0)
    sym = get_symmetry("central-skew")
    sd = {
        "conv1.weight": sym.project(torch.randn(8, 1, 3, 3, generator=g)),
        "conv1.bias": torch.randn(8, generator=g),
        "conv2.weight": sym.project(torch.randn(16, 8, 3, 3, generator=g)),
        "fc.weight": torch.randn(10, 16, generator=g),
    }
    path = tmp_path / "model.safetensors"
    save_file(sd, str(path))
    return path, sd


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, pattern):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("symcodec: error: ")
    assert pattern in lines[0], lines[0]
    assert "Traceback" not in err


def test_encode_info_decode_round_trip(model_file, tmp_path, capsys):
    path, sd = model_file
    out = tmp_path / "m.symc"
    code, text, _ = run(
        ["encode", path, "-o", out, "--symmetry", "central-skew", "--bits", "32"], capsys
    )
    assert code == 0 and out.exists()
    assert "values sent" in text
    acc = inspect(out.read_bytes())
    assert acc.values_sent == 8 * 4 + 8 + 16 * 8 * 4 + 160

    code, text, _ = run(["info", out], capsys)
    assert code == 0
    assert "conv2.weight" in text and "central-skew" in text and "dof" in text
    assert "against full float32" in text and "against full at the same bits" in text

    received = tmp_path / "r.safetensors"
    code, _, _ = run(["decode", out, "-o", received], capsys)
    assert code == 0
    back = load_file(str(received))
    for key in sd:
        assert torch.equal(back[key], sd[key])


def test_pt_files_are_read_with_weights_only(model_file, tmp_path, capsys):
    _, sd = model_file
    pt = tmp_path / "model.pt"
    torch.save(sd, pt)
    code, _, _ = run(["encode", pt, "-o", tmp_path / "m.symc", "--symmetry", "central"], capsys)
    assert code == 0


def test_pickle_payload_is_refused(tmp_path, capsys):
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "evil.pt"
    with open(bad, "wb") as f:
        pickle.dump({"w": Evil()}, f)
    code, _, err = run(["encode", bad, "-o", tmp_path / "x.symc"], capsys)
    assert_one_line_error(code, err, "not a loadable torch weights file")
    assert not marker.exists()
    assert not (tmp_path / "x.symc").exists()


def test_symmetries_table(capsys):
    code, text, _ = run(["symmetries", "--kernel", "5"], capsys)
    assert code == 0
    row = next(line for line in text.splitlines() if line.startswith("central-skew"))
    assert " 12 " in row
    code, text, _ = run(["symmetries", "--kernel", "3x5"], capsys)
    assert code == 0 and "n/a" in text


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["encode", "{missing}", "-o", "{out}"], "no such file"),
        (["encode", "{dir}", "-o", "{out}"], "is a directory"),
        (["encode", "{model}", "-o", "{out}", "--symmetry", "spiral"], "unknown symmetry"),
        (["encode", "{model}", "-o", "{out}", "--bits", "1"], "bits must be in 2..16 or 32"),
        (["encode", "{model}", "-o", "{out}", "--bits", "17"], "bits must be in 2..16 or 32"),
        (["encode", "{model}", "-o", "{dir}/x.txt"], "must end in .symc"),
        (["encode", "{model}", "-o", "{dir}/nodir/x.symc"], "does not exist"),
        (["encode", "{text}", "-o", "{out}"], "unsupported model file type"),
        (["encode", "{fake_st}", "-o", "{out}"], "not a valid safetensors file"),
        (["encode", "{model}", "-o", "{out}", "--frobnicate"], "unrecognized arguments"),
        (["decode", "{missing}", "-o", "{dir}/r.safetensors"], "no such file"),
        (["decode", "{text}", "-o", "{dir}/r.safetensors"], "wrong magic"),
        (["decode", "{truncated}", "-o", "{dir}/r.safetensors"], "truncated"),
        (["decode", "{corrupt}", "-o", "{dir}/r.safetensors"], "CRC mismatch in tensor"),
        (["decode", "{version}", "-o", "{dir}/r.safetensors"], "unsupported .symc format version"),
        (["info", "{text}"], "wrong magic"),
        (["symmetries", "--kernel", "0"], "kernel must be"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(argv, pattern, model_file, tmp_path, capsys):
    path, _ = model_file
    good = tmp_path / "good.symc"
    assert main(["encode", str(path), "-o", str(good), "--symmetry", "central-skew"]) == 0
    blob = good.read_bytes()
    files = {
        "model": path,
        "missing": tmp_path / "missing.safetensors",
        "dir": tmp_path,
        "out": tmp_path / "out.symc",
        "text": tmp_path / "notes.txt",
        "fake_st": tmp_path / "fake.safetensors",
        "truncated": tmp_path / "truncated.symc",
        "corrupt": tmp_path / "corrupt.symc",
        "version": tmp_path / "version.symc",
    }
    files["text"].write_text("hello\n")
    files["fake_st"].write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{bad}")
    files["truncated"].write_bytes(blob[: len(blob) // 2])
    corrupt = bytearray(blob)
    corrupt[-5] ^= 0xFF
    files["corrupt"].write_bytes(bytes(corrupt))
    files["version"].write_bytes(blob[:4] + b"\x00\x07" + blob[6:])
    capsys.readouterr()
    before = set(os.listdir(tmp_path))
    code, _, err = run([a.format(**files) for a in argv], capsys)
    assert_one_line_error(code, err, pattern)
    # no output file, and no temporary file left behind
    assert set(os.listdir(tmp_path)) == before


def test_every_command_has_help(capsys):
    for command in ["encode", "decode", "info", "symmetries", "demo"]:
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        assert "usage: symcodec " + command in capsys.readouterr().out


def test_console_script_exit_status(tmp_path):
    exe = shutil.which("symcodec", path=os.path.dirname(sys.executable))
    assert exe, "the symcodec console script is installed beside the interpreter"
    proc = subprocess.run(
        [exe, "info", str(tmp_path / "nope.symc")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"symcodec: error: {tmp_path / 'nope.symc'}: no such file"
