"""The study's outputs: results.csv, the summary table, figures and the claims.

- :func:`write_results_csv` / :func:`append_results_csv` / :func:`read_results_csv`: one row
  per trial with the columns of :data:`RESULT_COLUMNS` (typed back on reading).
- :func:`summarize`: trials averaged into one row per setting, with 95% t confidence intervals
  (:func:`mean_ci95`, :func:`t_critical_975`; no scipy).
- :func:`table_markdown` / :func:`write_table`: the SPEC section 7 table.
- :func:`plot_accuracy_vs_snr`, :func:`plot_accuracy_vs_bits`, :func:`plot_payload`: figures.
- :func:`evaluate_claims` / :func:`claims_markdown` / :func:`write_claims`: the SPEC section 8
  claims, each decided from the data by a stated rule.

Every file is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch

from .errors import SymcodecError
from .io import atomic_open
from .study.rows import (  # noqa: F401 (results.csv: one definition of a row, re-exported)
    GROUP_KEYS,
    RESULT_COLUMNS,
    append_results_csv,
    read_results_csv,
    write_results_csv,
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike) -> None:
    """Save a matplotlib figure as PNG atomically (temporary file, then rename)."""
    plt = _pyplot()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_filters(
    state_dict: Mapping[str, torch.Tensor],
    path: str | os.PathLike,
    per_layer: int = 8,
    title: str = "",
) -> None:
    """A PNG grid of the first ``per_layer`` filters (input channel 0) of each conv layer.

    Each kernel is drawn with a symmetric colour scale (blue negative, red positive), so
    mirror symmetry and antisymmetry are visible at a glance.
    """
    plt = _pyplot()
    kernels = [
        (k, v.detach().float())
        for k, v in state_dict.items()
        if v.dim() == 4 and v.dtype.is_floating_point
    ]
    rows = max(1, len(kernels))
    fig, axes = plt.subplots(
        rows, per_layer, figsize=(1.2 * per_layer, 1.3 * rows + 0.6), squeeze=False
    )
    for r, (name, w) in enumerate(kernels):
        for c in range(per_layer):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= w.shape[0]:
                ax.axis("off")
                continue
            kernel = w[c, 0]
            bound = float(kernel.abs().max()) or 1.0
            ax.imshow(kernel.numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
            if c == 0:
                ax.set_ylabel(name.removesuffix(".weight"), fontsize=8)
    fig.suptitle(title or "first filters of each conv layer (input channel 0)", fontsize=10)
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# results.csv: one row per trial
# ---------------------------------------------------------------------------------------------

# One definition of a trial row: symcodec.study.rows.TrialRow. RESULT_COLUMNS, GROUP_KEYS,
# write_results_csv, read_results_csv and append_results_csv are imported from there (above).


# ---------------------------------------------------------------------------------------------
# Statistics: 95% confidence intervals without scipy
# ---------------------------------------------------------------------------------------------

# Student t 0.975 quantiles (two-sided 95%), df -> t. Beyond the table the normal limit is used.
_T975: tuple[tuple[int, float], ...] = (
    (1, 12.706205),
    (2, 4.302653),
    (3, 3.182446),
    (4, 2.776445),
    (5, 2.570582),
    (6, 2.446912),
    (7, 2.364624),
    (8, 2.306004),
    (9, 2.262157),
    (10, 2.228139),
    (11, 2.200985),
    (12, 2.178813),
    (13, 2.160369),
    (14, 2.144787),
    (15, 2.131450),
    (16, 2.119905),
    (17, 2.109816),
    (18, 2.100922),
    (19, 2.093024),
    (20, 2.085963),
    (21, 2.079614),
    (22, 2.073873),
    (23, 2.068658),
    (24, 2.063899),
    (25, 2.059539),
    (26, 2.055529),
    (27, 2.051831),
    (28, 2.048407),
    (29, 2.045230),
    (30, 2.042272),
    (40, 2.021075),
    (50, 2.008559),
    (60, 2.000298),
    (80, 1.990063),
    (100, 1.983972),
    (120, 1.979930),
    (200, 1.971896),
    (500, 1.964720),
    (1000, 1.962339),
)
_Z975 = 1.959964


def t_critical_975(df: float) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (two-sided 95%).

    Exact table values (6 decimals) for df 1..30, 40, 50, 60, 80, 100, 120, 200, 500, 1000;
    between entries, linear interpolation in 1/df (error below 1e-4); the normal quantile
    1.959964 as df goes to infinity.

    Example:
        >>> t_critical_975(4)
        2.776445
        >>> round(t_critical_975(10**9), 4)
        1.96
    """
    if isinstance(df, float) and math.isinf(df) and df > 0:
        return _Z975
    try:
        df = float(df)
    except (TypeError, ValueError):
        raise SymcodecError(f"degrees of freedom must be a number, got {df!r}") from None
    if not df >= 1:
        raise SymcodecError(f"degrees of freedom must be >= 1, got {df}")
    points = [(1.0 / d, t) for d, t in _T975] + [(0.0, _Z975)]  # descending in 1/df
    x = 1.0 / df
    for (x_hi, t_hi), (x_lo, t_lo) in zip(points, points[1:], strict=False):
        if x == x_hi:
            return t_hi
        if x_lo <= x < x_hi:
            return t_lo + (t_hi - t_lo) * (x - x_lo) / (x_hi - x_lo)
    return _Z975  # not reached


def mean_ci95(values: Iterable[float]) -> tuple[float, float]:
    """Mean and 95% confidence half-width ``t(n-1) * s / sqrt(n)`` (sample std, ddof=1).

    NaN values are left out (a trial that produced no number). One value gives a half-width
    of nan; no values give ``(nan, nan)``.

    Example:
        >>> mean, half = mean_ci95([1, 2, 3, 4, 5])
        >>> mean, round(half, 4)
        (3.0, 1.9632)
    """
    data = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(data)
    if n == 0:
        return math.nan, math.nan
    mean = math.fsum(data) / n
    if n == 1:
        return mean, math.nan
    s = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1))
    return mean, t_critical_975(n - 1) * s / math.sqrt(n)


def _mean(values: Iterable[float]) -> float:
    return mean_ci95(values)[0]


# ---------------------------------------------------------------------------------------------
# Summaries: one row per setting, averaged over trials
# ---------------------------------------------------------------------------------------------

# GROUP_KEYS (the columns that define one setting) comes from symcodec.study.rows.

METHOD_ORDER: tuple[str, ...] = ("symmetric", "pruned", "quant-only")
MODE_ORDER: tuple[str, ...] = ("dof", "full-project", "full", "pruned")

_CI_COLUMNS = ("acc_ref", "acc_tx", "acc_txq", "acc_rx", "d_acc_pp")
_MEAN_COLUMNS = (
    "values_sent",
    "values_total",
    "payload_bits",
    "payload_bits_oracle",
    "mask_bits",
    "header_bits",
    "payload_reduction_pct",
    "bits_sent",
    "bit_errors",
    "crc_failures",
    "encode_ms",
    "decode_ms",
    "air_ms",
    "latency_ms",
    "ber",
    "distance",
    "conv_share",
)


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _key_part(value):
    """Grouping key of one value: nan equals nan, 10 equals 10.0."""
    if _is_nan(value):
        return ("nan",)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _rank(order: Sequence[str], seen: dict[str, int], value: str) -> tuple[int, int]:
    if value in order:
        return (0, order.index(value))
    return (1, seen[value])


def _first_seen(rows: Sequence[Mapping], column: str) -> dict:
    seen: dict = {}
    for row in rows:
        seen.setdefault(row[column], len(seen))
    return seen


def _number_order(value) -> tuple[int, float]:
    value = float(value)
    return (0, -math.inf) if math.isnan(value) else (1, value)


def summarize(rows: Iterable[Mapping]) -> list[dict]:
    """Average trials into one row per setting (see :data:`GROUP_KEYS`), with 95% CIs.

    Order: method (symmetric, pruned, quant-only, then others as first seen), symmetry as
    first seen, mode (dof, full-project, full, pruned), bits ascending, channel (ideal first,
    then as first seen), channel value ascending, energy as first seen, alpha ascending.

    Each summary row holds the group keys; ``study``, ``dataset``, ``model`` and
    ``epochs_total`` (taken from the rows); ``n`` (trials); for ``acc_ref``, ``acc_tx``,
    ``acc_txq``, ``acc_rx`` and ``d_acc_pp`` the mean under the column's name and the 95%
    half-width under ``<name>_ci``; and the means of ``values_sent``, ``values_total``,
    ``payload_bits``, ``payload_bits_oracle``, ``mask_bits``, ``header_bits``,
    ``payload_reduction_pct``, ``bits_sent``, ``bit_errors``, ``crc_failures``, ``encode_ms``,
    ``decode_ms``, ``air_ms``, ``latency_ms``, ``ber``, ``distance`` and ``conv_share``.

    Rows from more than one (study, dataset, model) raise :class:`SymcodecError`: summarize
    one study at a time.

    Example:
        >>> base = dict(study="s", dataset="mnist", model="lenet", method="symmetric",
        ...     symmetry="central-skew", mode="dof", bits=8, channel="awgn",
        ...     channel_param="snr_db", channel_value=10.0, energy="per-value", alpha=1.0,
        ...     epochs_total=5, acc_ref=99.0)
        >>> rows = [dict(base, acc_rx=a, trial=i) for i, a in enumerate([97.0, 98.0, 99.0])]
        >>> s = summarize(rows)
        >>> len(s), s[0]["n"], s[0]["acc_rx"], round(s[0]["acc_rx_ci"], 3)
        (1, 3, 98.0, 2.484)
    """
    rows = list(rows)
    if not rows:
        return []
    studies = {(r.get("study"), r.get("dataset"), r.get("model")) for r in rows}
    if len(studies) > 1:
        listed = "; ".join("/".join(map(str, s)) for s in sorted(studies, key=str))
        raise SymcodecError(f"results mix several studies ({listed}); summarize one at a time")
    for number, row in enumerate(rows, start=1):
        missing = [k for k in GROUP_KEYS if k not in row]
        if missing:
            raise SymcodecError(f"result row {number}: missing {', '.join(missing)}")
    groups: dict[tuple, list[Mapping]] = {}
    for row in rows:
        groups.setdefault(tuple(_key_part(row[k]) for k in GROUP_KEYS), []).append(row)
    seen = {c: _first_seen(rows, c) for c in ("method", "symmetry", "mode", "channel", "energy")}
    param_seen = _first_seen(rows, "channel_param")

    def order(members: list[Mapping]) -> tuple:
        r = members[0]
        return (
            _rank(METHOD_ORDER, seen["method"], r["method"]),
            seen["symmetry"][r["symmetry"]],
            _rank(MODE_ORDER, seen["mode"], r["mode"]),
            float(r["bits"]),
            (r["channel"] != "ideal", seen["channel"][r["channel"]]),
            param_seen[r["channel_param"]],
            _number_order(r["channel_value"]),
            seen["energy"][r["energy"]],
            _number_order(r["alpha"]),
        )

    summary = []
    for members in sorted(groups.values(), key=order):
        first = members[0]
        out: dict = {k: first[k] for k in ("study", "dataset", "model") if k in first}
        out.update({k: first[k] for k in GROUP_KEYS})
        out["epochs_total"] = first.get("epochs_total")
        out["n"] = len(members)
        for column in _CI_COLUMNS:
            mean, half = mean_ci95(m.get(column, math.nan) for m in members)
            out[column] = mean
            out[f"{column}_ci"] = half
        for column in _MEAN_COLUMNS:
            out[column] = _mean(m.get(column, math.nan) for m in members)
        summary.append(out)
    return summary


# ---------------------------------------------------------------------------------------------
# The results table (SPEC section 7)
# ---------------------------------------------------------------------------------------------

_PARAM_LABELS = {"snr_db": "SNR (dB)", "ebn0_db": "Eb/N0 (dB)", "p": "p"}
_PARAM_AXIS = {"snr_db": "SNR (dB)", "ebn0_db": "Eb/N0 (dB)"}
_P_AXIS = {
    "bsc": "bit flip probability p",
    "erasure": "packet loss probability p",
}


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _fmt(value, digits: int = 2, sign: bool = False) -> str:
    if not _finite(value):
        return "n/a"
    return f"{float(value):{'+' if sign else ''}.{digits}f}"


def _fmt_ci(mean, half, digits: int = 2, sign: bool = False) -> str:
    if not _finite(mean):
        return "n/a"
    text = _fmt(mean, digits, sign)
    return f"{text} ± {float(half):.{digits}f}" if _finite(half) else text


def _fmt_value(value) -> str:
    """A channel value as typed in a sweep: 10 -> '10', 2.5 -> '2.5', 1e-3 -> '0.001'."""
    if not _finite(value):
        return "n/a"
    return f"{float(value):g}"


def _channel_label(params: set[str]) -> str:
    params = {p for p in params if p}
    if len(params) == 1:
        (param,) = params
        return _PARAM_LABELS.get(param, param)
    return "Channel setting"


def _channel_cell(row: Mapping, single_param: bool) -> str:
    if row["channel"] == "ideal" or not _finite(row["channel_value"]):
        return "ideal"
    value = _fmt_value(row["channel_value"])
    if single_param:
        return value
    param = row["channel_param"]
    return {"snr_db": f"SNR {value} dB", "ebn0_db": f"Eb/N0 {value} dB"}.get(
        param, f"{param}={value}" if param else value
    )


def _payload_cell(row: Mapping) -> str:
    payload = _fmt(row["payload_bits"] / 1000, 1) if _finite(row["payload_bits"]) else "n/a"
    if row["method"] == "pruned" or (_finite(row["mask_bits"]) and row["mask_bits"] > 0):
        oracle = row.get("payload_bits_oracle", math.nan)
        oracle_text = _fmt(oracle / 1000, 1) if _finite(oracle) else "n/a"
        return f"{payload} (oracle {oracle_text})"
    return payload


def _conv_share(summary: Sequence[Mapping], meta: Mapping) -> float:
    share = meta.get("conv_share")
    if _finite(share):
        return float(share)
    return _mean(r.get("conv_share", math.nan) for r in summary)


def _fmt_rate(rate) -> str:
    if isinstance(rate, str):
        return rate
    if not _finite(rate):
        return str(rate)
    rate = float(rate)
    for scale, unit in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if rate >= scale:
            return f"{rate / scale:g} {unit}"
    return f"{rate:g} bit/s"


def _distinct(summary: Sequence[Mapping], key: str) -> list:
    out: list = []
    for row in summary:
        if _key_part(row[key]) not in [_key_part(v) for v in out]:
            out.append(row[key])
    return out


def _meta_lines(summary: Sequence[Mapping], meta: Mapping) -> list[str]:
    first = summary[0] if summary else {}
    study = meta.get("study", first.get("study", ""))
    lines = [f"# Results{': ' + str(study) if study else ''}", ""]

    def item(label: str, value) -> None:
        if value is not None and value != "":
            lines.append(f"- {label}: {value}")

    item("Dataset", meta.get("dataset", first.get("dataset")))
    item("Model", meta.get("model", first.get("model")))
    item("Training epochs (total)", meta.get("epochs_total", first.get("epochs_total")))
    ns = sorted({int(r["n"]) for r in summary})
    trials = meta.get("trials")
    if trials is None and ns:
        trials = str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
    item("Trials per setting (noise seeds)", trials)
    convention = meta.get("snr_convention")
    if convention is None:
        energies = _distinct(summary, "energy") if summary else []
        names = {"per-value": "per value", "equal-energy": "equal energy"}
        convention = ", ".join(names.get(e, str(e)) for e in energies if e) or None
    if convention is not None:
        lines.append(
            f"- SNR convention: {convention}. (Per value: each transmitted value sees the stated "
            "SNR. Equal energy: the SNR is per degree of freedom of the model, so a mode sending "
            "n values for d DoF gets SNR - 10 log10(n/d) per value.)"
        )
    rate = meta.get("link_rate", meta.get("link_rate_bps"))
    if rate is not None:
        item("Link rate", _fmt_rate(rate))
    share = _conv_share(summary, meta)
    if _finite(share):
        lines.append(
            f"- Conv share: conv kernels hold {100 * share:.1f}% of the model's parameters. The "
            "DoF codec only shrinks conv kernels, so its payload reduction is bounded by this "
            f"share ({100 * share:.1f}%), and by share x (1 - DoF/k^2) for a given symmetry."
        )
    if meta.get("command"):
        item("Command", f"`{meta['command']}`")
    item("Date", meta.get("date"))
    lines.append(
        "- Accuracies: mean ± 95% confidence half-width over the trials (Student t, sample "
        "std); Tx = transmitter's float model, Tx,q = quantized over an ideal channel, Rx = "
        "after channel and receiver; dAcc = Acc Rx - unconstrained float accuracy."
    )
    return lines


def table_markdown(summary: Sequence[Mapping], meta: Mapping | None = None) -> str:
    """The SPEC section 7 table as Markdown, with a few lines about the study above it.

    Args:
        summary: rows from :func:`summarize`.
        meta: optional description of the run; keys used (all optional): ``study``,
            ``dataset``, ``model``, ``epochs_total``, ``trials``, ``snr_convention``
            (e.g. "per value"; default: from the rows' ``energy``), ``link_rate`` or
            ``link_rate_bps`` (bit/s, or text), ``conv_share`` (fraction of parameters in conv
            kernels; default: from the rows), ``command``, ``date``.

    Returns:
        Markdown text: a header, bullet lines and one table row per summary row. Columns
        Method, Symmetry, Mode, Bits, the channel value (named from ``channel_param``, e.g.
        "SNR (dB)"), Acc Tx/Tx,q/Rx (%) with CIs, dAcc (pp), Unique (x10^3), Payload (kbits)
        (pruning adds the oracle figure without mask bits), Payload reduction (%), Bits sent
        (kbits), E2E latency (ms). Channel, Energy and alpha columns are added when they vary.

    Example:
        >>> row = dict(method="pruned", symmetry="central-skew", mode="pruned", bits=8,
        ...     channel="awgn", channel_param="snr_db", channel_value=10.0,
        ...     energy="per-value", alpha=1.0, acc_rx=90.0, acc_ref=99.0, values_sent=1000,
        ...     payload_bits=9000, payload_bits_oracle=8000, mask_bits=1000)
        >>> text = table_markdown(summarize([row, dict(row, acc_rx=92.0)]), {"study": "demo"})
        >>> "| SNR (dB) |" in text, "9.0 (oracle 8.0)" in text, "91.00 ± 12.71" in text
        (True, True, True)
    """
    meta = dict(meta or {})
    lines = _meta_lines(summary, meta)
    lines.append("")
    if not summary:
        lines.append("(no results)")
        return "\n".join(lines) + "\n"
    params = {r["channel_param"] for r in summary if r["channel"] != "ideal"}
    single_param = len({p for p in params if p}) <= 1
    show_channel = len(_distinct(summary, "channel")) > 1
    show_energy = len(_distinct(summary, "energy")) > 1
    show_alpha = len(_distinct(summary, "alpha")) > 1
    header = ["Method", "Symmetry", "Mode", "Bits"]
    if show_channel:
        header.append("Channel")
    header.append(_channel_label(params))
    if show_energy:
        header.append("Energy")
    if show_alpha:
        header.append("alpha")
    header += [
        "Acc Tx (%)",
        "Acc Tx,q (%)",
        "Acc Rx (%)",
        "dAcc (pp)",
        "Unique (x10^3)",
        "Payload (kbits)",
        "Payload reduction (%)",
        "Bits sent (kbits)",
        "E2E latency (ms)",
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|")
    for r in summary:
        cells = [str(r["method"]), str(r["symmetry"]), str(r["mode"]), str(r["bits"])]
        if show_channel:
            cells.append(str(r["channel"]))
        cells.append(_channel_cell(r, single_param))
        if show_energy:
            cells.append(str(r["energy"]))
        if show_alpha:
            cells.append(_fmt_value(r["alpha"]))
        cells += [
            _fmt_ci(r.get("acc_tx"), r.get("acc_tx_ci")),
            _fmt_ci(r.get("acc_txq"), r.get("acc_txq_ci")),
            _fmt_ci(r.get("acc_rx"), r.get("acc_rx_ci")),
            _fmt_ci(r.get("d_acc_pp"), r.get("d_acc_pp_ci"), sign=True),
            _fmt(r.get("values_sent", math.nan) / 1000, 2),
            _payload_cell(r),
            _fmt(r.get("payload_reduction_pct"), 1),
            _fmt(r.get("bits_sent", math.nan) / 1000, 1),
            _fmt(r.get("latency_ms"), 1),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(summary: Sequence[Mapping], meta: Mapping | None, path: str | os.PathLike) -> None:
    """Write :func:`table_markdown` to ``path`` atomically."""
    text = table_markdown(summary, meta)
    with atomic_open(path, "w") as handle:
        handle.write(text)


# ---------------------------------------------------------------------------------------------
# Figures (SPEC section 7)
# ---------------------------------------------------------------------------------------------

_MODE_STYLE = {"dof": "-", "full-project": "--", "full": ":", "pruned": "-."}
_MODE_HATCH = {"full-project": "..", "full": "xx", "pruned": "--"}  # bars; dof: plain
_METHOD_MARKER = {"symmetric": "o", "pruned": "s", "quant-only": "^"}
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


def _line_keys(summary: Sequence[Mapping]) -> tuple[str, ...]:
    """Columns that tell curves apart: method, symmetry, mode, plus energy/alpha if they vary."""
    keys = ["method", "symmetry", "mode"]
    for extra in ("energy", "alpha"):
        if len(_distinct(summary, extra)) > 1:
            keys.append(extra)
    return tuple(keys)


def _line_label(key: dict) -> str:
    method, symmetry, mode = key["method"], key["symmetry"], key["mode"]
    if method == "symmetric":
        label = f"{symmetry} ({mode})"
    elif method == "pruned":
        label = f"pruned eq. {symmetry}"
    elif method == "quant-only":
        label = "quant-only (full model)"
    else:
        label = f"{method} {symmetry} ({mode})"
    if "energy" in key:
        label += f", {key['energy']}"
    if "alpha" in key:
        label += f", alpha={_fmt_value(key['alpha'])}"
    return label


class _Styles:
    """Consistent colour (by symmetry), line style (by mode) and marker (by method)."""

    def __init__(self, summary: Sequence[Mapping]):
        import matplotlib

        palette = matplotlib.colormaps["tab10"].colors
        symmetries = [s for s in _distinct(summary, "symmetry") if s != "none"]
        self.colors = {s: palette[i % len(palette)] for i, s in enumerate(symmetries)}
        self.colors["none"] = (0.25, 0.25, 0.25)

    def __call__(self, key: Mapping) -> dict:
        color = self.colors.get(key["symmetry"], (0.25, 0.25, 0.25))
        if key["method"] == "quant-only":
            color = (0.25, 0.25, 0.25)
        return {
            "color": color,
            "linestyle": _MODE_STYLE.get(key["mode"], "-"),
            "marker": _METHOD_MARKER.get(key["method"], "D"),
        }


def _curves(rows: Sequence[Mapping], keys: tuple[str, ...]) -> dict[tuple, list[Mapping]]:
    curves: dict[tuple, list[Mapping]] = {}
    for row in rows:
        curves.setdefault(tuple(_key_part(row[k]) for k in keys), []).append(row)
    return curves


def _draw_curve(ax, xs, means, halves, style: dict, label: str) -> None:
    ax.plot(xs, means, label=label, linewidth=1.6, markersize=4.5, **style)
    lower = [m - (h if _finite(h) else 0.0) for m, h in zip(means, halves, strict=True)]
    upper = [m + (h if _finite(h) else 0.0) for m, h in zip(means, halves, strict=True)]
    if any(u > lo for u, lo in zip(upper, lower, strict=True)):
        ax.fill_between(xs, lower, upper, color=style["color"], alpha=0.15, linewidth=0)


def _reference_line(ax, rows: Sequence[Mapping]) -> None:
    ref = _mean(r.get("acc_ref", math.nan) for r in rows)
    if _finite(ref):
        ax.axhline(
            ref,
            color="black",
            linestyle=(0, (5, 3)),
            linewidth=1.0,
            label=f"unconstrained float model ({ref:.2f}%)",
        )


def _figure_legend(fig, axes) -> None:
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


def _x_axis_label(channel: str, param: str) -> str:
    if param in _PARAM_AXIS:
        return _PARAM_AXIS[param]
    if param == "p":
        return _P_AXIS.get(channel, "probability p")
    return param or "channel setting"


def _n_text(rows: Sequence[Mapping]) -> str:
    ns = sorted({int(r["n"]) for r in rows})
    if not ns:
        return ""
    if ns == [1]:
        return "n = 1, so no CI"
    return f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}-{ns[-1]}"


def plot_accuracy_vs_snr(
    summary: Sequence[Mapping], path: str | os.PathLike, title: str = ""
) -> None:
    """Received accuracy against channel quality, one subplot per bit width (and channel).

    One line per (method, symmetry, mode) (and energy convention or alpha where these
    vary) with a shaded 95% CI band; a dashed line at the unconstrained float model's
    accuracy. Ideal-channel rows are left out. Bit-flip and loss probabilities use a log axis.

    Raises:
        SymcodecError: no rows with a channel setting, or ``path`` cannot be written (no
            file is left behind).

    Example:
        >>> import os, tempfile
        >>> rows = [dict(method="symmetric", symmetry="central-skew", mode="dof", bits=8,
        ...     channel="awgn", channel_param="snr_db", channel_value=float(snr),
        ...     energy="per-value", alpha=1.0, acc_ref=99.0, acc_rx=90.0 + snr / 2)
        ...     for snr in (0, 10, 20)]
        >>> path = os.path.join(tempfile.mkdtemp(), "acc_snr.png")
        >>> plot_accuracy_vs_snr(summarize(rows), path)
        >>> open(path, "rb").read(4)
        b'\\x89PNG'
    """
    rows = [r for r in summary if r["channel"] != "ideal" and _finite(r["channel_value"])]
    if not rows:
        raise SymcodecError("no results with a noisy channel setting to plot against")
    plt = _pyplot()
    channels = _distinct(rows, "channel")
    bits = sorted({int(r["bits"]) for r in rows})
    keys = _line_keys(rows)
    styles = _Styles(summary)
    fig, axes = plt.subplots(
        len(channels),
        len(bits),
        figsize=(4.4 * len(bits), 3.6 * len(channels) + 0.4),
        squeeze=False,
        sharey=True,
    )
    try:
        for i, channel in enumerate(channels):
            for j, b in enumerate(bits):
                ax = axes[i][j]
                panel = [r for r in rows if r["channel"] == channel and int(r["bits"]) == b]
                param = panel[0]["channel_param"] if panel else rows[0]["channel_param"]
                for members in _curves(panel, keys).values():
                    members = sorted(members, key=lambda r: float(r["channel_value"]))
                    key = {k: members[0][k] for k in keys}
                    _draw_curve(
                        ax,
                        [float(r["channel_value"]) for r in members],
                        [r["acc_rx"] for r in members],
                        [r.get("acc_rx_ci", math.nan) for r in members],
                        styles(key),
                        _line_label(key),
                    )
                _reference_line(ax, panel)
                if param == "p" and all(float(r["channel_value"]) > 0 for r in panel):
                    ax.set_xscale("log")
                ax.set_title(
                    f"{_CHANNEL_TITLES.get(channel, channel)}, {b}-bit values", fontsize=10
                )
                ax.set_xlabel(_x_axis_label(channel, param))
                if j == 0:
                    ax.set_ylabel("received accuracy, Acc Rx (%)")
                ax.grid(True, alpha=0.3)
                if not panel:
                    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        fig.suptitle(
            title
            or f"Accuracy after the link vs channel quality (mean, 95% CI band, {_n_text(rows)})",
            fontsize=11,
        )
        fig.tight_layout()
        _figure_legend(fig, [ax for row in axes for ax in row])
    except BaseException:
        plt.close(fig)
        raise
    save_figure(fig, path)


def _best_setting(rows: Sequence[Mapping]) -> Mapping:
    """The least noisy row: ideal, else highest SNR/Eb/N0, else lowest probability."""
    ideal = [r for r in rows if r["channel"] == "ideal" or not _finite(r["channel_value"])]
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
    plt = _pyplot()
    channels = _distinct(summary, "channel")
    keys = tuple(k for k in _line_keys(summary))
    styles = _Styles(summary)
    all_bits = sorted({int(r["bits"]) for r in summary})
    fig, axes = plt.subplots(
        1, len(channels), figsize=(max(6.5, 5.0 * len(channels)), 4.2), squeeze=False, sharey=True
    )
    try:
        for j, channel in enumerate(channels):
            ax = axes[0][j]
            panel = [r for r in summary if r["channel"] == channel]
            chosen_values = []
            chosen_rows = []
            for members in _curves(panel, keys).values():
                key = {k: members[0][k] for k in keys}
                by_bits: dict[int, list[Mapping]] = {}
                for r in members:
                    by_bits.setdefault(int(r["bits"]), []).append(r)
                points = [(b, _best_setting(by_bits[b])) for b in sorted(by_bits)]
                chosen_rows += [p for _, p in points]
                chosen_values += [_key_part(p["channel_value"]) for _, p in points]
                _draw_curve(
                    ax,
                    [b for b, _ in points],
                    [p["acc_rx"] for _, p in points],
                    [p.get("acc_rx_ci", math.nan) for _, p in points],
                    styles(key),
                    _line_label(key),
                )
            _reference_line(ax, panel)
            setting = ""
            if channel != "ideal":
                if len(set(chosen_values)) == 1:
                    setting = ", " + _channel_cell(chosen_rows[0], single_param=False)
                else:
                    setting = ", best setting per bit width"
            ax.set_title(f"{_CHANNEL_TITLES.get(channel, channel)}{setting}", fontsize=10)
            ax.set_xticks(all_bits)
            ax.set_xlabel("bit width b (bits per value)")
            if j == 0:
                ax.set_ylabel("received accuracy, Acc Rx (%)")
            ax.grid(True, alpha=0.3)
        fig.suptitle(
            title
            or "Accuracy after the link vs bit width\nat the least noisy channel setting "
            f"(mean, 95% CI band, {_n_text(summary)})",
            fontsize=11,
        )
        fig.tight_layout()
        _figure_legend(fig, list(axes[0]))
    except BaseException:
        plt.close(fig)
        raise
    save_figure(fig, path)


def plot_payload(summary: Sequence[Mapping], path: str | os.PathLike, title: str = "") -> None:
    """Grouped bars: payload (kbits) per (method, symmetry, mode), one group per bit width.

    The payload does not depend on the channel, so each bar is the mean over channel
    settings. For pruning the mask (position) bits are stacked on top, hatched; the label
    above each bar is the total.

    Raises:
        SymcodecError: no rows, or ``path`` cannot be written.

    Example:
        >>> import os, tempfile
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
    plt = _pyplot()
    from matplotlib.patches import Patch

    keys = ("method", "symmetry", "mode")
    curves = _curves(summary, keys)
    bits = sorted({int(r["bits"]) for r in summary})
    styles = _Styles(summary)
    n = len(curves)
    width = 0.8 / max(n, 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 + 0.35 * n * len(bits)), 4.2))
    try:
        tallest = 0.0
        for index, members in enumerate(curves.values()):
            key = {k: members[0][k] for k in keys}
            color = styles(key)["color"]
            xs, base, mask = [], [], []
            for position, b in enumerate(bits):
                at = [r for r in members if int(r["bits"]) == b]
                if not at:
                    continue
                total = _mean(r["payload_bits"] for r in at) / 1000
                mask_k = _mean(r.get("mask_bits", 0) for r in at) / 1000
                mask_k = mask_k if _finite(mask_k) else 0.0
                xs.append(position - 0.4 + width * (index + 0.5))
                base.append(total - mask_k)
                mask.append(mask_k)
            ax.bar(
                xs,
                base,
                width,
                color=color,
                hatch=None if key["method"] == "quant-only" else _MODE_HATCH.get(key["mode"]),
                edgecolor="black",
                linewidth=0.5,
                label=_line_label(key),
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
                tallest = max(tallest, b0 + m)
                ax.text(
                    x,
                    b0 + m,
                    f"{b0 + m:.0f}",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    rotation=90 if n > 4 else 0,
                )
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
    except BaseException:
        plt.close(fig)
        raise
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# Claims (SPEC section 8)
# ---------------------------------------------------------------------------------------------

CLAIM_STATEMENTS: dict[int, str] = {
    1: "DoF transmission cuts the payload substantially (central-skew 3x3: 4 of 9 values per "
    "kernel).",
    2: "At equal payload it keeps much higher accuracy than pruning, which often collapses.",
    3: "Receiver projection denoises: under AWGN, `full-project` needs fewer dB than `full` for "
    "the same accuracy (at most `10 log10(k^2/DoF)` dB better for i.i.d. noise on kernels alone).",
    4: "Central-skew gives the best accuracy-compression trade-off across SNRs and bit widths.",
    5: "(The referee's open point) projection helps only when trained kernels lie near V_S: "
    "report accuracy against d_S and against the projection strength alpha.",
}

CLAIM_RULES: dict[int, str] = {
    1: "Symmetric `dof` rows of central-skew (if absent: of every symmetry present). Payload "
    "reduction against the unconstrained model sent in full at the same bits, averaged over "
    "channel settings. Holds if it is at least 25% at every bit width (for every symmetry "
    "checked). Not tested without `dof` rows.",
    2: "Each symmetric `dof` row is paired with the `pruned` row of the same symmetry, bits, "
    "channel, channel value and energy convention. A pair is won when the symmetric Acc Rx "
    "exceeds the pruned one by more than 0 and by at least the larger of the two CI "
    "half-widths. Holds if at least 75% of pairs are won. A pruned setting collapses when its "
    "Acc Rx is below half of the unconstrained float accuracy. Not tested without pairs.",
    3: "Symmetric `full-project` and `full` rows of the same symmetry, bits, SNR and energy "
    "convention under `awgn`. Holds if full-project's Acc Rx is never below full's by more "
    "than the larger CI half-width, and above it by more than that at one SNR or more. "
    "Also, where both curves reach the target (unconstrained float accuracy - 1 pp), the SNR "
    "each needs (linear interpolation, the lowest SNR above which the curve stays at or above "
    "the target) and the gap, against the bound 10 log10(k^2/DoF) for k = 3. Not tested "
    "without both modes under awgn.",
    4: "Symmetric `dof` rows, per setting (bits, channel, channel value, energy). Another "
    "symmetry dominates central-skew when its payload is no larger and its mean Acc Rx no "
    "lower, with payload strictly lower or Acc Rx higher by more than the larger CI "
    "half-width. Holds if central-skew is not dominated at 75% of the settings or more. Not "
    "tested without central-skew and another symmetry in `dof` mode.",
    5: "Uses the ablation (`symcodec ablate`, `ablation.csv` in the study directory) if "
    "present. In its tx-distance sweep the transmitter's kernels lie at distance d_S from V_S "
    "and the receiver either projects (alpha 1) or not (alpha 0); the projection gain is the "
    "mean Acc Rx with projection minus without, per distance. Holds if the gain is positive "
    "beyond its CI at the smallest d_S and no longer positive beyond its CI at the largest "
    "d_S (projection helps only near V_S); does not hold otherwise. Not tested without an "
    "ablation of at least 2 distances.",
}

VERDICTS = ("holds", "does not hold", "not tested")


@dataclass
class Claim:
    """One SPEC section 8 claim, decided from the data.

    Attributes:
        number: 1-5, as in SPEC section 8.
        statement: the SPEC wording.
        verdict: "holds", "does not hold" or "not tested".
        evidence: the numbers that decide it.
        rule: the decision rule applied.
    """

    number: int
    statement: str
    verdict: str
    evidence: str
    rule: str = ""


def _claim(number: int, verdict: str, evidence: str) -> Claim:
    assert verdict in VERDICTS
    return Claim(number, CLAIM_STATEMENTS[number], verdict, evidence, CLAIM_RULES[number])


def _tolerance(a: Mapping, b: Mapping, column: str = "acc_rx") -> float:
    halves = [r.get(f"{column}_ci", math.nan) for r in (a, b)]
    return max([float(h) for h in halves if _finite(h)], default=0.0)


def _main_rows(summary: Sequence[Mapping]) -> list[Mapping]:
    """Rows at full projection strength (alpha = 1) when the run has any; the alpha sweep is
    the ablation's business."""
    symmetric = [r for r in summary if r["method"] == "symmetric"]
    if any(_finite(r["alpha"]) and float(r["alpha"]) == 1.0 for r in symmetric):
        return [
            r
            for r in summary
            if r["method"] != "symmetric" or (_finite(r["alpha"]) and float(r["alpha"]) == 1.0)
        ]
    return list(summary)


def _setting(row: Mapping, *extra: str) -> tuple:
    keys = (*extra, "bits", "channel", "channel_param", "channel_value", "energy")
    return tuple(_key_part(row[k]) for k in keys)


def _setting_text(row: Mapping) -> str:
    channel = row["channel"]
    if channel == "ideal" or not _finite(row["channel_value"]):
        where = "ideal"
    else:
        where = f"{channel} {_channel_cell(row, single_param=False)}"
    return f"{row['bits']} bits, {where}"


def _dof_per_kernel(symmetry: str, k: int = 3) -> int | None:
    from .symmetry import get_symmetry

    try:
        return get_symmetry(symmetry).dof(k)
    except (SymcodecError, ValueError):
        return None


def _claim1(rows: Sequence[Mapping], summary: Sequence[Mapping], meta: Mapping) -> Claim:
    dof = [r for r in rows if r["method"] == "symmetric" and r["mode"] == "dof"]
    if not dof:
        return _claim(1, "not tested", "no symmetric `dof` rows in this run.")
    present = _distinct(dof, "symmetry")
    checked = ["central-skew"] if "central-skew" in present else present
    share = _conv_share(summary, meta)
    parts, ok, any_value = [], True, False
    for symmetry in checked:
        mine = [r for r in dof if r["symmetry"] == symmetry]
        per_bits = []
        for b in sorted({int(r["bits"]) for r in mine}):
            value = _mean(r["payload_reduction_pct"] for r in mine if int(r["bits"]) == b)
            if _finite(value):
                any_value = True
                ok = ok and value >= 25.0
                per_bits.append(f"{b} bits {value:.1f}%")
            else:
                per_bits.append(f"{b} bits n/a")
        text = f"{symmetry} (dof): payload reduction {', '.join(per_bits)}"
        d = _dof_per_kernel(symmetry)
        if d is not None:
            text += f"; per 3x3 kernel {d}/9 values sent ({100 * (1 - d / 9):.1f}% fewer)"
            if _finite(share):
                text += (
                    f"; with conv share {100 * share:.1f}% the reduction is at most "
                    f"{100 * share * (1 - d / 9):.1f}%"
                )
        parts.append(text)
    if _finite(share):
        parts.append(
            f"conv kernels hold {100 * share:.1f}% of the parameters, which bounds any DoF "
            "codec's payload reduction"
        )
    else:
        parts.append("conv share unknown (not in meta or rows)")
    if not any_value:
        return _claim(1, "not tested", "; ".join(parts) + ". No payload reduction figures.")
    verdict = "holds" if ok else "does not hold"
    return _claim(1, verdict, "; ".join(parts) + ". Threshold: 25% at every bit width.")


def _claim2(rows: Sequence[Mapping]) -> Claim:
    pruned = [r for r in rows if r["method"] == "pruned"]
    by_setting = {_setting(r, "symmetry"): r for r in pruned}
    pairs = []
    for r in rows:
        if r["method"] == "symmetric" and r["mode"] == "dof":
            other = by_setting.get(_setting(r, "symmetry"))
            if other is not None and _finite(r["acc_rx"]) and _finite(other["acc_rx"]):
                pairs.append((r, other))
    collapsed = [
        r
        for r in pruned
        if _finite(r["acc_rx"]) and _finite(r["acc_ref"]) and r["acc_rx"] < 0.5 * r["acc_ref"]
    ]
    collapse_text = (
        f"{len(collapsed)} of {len(pruned)} pruned settings collapse (Acc Rx below half of the "
        "unconstrained float accuracy)"
    )
    if not pairs:
        return _claim(
            2,
            "not tested",
            "no symmetric `dof` row has a `pruned` row at the same symmetry, bits and channel "
            f"setting; {collapse_text}.",
        )
    gaps = [s["acc_rx"] - p["acc_rx"] for s, p in pairs]
    wins = [g > 0 and g >= _tolerance(s, p) for g, (s, p) in zip(gaps, pairs, strict=True)]
    fraction = sum(wins) / len(pairs)
    ratios = [
        p["payload_bits"] / s["payload_bits"]
        for s, p in pairs
        if _finite(p["payload_bits"]) and _finite(s["payload_bits"]) and s["payload_bits"] > 0
    ]
    lost = [
        _setting_text(s) + f" ({s['symmetry']}: {g:+.2f} pp)"
        for g, w, (s, _) in zip(gaps, wins, pairs, strict=True)
        if not w
    ]
    evidence = (
        f"symmetric dof beats pruning beyond the CI in {sum(wins)} of {len(pairs)} paired "
        f"settings ({100 * fraction:.0f}%; threshold 75%); median gap "
        f"{statistics.median(gaps):+.2f} pp (range {min(gaps):+.2f} to {max(gaps):+.2f}); "
        f"{collapse_text}"
    )
    if ratios:
        evidence += (
            f"; pruned payload / symmetric payload: median {statistics.median(ratios):.3f} "
            "(mask bits included)"
        )
    if lost:
        shown = "; ".join(lost[:6]) + ("; ..." if len(lost) > 6 else "")
        evidence += f". Not won: {shown}"
    return _claim(2, "holds" if fraction >= 0.75 else "does not hold", evidence + ".")


def _snr_to_reach(points: Sequence[tuple[float, float]], target: float) -> tuple[float | None, str]:
    """SNR at which a curve reaches ``target`` and stays there, by linear interpolation."""
    points = sorted(points)
    if not points or points[-1][1] < target:
        return None, "does not reach it in the sweep"
    i = len(points) - 1
    while i > 0 and points[i - 1][1] >= target:
        i -= 1
    if i == 0:
        return None, f"is above it already at {points[0][0]:g} dB"
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return x0 + (target - y0) * (x1 - x0) / (y1 - y0), ""


def _claim3(rows: Sequence[Mapping]) -> Claim:
    awgn = [r for r in rows if r["method"] == "symmetric" and r["channel"] == "awgn"]
    full = [r for r in awgn if r["mode"] == "full"]
    projected = [r for r in awgn if r["mode"] == "full-project"]
    if not full or not projected:
        missing = "`full`" if not full else "`full-project`"
        return _claim(3, "not tested", f"no {missing} rows under awgn in this run.")
    by_setting = {_setting(r, "symmetry"): r for r in full}
    pairs = [
        (p, by_setting[_setting(p, "symmetry")])
        for p in projected
        if _setting(p, "symmetry") in by_setting
        and _finite(p["acc_rx"])
        and _finite(by_setting[_setting(p, "symmetry")]["acc_rx"])
    ]
    if not pairs:
        return _claim(3, "not tested", "no `full-project` and `full` rows at the same setting.")
    diffs = [p["acc_rx"] - f["acc_rx"] for p, f in pairs]
    tolerances = [_tolerance(p, f) for p, f in pairs]
    worse = [(p, d) for (p, _), d, t in zip(pairs, diffs, tolerances, strict=True) if d < -t]
    better = sum(1 for d, t in zip(diffs, tolerances, strict=True) if d > t and d > 0)
    evidence = (
        f"{len(pairs)} paired AWGN settings: full-project better beyond the CI at {better}, "
        f"worse beyond the CI at {len(worse)}; median difference "
        f"{statistics.median(diffs):+.2f} pp (range {min(diffs):+.2f} to {max(diffs):+.2f})"
    )
    if worse:
        evidence += ". Worse at: " + "; ".join(
            f"{p['symmetry']} {_setting_text(p)} ({d:+.2f} pp)" for p, d in worse[:6]
        )
    # SNR needed for the target accuracy, per curve pair
    curves: dict[tuple, dict[str, list[Mapping]]] = {}
    for r in full + projected:
        key = (r["symmetry"], int(r["bits"]), r["energy"])
        curves.setdefault(key, {"full": [], "full-project": []})[r["mode"]].append(r)
    gaps = []
    for (symmetry, b, energy), modes in curves.items():
        if not modes["full"] or not modes["full-project"]:
            continue
        ref = _mean(r["acc_ref"] for r in modes["full"] + modes["full-project"])
        if not _finite(ref):
            continue
        target = ref - 1.0
        need = {}
        notes = {}
        for mode, members in modes.items():
            pts = [
                (float(r["channel_value"]), r["acc_rx"])
                for r in members
                if _finite(r["channel_value"]) and _finite(r["acc_rx"])
            ]
            need[mode], notes[mode] = _snr_to_reach(pts, target)
        d = _dof_per_kernel(symmetry)
        bound = f"{10 * math.log10(9 / d):.2f} dB" if d else "n/a"
        head = f"{symmetry}, {b} bits, {energy}: target {target:.2f}%"
        if need["full"] is not None and need["full-project"] is not None:
            gap = need["full"] - need["full-project"]
            gaps.append(
                f"{head}: full needs {need['full']:.2f} dB, full-project "
                f"{need['full-project']:.2f} dB, gap {gap:+.2f} dB (bound {bound})"
            )
        else:
            said = [
                f"{m} {notes[m]}" if need[m] is None else f"{m} needs {need[m]:.2f} dB"
                for m in ("full", "full-project")
            ]
            gaps.append(f"{head}: {', '.join(said)}; no gap estimate (bound {bound})")
    if gaps:
        evidence += ". SNR for the target accuracy: " + "; ".join(gaps)
    holds = not worse and better > 0
    return _claim(3, "holds" if holds else "does not hold", evidence + ".")


def _claim4(rows: Sequence[Mapping]) -> Claim:
    dof = [
        r
        for r in rows
        if r["method"] == "symmetric" and r["mode"] == "dof" and _finite(r["acc_rx"])
    ]
    symmetries = _distinct(dof, "symmetry")
    if "central-skew" not in symmetries:
        return _claim(4, "not tested", "no central-skew `dof` rows in this run.")
    if len(symmetries) < 2:
        return _claim(4, "not tested", "only one symmetry in `dof` mode; nothing to compare.")
    settings: dict[tuple, list[Mapping]] = {}
    for r in dof:
        settings.setdefault(_setting(r), []).append(r)
    compared, dominated, best = 0, [], 0
    for members in settings.values():
        mine = [r for r in members if r["symmetry"] == "central-skew"]
        others = [r for r in members if r["symmetry"] != "central-skew"]
        if not mine or not others:
            continue
        cs = mine[0]
        compared += 1
        if cs["acc_rx"] >= max(o["acc_rx"] for o in others):
            best += 1
        by = []
        for o in others:
            no_larger = o["payload_bits"] <= cs["payload_bits"]
            no_lower = o["acc_rx"] >= cs["acc_rx"]
            strictly = o["payload_bits"] < cs["payload_bits"] or o["acc_rx"] - cs[
                "acc_rx"
            ] > _tolerance(o, cs)
            if no_larger and no_lower and strictly:
                by.append(
                    f"{o['symmetry']} ({o['payload_bits'] / 1000:.1f} vs "
                    f"{cs['payload_bits'] / 1000:.1f} kbits, {o['acc_rx']:.2f} vs "
                    f"{cs['acc_rx']:.2f}%)"
                )
        if by:
            dominated.append(f"{_setting_text(cs)}: by {', '.join(by)}")
    if not compared:
        return _claim(4, "not tested", "no setting has central-skew and another symmetry.")
    fraction = (compared - len(dominated)) / compared
    evidence = (
        f"symmetries compared: {', '.join(symmetries)}; central-skew is not dominated in "
        f"{compared - len(dominated)} of {compared} settings ({100 * fraction:.0f}%; "
        f"threshold 75%) and has the highest mean Acc Rx in {best} of {compared}"
    )
    if dominated:
        evidence += ". Dominated at: " + "; ".join(dominated[:6])
        if len(dominated) > 6:
            evidence += f"; ... ({len(dominated) - 6} more)"
    return _claim(4, "holds" if fraction >= 0.75 else "does not hold", evidence + ".")


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


def _claim5(meta: Mapping) -> Claim:
    ablation = meta.get("ablation")
    if not ablation:
        return _claim(5, "not tested", "not tested in this run: see `symcodec ablate`.")
    by_distance: dict[float, dict[float, list[float]]] = {}
    for e in ablation:
        if e.get("experiment") != "tx-distance":
            continue
        d, rx_alpha, acc = float(e["distance"]), float(e["rx_alpha"]), float(e["acc_rx"])
        by_distance.setdefault(round(d, 6), {}).setdefault(rx_alpha, []).append(acc)
    points = []
    for d in sorted(by_distance):
        groups = by_distance[d]
        if 0.0 in groups and 1.0 in groups and len(groups[0.0]) == len(groups[1.0]):
            gains = [a - b for a, b in zip(groups[1.0], groups[0.0], strict=True)]
            mean, half = mean_ci95(gains)
            points.append((d, mean, half if _finite(half) else 0.0))
    if len(points) < 2:
        return _claim(5, "not tested", "the ablation has fewer than 2 distances with both arms.")
    evidence = "projection gain (Acc Rx with - without receiver projection, pp) by d_S: " + (
        ", ".join(f"d_S {d:.3f}: {m:+.2f} ± {h:.2f}" for d, m, h in points)
    )
    near, far = points[0], points[-1]
    holds = near[1] - near[2] > 0 and not far[1] - far[2] > 0
    return _claim(5, "holds" if holds else "does not hold", evidence + ".")


def evaluate_claims(summary: Sequence[Mapping], meta: Mapping | None = None) -> list[Claim]:
    """Decide the five SPEC section 8 claims from the summary (and ``meta``).

    Each verdict follows from the numbers by the rule in :data:`CLAIM_RULES` (also printed
    by :func:`claims_markdown`); nothing is assumed. Claims 1-4 use the rows at full
    projection strength (alpha = 1) when the run has any. ``meta`` may hold ``conv_share``
    (claim 1) and ``ablation``, a list of dicts with keys alpha, distance, acc (claim 5).

    Example:
        >>> base = dict(symmetry="central-skew", bits=8, channel="awgn",
        ...     channel_param="snr_db", channel_value=10.0, energy="per-value", alpha=1.0,
        ...     acc_ref=99.0, payload_bits=1000)
        >>> rows = [dict(base, method="symmetric", mode="dof", acc_rx=98.0),
        ...         dict(base, method="pruned", mode="pruned", acc_rx=30.0)]
        >>> claims = evaluate_claims(summarize(rows))
        >>> [(c.number, c.verdict) for c in claims]  # doctest: +NORMALIZE_WHITESPACE
        [(1, 'not tested'), (2, 'holds'), (3, 'not tested'), (4, 'not tested'),
         (5, 'not tested')]
    """
    meta = dict(meta or {})
    rows = _main_rows(summary)
    return [
        _claim1(rows, summary, meta),
        _claim2(rows),
        _claim3(rows),
        _claim4(rows),
        _claim5(meta),
    ]


def claims_markdown(claims: Sequence[Claim], meta: Mapping | None = None) -> str:
    """The claims as Markdown: an overview table, then per claim the SPEC statement, the
    verdict, the evidence and the rule that decided it.

    Example:
        >>> text = claims_markdown([Claim(1, "S", "holds", "E", "R")], {"study": "demo"})
        >>> "| 1 | holds |" in text and "Rule: R" in text
        True
    """
    meta = dict(meta or {})
    study = meta.get("study")
    lines = [f"# Claims (SPEC section 8){': ' + str(study) if study else ''}", ""]
    for label, key in (("Dataset", "dataset"), ("Model", "model"), ("Date", "date")):
        if meta.get(key):
            lines.append(f"- {label}: {meta[key]}")
    lines += [
        "- Each claim is decided from this run's numbers by the rule stated under it. CIs are "
        "95% Student t intervals over trials; a difference is beyond the CI when it exceeds "
        "the larger of the two half-widths (taken as 0 with a single trial). Claims 1-4 use "
        "rows at projection strength alpha = 1 when the run has them.",
        "",
        "| Claim | Verdict |",
        "|---:|---|",
    ]
    lines += [f"| {c.number} | {c.verdict} |" for c in claims]
    for c in claims:
        lines += [
            "",
            f"## Claim {c.number}: {c.verdict}",
            "",
            f"> {c.statement}",
            "",
            f"Evidence: {c.evidence}",
        ]
        if c.rule:
            lines += ["", f"Rule: {c.rule}"]
    return "\n".join(lines) + "\n"


def write_claims(claims: Sequence[Claim], meta: Mapping | None, path: str | os.PathLike) -> None:
    """Write :func:`claims_markdown` to ``path`` atomically."""
    text = claims_markdown(claims, meta)
    with atomic_open(path, "w") as handle:
        handle.write(text)


ABLATION_COLUMNS = (
    "experiment",
    "symmetry",
    "bits",
    "channel",
    "channel_value",
    "tx_alpha",
    "distance",
    "rx_alpha",
    "trial",
    "acc_tx",
    "acc_rx",
)


def read_ablation_csv(path: str | os.PathLike) -> list[dict]:
    """Rows of an ``ablation.csv`` (numbers as floats, trial and bits as ints)."""
    import csv

    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != ABLATION_COLUMNS:
            raise SymcodecError(f"{path}: not an ablation.csv written by symcodec")
        rows = []
        for raw in reader:
            row: dict = dict(raw)
            for key in ("channel_value", "tx_alpha", "distance", "rx_alpha", "acc_tx", "acc_rx"):
                row[key] = float(row[key])
            row["trial"], row["bits"] = int(row["trial"]), int(row["bits"])
            rows.append(row)
    return rows


def write_ablation(rows: Sequence[Mapping], acc_ref: float, directory: str | os.PathLike) -> None:
    """Write ``ablation.csv``, ``ablation.md`` and ``ablation.png`` (SPEC 8, point 5)."""
    import csv
    import io as _io
    from pathlib import Path

    out = Path(directory)
    buffer = _io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ABLATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row[k] for k in ABLATION_COLUMNS})
    with atomic_open(out / "ablation.csv", "w") as handle:
        handle.write(buffer.getvalue())

    def groups(kind: str, key: str):
        result: dict = {}
        for r in rows:
            if r["experiment"] == kind:
                result.setdefault((r[key], r["rx_alpha"]), []).append(r)
        return result

    first = rows[0]
    lines = [
        f"# Ablation: does receiver projection help only near V_S? ({first['symmetry']})",
        "",
        f"Channel {first['channel']} at {first['channel_value']:g}, {first['bits']} bits, "
        f"full-project mode, {len({r['trial'] for r in rows})} trials per point; unconstrained "
        f"float accuracy {acc_ref:.2f}%. Mean ± 95% CI.",
        "",
        "## Receiver projection strength (model trained symmetric)",
        "",
        "| alpha | Acc Rx (%) |",
        "|---:|---:|",
    ]
    for (_, rx_alpha), items in sorted(groups("rx-alpha", "tx_alpha").items()):
        m, h = mean_ci95([r["acc_rx"] for r in items])
        lines.append(f"| {rx_alpha:g} | {m:.2f} ± {h:.2f} |")
    lines += [
        "",
        "## Distance to V_S (unconstrained model partially projected at the transmitter)",
        "",
        "| tx projection | d_S | Acc Tx (%) | Acc Rx, no projection (%) | Acc Rx, projected (%) |",
        "|---:|---:|---:|---:|---:|",
    ]
    table = groups("tx-distance", "tx_alpha")
    for tx_alpha in sorted({k[0] for k in table}):
        without = table.get((tx_alpha, 0.0), [])
        with_ = table.get((tx_alpha, 1.0), [])
        m0, h0 = mean_ci95([r["acc_rx"] for r in without])
        m1, h1 = mean_ci95([r["acc_rx"] for r in with_])
        ref = (with_ or without)[0]
        lines.append(
            f"| {tx_alpha:g} | {ref['distance']:.3f} | {ref['acc_tx']:.2f} | "
            f"{m0:.2f} ± {h0:.2f} | {m1:.2f} ± {h1:.2f} |"
        )
    claim = _claim5({"ablation": rows})
    lines += ["", f"**Claim 5: {claim.verdict}.** {claim.evidence}", ""]
    with atomic_open(out / "ablation.md", "w") as handle:
        handle.write("\n".join(lines))

    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    alpha_groups = sorted(groups("rx-alpha", "tx_alpha").items())
    xs = [k[1] for k, _ in alpha_groups]
    stats = [mean_ci95([r["acc_rx"] for r in items]) for _, items in alpha_groups]
    ax1.errorbar(
        xs,
        [m for m, _ in stats],
        yerr=[h if _finite(h) else 0 for _, h in stats],
        marker="o",
        capsize=3,
    )
    ax1.set_xlabel("receiver projection strength alpha")
    ax1.set_ylabel("Acc Rx (%)")
    ax1.set_title("trained symmetric: accuracy vs alpha")
    for rx_alpha, label in ((0.0, "no projection"), (1.0, "receiver projects")):
        pts = sorted(
            (items[0]["distance"], mean_ci95([r["acc_rx"] for r in items]))
            for (tx_a, a), items in table.items()
            if a == rx_alpha
        )
        ax2.errorbar(
            [d for d, _ in pts],
            [m for _, (m, _) in pts],
            yerr=[h if _finite(h) else 0 for _, (_, h) in pts],
            marker="o",
            capsize=3,
            label=label,
        )
    ax2.axhline(acc_ref, color="grey", linestyle="--", label="unconstrained float")
    ax2.set_xlabel("distance d_S of the transmitted kernels to V_S")
    ax2.set_ylabel("Acc Rx (%)")
    ax2.set_title("accuracy vs distance to the subspace")
    ax2.legend(fontsize=8)
    fig.suptitle(
        f"Ablation ({first['symmetry']}, {first['channel']} {first['channel_value']:g}, "
        f"{first['bits']} bits)"
    )
    save_figure(fig, out / "ablation.png")
