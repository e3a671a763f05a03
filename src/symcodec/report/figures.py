"""The study figures (SPEC section 7): accuracy against channel quality, accuracy against bit
width, and the payload per method. Each is saved as a PNG atomically."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

from ..errors import SymcodecError
from .confidence import mean_skipping_nan
from .format import format_channel_setting, is_finite
from .plot_style import (
    CurveStyles,
    draw_curve,
    figure_legend,
    group_curves,
    line_keys,
    line_label,
    pyplot,
    reference_line,
    save_figure,
    trials_text,
)
from .summary import distinct_values, grouping_key

_MODE_HATCH = {  # bars; dof: plain
    "full-project": "..",
    "full": "xx",
    "pruned": "--",
    "pruned-global": "//",
    "pruned-kernel": "||",
}
_CHANNEL_TITLES = {
    "awgn": "AWGN (analog)",
    "bpsk-awgn": "BPSK over AWGN",
    "qpsk-awgn": "QPSK over AWGN",
    "qam16-awgn": "16-QAM over AWGN",
    "rayleigh": "Rayleigh fading",
    "bsc": "binary symmetric channel",
    "erasure": "packet erasure",
    "ideal": "ideal channel",
}
_PARAM_AXIS = {"snr_db": "SNR (dB)", "ebn0_db": "Eb/N0 (dB)"}
_P_AXIS = {
    "bsc": "bit flip probability p",
    "erasure": "packet loss probability p",
}


def _x_axis_label(channel: str, param: str) -> str:
    if param in _PARAM_AXIS:
        return _PARAM_AXIS[param]
    if param == "p":
        return _P_AXIS.get(channel, "probability p")
    return param or "channel setting"


def plot_accuracy_vs_snr(
    summary: Sequence[Mapping], path: str | os.PathLike, title: str = ""
) -> None:
    """Received accuracy against channel quality, one subplot per bit width and protection
    preset (and channel).

    One line per (method, symmetry, mode) (and energy convention or alpha where these
    vary) with a shaded 95% CI band; a dashed line at the unconstrained float model's
    accuracy. Ideal-channel rows are left out. Bit-flip and loss probabilities use a log axis.

    Raises:
        SymcodecError: no rows with a channel setting, or ``path`` cannot be written (no
            file is left behind).

    Example:
        >>> import os, tempfile
        >>> from symcodec.report import summarize
        >>> rows = [dict(method="symmetric", symmetry="central-skew", mode="dof", bits=8,
        ...     channel="awgn", channel_param="snr_db", channel_value=float(snr),
        ...     energy="per-value", alpha=1.0, acc_ref=99.0, acc_rx=90.0 + snr / 2)
        ...     for snr in (0, 10, 20)]
        >>> path = os.path.join(tempfile.mkdtemp(), "acc_snr.png")
        >>> plot_accuracy_vs_snr(summarize(rows), path)
        >>> open(path, "rb").read(4)
        b'\\x89PNG'
    """
    rows = [r for r in summary if r["channel"] != "ideal" and is_finite(r["channel_value"])]
    if not rows:
        raise SymcodecError("no results with a noisy channel setting to plot against")
    plt = pyplot()
    channels = distinct_values(rows, "channel")
    columns = snr_panel_columns(rows)
    keys = line_keys(rows)
    if any(protect is not None for _, protect in columns):  # the panel says it, not the label
        keys = tuple(k for k in keys if k != "protect")
    styles = CurveStyles(summary)
    fig, axes = plt.subplots(
        len(channels),
        len(columns),
        figsize=(4.4 * len(columns), 3.6 * len(channels) + 0.4),
        squeeze=False,
        sharey=True,
    )
    try:
        for i, channel in enumerate(channels):
            for j, (b, protect) in enumerate(columns):
                panel = [
                    r
                    for r in rows
                    if r["channel"] == channel
                    and int(r["bits"]) == b
                    and (protect is None or r["protect"] == protect)
                ]
                param = panel[0]["channel_param"] if panel else rows[0]["channel_param"]
                panel_title = f"{_CHANNEL_TITLES.get(channel, channel)}, {b}-bit values" + (
                    f", protect {protect}" if protect is not None else ""
                )
                _draw_snr_panel(
                    axes[i][j], panel, keys, styles, channel, param, panel_title, j == 0
                )
        fig.suptitle(
            title
            or "Accuracy after the link vs channel quality "
            f"(mean, 95% CI band, {trials_text(rows)})",
            fontsize=11,
        )
        fig.tight_layout()
        figure_legend(fig, [ax for row in axes for ax in row])
    except BaseException:
        plt.close(fig)
        raise
    save_figure(fig, path)


def snr_panel_columns(rows: Sequence[Mapping]) -> list[tuple[int, str | None]]:
    """The columns of :func:`plot_accuracy_vs_snr`: ``(bits, protection preset)``, one per
    preset where the rows have more than one (``None``: all presets in one panel).

    >>> snr_panel_columns([{"bits": 4, "protect": "none"}, {"bits": 4, "protect": "side"}])
    [(4, 'none'), (4, 'side')]
    >>> snr_panel_columns([{"bits": 8, "protect": "none"}, {"bits": 4, "protect": "none"}])
    [(4, None), (8, None)]
    """
    bits = sorted({int(r["bits"]) for r in rows})
    protects = distinct_values(rows, "protect") if all("protect" in r for r in rows) else []
    if len(protects) < 2:
        return [(b, None) for b in bits]
    return [(b, p) for b in bits for p in protects]


def _draw_snr_panel(
    ax,
    panel: Sequence[Mapping],
    keys: tuple[str, ...],
    styles: CurveStyles,
    channel: str,
    param: str,
    title: str,
    first_column: bool,
) -> None:
    """One subplot of :func:`plot_accuracy_vs_snr`: the curves of one channel, bit width
    (and protection preset)."""
    for members in group_curves(panel, keys).values():
        members = sorted(members, key=lambda r: float(r["channel_value"]))
        key = {k: members[0][k] for k in keys}
        draw_curve(
            ax,
            [float(r["channel_value"]) for r in members],
            [r["acc_rx"] for r in members],
            [r.get("acc_rx_ci", math.nan) for r in members],
            styles(key),
            line_label(key),
        )
    reference_line(ax, panel)
    if param == "p" and all(float(r["channel_value"]) > 0 for r in panel):
        ax.set_xscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(_x_axis_label(channel, param))
    if first_column:
        ax.set_ylabel("received accuracy, Acc Rx (%)")
    ax.grid(True, alpha=0.3)
    if not panel:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)


def _best_setting(rows: Sequence[Mapping]) -> Mapping:
    """The least noisy row: ideal, else highest SNR/Eb/N0, else lowest probability."""
    ideal = [r for r in rows if r["channel"] == "ideal" or not is_finite(r["channel_value"])]
    if ideal:
        return ideal[0]
    if rows[0]["channel_param"] == "p":
        return min(rows, key=lambda r: float(r["channel_value"]))
    return max(rows, key=lambda r: float(r["channel_value"]))


def plot_accuracy_vs_bits(
    summary: Sequence[Mapping], path: str | os.PathLike, title: str = ""
) -> None:
    """Received accuracy against bit width at the best channel setting, one subplot per channel.

    The best setting is the highest SNR or Eb/N0, or the lowest bit-flip / loss probability,
    chosen per curve and bit width (the subplot title says which). One line per (method,
    symmetry, mode) with a 95% CI band; a dashed line at the unconstrained float accuracy.

    Raises:
        SymcodecError: no rows, or ``path`` cannot be written.

    Example:
        >>> import os, tempfile
        >>> from symcodec.report import summarize
        >>> rows = [dict(method="symmetric", symmetry="d4", mode="dof", bits=b,
        ...     channel="ideal", channel_param="", channel_value=float("nan"),
        ...     energy="per-value", alpha=1.0, acc_ref=99.0, acc_rx=90.0 + b)
        ...     for b in (4, 6, 8)]
        >>> path = os.path.join(tempfile.mkdtemp(), "acc_bits.png")
        >>> plot_accuracy_vs_bits(summarize(rows), path)
        >>> open(path, "rb").read(4)
        b'\\x89PNG'
    """
    if not summary:
        raise SymcodecError("no results to plot")
    plt = pyplot()
    channels = distinct_values(summary, "channel")
    keys = tuple(k for k in line_keys(summary))
    styles = CurveStyles(summary)
    all_bits = sorted({int(r["bits"]) for r in summary})
    fig, axes = plt.subplots(
        1, len(channels), figsize=(max(6.5, 5.0 * len(channels)), 4.2), squeeze=False, sharey=True
    )
    try:
        for j, channel in enumerate(channels):
            panel = [r for r in summary if r["channel"] == channel]
            _draw_bits_panel(axes[0][j], panel, keys, styles, channel, all_bits, j == 0)
        fig.suptitle(
            title
            or "Accuracy after the link vs bit width\nat the least noisy channel setting "
            f"(mean, 95% CI band, {trials_text(summary)})",
            fontsize=11,
        )
        fig.tight_layout()
        figure_legend(fig, list(axes[0]))
    except BaseException:
        plt.close(fig)
        raise
    save_figure(fig, path)


def _draw_bits_panel(
    ax,
    panel: Sequence[Mapping],
    keys: tuple[str, ...],
    styles: CurveStyles,
    channel: str,
    all_bits: list[int],
    first_column: bool,
) -> None:
    """One subplot of :func:`plot_accuracy_vs_bits`: the curves of one channel, each at its
    least noisy setting per bit width."""
    chosen_values = []
    chosen_rows = []
    for members in group_curves(panel, keys).values():
        key = {k: members[0][k] for k in keys}
        by_bits: dict[int, list[Mapping]] = {}
        for r in members:
            by_bits.setdefault(int(r["bits"]), []).append(r)
        points = [(b, _best_setting(by_bits[b])) for b in sorted(by_bits)]
        chosen_rows += [p for _, p in points]
        chosen_values += [grouping_key(p["channel_value"]) for _, p in points]
        draw_curve(
            ax,
            [b for b, _ in points],
            [p["acc_rx"] for _, p in points],
            [p.get("acc_rx_ci", math.nan) for _, p in points],
            styles(key),
            line_label(key),
        )
    reference_line(ax, panel)
    setting = ""
    if channel != "ideal":
        if len(set(chosen_values)) == 1:
            setting = ", " + format_channel_setting(chosen_rows[0], single_param=False)
        else:
            setting = ", best setting per bit width"
    ax.set_title(f"{_CHANNEL_TITLES.get(channel, channel)}{setting}", fontsize=10)
    ax.set_xticks(all_bits)
    ax.set_xlabel("bit width b (bits per value)")
    if first_column:
        ax.set_ylabel("received accuracy, Acc Rx (%)")
    ax.grid(True, alpha=0.3)


def plot_payload(summary: Sequence[Mapping], path: str | os.PathLike, title: str = "") -> None:
    """Grouped bars: payload (kbits) per (method, symmetry, mode), one group per bit width.

    The payload does not depend on the channel, so each bar is the mean over channel
    settings. For pruning the mask (position) bits are stacked on top, hatched; the label
    above each bar is the total.

    Raises:
        SymcodecError: no rows, or ``path`` cannot be written.

    Example:
        >>> import os, tempfile
        >>> from symcodec.report import summarize
        >>> rows = [dict(method=m, symmetry=s, mode=mo, bits=8, channel="ideal",
        ...     channel_param="", channel_value=float("nan"), energy="per-value",
        ...     alpha=1.0, payload_bits=p, mask_bits=k, payload_bits_oracle=p - k)
        ...     for m, s, mo, p, k in [("symmetric", "central-skew", "dof", 240_000, 0),
        ...                            ("pruned", "central-skew", "pruned", 300_000, 60_000),
        ...                            ("quant-only", "none", "full", 480_000, 0)]]
        >>> path = os.path.join(tempfile.mkdtemp(), "payload.png")
        >>> plot_payload(summarize(rows), path)
        >>> open(path, "rb").read(4)
        b'\\x89PNG'
    """
    if not summary:
        raise SymcodecError("no results to plot")
    plt = pyplot()
    keys = ("method", "symmetry", "mode")
    curves = group_curves(summary, keys)
    bits = sorted({int(r["bits"]) for r in summary})
    styles = CurveStyles(summary)
    n = len(curves)
    width = 0.8 / max(n, 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 + 0.35 * n * len(bits)), 4.2))
    try:
        tallest = 0.0
        for index, members in enumerate(curves.values()):
            key = {k: members[0][k] for k in keys}
            xs, base, mask = _payload_bars(members, bits, index, width)
            _draw_payload_bars(ax, xs, base, mask, width, key, styles(key)["color"], n > 4)
            for b0, m in zip(base, mask, strict=True):
                tallest = max(tallest, b0 + m)
        _payload_axes(ax, summary, bits, tallest, title)
    except BaseException:
        plt.close(fig)
        raise
    save_figure(fig, path)


def _payload_bars(
    members: Sequence[Mapping], bits: list[int], index: int, width: float
) -> tuple[list[float], list[float], list[float]]:
    """Bar positions, payload without mask (kbits) and mask (kbits) of one curve per bit width."""
    xs, base, mask = [], [], []
    for position, b in enumerate(bits):
        at = [r for r in members if int(r["bits"]) == b]
        if not at:
            continue
        total = mean_skipping_nan(r["payload_bits"] for r in at) / 1000
        mask_k = mean_skipping_nan(r.get("mask_bits", 0) for r in at) / 1000
        mask_k = mask_k if is_finite(mask_k) else 0.0
        xs.append(position - 0.4 + width * (index + 0.5))
        base.append(total - mask_k)
        mask.append(mask_k)
    return xs, base, mask


def _draw_payload_bars(ax, xs, base, mask, width, key: Mapping, color, rotate: bool) -> None:
    """One curve's bars: the payload, the mask bits stacked on top (hatched), the total above."""
    ax.bar(
        xs,
        base,
        width,
        color=color,
        hatch=None if key["method"] == "quant-only" else _MODE_HATCH.get(key["mode"]),
        edgecolor="black",
        linewidth=0.5,
        label=line_label(key),
    )
    if any(m > 0 for m in mask):
        ax.bar(
            xs,
            mask,
            width,
            bottom=base,
            color=color,
            alpha=0.45,
            hatch="///",
            edgecolor="black",
            linewidth=0.5,
        )
    for x, b0, m in zip(xs, base, mask, strict=True):
        ax.text(
            x,
            b0 + m,
            f"{b0 + m:.0f}",
            ha="center",
            va="bottom",
            fontsize=7,
            rotation=90 if rotate else 0,
        )


def _payload_axes(
    ax, summary: Sequence[Mapping], bits: list[int], tallest: float, title: str
) -> None:
    """Ticks, labels, limits, legend and title of :func:`plot_payload`."""
    from matplotlib.patches import Patch

    ax.set_xticks(range(len(bits)))
    ax.set_xticklabels([f"{b} bits" for b in bits])
    ax.set_xlabel("bit width b (bits per value)")
    ax.set_ylabel("payload (kbits)")
    ax.set_ylim(0, tallest * 1.18 if tallest > 0 else 1)
    ax.grid(True, axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if any(r["method"] == "pruned" for r in summary):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="///"))
        labels.append("pruning mask (positions), counted in the payload")
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(
        title or "Payload per method: values x bits (+ mask bits for pruning)", fontsize=11
    )
