"""The common look of the study figures: lazy matplotlib, atomic PNG saving, one style per
curve (colour by symmetry, line style by mode, marker by method), CI bands and legends.

matplotlib is imported only when a figure is drawn, so importing :mod:`symcodec.report` does
not import it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

from ..io import atomic_open
from .confidence import mean_skipping_nan
from .format import format_value, is_finite
from .summary import distinct_values, grouping_key


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike) -> None:
    """Save a matplotlib figure as PNG atomically (temporary file, then rename)."""
    plt = pyplot()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


_MODE_STYLE = {
    "dof": "-",
    "full-project": "--",
    "full": ":",
    "pruned": "-.",
    "pruned-global": (0, (3, 1, 1, 1, 1, 1)),
    "pruned-kernel": (0, (5, 2)),
}
_METHOD_MARKER = {"symmetric": "o", "pruned": "s", "quant-only": "^", "step-ans": "v"}


def line_keys(summary: Sequence[Mapping]) -> tuple[str, ...]:
    """Columns that tell curves apart: method, symmetry, mode, plus energy/alpha/protection if
    they vary; on the NR link (rows with an MCS setting) also the protection preset and the
    MCS.

    >>> line_keys([{"protect": "none"}, {"protect": "side"}])
    ('method', 'symmetry', 'mode', 'protect')
    """
    keys = ["method", "symmetry", "mode"]
    for extra in ("energy", "alpha", "protect"):
        if len(distinct_values([r for r in summary if extra in r], extra)) > 1:
            keys.append(extra)
    if any(r.get("mcs") for r in summary):
        keys += ["protect", "mcs"] if "protect" not in keys else ["mcs"]
    return tuple(keys)


def line_label(key: dict) -> str:
    """The legend label of a curve, from its values of :func:`line_keys`.

    Example:
        >>> line_label({"method": "symmetric", "symmetry": "d4", "mode": "dof", "alpha": 0.5})
        'd4 (dof), alpha=0.5'
    """
    method, symmetry, mode = key["method"], key["symmetry"], key["mode"]
    if method == "symmetric":
        label = f"{symmetry} ({mode})"
    elif method == "pruned":
        scope = {"pruned-global": " (global)", "pruned-kernel": " (per kernel)"}.get(mode, "")
        label = f"pruned{scope} eq. {symmetry}"
    elif method == "quant-only":
        label = "quant-only (full model)"
    elif method == "step-ans":
        label = "step + ANS (full model)"
    else:
        label = f"{method} {symmetry} ({mode})"
    if "energy" in key:
        label += f", {key['energy']}"
    if "alpha" in key:
        label += f", alpha={format_value(key['alpha'])}"
    if "protect" in key:
        label += f", protect {key['protect']}"
    if "mcs" in key:
        label += f", MCS {key['mcs']}"
    return label


class CurveStyles:
    """Consistent colour (by symmetry; each pruning rule its own), line style (by mode) and
    marker (by method).

    Built once per figure from the whole summary, so a symmetry keeps its colour in every
    subplot; calling it with a curve's key gives ``plot`` keyword arguments. A pruned
    baseline is drawn in its rule's colour, not its symmetry's: it would otherwise share the
    colour of the symmetric model it is compared with.
    """

    def __init__(self, summary: Sequence[Mapping]):
        import matplotlib

        palette = matplotlib.colormaps["tab10"].colors
        symmetric = [r for r in summary if r.get("method") != "pruned"]
        symmetries = [s for s in distinct_values(symmetric, "symmetry") if s != "none"]
        rules = distinct_values([r for r in summary if r.get("method") == "pruned"], "mode")
        names = [*symmetries, *(f"pruned:{rule}" for rule in rules)]
        self.colors = {name: palette[i % len(palette)] for i, name in enumerate(names)}
        self.colors["none"] = (0.25, 0.25, 0.25)

    def __call__(self, key: Mapping) -> dict:
        """``color``, ``linestyle`` and ``marker`` for the curve with this key."""
        name = f"pruned:{key['mode']}" if key["method"] == "pruned" else key["symmetry"]
        color = self.colors.get(name, (0.25, 0.25, 0.25))
        if key["method"] == "quant-only":
            color = (0.25, 0.25, 0.25)
        return {
            "color": color,
            "linestyle": _MODE_STYLE.get(key["mode"], "-"),
            "marker": _METHOD_MARKER.get(key["method"], "D"),
        }


def group_curves(rows: Sequence[Mapping], keys: tuple[str, ...]) -> dict[tuple, list[Mapping]]:
    """Rows grouped into curves by their values of ``keys``, in order of first appearance."""
    curves: dict[tuple, list[Mapping]] = {}
    for row in rows:
        curves.setdefault(tuple(grouping_key(row[k]) for k in keys), []).append(row)
    return curves


def draw_curve(ax, xs, means, halves, style: dict, label: str) -> None:
    """A line of means with a shaded band of +- the CI half-widths (none where missing)."""
    ax.plot(xs, means, label=label, linewidth=1.6, markersize=4.5, **style)
    lower = [m - (h if is_finite(h) else 0.0) for m, h in zip(means, halves, strict=True)]
    upper = [m + (h if is_finite(h) else 0.0) for m, h in zip(means, halves, strict=True)]
    if any(u > lo for u, lo in zip(upper, lower, strict=True)):
        ax.fill_between(xs, lower, upper, color=style["color"], alpha=0.15, linewidth=0)


def reference_line(ax, rows: Sequence[Mapping]) -> None:
    """A dashed horizontal line at the unconstrained float model's accuracy (mean acc_ref)."""
    ref = mean_skipping_nan(r.get("acc_ref", math.nan) for r in rows)
    if is_finite(ref):
        ax.axhline(
            ref,
            color="black",
            linestyle=(0, (5, 3)),
            linewidth=1.0,
            label=f"unconstrained float model ({ref:.2f}%)",
        )


def figure_legend(fig, axes) -> None:
    """One legend below the figure with every distinct label of ``axes``."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:
        fig.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=min(3, len(handles)),
            fontsize=8,
            frameon=False,
        )


def trials_text(rows: Sequence[Mapping]) -> str:
    """How many trials the means are over, for a figure title: ``n = 5``, ``n = 3-5``."""
    ns = sorted({int(r["n"]) for r in rows})
    if not ns:
        return ""
    if ns == [1]:
        return "n = 1, so no CI"
    return f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}-{ns[-1]}"
