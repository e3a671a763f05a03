"""``--symmetry auto`` (issue 14): a symmetry per conv layer from calibration images; the
choice round-trips through the stream and every chosen layer is exactly symmetric."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symcodec.cli import main
from symcodec.codec import decode, encode, inspect
from symcodec.codec.symmetry_choice import auto_plan, choose_symmetries
from symcodec.constrain import train_symmetric
from symcodec.data import load_dataset
from symcodec.io import save_state_dict
from symcodec.models import build_model
from symcodec.symmetry import get_symmetry
from symcodec.training import TrainConfig


@pytest.fixture(scope="module")
def half_symmetric():
    """A small net trained 200 steps with conv 0 central-skew and conv 3 unconstrained."""
    torch.set_num_threads(1)
    data = load_dataset("mnist-5k")
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 49, 10),
    )
    config = TrainConfig(epochs=1, batch_size=64, lr=3e-3, max_steps=200)
    train_symmetric(net, "central-skew", data.train_x, data.train_y, config, layers=["0"])
    return net, (data.train_x[:256], data.train_y[:256])


def test_a_layer_trained_symmetric_gets_its_symmetry_back(half_symmetric):
    net, calibration = half_symmetric
    choice = choose_symmetries(net, calibration, max_loss_increase=1e-6)
    by_name = {layer.name: layer for layer in choice.layers}
    assert set(by_name) == {"0.weight", "3.weight"}
    assert by_name["0.weight"].symmetry == "central-skew"
    assert by_name["0.weight"].loss_increase == 0.0 and by_name["0.weight"].dof == 8 * 4
    assert by_name["3.weight"].symmetry == "none"  # every projection costs a trained layer
    assert len(by_name["3.weight"].candidates) == 13  # none and the 12 named symmetries


def test_the_chosen_plan_round_trips_and_its_layers_are_symmetric(half_symmetric):
    net, calibration = half_symmetric
    state = net.state_dict()
    choice = choose_symmetries(net, calibration, max_loss_increase=0.05)
    plan = auto_plan(state, choice, coder="ans", step=2.0**-7)
    assert plan.notes[-1].startswith("symmetry auto: 0.weight: ")
    blob = encode(state, plan)
    received = decode(blob)
    records = {t.name: t for t in inspect(blob).tensors}
    for layer in choice.layers:
        assert records[layer.name].symmetry == ("-" if layer.symmetry == "none" else layer.symmetry)
        if layer.symmetry != "none":
            assert get_symmetry(layer.symmetry).is_symmetric(received[layer.name])
            assert records[layer.name].values_sent == layer.dof
    assert choice.joint_loss_increase <= 0.05 * len(choice.layers) + 1e-6


def test_encode_symmetry_auto_reports_the_choice(tmp_path, capsys):
    torch.manual_seed(0)
    model = build_model("deepcnn-gap")
    path = tmp_path / "gap.safetensors"
    save_state_dict(path, model.state_dict(), {"model": "deepcnn-gap", "dataset": "mnist-5k"})
    out = tmp_path / "gap.symc"
    code = main(
        ["encode", str(path), "-o", str(out), "--symmetry", "auto", "--calibration-images", "16"]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "note: symmetry auto: conv1.weight: " in text
    received = decode(out.read_bytes())
    for record in inspect(out.read_bytes()).tensors:
        if record.mode == "dof":
            assert get_symmetry(record.symmetry).is_symmetric(received[record.name])
