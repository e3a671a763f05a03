"""``mcs = "auto"``: the MCS link adaptation chooses for one configuration at one SNR.

For a configuration's stream, :class:`AutoMcs` measures once how its accuracy falls with the
fraction of values lost (:func:`~symcodec.receiver.loss_measurement.measure_loss_curve`, on
the study's test images, seeded), then at each SNR asks
:func:`~symcodec.receiver.link_adaptation.plan_link` for the shortest air time whose
expected accuracy drop is at most :data:`AUTO_MAX_DROP_PP`, within the trial's protection
preset. When no candidate meets it (deep in the waterfall) the candidate with the smallest
expected drop is taken (the most robust one; ties go to the shorter air time).

The choice depends on the configuration, the model, the SNR and the preset only (never on
the noise of a trial or on the rest of the grid), so a resumed or enlarged study makes the
same choice.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..codec import TransmissionPlan, encode
from ..codec.format import read_header
from ..receiver.link_adaptation import plan_link
from ..receiver.loss_curve import LossCurve
from ..receiver.loss_measurement import measure_loss_curve
from ..receiver.nr_protection import NrProtection

__all__ = ["AUTO_MAX_DROP_PP", "AUTO_CURVE_SEED", "AutoMcs"]

AUTO_MAX_DROP_PP = 1.0
"""The expected accuracy drop (pp) the automatic MCS may cost, at most."""
AUTO_CURVE_SEED = 0
"""Seed of the loss-curve measurement (the erasure draws)."""


class AutoMcs:
    """Link adaptation for one configuration's stream.

    Args:
        state_dict, plan: what the configuration sends.
        evaluate: accuracy (%) of a state dict of the study's architecture.
        mcs_table, fading, symbols_per_tb, symbol_rate_hz: the NR link.
        bler_tables: measured BLER tables (only their MCS are chosen from), or none.
    """

    def __init__(
        self,
        state_dict: dict[str, torch.Tensor],
        plan: TransmissionPlan,
        evaluate: Callable[[dict[str, torch.Tensor]], float],
        *,
        mcs_table: str,
        fading: str,
        symbols_per_tb: int,
        symbol_rate_hz: float,
        bler_tables: tuple[str, ...] = (),
    ) -> None:
        self.header = read_header(encode(state_dict, plan))
        self.curve: LossCurve = measure_loss_curve(state_dict, plan, evaluate, seed=AUTO_CURVE_SEED)
        self.link = dict(
            mcs_table=mcs_table, fading=fading, symbols_per_tb=symbols_per_tb,
            symbol_rate_hz=symbol_rate_hz, bler_tables=bler_tables or None,
        )  # fmt: skip
        self._chosen: dict[tuple[float, str], NrProtection] = {}

    def protection(self, snr_db: float, preset: str) -> NrProtection:
        """The MCS of every class at Es/N0 ``snr_db`` under ``preset`` (see the module)."""
        key = (float(snr_db), preset)
        if key not in self._chosen:
            plan = plan_link(
                self.header, self.curve, float(snr_db), max_drop_pp=AUTO_MAX_DROP_PP,
                presets=(preset,), **self.link,
            )  # fmt: skip
            choice = plan.chosen or min(
                plan.candidates, key=lambda c: (c.expected_drop_pp, c.air_time_ms)
            )
            self._chosen[key] = choice.protection
        return self._chosen[key]
