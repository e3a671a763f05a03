"""Reading a study: :func:`load_study` (a TOML file) and :func:`parse_study` (its content),
which validate every key into a :class:`~symcodec.study.study_spec.StudySpec`.

Every key is checked; an error names the key (``study key 'channel.p': ...``). See
``studies/quick.toml`` for the TOML form.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path

from ..channel import CHANNEL_PARAMETERS, channel_names
from ..data import dataset_names
from ..errors import SymcodecError
from ..io import read_bytes
from ..models import model_names
from ..receiver.protection import PROTECT_OPTIONS
from ..recipes import Recipe, recipe_for
from ..symmetry import symmetry_names
from ..training import SCHEDULES
from .nr_settings import NR_KEYS, nr_protect_options, parse_nr_settings, resolve_bler_tables
from .spec_fields import (
    bool_field,
    fail,
    float_field,
    int_field,
    one_of,
    reject_unknown,
    strings,
)
from .study_spec import (
    BASELINES,
    DEFAULT_BASELINES,
    MODES,
    ChannelSpec,
    StudySpec,
    TrainingSpec,
    channel_param_of,
)

__all__ = ["MAX_AUTO_STEP_DB", "load_study", "parse_study"]

_TOP_KEYS = {
    "name",
    "dataset",
    "data_dir",
    "model",
    "symmetries",
    "compare_symmetries",
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
    return parse_study(resolve_bler_tables(doc, Path(path).parent))


def parse_study(doc: dict) -> StudySpec:
    """Validate a study dictionary (the TOML's content); errors name the key.

    >>> spec = parse_study({"name": "s", "channel": {"name": "bsc", "p": [0.01]}})
    >>> spec.channel.param, spec.channel.values
    ('p', (0.01,))
    """
    reject_unknown(doc, _TOP_KEYS, "")
    name = doc.get("name", "study")
    if not isinstance(name, str) or not name or "/" in name:
        fail("name", "must be a non-empty string without '/'")
    dataset = one_of(doc, "dataset", "mnist-5k", dataset_names(), "data set")
    model = one_of(doc, "model", "deepcnn", model_names(), "model")
    symmetries = strings(doc, "symmetries", ["central-skew"], symmetry_names())
    compared = _compare_symmetries(doc, symmetries)
    modes = strings(doc, "modes", ["dof"], MODES)
    baselines = _baselines(doc)
    bits = _bits(doc)
    channel = _channel(doc.get("channel", _DEFAULT_CHANNEL))
    training = _training(doc.get("training", {}), recipe_for(dataset, model))
    bandwidth = _bandwidth(doc.get("link", {}))
    alpha = float_field(doc, "alpha", 1.0, "")
    if not 0 <= alpha <= 1:
        fail("alpha", "must be in [0, 1]")
    return StudySpec(
        name=name,
        dataset=dataset,
        data_dir=doc.get("data_dir"),
        model=model,
        symmetries=symmetries,
        compare_symmetries=compared,
        modes=modes,
        bits=bits,
        baselines=baselines,
        channel=channel,
        trials=int_field(doc, "trials", 5, 1, ""),
        seed=int_field(doc, "seed", 0, 0, ""),
        alpha=alpha,
        bandwidth_hz=bandwidth,
        training=training,
        test_limit=int_field(doc, "test_limit", None, 1, ""),
        per_channel=bool_field(doc, "per_channel", False, ""),
    )


def _compare_symmetries(doc: dict, symmetries: tuple[str, ...]) -> tuple[str, ...]:
    """``compare_symmetries``: symmetry names (an empty list: none), none of them also in
    ``symmetries``."""
    if doc.get("compare_symmetries", []) == []:
        return ()
    compared = strings(doc, "compare_symmetries", [], symmetry_names())
    both = [s for s in compared if s in symmetries]
    if both:
        fail("compare_symmetries", f"{both[0]!r} is already in 'symmetries'")
    return compared


def _baselines(doc: dict) -> tuple[str, ...]:
    baselines = tuple(doc.get("baselines", list(DEFAULT_BASELINES)))
    for b in baselines:
        if b not in BASELINES:
            fail("baselines", f"unknown baseline {b!r}; known: {', '.join(BASELINES)}")
    return baselines


def _bits(doc: dict) -> tuple[int, ...]:
    bits = doc.get("bits", [4, 8])
    if isinstance(bits, int):
        bits = [bits]
    if not isinstance(bits, list) or not bits:
        fail("bits", "must be a non-empty list of integers")
    for b in bits:
        if isinstance(b, bool) or not isinstance(b, int) or not (2 <= b <= 16 or b == 32):
            fail("bits", f"{b!r} is not in 2..16 or 32")
    return tuple(bits)


def _channel(ch) -> ChannelSpec:
    if not isinstance(ch, dict):
        fail("channel", "must be a table")
    reject_unknown(ch, _CHANNEL_KEYS, "channel.")
    name = ch.get("name", "awgn")
    known = channel_names(extras=True)
    if name not in known:
        fail("channel.name", f"unknown channel {name!r}; known: {', '.join(known)}")
    param = channel_param_of(name)
    nr = parse_nr_settings(ch, name)
    if nr and ch.get(param) == "auto":
        fail(f"channel.{param}", f'"auto" finds analog waterfalls; list the SNRs of {name!r}')
    for key in ("packet_bytes", "equal_energy"):
        if nr and key in ch:
            fail(f"channel.{key}", f"does not apply to channel {name!r}")
    auto = param in ("snr_db", "ebn0_db") and ch.get(param) == "auto"
    values = [] if auto else (_channel_values(ch, param) if param else [math.nan])
    step = float_field(ch, "auto_step_db", MAX_AUTO_STEP_DB, "channel.")
    if "auto_step_db" in ch and not auto:
        fail("channel.auto_step_db", f'applies only with {param or "snr_db"} = "auto"')
    if not 0 < step <= MAX_AUTO_STEP_DB:
        fail("channel.auto_step_db", f"must be in (0, {MAX_AUTO_STEP_DB:g}] dB")
    for other in CHANNEL_PARAMETERS:
        if other != param and other in ch:
            fail(f"channel.{other}", f"does not apply to channel {name!r}")
    packet_bytes = ch.get("packet_bytes")
    if packet_bytes is not None and (not isinstance(packet_bytes, int) or packet_bytes < 1):
        fail("channel.packet_bytes", "must be a positive integer")
    equal_energy = bool_field(ch, "equal_energy", False, "channel.")
    options = nr_protect_options() if nr else PROTECT_OPTIONS
    protect = strings(ch, "protect", ["none"], options, "channel.")
    if len(set(protect)) != len(protect):
        fail("channel.protect", "lists a setting twice")
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
        fail(f"channel.{param}", f"must be a non-empty list of numbers{auto}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            fail(f"channel.{param}", f"{v!r} is not a finite number")
        if param == "p" and not 0 <= v <= 1:
            fail("channel.p", f"{v!r} is not a probability")
    return values


def _training(tr, recipe: Recipe) -> TrainingSpec:
    if not isinstance(tr, dict):
        fail("training", "must be a table")
    reject_unknown(tr, _TRAINING_KEYS, "training.")
    schedule = tr.get("schedule", recipe.schedule)
    if schedule not in SCHEDULES:
        fail("training.schedule", f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
    weight_decay = float_field(tr, "weight_decay", recipe.weight_decay, "training.")
    if weight_decay < 0:
        fail("training.weight_decay", "must be >= 0")
    training = TrainingSpec(
        epochs=int_field(tr, "epochs", 2, 0, "training."),
        prune_finetune_epochs=int_field(tr, "prune_finetune_epochs", 0, 0, "training."),
        batch_size=int_field(tr, "batch_size", 128, 1, "training."),
        lr=float_field(tr, "lr", 1e-3, "training."),
        seeds=_seeds(tr),
        max_steps=int_field(tr, "max_steps", None, 1, "training."),
        optimizer=recipe.optimizer,
        schedule=schedule,
        weight_decay=weight_decay,
    )
    if training.prune_finetune_epochs > training.epochs:
        fail("training.prune_finetune_epochs", "cannot exceed training.epochs (equal budget)")
    return training


def _seeds(tr: dict) -> tuple[int, ...]:
    """``training.seeds`` (a list) or ``training.seed`` (one); not both."""
    if "seed" in tr and "seeds" in tr:
        fail("training.seeds", "give seeds or seed, not both")
    if "seeds" not in tr:
        return (int_field(tr, "seed", 0, 0, "training."),)
    seeds = tr["seeds"]
    if not isinstance(seeds, list) or not seeds:
        fail("training.seeds", "must be a non-empty list of integers >= 0")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            fail("training.seeds", f"must be a non-empty list of integers >= 0, got {s!r}")
    if len(set(seeds)) != len(seeds):
        fail("training.seeds", "lists a seed twice")
    return tuple(seeds)


def _bandwidth(link) -> float:
    if not isinstance(link, dict) or set(link) - _LINK_KEYS:
        fail("link", "must be a table with bandwidth_hz")
    bandwidth = float_field(link, "bandwidth_hz", 1e6, "link.")
    if bandwidth <= 0:
        fail("link.bandwidth_hz", "must be positive")
    return bandwidth
