"""Link adaptation on the NR link: the MCS and protection preset a stream should use at an SNR.

:func:`plan_link` scores every candidate (kernel MCS ``m`` of the table, preset ``none``, or
``side`` / ``side+msb`` with a protection MCS ``p < m``) without sending anything:

1. **Air time**: each segment's bits (:func:`~.stream_classes.class_bit_counts`) in whole
   transport blocks at its MCS, over the symbol rate, exactly as
   :func:`~symcodec.receiver.transmit` counts it.
2. **Expected damage** (:func:`expected_loss`): the PHY abstraction's code block error rate
   ``q`` of each segment's MCS at the SNR
   (:meth:`~symcodec.channel.nr.NrAbstractLink.expected_block_error_rate`), and for every unit
   the receiver loses as a whole (a ``fixed`` value, an ``ans`` chunk, a tensor's pruning
   positions, the header) of ``L`` bits the probability ``1 - (1 - q)^(1 + (L - 1) / K')``
   that a CB carrying it fails (a unit at a random offset spans ``1 + (L - 1) / K'`` CBs on
   average, ``K'`` the payload bits of a CB). Summed over units this gives the expected
   fraction of kernel values lost, of kernel values that keep only their MSB (``side+msb``),
   of side values lost, and the probability that the header is lost.
3. **Expected accuracy drop**: a :class:`LossCurve` maps each fraction to an accuracy drop in
   percentage points; the drops of the three kinds add up (capped at the accuracy), and a
   lost header costs all of the accuracy (nothing decodes):
   ``E[drop] = P_h * acc + (1 - P_h) * min(acc, d_kernel + d_msb_kept + d_side)``.

The curve is either measured from study results (:func:`load_loss_curve`) or on the fly by
erasing random fractions of each kind and evaluating the received model
(:func:`measure_loss_curve`, the receiver's own repair code). The objective is one of: the
shortest air time with ``E[drop] <= max_drop_pp``, or the smallest ``E[drop]`` within
``air_time_budget_ms``.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import torch

from ..channel.nr import MCS_TABLES, NrAbstractLink, TransportFormat
from ..codec import TransmissionPlan, encode
from ..codec.format import Header, read_header, rebuild_state_dict
from ..errors import SymcodecError
from .reception import ReceiverOptions
from .stream_classes import class_bit_counts, has_msb_plane, is_kernel
from .unequal_protection import PROTECT_PRESETS, NrProtection, decode_with_erasures

__all__ = [
    "DAMAGE_KINDS",
    "DamageKind",
    "ExpectedLoss",
    "LinkChoice",
    "LinkPlan",
    "LossCurve",
    "expected_loss",
    "load_loss_curve",
    "measure_loss_curve",
    "plan_link",
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


@dataclass(frozen=True)
class ExpectedLoss:
    """What a protection expects to lose at one SNR, and what it costs in air time.

    Attributes:
        protection: the MCS per class.
        block_error_rate: segment MCS -> the probability one of its CBs fails.
        lost_fraction: damage kind -> expected fraction of those values lost.
        header_loss_probability: probability the header is lost.
        channel_uses: channel uses of every segment.
        air_time_s: ``channel_uses`` over the symbol rate.
    """

    protection: NrProtection
    block_error_rate: Mapping[int, float]
    lost_fraction: Mapping[str, float]
    header_loss_probability: float
    channel_uses: int
    air_time_s: float

    def expected_drop_pp(self, curve: LossCurve) -> float:
        """``P_h * acc + (1 - P_h) * min(acc, sum of the kinds' drops)``."""
        acc = curve.accuracy_pp
        drops = sum(curve.drop_pp(k, f) for k, f in self.lost_fraction.items())
        p = self.header_loss_probability
        return p * acc + (1.0 - p) * min(acc, drops)


class _Links:
    """Abstracted links by MCS, built once (each loads Sionna's BLER table)."""

    def __init__(self, mcs_table: str, symbols_per_tb: int, fading: str) -> None:
        self.mcs_table, self.symbols_per_tb, self.fading = mcs_table, symbols_per_tb, fading
        self._links: dict[int, NrAbstractLink | None] = {}
        self._bler: dict[tuple[int, float], float] = {}

    def link(self, mcs: int) -> NrAbstractLink | None:
        """The link at ``mcs``, or None when no transport format or BLER table fits it."""
        if mcs not in self._links:
            try:
                self._links[mcs] = NrAbstractLink(
                    mcs, self.mcs_table, symbols_per_tb=self.symbols_per_tb
                )
            except SymcodecError:
                self._links[mcs] = None
        return self._links[mcs]

    def fmt(self, mcs: int) -> TransportFormat:
        link = self.link(mcs)
        if link is None:
            raise SymcodecError(f"no abstracted NR link for MCS {mcs} of {self.mcs_table}")
        return link.fmt

    def bler(self, mcs: int, snr_db: float) -> float:
        key = (mcs, snr_db)
        if key not in self._bler:
            link = self.link(mcs)
            if link is None:
                raise SymcodecError(f"no abstracted NR link for MCS {mcs} of {self.mcs_table}")
            self._bler[key] = link.expected_block_error_rate(snr_db, self.fading)
        return self._bler[key]


def _unit_loss(q: float, bits: float, fmt: TransportFormat) -> float:
    """Probability that a unit of ``bits`` bits meets a failed CB (CB error rate ``q``)."""
    if bits <= 0 or q <= 0.0:
        return 0.0
    spans = 1.0 + (bits - 1.0) / (fmt.cb_bits - fmt.cb_crc_bits)
    return 1.0 - (1.0 - q) ** spans


def expected_loss(
    header: Header,
    protection: NrProtection,
    snr_db: float,
    *,
    fading: str = "awgn",
    symbols_per_tb: int,
    symbol_rate_hz: float,
    links: _Links | None = None,
) -> ExpectedLoss:
    """The expected damage and the air time of sending the stream of ``header`` under
    ``protection`` at Es/N0 ``snr_db`` (see the module docstring)."""
    links = links or _Links(protection.mcs_table, symbols_per_tb, fading)
    split = protection.msb_split
    bits = class_bit_counts(header, msb_split=split)
    uses, q = 0, {}
    for mcs, classes in protection.segments():
        fmt = links.fmt(mcs)
        uses += fmt.num_tbs(-(-sum(bits[c] for c in classes) // 8)) * fmt.symbols_per_tb
        q[mcs] = links.bler(mcs, snr_db)

    def loss(cls: str, unit_bits: float) -> float:
        mcs = protection.mcs[cls]
        return _unit_loss(q[mcs], unit_bits, links.fmt(mcs))

    lost = dict.fromkeys(DAMAGE_KINDS, 0.0)
    totals = dict.fromkeys(("kernel", "side"), 0)
    for record in header.records:
        kind = "kernel" if is_kernel(record) else "side"
        value_cls = "kernel" if kind == "kernel" else "side"
        keep_positions = 1.0 - loss("side", 8 * record.positions_length)
        totals[kind] += record.count
        if record.coder == "ans":
            for index, (length, _) in enumerate(record.chunks):
                values = min(record.chunk_values, record.count - index * record.chunk_values)
                kept = keep_positions * (1.0 - loss(value_cls, 8 * length))
                lost[kind] += values * (1.0 - kept)
            continue
        width = record.quantizer.bits
        if split and has_msb_plane(record):
            keep_msb = keep_positions * (1.0 - loss("kernel-msb", 1))
            keep_rest = 1.0 - loss("kernel", width - 1)
            lost["kernel"] += record.count * (1.0 - keep_msb)
            lost["kernel-msb-kept"] += record.count * keep_msb * (1.0 - keep_rest)
        else:
            kept = keep_positions * (1.0 - loss(value_cls, width))
            lost[kind] += record.count * (1.0 - kept)
    fractions = {
        "kernel": lost["kernel"] / max(1, totals["kernel"]),
        "kernel-msb-kept": lost["kernel-msb-kept"] / max(1, totals["kernel"]),
        "side": lost["side"] / max(1, totals["side"]),
    }
    return ExpectedLoss(
        protection=protection,
        block_error_rate=q,
        lost_fraction=fractions,
        header_loss_probability=loss("header", bits["header"]),
        channel_uses=uses,
        air_time_s=uses / symbol_rate_hz,
    )


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
        return self.protection.mcs["kernel"]

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
) -> LinkPlan:
    """Score every (MCS, preset, protection MCS) and choose: the shortest air time with an
    expected drop of at most ``max_drop_pp``, or the smallest expected drop within
    ``air_time_budget_ms`` (exactly one of them). Ties go to the other figure."""
    if (max_drop_pp is None) == (air_time_budget_ms is None):
        raise SymcodecError("give exactly one of max_drop_pp and air_time_budget_ms")
    limit = max_drop_pp if max_drop_pp is not None else air_time_budget_ms
    if not math.isfinite(limit) or limit < 0:
        raise SymcodecError(f"the constraint must be a finite number >= 0, got {limit!r}")
    if not math.isfinite(snr_db):
        raise SymcodecError(f"snr_db must be a finite number, got {snr_db!r}")
    unknown = [p for p in presets if p not in PROTECT_PRESETS]
    if unknown or not presets:
        raise SymcodecError(f"presets must be among {', '.join(PROTECT_PRESETS)}")
    if mcs_table not in MCS_TABLES:
        raise SymcodecError(f"unknown NR MCS table {mcs_table!r}; known: {', '.join(MCS_TABLES)}")
    links = _Links(mcs_table, symbols_per_tb, fading)
    usable = [m for m in range(MCS_TABLES[mcs_table][1] + 1) if links.link(m) is not None]
    if not usable:
        raise SymcodecError(f"no MCS of {mcs_table} fits {symbols_per_tb} symbols per TB")
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


# --------------------------------------------------------------------------------------
# accuracy-vs-loss curves


def measure_loss_curve(
    state_dict: Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    evaluate: Callable[[dict[str, torch.Tensor]], float],
    *,
    fractions: Sequence[float] = (0.003, 0.03, 0.1, 0.3),
    trials: int = 2,
    seed: int = 0,
) -> LossCurve:
    """Measure the curve on the fly: for each damage kind and fraction ``f``, lose each unit
    of that kind (a ``fixed`` value, an ``ans`` chunk; for ``kernel-msb-kept`` the lower
    bits of a fixed kernel value) with probability ``f``, repair as the receiver does
    (:func:`~.unequal_protection.decode_with_erasures`), and evaluate; the drop is the mean
    over ``trials`` of ``evaluate(intact) - evaluate(damaged)``. Kinds the stream has no
    unit of are left out."""
    blob = encode(dict(state_dict), plan)
    header = read_header(blob)
    sent = np.unpackbits(np.frombuffer(blob, dtype=np.uint8))
    options = ReceiverOptions()
    clean = np.zeros(sent.size, dtype=bool)
    decoded, _, _ = decode_with_erasures(header, blob, sent, clean, options, msb_split=False)
    accuracy = float(evaluate(rebuild_state_dict(decoded)))
    rng = np.random.default_rng(seed)
    points: dict[str, tuple[tuple[float, float], ...]] = {}
    for kind in DAMAGE_KINDS:
        if not _has_units(header, kind):
            continue
        row = []
        for f in fractions:
            drops = []
            for _ in range(trials):
                erased = _erase_units(header, kind, float(f), rng)
                decoded, _, _ = decode_with_erasures(
                    header, blob, sent, erased, options, msb_split=kind == "kernel-msb-kept"
                )
                drops.append(accuracy - float(evaluate(rebuild_state_dict(decoded))))
            row.append((float(f), float(np.mean(drops))))
        points[kind] = tuple(row)
    if "kernel" not in points or "side" not in points:
        raise SymcodecError("measuring a loss curve needs a model with conv kernels and others")
    source = f"measured on the fly: {trials} trial(s) per point, fractions {list(fractions)}"
    return LossCurve(points, accuracy, source)


def _has_units(header: Header, kind: str) -> bool:
    if kind == "kernel-msb-kept":
        return any(has_msb_plane(r) for r in header.records)
    return any(r.count and is_kernel(r) == (kind == "kernel") for r in header.records)


def _erase_units(header: Header, kind: str, fraction: float, rng) -> np.ndarray:
    """Erased stream bits: each unit of ``kind`` lost with probability ``fraction``."""
    start = 8 * header.payload_offset
    erased = np.zeros(start + 8 * header.payload_bytes, dtype=bool)
    for record in header.records:
        if kind == "kernel-msb-kept":
            if not has_msb_plane(record):
                continue
        elif not record.count or is_kernel(record) != (kind == "kernel"):
            continue
        first = start + 8 * (record.offset + record.positions_length)
        if record.coder == "ans":
            pos = first
            for length, _ in record.chunks:
                if rng.random() < fraction:
                    erased[pos : pos + 8 * length] = True
                pos += 8 * length
            continue
        width = record.quantizer.bits
        lost = np.flatnonzero(rng.random(record.count) < fraction)
        low = 1 if kind == "kernel-msb-kept" else 0  # keep the MSB
        offsets = np.arange(low, width)
        erased[(first + lost[:, None] * width + offsets[None, :]).reshape(-1)] = True
    return erased


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
