"""Summaries: the trials of results.csv averaged into one row per setting, with 95% CIs.

Also the small helpers that the table, figures and claims share to read a summary:
:func:`grouping_key` (values that count as equal), :func:`distinct_values` and
:func:`conv_share`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence

from ..errors import SymcodecError
from ..study.rows import GROUP_KEYS
from .confidence import mean_ci95, mean_skipping_nan
from .format import is_finite
from .paired import outage_share
from .trial_fields import channel_uses, legacy_note, mcs_setting, protect, train_seed

METHOD_ORDER: tuple[str, ...] = ("symmetric", "pruned", "quant-only", "step-ans")
MODE_ORDER: tuple[str, ...] = (
    "dof",
    "full-project",
    "full",
    "pruned",
    "pruned-global",
    "pruned-kernel",
)

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
    "code_blocks",
    "failed_code_blocks",
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


def grouping_key(value):
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
    Also ``acc_rx_median`` (median Acc Rx over the trials), ``outage_pct`` (% of trials with
    Acc Rx < Acc Tx,q - 5 pp, SPEC section 10), ``protect``, ``channel_uses`` (mean),
    ``train_seeds`` (distinct training seeds) and ``legacy_note`` (what was assumed for
    columns older results lack, '' if nothing: :mod:`symcodec.report.trial_fields`).
    Rows are grouped by :data:`GROUP_KEYS`, the protection and the MCS setting (``mcs``:
    ``""`` off the NR link); ``code_blocks`` and ``failed_code_blocks`` are means too.

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
        key = (*(grouping_key(row[k]) for k in GROUP_KEYS), protect(row), mcs_setting(row))
        groups.setdefault(key, []).append(row)
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
            protect(r) != "none",
            _mcs_order(mcs_setting(r)),
        )

    return [_summary_row(members) for members in sorted(groups.values(), key=order)]


def _summary_row(members: Sequence[Mapping]) -> dict:
    """One setting's trials averaged (the fields :func:`summarize` lists)."""
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
        out[column] = mean_skipping_nan(m.get(column, math.nan) for m in members)
    received = [float(m["acc_rx"]) for m in members if is_finite(m.get("acc_rx"))]
    out["acc_rx_median"] = statistics.median(received) if received else math.nan
    out["outage_pct"] = 100 * outage_share(members)
    out["protect"] = protect(first)
    out["mcs"] = mcs_setting(first)
    out["channel_uses"] = mean_skipping_nan(channel_uses(m) for m in members)
    out["train_seeds"] = len({train_seed(m) for m in members})
    out["legacy_note"] = legacy_note(members)
    return out


def _mcs_order(setting: str) -> tuple[int, float]:
    """MCS settings in index order: none first, then indices, then ``auto``."""
    if not setting:
        return (0, 0.0)
    return (1, float(setting)) if setting.isdigit() else (2, 0.0)


def distinct_values(rows: Sequence[Mapping], key: str) -> list:
    """The values of column ``key`` in order of first appearance (NaN once, 10 == 10.0).

    Example:
        >>> distinct_values([{"bits": 8}, {"bits": 4}, {"bits": 8.0}], "bits")
        [8, 4]
    """
    out: list = []
    for row in rows:
        if grouping_key(row[key]) not in [grouping_key(v) for v in out]:
            out.append(row[key])
    return out


def conv_share(summary: Sequence[Mapping], meta: Mapping) -> float:
    """Fraction of the model's parameters in conv kernels: ``meta["conv_share"]`` if given,
    else the mean of the rows' ``conv_share`` (NaN if neither has it)."""
    share = meta.get("conv_share")
    if is_finite(share):
        return float(share)
    return mean_skipping_nan(r.get("conv_share", math.nan) for r in summary)
