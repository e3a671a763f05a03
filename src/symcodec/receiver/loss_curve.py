"""Accuracy-vs-loss curves: what losing a fraction of each kind of value costs in accuracy.

A :class:`LossCurve` maps the fraction of values lost, per damage kind (a kernel value, a
kernel value's lower bits with its MSB kept, a side value), to an accuracy drop in percentage
points. Link adaptation (:mod:`.link_adaptation`) turns a link's expected damage into an
expected drop with it. A curve is saved and read back as a CSV (:func:`write_loss_curve`,
:func:`load_loss_curve`), read from a study's erasure-channel rows (:func:`load_loss_curve`),
or measured on the fly (:func:`~.loss_measurement.measure_loss_curve`).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from ..errors import SymcodecError

__all__ = [
    "DAMAGE_KINDS",
    "DamageKind",
    "LossCurve",
    "load_loss_curve",
    "write_loss_curve",
]

DamageKind = Literal["kernel", "kernel-msb-kept", "side"]
#: What a receiver can lose of a value: a kernel value, a kernel value's lower bits (its MSB
#: kept), a side value (not a conv kernel).
DAMAGE_KINDS: tuple[str, ...] = get_args(DamageKind)
_CURVE_COLUMNS = ("kind", "lost_fraction", "drop_pp", "accuracy_pp")


@dataclass(frozen=True)
class LossCurve:
    """Accuracy drop (percentage points) against the fraction of values lost, per kind.

    Attributes:
        points: kind -> ``((lost_fraction, drop_pp), ...)`` with increasing fractions; a
            missing ``kernel-msb-kept`` reads as ``kernel`` (conservative).
        accuracy_pp: accuracy of the intact model, %, what a lost header costs.
        source: where the curve comes from (for the report).

    >>> curve = LossCurve({"kernel": ((0.1, 2.0), (0.5, 30.0)), "side": ((0.1, 10.0),)}, 90.0)
    >>> curve.drop_pp("kernel", 0.05), curve.drop_pp("kernel", 0.25), curve.drop_pp("side", 1.0)
    (1.0, 12.5, 90.0)
    """

    points: Mapping[str, tuple[tuple[float, float], ...]]
    accuracy_pp: float
    source: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.points) - set(DAMAGE_KINDS)
        if unknown:
            raise SymcodecError(f"unknown damage kind {sorted(unknown)[0]!r} in a loss curve")
        if "kernel" not in self.points or "side" not in self.points:
            raise SymcodecError("a loss curve needs points for 'kernel' and 'side'")
        for kind, pts in self.points.items():
            fractions = [f for f, _ in pts]
            if (
                not pts
                or any(not 0.0 < f <= 1.0 for f in fractions)
                or fractions != sorted(set(fractions))
            ):
                raise SymcodecError(
                    f"loss curve {kind!r}: lost fractions must be increasing, in (0, 1]"
                )
        if not math.isfinite(self.accuracy_pp):
            raise SymcodecError("loss curve accuracy must be finite")

    def drop_pp(self, kind: str, fraction: float) -> float:
        """The drop at ``fraction`` lost: linear between the points (and from ``(0, 0)``),
        rising linearly from the last point to the whole accuracy at fraction 1."""
        pts = self.points.get(kind) or self.points["kernel"]
        xs = [0.0, *(f for f, _ in pts)]
        ys = [0.0, *(max(0.0, d) for _, d in pts)]
        if xs[-1] < 1.0:
            xs.append(1.0)
            ys.append(max(ys[-1], self.accuracy_pp))
        return float(np.interp(min(max(fraction, 0.0), 1.0), xs, ys))


def load_loss_curve(path: str | os.PathLike, where: Mapping[str, str] | None = None) -> LossCurve:
    """Read a curve from a CSV: either one :func:`write_loss_curve` wrote (columns ``kind,
    lost_fraction, drop_pp, accuracy_pp``), or a study's ``results.csv``: its rows on the
    ``erasure`` channel (a packet loss rate ``p`` loses a fraction ``p`` of the values it
    carries), with ``protect = side`` giving the kernel curve (only kernels exposed) and
    ``protect = none`` minus it the side curve; drops are ``acc_txq - acc_rx`` averaged per
    ``p``; ``where`` keeps only rows whose columns equal the given values (e.g. ``mode``)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise SymcodecError(f"cannot read loss curve {os.fspath(path)!r}: {exc}") from None
    if not rows:
        raise SymcodecError(f"loss curve {os.fspath(path)!r} has no rows")
    for key, value in (where or {}).items():
        if key not in rows[0]:
            raise SymcodecError(f"loss curve {os.fspath(path)!r} has no column {key!r}")
        rows = [r for r in rows if r[key] == value]
    try:
        if set(_CURVE_COLUMNS) <= set(rows[0]):
            return _own_curve(rows, path)
        return _study_curve(rows, path)
    except (KeyError, ValueError) as exc:
        raise SymcodecError(f"loss curve {os.fspath(path)!r}: bad row ({exc})") from None


def _own_curve(rows: list[dict], path) -> LossCurve:
    points: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        points.setdefault(r["kind"], []).append((float(r["lost_fraction"]), float(r["drop_pp"])))
    accuracy = float(rows[0]["accuracy_pp"])
    return LossCurve({k: tuple(sorted(v)) for k, v in points.items()}, accuracy, os.fspath(path))


def _study_curve(rows: list[dict], path) -> LossCurve:
    needed = {"channel", "channel_value", "protect", "acc_txq", "acc_rx"}
    if not needed <= set(rows[0]):
        raise SymcodecError(
            f"loss curve {os.fspath(path)!r} has neither the columns "
            f"{', '.join(_CURVE_COLUMNS)} nor a study's {', '.join(sorted(needed))}"
        )
    drops: dict[str, dict[float, list[float]]] = {"side": {}, "none": {}}
    accuracy = []
    for r in rows:
        if r["channel"] != "erasure" or r["protect"] not in drops:
            continue
        p = float(r["channel_value"])
        if p > 0:
            drops[r["protect"]].setdefault(p, []).append(float(r["acc_txq"]) - float(r["acc_rx"]))
        accuracy.append(float(r["acc_txq"]))
    kernel = {p: float(np.mean(v)) for p, v in sorted(drops["side"].items())}
    total = {p: float(np.mean(v)) for p, v in sorted(drops["none"].items())}
    side = {p: max(0.0, total[p] - kernel.get(p, 0.0)) for p in total}
    if not kernel or not side:
        raise SymcodecError(
            f"loss curve {os.fspath(path)!r}: a study curve needs erasure-channel rows with "
            "protect 'side' and 'none' at p > 0"
        )
    return LossCurve(
        {"kernel": tuple(kernel.items()), "side": tuple(side.items())},
        float(np.mean(accuracy)),
        f"{os.fspath(path)} (erasure-channel study rows)",
    )


def write_loss_curve(path: str | os.PathLike, curve: LossCurve) -> None:
    """Write ``curve`` as a CSV :func:`load_loss_curve` reads back."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(_CURVE_COLUMNS)
        for kind, pts in curve.points.items():
            for fraction, drop in pts:
                out.writerow([kind, repr(fraction), repr(drop), repr(curve.accuracy_pp)])
