"""What a study is: :class:`StudySpec` (with :class:`ChannelSpec` and :class:`TrainingSpec`)
and the names of its methods, modes and baselines. Reading one from TOML is
:mod:`symcodec.study.spec_parsing`; both are importable from :mod:`symcodec.study.spec`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..channel import channel_parameter, make_channel
from ..recipes import RECIPES
from ..training import Schedule, TrainConfig
from .nr_settings import MCS_AUTO, NR_CHANNEL

__all__ = [
    "ChannelSpec",
    "TrainingSpec",
    "StudySpec",
    "METHODS",
    "MODES",
    "BASELINES",
    "DEFAULT_BASELINES",
    "PRUNING_BASELINES",
    "channel_param_of",
]

METHODS = ("symmetric", "pruned", "quant-only", "step-ans")
MODES = ("dof", "full-project", "full")
BASELINES = ("pruned", "pruned-global", "pruned-kernel", "quant-only", "step-ans")
#: The baselines a study runs when its TOML names none (``step-ans``, the unconstrained
#: model with a step quantizer and ANS, only when asked for).
DEFAULT_BASELINES = ("pruned", "pruned-global", "pruned-kernel", "quant-only")
#: The pruning baselines and their scope (:func:`symcodec.codec.pruning.pruning_masks`): the
#: baseline's name is also the ``mode`` of its rows.
PRUNING_BASELINES = {"pruned": "layer", "pruned-global": "global", "pruned-kernel": "kernel"}


def channel_param_of(name: str) -> str:
    """The swept parameter of channel ``name`` as a results.csv cell (``""`` for ``ideal``).

    >>> channel_param_of("awgn"), channel_param_of("bsc"), channel_param_of("ideal")
    ('snr_db', 'p', '')
    """
    return channel_parameter(name) or ""


@dataclass(frozen=True)
class ChannelSpec:
    """The channel and the settings swept (SNR in dB, Eb/N0 in dB, or a probability), and
    the protection settings run (``none``, ``side``: a grid axis, SPEC section 10).

    ``auto``: the SNR (or Eb/N0) list is found at run time by a short search for the
    waterfall of unprotected ``full`` (:mod:`symcodec.study.waterfall`), laid in steps of
    ``auto_step_db``; ``values`` is empty until then.

    On ``nr-ldpc`` (:mod:`symcodec.study.nr_settings`): ``mcs`` the MCS indices of
    ``mcs_table`` run (a grid axis), or ``mcs_auto`` (chosen by link adaptation), at
    ``level`` and ``fading``, drawing from ``bler_tables`` (files) when given; ``protect``
    holds NR presets."""

    name: str = "awgn"
    values: tuple[float, ...] = (0.0, 10.0, 20.0)
    packet_bytes: int | None = None
    equal_energy: bool = False
    protect: tuple[str, ...] = ("none",)
    auto: bool = False
    auto_step_db: float = 2.0
    mcs: tuple[int, ...] = ()
    mcs_auto: bool = False
    mcs_table: str = "qam64"
    level: str = "abstract"
    fading: str = "awgn"
    bler_tables: tuple[str, ...] = ()

    @property
    def is_nr(self) -> bool:
        """Whether the channel is the 5G NR link (``nr-ldpc``)."""
        return self.name == NR_CHANNEL

    @property
    def mcs_settings(self) -> tuple[str, ...]:
        """The MCS settings of the grid as trial keys spell them: ``("",)`` without an MCS,
        ``("auto",)``, or the indices as text."""
        if not self.is_nr:
            return ("",)
        return (MCS_AUTO,) if self.mcs_auto else tuple(str(m) for m in self.mcs)

    @property
    def param(self) -> str:
        """The swept parameter: ``snr_db``, ``ebn0_db``, ``p``, or ``""`` (ideal)."""
        return channel_param_of(self.name)

    @property
    def energy(self) -> str:
        """The SNR convention as a results.csv cell: ``equal-energy`` or ``per-value``."""
        return "equal-energy" if self.equal_energy else "per-value"

    def make(self, value: float, mcs: int | None = None, symbol_rate_hz: float | None = None):
        """The channel at one swept setting (``nr-ldpc``: at MCS index ``mcs``, sending
        ``symbol_rate_hz`` channel uses per second, default the link's)."""
        kwargs = {}
        if self.param:
            kwargs[self.param] = value
        if self.packet_bytes is not None:
            kwargs["packet_bytes"] = self.packet_bytes
        if self.is_nr:
            kwargs.update(mcs=mcs, mcs_table=self.mcs_table, level=self.level, fading=self.fading)
            if self.bler_tables:
                kwargs["bler_tables"] = self.bler_tables
            kwargs["symbol_rate_hz"] = symbol_rate_hz
        return make_channel(self.name, **kwargs)


_RECIPE = RECIPES["grayscale-28"]  # the recipe of the default data set (mnist-5k)
#: What a stored spec without optimizer, schedule or weight decay (written before
#: :mod:`symcodec.recipes`) was trained with.
_LEGACY_TRAINING = {"optimizer": "adam", "schedule": "constant", "weight_decay": 0.0}


@dataclass(frozen=True)
class TrainingSpec:
    """How every model of a study is trained: ``epochs`` with one recipe, once per training
    seed in ``seeds`` (a grid axis: every model, and so every trial, exists once per seed).

    The pruning baseline is the converged unconstrained model, pruned, then fine-tuned
    ``prune_finetune_epochs`` more epochs with the mask fixed (at a tenth of the peak rate,
    cosine schedule): it gets more training than any other model, never less.

    Every model of a study trains with the same optimizer, schedule and weight decay; a
    TOML that omits ``schedule`` or ``weight_decay`` gets the value of the data set's
    recipe (:func:`symcodec.recipes.recipe_for`), and the optimizer is always the
    recipe's (not a study key).
    """

    epochs: int = 2
    prune_finetune_epochs: int = 0
    batch_size: int = 128
    lr: float = 1e-3
    seeds: tuple[int, ...] = (0,)
    max_steps: int | None = None  # per training run; for smoke tests
    optimizer: str = _RECIPE.optimizer
    schedule: Schedule = _RECIPE.schedule
    weight_decay: float = _RECIPE.weight_decay

    def train_config(self, epochs: int, seed: int) -> TrainConfig:
        """The :class:`~symcodec.training.TrainConfig` of one training run of ``epochs``.

        >>> TrainingSpec(schedule="cosine").train_config(epochs=3, seed=1).schedule
        'cosine'
        """
        return TrainConfig(
            epochs=epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            optimizer=self.optimizer,
            schedule=self.schedule,
            seed=seed,
            max_steps=self.max_steps,
        )


@dataclass(frozen=True)
class StudySpec:
    """Everything that defines a study; see ``studies/quick.toml`` for the TOML form."""

    name: str
    dataset: str = "mnist-5k"
    data_dir: str | None = None
    model: str = "deepcnn"
    symmetries: tuple[str, ...] = ("central-skew",)
    modes: tuple[str, ...] = ("dof",)
    # symmetries sent in `dof` mode alone, to compare with the others (claim 4): no other
    # mode and no pruning baseline (each costs a model per training seed and its trials)
    compare_symmetries: tuple[str, ...] = ()
    bits: tuple[int, ...] = (4, 8)
    baselines: tuple[str, ...] = ("pruned", "quant-only")
    channel: ChannelSpec = field(default_factory=ChannelSpec)
    trials: int = 5
    seed: int = 0  # base seed of the channel noise
    alpha: float = 1.0
    bandwidth_hz: float = 1e6
    training: TrainingSpec = field(default_factory=TrainingSpec)
    test_limit: int | None = None  # evaluate on the first N test images only (smoke tests)
    per_channel: bool = False  # one quantizer range per output channel (uniform grids)

    @property
    def all_symmetries(self) -> tuple[str, ...]:
        """Every symmetry with a model in the study: :attr:`symmetries`, then
        :attr:`compare_symmetries`."""
        return self.symmetries + self.compare_symmetries

    @property
    def pruning(self) -> tuple[str, ...]:
        """The pruning baselines of the study, in :data:`BASELINES` order."""
        return tuple(b for b in BASELINES if b in PRUNING_BASELINES and b in self.baselines)

    def to_dict(self) -> dict:
        """The spec as plain data (nested dicts); :meth:`from_dict` reads it back."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> StudySpec:
        """The inverse of :meth:`to_dict` (lists accepted for tuples, as after JSON).

        A training table without optimizer, schedule or weight decay comes from a study run
        before training recipes: it trained with Adam at a constant rate, no weight decay.

        >>> spec = StudySpec(name="s", bits=(4,), training=TrainingSpec(seeds=(0, 1)))
        >>> StudySpec.from_dict(spec.to_dict()) == spec
        True
        """
        doc = dict(doc)
        channel = dict(doc.pop("channel"))
        training = {**_LEGACY_TRAINING, **doc.pop("training")}
        if "seed" in training:  # written before training seeds were a grid axis
            training["seeds"] = (training.pop("seed"),)
        training["seeds"] = tuple(training["seeds"])
        for key in ("symmetries", "modes", "bits", "baselines"):
            doc[key] = tuple(doc[key])
        doc["compare_symmetries"] = tuple(doc.get("compare_symmetries", ()))
        channel["values"] = tuple(channel["values"])
        channel["protect"] = tuple(channel.get("protect", ("none",)))
        channel["mcs"] = tuple(channel.get("mcs", ()))
        channel["bler_tables"] = tuple(channel.get("bler_tables", ()))
        return cls(**doc, channel=ChannelSpec(**channel), training=TrainingSpec(**training))
