"""The study's trained models, cached on disk under a content-hashed name.

:func:`trained_model` trains (or loads) the model of a study under one symmetry;
:func:`penalized_model` one trained with a soft symmetry penalty (the claim-5 ablation);
:func:`pruned_model` magnitude-prunes the converged unconstrained model to a symmetry's DoF
count (per layer, globally or per kernel) and fine-tunes it (the pruning baselines). Every
model exists once per training seed. The cache key covers everything that changes the
weights (data set, model, symmetry, soft penalty if any, epochs, batch size, learning rate,
optimizer, schedule, weight decay, seed, step limit, torch threads, symcodec and torch
versions). The cache lives in :func:`model_cache_dir`.

A model with batch norm (``deepcnn-gap-bn``) is cached as trained, with its batch norm;
:func:`trained_model` returns it folded (:func:`symcodec.fold.fold_batch_norm`): the study
transmits, prunes and fine-tunes the plain model.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..codec import TransmissionPlan
from ..codec.pruning import PruningScope, pruning_masks
from ..fold import fold_batch_norm
from ..io import load_state_dict, save_state_dict
from ..models import build_model
from ..soft_constraint import train_near_symmetric
from ..training import evaluate, seeded, train
from ..version import __version__
from .spec import StudySpec

__all__ = ["model_cache_dir", "trained_model", "penalized_model", "pruned_model"]


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
    train_seed: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> tuple[nn.Module, dict]:
    """The model of ``spec`` trained ``spec.training.epochs`` epochs under ``symmetry``
    (``none``: unconstrained) with training seed ``train_seed`` (default: the spec's
    first), from the cache when present. Returns ``(model, info)``; ``info`` holds the
    file's metadata (accuracy, ``train_seconds``), ``cached`` and ``path``."""
    seed = spec.training.seeds[0] if train_seed is None else train_seed
    path = _trained_path(spec, symmetry, seed)
    return _load_or_train(spec, data, symmetry, math.inf, seed, path, progress, log)


def penalized_model(
    spec: StudySpec,
    data,
    symmetry: str,
    penalty: float,
    train_seed: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> tuple[nn.Module, dict]:
    """The model of ``spec`` trained like :func:`trained_model` but with the soft symmetry
    penalty ``penalty * sum ||W - P_S W||^2`` added to its loss
    (:func:`symcodec.soft_constraint.train_near_symmetric`), from the cache when present.

    ``penalty = 0`` is the unconstrained model and ``penalty = inf`` the symmetric one:
    both are :func:`trained_model`'s (the same cache entries). Any other penalty is cached
    under a key that adds the penalty to the symmetric model's."""
    if penalty == 0:
        return trained_model(spec, data, "none", train_seed, progress, log)
    if math.isinf(penalty):
        return trained_model(spec, data, symmetry, train_seed, progress, log)
    seed = spec.training.seeds[0] if train_seed is None else train_seed
    path = _trained_path(spec, symmetry, seed, penalty)
    return _load_or_train(spec, data, symmetry, penalty, seed, path, progress, log)


def _load_or_train(
    spec: StudySpec,
    data,
    symmetry: str,
    penalty: float,
    seed: int,
    path: Path,
    progress: bool,
    log: Callable[[str], None],
) -> tuple[nn.Module, dict]:
    """Load the model cached at ``path``, or train it (symmetry penalty ``penalty``;
    ``inf``: the hard constraint) and cache it there. Returns it folded, with its info."""
    t = spec.training
    epochs = t.epochs
    channels, height, _ = data.input_shape
    with seeded(seed):
        model = build_model(
            spec.model, num_classes=data.num_classes, in_channels=channels, image_size=height
        )
    if path.exists():
        state_dict, meta = load_state_dict(path)
        model.load_state_dict(state_dict)
        return fold_batch_norm(model), {**meta, "cached": "yes", "path": str(path)}
    soft = not math.isinf(penalty)
    log(
        f"training {spec.model} on {spec.dataset}, symmetry {symmetry}"
        + (f" (soft, penalty {penalty:g})" if soft else "")
        + f", {epochs} epochs, seed {seed}"
    )
    began = time.perf_counter()
    config = t.train_config(epochs=epochs, seed=seed)
    result = train_near_symmetric(
        model, symmetry, data.train_x, data.train_y, config, penalty, progress=progress
    ).train
    folded = fold_batch_norm(model)
    accuracy = evaluate(folded, data.test_x, data.test_y)
    meta = {
        "dataset": spec.dataset,
        "model": spec.model,
        "symmetry": symmetry,
        **({"penalty": f"{penalty:g}"} if soft else {}),
        "epochs": str(epochs),
        "steps": str(result.steps),
        "seed": str(seed),
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


def _training_key(spec: StudySpec, seed: int) -> dict:
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
        "seed": seed,
        "max_steps": t.max_steps,
        "threads": torch.get_num_threads(),
    }


def _trained_path(spec: StudySpec, symmetry: str, seed: int, penalty: float = math.inf) -> Path:
    """Where :func:`trained_model` (``penalty`` inf: the hard constraint) or
    :func:`penalized_model` caches a model. The key of a hard-constrained model has no
    penalty field, so it is the same as before soft penalties existed."""
    epochs = spec.training.epochs
    parts: dict = {"symmetry": symmetry, "epochs": epochs, "continued_from": None}
    label = symmetry
    if not math.isinf(penalty):
        parts["penalty"] = penalty
        label = f"{symmetry}-penalty{penalty:g}"
    key = _cache_key({**_training_key(spec, seed), **parts})
    return model_cache_dir() / f"{spec.model}-{spec.dataset}-{label}-e{epochs}-{key}.safetensors"


#: Fine-tuning a pruned model: the recipe's optimizer at this fraction of the peak rate,
#: cosine schedule (a converged model is pruned; a fresh warm-up would undo it).
FINETUNE_LR_FACTOR = 0.1


def pruned_model(
    spec: StudySpec,
    data,
    base: nn.Module,
    symmetry: str,
    scope: PruningScope = "layer",
    train_seed: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> nn.Module:
    """``base`` (the converged unconstrained model of ``train_seed``) magnitude-pruned to the
    DoF count of ``symmetry`` (per layer, globally or per kernel: ``scope``, see
    :func:`symcodec.codec.pruning.pruning_masks`), then fine-tuned ``prune_finetune_epochs``
    epochs with the mask fixed, at :data:`FINETUNE_LR_FACTOR` times the peak rate with a
    cosine schedule (a copy; cached like the trained models)."""
    t = spec.training
    seed = t.seeds[0] if train_seed is None else train_seed
    epochs = t.prune_finetune_epochs
    model = copy.deepcopy(base)
    key = _cache_key(
        {
            **_training_key(spec, seed),
            "pruned": symmetry,
            "scope": scope,
            "base_epochs": t.epochs,
            "finetune_epochs": epochs,
            "finetune_lr_factor": FINETUNE_LR_FACTOR,
        }
    )
    name = f"{spec.model}-{spec.dataset}-pruned-{scope}-{symmetry}-{key}.safetensors"
    path = model_cache_dir() / name
    if path.exists():
        model.load_state_dict(load_state_dict(path)[0])
        return model
    plan = TransmissionPlan.pruned(model.state_dict(), symmetry, bits=32)
    params = dict(model.named_parameters())
    kernels = {n: params[n].detach() for n in plan.tensors if plan[n].mode == "pruned"}
    masks = pruning_masks(kernels, {n: plan[n].keep for n in kernels}, scope)
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].mul_(mask)
    if epochs > 0:
        log(
            f"fine-tuning {spec.model} pruned ({scope}) to the {symmetry} DoF count, "
            f"{epochs} epochs, seed {seed}"
        )
        hooks = [params[n].register_hook(lambda g, m=m: g * m) for n, m in masks.items()]
        config = dataclasses.replace(
            t.train_config(epochs=epochs, seed=seed + 1),
            lr=t.lr * FINETUNE_LR_FACTOR,
            schedule="cosine",
        )
        train(model, data.train_x, data.train_y, config, progress=progress)
        for h in hooks:
            h.remove()
        # AdamW's momentum and weight decay can move masked weights even with zero
        # gradients: re-apply the mask so the model keeps exactly the pruned positions.
        with torch.no_grad():
            for name, mask in masks.items():
                params[name].mul_(mask)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_state_dict(path, model.state_dict(), {"pruned": symmetry, "scope": scope})
    return model
