"""The trials of a study: transmitter configurations, their noise seeds, and running every
trial of one configuration (:func:`run_config`) into :class:`~symcodec.study.rows.TrialRow`
instances.

A trial is one transmitter configuration (:class:`TxConfig`: method, symmetry, mode, bits)
sent once over one channel setting, under one protection setting (on ``nr-ldpc``: at one MCS
setting, :mod:`symcodec.study.nr_trials`), with one noise seed; it
is identified by :class:`~symcodec.study.rows.TrialKey` (with the study's
:func:`~symcodec.study.spec_id`). The noise seed (:func:`trial_seed`) never depends on the
configuration: every method, mode, symmetry and bits of a trial sees the same noise
(paired noise, SPEC section 10).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import torch

from ..channel import IdealChannel, Link
from ..codec import TransmissionPlan, encode, inspect
from ..receiver import ReceiverOptions, transmit, transmitter_view
from .context import StudyContext
from .identity import spec_id
from .nr_settings import MCS_AUTO
from .nr_trials import LOST_HEADER_ACCURACY, NrSender
from .rows import TrialKey, TrialRow, channel_value_text
from .spec import StudySpec
from .trial_figures import reception_figures

__all__ = [
    "TxConfig",
    "tx_configs",
    "study_grid",
    "trial_seed",
    "plan_for",
    "step_for_bits",
    "run_config",
    "send_trials",
]

Method = Literal["symmetric", "pruned", "quant-only", "step-ans"]
Mode = Literal["dof", "full-project", "full", "pruned", "pruned-global", "pruned-kernel"]


@dataclass(frozen=True)
class TxConfig:
    """One transmitter configuration: what is sent and how."""

    method: Method
    symmetry: str  # the symmetry (for pruned: whose DoF count it matches; none: quant-only)
    mode: Mode
    bits: int

    @property
    def label(self) -> str:
        """A short name for progress bars (``central dof 4b``, ``quant-only 8b``)."""
        if self.method in ("quant-only", "step-ans"):
            return f"{self.method} {self.bits}b"
        if self.method == "pruned":
            return f"{self.mode} eq. {self.symmetry} {self.bits}b"
        return f"{self.symmetry} {self.mode} {self.bits}b"

    def trial_key(
        self,
        spec_id: str,
        channel_value: float,
        trial: int,
        protect: str = "none",
        train_seed: int = 0,
        mcs: str = "",
    ) -> TrialKey:
        """The key of one trial of this configuration under the spec ``spec_id``."""
        return TrialKey.make(
            spec_id, self.method, self.symmetry, self.mode, self.bits, channel_value, trial,
            protect, train_seed, mcs,
        )  # fmt: skip


def tx_configs(spec: StudySpec) -> list[TxConfig]:
    """Every transmitter configuration of a study, in table order: each symmetry in each
    mode, each ``compare_symmetries`` entry in ``dof``, the pruning baselines (one per
    symmetry, not per compared symmetry), then quant-only and step-ans; each at every bits.

    >>> spec = StudySpec(name="s", modes=("dof", "full"), bits=(4,), baselines=("pruned",),
    ...                  compare_symmetries=("d4",))
    >>> [c.label for c in tx_configs(spec)]
    ['central-skew dof 4b', 'central-skew full 4b', 'd4 dof 4b', 'pruned eq. central-skew 4b']
    """
    configs = []
    for sym in spec.symmetries:
        for mode in spec.modes:
            for bits in spec.bits:
                configs.append(TxConfig("symmetric", sym, mode, bits))
    for sym in spec.compare_symmetries:
        for bits in spec.bits:
            configs.append(TxConfig("symmetric", sym, "dof", bits))
    for baseline in spec.pruning:
        for sym in spec.symmetries:
            for bits in spec.bits:
                configs.append(TxConfig("pruned", sym, baseline, bits))
    for baseline in ("quant-only", "step-ans"):
        if baseline in spec.baselines:
            for bits in spec.bits:
                configs.append(TxConfig(baseline, "none", "full", bits))
    return configs


def study_grid(spec: StudySpec) -> set[TrialKey]:
    """The keys of every trial of a study."""
    sid = spec_id(spec)
    return {
        config.trial_key(sid, value, trial, protect, train_seed, mcs)
        for config in tx_configs(spec)
        for value in spec.channel.values
        for protect in spec.channel.protect
        for mcs in spec.channel.mcs_settings
        for train_seed in spec.training.seeds
        for trial in range(spec.trials)
    }


def trial_seed(
    spec: StudySpec,
    value: float,
    trial: int,
    protect: str = "none",
    train_seed: int | None = None,
    mcs: str = "",
) -> int:
    """Noise seed of one trial: a hash of the study seed, the channel (name and value), the
    energy convention, the protection, the MCS setting (``nr-ldpc`` only: ``"9"`` or
    ``"auto"``, never the MCS that auto chose), the training seed (default: the spec's
    first) and the trial; never of the method, mode, symmetry or bits, so every
    configuration of a trial sees the same noise, and any subset of the grid can be run
    (and resumed) with it.

    >>> spec = StudySpec(name="s")
    >>> trial_seed(spec, 10.0, 0) == trial_seed(spec, 10, 0) != trial_seed(spec, 10.0, 1)
    True
    >>> trial_seed(spec, 10.0, 0, mcs="9") != trial_seed(spec, 10.0, 0, mcs="10")
    True
    """
    train_seed = spec.training.seeds[0] if train_seed is None else train_seed
    parts = [
        spec.seed,
        spec.channel.name,
        channel_value_text(value),
        spec.channel.energy,
        protect,
        train_seed,
        trial,
    ]
    if mcs:  # channels without an MCS keep the seeds they always had
        parts.insert(5, f"mcs={mcs}")
    return hashed_seed(*parts)


def hashed_seed(*parts) -> int:
    """A 32-bit seed from the text of ``parts`` joined by ``|`` (SHA-256): the same in every
    process and on every machine.

    >>> hashed_seed(0, "awgn", "10") == hashed_seed("0|awgn|10")
    True
    """
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def step_for_bits(state_dict, bits: int) -> float:
    """The step of the ``step-ans`` baseline at ``bits``: the step of a ``bits``-bit uniform
    grid over the joint range of the model's conv kernels (every float tensor then gets that
    step; tensors with a wider range get more levels, and ANS codes the levels).

    >>> sd = {"c.weight": torch.tensor([-1.0, 0.5, 2.0]).reshape(1, 1, 1, 3)}
    >>> step_for_bits(sd, 2)
    1.0
    """
    kernels = [t for t in state_dict.values() if t.dim() == 4 and t.dtype.is_floating_point]
    low = min(float(t.min()) for t in kernels)
    high = max(float(t.max()) for t in kernels)
    return max(high - low, 1e-12) / (2**bits - 1)


def plan_for(config: TxConfig, state_dict, per_channel: bool = False) -> TransmissionPlan:
    """The transmission plan of a configuration for a model's state dict (``per_channel``:
    one quantizer range per output channel wherever the plan allows it). A pruned model
    sends the positions it kept (its nonzero values per conv kernel); ``step-ans`` sends the
    unconstrained model with the step of :func:`step_for_bits` and ANS (no per-channel
    ranges: a step quantizer has one step per tensor)."""
    if config.method == "step-ans":
        step = step_for_bits(state_dict, config.bits)
        return TransmissionPlan.default(
            state_dict, symmetry="none", bits=config.bits, mode="full", coder="ans", step=step
        )
    if config.method == "pruned":
        keep = {
            name: int(torch.count_nonzero(t))
            for name, t in state_dict.items()
            if t.dim() == 4 and t.dtype.is_floating_point
        }
        return TransmissionPlan.pruned(
            state_dict, config.symmetry, bits=config.bits, per_channel=per_channel, keep=keep
        )
    return TransmissionPlan.default(
        state_dict,
        symmetry=config.symmetry,
        bits=config.bits,
        mode=config.mode,
        per_channel=per_channel,
    )


def run_config(ctx: StudyContext, config: TxConfig, done: set[TrialKey]) -> list[TrialRow]:
    """Every trial of one transmitter configuration not yet in ``done``; returns its rows."""
    spec = ctx.spec
    sid = spec_id(spec)
    model = ctx.tx_model(config.method, config.symmetry, config.mode)
    state_dict = {k: v.detach() for k, v in model.state_dict().items()}
    plan = plan_for(config, state_dict, spec.per_channel)
    values_total = inspect(encode(state_dict, plan)).values_total
    full_same = plan_for(
        TxConfig("quant-only", "none", "full", config.bits), state_dict, spec.per_channel
    )
    full_bits = inspect(encode(state_dict, full_same)).payload_bits
    train_seed = ctx.train_seed
    pending = [
        (value, protect, mcs, trial)
        for value in spec.channel.values
        for protect in spec.channel.protect
        for mcs in spec.channel.mcs_settings
        for trial in range(spec.trials)
        if config.trial_key(sid, value, trial, protect, train_seed, mcs) not in done
    ]
    if not pending:
        return []
    ideal = transmit(state_dict, plan, IdealChannel(), seed=0)
    acc_tx, acc_txq = ctx.evaluate([transmitter_view(state_dict, plan), ideal.state_dict])
    trials = send_trials(ctx, state_dict, plan, pending)
    received = [f["state_dict"] for *_, f in trials if f["state_dict"] is not None]
    scores = iter(ctx.evaluate(received) if received else [])
    shared = {
        "config": config,
        "spec_id": sid,
        "acc_tx": acc_tx,
        "acc_txq": acc_txq,
        "values_total": values_total,
        "full_bits": full_bits,
        "ideal": ideal,
        "distance": ctx.distances.get(config.symmetry, 0.0)
        if config.method != "symmetric"
        else 0.0,
    }
    rows = []
    for value, protect, mcs, trial, seed, f in trials:
        acc_rx = next(scores) if f["state_dict"] is not None else LOST_HEADER_ACCURACY
        rows.append(_trial_row(ctx, shared, (value, protect, mcs, trial, seed), f, acc_rx))
    return rows


def send_trials(ctx: StudyContext, state_dict, plan: TransmissionPlan, pending) -> list[tuple]:
    """Send ``state_dict`` once per pending ``(value, protect, mcs, trial)``; returns
    ``(value, protect, mcs, trial, noise seed, reception figures)`` per trial."""
    spec = ctx.spec
    send = NrSender(ctx, state_dict, plan) if spec.channel.is_nr else None
    trials = []
    for value, protect, mcs, trial in pending:
        seed = trial_seed(spec, value, trial, protect, ctx.train_seed, mcs)
        if send is not None:
            trials.append((value, protect, mcs, trial, seed, send(value, protect, mcs, seed)))
            continue
        channel = spec.channel.make(value)
        link = Link.for_channel(channel, bandwidth_hz=spec.bandwidth_hz)
        options = ReceiverOptions(
            alpha=spec.alpha, equal_energy=spec.channel.equal_energy, protect=protect
        )
        rx = transmit(state_dict, plan, channel, seed=seed, link=link, options=options)
        trials.append((value, protect, mcs, trial, seed, reception_figures(rx)))
    return trials


def _trial_row(
    ctx: StudyContext, shared: dict, trial_id: tuple, f: dict, acc_rx: float
) -> TrialRow:
    """One trial's row: ``shared`` holds what every trial of the configuration has in
    common, ``trial_id`` is ``(value, protect, mcs, trial, noise seed)``, ``f`` the
    reception's figures."""
    spec, config, ideal = ctx.spec, shared["config"], shared["ideal"]
    value, protect, mcs, trial, seed = trial_id
    lost = f["state_dict"] is None  # header lost: the sizes are those of the stream sent
    sizes = reception_figures(ideal) if lost else f
    return TrialRow(
        study=spec.name,
        dataset=spec.dataset,
        model=spec.model,
        method=config.method,
        symmetry=config.symmetry,
        mode=config.mode,
        bits=config.bits,
        channel=spec.channel.name,
        channel_param=spec.channel.param,
        channel_value=value,
        energy=spec.channel.energy,
        protect=protect,
        mcs=f["kernel_mcs"],
        mcs_auto=int(mcs == MCS_AUTO),
        protect_mcs=f["protect_mcs"],
        alpha=spec.alpha,
        spec_id=shared["spec_id"],
        trial=trial,
        train_seed=ctx.train_seed,
        noise_seed=seed,
        epochs_total=spec.training.epochs,
        acc_ref=ctx.acc_ref,
        acc_tx=shared["acc_tx"],
        acc_txq=shared["acc_txq"],
        acc_rx=acc_rx,
        d_acc_pp=acc_rx - ctx.acc_ref,
        values_sent=sizes["values_sent"],
        values_total=shared["values_total"],
        payload_bits=sizes["payload_bits"],
        mask_bits=sizes["mask_bits"],
        payload_bits_oracle=sizes["payload_bits"] - sizes["mask_bits"],
        header_bits=sizes["header_bits"],
        bits_sent=sizes["bits_sent"],
        channel_uses=f["channel_uses"],
        payload_reduction_pct=100.0 * (1.0 - sizes["payload_bits"] / shared["full_bits"]),
        bit_errors=f["bit_errors"],
        ber=f["ber"],
        crc_failures=len(ideal.tensors) if lost else f["crc_failures"],
        code_blocks=f["code_blocks"],
        failed_code_blocks=f["failed_code_blocks"],
        encode_ms=f["encode_ms"],
        decode_ms=f["decode_ms"],
        air_ms=f["air_ms"],
        latency_ms=f["latency_ms"],
        distance=shared["distance"],
        conv_share=ctx.conv_share,
    )
