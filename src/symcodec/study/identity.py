"""Which results belong together: a study spec's :func:`spec_id`.

Two specs give the same figures for the trials they share exactly when they agree on
everything that changes a result: the data set, the model and its training, the channel
(name, packet size, SNR convention; on ``nr-ldpc`` the MCS table, level, fading and the
content of measured BLER tables), the
receiver's projection strength, the noise seed, the link rate and the test subset.
:func:`spec_fingerprint` lists those settings and :func:`spec_id` hashes them. The grid axes
(symmetries, compared symmetries, modes, bits, baselines, channel values, protection settings
``channel.protect``, the MCS list ``channel.mcs``, training seeds, number of trials) are left
out: a study that adds channel values, ``side`` protection, seeds or trials keeps the rows
it shares with the smaller one. A trial is identified by its spec id, its transmitter
configuration, its channel value, its protection, its MCS setting, its training seed and its
number (:class:`symcodec.study.rows.TrialKey`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from ..errors import SymcodecError
from .spec import StudySpec

__all__ = [
    "bler_tables_digest", "spec_fingerprint", "spec_id", "row_fingerprint", "describe_changes",
]  # fmt: skip


def spec_fingerprint(spec: StudySpec) -> dict:
    """The settings of ``spec`` that change a trial's result, by name (flat, plain data).

    The pruning fine-tuning epochs count only with a pruning baseline; without one they
    are 0.

    >>> fp = spec_fingerprint(StudySpec(name="s"))
    >>> fp["channel"], fp["energy"], fp["training.epochs"]
    ('awgn', 'per-value', 2)
    """
    t = spec.training
    nr = {}
    if spec.channel.is_nr:  # only NR studies carry these keys: every other id is unchanged
        ch = spec.channel
        nr = {"channel.mcs_table": ch.mcs_table, "channel.level": ch.level,
              "channel.fading": ch.fading}  # fmt: skip
        if ch.bler_tables:  # the tables' content, not their names, decides the draws
            nr["channel.bler_tables"] = bler_tables_digest(ch.bler_tables)
    return {
        **nr,
        "dataset": spec.dataset,
        "model": spec.model,
        "training.epochs": t.epochs,
        "training.prune_finetune_epochs": t.prune_finetune_epochs if spec.pruning else 0,
        "training.batch_size": t.batch_size,
        "training.lr": t.lr,
        "training.max_steps": t.max_steps,
        "training.optimizer": t.optimizer,
        "training.schedule": t.schedule,
        "training.weight_decay": t.weight_decay,
        "channel": spec.channel.name,
        "channel.packet_bytes": spec.channel.packet_bytes,
        "energy": spec.channel.energy,
        "alpha": spec.alpha,
        "seed": spec.seed,
        "link.bandwidth_hz": spec.bandwidth_hz,
        "test_limit": spec.test_limit,
        "per_channel": spec.per_channel,
    }


def spec_id(spec: StudySpec) -> str:
    """A short stable hash (12 hex digits) of :func:`spec_fingerprint`: rows with the same
    spec id and trial key are the same trial.

    >>> import dataclasses
    >>> a = StudySpec(name="a")
    >>> spec_id(a) == spec_id(StudySpec(name="b", trials=9, bits=(2, 3)))  # grid: same id
    True
    >>> side = dataclasses.replace(a.channel, protect=("none", "side"))
    >>> spec_id(a) == spec_id(dataclasses.replace(a, channel=side))  # protect: a grid axis
    True
    >>> spec_id(a) == spec_id(dataclasses.replace(a, alpha=0.5))
    False
    """
    text = json.dumps(spec_fingerprint(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


_ROW_COLUMNS = {
    "dataset": "dataset",
    "model": "model",
    "training.epochs": "epochs_total",
    "channel": "channel",
    "energy": "energy",
    "alpha": "alpha",
}


def row_fingerprint(row: Mapping) -> dict:
    """The part of :func:`spec_fingerprint` a results.csv row records."""
    return {name: row[column] for name, column in _ROW_COLUMNS.items()}


def describe_changes(old: Mapping, new: Mapping) -> str:
    """The settings that differ between two fingerprints (keys of ``old`` only), as
    ``name: old -> new`` joined by ``"; "``; empty if none.

    >>> describe_changes({"channel": "awgn", "alpha": 1.0}, {"channel": "bpsk-awgn", "alpha": 1})
    'channel: awgn -> bpsk-awgn'
    """
    return "; ".join(
        f"{key}: {_show(value)} -> {_show(new.get(key))}"
        for key, value in old.items()
        if _show(value) != _show(new.get(key))
    )


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{float(value):g}"
    return str(value)


def bler_tables_digest(paths: Sequence[str]) -> str:
    """A digest of the BLER table files' contents (their order does not count)."""
    digests = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                digests.append(hashlib.sha256(f.read()).hexdigest())
        except OSError as err:
            raise SymcodecError(f"cannot read BLER table {path}: {err.strerror}") from None
    return hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()[:16]
