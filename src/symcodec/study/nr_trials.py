"""One trial on the NR link: the stream under an NR protection preset at one MCS and SNR.

Every NR trial goes through :class:`~symcodec.receiver.unequal_protection.NrProtection`,
``none`` included, so the header crosses the link like every other bit and the air time is
always every segment's transport blocks (code redundancy, CRCs and padding included). The
kernels ride the trial's MCS; with ``side`` / ``side+msb`` the protected classes ride
:func:`~symcodec.receiver.unequal_protection.default_protect_mcs` of it (or, with
``mcs = "auto"``, the MCS link adaptation chose: :mod:`symcodec.study.nr_auto`).

A trial whose header is lost has no model: :class:`NrTrial` then has no reception, and its
row records Acc Rx 0 (what link adaptation charges for it too), every tensor as failed, and
the link's figures from the protection report.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..channel import NrChannel
from ..codec import TransmissionPlan
from ..receiver import ReceiverOptions, Reception, transmit
from ..receiver.unequal_protection import HeaderLost, NrProtection, ProtectionReport

__all__ = ["NrTrial", "send_nr_trial", "LOST_HEADER_ACCURACY"]

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
