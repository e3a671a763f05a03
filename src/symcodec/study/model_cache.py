"""The study's trained models, cached on disk under a content-hashed name.

:func:`trained_model` trains (or loads) the model of a study under one symmetry;
:func:`pruned_model` magnitude-prunes the unconstrained model to a symmetry's DoF count (the
pruning baseline). The cache key covers everything that changes the weights (data set,
model, symmetry, epochs, batch size, learning rate, optimizer, schedule, weight decay, seed,
step limit, torch threads, symcodec and torch versions). The cache lives in
:func:`model_cache_dir`.

A model with batch norm (``deepcnn-gap-bn``) is cached as trained, with its batch norm, so
that the pruning baseline's checkpoint can be continued; :func:`trained_model` returns it
folded (:func:`symcodec.fold.fold_batch_norm`): the study transmits the plain model.
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
from ..fold import fold_batch_norm
from ..io import load_state_dict, save_state_dict
from ..models import build_model
from ..training import evaluate, seeded, train
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
    path = _trained_path(spec, symmetry, epochs, None if start is None else start[1])
    channels, height, _ = data.input_shape
    with seeded(t.seed):
        model = build_model(
            spec.model, num_classes=data.num_classes, in_channels=channels, image_size=height
        )
    if path.exists():
        state_dict, meta = load_state_dict(path)
        model.load_state_dict(state_dict)
        return fold_batch_norm(model), {**meta, "cached": "yes", "path": str(path)}
    done = 0
    if start is not None:
        done = start[1]
        if type(start[0]) is type(model):
            model.load_state_dict(start[0].state_dict())
        else:  # a folded checkpoint: continue from the cached model with its batch norm
            model.load_state_dict(load_state_dict(_trained_path(spec, "none", done, None))[0])
    log(
        f"training {spec.model} on {spec.dataset}, symmetry {symmetry}, "
        + (f"epochs {done + 1}-{epochs}" if done else f"{epochs} epochs")
    )
    began = time.perf_counter()
    config = t.train_config(epochs=epochs - done, seed=t.seed + done)
    result = train_symmetric(
        model, symmetry, data.train_x, data.train_y, config, progress=progress
    ).train
    folded = fold_batch_norm(model)
    accuracy = evaluate(folded, data.test_x, data.test_y)
    meta = {
        "dataset": spec.dataset,
        "model": spec.model,
        "symmetry": symmetry,
        "epochs": str(epochs),
        "steps": str(result.steps),
        "seed": str(t.seed),
        "optimizer": t.optimizer,
        "schedule": t.schedule,
        "weight_decay": str(t.weight_decay),
        "lr": str(t.lr),
        "batch_size": str(t.batch_size),
        "accuracy": f"{accuracy:.4f}",
        "train_seconds": f"{time.perf_counter() - began:.1f}",
        "num_classes": str(data.num_classes),
        "in_channels": str(channels),
        "image_size": str(height),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_state_dict(path, model.state_dict(), meta)
    return folded, {**meta, "cached": "no", "path": str(path)}


def _training_key(spec: StudySpec) -> dict:
    """The training settings of ``spec`` that change the weights (part of every cache key)."""
    t = spec.training
    return {
        "dataset": spec.dataset,
        "model": spec.model,
        "batch_size": t.batch_size,
        "lr": t.lr,
        "optimizer": t.optimizer,
        "schedule": t.schedule,
        "weight_decay": t.weight_decay,
        "seed": t.seed,
        "max_steps": t.max_steps,
        "threads": torch.get_num_threads(),
    }


def _trained_path(spec: StudySpec, symmetry: str, epochs: int, continued_from: int | None):
    """Where :func:`trained_model` caches a model."""
    key = _cache_key(
        {
            **_training_key(spec),
            "symmetry": symmetry,
            "epochs": epochs,
            "continued_from": continued_from,
        }
    )
    return model_cache_dir() / f"{spec.model}-{spec.dataset}-{symmetry}-e{epochs}-{key}.safetensors"


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
            **_training_key(spec),
            "pruned": symmetry,
            "base_epochs": base_epochs,
            "finetune_epochs": epochs,
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
        config = t.train_config(epochs=epochs, seed=t.seed + 1)
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
