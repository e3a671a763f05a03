"""One trial on the NR link: the stream under an NR protection preset at one MCS and SNR.

Every NR trial goes through :class:`~symcodec.receiver.nr_protection.NrProtection`,
``none`` included, so the header crosses the link like every other bit and the air time is
always every segment's transport blocks (code redundancy, CRCs and padding included). The
kernels ride the trial's MCS; with ``side`` / ``side+msb`` the protected classes ride
:func:`~symcodec.receiver.nr_protection.default_protect_mcs` of it (or, with
``mcs = "auto"``, the MCS link adaptation chose: :mod:`symcodec.study.nr_auto`).

A trial whose header is lost has no model: :class:`NrTrial` then has no reception, and its
row records Acc Rx 0 (what link adaptation charges for it too), every tensor as failed, and
the link's figures from the protection report.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..channel import NrChannel
from ..channel.nr import DEFAULT_SYMBOLS_PER_TB
from ..codec import TransmissionPlan
from ..receiver import (
    HeaderLost,
    NrProtection,
    ProtectionReport,
    ReceiverOptions,
    Reception,
    transmit,
)
from ..receiver.nr_protection import default_protect_mcs
from .context import StudyContext
from .nr_auto import AutoMcs
from .nr_settings import MCS_AUTO
from .trial_figures import lost_header_figures, reception_figures

__all__ = ["NrTrial", "NrSender", "send_nr_trial", "LOST_HEADER_ACCURACY"]

LOST_HEADER_ACCURACY = 0.0
"""Acc Rx (%) of a trial whose header was lost: no model arrives."""


@dataclass(frozen=True)
class NrTrial:
    """What one NR trial did.

    Attributes:
        protection: the MCS of every class.
        report: what the link did to every class and segment.
        reception: the received model and its figures; None when the header was lost.
    """

    protection: NrProtection
    report: ProtectionReport
    reception: Reception | None

    @property
    def kernel_mcs(self) -> int:
        return self.protection.mcs["kernel"]

    @property
    def protect_mcs(self) -> int:
        """The MCS of the protected classes; -1 for the preset ``none``."""
        return -1 if self.protection.name == "none" else self.protection.mcs["side"]


def send_nr_trial(
    state_dict: dict[str, torch.Tensor],
    plan: TransmissionPlan,
    channel: NrChannel,
    protection: NrProtection,
    seed: int,
    alpha: float,
) -> NrTrial:
    """Send ``state_dict`` under ``plan`` over ``channel`` with ``protection`` (noise seed
    ``seed``, receiver projection strength ``alpha``)."""
    options = ReceiverOptions(alpha=alpha)
    try:
        rx = transmit(state_dict, plan, channel, seed=seed, options=options, protection=protection)
    except HeaderLost as lost:
        return NrTrial(protection, lost.report, None)
    return NrTrial(protection, rx.protection, rx)


class NrSender:
    """Sends one configuration's stream over the study's NR link, trial by trial: channels
    built once per (SNR, MCS), the automatic MCS measured once per configuration. Calling it
    with (SNR, preset, MCS setting, noise seed) gives the trial's row figures
    (:mod:`symcodec.study.trial_figures`) with ``kernel_mcs`` and ``protect_mcs``."""

    def __init__(self, ctx: StudyContext, state_dict: dict, plan: TransmissionPlan) -> None:
        self.ctx, self.state_dict, self.plan = ctx, state_dict, plan
        self.channels: dict = {}
        self.auto: AutoMcs | None = None

    def channel(self, value: float, mcs: int) -> NrChannel:
        """The study's NR channel at SNR ``value`` and MCS index ``mcs``."""
        key = (float(value), mcs)
        if key not in self.channels:
            spec = self.ctx.spec
            self.channels[key] = spec.channel.make(value, mcs, symbol_rate_hz=spec.bandwidth_hz)
        return self.channels[key]

    def protection(self, value: float, preset: str, mcs: str) -> NrProtection:
        """The MCS of every class: the preset at the listed MCS (its robust MCS
        :func:`~symcodec.receiver.nr_protection.default_protect_mcs`), or link
        adaptation's choice for ``"auto"``."""
        ch = self.ctx.spec.channel
        if mcs != MCS_AUTO:
            index = int(mcs)
            robust = None if preset == "none" else default_protect_mcs(index, ch.mcs_table)
            return NrProtection.from_preset(preset, index, robust, mcs_table=ch.mcs_table)
        if self.auto is None:
            self.auto = AutoMcs(
                self.state_dict, self.plan, lambda sd: self.ctx.evaluate([sd])[0],
                mcs_table=ch.mcs_table, fading=ch.fading, symbols_per_tb=DEFAULT_SYMBOLS_PER_TB,
                symbol_rate_hz=self.ctx.spec.bandwidth_hz, bler_tables=ch.bler_tables,
            )  # fmt: skip
        return self.auto.protection(value, preset)

    def __call__(self, value: float, preset: str, mcs: str, seed: int) -> dict:
        protection = self.protection(value, preset, mcs)
        channel = self.channel(value, protection.mcs["kernel"])
        spec = self.ctx.spec
        sent = send_nr_trial(self.state_dict, self.plan, channel, protection, seed, spec.alpha)
        if sent.reception is None:
            out = lost_header_figures(sent.report)
        else:
            out = reception_figures(sent.reception)
        out["kernel_mcs"], out["protect_mcs"] = sent.kernel_mcs, sent.protect_mcs
        return out
