"""One trial, one row: :class:`TrialRow` and the ``results.csv`` schema derived from it.

The dataclass is the only place the schema is written down: :data:`RESULT_COLUMNS` (the CSV
header, in field order) and :data:`COLUMN_TYPES` (the integer, float and text columns) are
derived from its fields and their types. :data:`GROUP_KEYS` are the columns that define a
setting (one summary row); :class:`TrialKey` the columns that identify one trial (what a
resumed study looks up). The file itself is :mod:`symcodec.study.results_csv`.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import SymcodecError

__all__ = [
    "TrialRow",
    "TrialKey",
    "channel_value_text",
    "check_row_columns",
    "COLUMN_TYPES",
    "RESULT_COLUMNS",
    "GROUP_KEYS",
    "NR_COLUMN_DEFAULTS",
    "mcs_setting_of",
]


@dataclass(frozen=True)
class TrialRow:
    """One trial of a study: a transmitter configuration sent once over one channel setting.

    The fields, in this order, are the columns of ``results.csv``.

    Attributes:
        study: the study's name.
        dataset: the data set.
        model: the model architecture.
        method: ``symmetric``, ``pruned`` or ``quant-only``.
        symmetry: the symmetry (for ``pruned``: whose DoF count it matches; ``none`` for
            ``quant-only``).
        mode: ``dof``, ``full-project``, ``full`` or ``pruned``.
        bits: quantizer bits per value.
        channel: the channel's name.
        channel_param: the swept parameter (``snr_db``, ``ebn0_db``, ``p``; empty for ideal).
        channel_value: its value in this trial (``nan`` for the ideal channel).
        energy: the SNR convention, ``per-value`` or ``equal-energy``.
        protect: ``none`` or ``side`` (SPEC section 10: the tensors that are not conv
            kernels cross a protected sub-link); on ``nr-ldpc`` a preset of
            :class:`~symcodec.receiver.unequal_protection.NrProtection` (``none``, ``side``,
            ``side+msb``).
        mcs: on ``nr-ldpc``, the MCS index (of the study's MCS table) the conv kernels were
            sent at; -1 on channels without an MCS.
        mcs_auto: 1 when link adaptation chose ``mcs`` (the study's ``mcs = "auto"``), else
            0. With ``mcs`` it makes the trial's MCS setting, part of its key
            (:attr:`TrialKey.mcs`).
        protect_mcs: the MCS index of the protected classes (header, side tensors, and
            with ``side+msb`` the kernels' MSB plane); -1 with ``protect = none`` or no MCS.
        alpha: the receiver's projection strength.
        spec_id: the study spec the row was made under (:func:`symcodec.study.spec_id`).
        trial: the trial's number (0 ..).
        train_seed: the training seed of the models (today the spec's ``training.seed``).
        noise_seed: the noise seed of this trial: the same in every row that shares the
            channel setting, energy convention, protection, training seed and trial
            (paired noise, :func:`symcodec.study.trial_seed`).
        epochs_total: training epochs of every model (training plus fine-tuning).
        acc_ref: test accuracy (%) of the unconstrained float model.
        acc_tx: test accuracy (%) of the transmitter's float model.
        acc_txq: test accuracy (%) of its quantized version over an ideal channel.
        acc_rx: test accuracy (%) of the received model.
        d_acc_pp: ``acc_rx - acc_ref``, percentage points.
        values_sent: values transmitted.
        values_total: values of the model.
        payload_bits: payload (values plus pruning positions).
        mask_bits: bits of the pruning positions (0 unless ``pruned``).
        payload_bits_oracle: ``payload_bits - mask_bits``.
        header_bits: stream header and framing.
        bits_sent: every bit put on the channel.
        channel_uses: channel uses, the resource of analog links (noisy values plus the
            protected ones charged at the repetition factor; digital: coded bits over bits
            per symbol; see :mod:`symcodec.receiver.protection`).
        payload_reduction_pct: payload saved against the full model at the same bits, %.
        bit_errors: bits flipped by the channel.
        ber: bit error rate.
        crc_failures: packets whose CRC failed.
        code_blocks: NR code blocks sent (0 on other channels).
        failed_code_blocks: of those, code blocks whose CRC failed (their bytes erased).
        encode_ms: encoding time.
        decode_ms: decoding (and repair) time.
        air_ms: time on the link.
        latency_ms: ``encode_ms + air_ms + decode_ms``.
        distance: the unconstrained model's distance to the symmetric subspace (0 for
            ``symmetric``).
        conv_share: share of the model's parameters in conv kernels.
    """

    study: str
    dataset: str
    model: str
    method: str
    symmetry: str
    mode: str
    bits: int
    channel: str
    channel_param: str
    channel_value: float
    energy: str
    protect: str
    mcs: int
    mcs_auto: int
    protect_mcs: int
    alpha: float
    spec_id: str
    trial: int
    train_seed: int
    noise_seed: int
    epochs_total: int
    acc_ref: float
    acc_tx: float
    acc_txq: float
    acc_rx: float
    d_acc_pp: float
    values_sent: int
    values_total: int
    payload_bits: int
    mask_bits: int
    payload_bits_oracle: int
    header_bits: int
    bits_sent: int
    channel_uses: int
    payload_reduction_pct: float
    bit_errors: int
    ber: float
    crc_failures: int
    code_blocks: int
    failed_code_blocks: int
    encode_ms: float
    decode_ms: float
    air_ms: float
    latency_ms: float
    distance: float
    conv_share: float

    def as_dict(self) -> dict:
        """The row as a dict in column order (as :func:`read_results_csv` gives it)."""
        return {column: getattr(self, column) for column in RESULT_COLUMNS}

    @classmethod
    def from_dict(cls, row: Mapping) -> TrialRow:
        """A row from a mapping with exactly :data:`RESULT_COLUMNS`."""
        check_row_columns(row, 1)
        return cls(**{column: row[column] for column in RESULT_COLUMNS})


_NR_CHANNEL = "nr-ldpc"  # the one channel whose trials have an MCS setting

#: The columns added with studies on the NR link, and the value a row written before them
#: gets (:func:`read_results_csv` fills them in; the trial was on a channel without an MCS).
NR_COLUMN_DEFAULTS: dict[str, object] = {
    "mcs": -1,
    "mcs_auto": 0,
    "protect_mcs": -1,
    "code_blocks": 0,
    "failed_code_blocks": 0,
}


COLUMN_TYPES: dict[str, type] = typing.get_type_hints(TrialRow)
"""Each results.csv column's type (``str``, ``int`` or ``float``): :class:`TrialRow`'s."""

RESULT_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrialRow))
"""The results.csv schema, in column order (one row per trial): :class:`TrialRow`'s fields."""

GROUP_KEYS: tuple[str, ...] = (
    "method",
    "symmetry",
    "mode",
    "bits",
    "channel",
    "channel_param",
    "channel_value",
    "energy",
    "alpha",
)
"""The columns that define one setting (one summary row / table row)."""


class TrialKey(NamedTuple):
    """What identifies a trial in ``results.csv``: the spec it was made under, the
    transmitter configuration, the channel setting, the protection, the training seed and
    the trial number, and on ``nr-ldpc`` the MCS setting (``""`` elsewhere).

    Build it with :meth:`of` (from a row) or :meth:`make` (from the parts); both normalise
    the channel value the same way (``nan`` for no parameter, 6 significant digits).

    >>> row = {"spec_id": "ab12", "method": "symmetric", "symmetry": "central", "mode": "dof",
    ...        "bits": 4, "channel_value": 10.0, "protect": "none", "train_seed": 0, "trial": 1}
    >>> TrialKey.of(row) == TrialKey.make("ab12", "symmetric", "central", "dof", 4, 10, 1)
    True
    """

    spec_id: str
    method: str
    symmetry: str
    mode: str
    bits: int
    channel_value: str
    trial: int
    protect: str = "none"
    train_seed: int = 0
    mcs: str = ""

    @classmethod
    def make(
        cls,
        spec_id: str,
        method: str,
        symmetry: str,
        mode: str,
        bits: int,
        channel_value: float,
        trial: int,
        protect: str = "none",
        train_seed: int = 0,
        mcs: str = "",
    ) -> TrialKey:
        """The key of one trial from its parts."""
        text = channel_value_text(channel_value)
        return cls(
            str(spec_id), method, symmetry, mode, int(bits), text, int(trial), str(protect),
            int(train_seed), str(mcs),
        )  # fmt: skip

    @classmethod
    def of(cls, row: Mapping | TrialRow) -> TrialKey:
        """The key of a row (a :class:`TrialRow` or a mapping with its columns). The MCS
        setting counts on the NR link only (``""`` elsewhere, and for rows without it)."""
        if isinstance(row, TrialRow):
            row = row.as_dict()
        return cls.make(*(row[column] for column in cls._fields[:-1]), mcs_setting_of(row))


def mcs_setting_of(row: Mapping) -> str:
    """A row's MCS setting as trial keys and noise seeds spell it: ``"auto"``, the index
    (``"9"``), or ``""`` off the NR link (and for rows without the columns).

    >>> mcs_setting_of({"channel": "nr-ldpc", "mcs": 9, "mcs_auto": 0})
    '9'
    >>> mcs_setting_of({"channel": "nr-ldpc", "mcs": 9, "mcs_auto": 1})
    'auto'
    >>> mcs_setting_of({"channel": "awgn", "mcs": 0, "mcs_auto": 0}), mcs_setting_of({})
    ('', '')
    """
    if row.get("channel") != _NR_CHANNEL:
        return ""
    if int(row.get("mcs_auto") or 0):
        return "auto"
    mcs = row.get("mcs", -1)
    return str(int(mcs)) if mcs not in (None, "") and int(mcs) >= 0 else ""


def reference_by_train_seed(rows: Iterable[Mapping]) -> dict[int, float]:
    """Each training seed's reference accuracy (``acc_ref``, %) as its rows carry it, lowest
    seed first. A row without a training seed is seed 0; a seed whose rows carry no finite
    reference (an older file) is left out.

    >>> reference_by_train_seed([{"train_seed": 1, "acc_ref": 93.5}, {"acc_ref": 93.4},
    ...                          {"train_seed": 2, "acc_ref": "nan"}])
    {0: 93.4, 1: 93.5}
    """
    out: dict[int, float] = {}
    for row in rows:
        seed = row.get("train_seed")
        seed = int(seed) if seed not in (None, "") else 0
        value = float(row.get("acc_ref", math.nan))
        if seed not in out and math.isfinite(value):
            out[seed] = value
    return dict(sorted(out.items()))


def channel_value_text(value: float) -> str:
    """A channel value as trial keys and noise seeds spell it: ``nan`` for no parameter,
    else 6 significant digits.

    >>> channel_value_text(10), channel_value_text(float("nan")), channel_value_text(0.1 + 0.2)
    ('10', 'nan', '0.3')
    """
    value = float(value)
    return "nan" if math.isnan(value) else f"{value:.6g}"


def check_row_columns(row: Mapping, number: int) -> None:
    """Raise :class:`SymcodecError` unless ``row`` has exactly :data:`RESULT_COLUMNS`
    (``number``: the row's number, for the message).

    >>> check_row_columns({"study": "s"}, 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symcodec.errors.SymcodecError: result row 3: missing dataset, ...
    """
    missing = [c for c in RESULT_COLUMNS if c not in row]
    extra = [c for c in row if c not in RESULT_COLUMNS]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unknown {', '.join(map(str, extra))}")
        raise SymcodecError(f"result row {number}: {'; '.join(parts)}")
