"""The rate–accuracy frontier of ``bench/vs_nncodec.py`` (issue 14): curves with per-image
correctness, BD-rates of symcodec against the three NNCodec anchors, ``bd_rate.csv``, the
ablation of symcodec's levers, ``correct.npz`` and the frontier plot.

A :class:`Curve` is one codec on one model: a stream size and a boolean correctness row over
the test images per point. For every (data set, model), symcodec on the symmetric model is
compared (:func:`symcodec.report.bd_rate.bd_rate_bootstrap`, paired bootstrap over the test
images) with:

* ``nncodec-unconstrained``: NNCodec on the unconstrained model (the headline: what a user
  would otherwise send);
* ``nncodec-symmetric``: NNCodec on the same symmetric model (NNCodec not told about it);
* ``nncodec-dof``: NNCodec coding only the DoF coefficients of the symmetric kernels
  (isolates the entropy coder: both codecs then send the same values).

over the band ``[ref - 2 pp, ref - 0.3 pp]``, ``ref`` the unconstrained float model's test
accuracy. symcodec's curve is the union of its points (one step for all, and the data-aware
allocation); the ablation rows compare each lever's curve alone.

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
from symcodec.report.bd_rate import bd_rate_bootstrap

ANCHORS = ("nncodec-unconstrained", "nncodec-symmetric", "nncodec-dof")
#: symcodec's curves on the symmetric model: one step for every tensor, and the allocation.
SYMCODEC_LEVERS = ("symcodec-uniform", "symcodec-allocated")
#: The float reference: the unconstrained model's correctness.
REFERENCE = "float-unconstrained"
BAND_PP = (2.0, 0.3)
BD_COLUMNS = ("dataset", "model", "anchor", "bd_rate_pct", "ci_low_pct", "ci_high_pct")
ABLATION_COLUMNS = (
    "dataset",
    "model",
    "symcodec",
    "anchor",
    "bd_rate_pct",
    "ci_low_pct",
    "ci_high_pct",
    "band_low",
    "band_high",
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
    """``(bd_rate rows, ablation rows)`` for one (data set, model).

    ``curves`` holds the anchors of :data:`ANCHORS` and symcodec's levers
    (:data:`SYMCODEC_LEVERS`), any of which may be missing. The headline rows compare the
    union of symcodec's levers with each anchor; the ablation rows compare each lever alone
    and the union. A comparison whose curves do not overlap in the band gets ``nan`` and a
    note (ablation) instead of stopping the run.
    """
    levers = [curves[name] for name in SYMCODEC_LEVERS if name in curves]
    symcodecs = {name: curves[name] for name in SYMCODEC_LEVERS if name in curves}
    if levers:
        symcodecs["symcodec-best"] = Curve.union("symcodec-best", levers)
    headline, ablation = [], []
    for anchor in ANCHORS:
        if anchor not in curves:
            continue
        for name, sym in symcodecs.items():
            row = {"dataset": dataset, "model": model, "symcodec": name, "anchor": anchor}
            try:
                r = bd_rate_bootstrap(
                    sym.stream_bytes,
                    sym.correct,
                    curves[anchor].stream_bytes,
                    curves[anchor].correct,
                    reference_correct,
                    band_pp=BAND_PP,
                    resamples=resamples,
                    seed=seed,
                )
                row.update(
                    bd_rate_pct=r.bd_rate_pct,
                    ci_low_pct=r.ci_low_pct,
                    ci_high_pct=r.ci_high_pct,
                    band_low=r.band[0],
                    band_high=r.band[1],
                    resamples=r.resamples,
                    note="",
                )
            except SymcodecError as exc:
                nan = float("nan")
                reference = 100.0 * np.asarray(reference_correct, dtype=bool).mean()
                row.update(
                    bd_rate_pct=nan,
                    ci_low_pct=nan,
                    ci_high_pct=nan,
                    band_low=reference - BAND_PP[0],
                    band_high=reference - BAND_PP[1],
                    resamples=0,
                    note=str(exc),
                )
            ablation.append(row)
            if name == "symcodec-best":
                headline.append({k: row[k] for k in BD_COLUMNS})
    return headline, ablation


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
    """The ablation as a markdown table: BD-rate [95% CI] per symcodec curve and anchor."""
    lines = [
        "| data set | model | symcodec | anchor | BD-rate % | 95% CI | band (acc %) |",
        "|---|---|---|---|---:|---|---|",
    ]
    for r in rows:
        if math.isnan(r["bd_rate_pct"]):
            value, ci = "-", r["note"]
        else:
            value = f"{r['bd_rate_pct']:+.1f}"
            ci = f"[{r['ci_low_pct']:+.1f}, {r['ci_high_pct']:+.1f}]"
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['symcodec']} | {r['anchor']} | {value} "
            f"| {ci} | {r['band_low']:.2f}..{r['band_high']:.2f} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ correctness on disk


def curve_key(dataset: str, model: str, label: str) -> str:
    """The key of a curve in ``correct.npz``: ``dataset/model/label``."""
    return f"{dataset}/{model}/{label}"


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


# ------------------------------------------------------------------ NNCodec on the DoF


def dof_arrays(state: Mapping[str, torch.Tensor], plan) -> dict[str, torch.Tensor]:
    """What ``nncodec-dof`` hands NNCodec: every ``dof`` kernel as its coefficients, 2-D
    ``(out, in * DoF)`` (a plain weight matrix to NNCodec), every other tensor as it is."""
    from symcodec.codec.wire import transmitted_values

    out = {}
    for name, t in state.items():
        if plan[name].mode == "dof":
            values = transmitted_values(t, plan[name])
            out[name] = values.reshape(values.shape[0], -1).contiguous()
        else:
            out[name] = t
    return out


def from_dof_arrays(
    arrays: Mapping[str, torch.Tensor], shapes: Mapping[str, torch.Size], plan
) -> dict[str, torch.Tensor]:
    """The receiver's side of :func:`dof_arrays`: scatter the coefficients back."""
    from symcodec.codec.wire import rebuild_tensor

    out = {}
    for name, shape in shapes.items():
        tp = plan[name]
        if tp.mode == "dof":
            out[name] = rebuild_tensor(arrays[name], tuple(shape), tp.symmetry, "dof")
        else:
            out[name] = arrays[name].reshape(shape)
    return out


# ------------------------------------------------------------------ plot


def plot_frontier(
    curves: Mapping[str, Curve],
    references: Mapping[tuple[str, str], float],
    bd_rows: Sequence[Mapping] = (),
) -> bytes:
    """PNG bytes: one panel per (data set, model), every curve's points (bytes, log) against
    accuracy, its Pareto front as a line, the band, and the headline BD-rates in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from symcodec.report.bd_rate import pareto_front

    panels = sorted({tuple(key.split("/")[:2]) for key in curves})
    cols = 2 if len(panels) > 1 else 1
    rows_n = max(1, math.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(7 * cols, 5 * rows_n), squeeze=False)
    styles = {
        "nncodec-unconstrained": ("tab:blue", "s", "--"),
        "nncodec-symmetric": ("tab:purple", "v", "--"),
        "nncodec-dof": ("tab:green", "^", "--"),
        "symcodec-uniform": ("tab:red", "o", "-"),
        "symcodec-allocated": ("tab:orange", "D", "-"),
        "symcodec-unconstrained": ("tab:gray", ".", ":"),
    }
    for ax, (ds, model) in zip(axes.flat, panels, strict=False):
        for key, c in sorted(curves.items()):
            if not key.startswith(f"{ds}/{model}/") or c.label == REFERENCE:
                continue
            color, marker, line = styles.get(c.label, ("k", "x", "-."))
            acc = c.accuracy
            ax.scatter(c.stream_bytes, acc, s=10, color=color, marker=marker, alpha=0.5)
            front_acc, front_bytes = pareto_front(c.stream_bytes, acc)
            ax.plot(front_bytes, front_acc, line, color=color, lw=1.2, label=c.label)
        ref = references.get((ds, model))
        if ref is not None:
            ax.axhline(ref, color="k", lw=0.8, ls=":", label="unconstrained float model")
            ax.axhspan(ref - BAND_PP[0], ref - BAND_PP[1], color="0.9", zorder=0, label="BD band")
            ax.set_ylim(ref - 4.0, ref + 0.8)
        heads = [
            f"{r['anchor'].removeprefix('nncodec-')} {r['bd_rate_pct']:+.1f}%"
            for r in bd_rows
            if r["dataset"] == ds and r["model"] == model and not math.isnan(r["bd_rate_pct"])
        ]
        ax.set_xscale("log")
        ax.set_xlabel("stream size (bytes, log scale)")
        ax.set_ylabel("test accuracy (%)")
        title = f"{model} on {ds}"
        ax.set_title(title + (f"\nBD-rate vs NNCodec: {', '.join(heads)}" if heads else ""))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle("Rate vs accuracy: symcodec (symmetric model) against NNCodec 2.1.3")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    plt.close(fig)
    return buf.getvalue()
