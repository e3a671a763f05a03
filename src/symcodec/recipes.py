"""The training recipe: one per data set family, the same for every model of a study.

SPEC section 10 asks for one recipe (schedule, optimizer, epochs) for every model of a
study, symmetric or not, so that accuracy differences come from the models and not from
their training. :func:`recipe_for` returns it; ``symcodec train`` and the study's
``[training]`` table start from it, and explicit settings override single fields. The runs
that chose it are listed in ``docs/training.md``.

>>> r = recipe_for("fashion-mnist", "deepcnn")
>>> r.optimizer, r.schedule, r.epochs
('adamw', 'onecycle', 10)
>>> recipe_for("mnist-5k", "deepcnn-gap") == r    # one recipe for the family and every model
True
>>> r.train_config(seed=3).seed
3
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .errors import SymcodecError
from .models import model_names
from .training import Schedule, TrainConfig

__all__ = ["Recipe", "recipe_for", "dataset_family", "RECIPES"]


@dataclass(frozen=True)
class Recipe:
    """How every model of a study is trained.

    Attributes:
        optimizer: one of :data:`symcodec.training.OPTIMIZERS` (checked on creation).
        lr: peak learning rate (``onecycle`` warms up to it over the first 30% of steps).
        schedule: one of :data:`symcodec.training.SCHEDULES`, stepped per batch.
        epochs: passes over the training set.
        batch_size: examples per step.
        weight_decay: decoupled for ``adamw``, an L2 penalty otherwise.
        family: the data set family the recipe was chosen on.
    """

    optimizer: str = "adamw"
    lr: float = 3e-3
    schedule: Schedule = "onecycle"
    epochs: int = 10
    batch_size: int = 128
    weight_decay: float = 0.05
    family: str = "grayscale-28"

    def __post_init__(self) -> None:
        # TrainConfig validates every field it shares with the recipe.
        self.train_config()

    def train_config(
        self, seed: int = 0, device: str = "cpu", max_steps: int | None = None
    ) -> TrainConfig:
        """The :class:`~symcodec.training.TrainConfig` of this recipe.

        >>> Recipe(epochs=3).train_config(max_steps=5).max_steps
        5
        """
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            optimizer=self.optimizer,
            schedule=self.schedule,
            seed=seed,
            device=device,
            max_steps=max_steps,
        )

    def replace(self, **changes) -> Recipe:
        """A copy with some fields changed; ``None`` values are ignored (no override).

        >>> Recipe().replace(epochs=2, lr=None).epochs
        2
        """
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_metadata(self) -> dict[str, str]:
        """The recipe as string fields for a model file's metadata (``recipe.<field>``).

        >>> Recipe().to_metadata()["recipe.schedule"]
        'onecycle'
        """
        return {f"recipe.{k}": str(v) for k, v in dataclasses.asdict(self).items()}


#: The recipe of each data set family.
RECIPES: dict[str, Recipe] = {
    # Chosen on mnist-5k and Fashion-MNIST (docs/training.md); also used for full MNIST.
    "grayscale-28": Recipe(family="grayscale-28"),
    # Not tuned: the grayscale recipe, pending runs on CIFAR-10.
    "cifar": Recipe(family="cifar"),
}

_FAMILY = {
    "mnist-5k": "grayscale-28",
    "mnist": "grayscale-28",
    "fashion-mnist": "grayscale-28",
    "cifar10": "cifar",
}


def dataset_family(dataset: str) -> str:
    """The family whose recipe a data set uses.

    >>> dataset_family("mnist"), dataset_family("cifar10")
    ('grayscale-28', 'cifar')
    """
    key = str(dataset).strip().lower().replace("_", "-")
    key = "cifar10" if key == "cifar-10" else key
    if key not in _FAMILY:
        raise SymcodecError(
            f"unknown dataset {dataset!r} (no training recipe); known datasets: "
            f"{', '.join(_FAMILY)}"
        )
    return _FAMILY[key]


def recipe_for(dataset: str, model: str) -> Recipe:
    """The training recipe of ``model`` on ``dataset``.

    The recipe depends on the data set's family only: every model of a study (plain,
    symmetric, pruned, with or without batch norm) trains the same way. ``model`` is
    checked against the registry.

    Raises:
        SymcodecError: unknown data set or model.
    """
    if str(model).strip().lower() not in model_names():
        raise SymcodecError(f"unknown model {model!r}; known models: {', '.join(model_names())}")
    return RECIPES[dataset_family(dataset)]
