"""Channels by name: which names exist, which parameter each takes, and the factory.

This module is the one home of "which channel takes which parameter":

* :func:`channel_parameter`: the one setting a channel is defined (and swept) by:
  ``awgn`` -> ``"snr_db"``, ``bsc`` and ``erasure`` -> ``"p"``, every modulated channel ->
  ``"ebn0_db"``, ``nr-ldpc`` (a 5G NR link, :class:`~symcodec.channel.nr.NrChannel`) ->
  ``"snr_db"``, ``ideal`` -> None;
* :func:`channel_options`: the other keywords (``erasure``: ``packet_bytes``; ``nr-ldpc``:
  ``mcs`` (required), ``mcs_table``, ``fading``, ``level``, ``symbols_per_tb``,
  ``symbol_rate_hz``);
* :func:`make_channel` builds a channel and refuses missing or extra parameters.

Names are case-insensitive and may be the alias ``rayleigh`` (= ``bpsk-rayleigh``).

>>> [channel_parameter(n) for n in ("ideal", "awgn", "bsc", "erasure", "qam16-rayleigh")]
[None, 'snr_db', 'p', 'p', 'ebn0_db']
>>> channel_parameter("nr-ldpc")
'snr_db'
>>> make_channel("bsc", p=0.5, seed=0)
BSCChannel(p=0.5, seed=0)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

from ..errors import SymcodecError
from .analog import AWGNChannel, IdealChannel
from .base import DEFAULT_PACKET_BYTES, Channel
from .digital import BSCChannel, ErasureChannel, ModulatedChannel
from .nr import NrChannel

__all__ = [
    "ChannelParameter",
    "CHANNEL_PARAMETERS",
    "channel_names",
    "canonical_channel_name",
    "channel_parameter",
    "channel_options",
    "make_channel",
]

#: The setting that defines a channel: SNR per value in dB, Eb/N0 in dB, or a probability.
ChannelParameter = Literal["snr_db", "ebn0_db", "p"]
#: Every value :func:`channel_parameter` can return (besides None).
CHANNEL_PARAMETERS: tuple[ChannelParameter, ...] = ("snr_db", "ebn0_db", "p")

_CHANNEL_NAMES = (
    "ideal",
    "awgn",
    "bsc",
    "bpsk-awgn",
    "qpsk-awgn",
    "qam16-awgn",
    "bpsk-rayleigh",
    "qpsk-rayleigh",
    "qam16-rayleigh",
    "erasure",
)
# channels that need an optional extra (nr-ldpc: ``links``, Sionna)
_EXTRA_CHANNEL_NAMES = ("nr-ldpc",)
_ALIASES = {"rayleigh": "bpsk-rayleigh"}

# name -> its parameter; names not listed are the modulated channels, which take ebn0_db
_PARAMETER: dict[str, ChannelParameter | None] = {
    "ideal": None,
    "awgn": "snr_db",
    "bsc": "p",
    "erasure": "p",
    "nr-ldpc": "snr_db",
}
_OPTIONS: dict[str, tuple[str, ...]] = {
    "erasure": ("packet_bytes",),
    "nr-ldpc": (
        "mcs",
        "mcs_table",
        "fading",
        "level",
        "symbols_per_tb",
        "symbol_rate_hz",
        "bler_tables",
    ),  # fmt: skip
}
_REQUIRED_OPTIONS: dict[str, tuple[str, ...]] = {"nr-ldpc": ("mcs",)}


def channel_names(*, extras: bool = True) -> tuple[str, ...]:
    """Every channel name ``make_channel`` accepts (``rayleigh`` is also accepted, as
    ``bpsk-rayleigh``): the built-in channels, then those that need an optional extra
    (``nr-ldpc``: the ``links`` extra, Sionna). ``extras=False`` leaves the latter out.

    >>> channel_names()[:3], channel_names()[-1]
    (('ideal', 'awgn', 'bsc'), 'nr-ldpc')
    >>> "nr-ldpc" in channel_names(extras=False)
    False
    """
    return _CHANNEL_NAMES + _EXTRA_CHANNEL_NAMES if extras else _CHANNEL_NAMES


def canonical_channel_name(name: str) -> str:
    """``name`` stripped, lower-cased and with aliases resolved; SymcodecError if unknown.

    >>> canonical_channel_name(" Rayleigh ")
    'bpsk-rayleigh'
    """
    if not isinstance(name, str):
        raise SymcodecError(f"channel name must be a string, got {type(name).__name__}")
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _CHANNEL_NAMES + _EXTRA_CHANNEL_NAMES:
        known = ", ".join(_CHANNEL_NAMES + _EXTRA_CHANNEL_NAMES)
        raise SymcodecError(f"unknown channel {name!r}; known: {known}, rayleigh")
    return key


def channel_parameter(name: str) -> ChannelParameter | None:
    """The one parameter channel ``name`` needs (the setting a study sweeps).

    Returns ``"snr_db"`` (``awgn``; ``nr-ldpc``: Es/N0 per channel use), ``"p"`` (``bsc``,
    ``erasure``), ``"ebn0_db"`` (every ``<modulation>-<fading>`` channel and ``rayleigh``) or
    None (``ideal`` takes none).
    Unknown names raise :class:`SymcodecError`.

    >>> channel_parameter("qpsk-awgn"), channel_parameter("ideal")
    ('ebn0_db', None)
    """
    return _PARAMETER.get(canonical_channel_name(name), "ebn0_db")


def channel_options(name: str) -> tuple[str, ...]:
    """The other ``make_channel`` keywords of channel ``name`` (besides ``seed``): optional,
    except ``mcs`` of ``nr-ldpc``.

    >>> channel_options("erasure"), channel_options("awgn")
    (('packet_bytes',), ())
    >>> channel_options("nr-ldpc")[:3]
    ('mcs', 'mcs_table', 'fading')
    """
    return _OPTIONS.get(canonical_channel_name(name), ())


def make_channel(
    name: str,
    *,
    snr_db: float | None = None,
    ebn0_db: float | None = None,
    p: float | None = None,
    packet_bytes: int | None = None,
    mcs: int | None = None,
    mcs_table: str | None = None,
    fading: str | None = None,
    level: str | None = None,
    symbols_per_tb: int | None = None,
    symbol_rate_hz: float | None = None,
    bler_tables: Sequence[str | os.PathLike] | None = None,
    seed: int | None = None,
) -> Channel:
    """Build a channel by name (SPEC section 5).

    Parameters by name (see :func:`channel_parameter`): ``ideal``: none; ``awgn``: ``snr_db``;
    ``bsc``: ``p``; ``<bpsk|qpsk|qam16>-<awgn|rayleigh>`` and ``rayleigh``: ``ebn0_db``;
    ``erasure``: ``p`` and optionally ``packet_bytes`` (default ``DEFAULT_PACKET_BYTES``);
    ``nr-ldpc``: ``snr_db`` and ``mcs``, optionally ``mcs_table`` (``qam64``), ``fading``
    (``awgn``), ``level`` (``bit-true``), ``symbols_per_tb``, ``symbol_rate_hz`` and
    ``bler_tables`` (defaults of :class:`~symcodec.channel.nr.NrChannel`; needs the ``links``
    extra). A missing, extra
    or out-of-range parameter raises :class:`SymcodecError`.

    Args:
        name: one of :func:`channel_names` (or ``rayleigh``).
        snr_db: SNR per value in dB.
        ebn0_db: Eb/N0 in dB.
        p: bit flip (``bsc``) or packet loss (``erasure``) probability in [0, 1].
        packet_bytes: erasure packet size in bytes.
        mcs, mcs_table, fading, level, symbols_per_tb, symbol_rate_hz, bler_tables: ``nr-ldpc``
            settings.
        seed: seed of the channel's generator (None: OS entropy).

    >>> make_channel("qpsk-rayleigh", ebn0_db=10.0, seed=3)
    ModulatedChannel(modulation='qpsk', ebn0_db=10.0, fading='rayleigh', seed=3)
    >>> make_channel("awgn", p=0.1)
    Traceback (most recent call last):
    ...
    symcodec.errors.SymcodecError: channel 'awgn' needs snr_db
    """
    key = canonical_channel_name(name)
    given = {
        k: v
        for k, v in {
            "snr_db": snr_db,
            "ebn0_db": ebn0_db,
            "p": p,
            "packet_bytes": packet_bytes,
            "mcs": mcs,
            "mcs_table": mcs_table,
            "fading": fading,
            "level": level,
            "symbols_per_tb": symbols_per_tb,
            "symbol_rate_hz": symbol_rate_hz,
            "bler_tables": bler_tables,
        }.items()
        if v is not None
    }
    parameter = channel_parameter(key)
    needed = (() if parameter is None else (parameter,)) + _REQUIRED_OPTIONS.get(key, ())
    optional = channel_options(key)
    for k in needed:
        if k not in given:
            raise SymcodecError(f"channel {key!r} needs {k}")
    for k in given:
        if k not in needed and k not in optional:
            raise SymcodecError(f"channel {key!r} takes no {k}")
    if key == "ideal":
        return IdealChannel(seed=seed)
    if key == "awgn":
        return AWGNChannel(snr_db, seed=seed)
    if key == "bsc":
        return BSCChannel(p, seed=seed)
    if key == "erasure":
        pb = DEFAULT_PACKET_BYTES if packet_bytes is None else packet_bytes
        return ErasureChannel(p, pb, seed=seed)
    if key == "nr-ldpc":
        nr_options = {k: v for k, v in given.items() if k not in ("snr_db", "mcs")}
        return NrChannel(snr_db, mcs, seed=seed, **nr_options)
    modulation, fading_model = key.split("-")
    return ModulatedChannel(modulation, ebn0_db, fading_model, seed=seed)
