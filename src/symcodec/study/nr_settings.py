"""The NR link's keys of a study's ``[channel]`` table (``name = "nr-ldpc"``).

* ``mcs``: a list of MCS indices of ``mcs_table`` (a grid axis, like ``protect``), or
  ``"auto"``: per configuration, SNR and protection the MCS that link adaptation
  (:func:`symcodec.receiver.link_adaptation.plan_link`) chooses: the shortest air time whose
  expected accuracy drop is at most 1 pp (:mod:`symcodec.study.nr_auto`);
* ``mcs_table``: the 38.214 table's name (default ``qam64``);
* ``level``: ``abstract`` (default for studies: code block errors drawn from the PHY
  abstraction's BLER tables) or ``bit-true``;
* ``fading``: ``awgn`` (default) or ``rayleigh``;
* ``bler_tables``: BLER table files (paths relative to the study file) for the abstraction to
  draw from instead of Sionna's shipped tables, which are about 1 dB optimistic for NR
  transport blocks: curves measured bit-true on the study's TB size by ``symcodec
  measure-bler``. They must cover every listed MCS and, with a protection preset, its
  protection MCS; with ``mcs = "auto"``, link adaptation chooses among the MCS they hold;
* ``protect``: the NR presets ``none``, ``side``, ``side+msb``
  (:class:`~symcodec.receiver.nr_protection.NrProtection`).

Every MCS of the list is checked by building the link once (an index outside the table, a
reserved one, one the abstraction has no BLER table for, or a code rate the TB size cannot
carry is refused with the key's name). Errors read ``study key 'channel.mcs': ...``.
"""

from __future__ import annotations

import os
from typing import NoReturn

from ..channel import make_channel
from ..channel.nr import FADINGS, LEVELS, MCS_TABLES
from ..errors import SymcodecError
from ..receiver.nr_protection import PROTECT_PRESETS, default_protect_mcs

__all__ = ["NR_CHANNEL", "NR_KEYS", "MCS_AUTO", "parse_nr_settings", "resolve_bler_tables"]

NR_CHANNEL = "nr-ldpc"
#: The ``[channel]`` keys only the NR link takes.
NR_KEYS = frozenset({"mcs", "mcs_table", "level", "fading", "bler_tables"})
#: The ``mcs`` value that leaves the choice to link adaptation.
MCS_AUTO = "auto"


def _fail(key: str, why: str) -> NoReturn:
    raise SymcodecError(f"study key {key!r}: {why}")


def parse_nr_settings(ch: dict, name: str) -> dict:
    """The NR fields of a :class:`~symcodec.study.spec.ChannelSpec` from the ``[channel]``
    table ``ch`` of channel ``name``: ``mcs``, ``mcs_auto``, ``mcs_table``, ``level``,
    ``fading`` (an empty dict for any other channel, which may not use these keys).

    >>> parse_nr_settings({"snr_db": [3.0]}, "awgn")
    {}
    >>> parse_nr_settings({"mcs": 9}, "awgn")
    Traceback (most recent call last):
    ...
    symcodec.errors.SymcodecError: study key 'channel.mcs': applies only to channel 'nr-ldpc'
    """
    if name != NR_CHANNEL:
        for key in sorted(NR_KEYS & set(ch)):
            _fail(f"channel.{key}", f"applies only to channel {NR_CHANNEL!r}")
        return {}
    table = ch.get("mcs_table", "qam64")
    if table not in MCS_TABLES:
        _fail("channel.mcs_table", f"unknown MCS table {table!r}; known: {', '.join(MCS_TABLES)}")
    level = ch.get("level", "abstract")
    if level not in LEVELS:
        _fail("channel.level", f"unknown level {level!r}; known: {', '.join(LEVELS)}")
    fading = ch.get("fading", "awgn")
    if fading not in FADINGS:
        _fail("channel.fading", f"unknown fading {fading!r}; known: {', '.join(FADINGS)}")
    if "mcs" not in ch:
        _fail("channel.mcs", f'channel {NR_CHANNEL!r} needs a list of MCS indices or "auto"')
    mcs = ch["mcs"]
    tables = _bler_tables(ch, level)
    if mcs == MCS_AUTO:
        if level != "abstract":
            _fail("channel.mcs", '"auto" plans with the PHY abstraction: use level = "abstract"')
        return dict(
            mcs=(), mcs_auto=True, mcs_table=table, level=level, fading=fading, bler_tables=tables
        )
    if isinstance(mcs, int) and not isinstance(mcs, bool):
        mcs = [mcs]
    if not isinstance(mcs, list) or not mcs:
        _fail("channel.mcs", 'must be a non-empty list of MCS indices or "auto"')
    for index in mcs:
        if isinstance(index, bool) or not isinstance(index, int):
            _fail("channel.mcs", f"{index!r} is not an integer MCS index")
    if len(set(mcs)) != len(mcs):
        _fail("channel.mcs", "lists an MCS twice")
    protected = any(p != "none" for p in ch.get("protect", ["none"]))
    key = "channel.bler_tables" if tables else "channel.mcs"

    def check_link(index: int, context: str = "") -> None:
        try:  # the link itself says whether it can run at this MCS
            make_channel(
                NR_CHANNEL, snr_db=0.0, mcs=index, mcs_table=table, level=level,
                bler_tables=tables or None,
            )  # fmt: skip
        except SymcodecError as exc:
            _fail(key, f"{context}{exc}")

    for index in mcs:
        check_link(index)
        robust = default_protect_mcs(index, table)
        if tables and protected and robust != index:  # shipped tables cover every robust MCS
            check_link(robust, f"protection MCS {robust} of MCS {index}: ")
    return dict(
        mcs=tuple(mcs), mcs_auto=False, mcs_table=table, level=level, fading=fading,
        bler_tables=tables,
    )  # fmt: skip


def _bler_tables(ch: dict, level: str) -> tuple[str, ...]:
    """The ``bler_tables`` paths (already resolved against the study file's folder by
    :func:`resolve_bler_tables`), checked: a non-empty list of existing files, level abstract."""
    if "bler_tables" not in ch:
        return ()
    tables = ch["bler_tables"]
    if not isinstance(tables, list) or not tables or not all(isinstance(t, str) for t in tables):
        _fail("channel.bler_tables", "must be a non-empty list of file paths")
    if level != "abstract":
        _fail("channel.bler_tables", 'BLER tables apply to level = "abstract"')
    missing = [t for t in tables if not os.path.isfile(t)]
    if missing:
        _fail("channel.bler_tables", f"file not found: {missing[0]}")
    return tuple(tables)


def resolve_bler_tables(doc: dict, study_dir: str | os.PathLike) -> dict:
    """``doc`` with its ``channel.bler_tables`` paths taken relative to ``study_dir`` (the
    study file's folder), written relative to the working directory when they lie below it.

    >>> resolve_bler_tables({"channel": {"bler_tables": ["bler/a.json"]}}, "studies")
    {'channel': {'bler_tables': ['studies/bler/a.json']}}
    """
    ch = doc.get("channel")
    if not isinstance(ch, dict) or not isinstance(ch.get("bler_tables"), list):
        return doc
    out = []
    for t in ch["bler_tables"]:
        if not isinstance(t, str):
            return doc  # _bler_tables names the problem
        path = os.path.abspath(os.path.join(os.fspath(study_dir), t))
        rel = os.path.relpath(path)
        out.append(rel if not rel.startswith("..") else path)
    return {**doc, "channel": {**ch, "bler_tables": out}}


def nr_protect_options() -> tuple[str, ...]:
    """The ``protect`` settings of an NR study: the presets of
    :class:`~symcodec.receiver.nr_protection.NrProtection`.

    >>> nr_protect_options()
    ('none', 'side', 'side+msb')
    """
    return PROTECT_PRESETS
