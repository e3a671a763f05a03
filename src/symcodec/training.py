"""Small, deterministic CPU training and evaluation loops for in-memory tensors.

The data sets here fit in memory, so :func:`train` shuffles with a permutation drawn from
its own seeded ``torch.Generator`` and slices mini-batches with ``index_select`` (no
``DataLoader``, no workers). Dropout and any other use of torch's global RNG inside the
loop run under :func:`torch.random.fork_rng` seeded from ``config.seed``, so a run is
reproducible from its seed and the caller's global RNG state is left untouched.

Model *initialisation* (e.g. ``symcodec.models.build_model``) draws from torch's global
RNG; wrap it in :func:`seeded` to make it reproducible without touching the global state.

>>> import torch
>>> from torch import nn
>>> with seeded(0):
...     model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> x = torch.randn(64, 1, 2, 2, generator=torch.Generator().manual_seed(1))
>>> y = (x.flatten(1).sum(1) > 0).long()
>>> result = train(model, x, y, TrainConfig(epochs=20, batch_size=16, lr=0.05), progress=False)
>>> result.steps, evaluate(model, x, y) > 90
(80, True)
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from .errors import SymcodecError

__all__ = [
    "TrainConfig",
    "TrainResult",
    "train",
    "evaluate",
    "seeded",
    "OPTIMIZERS",
    "SCHEDULES",
    "Regularizer",
]

#: Optimizer names accepted by :class:`TrainConfig` (``sgd`` uses momentum 0.9).
OPTIMIZERS = ("adam", "adamw", "sgd")
#: Learning-rate schedules, stepped once per optimizer step over the whole run:
#: ``constant``; ``onecycle`` (warm up to ``lr`` over the first 30%, then cosine down);
#: ``cosine`` (cosine decay from ``lr`` to 0).
SCHEDULES = ("constant", "onecycle", "cosine")
Schedule = Literal["constant", "onecycle", "cosine"]
#: A term added to the loss of every step: a differentiable scalar computed from the model
#: (e.g. :func:`symcodec.soft_constraint.symmetry_penalty`, a soft symmetry constraint).
Regularizer = Callable[[nn.Module], torch.Tensor]


@dataclass
class TrainConfig:
    """Settings of :func:`train`.

    Attributes:
        epochs: passes over the training set.
        batch_size: examples per step.
        lr: learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        optimizer: one of :data:`OPTIMIZERS`.
        schedule: learning-rate schedule, one of :data:`SCHEDULES` (over every step of
            the run, ``max_steps`` included).
        seed: seeds the shuffling and any global-RNG use (dropout) during training.
        device: torch device to train on.
        max_steps: stop after this many optimizer steps (``None``: run every epoch).

    >>> TrainConfig(epochs=1, lr=1e-2).batch_size
    128
    """

    epochs: int = 2
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    schedule: Schedule = "constant"
    seed: int = 0
    device: str = "cpu"
    max_steps: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise SymcodecError(f"epochs must be >= 0, got {self.epochs}")
        if self.batch_size < 1:
            raise SymcodecError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise SymcodecError(f"lr must be a positive number, got {self.lr}")
        if self.weight_decay < 0:
            raise SymcodecError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.optimizer not in OPTIMIZERS:
            raise SymcodecError(
                f"unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}"
            )
        if self.schedule not in SCHEDULES:
            raise SymcodecError(
                f"unknown schedule {self.schedule!r}; known: {', '.join(SCHEDULES)}"
            )
        if self.max_steps is not None and self.max_steps < 0:
            raise SymcodecError(f"max_steps must be >= 0, got {self.max_steps}")


@dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes:
        losses: mean training loss of each epoch run, regularizer included (the last one
            may be partial when ``max_steps`` stopped it).
        steps: optimizer steps taken.
        seconds: wall time of the loop.
        epoch_seconds: wall time of each epoch.
        samples: training examples processed.
    """

    losses: list[float] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)
    samples: int = 0

    @property
    def final_loss(self) -> float:
        """Mean loss of the last epoch run (``nan`` if none ran)."""
        return self.losses[-1] if self.losses else float("nan")


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global CPU RNG seeded, then restore the previous state.

    Use it around model construction so that initialisation is reproducible without
    changing the caller's RNG stream.

    >>> from torch import nn
    >>> with seeded(3):
    ...     a = nn.Linear(3, 3).weight
    >>> with seeded(3):
    ...     b = nn.Linear(3, 3).weight
    >>> torch.equal(a, b)
    True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _make_optimizer(params: list[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)


def _make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    """The per-step learning-rate schedule of a run of ``total_steps`` (None: constant)."""
    if config.schedule == "constant" or total_steps < 2:
        return None
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total_steps, pct_start=0.3
        )
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


def _run_epoch(
    model, x, y, batches, optimizer, scheduler, bar, regularizer: Regularizer | None = None
) -> tuple[float, int]:
    """One pass over ``batches`` (index tensors); returns (mean loss, examples seen)."""
    loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
    seen = shown = 0
    for step, idx in enumerate(batches, start=1):
        loss = F.cross_entropy(model(x.index_select(0, idx)), y.index_select(0, idx))
        if regularizer is not None:
            loss = loss + regularizer(model)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss_sum += loss.detach().double() * idx.shape[0]
        seen += idx.shape[0]
        if step - shown >= 10:
            bar.update(step - shown, loss=float(loss_sum) / seen)
            shown = step
    mean = float(loss_sum) / max(seen, 1)
    bar.update(len(batches) - shown, loss=mean)
    return mean, seen


def _check_data(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape[0] != y.shape[0]:
        raise SymcodecError(f"{x.shape[0]} inputs but {y.shape[0]} labels")
    if y.dim() != 1 or y.dtype not in (torch.int64, torch.int32, torch.uint8, torch.int16):
        raise SymcodecError(f"labels must be a 1-D integer tensor, got {tuple(y.shape)} {y.dtype}")


def _rng_devices(device: torch.device) -> list:
    return [] if device.type == "cpu" else [device]


class _Progress:
    """A rich progress bar on stderr showing the running loss (no-op when disabled)."""

    def __init__(self, enabled: bool, total: int, description: str) -> None:
        self._bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._bar.add_task(description, total=total, loss="-")

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, advance: int, loss: float | None = None, description: str | None = None):
        if self._bar is None:
            return
        fields = {} if loss is None else {"loss": f"{loss:.4f}"}
        if description is not None:
            fields["description"] = description
        self._bar.update(self._task, advance=advance, **fields)


def train(
    model: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    config: TrainConfig | None = None,
    progress: bool = True,
    regularizer: Regularizer | None = None,
) -> TrainResult:
    """Train ``model`` with cross-entropy (plus ``regularizer(model)``, if given) on
    in-memory tensors, in place.

    Each epoch visits the examples in a fresh random order (a ``torch.Generator`` seeded
    from ``config.seed``) in mini-batches of ``config.batch_size``; a last batch of a single
    example is dropped (batch norm cannot train on it). Only parameters with
    ``requires_grad`` are optimized, so a model constrained by
    :func:`symcodec.constrain.symmetrize` trains its degrees of freedom only. Given the seed
    (and the same initial model, data and thread count) the result is deterministic.

    Args:
        model: the model, left in train mode on ``config.device``.
        train_x: inputs, ``(N, ...)``.
        train_y: integer class labels, ``(N,)``.
        config: settings (default :class:`TrainConfig`).
        progress: show a progress bar with the running loss on stderr.
        regularizer: a differentiable term added to every step's loss (``None``: plain
            cross-entropy, exactly as without the argument).

    Returns:
        A :class:`TrainResult` (its losses include the regularizer).

    Raises:
        SymcodecError: mismatched or malformed data, or a loss that became nan/inf.

    >>> from torch import nn
    >>> net = nn.Linear(3, 2)
    >>> x, y = torch.randn(10, 3), torch.arange(10) % 2
    >>> r = train(net, x, y, TrainConfig(epochs=3, batch_size=4), progress=False)
    >>> r.steps, len(r.losses)
    (9, 3)
    """
    config = config or TrainConfig()
    x, y = _prepare(model, train_x, train_y, torch.device(config.device))
    starts = _batch_starts(x.shape[0], config.batch_size)
    total = _total_steps(config, len(starts))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = _make_optimizer(params, config)
    scheduler = _make_scheduler(optimizer, config, total)
    t_start = time.perf_counter()
    with (
        torch.random.fork_rng(devices=_rng_devices(x.device)),
        _Progress(progress and total > 0, total, "train") as bar,
    ):
        torch.manual_seed(config.seed)
        result = _train_epochs(
            model, x, y, starts, total, config, optimizer, scheduler, bar, regularizer
        )
    result.seconds = time.perf_counter() - t_start
    return result


def _prepare(
    model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check the data, put the model in train mode on ``device`` and return the inputs and
    the labels (as int64) there."""
    _check_data(train_x, train_y)
    model.to(device)
    model.train()
    return train_x.to(device), train_y.to(device=device, dtype=torch.long)


def _batch_starts(n: int, batch_size: int) -> list[int]:
    """The first index of every mini-batch of an epoch over ``n`` examples; a last batch of
    a single example is dropped (batch norm cannot train on it), unless it is the only one.

    >>> _batch_starts(10, 4), _batch_starts(9, 4), _batch_starts(1, 4)
    ([0, 4, 8], [0, 4], [0])
    """
    return [s for s in range(0, n, batch_size) if min(batch_size, n - s) > 1 or n == 1]


def _total_steps(config: TrainConfig, steps_per_epoch: int) -> int:
    """Optimizer steps of the whole run: every epoch's batches, capped at ``max_steps``."""
    total = config.epochs * steps_per_epoch
    return total if config.max_steps is None else min(total, config.max_steps)


def _train_epochs(
    model, x, y, starts, total, config, optimizer, scheduler, bar, regularizer
) -> TrainResult:
    """Up to ``config.epochs`` epochs, ``total`` steps in all, each over the batches at
    ``starts`` of a fresh permutation drawn from a generator seeded with ``config.seed``;
    the result without its wall time. Raises :class:`SymcodecError` on a nan/inf loss."""
    generator = torch.Generator().manual_seed(config.seed)
    result = TrainResult()
    n = x.shape[0]
    for epoch in range(config.epochs):
        if result.steps >= total:
            break
        t_epoch = time.perf_counter()
        bar.update(0, description=f"epoch {epoch + 1}/{config.epochs}")
        perm = torch.randperm(n, generator=generator).to(x.device)
        batches = [perm[s : s + config.batch_size] for s in starts[: total - result.steps]]
        mean, seen = _run_epoch(model, x, y, batches, optimizer, scheduler, bar, regularizer)
        result.steps += len(batches)
        if not math.isfinite(mean):
            raise SymcodecError(
                f"training diverged: mean loss {mean} in epoch {epoch + 1} "
                f"(lr {config.lr}); try a smaller learning rate"
            )
        result.losses.append(mean)
        result.samples += seen
        result.epoch_seconds.append(time.perf_counter() - t_epoch)
    return result


def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1000,
    device: str = "cpu",
) -> float:
    """Top-1 accuracy in percent, in eval mode and without gradients, batch by batch.

    The model's train/eval mode is restored afterwards; the kernels of a symmetrized
    model are rebuilt once for the whole pass (``parametrize.cached``).

    Args:
        model: the classifier.
        x: inputs, ``(N, ...)``.
        y: integer labels, ``(N,)``.
        batch_size: examples per forward pass.
        device: torch device to evaluate on (the model is moved there).

    Returns:
        Accuracy in ``[0, 100]`` (0 for an empty set).

    >>> from torch import nn
    >>> net = nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.eye(2))
    >>> evaluate(net, torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 1, 1]))
    66.66...
    """
    _check_data(x, y)
    if batch_size < 1:
        raise SymcodecError(f"batch_size must be >= 1, got {batch_size}")
    n = x.shape[0]
    if n == 0:
        return 0.0
    dev = torch.device(device)
    was_training = model.training
    model.to(dev)
    model.eval()
    correct = 0
    try:
        with torch.no_grad(), parametrize.cached():
            for start in range(0, n, batch_size):
                xb = x[start : start + batch_size].to(dev)
                yb = y[start : start + batch_size].to(dev)
                correct += int((model(xb).argmax(dim=1) == yb).sum())
    finally:
        model.train(was_training)
    return 100.0 * correct / n
