"""Measuring an accuracy-vs-loss curve on the fly: erase random units of a stream, repair as
the receiver does, evaluate (:func:`measure_loss_curve`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from ..codec import TransmissionPlan, encode
from ..codec.format import Header, read_header, rebuild_state_dict
from ..errors import SymcodecError
from .erasure_repair import decode_with_erasures
from .loss_curve import DAMAGE_KINDS, LossCurve
from .reception import ReceiverOptions
from .stream_classes import has_msb_plane, is_kernel

__all__ = ["measure_loss_curve"]


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
    (:func:`~.erasure_repair.decode_with_erasures`), and evaluate; the drop is the mean
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
