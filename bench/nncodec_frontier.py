"""The rate–accuracy frontier of ``bench/vs_nncodec.py`` (issue 14): curves with per-image
correctness, BD-rates of symcodec against the three NNCodec anchors (per training seed and
pooled over seeds), the rows of ``bd_rate.csv`` and of the ablation of symcodec's levers,
and ``correct.npz``. (The files are written by ``nncodec_frontier_files``, the plot drawn by
``nncodec_plots``.)

A :class:`Curve` is one codec on one model: a stream size and a boolean correctness row over
the test images per point. For every (data set, model), symcodec on the symmetric model is
compared (:func:`bd_rate_rows`: the BD-rate with a paired bootstrap over the test images, as
:func:`symcodec.report.bd_rate.bd_rate_bootstrap` computes it) with:

* ``nncodec-unconstrained``: NNCodec on the unconstrained model (the headline: what a user
  would otherwise send);
* ``nncodec-symmetric``: NNCodec on the same symmetric model (NNCodec not told about it);
* ``nncodec-dof``: NNCodec coding only the DoF coefficients of the symmetric kernels
  (isolates the entropy coder: both codecs then send the same values).

over the band ``[ref - 2 pp, ref - 0.3 pp]``, ``ref`` the unconstrained float model's test
accuracy. symcodec's curve is the union of its points (one step for all, and the data-aware
allocation); the ablation rows compare each lever's curve alone.

**Several training seeds** (:func:`pooled_bd_rate_rows`). Every model exists once per
training seed, and seed ``s``'s symmetric model is compared with seed ``s``'s anchors over
the band of seed ``s``'s unconstrained reference. The pooled BD-rate is the mean of the
per-seed BD-rates; its 95% CI is the two-level bootstrap of
:func:`symcodec.report.bd_rate.bd_rate_bootstrap_seeds`: one draw picks the training seeds
with replacement, then resamples the test image indices once for every seed's curves and
reference (every seed is scored on the same test images, so an image that is hard for one
seed's models stays in or out for all of them), and averages the BD-rates of the seeds
picked; the CI covers both the spread between training seeds and the test set's sampling.
With one seed this is exactly :func:`symcodec.report.bd_rate.bd_rate_bootstrap`.

Nothing here runs NNCodec: it only handles curves, so it is tested on synthetic ones
(``tests/test_bench_frontier.py``).
"""

from __future__ import annotations

import copy
import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from symcodec.errors import SymcodecError
from symcodec.report.bd_rate import BdRate, PairedCurves, bd_rate_bootstrap_seeds

ANCHORS = ("nncodec-unconstrained", "nncodec-symmetric", "nncodec-dof")
#: symcodec's curves on the symmetric model: one step for every tensor, and the allocation.
SYMCODEC_LEVERS = ("symcodec-uniform", "symcodec-rdo", "symcodec-allocated")
#: symcodec's curves on the *unconstrained* model (no symmetry: its coder and allocation
#: alone), compared with NNCodec on the same model only, in the ablation (never the headline).
UNCONSTRAINED_LEVERS = ("symcodec-unconstrained", "symcodec-allocated-unconstrained")
UNCONSTRAINED_ANCHOR = "nncodec-unconstrained"
#: The float reference: the unconstrained model's correctness.
REFERENCE = "float-unconstrained"
BAND_PP = (2.0, 0.3)
BD_COLUMNS = ("dataset", "model", "anchor", "bd_rate_pct", "ci_low_pct", "ci_high_pct")
ABLATION_COLUMNS = (
    "dataset",
    "model",
    "seeds",
    "symcodec",
    "anchor",
    "bd_rate_pct",
    "ci_low_pct",
    "ci_high_pct",
    "band_low",
    "band_high",
    "covered_low",
    "covered_high",
    "resamples",
    "note",
)


@dataclass(frozen=True)
class Curve:
    """One codec on one model: per point its setting, stream bytes and correctness row."""

    label: str
    settings: tuple[str, ...]
    stream_bytes: tuple[int, ...]
    correct: np.ndarray  # bool, (points, images)

    def __post_init__(self) -> None:
        correct = np.asarray(self.correct, dtype=bool)
        if correct.ndim != 2 or correct.shape[0] != len(self.stream_bytes):
            raise ValueError(f"{self.label}: one correctness row per point is needed")
        if len(self.settings) != len(self.stream_bytes):
            raise ValueError(f"{self.label}: one setting per point is needed")
        object.__setattr__(self, "correct", correct)

    @property
    def accuracy(self) -> np.ndarray:
        """Accuracy of every point, percent."""
        return 100.0 * self.correct.mean(axis=1)

    @staticmethod
    def union(label: str, curves: Sequence[Curve]) -> Curve:
        """Every point of ``curves`` as one curve (their Pareto front is the best of all)."""
        return Curve(
            label,
            tuple(s for c in curves for s in c.settings),
            tuple(b for c in curves for b in c.stream_bytes),
            np.concatenate([c.correct for c in curves], axis=0),
        )


def bd_rate_rows(
    dataset: str,
    model: str,
    curves: Mapping[str, Curve],
    reference_correct: np.ndarray,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[list[dict], list[dict]]:
    """``(bd_rate rows, ablation rows)`` for one (data set, model) and one training seed.

    ``curves`` holds the anchors of :data:`ANCHORS` and symcodec's levers
    (:data:`SYMCODEC_LEVERS`, :data:`UNCONSTRAINED_LEVERS`), any of which may be missing.
    The headline rows compare the union of symcodec's levers on the symmetric model with each
    anchor; the ablation rows compare each lever alone and the union, and symcodec on the
    unconstrained model with NNCodec on that model. A comparison whose curves do not overlap
    in the band gets ``nan`` and a note (ablation) instead of stopping the run. ``seed``
    seeds the bootstrap.
    """
    return pooled_bd_rate_rows(dataset, model, [curves], [reference_correct], resamples, seed)


def pooled_bd_rate_rows(
    dataset: str,
    model: str,
    curves_per_seed: Sequence[Mapping[str, Curve]],
    reference_per_seed: Sequence[np.ndarray],
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[list[dict], list[dict]]:
    """:func:`bd_rate_rows` pooled over training seeds: one ``curves`` mapping and one
    reference correctness row per training seed, all over the same test images; every
    BD-rate is :func:`pooled_bd_rate` of the seeds (a comparison runs when every seed has
    both curves). The band columns are the mean of the seeds' bands."""
    if len(curves_per_seed) != len(reference_per_seed) or not curves_per_seed:
        raise ValueError("one reference per training seed (and at least one seed) is needed")
    symcodecs_per_seed = [
        {**symcodec_curves(curves), **{n: curves[n] for n in UNCONSTRAINED_LEVERS if n in curves}}
        for curves in curves_per_seed
    ]
    present = [
        n
        for n in (*SYMCODEC_LEVERS, "symcodec-best", *UNCONSTRAINED_LEVERS)
        if all(n in s for s in symcodecs_per_seed)
    ]
    reference = float(
        np.mean([100.0 * np.asarray(c, dtype=bool).mean() for c in reference_per_seed])
    )  # the band of a comparison that did not run: the seeds' mean, as a pooled one reports
    headline, ablation = [], []
    for anchor in ANCHORS:
        if not all(anchor in curves for curves in curves_per_seed):
            continue
        for name in present:
            if name in UNCONSTRAINED_LEVERS and anchor != UNCONSTRAINED_ANCHOR:
                continue  # the same model on both sides, or not a comparison
            row = {"dataset": dataset, "model": model, "symcodec": name, "anchor": anchor}
            pairs = [
                (sym[name], curves[anchor], reference)
                for sym, curves, reference in zip(
                    symcodecs_per_seed, curves_per_seed, reference_per_seed, strict=True
                )
            ]
            try:
                r = pooled_bd_rate(pairs, band_pp=BAND_PP, resamples=resamples, seed=seed)
                row.update(
                    bd_rate_pct=r.bd_rate_pct,
                    ci_low_pct=r.ci_low_pct,
                    ci_high_pct=r.ci_high_pct,
                    band_low=r.band[0],
                    band_high=r.band[1],
                    covered_low=r.covered[0],
                    covered_high=r.covered[1],
                    resamples=r.resamples,
                    note="",
                )
            except SymcodecError as exc:
                nan = float("nan")
                row.update(
                    bd_rate_pct=nan,
                    ci_low_pct=nan,
                    ci_high_pct=nan,
                    band_low=reference - BAND_PP[0],
                    band_high=reference - BAND_PP[1],
                    covered_low=nan,
                    covered_high=nan,
                    resamples=0,
                    note=str(exc),
                )
            ablation.append(row)
            if name == "symcodec-best":
                headline.append({k: row[k] for k in BD_COLUMNS})
    return headline, ablation


def symcodec_curves(curves: Mapping[str, Curve]) -> dict[str, Curve]:
    """symcodec's curves among ``curves``: its levers (:data:`SYMCODEC_LEVERS`) present, and
    their union ``symcodec-best`` when there is any."""
    symcodecs = {name: curves[name] for name in SYMCODEC_LEVERS if name in curves}
    if symcodecs:
        symcodecs["symcodec-best"] = Curve.union("symcodec-best", list(symcodecs.values()))
    return symcodecs


def pooled_bd_rate(
    pairs: Sequence[tuple[Curve, Curve, np.ndarray]],
    *,
    band_pp: tuple[float, float] = BAND_PP,
    resamples: int = 1000,
    seed: int = 0,
) -> BdRate:
    """The mean over training seeds of the BD-rate of curve A against curve B, with the 95%
    CI of :func:`symcodec.report.bd_rate.bd_rate_bootstrap_seeds` (training seeds, then test
    images paired across points, curves and seeds). ``pairs`` holds one ``(A, B, reference
    correctness)`` per training seed, every row over the same test images.

    Raises:
        SymcodecError: a seed's curves do not overlap in its band, or no draw overlapped.
    """
    seeds = [
        PairedCurves(a.stream_bytes, a.correct, b.stream_bytes, b.correct, reference)
        for a, b, reference in pairs
    ]
    return bd_rate_bootstrap_seeds(seeds, band_pp=band_pp, resamples=resamples, seed=seed)


def csv_text(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    """``rows`` as CSV with these columns; floats with 2 decimals (``nan`` for none)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for row in rows:
        w.writerow(
            {k: (f"{v:.2f}" if isinstance(v, float) else v) for k, v in row.items() if k in columns}
        )
    return buf.getvalue()


def ablation_markdown(rows: Sequence[Mapping]) -> str:
    """The ablation as a markdown table: BD-rate [95% CI] per training seed (or seeds
    pooled), symcodec curve and anchor, the band, and the part of it both curves cover
    (what the BD-rate averaged over) with its share of the band."""
    lines = [
        "| data set | model | training seeds | symcodec | anchor | BD-rate % | 95% CI "
        "| band (acc %) | covered (acc %, share) |",
        "|---|---|---|---|---|---:|---|---|---|",
    ]
    for r in rows:
        covered = "-"
        if math.isnan(r["bd_rate_pct"]):
            value, ci = "-", r["note"]
        else:
            value = f"{r['bd_rate_pct']:+.1f}"
            ci = f"[{r['ci_low_pct']:+.1f}, {r['ci_high_pct']:+.1f}]"
        low, high = r.get("covered_low", math.nan), r.get("covered_high", math.nan)
        if not (math.isnan(low) or math.isnan(high)):
            share = (high - low) / (r["band_high"] - r["band_low"])
            covered = f"{low:.2f}..{high:.2f} ({100 * share:.0f}%)"
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r.get('seeds', '')} | {r['symcodec']} "
            f"| {r['anchor']} | {value} "
            f"| {ci} | {r['band_low']:.2f}..{r['band_high']:.2f} | {covered} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ correctness on disk


def curve_key(dataset: str, model: str, label: str, seed: int | None = None) -> str:
    """The key of a curve in ``correct.npz``: ``dataset/model/label``, or with the training
    seed of its model ``dataset/model/seed/label``.

    >>> curve_key("mnist-5k", "deepcnn", "nncodec-dof", seed=2)
    'mnist-5k/deepcnn/2/nncodec-dof'
    """
    return "/".join([dataset, model, *([] if seed is None else [str(seed)]), label])


def parse_curve_key(key: str) -> tuple[str, str, int | None, str]:
    """``(dataset, model, training seed or None, label)`` of a :func:`curve_key`.

    >>> parse_curve_key("mnist-5k/deepcnn/2/nncodec-dof")
    ('mnist-5k', 'deepcnn', 2, 'nncodec-dof')
    >>> parse_curve_key("mnist-5k/deepcnn/nncodec-dof")
    ('mnist-5k', 'deepcnn', None, 'nncodec-dof')
    """
    parts = key.split("/")
    if len(parts) == 3:
        return parts[0], parts[1], None, parts[2]
    if len(parts) == 4:
        return parts[0], parts[1], int(parts[2]), parts[3]
    raise ValueError(f"not a curve key: {key!r}")


def save_curves(curves: Mapping[str, Curve]) -> bytes:
    """The bytes of an ``.npz`` holding every curve (keyed by :func:`curve_key`): its
    packed correctness bits, image count, stream bytes and settings."""
    arrays = {}
    for key, c in curves.items():
        arrays[f"{key}|bits"] = np.packbits(c.correct, axis=1)
        arrays[f"{key}|images"] = np.array([c.correct.shape[1]])
        arrays[f"{key}|bytes"] = np.array(c.stream_bytes, dtype=np.int64)
        arrays[f"{key}|settings"] = np.array(c.settings, dtype=str)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def load_curves(path: Path) -> dict[str, Curve]:
    """The curves :func:`save_curves` wrote."""
    with np.load(path) as data:
        keys = sorted({k.rsplit("|", 1)[0] for k in data.files})
        out = {}
        for key in keys:
            images = int(data[f"{key}|images"][0])
            correct = np.unpackbits(data[f"{key}|bits"], axis=1, count=images).astype(bool)
            out[key] = Curve(
                key.rsplit("/", 1)[1],
                tuple(str(s) for s in data[f"{key}|settings"]),
                tuple(int(b) for b in data[f"{key}|bytes"]),
                correct,
            )
    return out


# ------------------------------------------------------------------ evaluation


def correctness(
    model: torch.nn.Module,
    states: Sequence[Mapping[str, torch.Tensor]],
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 64,
) -> np.ndarray:
    """``(len(states), len(x))`` booleans: whether each state dict, loaded into a copy of
    ``model``, classifies each image correctly (eval mode, ``channels_last`` for 4-D input)."""
    work = copy.deepcopy(model).eval()
    layout = torch.channels_last if x.dim() == 4 else torch.contiguous_format
    if x.dim() == 4:
        work = work.to(memory_format=torch.channels_last)
    out = np.zeros((len(states), int(x.shape[0])), dtype=bool)
    with torch.inference_mode():
        for i, state in enumerate(states):
            work.load_state_dict(state, strict=True)
            for start in range(0, int(x.shape[0]), batch_size):
                xb = x[start : start + batch_size].contiguous(memory_format=layout)
                hit = work(xb).argmax(dim=1) == y[start : start + batch_size]
                out[i, start : start + batch_size] = hit.numpy()
    return out
