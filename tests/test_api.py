"""The top-level API: symcodec.encode / decode / save_file / load_file / transmit."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import symcodec
from symcodec.cli import main


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return symcodec.models.build_model("deepcnn")


def test_module_and_state_dict_give_the_same_stream():
    model = _model()
    from_module = symcodec.encode(model, symmetry="central-skew", bits=8)
    from_state = symcodec.encode(model.state_dict(), symmetry="central-skew", bits=8)
    assert from_module == from_state


def test_decode_into_fills_the_models_own_storage():
    model = _model(0)
    blob = symcodec.encode(model, symmetry="central-skew", bits=8)
    expected = symcodec.decode(blob)
    target = _model(1)
    pointers = {k: v.data_ptr() for k, v in target.state_dict().items()}
    assert symcodec.decode(blob, into=target) is target
    after = target.state_dict()
    assert {k: v.data_ptr() for k, v in after.items()} == pointers  # written in place
    for name, tensor in expected.items():
        assert torch.equal(after[name], tensor), name
    sym = symcodec.get_symmetry("central-skew")
    assert sym.is_symmetric(after["conv1.weight"])


def test_a_symmetrized_model_is_sent_under_plain_names():
    model = symcodec.symmetrize(_model(), "central")
    plain = symcodec.plain_state_dict(model)
    assert "conv1.weight" in plain and not any("parametrizations" in k for k in plain)
    blob = symcodec.encode(model, symmetry="central", bits=8)
    received = symcodec.decode(blob)
    assert sorted(received) == sorted(plain)
    # ... and can be received into a symmetrized model (through its parametrization)
    target = symcodec.symmetrize(_model(1), "central")
    symcodec.decode(blob, into=target)
    assert torch.equal(target.conv1.weight, received["conv1.weight"])


def test_save_and_load_file_round_trip(tmp_path):
    model = _model()
    path = tmp_path / "m.symc"
    symcodec.save_file(model, path, symmetry="hflip", bits=8)
    assert path.read_bytes() == symcodec.encode(model, symmetry="hflip", bits=8)
    loaded = symcodec.load_file(path)
    assert torch.equal(loaded["fc1.weight"], symcodec.decode(path.read_bytes())["fc1.weight"])


def test_transmit_takes_a_model_and_plan_arguments():
    rx = symcodec.transmit(
        _model(), symcodec.channel.make_channel("ideal"), symmetry="central-skew", bits=8
    )
    assert torch.equal(
        rx.state_dict["conv1.weight"],
        symcodec.decode(symcodec.encode(_model(), symmetry="central-skew", bits=8))["conv1.weight"],
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda b: symcodec.decode(b, into=42), "into must be an nn.Module or a state dict"),
        (lambda b: symcodec.decode(b, into=torch.nn.Conv2d(1, 2, 3)), "conv1"),
        (lambda b: symcodec.encode([1, 2]), "expected an nn.Module or a state dict"),
        (
            lambda b: symcodec.encode(
                _model(),
                bits=4,
                plan=symcodec.codec.TransmissionPlan.default(_model().state_dict()),
            ),
            "give either plan= or the plan arguments",
        ),
        (lambda b: symcodec.save_file(_model(), "/tmp/x.bin"), "must end in .symc"),
    ],
)
def test_bad_arguments_get_one_line_errors(call, message):
    blob = symcodec.encode(_model(), symmetry="central-skew", bits=8)
    with pytest.raises(symcodec.SymcodecError, match=message) as info:
        call(blob)
    assert "\n" not in str(info.value)


def test_the_core_import_needs_no_study_packages():
    code = (
        "import sys, symcodec\n"
        "heavy = [m for m in ('matplotlib', 'mlxtend', 'ray', 'sklearn', 'pandas') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_option_names_the_program_once(capsys):
    assert main(["symmetries", "--frobnicate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("symcodec: error: ") and err.count("symcodec") == 1
    assert "unrecognized arguments: --frobnicate" in err
