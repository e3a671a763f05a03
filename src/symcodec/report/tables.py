"""The results table (SPEC section 7): :func:`table_markdown` and :func:`write_table`."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..io import atomic_open
from .format import format_channel_setting, format_ci, format_number, format_value, is_finite
from .summary import conv_share, distinct_values

_PARAM_LABELS = {"snr_db": "SNR (dB)", "ebn0_db": "Eb/N0 (dB)", "p": "p"}


def _channel_label(params: set[str]) -> str:
    params = {p for p in params if p}
    if len(params) == 1:
        (param,) = params
        return _PARAM_LABELS.get(param, param)
    return "Channel setting"


def _payload_cell(row: Mapping) -> str:
    payload = (
        format_number(row["payload_bits"] / 1000, 1) if is_finite(row["payload_bits"]) else "n/a"
    )
    if row["method"] == "pruned" or (is_finite(row["mask_bits"]) and row["mask_bits"] > 0):
        oracle = row.get("payload_bits_oracle", math.nan)
        oracle_text = format_number(oracle / 1000, 1) if is_finite(oracle) else "n/a"
        return f"{payload} (oracle {oracle_text})"
    return payload


def _fmt_rate(rate) -> str:
    if isinstance(rate, str):
        return rate
    if not is_finite(rate):
        return str(rate)
    rate = float(rate)
    for scale, unit in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if rate >= scale:
            return f"{rate / scale:g} {unit}"
    return f"{rate:g} bit/s"


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
        energies = distinct_values(summary, "energy") if summary else []
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
    share = conv_share(summary, meta)
    if is_finite(share):
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
        "after channel and receiver; dAcc = Acc Rx - unconstrained float accuracy. Median Rx: "
        "median Acc Rx over the trials. Outage: % of trials with Acc Rx < Acc Tx,q - 5 pp."
    )
    seeds = sorted({int(r["train_seeds"]) for r in summary if is_finite(r.get("train_seeds"))})
    if seeds:
        item("Training seeds per setting", "-".join(map(str, sorted({seeds[0], seeds[-1]}))))
    notes = sorted({r.get("legacy_note", "") for r in summary} - {""})
    for note in notes:
        lines.append(f"- Note: {note}")
    return lines


@dataclass(frozen=True)
class _Columns:
    """Which of the optional table columns a summary needs, and how the channel is shown."""

    params: frozenset[str]  # channel parameters of the noisy rows
    single_param: bool  # one parameter throughout: named in the header, cells are values
    show_channel: bool
    show_energy: bool
    show_alpha: bool
    show_protect: bool
    show_mcs: bool

    @classmethod
    def of(cls, summary: Sequence[Mapping]) -> _Columns:
        params = frozenset(r["channel_param"] for r in summary if r["channel"] != "ideal")
        return cls(
            params=params,
            single_param=len({p for p in params if p}) <= 1,
            show_channel=len(distinct_values(summary, "channel")) > 1,
            show_energy=len(distinct_values(summary, "energy")) > 1,
            show_alpha=len(distinct_values(summary, "alpha")) > 1,
            show_protect=len({r.get("protect", "none") for r in summary}) > 1,
            show_mcs=any(r.get("mcs") for r in summary),
        )

    def header(self) -> list[str]:
        header = ["Method", "Symmetry", "Mode", "Bits"]
        if self.show_channel:
            header.append("Channel")
        header.append(_channel_label(set(self.params)))
        if self.show_energy:
            header.append("Energy")
        if self.show_alpha:
            header.append("alpha")
        if self.show_protect:
            header.append("Protect")
        if self.show_mcs:
            header.append("MCS")
        return header + [
            "Acc Tx (%)",
            "Acc Tx,q (%)",
            "Acc Rx (%)",
            "Median Rx (%)",
            "Outage (%)",
            "dAcc (pp)",
            "Unique (x10^3)",
            "Payload (kbits)",
            "Payload reduction (%)",
            "Bits sent (kbits)",
            "E2E latency (ms)",
        ]

    def cells(self, r: Mapping) -> list[str]:
        cells = [str(r["method"]), str(r["symmetry"]), str(r["mode"]), str(r["bits"])]
        if self.show_channel:
            cells.append(str(r["channel"]))
        cells.append(format_channel_setting(r, self.single_param))
        if self.show_energy:
            cells.append(str(r["energy"]))
        if self.show_alpha:
            cells.append(format_value(r["alpha"]))
        if self.show_protect:
            cells.append(str(r.get("protect", "none")))
        if self.show_mcs:
            cells.append(str(r.get("mcs", "")))
        return cells + [
            format_ci(r.get("acc_tx"), r.get("acc_tx_ci")),
            format_ci(r.get("acc_txq"), r.get("acc_txq_ci")),
            format_ci(r.get("acc_rx"), r.get("acc_rx_ci")),
            format_number(r.get("acc_rx_median"), 2),
            format_number(r.get("outage_pct"), 0),
            format_ci(r.get("d_acc_pp"), r.get("d_acc_pp_ci"), sign=True),
            format_number(r.get("values_sent", math.nan) / 1000, 2),
            _payload_cell(r),
            format_number(r.get("payload_reduction_pct"), 1),
            format_number(r.get("bits_sent", math.nan) / 1000, 1),
            format_number(r.get("latency_ms"), 1),
        ]


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
        "SNR (dB)"), Acc Tx/Tx,q/Rx (%) with CIs, Median Rx (%), Outage (%) (share of
        trials with Acc Rx < Acc Tx,q - 5 pp), dAcc (pp), Unique (x10^3), Payload (kbits)
        (pruning adds the oracle figure without mask bits), Payload reduction (%), Bits sent
        (kbits), E2E latency (ms). Channel, Energy, alpha and Protect columns are added when
        they vary, an MCS column on the NR link.

    Example:
        >>> row = dict(method="pruned", symmetry="central-skew", mode="pruned", bits=8,
        ...     channel="awgn", channel_param="snr_db", channel_value=10.0,
        ...     energy="per-value", alpha=1.0, acc_rx=90.0, acc_ref=99.0, values_sent=1000,
        ...     payload_bits=9000, payload_bits_oracle=8000, mask_bits=1000)
        >>> from symcodec.report import summarize
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
    columns = _Columns.of(summary)
    header = columns.header()
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(columns.cells(r)) + " |" for r in summary]
    return "\n".join(lines) + "\n"


def write_table(summary: Sequence[Mapping], meta: Mapping | None, path: str | os.PathLike) -> None:
    """Write :func:`table_markdown` to ``path`` atomically."""
    text = table_markdown(summary, meta)
    with atomic_open(path, "w") as handle:
        handle.write(text)
