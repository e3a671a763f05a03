"""The ``auto`` SNR grid: find the waterfall of a model, then lay a grid across it.

A study whose channel says ``snr_db = "auto"`` (or ``ebn0_db = "auto"``) gets its grid here,
before any trial runs. A short search on the first training seed's model of the first
symmetry, sent in unprotected ``full`` mode at the smallest bit width, finds by bisection
on a 0.5 dB lattice:

* ``top_db``: the lowest SNR at which the mean accuracy of :data:`SEARCH_TRIALS` draws is
  within :data:`TOP_DROP_PP` of the model's own Acc Tx,q;
* ``bottom_db``: the highest SNR at which it is below half of Acc Tx,q.

The grid runs in multiples of ``auto_step_db`` from ``bottom_db`` minus the largest
projection bound of the study's symmetries (10 log10(k^2/DoF), so that the curves of
``full-project`` and ``dof``, shifted left by up to that, are crossed too) up to
``top_db``. The search and its result are kept in ``auto_grid.json`` in the study's
directory under the study's spec id, so a resumed study reuses the same grid.

The search's noise seeds are derived from the study seed and the label ``auto-grid``, never
from a trial's, so the search draws are not the study's trials.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..channel import IdealChannel
from ..errors import SymcodecError
from ..io import atomic_open, read_bytes
from ..receiver import ReceiverOptions, transmit
from ..symmetry import projection_gain_bound_db
from .context import StudyContext
from .identity import spec_id
from .spec import StudySpec
from .trials import TxConfig, hashed_seed, plan_for

__all__ = [
    "AutoGrid",
    "resolve_auto_grid",
    "stored_auto_grid",
    "grid_across",
    "SEARCH_TRIALS",
    "TOP_DROP_PP",
]

SEARCH_TRIALS = 3
"""Noise draws averaged at each SNR the search visits."""

TOP_DROP_PP = 1.0
"""The top of the waterfall: mean accuracy within this many pp of Acc Tx,q."""

LATTICE_DB = 0.5
SEARCH_RANGE_DB = (-20.0, 60.0)
KERNEL_SIZE = 3


@dataclass(frozen=True)
class AutoGrid:
    """The result of the waterfall search.

    Attributes:
        spec: the study with its channel values set to the grid.
        values_db: the grid.
        bottom_db: highest SNR searched with accuracy below half of Acc Tx,q.
        top_db: lowest SNR searched with accuracy within :data:`TOP_DROP_PP` of Acc Tx,q.
        margin_db: how far below ``bottom_db`` the grid reaches (the largest projection
            bound of the study's symmetries).
        acc_txq: Acc Tx,q of the searched configuration (%).
        searched: ``{snr_db: mean accuracy}`` of every SNR the search visited.
        configuration: what was searched (symmetry, mode, bits, training seed).
    """

    spec: StudySpec
    values_db: tuple[float, ...]
    bottom_db: float
    top_db: float
    margin_db: float
    acc_txq: float
    searched: dict[float, float]
    configuration: str

    def as_dict(self) -> dict:
        """The search as plain data (``run.json``'s ``auto_grid``, ``auto_grid.json``)."""
        return {
            "values_db": list(self.values_db),
            "bottom_db": self.bottom_db,
            "top_db": self.top_db,
            "margin_db": self.margin_db,
            "acc_txq": self.acc_txq,
            "searched": {f"{k:g}": v for k, v in sorted(self.searched.items())},
            "configuration": self.configuration,
            "step_db": self.spec.channel.auto_step_db,
        }


def grid_across(bottom_db: float, top_db: float, margin_db: float, step_db: float) -> tuple:
    """Multiples of ``step_db`` from ``bottom_db - margin_db`` (rounded down) to ``top_db``
    (rounded up).

    >>> grid_across(3.2, 9.9, 1.0, 2.0)
    (2.0, 4.0, 6.0, 8.0, 10.0)
    """
    low = math.floor(round((bottom_db - margin_db) / step_db, 9)) * step_db
    high = math.ceil(round(top_db / step_db, 9)) * step_db
    count = int(round((high - low) / step_db)) + 1
    return tuple(round(low + i * step_db, 6) for i in range(count))


def projection_margin_db(symmetries, k: int = KERNEL_SIZE) -> float:
    """The largest projection bound 10 log10(k^2 / DoF) among ``symmetries`` (dB).

    >>> round(projection_margin_db(["central-skew", "d4"]), 2)
    4.77
    """
    bounds = [projection_gain_bound_db(name, k) for name in symmetries]
    return max((b for b in bounds if math.isfinite(b)), default=0.0)


def resolve_auto_grid(
    ctx: StudyContext, directory: Path, log: Callable[[str], None] = print
) -> AutoGrid:
    """The ``auto`` grid of ``ctx.spec`` (from ``directory/auto_grid.json`` when it holds
    this spec's search, else searched now and saved there)."""
    spec = ctx.spec
    stored = stored_auto_grid(spec, directory, log)
    if stored is not None:
        return stored
    found = _search(ctx, log)
    with atomic_open(Path(directory) / "auto_grid.json", "w") as fh:
        json.dump({"spec_id": spec_id(spec), **found.as_dict()}, fh, indent=2)
    return found


def stored_auto_grid(
    spec: StudySpec, directory: Path, log: Callable[[str], None] = print
) -> AutoGrid | None:
    """The ``auto`` grid of ``spec`` saved in ``directory/auto_grid.json`` by an earlier
    search of the same spec, or None (no file, or one another spec or grid step wrote).
    Needs no model: a study whose trials are all in its directory writes its outputs on a
    machine whose model cache is empty."""
    if not spec.channel.auto:
        raise SymcodecError("the study's channel has an explicit grid, not auto")
    path = Path(directory) / "auto_grid.json"
    stored = _stored(path, spec_id(spec), spec.channel.auto_step_db)
    if stored is None:
        return None
    log(f"auto grid from {path.name}: {', '.join(f'{v:g}' for v in stored['values_db'])} dB")
    return _auto_grid(spec, stored)


def _stored(path: Path, sid: str, step_db: float) -> dict | None:
    if not path.exists():
        return None
    try:
        doc = json.loads(read_bytes(path))
    except ValueError:
        return None
    if doc.get("spec_id") != sid or doc.get("step_db") != step_db:
        return None
    return doc


def _auto_grid(spec: StudySpec, doc: dict) -> AutoGrid:
    values = tuple(float(v) for v in doc["values_db"])
    channel = dataclasses.replace(spec.channel, values=values)
    return AutoGrid(
        spec=dataclasses.replace(spec, channel=channel),
        values_db=values,
        bottom_db=float(doc["bottom_db"]),
        top_db=float(doc["top_db"]),
        margin_db=float(doc["margin_db"]),
        acc_txq=float(doc["acc_txq"]),
        searched={float(k): float(v) for k, v in doc["searched"].items()},
        configuration=str(doc["configuration"]),
    )


def _search(ctx: StudyContext, log: Callable[[str], None]) -> AutoGrid:
    spec = ctx.spec
    symmetry = spec.symmetries[0]
    config = TxConfig("symmetric", symmetry, "full", min(spec.bits))
    model = ctx.tx_model("symmetric", symmetry)
    state_dict = {k: v.detach() for k, v in model.state_dict().items()}
    plan = plan_for(config, state_dict, spec.per_channel)
    acc_txq = ctx.evaluate([transmit(state_dict, plan, IdealChannel(), seed=0).state_dict])[0]
    options = ReceiverOptions(alpha=spec.alpha, equal_energy=spec.channel.equal_energy)
    searched: dict[float, float] = {}

    def accuracy(snr_db: float) -> float:
        if snr_db not in searched:
            channel = spec.channel.make(snr_db)
            received = [
                transmit(state_dict, plan, channel, _search_seed(spec, snr_db, t), options=options)
                for t in range(SEARCH_TRIALS)
            ]
            accs = ctx.evaluate([rx.state_dict for rx in received])
            searched[snr_db] = sum(accs) / len(accs)
        return searched[snr_db]

    low, high = SEARCH_RANGE_DB
    if accuracy(high) < acc_txq - TOP_DROP_PP:
        raise SymcodecError(
            f"auto grid: {config.label} does not come within {TOP_DROP_PP:g} pp of its Acc "
            f"Tx,q ({acc_txq:.2f}%) even at {high:g} dB; give the grid explicitly"
        )
    if accuracy(low) >= acc_txq - TOP_DROP_PP:
        raise SymcodecError(
            f"auto grid: {config.label} stays within {TOP_DROP_PP:g} pp of its Acc Tx,q "
            f"even at {low:g} dB; give the grid explicitly"
        )
    top = _bisect(lambda s: accuracy(s) >= acc_txq - TOP_DROP_PP, low, high)
    if accuracy(low) >= acc_txq / 2:
        bottom = low
    else:
        bottom = _bisect(lambda s: accuracy(s) >= acc_txq / 2, low, top) - LATTICE_DB
    margin = projection_margin_db(spec.all_symmetries)
    values = grid_across(bottom, top, margin, spec.channel.auto_step_db)
    channel = dataclasses.replace(spec.channel, values=values)
    log(
        f"auto grid: {config.label} (seed {ctx.train_seed}) falls from within "
        f"{TOP_DROP_PP:g} pp of Acc Tx,q {acc_txq:.2f}% at {top:g} dB to below half at "
        f"{bottom:g} dB; grid {values[0]:g}..{values[-1]:g} dB in {spec.channel.auto_step_db:g} "
        f"dB steps ({len(values)} points, {margin:.2f} dB projection margin)"
    )
    return AutoGrid(
        spec=dataclasses.replace(spec, channel=channel),
        values_db=values,
        bottom_db=bottom,
        top_db=top,
        margin_db=margin,
        acc_txq=acc_txq,
        searched=dict(searched),
        configuration=f"{config.label}, training seed {ctx.train_seed}, protect none",
    )


def _bisect(good: Callable[[float], bool], low: float, high: float) -> float:
    """The lowest point of the ``LATTICE_DB`` lattice in ``(low, high]`` where ``good``
    holds, given ``good(high)`` and not ``good(low)`` (``good`` assumed monotone)."""
    lo, hi = round(low / LATTICE_DB), round(high / LATTICE_DB)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if good(mid * LATTICE_DB):
            hi = mid
        else:
            lo = mid
    return hi * LATTICE_DB


def _search_seed(spec: StudySpec, snr_db: float, draw: int) -> int:
    channel = spec.channel
    return hashed_seed(spec.seed, "auto-grid", channel.name, channel.energy, f"{snr_db:g}", draw)
