"""The trials of a study: transmitter configurations, their noise seeds, and running every
trial of one configuration (:func:`run_config`) into :class:`~symcodec.study.rows.TrialRow`
instances.

A trial is one transmitter configuration (:class:`TxConfig`: method, symmetry, mode, bits)
sent once over one channel setting, under one protection setting, with one noise seed; it
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
from .rows import TrialKey, TrialRow, channel_value_text
from .spec import StudySpec

__all__ = ["TxConfig", "tx_configs", "study_grid", "trial_seed", "plan_for", "run_config"]

Method = Literal["symmetric", "pruned", "quant-only"]
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
        if self.method == "quant-only":
            return f"quant-only {self.bits}b"
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
    ) -> TrialKey:
        """The key of one trial of this configuration under the spec ``spec_id``."""
        return TrialKey.make(
            spec_id, self.method, self.symmetry, self.mode, self.bits, channel_value, trial,
            protect, train_seed,
        )  # fmt: skip


def tx_configs(spec: StudySpec) -> list[TxConfig]:
    """Every transmitter configuration of a study, in table order."""
    configs = []
    for sym in spec.symmetries:
        for mode in spec.modes:
            for bits in spec.bits:
                configs.append(TxConfig("symmetric", sym, mode, bits))
    for baseline in spec.pruning:
        for sym in spec.symmetries:
            for bits in spec.bits:
                configs.append(TxConfig("pruned", sym, baseline, bits))
    if "quant-only" in spec.baselines:
        for bits in spec.bits:
            configs.append(TxConfig("quant-only", "none", "full", bits))
    return configs


def study_grid(spec: StudySpec) -> set[TrialKey]:
    """The keys of every trial of a study."""
    sid = spec_id(spec)
    return {
        config.trial_key(sid, value, trial, protect, train_seed)
        for config in tx_configs(spec)
        for value in spec.channel.values
        for protect in spec.channel.protect
        for train_seed in spec.training.seeds
        for trial in range(spec.trials)
    }


def trial_seed(
    spec: StudySpec, value: float, trial: int, protect: str = "none", train_seed: int | None = None
) -> int:
    """Noise seed of one trial: a hash of the study seed, the channel (name and value), the
    energy convention, the protection, the training seed (default: the spec's first) and
    the trial; never of the method, mode, symmetry or bits, so every configuration of a
    trial sees the same noise, and any subset of the grid can be run (and resumed) with it.

    >>> spec = StudySpec(name="s")
    >>> trial_seed(spec, 10.0, 0) == trial_seed(spec, 10, 0) != trial_seed(spec, 10.0, 1)
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
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def plan_for(config: TxConfig, state_dict, per_channel: bool = False) -> TransmissionPlan:
    """The transmission plan of a configuration for a model's state dict (``per_channel``:
    one quantizer range per output channel wherever the plan allows it). A pruned model
    sends the positions it kept (its nonzero values per conv kernel)."""
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
        (value, protect, trial)
        for value in spec.channel.values
        for protect in spec.channel.protect
        for trial in range(spec.trials)
        if config.trial_key(sid, value, trial, protect, train_seed) not in done
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
    for value, protect, trial in pending:
        channel = spec.channel.make(value)
        link = Link.for_channel(channel, bandwidth_hz=spec.bandwidth_hz)
        seed = trial_seed(spec, value, trial, protect, train_seed)
        options = ReceiverOptions(
            alpha=spec.alpha, equal_energy=spec.channel.equal_energy, protect=protect
        )
        rx = transmit(state_dict, plan, channel, seed=seed, link=link, options=options)
        receptions.append((value, protect, trial, seed, rx))
    accuracies = ctx.evaluate([rx.state_dict for *_, rx in receptions])
    distance = ctx.distances.get(config.symmetry, 0.0) if config.method != "symmetric" else 0.0
    return [
        TrialRow(
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
            alpha=spec.alpha,
            spec_id=sid,
            trial=trial,
            train_seed=train_seed,
            noise_seed=seed,
            epochs_total=spec.training.epochs,
            acc_ref=ctx.acc_ref,
            acc_tx=acc_tx,
            acc_txq=acc_txq,
            acc_rx=acc_rx,
            d_acc_pp=acc_rx - ctx.acc_ref,
            values_sent=rx.values_sent,
            values_total=values_total,
            payload_bits=rx.payload_bits,
            mask_bits=rx.mask_bits,
            payload_bits_oracle=rx.payload_bits - rx.mask_bits,
            header_bits=rx.header_bits,
            bits_sent=rx.bits_sent,
            channel_uses=rx.channel_uses,
            payload_reduction_pct=100.0 * (1.0 - rx.payload_bits / full_bits),
            bit_errors=rx.bit_errors,
            ber=rx.ber,
            crc_failures=len(rx.crc_failures),
            encode_ms=1000 * rx.encode_s,
            decode_ms=1000 * rx.decode_s,
            air_ms=1000 * rx.air_time_s,
            latency_ms=rx.latency_ms,
            distance=distance,
            conv_share=ctx.conv_share,
        )
        for (value, protect, trial, seed, rx), acc_rx in zip(receptions, accuracies, strict=True)
    ]
