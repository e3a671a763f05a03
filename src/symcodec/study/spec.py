"""What a study is: :class:`StudySpec` (with :class:`ChannelSpec` and :class:`TrainingSpec`),
read from TOML by :func:`load_study` and validated by :func:`parse_study`.

Every key is checked; an error names the key (``study key 'channel.p': ...``). See
``studies/quick.toml`` for the TOML form.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from ..channel import CHANNEL_PARAMETERS, channel_names, channel_parameter, make_channel
from ..data import dataset_names
from ..errors import SymcodecError
from ..io import read_bytes
from ..models import model_names
from ..receiver.protection import PROTECT_OPTIONS
from ..recipes import RECIPES, Recipe, recipe_for
from ..symmetry import symmetry_names
from ..training import SCHEDULES, Schedule, TrainConfig
from .nr_settings import MCS_AUTO, NR_CHANNEL, NR_KEYS, nr_protect_options, parse_nr_settings

__all__ = [
    "ChannelSpec",
    "TrainingSpec",
    "StudySpec",
    "load_study",
    "parse_study",
    "METHODS",
    "MODES",
    "BASELINES",
    "PRUNING_BASELINES",
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


def _channel_param(name: str) -> str:
    """The swept parameter of a channel as a results.csv cell (``""`` for ``ideal``)."""
    return channel_parameter(name) or ""


# --------------------------------------------------------------------------------------
# Specification


@dataclass(frozen=True)
class ChannelSpec:
    """The channel and the settings swept (SNR in dB, Eb/N0 in dB, or a probability), and
    the protection settings run (``none``, ``side``: a grid axis, SPEC section 10).

    ``auto``: the SNR (or Eb/N0) list is found at run time by a short search for the
    waterfall of unprotected ``full`` (:mod:`symcodec.study.waterfall`), laid in steps of
    ``auto_step_db``; ``values`` is empty until then.

    On ``nr-ldpc`` (:mod:`symcodec.study.nr_settings`): ``mcs`` the MCS indices of
    ``mcs_table`` run (a grid axis), or ``mcs_auto`` (chosen by link adaptation), at
    ``level`` and ``fading``; ``protect`` holds NR presets."""

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
        return _channel_param(self.name)

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

        >>> spec = parse_study({"name": "s", "bits": [4]})
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
        channel["values"] = tuple(channel["values"])
        channel["protect"] = tuple(channel.get("protect", ("none",)))
        channel["mcs"] = tuple(channel.get("mcs", ()))
        return cls(**doc, channel=ChannelSpec(**channel), training=TrainingSpec(**training))


# --------------------------------------------------------------------------------------
# Reading and validating

_TOP_KEYS = {
    "name",
    "dataset",
    "data_dir",
    "model",
    "symmetries",
    "modes",
    "bits",
    "baselines",
    "channel",
    "trials",
    "seed",
    "alpha",
    "link",
    "training",
    "test_limit",
    "per_channel",
}
_CHANNEL_KEYS = {
    "name",
    "snr_db",
    "ebn0_db",
    "p",
    "packet_bytes",
    "equal_energy",
    "protect",
    "auto_step_db",
    *NR_KEYS,
}
#: ``auto_step_db`` may not exceed this (issue 13: steps of at most 2 dB).
MAX_AUTO_STEP_DB = 2.0
_TRAINING_KEYS = {
    "epochs",
    "prune_finetune_epochs",
    "batch_size",
    "lr",
    "seed",
    "seeds",
    "max_steps",
    "schedule",
    "weight_decay",
}
_LINK_KEYS = {"bandwidth_hz"}
_DEFAULT_CHANNEL = {"name": "awgn", "snr_db": [0, 10, 20]}


def load_study(path: str | os.PathLike, overrides: dict | None = None) -> StudySpec:
    """Read a study TOML file (parsed as data only) and validate every key."""
    raw = read_bytes(path)
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SymcodecError(f"{path}: not a valid TOML file ({exc})") from None
    if overrides:
        doc = {**doc, **overrides}
    doc.setdefault("name", Path(path).stem)
    return parse_study(doc)


def parse_study(doc: dict) -> StudySpec:
    """Validate a study dictionary (the TOML's content); errors name the key.

    >>> spec = parse_study({"name": "s", "channel": {"name": "bsc", "p": [0.01]}})
    >>> spec.channel.param, spec.channel.values
    ('p', (0.01,))
    """
    _reject_unknown(doc, _TOP_KEYS, "")
    name = doc.get("name", "study")
    if not isinstance(name, str) or not name or "/" in name:
        _fail("name", "must be a non-empty string without '/'")
    dataset = _one_of(doc, "dataset", "mnist-5k", dataset_names(), "data set")
    model = _one_of(doc, "model", "deepcnn", model_names(), "model")
    symmetries = _strings(doc, "symmetries", ["central-skew"], symmetry_names())
    modes = _strings(doc, "modes", ["dof"], MODES)
    baselines = _baselines(doc)
    bits = _bits(doc)
    channel = _channel(doc.get("channel", _DEFAULT_CHANNEL))
    training = _training(doc.get("training", {}), recipe_for(dataset, model))
    bandwidth = _bandwidth(doc.get("link", {}))
    alpha = _float(doc, "alpha", 1.0, "")
    if not 0 <= alpha <= 1:
        _fail("alpha", "must be in [0, 1]")
    return StudySpec(
        name=name,
        dataset=dataset,
        data_dir=doc.get("data_dir"),
        model=model,
        symmetries=symmetries,
        modes=modes,
        bits=bits,
        baselines=baselines,
        channel=channel,
        trials=_int(doc, "trials", 5, 1, ""),
        seed=_int(doc, "seed", 0, 0, ""),
        alpha=alpha,
        bandwidth_hz=bandwidth,
        training=training,
        test_limit=_int(doc, "test_limit", None, 1, ""),
        per_channel=_bool(doc, "per_channel", False, ""),
    )


def _fail(key: str, why: str) -> NoReturn:
    raise SymcodecError(f"study key {key!r}: {why}")


def _reject_unknown(table: dict, known: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        _fail(prefix + unknown[0], "unknown key")


def _one_of(doc: dict, key: str, default: str, known: list[str], what: str) -> str:
    value = doc.get(key, default)
    if value not in known:
        _fail(key, f"unknown {what} {value!r}; known: {', '.join(known)}")
    return value


def _strings(doc: dict, key: str, default: list[str], allowed, prefix: str = "") -> tuple[str, ...]:
    value = doc.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        _fail(prefix + key, "must be a non-empty list of strings")
    for v in value:
        if v not in allowed:
            _fail(prefix + key, f"unknown value {v!r}; known: {', '.join(allowed)}")
    return tuple(value)


def _baselines(doc: dict) -> tuple[str, ...]:
    baselines = tuple(doc.get("baselines", list(DEFAULT_BASELINES)))
    for b in baselines:
        if b not in BASELINES:
            _fail("baselines", f"unknown baseline {b!r}; known: {', '.join(BASELINES)}")
    return baselines


def _bits(doc: dict) -> tuple[int, ...]:
    bits = doc.get("bits", [4, 8])
    if isinstance(bits, int):
        bits = [bits]
    if not isinstance(bits, list) or not bits:
        _fail("bits", "must be a non-empty list of integers")
    for b in bits:
        if isinstance(b, bool) or not isinstance(b, int) or not (2 <= b <= 16 or b == 32):
            _fail("bits", f"{b!r} is not in 2..16 or 32")
    return tuple(bits)


def _channel(ch) -> ChannelSpec:
    if not isinstance(ch, dict):
        _fail("channel", "must be a table")
    _reject_unknown(ch, _CHANNEL_KEYS, "channel.")
    name = ch.get("name", "awgn")
    known = channel_names(extras=True)
    if name not in known:
        _fail("channel.name", f"unknown channel {name!r}; known: {', '.join(known)}")
    param = _channel_param(name)
    nr = parse_nr_settings(ch, name)
    if nr and ch.get(param) == "auto":
        _fail(f"channel.{param}", f'"auto" finds analog waterfalls; list the SNRs of {name!r}')
    for key in ("packet_bytes", "equal_energy"):
        if nr and key in ch:
            _fail(f"channel.{key}", f"does not apply to channel {name!r}")
    auto = param in ("snr_db", "ebn0_db") and ch.get(param) == "auto"
    values = [] if auto else (_channel_values(ch, param) if param else [math.nan])
    step = _float(ch, "auto_step_db", MAX_AUTO_STEP_DB, "channel.")
    if "auto_step_db" in ch and not auto:
        _fail("channel.auto_step_db", f'applies only with {param or "snr_db"} = "auto"')
    if not 0 < step <= MAX_AUTO_STEP_DB:
        _fail("channel.auto_step_db", f"must be in (0, {MAX_AUTO_STEP_DB:g}] dB")
    for other in CHANNEL_PARAMETERS:
        if other != param and other in ch:
            _fail(f"channel.{other}", f"does not apply to channel {name!r}")
    packet_bytes = ch.get("packet_bytes")
    if packet_bytes is not None and (not isinstance(packet_bytes, int) or packet_bytes < 1):
        _fail("channel.packet_bytes", "must be a positive integer")
    equal_energy = _bool(ch, "equal_energy", False, "channel.")
    options = nr_protect_options() if nr else PROTECT_OPTIONS
    protect = _strings(ch, "protect", ["none"], options, "channel.")
    if len(set(protect)) != len(protect):
        _fail("channel.protect", "lists a setting twice")
    return ChannelSpec(
        name, tuple(float(v) for v in values), packet_bytes, equal_energy, protect, auto, step,
        **nr,
    )  # fmt: skip


def _channel_values(ch: dict, param: str) -> list:
    values = ch.get(param)
    if isinstance(values, int | float) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, list) or not values:
        auto = ' or "auto"' if param in ("snr_db", "ebn0_db") else ""
        _fail(f"channel.{param}", f"must be a non-empty list of numbers{auto}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            _fail(f"channel.{param}", f"{v!r} is not a finite number")
        if param == "p" and not 0 <= v <= 1:
            _fail("channel.p", f"{v!r} is not a probability")
    return values


def _training(tr, recipe: Recipe) -> TrainingSpec:
    if not isinstance(tr, dict):
        _fail("training", "must be a table")
    _reject_unknown(tr, _TRAINING_KEYS, "training.")
    schedule = tr.get("schedule", recipe.schedule)
    if schedule not in SCHEDULES:
        _fail("training.schedule", f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
    weight_decay = _float(tr, "weight_decay", recipe.weight_decay, "training.")
    if weight_decay < 0:
        _fail("training.weight_decay", "must be >= 0")
    training = TrainingSpec(
        epochs=_int(tr, "epochs", 2, 0, "training."),
        prune_finetune_epochs=_int(tr, "prune_finetune_epochs", 0, 0, "training."),
        batch_size=_int(tr, "batch_size", 128, 1, "training."),
        lr=_float(tr, "lr", 1e-3, "training."),
        seeds=_seeds(tr),
        max_steps=_int(tr, "max_steps", None, 1, "training."),
        optimizer=recipe.optimizer,
        schedule=schedule,
        weight_decay=weight_decay,
    )
    if training.prune_finetune_epochs > training.epochs:
        _fail("training.prune_finetune_epochs", "cannot exceed training.epochs (equal budget)")
    return training


def _seeds(tr: dict) -> tuple[int, ...]:
    """``training.seeds`` (a list) or ``training.seed`` (one); not both."""
    if "seed" in tr and "seeds" in tr:
        _fail("training.seeds", "give seeds or seed, not both")
    if "seeds" not in tr:
        return (_int(tr, "seed", 0, 0, "training."),)
    seeds = tr["seeds"]
    if not isinstance(seeds, list) or not seeds:
        _fail("training.seeds", "must be a non-empty list of integers >= 0")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            _fail("training.seeds", f"must be a non-empty list of integers >= 0, got {s!r}")
    if len(set(seeds)) != len(seeds):
        _fail("training.seeds", "lists a seed twice")
    return tuple(seeds)


def _bandwidth(link) -> float:
    if not isinstance(link, dict) or set(link) - _LINK_KEYS:
        _fail("link", "must be a table with bandwidth_hz")
    bandwidth = _float(link, "bandwidth_hz", 1e6, "link.")
    if bandwidth <= 0:
        _fail("link.bandwidth_hz", "must be positive")
    return bandwidth


def _int(doc: dict, key: str, default: int | None, low: int, prefix: str) -> int | None:
    value = doc.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        _fail(prefix + key, f"must be an integer >= {low}, got {value!r}")
    return value


def _bool(doc: dict, key: str, default: bool, prefix: str) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        _fail(prefix + key, "must be true or false")
    return value


def _float(doc: dict, key: str, default: float, prefix: str) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(prefix + key, f"must be a finite number, got {value!r}")
    return float(value)
