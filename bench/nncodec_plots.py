"""The figures of the NNCodec benchmark (``bench/vs_nncodec.py``): ``rate_accuracy.png``
(:func:`plot_rate_accuracy`, every point of ``results.csv``, one line per codec and variant)
and ``frontier.png`` (:func:`plot_frontier`, every frontier curve with its Pareto front, the
BD band and the headline BD-rates). One panel per (data set, model, training seed). Both
return PNG bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import nncodec_frontier as frontier
from nncodec_models import VARIANTS
from nncodec_results import ISO_PP
from nncodec_sweep import Point


def _figure(panels: int, width: float, height: float):
    """A figure with ``panels`` axes, two per row (one when there is one panel)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 2 if panels > 1 else 1
    rows_n = max(1, math.ceil(panels / cols))
    return plt.subplots(rows_n, cols, figsize=(width * cols, height * rows_n), squeeze=False)


def _png(fig, axes, panels: int, title: str) -> bytes:
    """Hide the unused axes, title, lay out and render ``fig``; close it."""
    import matplotlib.pyplot as plt

    for ax in list(axes.flat)[panels:]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    plt.close(fig)
    return buf.getvalue()


def plot_rate_accuracy(points: Sequence[Point]) -> bytes:
    """PNG bytes: bytes (log) against accuracy of every point, one line per codec and
    variant, the float accuracy and the iso-accuracy line of each variant."""
    import matplotlib

    panels = sorted({(p.dataset, p.model, p.seed) for p in points})
    fig, axes = _figure(len(panels), 6.5, 4.6)
    colors = {"none": "tab:blue", "central-skew": "tab:red"}
    markers = {"nncodec": "s", "symcodec": "o"}
    styles = {"nncodec": "--", "symcodec": "-"}
    for ax, (ds, model, seed) in zip(axes.flat, panels, strict=False):
        sub = [p for p in points if (p.dataset, p.model, p.seed) == (ds, model, seed)]
        for variant in VARIANTS:
            vps = [p for p in sub if p.variant == variant]
            if not vps:
                continue
            fa = vps[0].float_acc
            c = colors.get(variant, "k")
            ax.axhline(fa, color=c, lw=0.8, ls=":", alpha=0.8)
            ax.axhline(fa - ISO_PP, color=c, lw=0.8, ls="-.", alpha=0.6)
            for codec in ("nncodec", "symcodec"):
                cps = sorted((p for p in vps if p.codec == codec), key=lambda p: p.bytes)
                if not cps:
                    continue
                ax.plot(
                    [p.bytes for p in cps],
                    [p.acc for p in cps],
                    styles[codec],
                    marker=markers[codec],
                    ms=4,
                    color=c,
                    label=f"{codec}, {variant}-trained",
                )
        accs = [p.float_acc for p in sub]
        lo = min(accs) - 3.0
        ax.set_ylim(lo, max(accs) + 0.8)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("stream size (bytes, log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{model} on {ds}, training seed {seed}")
        ax.grid(True, which="both", alpha=0.3)
        ax.plot([], [], "k:", lw=0.8, label="float model accuracy")
        ax.plot([], [], "k-.", lw=0.8, label=f"float - {ISO_PP} pp (iso-accuracy)")
        ax.legend(fontsize=7, loc="lower right")
    title = "Rate vs accuracy: symcodec (DoF + ANS) vs NNCodec 2.1.3 (DeepCABAC)"
    return _png(fig, axes, len(panels), title)


def plot_frontier(
    curves: Mapping[str, frontier.Curve],
    references: Mapping[tuple[str, ...], float],
    bd_rows: Sequence[Mapping] = (),
) -> bytes:
    """PNG bytes: one panel per (data set, model) or, for seeded curve keys, per (data set,
    model, training seed); every curve's points (bytes, log) against accuracy, its Pareto
    front as a line, the band, and the headline BD-rates in the title. ``references`` is
    keyed by the panel: ``(dataset, model)`` or ``(dataset, model, str(seed))``; a seeded
    panel takes the headline rows whose ``seeds`` is its seed."""
    from symcodec.report.bd_rate import pareto_front

    panels = sorted({tuple(key.split("/")[:-1]) for key in curves})
    fig, axes = _figure(len(panels), 7, 5)
    styles = {
        "nncodec-unconstrained": ("tab:blue", "s", "--"),
        "nncodec-symmetric": ("tab:purple", "v", "--"),
        "nncodec-dof": ("tab:green", "^", "--"),
        "symcodec-uniform": ("tab:red", "o", "-"),
        "symcodec-allocated": ("tab:orange", "D", "-"),
        "symcodec-rdo": ("tab:brown", "P", "-"),
        "symcodec-unconstrained": ("tab:gray", ".", ":"),
        "symcodec-allocated-unconstrained": ("tab:olive", "d", ":"),
    }
    for ax, panel in zip(axes.flat, panels, strict=False):
        ds, model = panel[:2]
        seed = panel[2] if len(panel) > 2 else None
        for key, c in sorted(curves.items()):
            if tuple(key.split("/")[:-1]) != panel or c.label == frontier.REFERENCE:
                continue
            color, marker, line = styles.get(c.label, ("k", "x", "-."))
            acc = c.accuracy
            ax.scatter(c.stream_bytes, acc, s=10, color=color, marker=marker, alpha=0.5)
            front_acc, front_bytes = pareto_front(c.stream_bytes, acc)
            ax.plot(front_bytes, front_acc, line, color=color, lw=1.2, label=c.label)
        ref = references.get(panel)
        if ref is not None:
            ax.axhline(ref, color="k", lw=0.8, ls=":", label="unconstrained float model")
            ax.axhspan(
                ref - frontier.BAND_PP[0],
                ref - frontier.BAND_PP[1],
                color="0.9",
                zorder=0,
                label="BD band",
            )
            ax.set_ylim(ref - 4.0, ref + 0.8)
        heads = [
            f"{r['anchor'].removeprefix('nncodec-')} {r['bd_rate_pct']:+.1f}%"
            for r in bd_rows
            if r["dataset"] == ds
            and r["model"] == model
            and (seed is None or str(r.get("seeds")) == seed)
            and not math.isnan(r["bd_rate_pct"])
        ]
        ax.set_xscale("log")
        ax.set_xlabel("stream size (bytes, log scale)")
        ax.set_ylabel("test accuracy (%)")
        title = f"{model} on {ds}" + ("" if seed is None else f", training seed {seed}")
        ax.set_title(title + (f"\nBD-rate vs NNCodec: {', '.join(heads)}" if heads else ""))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    title = "Rate vs accuracy: symcodec (symmetric model) against NNCodec 2.1.3"
    return _png(fig, axes, len(panels), title)
