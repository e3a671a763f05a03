"""Link adaptation on the NR link: the MCS and protection preset a stream should use at an SNR.

:func:`plan_link` scores every candidate (kernel MCS ``m`` of the table, preset ``none``, or
``side`` / ``side+msb`` with a protection MCS ``p < m``) without sending anything: its air
time and expected damage (:func:`~.expected_loss.expected_loss`, from the PHY abstraction's
BLER at the SNR) and its expected accuracy drop under an accuracy-vs-loss curve
(:class:`~.loss_curve.LossCurve`). The objective is one of: the shortest air time with
``E[drop] <= max_drop_pp``, or the smallest ``E[drop]`` within ``air_time_budget_ms``.

:func:`choose_mcs` needs no curve: the fastest MCS (under one preset) whose code block error
rate at the SNR stays within a target (``symcodec transmit --auto-mcs``).

Where the pieces live: :mod:`.expected_loss` (damage and air time of one candidate),
:mod:`.loss_curve` (the curve; CSV and study rows), :mod:`.loss_measurement` (a curve
measured on the fly).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..channel.nr import MCS_TABLES
from ..codec.format import Header
from ..errors import SymcodecError
from .expected_loss import AbstractLinks, ExpectedLoss, expected_loss
from .loss_curve import LossCurve
from .nr_protection import PROTECT_PRESETS, NrProtection

__all__ = ["LinkChoice", "LinkPlan", "McsChoice", "choose_mcs", "plan_link"]


@dataclass(frozen=True)
class LinkChoice:
    """One candidate: its expected loss and accuracy drop."""

    loss: ExpectedLoss
    expected_drop_pp: float

    @property
    def protection(self) -> NrProtection:
        return self.loss.protection

    @property
    def mcs(self) -> int:
        return self.loss.mcs

    @property
    def protect_mcs(self) -> int | None:
        return None if self.protection.name == "none" else self.protection.mcs["side"]

    @property
    def air_time_ms(self) -> float:
        return 1000.0 * self.loss.air_time_s


@dataclass(frozen=True)
class LinkPlan:
    """Every candidate scored, the one chosen (None if none meets the constraint) and why."""

    snr_db: float
    objective: str
    candidates: tuple[LinkChoice, ...]
    chosen: LinkChoice | None
    curve: LossCurve = field(repr=False)


def plan_link(
    header: Header,
    curve: LossCurve,
    snr_db: float,
    *,
    max_drop_pp: float | None = None,
    air_time_budget_ms: float | None = None,
    presets: Sequence[str] = PROTECT_PRESETS,
    mcs_table: str = "qam64",
    fading: str = "awgn",
    symbols_per_tb: int,
    symbol_rate_hz: float,
    bler_tables: Sequence[str | os.PathLike] | None = None,
) -> LinkPlan:
    """Score every (MCS, preset, protection MCS) and choose: the shortest air time with an
    expected drop of at most ``max_drop_pp``, or the smallest expected drop within
    ``air_time_budget_ms`` (exactly one of them). Ties go to the other figure. With
    ``bler_tables`` (measured curves, :mod:`symcodec.channel.nr.bler_measure`) only the MCS
    they hold are scored."""
    if (max_drop_pp is None) == (air_time_budget_ms is None):
        raise SymcodecError("give exactly one of max_drop_pp and air_time_budget_ms")
    limit = max_drop_pp if max_drop_pp is not None else air_time_budget_ms
    if not math.isfinite(limit) or limit < 0:
        raise SymcodecError(f"the constraint must be a finite number >= 0, got {limit!r}")
    links = AbstractLinks(mcs_table, symbols_per_tb, fading, bler_tables)
    usable = _usable_mcs(links, snr_db, presets)
    candidates = []
    for m in usable:
        for preset in presets:
            robust = [None] if preset == "none" else [p for p in usable if p < m]
            for p in robust:
                protection = NrProtection.from_preset(preset, m, p, mcs_table=mcs_table)
                loss = expected_loss(
                    header, protection, snr_db, fading=fading, symbols_per_tb=symbols_per_tb,
                    symbol_rate_hz=symbol_rate_hz, links=links,
                )  # fmt: skip
                candidates.append(LinkChoice(loss, loss.expected_drop_pp(curve)))
    if max_drop_pp is not None:
        objective = f"shortest air time with expected drop <= {max_drop_pp:g} pp"
        feasible = [c for c in candidates if c.expected_drop_pp <= max_drop_pp]
        key = lambda c: (c.air_time_ms, c.expected_drop_pp)  # noqa: E731
    else:
        objective = f"smallest expected drop within {air_time_budget_ms:g} ms of air time"
        feasible = [c for c in candidates if c.air_time_ms <= air_time_budget_ms]
        key = lambda c: (c.expected_drop_pp, c.air_time_ms)  # noqa: E731
    chosen = min(feasible, key=key) if feasible else None
    return LinkPlan(snr_db, objective, tuple(candidates), chosen, curve)


def _usable_mcs(links: AbstractLinks, snr_db: float, presets: Sequence[str]) -> list[int]:
    """The MCS indices of ``links``' table that have an abstracted link, after checking the
    SNR, the presets and the table."""
    if not math.isfinite(snr_db):
        raise SymcodecError(f"snr_db must be a finite number, got {snr_db!r}")
    unknown = [p for p in presets if p not in PROTECT_PRESETS]
    if unknown or not presets:
        raise SymcodecError(f"presets must be among {', '.join(PROTECT_PRESETS)}")
    table = links.mcs_table
    if table not in MCS_TABLES:
        raise SymcodecError(f"unknown NR MCS table {table!r}; known: {', '.join(MCS_TABLES)}")
    usable = [m for m in range(MCS_TABLES[table][1] + 1) if links.link(m) is not None]
    if not usable and links.bler_tables:
        raise SymcodecError(
            f"no MCS of {table} has a BLER table for {links.symbols_per_tb} symbols per TB in "
            f"{', '.join(links.bler_tables)}"
        )
    if not usable:
        raise SymcodecError(f"no MCS of {table} fits {links.symbols_per_tb} symbols per TB")
    return usable


# --------------------------------------------------------------------------------------
# the MCS for a target code block error rate (transmit --auto-mcs)


@dataclass(frozen=True)
class McsChoice:
    """Every MCS scored for a target code block error rate, and the one chosen (None when
    none reaches the target).

    Attributes:
        snr_db: Es/N0 per channel use, dB.
        target_bler: the largest code block error rate allowed on any segment.
        candidates: the expected loss and air time of the stream at each MCS.
        chosen: the candidate with the shortest air time among those within the target.
    """

    snr_db: float
    target_bler: float
    candidates: tuple[ExpectedLoss, ...]
    chosen: ExpectedLoss | None


def choose_mcs(
    header: Header,
    snr_db: float,
    *,
    target_bler: float,
    preset: str = "none",
    protect_mcs: int | None = None,
    mcs_table: str = "qam64",
    fading: str = "awgn",
    symbols_per_tb: int,
    symbol_rate_hz: float,
    bler_tables: Sequence[str | os.PathLike] | None = None,
) -> McsChoice:
    """The fastest MCS for the stream of ``header`` whose every segment keeps its code block
    error rate at Es/N0 ``snr_db`` within ``target_bler`` (the PHY abstraction's rate,
    :func:`~.expected_loss.expected_loss`).

    Every MCS ``m`` of ``mcs_table`` is scored under ``preset`` (``none``: all at ``m``;
    ``side`` / ``side+msb``: the protected classes at ``protect_mcs``, default
    :func:`~.nr_protection.default_protect_mcs` of ``m``; MCS below ``protect_mcs`` are
    skipped). Of those within the target the shortest air time wins (ties: the lower worst
    error rate); none within it leaves ``chosen`` None.
    """
    if not (math.isfinite(target_bler) and 0.0 < target_bler < 1.0):
        raise SymcodecError(f"target_bler must be in (0, 1), got {target_bler!r}")
    if preset == "none" and protect_mcs is not None:
        raise SymcodecError("preset 'none' sends everything at one MCS; it takes no protect_mcs")
    links = AbstractLinks(mcs_table, symbols_per_tb, fading, bler_tables)
    usable = _usable_mcs(links, snr_db, [preset])
    candidates = []
    for m in usable:
        if protect_mcs is not None and protect_mcs > m:
            continue
        protection = NrProtection.from_preset(preset, m, protect_mcs, mcs_table=mcs_table)
        candidates.append(
            expected_loss(
                header,
                protection,
                snr_db,
                fading=fading,
                symbols_per_tb=symbols_per_tb,
                symbol_rate_hz=symbol_rate_hz,
                links=links,
            )  # fmt: skip
        )
    feasible = [c for c in candidates if c.worst_block_error_rate <= target_bler]
    chosen = min(feasible, key=lambda c: (c.air_time_s, c.worst_block_error_rate), default=None)
    return McsChoice(snr_db, target_bler, tuple(candidates), chosen)
