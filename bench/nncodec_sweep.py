"""Measuring a codec of the NNCodec benchmark (``bench/vs_nncodec.py``) on one model: encode
and decode at every setting, timed (:func:`sweep`), then evaluate every received model image
by image into :class:`Point` rows (``results.csv``) and a frontier curve
(:func:`add_points`).

A codec is any object with a ``name``, ``encode(state, setting) -> bytes`` and
``decode(blob, shapes) -> state`` (``nncodec_adapter``, ``nncodec_symcodec``). Timings are
the median of ``repeats`` in-memory runs.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import nncodec_frontier as frontier
import torch
from nncodec_models import BenchModel


@dataclass
class Point:
    """One row of ``results.csv``: a codec at one setting on one model."""

    dataset: str
    model: str
    variant: str
    seed: int  # the model's training seed
    params: int
    float_acc: float
    codec: str
    setting: str  # "qp=-32" or "step=0.00390625"
    value: float
    bytes: int
    bits_per_param: float
    acc: float
    encode_ms: float
    decode_ms: float
    max_abs_err: float


def timed(fn, repeats: int):
    """``(result of the last call, median seconds)`` over ``repeats`` calls."""
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def sweep(codec, settings, state, shapes, repeats, label):
    """Encode and decode ``state`` at every setting; returns (setting, blob, received,
    encode s, decode s)."""
    out = []
    for s in settings:
        blob, t_enc = timed(lambda s=s: codec.encode(state, s), repeats)
        received, t_dec = timed(lambda b=blob: codec.decode(b, shapes), repeats)
        missing = set(shapes) - set(received)
        if missing:
            raise RuntimeError(f"{codec.name} lost tensors {sorted(missing)}")
        received = {k: received[k].reshape(shapes[k]).to(torch.float32) for k in shapes}
        out.append((s, blob, received, t_enc, t_dec))
        print(
            f"  {label} {codec.name} {s}: {len(blob):,} B, "
            f"enc {t_enc * 1e3:.1f} ms, dec {t_dec * 1e3:.1f} ms",
            flush=True,
        )
    return out


def curve_label(variant: str, codec: str) -> str:
    """The frontier's curve of each (variant, codec), symmetric variants being the symcodec
    side: ``nncodec-unconstrained``, ``nncodec-symmetric``, ``nncodec-dof``,
    ``symcodec-uniform``, ``symcodec-allocated`` or ``symcodec-unconstrained``.

    >>> curve_label("none", "nncodec"), curve_label("central-skew", "symcodec")
    ('nncodec-unconstrained', 'symcodec-uniform')
    """
    if variant == "none":
        return f"{codec}-unconstrained"
    return {"nncodec": "nncodec-symmetric", "symcodec": "symcodec-uniform"}.get(codec, codec)


def add_points(
    points: list[Point],
    curves: dict[str, frontier.Curve],
    codec,
    key: str,
    results,
    bench: BenchModel,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
) -> None:
    """Evaluate a sweep's received models image by image; add its :class:`Point` rows and
    its frontier curve (keyed by :func:`nncodec_frontier.curve_key` with the training seed).
    ``key`` names the setting (``qp``, ``step`` or ``budget``)."""
    correct = frontier.correctness(bench.model, [r[2] for r in results], test_x, test_y)
    settings = []
    state, n_params = bench.state, bench.params
    for (s, blob, received, t_enc, t_dec), row in zip(results, correct, strict=True):
        err = max(float((received[k] - state[k]).abs().max()) for k in state)
        setting = f"{key}={s:.6g}" if key == "step" else f"{key}={s:g}"
        settings.append(setting)
        points.append(
            Point(
                dataset=bench.dataset,
                model=bench.model_name,
                variant=bench.variant,
                seed=bench.seed,
                params=n_params,
                float_acc=bench.float_acc,
                codec=codec.name,
                setting=setting,
                value=float(s),
                bytes=len(blob),
                bits_per_param=8 * len(blob) / n_params,
                acc=100.0 * float(row.mean()),
                encode_ms=t_enc * 1e3,
                decode_ms=t_dec * 1e3,
                max_abs_err=err,
            )
        )
        print(f"    {codec.name} {setting}: {len(blob):,} B, {points[-1].acc:.2f}%")
    if results:
        label = curve_label(bench.variant, codec.name)
        curves[frontier.curve_key(bench.dataset, bench.model_name, label, bench.seed)] = (
            frontier.Curve(label, tuple(settings), tuple(len(r[1]) for r in results), correct)
        )
