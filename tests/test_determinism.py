"""The same inputs and seeds give the same bytes in separate processes, whatever the hash
seed: bitstreams from ``symcodec encode`` and models from ``symcodec train`` (whose metadata
differ only in their creation time).

(Study results across runs and executors: tests/test_interrupt.py and
tests/test_experiment.py.)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def _symcodec(args: list, hash_seed: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.run(
        [sys.executable, "-m", "symcodec", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_encode_gives_the_same_bytes_in_separate_processes(tmp_path):
    g = torch.Generator().manual_seed(3)
    model = tmp_path / "model.safetensors"
    save_file(
        {
            "conv.weight": torch.randn(16, 8, 3, 3, generator=g),
            "conv.bias": torch.randn(16, generator=g),
            "fc.weight": torch.randn(10, 64, generator=g),
        },
        str(model),
    )
    digests = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"model-{hash_seed}.symc"
        done = _symcodec(
            ["encode", model, "-o", out, "--symmetry", "central-skew", "--bits", "5"], hash_seed
        )
        assert done.returncode == 0, done.stderr
        digests.append(_digest(out))
    assert digests[0] == digests[1]


def _weights_and_metadata(path) -> tuple[dict, dict]:
    with safe_open(str(path), "pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    metadata.pop("created")  # a timestamp and a wall time: the fields allowed to differ
    metadata.pop("train_seconds")
    return tensors, metadata


def test_train_gives_the_same_weights_in_separate_processes(tmp_path):
    runs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"model-{hash_seed}.safetensors"
        args = ["train", "--dataset", "mnist-5k", "--model", "deepcnn-gap"]
        args += ["--symmetry", "central-skew", "--epochs", "1", "--max-steps", "4"]
        args += ["--seed", "7", "-o", out]
        done = _symcodec(args, hash_seed)
        assert done.returncode == 0, done.stderr
        runs.append(_weights_and_metadata(out))
    (first, meta_first), (second, meta_second) = runs
    assert meta_first == meta_second
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
