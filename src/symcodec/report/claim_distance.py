"""Claim 5 of SPEC section 8: does receiver projection pay only near the symmetric subspace?

The projection gain (`full-project` - `full` Acc Rx in the study's rows, or receiver
projection on - off in the ablation's tx-distance sweep) is collected per transmitted model,
at that model's distance d_S to V_S (:func:`distance_sweep`). Only models that stay accurate
(Acc Tx within :data:`ACCURATE_WITHIN_PP` of the reference) *qualify*. The line fitted to
the qualifying models' gains against d_S (:mod:`symcodec.report.gain_line`) gives the slope
with its CI, which decides the claim, and the distance at which the measured gain crosses 0,
i.e. how far from the subspace projection stops paying, with a CI from the same bootstrap.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .claims import Claim, decided_claim
from .confidence import mean_skipping_nan
from .format import is_finite, penalty_text
from .gain_line import GainLine, fit_gain_line
from .paired import compare_differences, paired_values
from .summary import grouping_key
from .trial_fields import protect, train_seed

ACCURATE_WITHIN_PP = 1.0
"""Claim 5 uses models whose Acc Tx is within this (pp) of the reference accuracy."""

MIN_DISTANCES = 3
"""Claim 5 needs at least this many distinct distances d_S among accurate models."""

MIN_TRIALS_PER_DISTANCE = 2
"""Claim 5 needs at least this many paired trials at every qualifying distance."""


SweepSource = Literal["results", "ablation"]
"""Where a distance sweep's gains come from."""


# --- the sweep -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepPoint:
    """One transmitted model of a distance sweep.

    Attributes:
        distance: its distance d_S to V_S (rounded to 6 decimals).
        acc_tx: its mean Acc Tx (%) (over the training seeds' models at this distance).
        gains: paired projection gains (pp) by training seed.
        penalty: the soft symmetry penalty lambda it was trained with (nan: not recorded).
        kept_seeds: the training seeds whose model at this distance stays accurate (Acc Tx
            within :data:`ACCURATE_WITHIN_PP` of its own seed's reference); only their gains
            take part in the fit.
        seed_offsets: each seed's model's Acc Tx minus its seed's reference (pp).
    """

    distance: float
    acc_tx: float
    gains: Mapping[int, Sequence[float]]
    penalty: float
    kept_seeds: tuple[int, ...] = ()
    seed_offsets: Mapping[int, float] = dataclasses.field(default_factory=dict)

    @property
    def acc_offset(self) -> float:
        """Its Acc Tx minus the reference of each model's own training seed (pp), the mean
        over its seeds' models."""
        return mean_skipping_nan(self.seed_offsets.values())

    @property
    def qualifies(self) -> bool:
        """Whether some seed's model at this distance stays accurate."""
        return bool(self.kept_seeds)

    @property
    def kept_gains(self) -> dict[int, Sequence[float]]:
        """The gains of the seeds whose model stays accurate."""
        return {s: self.gains[s] for s in self.kept_seeds if s in self.gains}

    @property
    def dropped_seeds(self) -> tuple[int, ...]:
        """The seeds whose model at this distance is not accurate."""
        return tuple(s for s in sorted(self.gains) if s not in self.kept_seeds)

    def label(self) -> str:
        """``λ 0.01, d_S 0.420`` (without lambda when it is not recorded)."""
        text = penalty_text(self.penalty)
        return ("" if text == "-" else f"λ {text}, ") + f"d_S {self.distance:.3f}"


@dataclass(frozen=True)
class DistanceSweep:
    """The projection gain of several transmitted models at their distances d_S.

    Attributes:
        source: where the gains come from: ``"results"`` (the study's `full-project` -
            `full` pairs) or ``"ablation"`` (receiver projection on - off).
        reference: the reference accuracy (%): the mean over the training seeds of each
            seed's unconstrained model (each model is held against its own seed's).
        points: one :class:`SweepPoint` per distance, in order of d_S.
    """

    source: SweepSource
    reference: float
    points: tuple[SweepPoint, ...]

    @property
    def source_text(self) -> str:
        """Where the gains come from, in words."""
        if self.source == "results":
            return "the study's `full-project` - `full` pairs"
        return "the ablation's tx-distance sweep (receiver projection on - off)"

    @property
    def qualifying(self) -> tuple[SweepPoint, ...]:
        """The points whose model stays accurate: the only ones the claim uses."""
        return tuple(p for p in self.points if p.qualifies)

    def pooled_gains(self) -> dict[float, list[float]]:
        """The qualifying points' gains by distance (training seeds pooled)."""
        return {
            p.distance: [v for s, g in sorted(p.kept_gains.items()) for v in g]
            for p in self.qualifying
        }

    @property
    def train_seeds(self) -> tuple[int, ...]:
        """The training seeds whose models the sweep holds."""
        return tuple(sorted({s for p in self.points for s in p.gains}))


def qualifies(acc_tx: float, reference: float, within_pp: float = ACCURATE_WITHIN_PP) -> bool:
    """Whether a model with accuracy ``acc_tx`` stays accurate: within ``within_pp`` of the
    reference, above or below (the boundary itself qualifies).

    >>> qualifies(98.0, 99.0), qualifies(97.99, 99.0), qualifies(100.01, 99.0)
    (True, False, False)
    """
    # accuracies are multiples of 1/images: a boundary case must not fail by a rounding error
    return (
        is_finite(acc_tx) and is_finite(reference) and abs(acc_tx - reference) <= within_pp + 1e-9
    )


class _Collected:
    """Gains, Acc Tx and Acc Tx offsets by distance, as a sweep's rows are read."""

    def __init__(self) -> None:
        self.gains: dict[float, dict[int, list[float]]] = {}
        self.acc_tx: dict[float, list[float]] = {}
        self.offsets: dict[float, dict[int, list[float]]] = {}
        self.references: dict[int, float] = {}
        self.penalties: dict[float, float] = {}

    def add(self, distance: float, seed: int, gain: float, acc_tx: float, reference) -> None:
        self.gains.setdefault(distance, {}).setdefault(seed, []).append(gain)
        self.acc_tx.setdefault(distance, []).append(acc_tx)
        reference = float(reference) if is_finite(reference) else math.nan
        self.offsets.setdefault(distance, {}).setdefault(seed, []).append(acc_tx - reference)
        if is_finite(reference):
            self.references.setdefault(seed, reference)


def _results_gains(rows: Sequence[Mapping]) -> _Collected:
    """From trial rows: paired gains full-project - full by distance (then training seed),
    each pair's Acc Tx and its offset from its own row's reference ``acc_ref``."""
    symmetric = [
        r
        for r in rows
        if r["method"] == "symmetric"
        and r["mode"] in ("full", "full-project")
        and is_finite(r.get("distance"))
    ]
    groups: dict[tuple, dict[str, list[Mapping]]] = {}
    for r in symmetric:
        key = (
            round(float(r["distance"]), 6),
            r["symmetry"],
            *(grouping_key(r[k]) for k in ("bits", "channel", "channel_value", "energy")),
            protect(r),
        )
        groups.setdefault(key, {"full": [], "full-project": []})[r["mode"]].append(r)
    found = _Collected()
    for key, modes in groups.items():
        for (seed, _), projected, full in paired_values(modes["full-project"], modes["full"]):
            gain = float(projected["acc_rx"]) - float(full["acc_rx"])
            acc_tx = float(full.get("acc_tx", math.nan))
            found.add(key[0], seed, gain, acc_tx, full.get("acc_ref", math.nan))
    return found


def _ablation_gains(ablation: Sequence[Mapping], acc_ref) -> _Collected:
    """From the ablation's tx-distance rows: paired gains (receiver projection on - off) by
    distance and training seed, each model's Acc Tx and its offset from its own seed's
    reference (the row's ``acc_ref``; in rows written before that column, ``acc_ref`` if
    given, else the best mean Acc Tx among the distances), and the soft symmetry penalty
    lambda each distance's model was trained with (where the rows record it)."""
    arms: dict[tuple, dict[float, list[Mapping]]] = {}
    seen: dict[tuple, int] = {}
    for r in ablation:
        if r.get("experiment") != "tx-distance":
            continue
        base = (
            round(float(r["distance"]), 6),
            train_seed(r),
            r.get("symmetry"),
            r.get("bits"),
            grouping_key(r.get("channel_value", math.nan)),
            r.get("trial", 0),
        )
        rx_alpha = float(r["rx_alpha"])
        occurrence = seen.get((*base, rx_alpha), 0)
        seen[(*base, rx_alpha)] = occurrence + 1
        arms.setdefault((*base, occurrence), {}).setdefault(rx_alpha, []).append(r)
    pairs = [
        (key, by_alpha[1.0][0], by_alpha[0.0][0])
        for key, by_alpha in arms.items()
        if 0.0 in by_alpha and 1.0 in by_alpha
    ]
    fallback = float(acc_ref) if is_finite(acc_ref) else math.nan
    if not is_finite(fallback):
        by_distance: dict[float, list[float]] = {}
        for key, on, _ in pairs:
            by_distance.setdefault(key[0], []).append(float(on.get("acc_tx", math.nan)))
        means = [mean_skipping_nan(v) for v in by_distance.values()]
        fallback = max((v for v in means if is_finite(v)), default=math.nan)
    found = _Collected()
    for key, on, off in pairs:
        reference = on.get("acc_ref", math.nan)
        gain = float(on["acc_rx"]) - float(off["acc_rx"])
        acc_tx = float(on.get("acc_tx", math.nan))
        found.add(key[0], key[1], gain, acc_tx, reference if is_finite(reference) else fallback)
        found.penalties[key[0]] = on.get("penalty", math.nan)
    return found


def distance_sweep(meta: Mapping, rows: Sequence[Mapping] = ()) -> DistanceSweep:
    """The distance sweep claim 5 reads: from the trial rows (`full-project` - `full`,
    paired) when their ``distance`` takes at least :data:`MIN_DISTANCES` values, else from
    ``meta["ablation"]`` (receiver projection on - off in its tx-distance sweep; reference
    accuracy ``meta["acc_ref"]`` if given). Without either, the rows' (short) sweep.

    Example:
        >>> rows = [dict(experiment="tx-distance", distance=d, rx_alpha=a, trial=t,
        ...              acc_tx=acc, acc_rx=80.0 + a * (2 - d))
        ...         for d, acc in ((0.0, 99.0), (1.0, 98.5), (2.0, 97.5))
        ...         for t in range(2) for a in (0.0, 1.0)]
        >>> sweep = distance_sweep({"ablation": rows, "acc_ref": 99.0})
        >>> [(p.distance, p.qualifies) for p in sweep.points]
        [(0.0, True), (1.0, True), (2.0, False)]
    """
    found = _results_gains(rows)
    source: SweepSource = "results"
    if len(found.gains) < MIN_DISTANCES and meta.get("ablation"):
        found = _ablation_gains(meta["ablation"], meta.get("acc_ref", math.nan))
        source = "ablation"
    reference = mean_skipping_nan(found.references.values())
    points = []
    for d in sorted(found.gains):
        seed_offsets = {s: mean_skipping_nan(v) for s, v in sorted(found.offsets[d].items())}
        points.append(
            SweepPoint(
                distance=d,
                acc_tx=mean_skipping_nan(found.acc_tx[d]),
                gains=found.gains[d],
                penalty=found.penalties.get(d, math.nan),
                # each seed's model held against its own seed's reference (offset vs 0)
                kept_seeds=tuple(s for s, o in seed_offsets.items() if qualifies(o, 0.0)),
                seed_offsets=seed_offsets,
            )
        )
    return DistanceSweep(source, reference, tuple(points))


def sweep_line(sweep: DistanceSweep) -> tuple[GainLine | None, str]:
    """The line fitted to the sweep's qualifying points, or None and why there is none
    (fewer than :data:`MIN_DISTANCES` qualifying distances, or fewer than
    :data:`MIN_TRIALS_PER_DISTANCE` paired trials at one)."""
    pooled = sweep.pooled_gains()
    if len(pooled) < MIN_DISTANCES:
        return None, f"Fewer than {MIN_DISTANCES} distances with accurate models."
    if min(len(v) for v in pooled.values()) < MIN_TRIALS_PER_DISTANCE:
        return None, f"Fewer than {MIN_TRIALS_PER_DISTANCE} paired trials at a distance."
    return fit_gain_line({p.distance: p.kept_gains for p in sweep.qualifying}), ""


# --- the claim -------------------------------------------------------------------------------


def _seeds_text(sweep: DistanceSweep) -> str:
    """``models of 3 training seeds (0, 1, 2), each held against its own seed's reference``."""
    seeds = sweep.train_seeds
    if len(seeds) < 2:
        return f"models of training seed {seeds[0] if seeds else 0}"
    listed = ", ".join(map(str, seeds))
    return (
        f"models of {len(seeds)} training seeds ({listed}), each held against its own seed's "
        "reference"
    )


def _dropped_text(p: SweepPoint) -> str:
    """``seed 1: Acc Tx -1.60 pp`` for each seed whose model at the point is not kept."""
    return "; ".join(
        f"seed {s}: Acc Tx {p.seed_offsets.get(s, math.nan):+.2f} pp" for s in p.dropped_seeds
    )


def qualification_cell(p: SweepPoint) -> str:
    """``yes``, ``no (Acc Tx -1.60 pp)`` or, where some seeds' models at one distance are
    kept and others not, ``partly (seed 1: Acc Tx -1.60 pp not kept)``."""
    if not p.qualifies:
        off = p.acc_offset
        return f"no (Acc Tx {off:+.2f} pp)" if is_finite(off) else "no"
    if p.dropped_seeds:
        return f"partly ({_dropped_text(p)} not kept)"
    return "yes"


def _qualification_text(sweep: DistanceSweep) -> str:
    """Which points qualify and which do not, and that only the qualifying ones count."""
    kept = [
        p.label() + (f" (but {_dropped_text(p)}, not kept)" if p.dropped_seeds else "")
        for p in sweep.qualifying
    ]
    dropped = [
        f"{p.label()} (Acc Tx {p.acc_offset:+.2f} pp from the reference)"
        for p in sweep.points
        if not p.qualifies
    ]
    return (
        f"Qualifying (Acc Tx within {ACCURATE_WITHIN_PP:g} pp of the reference): "
        + ("; ".join(kept) or "none")
        + ". Not qualifying: "
        + ("; ".join(dropped) or "none")
        + ". The slope, the zero crossing and the verdict use only the qualifying models."
    )


def claim5_projection_near_subspace(meta: Mapping, rows: Sequence[Mapping] = ()) -> Claim:
    """Claim 5: the projection gain, regressed on the distance d_S of accurate transmitted
    models to V_S, decreases with d_S beyond the CI of the slope.

    The sweep is :func:`distance_sweep`'s. The evidence lists, per model, lambda (where
    recorded), d_S, Acc Tx and the gain with its CI, which models qualify, the slope with
    its CI and the zero crossing of the measured gain with its CI."""
    return claim5_of_sweep(distance_sweep(meta, rows))


def claim5_of_sweep(
    sweep: DistanceSweep, fitted: tuple[GainLine | None, str] | None = None
) -> Claim:
    """Claim 5 decided on a sweep already made, and on its :func:`sweep_line` when the
    caller has fitted it already (``fitted``; the bootstrap is then not run again)."""
    if len(sweep.points) < MIN_DISTANCES and sweep.source == "results":
        return decided_claim(
            5,
            "not tested",
            f"the results have {len(sweep.points)} distance(s) d_S with paired `full-project` "
            f"and `full` trials (at least {MIN_DISTANCES} needed) and there is no ablation: see "
            "`symcodec ablate`.",
        )
    listing = "; ".join(
        f"{p.label()}: Acc Tx {p.acc_tx:.2f}%"
        + ("" if p.qualifies else " (not kept)")
        + f", gain {compare_differences(p.gains).text()}"
        for p in sweep.points
    )
    head = (
        f"from {sweep.source_text}; reference accuracy {sweep.reference:.2f}%, models kept "
        f"when Acc Tx is within {ACCURATE_WITHIN_PP:g} pp of it: {len(sweep.qualifying)} of "
        f"{len(sweep.points)} distances; {_seeds_text(sweep)}. {listing}. "
        f"{_qualification_text(sweep)}"
    )
    line, why_not = fitted if fitted is not None else sweep_line(sweep)
    if line is None:
        return decided_claim(5, "not tested", f"{head} {why_not}")
    verdict = "holds" if line.slope_high < 0 else "does not hold"
    return decided_claim(
        5,
        verdict,
        f"{head} Slope of the gain on d_S over the accurate models: {line.slope_text()} "
        f"({line.bootstrap_text}); {line.crossing_text()}.",
    )
