"""The study: symmetry x mode x bits x channel setting x trials, against the baselines.

A study is described by a :class:`StudySpec` (read from TOML by :func:`load_study`). The
runner trains each (data set, model, symmetry, seed) once and caches it under a
content-hashed key; then for every transmitter configuration (method, symmetry, mode, bits)
it evaluates the transmitter's model (Acc Tx), its quantized version over an ideal channel
(Acc Tx,q), and, for every channel setting and trial seed, the received model (Acc Rx).
Received models are evaluated in batches. Rows are appended to ``results.csv`` as they
come, so an interrupted study resumes where it stopped.

Baselines (SPEC section 6), at equal training budget (every model gets ``epochs`` epochs in
total, training plus fine-tuning):

* ``pruned``: the unconstrained model, magnitude-pruned in each conv layer to that layer's DoF
  count under each studied symmetry, optionally fine-tuned with the mask fixed; positions are
  counted in the payload and the oracle figure is kept beside it.
* ``quant-only``: the unconstrained model sent in full at the same bits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .channel import Link, make_channel
from .codec import TransmissionPlan
from .codec.format import pruning_mask
from .errors import SymcodecError
from .symmetry import get_symmetry

__all__ = [
    "ChannelSpec",
    "TrainingSpec",
    "StudySpec",
    "TxConfig",
    "load_study",
    "parse_study",
    "run_study",
    "trained_model",
    "model_cache_dir",
]

METHODS = ("symmetric", "pruned", "quant-only")
CHANNEL_PARAMS = {
    "ideal": "",
    "awgn": "snr_db",
    "bsc": "p",
    "erasure": "p",
}


def _channel_param(name: str) -> str:
    if name in CHANNEL_PARAMS:
        return CHANNEL_PARAMS[name]
    return "ebn0_db"  # every modulated channel


# --------------------------------------------------------------------------------------
# Specification


@dataclass(frozen=True)
class ChannelSpec:
    """The channel and the settings swept (SNR in dB, Eb/N0 in dB, or a probability)."""

    name: str = "awgn"
    values: tuple[float, ...] = (0.0, 10.0, 20.0)
    packet_bytes: int | None = None
    equal_energy: bool = False

    @property
    def param(self) -> str:
        return _channel_param(self.name)

    def make(self, value: float):
        kwargs = {}
        if self.param:
            kwargs[self.param] = value
        if self.packet_bytes is not None:
            kwargs["packet_bytes"] = self.packet_bytes
        return make_channel(self.name, **kwargs)


@dataclass(frozen=True)
class TrainingSpec:
    """Training budget: ``epochs`` in total for every model (training plus fine-tuning)."""

    epochs: int = 2
    prune_finetune_epochs: int = 0
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    max_steps: int | None = None  # per training run; for smoke tests


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

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


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
}
_CHANNEL_KEYS = {"name", "snr_db", "ebn0_db", "p", "packet_bytes", "equal_energy"}
_TRAINING_KEYS = {"epochs", "prune_finetune_epochs", "batch_size", "lr", "seed", "max_steps"}
_LINK_KEYS = {"bandwidth_hz"}


def load_study(path: str | os.PathLike, overrides: dict | None = None) -> StudySpec:
    """Read a study TOML file (parsed as data only) and validate every key."""
    from .io import read_bytes

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
    """Validate a study dictionary (the TOML's content); errors name the key."""
    from .channel import channel_names
    from .data import dataset_names
    from .models import model_names
    from .symmetry import symmetry_names

    def fail(key: str, why: str):
        raise SymcodecError(f"study key {key!r}: {why}")

    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        fail(unknown[0], "unknown key")

    def strings(key, default, allowed=None):
        value = doc.get(key, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            fail(key, "must be a non-empty list of strings")
        if allowed is not None:
            for v in value:
                if v not in allowed:
                    fail(key, f"unknown value {v!r}; known: {', '.join(allowed)}")
        return tuple(value)

    name = doc.get("name", "study")
    if not isinstance(name, str) or not name or "/" in name:
        fail("name", "must be a non-empty string without '/'")
    dataset = doc.get("dataset", "mnist-5k")
    if dataset not in dataset_names():
        fail("dataset", f"unknown data set {dataset!r}; known: {', '.join(dataset_names())}")
    model = doc.get("model", "deepcnn")
    if model not in model_names():
        fail("model", f"unknown model {model!r}; known: {', '.join(model_names())}")
    symmetries = strings("symmetries", ["central-skew"], symmetry_names())
    modes = strings("modes", ["dof"], ("dof", "full-project", "full"))
    baselines = tuple(doc.get("baselines", ["pruned", "quant-only"]))
    for b in baselines:
        if b not in ("pruned", "quant-only"):
            fail("baselines", f"unknown baseline {b!r}; known: pruned, quant-only")
    bits = doc.get("bits", [4, 8])
    if isinstance(bits, int):
        bits = [bits]
    if not isinstance(bits, list) or not bits:
        fail("bits", "must be a non-empty list of integers")
    for b in bits:
        if isinstance(b, bool) or not isinstance(b, int) or not (2 <= b <= 16 or b == 32):
            fail("bits", f"{b!r} is not in 2..16 or 32")

    ch = doc.get("channel", {"name": "awgn", "snr_db": [0, 10, 20]})
    if not isinstance(ch, dict):
        fail("channel", "must be a table")
    unknown = sorted(set(ch) - _CHANNEL_KEYS)
    if unknown:
        fail(f"channel.{unknown[0]}", "unknown key")
    ch_name = ch.get("name", "awgn")
    if ch_name not in channel_names():
        fail("channel.name", f"unknown channel {ch_name!r}; known: {', '.join(channel_names())}")
    param = _channel_param(ch_name)
    values: list = [math.nan]
    if param:
        values = ch.get(param)
        if isinstance(values, int | float) and not isinstance(values, bool):
            values = [values]
        if not isinstance(values, list) or not values:
            fail(f"channel.{param}", "must be a non-empty list of numbers")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                fail(f"channel.{param}", f"{v!r} is not a finite number")
            if param == "p" and not 0 <= v <= 1:
                fail("channel.p", f"{v!r} is not a probability")
    for other in ("snr_db", "ebn0_db", "p"):
        if other != param and other in ch:
            fail(f"channel.{other}", f"does not apply to channel {ch_name!r}")
    packet_bytes = ch.get("packet_bytes")
    if packet_bytes is not None and (not isinstance(packet_bytes, int) or packet_bytes < 1):
        fail("channel.packet_bytes", "must be a positive integer")
    equal_energy = ch.get("equal_energy", False)
    if not isinstance(equal_energy, bool):
        fail("channel.equal_energy", "must be true or false")

    tr = doc.get("training", {})
    if not isinstance(tr, dict):
        fail("training", "must be a table")
    unknown = sorted(set(tr) - _TRAINING_KEYS)
    if unknown:
        fail(f"training.{unknown[0]}", "unknown key")
    training = TrainingSpec(
        epochs=_int(tr, "epochs", 2, 0, fail, "training."),
        prune_finetune_epochs=_int(tr, "prune_finetune_epochs", 0, 0, fail, "training."),
        batch_size=_int(tr, "batch_size", 128, 1, fail, "training."),
        lr=_float(tr, "lr", 1e-3, fail, "training."),
        seed=_int(tr, "seed", 0, 0, fail, "training."),
        max_steps=_int(tr, "max_steps", None, 1, fail, "training."),
    )
    if training.prune_finetune_epochs > training.epochs:
        fail("training.prune_finetune_epochs", "cannot exceed training.epochs (equal budget)")
    link = doc.get("link", {})
    if not isinstance(link, dict) or set(link) - _LINK_KEYS:
        fail("link", "must be a table with bandwidth_hz")
    bandwidth = _float(link, "bandwidth_hz", 1e6, fail, "link.")
    if bandwidth <= 0:
        fail("link.bandwidth_hz", "must be positive")
    alpha = _float(doc, "alpha", 1.0, fail, "")
    if not 0 <= alpha <= 1:
        fail("alpha", "must be in [0, 1]")
    return StudySpec(
        name=name,
        dataset=dataset,
        data_dir=doc.get("data_dir"),
        model=model,
        symmetries=symmetries,
        modes=modes,
        bits=tuple(bits),
        baselines=baselines,
        channel=ChannelSpec(ch_name, tuple(float(v) for v in values), packet_bytes, equal_energy),
        trials=_int(doc, "trials", 5, 1, fail, ""),
        seed=_int(doc, "seed", 0, 0, fail, ""),
        alpha=alpha,
        bandwidth_hz=bandwidth,
        training=training,
        test_limit=_int(doc, "test_limit", None, 1, fail, ""),
    )


def _int(doc, key, default, low, fail, prefix):
    value = doc.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        fail(prefix + key, f"must be an integer >= {low}, got {value!r}")
    return value


def _float(doc, key, default, fail, prefix):
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        fail(prefix + key, f"must be a finite number, got {value!r}")
    return float(value)


# --------------------------------------------------------------------------------------
# Trained models, cached by content hash


def model_cache_dir() -> Path:
    """``$SYMCODEC_CACHE/models`` (default ``~/.cache/symcodec/models``)."""
    root = os.environ.get("SYMCODEC_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "symcodec"
    )
    return Path(root).expanduser() / "models"


def _cache_key(parts: dict) -> str:
    from . import __version__

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
    from .constrain import symmetrize, unsymmetrize
    from .io import load_state_dict, save_state_dict
    from .models import build_model
    from .training import TrainConfig, evaluate, seeded, train

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
    if symmetry != "none":
        symmetrize(model, symmetry)
    config = TrainConfig(
        epochs=epochs - done,
        batch_size=t.batch_size,
        lr=t.lr,
        seed=t.seed + done,
        max_steps=t.max_steps,
    )
    result = train(model, data.train_x, data.train_y, config, progress=progress)
    if symmetry != "none":
        unsymmetrize(model)
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
    import copy

    from .io import load_state_dict, save_state_dict
    from .training import TrainConfig, train

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


# --------------------------------------------------------------------------------------
# Transmitter configurations and trials


@dataclass(frozen=True)
class TxConfig:
    """One transmitter configuration: what is sent and how."""

    method: str  # symmetric | pruned | quant-only
    symmetry: str  # the symmetry (for pruned: whose DoF count it matches; none: quant-only)
    mode: str  # dof | full-project | full | pruned
    bits: int

    @property
    def label(self) -> str:
        if self.method == "quant-only":
            return f"quant-only {self.bits}b"
        if self.method == "pruned":
            return f"pruned eq. {self.symmetry} {self.bits}b"
        return f"{self.symmetry} {self.mode} {self.bits}b"


def tx_configs(spec: StudySpec) -> list[TxConfig]:
    """Every transmitter configuration of a study, in table order."""
    configs = []
    for sym in spec.symmetries:
        for mode in spec.modes:
            for bits in spec.bits:
                configs.append(TxConfig("symmetric", sym, mode, bits))
    if "pruned" in spec.baselines:
        for sym in spec.symmetries:
            for bits in spec.bits:
                configs.append(TxConfig("pruned", sym, "pruned", bits))
    if "quant-only" in spec.baselines:
        for bits in spec.bits:
            configs.append(TxConfig("quant-only", "none", "full", bits))
    return configs


def trial_key(row: dict) -> tuple:
    """What identifies a trial in ``results.csv`` (for resuming)."""
    value = float(row["channel_value"])
    return (
        row["method"],
        row["symmetry"],
        row["mode"],
        int(row["bits"]),
        "nan" if math.isnan(value) else f"{value:.6g}",
        int(row["trial"]),
    )


def trial_seed(spec: StudySpec, config: TxConfig, value: float, trial: int) -> int:
    """Noise seed of one trial: a hash of the study seed, configuration, setting and trial,
    so any subset of the grid can be run (and resumed) with the same noise."""
    text = f"{spec.seed}|{config.method}|{config.symmetry}|{config.mode}|{config.bits}|"
    text += f"{value!r}|{trial}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def plan_for(config: TxConfig, state_dict) -> TransmissionPlan:
    if config.method == "pruned":
        return TransmissionPlan.pruned(state_dict, config.symmetry, bits=config.bits)
    return TransmissionPlan.default(
        state_dict, symmetry=config.symmetry, bits=config.bits, mode=config.mode
    )


@dataclass
class StudyContext:
    """What the trials of a study share: data, models, evaluation."""

    spec: StudySpec
    data: object
    test_x: torch.Tensor
    test_y: torch.Tensor
    architecture: nn.Module
    models: dict[str, nn.Module]  # "none", each symmetry, "pruned:<symmetry>"
    acc_ref: float
    conv_share: float
    distances: dict[str, float]

    def tx_model(self, config: TxConfig) -> nn.Module:
        if config.method == "pruned":
            return self.models[f"pruned:{config.symmetry}"]
        if config.method == "quant-only":
            return self.models["none"]
        return self.models[config.symmetry]

    def evaluate(self, state_dicts: Sequence[dict]) -> list[float]:
        from .evaluation import evaluate_many

        return evaluate_many(self.architecture, state_dicts, self.test_x, self.test_y)


def prepare(
    spec: StudySpec, progress: bool = False, log: Callable[[str], None] = print
) -> StudyContext:
    """Load the data, train (or load from the cache) every model the study needs."""
    from .data import load_dataset
    from .models import model_summary
    from .training import evaluate

    data = load_dataset(spec.dataset, data_dir=spec.data_dir)
    test_x, test_y = data.test_x, data.test_y
    if spec.test_limit is not None:
        test_x, test_y = test_x[: spec.test_limit], test_y[: spec.test_limit]
    t = spec.training
    models: dict[str, nn.Module] = {}
    # The unconstrained model is always trained: its accuracy is the reference of dAcc.
    # With pruning fine-tuning (f epochs), it is trained epochs - f epochs, which is the
    # pruning baseline's starting point (equal budget: prune, then f epochs with the mask
    # fixed), and then continued f more epochs.
    f = t.prune_finetune_epochs if "pruned" in spec.baselines else 0
    if f:
        base, _ = trained_model(spec, data, "none", t.epochs - f, progress, log)
        models["none"], _ = trained_model(
            spec, data, "none", t.epochs, progress, log, start=(base, t.epochs - f)
        )
    else:
        base = models["none"] = trained_model(spec, data, "none", t.epochs, progress, log)[0]
    if "pruned" in spec.baselines:
        for sym in spec.symmetries:
            models[f"pruned:{sym}"] = pruned_model(
                spec, data, base, sym, t.epochs - f, progress, log
            )
    for sym in spec.symmetries:
        models[sym], _ = trained_model(spec, data, sym, t.epochs, progress, log)
    architecture = models["none"]
    acc_ref = evaluate(models["none"], test_x, test_y)
    summary = model_summary(models["none"])
    from .analysis import overall_distance

    ref_sd = models["none"].state_dict()
    distances = {sym: overall_distance(ref_sd, sym) or 0.0 for sym in spec.symmetries}
    return StudyContext(
        spec=spec,
        data=data,
        test_x=test_x,
        test_y=test_y,
        architecture=architecture,
        models=models,
        acc_ref=acc_ref,
        conv_share=summary.conv_share,
        distances=distances,
    )


def run_config(ctx: StudyContext, config: TxConfig, done: set[tuple]) -> list[dict]:
    """Every trial of one transmitter configuration not yet in ``done``; returns rows."""
    from .channel import IdealChannel
    from .codec import encode, inspect
    from .receiver import ReceiverOptions, transmit, transmitter_view

    spec = ctx.spec
    model = ctx.tx_model(config)
    state_dict = {k: v.detach() for k, v in model.state_dict().items()}
    plan = plan_for(config, state_dict)
    acc = inspect(encode(state_dict, plan))
    full_same = plan_for(TxConfig("quant-only", "none", "full", config.bits), state_dict)
    full_bits = inspect(encode(state_dict, full_same)).payload_bits
    options = ReceiverOptions(alpha=spec.alpha, equal_energy=spec.channel.equal_energy)
    pending = [
        (value, trial)
        for value in spec.channel.values
        for trial in range(spec.trials)
        if trial_key(_key_row(config, value, trial)) not in done
    ]
    if not pending:
        return []
    acc_tx, acc_txq = ctx.evaluate(
        [
            transmitter_view(state_dict, plan),
            transmit(state_dict, plan, IdealChannel(), seed=0).state_dict,
        ]
    )
    receptions = []
    for value, trial in pending:
        channel = spec.channel.make(value)
        link = Link.for_channel(channel, bandwidth_hz=spec.bandwidth_hz)
        seed = trial_seed(spec, config, value, trial)
        rx = transmit(state_dict, plan, channel, seed=seed, link=link, options=options)
        receptions.append((value, trial, seed, rx))
    accuracies = ctx.evaluate([rx.state_dict for *_, rx in receptions])
    rows = []
    for (value, trial, seed, rx), acc_rx in zip(receptions, accuracies, strict=True):
        rows.append(
            {
                "study": spec.name,
                "dataset": spec.dataset,
                "model": spec.model,
                "method": config.method,
                "symmetry": config.symmetry,
                "mode": config.mode,
                "bits": config.bits,
                "channel": spec.channel.name,
                "channel_param": spec.channel.param,
                "channel_value": value,
                "energy": "equal-energy" if spec.channel.equal_energy else "per-value",
                "alpha": spec.alpha,
                "trial": trial,
                "seed": seed,
                "epochs_total": spec.training.epochs,
                "acc_ref": ctx.acc_ref,
                "acc_tx": acc_tx,
                "acc_txq": acc_txq,
                "acc_rx": acc_rx,
                "d_acc_pp": acc_rx - ctx.acc_ref,
                "values_sent": rx.values_sent,
                "values_total": acc.values_total,
                "payload_bits": rx.payload_bits,
                "mask_bits": rx.mask_bits,
                "payload_bits_oracle": rx.payload_bits - rx.mask_bits,
                "header_bits": rx.header_bits,
                "bits_sent": rx.bits_sent,
                "payload_reduction_pct": 100.0 * (1.0 - rx.payload_bits / full_bits),
                "bit_errors": rx.bit_errors,
                "ber": rx.ber,
                "crc_failures": len(rx.crc_failures),
                "encode_ms": 1000 * rx.encode_s,
                "decode_ms": 1000 * rx.decode_s,
                "air_ms": 1000 * rx.air_time_s,
                "latency_ms": rx.latency_ms,
                "distance": ctx.distances.get(config.symmetry, 0.0)
                if config.method != "symmetric"
                else 0.0,
                "conv_share": ctx.conv_share,
            }
        )
    return rows


def _key_row(config: TxConfig, value: float, trial: int) -> dict:
    return {
        "method": config.method,
        "symmetry": config.symmetry,
        "mode": config.mode,
        "bits": config.bits,
        "channel_value": value,
        "trial": trial,
    }


# --------------------------------------------------------------------------------------
# Running a study


@dataclass
class StudyRun:
    """What :func:`run_study` produced."""

    spec: StudySpec
    directory: Path
    rows: list[dict]
    seconds: float
    new_trials: int
    meta: dict


def run_study(
    spec: StudySpec,
    directory: str | os.PathLike,
    executor: str = "local",
    address: str | None = None,
    progress: bool = True,
    command: str = "",
    log: Callable[[str], None] = print,
) -> StudyRun:
    """Run (or resume) a study and write its directory: ``results.csv``, ``table.md``,
    ``accuracy_vs_snr.png``, ``accuracy_vs_bits.png``, ``payload.png``, ``claims.md`` and
    ``run.json``."""
    from . import report

    start = time.perf_counter()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.csv"
    configs = tx_configs(spec)
    total = len(configs) * len(spec.channel.values) * spec.trials
    grid = {
        trial_key(_key_row(c, v, t))
        for c in configs
        for v in spec.channel.values
        for t in range(spec.trials)
    }
    existing: list[dict] = []
    if results_path.exists():
        found = report.read_results_csv(results_path)
        existing = [r for r in found if r["study"] == spec.name and trial_key(r) in grid]
        if len(existing) != len(found):  # trials of another grid: keep only this study's
            log(f"dropping {len(found) - len(existing)} rows outside this study's grid")
            report.write_results_csv(existing, results_path)
    done = {trial_key(r) for r in existing}
    if len(done) >= total and existing:
        log(f"all {total} trials already in {results_path}; writing the outputs")
        ctx = None
    else:
        if done:
            log(f"resuming: {len(done)} of {total} trials already in {results_path}")
        if executor == "ray":
            from .distributed import run_configs_ray

            ctx, new_rows = run_configs_ray(spec, configs, done, results_path, address, log)
            existing += new_rows
        elif executor == "local":
            ctx = prepare(spec, progress=progress, log=log)
            existing += _run_local(ctx, configs, done, results_path, total, progress)
        else:
            raise SymcodecError(f"unknown executor {executor!r}; known: local, ray")
    rows = existing
    seconds = time.perf_counter() - start
    meta = _run_meta(spec, ctx, rows, command, seconds, executor)
    if (out / "ablation.csv").exists():  # written by `symcodec ablate` (claim 5)
        meta["ablation"] = report.read_ablation_csv(out / "ablation.csv")
    summary = report.summarize(rows)
    report.write_table(summary, meta, out / "table.md")
    report.plot_accuracy_vs_snr(summary, out / "accuracy_vs_snr.png")
    report.plot_accuracy_vs_bits(summary, out / "accuracy_vs_bits.png")
    report.plot_payload(summary, out / "payload.png")
    claims = report.evaluate_claims(summary, meta)
    report.write_claims(claims, meta, out / "claims.md")
    from .io import atomic_open

    with atomic_open(out / "run.json", "w") as handle:
        json.dump(meta, handle, indent=2, default=str)
    return StudyRun(spec, out, rows, seconds, total - len(done), meta)


def _run_local(ctx, configs, done, results_path, total, progress) -> list[dict]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from . import report

    new_rows: list[dict] = []
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    started = time.perf_counter()
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("trials", total=total, completed=len(done), rate="")
        finished = 0
        for config in configs:
            bar.update(task, description=config.label)
            rows = run_config(ctx, config, done)
            if rows:
                report.append_results_csv(rows, results_path)
                new_rows += rows
                finished += len(rows)
            per_s = finished / max(1e-9, time.perf_counter() - started)
            bar.update(task, advance=len(rows), rate=f"{per_s:.1f} trials/s")
    return new_rows


def _run_meta(spec, ctx, rows, command, seconds, executor) -> dict:
    import numpy

    from . import __version__

    acc_ref = ctx.acc_ref if ctx is not None else (rows[0]["acc_ref"] if rows else math.nan)
    conv_share = ctx.conv_share if ctx is not None else (rows[0]["conv_share"] if rows else 0)
    return {
        "study": spec.name,
        "command": command,
        "spec": spec.to_dict(),
        "dataset": spec.dataset,
        "model": spec.model,
        "trials": spec.trials,
        "epochs_total": spec.training.epochs,
        "acc_ref": acc_ref,
        "conv_share": conv_share,
        "snr_convention": "equal energy (per DoF)"
        if spec.channel.equal_energy
        else "per transmitted value",
        "link_rate_bps": spec.bandwidth_hz,
        "executor": executor,
        "seconds": round(seconds, 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "versions": {
            "symcodec": __version__,
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "python": sys.version.split()[0],
        },
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
    }


# --------------------------------------------------------------------------------------
# The referee's ablation (SPEC section 8, point 5)

ABLATION_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def run_ablation(
    spec: StudySpec,
    directory: str | os.PathLike,
    alphas: Sequence[float] = ABLATION_ALPHAS,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Does receiver projection help only when the kernels lie near ``V_S``?

    Two sweeps over the study's first symmetry, its middle channel setting, its smallest bit
    width and its trials, everything sent with ``full-project``:

    * ``rx-alpha``: the model trained symmetric; the receiver projects with strength alpha.
    * ``tx-distance``: the unconstrained model partially projected at the transmitter with
      strength ``a`` (its distance to ``V_S`` shrinks with ``a``), then sent; the receiver
      projects fully (alpha 1) or not at all (alpha 0).

    Writes ``ablation.csv``, ``ablation.md`` and ``ablation.png``; returns the rows.
    """
    from . import report
    from .analysis import overall_distance
    from .codec import TransmissionPlan
    from .receiver import ReceiverOptions, transmit, transmitter_view

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    sym = spec.symmetries[0]
    value = sorted(spec.channel.values)[len(spec.channel.values) // 2]
    bits = min(spec.bits)
    # the same models as the study (from the cache): its reference and its first symmetry
    lean = dataclasses.replace(spec, symmetries=(sym,))
    ctx = prepare(lean, progress=progress, log=log)
    channel = spec.channel.make(value)
    rows: list[dict] = []

    def sweep(kind: str, state_dict: dict, tx_alpha: float, rx_alphas: Sequence[float]):
        plan = TransmissionPlan.default(state_dict, symmetry=sym, bits=bits, mode="full-project")
        distance = overall_distance(state_dict, sym) or 0.0
        acc_tx = ctx.evaluate(
            [
                transmitter_view(
                    state_dict, TransmissionPlan.default(state_dict, symmetry="none", bits=32)
                )
            ]
        )[0]
        for rx_alpha in rx_alphas:
            options = ReceiverOptions(alpha=rx_alpha, equal_energy=spec.channel.equal_energy)
            received = [
                transmit(state_dict, plan, channel, seed=spec.seed + t, options=options).state_dict
                for t in range(spec.trials)
            ]
            for t, acc in enumerate(ctx.evaluate(received)):
                rows.append(
                    {
                        "experiment": kind,
                        "symmetry": sym,
                        "bits": bits,
                        "channel": spec.channel.name,
                        "channel_value": value,
                        "tx_alpha": tx_alpha,
                        "distance": distance,
                        "rx_alpha": rx_alpha,
                        "trial": t,
                        "acc_tx": acc_tx,
                        "acc_rx": acc,
                    }
                )

    symmetric = {k: v.detach() for k, v in ctx.models[sym].state_dict().items()}
    sweep("rx-alpha", symmetric, 1.0, alphas)
    reference = ctx.models["none"].state_dict()
    symmetry = get_symmetry(sym)
    for a in alphas:
        partial = {
            k: symmetry.project(v.detach(), alpha=a)
            if v.dim() == 4
            and symmetry.supports(tuple(v.shape[-2:]))
            and symmetry.dof(tuple(v.shape[-2:])) > 0
            else v.detach()
            for k, v in reference.items()
        }
        sweep("tx-distance", partial, a, (0.0, 1.0))
    report.write_ablation(rows, ctx.acc_ref, out)
    return rows
