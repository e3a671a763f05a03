"""The study's trained models, cached on disk under a content-hashed name.

:func:`trained_model` trains (or loads) the model of a study under one symmetry;
:func:`pruned_model` magnitude-prunes the unconstrained model to a symmetry's DoF count (the
pruning baseline). The cache key covers everything that changes the weights (data set,
model, symmetry, epochs, batch size, learning rate, seed, step limit, torch threads,
symcodec and torch versions). The cache lives in :func:`model_cache_dir`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..codec import TransmissionPlan
from ..codec.format import pruning_mask
from ..constrain import train_symmetric
from ..io import load_state_dict, save_state_dict
from ..models import build_model
from ..training import TrainConfig, evaluate, seeded, train
from ..version import __version__
from .spec import StudySpec

__all__ = ["model_cache_dir", "trained_model", "pruned_model"]


def model_cache_dir() -> Path:
    """``$SYMCODEC_CACHE/models`` (default ``~/.cache/symcodec/models``)."""
    root = os.environ.get("SYMCODEC_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "symcodec"
    )
    return Path(root).expanduser() / "models"


def _cache_key(parts: dict) -> str:
    text = json.dumps(
        {**parts, "symcodec": __version__, "torch": torch.__version__}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def trained_model(
    spec: StudySpec,
    data,
    symmetry: str,
    epochs: int,
    progress: bool = False,
    log: Callable[[str], None] = print,
    start: tuple[nn.Module, int] | None = None,
) -> tuple[nn.Module, dict]:
    """The model of ``spec`` trained ``epochs`` epochs under ``symmetry`` (``none``:
    unconstrained), from the cache when present. Returns ``(model, info)``.

    ``start=(model, epochs_done)`` continues a model already trained ``epochs_done``
    epochs (the pruning baseline's checkpoint) instead of training from scratch."""
    t = spec.training
    key = _cache_key(
        {
            "dataset": spec.dataset,
            "model": spec.model,
            "symmetry": symmetry,
            "epochs": epochs,
            "batch_size": t.batch_size,
            "lr": t.lr,
            "seed": t.seed,
            "max_steps": t.max_steps,
            "threads": torch.get_num_threads(),
            "continued_from": None if start is None else start[1],
        }
    )
    path = model_cache_dir() / f"{spec.model}-{spec.dataset}-{symmetry}-e{epochs}-{key}.safetensors"
    channels, height, _ = data.input_shape
    with seeded(t.seed):
        model = build_model(
            spec.model, num_classes=data.num_classes, in_channels=channels, image_size=height
        )
    if path.exists():
        state_dict, meta = load_state_dict(path)
        model.load_state_dict(state_dict)
        return model, {**meta, "cached": "yes", "path": str(path)}
    done = 0
    if start is not None:
        model.load_state_dict(start[0].state_dict())
        done = start[1]
    log(
        f"training {spec.model} on {spec.dataset}, symmetry {symmetry}, "
        + (f"epochs {done + 1}-{epochs}" if done else f"{epochs} epochs")
    )
    began = time.perf_counter()
    config = TrainConfig(
        epochs=epochs - done,
        batch_size=t.batch_size,
        lr=t.lr,
        seed=t.seed + done,
        max_steps=t.max_steps,
    )
    result = train_symmetric(
        model, symmetry, data.train_x, data.train_y, config, progress=progress
    ).train
    accuracy = evaluate(model, data.test_x, data.test_y)
    meta = {
        "dataset": spec.dataset,
        "model": spec.model,
        "symmetry": symmetry,
        "epochs": str(epochs),
        "steps": str(result.steps),
        "seed": str(t.seed),
        "accuracy": f"{accuracy:.4f}",
        "train_seconds": f"{time.perf_counter() - began:.1f}",
        "num_classes": str(data.num_classes),
        "in_channels": str(channels),
        "image_size": str(height),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_state_dict(path, model.state_dict(), meta)
    return model, {**meta, "cached": "no", "path": str(path)}


def pruned_model(
    spec: StudySpec,
    data,
    base: nn.Module,
    symmetry: str,
    base_epochs: int,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> nn.Module:
    """``base`` (trained ``base_epochs`` epochs) magnitude-pruned to the DoF count of
    ``symmetry`` per conv layer, fine-tuned ``prune_finetune_epochs`` epochs with the mask
    fixed (a copy; cached like the trained models)."""
    t = spec.training
    epochs = t.prune_finetune_epochs
    model = copy.deepcopy(base)
    key = _cache_key(
        {
            "dataset": spec.dataset,
            "model": spec.model,
            "pruned": symmetry,
            "base_epochs": base_epochs,
            "finetune_epochs": epochs,
            "batch_size": t.batch_size,
            "lr": t.lr,
            "seed": t.seed,
            "max_steps": t.max_steps,
            "threads": torch.get_num_threads(),
        }
    )
    path = model_cache_dir() / f"{spec.model}-{spec.dataset}-pruned-{symmetry}-{key}.safetensors"
    if path.exists():
        model.load_state_dict(load_state_dict(path)[0])
        return model
    plan = TransmissionPlan.pruned(model.state_dict(), symmetry, bits=32)
    masks = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in plan and plan[name].mode == "pruned":
                mask = pruning_mask(param.detach(), plan[name])
                param.mul_(mask)
                masks[name] = mask
    if epochs > 0:
        log(f"fine-tuning {spec.model} pruned to the {symmetry} DoF count, {epochs} epochs")
        hooks = [
            p.register_hook(lambda g, m=masks[n]: g * m)
            for n, p in model.named_parameters()
            if n in masks
        ]
        config = TrainConfig(
            epochs=epochs, batch_size=t.batch_size, lr=t.lr, seed=t.seed + 1, max_steps=t.max_steps
        )
        train(model, data.train_x, data.train_y, config, progress=progress)
        for h in hooks:
            h.remove()
        # Adam's momentum can move masked weights even with zero gradients: re-apply the
        # mask so the fine-tuned model keeps exactly the pruned positions.
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, mask in masks.items():
                params[name].mul_(mask)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_state_dict(path, model.state_dict(), {"pruned": symmetry, "base_epochs": str(base_epochs)})
    return model
