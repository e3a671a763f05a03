"""Which trained models a results directory's trials were made with: ``models.json``.

A study resumes from the rows of its ``results.csv`` and trains (or loads from the cache)
the models of the trials still missing. Trained again on another machine, a model of the
same recipe and seed is not the same model: CPU training is not bit-reproducible across
processors (Fashion-MNIST ``deepcnn``, seed 0: 93.46% on one machine, 93.43% on the next).
Rows of the two would then be mixed in one training seed's comparisons, and pairing would
compare different transmitters. So each directory records a digest of the weights of every
model its trials used (:func:`weights_digest`), per training seed, and
:func:`check_models` refuses to add trials with a model that differs from the recorded one.

>>> import torch
>>> a = torch.nn.Linear(2, 1)
>>> weights_digest(a) == weights_digest(a), len(weights_digest(a))
(True, 71)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path

from torch import nn

from ..errors import SymcodecError
from ..io import atomic_open

__all__ = ["MODELS_FILE", "check_models", "weights_digest"]

MODELS_FILE = "models.json"
"""The file, in a results directory, of the models its trials were made with."""


def weights_digest(model: nn.Module) -> str:
    """``sha256:<hex>`` of a model's state dict: every tensor's name, dtype, shape and bytes,
    in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.numpy().tobytes() if t.numel() else b"")
    return "sha256:" + digest.hexdigest()


def check_models(
    directory: str | Path,
    train_seed: int,
    models: Mapping[str, nn.Module],
    earlier_rows: bool = False,
    log: Callable[[str], None] = print,
) -> None:
    """Check one training seed's ``models`` (by name: ``none``, a symmetry, a pruning
    variant) against ``directory/models.json`` and record the ones not there yet.
    ``earlier_rows``: the directory already holds trials of this seed; if it has no record
    of the seed's models (a directory older than ``models.json``), that cannot be checked,
    and a line says so.

    Raises:
        SymcodecError: a model differs from the one the directory's trials were made with.
    """
    path = Path(directory) / MODELS_FILE
    try:
        recorded = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError) as exc:
        raise SymcodecError(f"{path}: unreadable ({exc})") from None
    if earlier_rows and str(train_seed) not in recorded:
        log(
            f"{path.name} has no record of training seed {train_seed}'s models: whether its "
            f"earlier trials in {directory} were made with these models cannot be checked"
        )
    seed_models = recorded.setdefault(str(train_seed), {})
    changed = False
    for name, model in sorted(models.items()):
        digest = weights_digest(model)
        if name not in seed_models:
            seed_models[name] = digest
            changed = True
        elif seed_models[name] != digest:
            raise SymcodecError(
                f"model {name!r} of training seed {train_seed} differs from the one the trials "
                f"in {directory} were made with ({path.name}): it was trained again (another "
                "machine, or an emptied model cache); restore that model cache, or start the "
                "directory afresh (--fresh)"
            )
    if changed:
        with atomic_open(path, "w") as handle:
            json.dump(recorded, handle, indent=2, sort_keys=True)
