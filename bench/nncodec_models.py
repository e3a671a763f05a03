"""The models of the NNCodec benchmark (``bench/vs_nncodec.py``): the study's converged
training recipe, one model per (data set, model, symmetry variant, training seed), taken
from (or trained into) the study's model cache.

:func:`bench_spec` builds the :class:`~symcodec.study.StudySpec` that a study TOML with

.. code-block:: toml

    dataset = "<data set>"
    model = "<model>"

    [training]
    epochs = 10          # the recipe's (symcodec.recipes.recipe_for), unless --epochs
    lr = 0.003
    batch_size = 128
    seeds = [0, 1, 2]    # --seeds

gives (``parse_study``: the schedule, weight decay and optimizer are the recipe's, as for
``studies/paper.toml``, whose ``[training]`` table this is). So
:func:`symcodec.study.trained_model` finds the same cache files that
``symcodec reproduce studies/paper.toml`` writes for the same data set and model, and the
other way round.

**Threads.** The cache key also holds torch's thread count while training. The study trains
with torch's default (2 on this two-core machine; 1 under ``OMP_NUM_THREADS=1``), so the bench
trains with the count torch had when it started, unless ``--train-threads`` says otherwise
(its models are then cached under keys of their own).

**Data.** Loaded as the study loads them (``load_dataset(name)``: ``mnist-5k``'s split with
seed 0): a training seed changes the training, never the split (the cache key does not hold
the split, so a model trained on another split must not enter the cache).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import nncodec_frontier as frontier
import numpy as np
import torch
from torch import nn

from symcodec.recipes import recipe_for
from symcodec.study import StudySpec, parse_study, trained_model

#: The symmetry variants of every model: unconstrained and central-skew-trained.
VARIANTS = ("none", "central-skew")
#: The name of the bench's study spec (not part of any cache key).
SPEC_NAME = "vs-nncodec"


def bench_spec(
    dataset: str, model: str, seeds: tuple[int, ...] = (0,), epochs: int | None = None
) -> StudySpec:
    """The study spec of ``model`` on ``dataset``, trained with the study's recipe
    (``epochs`` overrides the recipe's epoch count), once per training seed.

    >>> spec = bench_spec("fashion-mnist", "deepcnn", seeds=(0, 1))
    >>> t = spec.training
    >>> t.epochs, t.lr, t.batch_size, t.optimizer, t.schedule, t.weight_decay, t.seeds
    (10, 0.003, 128, 'adamw', 'onecycle', 0.05, (0, 1))
    """
    recipe = recipe_for(dataset, model)
    training = {
        "epochs": recipe.epochs if epochs is None else epochs,
        "lr": recipe.lr,
        "batch_size": recipe.batch_size,
        "seeds": list(seeds),
    }
    return parse_study(
        {"name": SPEC_NAME, "dataset": dataset, "model": model, "training": training}
    )


def parse_seeds(text: str) -> tuple[int, ...]:
    """``--seeds``: comma-separated training seeds, each at most once.

    >>> parse_seeds("0,1, 2")
    (0, 1, 2)
    """
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--seeds wants integers like 0,1,2, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds wants distinct integers >= 0, got {text!r}")
    return seeds


def epochs_override(text: str, dataset: str, model: str) -> int | None:
    """``--epochs``: ``N`` for all, or ``KEY=N,KEY=N`` with ``KEY`` a data set or
    ``DATASET/MODEL``; ``None`` (the recipe's) where it gives none.

    >>> epochs_override("mnist-5k=3,mnist-5k/deepcnn-gap=5", "mnist-5k", "deepcnn-gap")
    5
    >>> epochs_override("", "fashion-mnist", "deepcnn") is None
    True
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    given = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    value = given.get(f"{dataset}/{model}", given.get(dataset))
    return None if value is None else int(value)


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class BenchModel:
    """One trained model of the benchmark, its float weights and its per-image correctness."""

    dataset: str
    model_name: str
    variant: str
    seed: int
    model: nn.Module
    state: dict[str, torch.Tensor]
    float_correct: np.ndarray  # bool, (1, test images)

    @property
    def label(self) -> str:
        """``dataset/model/variant/seedS``, for logs and ``run.json``."""
        return f"{self.dataset}/{self.model_name}/{self.variant}/seed{self.seed}"

    @property
    def shapes(self) -> dict[str, torch.Size]:
        """The shape of every tensor of the state dict."""
        return {k: v.shape for k, v in self.state.items()}

    @property
    def params(self) -> int:
        """Number of parameters (every tensor of the state dict)."""
        return sum(v.numel() for v in self.state.values())

    @property
    def float_acc(self) -> float:
        """Test accuracy of the float model, percent."""
        return 100.0 * float(self.float_correct.mean())


def bench_model(
    spec: StudySpec,
    data,
    variant: str,
    seed: int,
    train_threads: int,
    log: Callable[[str], None] = print,
) -> tuple[BenchModel, dict]:
    """The model of ``spec`` under ``variant`` with training seed ``seed``, from the study's
    model cache or trained into it with ``train_threads`` torch threads (part of the cache
    key); ``(model, the cache's info)``."""
    with torch_threads(train_threads):
        model, info = trained_model(spec, data, variant, train_seed=seed, log=log)
    model.eval()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    correct = frontier.correctness(model, [state], data.test_x, data.test_y)
    return BenchModel(spec.dataset, spec.model, variant, seed, model, state, correct), info
