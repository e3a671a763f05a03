"""The NR study at equal air time: which sender delivers the better model in the same time?

Input: the trial rows of a study on ``nr-ldpc`` (rows with an MCS setting). A *sender* is a
configuration and its protection preset (method, symmetry, mode, bits, protect); an
*option* is one of its MCS settings. Air time does not depend on the noise: every option
has one air time at an SNR (the mean over its trials, which agree).

**Accuracy at equal air time** (:func:`equal_air_time`). At each SNR every sender gets the
same budget, the tightest one every sender meets:

    budget(SNR) = max over senders of (min over its options of air time),

i.e. what the slowest sender needs at its fastest option (with a list of MCS: the largest
stream at the highest MCS of the grid). Each sender then uses its *most robust* option that
fits the budget: the lowest kernel MCS whose air time is at most the budget (ties: the lower
protection MCS, then the shorter air time). A smaller stream (``dof``) can afford a more
robust MCS than a larger one (``full``) in the same time; this is the trade the comparison
measures. The row reports the accuracy of that option (mean over its trials, 95% CI), its
air time (at most the budget, the same budget for every sender), and its code-block errors.

**Air time to a target accuracy** (:func:`air_time_to_target`). At each SNR, every sender's
shortest air time among its options whose mean Acc Rx reaches the target, the sender's Acc
Tx,q minus :data:`TARGET_DROP_PP` (for the symmetric modes the Tx,q of ``full`` at the same
symmetry and bits, as in :mod:`.snr_targets`); none when no option reaches it.

:func:`write_equal_air_time` writes ``equal_air_time.csv``, ``air_time_to_target.csv``,
``equal_air_time.md`` (both tables) and ``equal_air_time.png`` (both views, side by side).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence

from ..io import atomic_open
from .claim_curves import TARGET_DROP_PP
from .confidence import mean_ci95, mean_skipping_nan
from .format import format_ci, format_number, is_finite
from .plot_style import CurveStyles, figure_legend, line_label, pyplot, save_figure
from .summary import METHOD_ORDER, MODE_ORDER, grouping_key
from .trial_fields import mcs_setting, protect

__all__ = [
    "EQUAL_AIR_TIME_COLUMNS",
    "AIR_TIME_TO_TARGET_COLUMNS",
    "equal_air_time",
    "air_time_to_target",
    "equal_air_time_markdown",
    "plot_equal_air_time",
    "write_equal_air_time",
    "sender_of",
    "trials_by_option",
]

_SENDER = ("method", "symmetry", "mode", "bits", "protect")
EQUAL_AIR_TIME_COLUMNS = (
    "snr_db",
    *_SENDER,
    "mcs",
    "kernel_mcs",
    "protect_mcs",
    "budget_ms",
    "air_ms",
    "acc_rx",
    "acc_rx_ci",
    "acc_txq",
    "failed_code_blocks",
    "code_blocks",
    "n",
)
AIR_TIME_TO_TARGET_COLUMNS = (
    "snr_db",
    *_SENDER,
    "target_acc_pct",
    "mcs",
    "kernel_mcs",
    "air_ms",
    "latency_ms",
    "acc_rx",
    "n",
)
_AIR_TOLERANCE_MS = 1e-9
#: Protection presets told apart in the figure: hollow markers, a heavier line.
_PRESET_STYLE = {"side": {"markerfacecolor": "none"}, "side+msb": {"linewidth": 2.8}}


def sender_of(row: Mapping) -> tuple:
    """A row's sender: ``(method, symmetry, mode, bits, protect)``, bits as an int when whole.

    >>> sender_of(dict(method='symmetric', symmetry='central-skew', mode='dof', bits=8.0,
    ...                protect='side'))
    ('symmetric', 'central-skew', 'dof', 8, 'side')
    """
    bits = grouping_key(row["bits"])
    bits = int(bits) if isinstance(bits, float) and bits.is_integer() else bits
    return (row["method"], row["symmetry"], row["mode"], bits, protect(row))


def _sender_order(sender: tuple):
    method, symmetry, mode, bits, prot = sender
    return (
        METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER),
        symmetry,
        float(bits),
        MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER),
        prot,
    )


def trials_by_option(rows: Sequence[Mapping]) -> dict[tuple, list[Mapping]]:
    """``(SNR, sender, MCS setting)`` -> the trial rows of that option (NR rows only).

    >>> row = dict(method="quant-only", symmetry="none", mode="full", bits=8, protect="none",
    ...            channel="nr-ldpc", channel_value=5.0, mcs=9)
    >>> list(trials_by_option([row, row]).items())[0][0]
    (5.0, ('quant-only', 'none', 'full', 8, 'none'), '9')
    """
    groups: dict[tuple, list[Mapping]] = {}
    for r in rows:
        if not mcs_setting(r) or not is_finite(r.get("channel_value")):
            continue
        key = (float(r["channel_value"]), sender_of(r), mcs_setting(r))
        groups.setdefault(key, []).append(r)
    return groups


def _options(rows: Sequence[Mapping]) -> dict[float, dict[tuple, list[dict]]]:
    """SNR -> sender -> one dict per option (MCS setting), its trials averaged."""
    groups = trials_by_option(rows)
    out: dict[float, dict[tuple, list[dict]]] = {}
    for (snr, sender, mcs), members in groups.items():
        acc, half = mean_ci95(float(m["acc_rx"]) for m in members)

        def mean(column: str, members=members) -> float:
            return mean_skipping_nan(m.get(column, math.nan) for m in members)

        option = {
            "mcs": mcs,
            "kernel_mcs": int(round(mean("mcs"))),
            "protect_mcs": int(round(mean("protect_mcs"))),
            "air_ms": mean("air_ms"),
            "latency_ms": mean("latency_ms"),
            "acc_rx": acc,
            "acc_rx_ci": half,
            "acc_txq": mean("acc_txq"),
            "failed_code_blocks": mean("failed_code_blocks"),
            "code_blocks": mean("code_blocks"),
            "n": len(members),
        }
        out.setdefault(snr, {}).setdefault(sender, []).append(option)
    return out


def _row(snr: float, sender: tuple, fields: Mapping, columns: Sequence[str]) -> dict:
    base = dict(zip(_SENDER, sender, strict=True))
    return {c: snr if c == "snr_db" else base.get(c, fields.get(c)) for c in columns}


def equal_air_time(rows: Sequence[Mapping]) -> list[dict]:
    """One row per SNR and sender: its most robust option within the common budget (see
    the module docstring; columns :data:`EQUAL_AIR_TIME_COLUMNS`).

    >>> def trial(mode, mcs, air, acc):
    ...     return dict(method="symmetric", symmetry="central-skew", mode=mode, bits=8,
    ...                 protect="none", channel="nr-ldpc", channel_value=5.0, mcs=mcs,
    ...                 protect_mcs=-1, air_ms=air, acc_rx=acc, acc_txq=90.0)
    >>> rows = [trial("full", 9, 3.0, 50.0), trial("full", 15, 2.0, 20.0),
    ...         trial("dof", 9, 1.5, 88.0), trial("dof", 15, 1.0, 60.0)]
    >>> [(r["mode"], r["mcs"], r["budget_ms"], r["air_ms"]) for r in equal_air_time(rows)]
    [('dof', '9', 2.0, 1.5), ('full', '15', 2.0, 2.0)]
    """
    out = []
    for snr, senders in sorted(_options(rows).items()):
        budget = max(min(o["air_ms"] for o in opts) for opts in senders.values())
        for sender in sorted(senders, key=_sender_order):
            fits = [o for o in senders[sender] if o["air_ms"] <= budget + _AIR_TOLERANCE_MS]
            best = min(fits, key=lambda o: (o["kernel_mcs"], o["protect_mcs"], o["air_ms"]))
            out.append(_row(snr, sender, {**best, "budget_ms": budget}, EQUAL_AIR_TIME_COLUMNS))
    return out


def _targets(rows: Sequence[Mapping]) -> dict[tuple, float]:
    """Target accuracy per sender: its Tx,q (symmetric: that of ``full``) minus the drop."""
    txq: dict[tuple, list[float]] = {}
    for r in rows:
        if mcs_setting(r):
            txq.setdefault(sender_of(r), []).append(float(r.get("acc_txq", math.nan)))
    own = {s: mean_skipping_nan(v) for s, v in txq.items()}
    targets = {}
    for sender, value in own.items():
        method, symmetry, mode, bits, prot = sender
        full = (method, symmetry, "full", bits, prot)
        reference = own.get(full, value) if method == "symmetric" else value
        targets[sender] = reference - TARGET_DROP_PP
    return targets


def air_time_to_target(rows: Sequence[Mapping]) -> list[dict]:
    """One row per SNR and sender: its shortest air time whose mean Acc Rx reaches the
    target (columns :data:`AIR_TIME_TO_TARGET_COLUMNS`; ``air_ms`` NaN and ``mcs`` empty
    when no option reaches it).

    >>> def trial(mcs, air, acc):
    ...     return dict(method="quant-only", symmetry="none", mode="full", bits=8,
    ...                 protect="none", channel="nr-ldpc", channel_value=5.0, mcs=mcs,
    ...                 protect_mcs=-1, air_ms=air, latency_ms=air + 1, acc_rx=acc,
    ...                 acc_txq=90.0)
    >>> [r["mcs"] for r in air_time_to_target([trial(9, 3.0, 89.5), trial(15, 2.0, 70.0)])]
    ['9']
    """
    targets = _targets(rows)
    out = []
    for snr, senders in sorted(_options(rows).items()):
        for sender in sorted(senders, key=_sender_order):
            target = targets[sender]
            good = [o for o in senders[sender] if o["acc_rx"] >= target]
            fields = {"target_acc_pct": target, "mcs": "", "kernel_mcs": -1}
            fields.update(air_ms=math.nan, latency_ms=math.nan, acc_rx=math.nan, n=0)
            if good:
                best = min(good, key=lambda o: (o["air_ms"], o["kernel_mcs"]))
                fields.update({k: best[k] for k in ("mcs", "kernel_mcs", "air_ms")})
                fields.update({k: best[k] for k in ("latency_ms", "acc_rx", "n")})
            out.append(_row(snr, sender, fields, AIR_TIME_TO_TARGET_COLUMNS))
    return out


def _label(row: Mapping) -> str:
    """The curve's legend label, e.g. ``central-skew (dof), 8b, protect side``."""
    label = line_label({k: row[k] for k in ("method", "symmetry", "mode")})
    return f"{label}, {row['bits']}b, protect {row['protect']}"


def equal_air_time_markdown(equal: Sequence[Mapping], to_target: Sequence[Mapping]) -> str:
    """Both tables as Markdown, with how they are made."""
    lines = [
        "# NR link: accuracy at equal air time",
        "",
        "Budget at each SNR: the air time the slowest sender needs at its fastest MCS (the "
        "tightest budget every sender meets); each sender uses its most robust MCS (lowest "
        "kernel MCS) whose air time fits. Acc Rx: mean over trials with a 95% CI.",
        "",
        "| SNR (dB) | method | symmetry | mode | bits | protect | MCS | protect MCS "
        "| budget (ms) | air (ms) | Acc Rx (%) | Acc Tx,q (%) | failed CBs |",
        "|---:|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in equal:
        pmcs = str(r["protect_mcs"]) if r["protect_mcs"] >= 0 else "—"
        failed = (
            f"{format_number(r['failed_code_blocks'], 1)} / {format_number(r['code_blocks'], 0)}"
        )
        lines.append(
            f"| {r['snr_db']:g} | {r['method']} | {r['symmetry']} | {r['mode']} | {r['bits']} | "
            f"{r['protect']} | {r['kernel_mcs']} | {pmcs} | {format_number(r['budget_ms'], 2)} | "
            f"{format_number(r['air_ms'], 2)} | {format_ci(r['acc_rx'], r['acc_rx_ci'])} | "
            f"{format_number(r['acc_txq'], 2)} | {failed} |"
        )
    lines += [
        "",
        f"# NR link: air time to reach Acc Tx,q − {TARGET_DROP_PP:g} pp",
        "",
        "At each SNR the shortest air time among the sender's MCS whose mean Acc Rx reaches "
        "the target (symmetric modes: the Tx,q of `full` at the same symmetry and bits); "
        "— where none does.",
        "",
        "| SNR (dB) | method | symmetry | mode | bits | protect | target (%) | MCS "
        "| air (ms) | latency (ms) | Acc Rx (%) |",
        "|---:|---|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in to_target:
        reached = bool(r["mcs"])
        lines.append(
            f"| {r['snr_db']:g} | {r['method']} | {r['symmetry']} | {r['mode']} | {r['bits']} | "
            f"{r['protect']} | {format_number(r['target_acc_pct'], 2)} | "
            f"{r['kernel_mcs'] if reached else '—'} | "
            f"{format_number(r['air_ms'], 2) if reached else '—'} | "
            f"{format_number(r['latency_ms'], 2) if reached else '—'} | "
            f"{format_number(r['acc_rx'], 2) if reached else '—'} |"
        )
    return "\n".join(lines) + "\n"


def plot_equal_air_time(
    equal: Sequence[Mapping], to_target: Sequence[Mapping], path: str | os.PathLike
) -> None:
    """Accuracy against SNR at equal air time (left) and air time against SNR at the target
    accuracy (right), one curve per sender, saved as a PNG."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = CurveStyles(equal)
    for ax, table, column in ((left, equal, "acc_rx"), (right, to_target, "air_ms")):
        curves: dict[tuple, list[Mapping]] = {}
        for r in table:
            curves.setdefault(tuple(r[k] for k in _SENDER), []).append(r)
        for sender in sorted(curves, key=_sender_order):
            members = sorted(curves[sender], key=lambda r: r["snr_db"])
            xs = [r["snr_db"] for r in members]
            ys = [r[column] if is_finite(r[column]) else math.nan for r in members]
            key = dict(zip(_SENDER, sender, strict=True))
            style = {**styles(key), **_PRESET_STYLE.get(key["protect"], {})}
            ax.plot(xs, ys, label=_label(key), markersize=4.5, **{"linewidth": 1.6, **style})
        ax.set_xlabel("SNR, Es/N0 (dB)")
        ax.grid(True, alpha=0.3)
    budget = sorted({round(r["budget_ms"], 3) for r in equal})
    text = f"{budget[0]:.4g} ms" if len(budget) == 1 else f"{budget[0]:.4g}-{budget[-1]:.4g} ms"
    left.set_ylabel("Acc Rx (%)")
    left.set_title(f"accuracy at equal air time (budget {text})")
    right.set_ylabel("air time (ms)")
    right.set_title(f"air time to reach Acc Tx,q − {TARGET_DROP_PP:g} pp")
    figure_legend(fig, (left, right))
    save_figure(fig, path)


def _csv(table: Sequence[Mapping], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def write_equal_air_time(
    rows: Sequence[Mapping], directory: str | os.PathLike
) -> tuple[list[dict], list[dict]]:
    """Write ``equal_air_time.csv``, ``air_time_to_target.csv``, ``equal_air_time.md`` and
    ``equal_air_time.png`` into ``directory`` (nothing when no row has an MCS); returns the
    two tables."""
    equal = equal_air_time(rows)
    if not equal:
        return [], []
    to_target = air_time_to_target(rows)
    files = {
        "equal_air_time.csv": _csv(equal, EQUAL_AIR_TIME_COLUMNS),
        "air_time_to_target.csv": _csv(to_target, AIR_TIME_TO_TARGET_COLUMNS),
        "equal_air_time.md": equal_air_time_markdown(equal, to_target),
    }
    for name, text in files.items():
        with atomic_open(os.path.join(directory, name), "w") as handle:
            handle.write(text)
    plot_equal_air_time(equal, to_target, os.path.join(directory, "equal_air_time.png"))
    return equal, to_target
