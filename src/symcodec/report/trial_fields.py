"""The columns a paired analysis needs, read from one results.csv row, with the defaults
for results written before the rows recorded them.

Newer rows carry ``train_seed`` (the model's training seed), ``noise_seed`` (shared by every
row of one channel setting, energy convention, protection, training seed and trial: the
pairing key), ``protect`` (``none`` or ``side``) and ``channel_uses`` (analog channel uses,
the protection's cost included). Older rows lack them; then the training seed is 0, rows
pair by (setting, trial), nothing is protected and the channel uses are the values sent.
Rows on the NR link also carry their MCS setting and the MCS their kernels rode
(:func:`mcs_setting`, :func:`kernel_mcs`); every other row has none.
:func:`legacy_note` says which defaults a set of rows needed, for the report to print.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..study.rows import mcs_setting_of

LEGACY_DEFAULTS: dict[str, str] = {
    "train_seed": "training seed 0",
    "noise_seed": "pairing by (setting, trial)",
    "protect": 'protect = "none"',
    "channel_uses": "channel uses = values sent",
}
"""The columns older results lack, and what is assumed in their place."""


def _present(row: Mapping, column: str) -> bool:
    value = row.get(column)
    return value is not None and value != ""


def train_seed(row: Mapping) -> int:
    """The training seed of the row's model (0 for rows without one).

    >>> train_seed({"train_seed": 3}), train_seed({})
    (3, 0)
    """
    return int(row["train_seed"]) if _present(row, "train_seed") else 0


def pair_id(row: Mapping) -> tuple[int, int]:
    """What pairs this row with a row of another method at the same setting:
    ``(train_seed, noise_seed)``, or ``(train_seed, trial)`` for rows without a noise seed.

    >>> pair_id({"train_seed": 1, "noise_seed": 77, "trial": 2}), pair_id({"trial": 2})
    ((1, 77), (0, 2))
    """
    if _present(row, "noise_seed"):
        return train_seed(row), int(row["noise_seed"])
    return train_seed(row), int(row.get("trial", 0))


def curve_id(row: Mapping) -> tuple[int, int]:
    """What links this row to the other channel settings of the same trial (one curve):
    ``(train_seed, trial)``. (The noise seed changes with the setting, the trial does not.)

    >>> curve_id({"train_seed": 1, "noise_seed": 77, "trial": 2})
    (1, 2)
    """
    return train_seed(row), int(row.get("trial", 0))


def protect(row: Mapping) -> str:
    """``none`` or ``side`` (``none`` for rows without the column).

    >>> protect({"protect": "side"}), protect({})
    ('side', 'none')
    """
    return str(row["protect"]) if _present(row, "protect") else "none"


def channel_uses(row: Mapping) -> float:
    """Analog channel uses of the row (its values sent for rows without the column).

    >>> channel_uses({"channel_uses": 120, "values_sent": 100}), channel_uses({"values_sent": 100})
    (120.0, 100.0)
    """
    if _present(row, "channel_uses"):
        return float(row["channel_uses"])
    return float(row.get("values_sent", float("nan")))


def mcs_setting(row: Mapping) -> str:
    """The row's MCS setting on ``nr-ldpc`` (``"9"``, ``"auto"``); ``""`` on other channels
    and for rows written before the columns (:func:`symcodec.study.rows.mcs_setting_of`).

    >>> mcs_setting({"channel": "nr-ldpc", "mcs": 9}), mcs_setting({"channel": "awgn", "mcs": 0})
    ('9', '')
    >>> mcs_setting({"channel": "nr-ldpc", "mcs": "", "mcs_auto": ""})
    ''
    """
    return mcs_setting_of({k: v for k, v in row.items() if _present(row, k)})


def kernel_mcs(row: Mapping) -> int | None:
    """The MCS index the row's kernels were sent at (None without an MCS).

    >>> kernel_mcs({"mcs": 12}), kernel_mcs({"mcs": -1}), kernel_mcs({})
    (12, None, None)
    """
    if not _present(row, "mcs") or int(row["mcs"]) < 0:
        return None
    return int(row["mcs"])


def legacy_note(rows: Iterable[Mapping]) -> str:
    """One sentence naming the defaults the rows needed ('' when every row has every column).

    >>> legacy_note([{"train_seed": 0, "noise_seed": 5, "protect": "none", "channel_uses": 9}])
    ''
    >>> legacy_note([{"trial": 0}])  # doctest: +ELLIPSIS
    'These results predate the columns train_seed, noise_seed, ...: assumed training seed 0, ...'
    """
    rows = list(rows)
    missing = [c for c in LEGACY_DEFAULTS if rows and any(not _present(r, c) for r in rows)]
    if not missing:
        return ""
    assumed = ", ".join(LEGACY_DEFAULTS[c] for c in missing)
    return f"These results predate the columns {', '.join(missing)}: assumed {assumed}."


def nr_setting(row: Mapping) -> tuple[str, int | None]:
    """The NR link's part of a row's channel setting: its MCS setting (the index, or
    ``"auto"``: link adaptation's choice, whatever it chose for each method) and, at a
    fixed MCS, the MCS of the protected classes (None without one, or with protection
    ``none``); ``("", None)`` off the NR link. Rows at different MCS ride different links
    and are never one setting.

    >>> side = {"channel": "nr-ldpc", "protect": "side", "protect_mcs": 9}
    >>> nr_setting(dict(side, mcs=14, mcs_auto=0)), nr_setting(dict(side, mcs=14, protect="none"))
    (('14', 9), ('14', None))
    >>> nr_setting(dict(side, mcs=14, mcs_auto=1))
    ('auto', None)
    >>> nr_setting({"channel": "awgn", "mcs": 0}), nr_setting({"channel": "nr-ldpc", "mcs": 3})
    (('', None), ('3', None))
    """
    setting = mcs_setting(row)
    robust = row.get("protect_mcs")
    if setting in ("", "auto") or protect(row) == "none" or robust in (None, ""):
        return setting, None
    if int(float(robust)) < 0:
        return setting, None
    return setting, int(float(robust))
