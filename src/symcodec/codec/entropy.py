"""The ``ans`` coder: quantized levels entropy-coded with rANS (``constriction``).

A record coded with ``ans`` sends the integer symbols of its quantizer (the levels of a
``step`` quantizer, the codes of a ``uniform`` one) with one probability model per tensor:

* ``laplace``: a discrete Laplace (two-sided geometric) distribution: symbol ``k`` has
  weight ``decay ** |2k - 2 center|``; two numbers of side information.
* ``gaussian``: a discrete Gaussian: weight ``decay ** ((2k - 2 center) ** 2)``.
* ``histogram``: the symbol counts of the tensor itself (the empirical distribution), one
  number per symbol of the quantizer's range.

``center`` is a multiple of 1/2 and ``decay`` a float64 in ``(0, 1)``, both carried exactly in
the header, so the table of a parametric model is built from IEEE multiplications alone
(:meth:`EntropyModel.weights`; no ``exp``/``erf`` whose last bit could differ between
platforms) and both ends get the same table bit for bit. The encoder picks the model with
the smallest estimated payload plus side information (the bits of the model's JSON in the
header). Both ends hand the table to
``constriction.stream.model.Categorical(weights, perfect=False)``.

The values are cut into chunks of ``chunk_values`` values (the last may be shorter), each
coded by its own ``constriction.stream.stack.AnsCoder`` into little-endian 32-bit words, so
each chunk decodes on its own: a bit error costs one chunk, never the model (which travels
in the protected header). No Python loop runs over the values, only over the chunks.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> levels = np.round(rng.laplace(0.0, 3.0, 5000)).astype(np.int32)
>>> first, n = int(levels.min()), int(levels.max() - levels.min() + 1)
>>> model, _ = fit_model(levels - first, first, n)
>>> model.family
'laplace'
>>> chunks = encode_chunks(levels - first, model, first, n, chunk_values=2048)
>>> len(chunks)
3
>>> back = decode_chunks(chunks, model, first, n, 5000, chunk_values=2048)
>>> bool((back + first == levels).all())
True
>>> rate = 8 * sum(len(c) for c in chunks) / 5000
>>> bound = entropy_bits(np.bincount(levels - first)) / 5000
>>> bool(bound <= rate < bound + 0.05)
True
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SymcodecError

FAMILIES = ("laplace", "gaussian", "histogram")
DEFAULT_CHUNK_VALUES = 16384
MAX_CHUNK_VALUES = 2**22
# Symbols in the range of an ``ans`` record (a 16-bit uniform quantizer has 65,536).
MAX_ALPHABET = 2**16
# A parametric model's table: weight 1 + floor(decay ** e * 2**TABLE_BITS).
TABLE_BITS = 24
_MIN_SCALE, _MAX_SCALE = 2.0**-4, 2.0**20  # the encoder's search, in symbols
_SEARCH_POINTS, _SEARCH_PASSES = 41, 2  # the encoder's grids over the log scale
_DECAY_MIN, _DECAY_MAX = 1e-300, math.nextafter(1.0, 0.0)  # a decay is kept inside (0, 1)
_LOG_DECAY_MIN, _LOG_DECAY_MAX = math.log(_DECAY_MIN), math.log(_DECAY_MAX)


# What constriction raises on data or tables it refuses (a Rust panic is caught by name).
_CONSTRICTION_ERRORS = (ValueError, KeyError, TypeError, IndexError, OverflowError, RuntimeError)


class ChunkError(Exception):
    """A chunk whose data cannot be decoded (corrupt data)."""


@contextlib.contextmanager
def _refusals_as(error: type[Exception], what: str, with_message: bool = False):
    """Re-raise what constriction refuses, a Rust panic included, as ``error("what (Kind)")``,
    or ``error("what (message)")`` with ``with_message`` (constriction's own words).

    pyo3 raises a Rust panic as ``PanicException``, a ``BaseException``, so it is caught by
    name; any other ``BaseException`` (``KeyboardInterrupt``) passes through.
    """
    try:
        yield
    except _CONSTRICTION_ERRORS as exc:
        raise error(f"{what} ({exc if with_message else type(exc).__name__})") from None
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise error(f"{what} (PanicException)") from None


def _half_distances(first: int, n: int, center: float) -> np.ndarray:
    """``|2k - 2 center|`` for the symbols ``k = first .. first + n - 1`` (int64)."""
    k2 = 2 * (np.arange(n, dtype=np.int64) + first)
    return np.abs(k2 - int(round(2 * center)))


def _powers(decay: float, top: int, family: str) -> np.ndarray:
    """``decay ** e`` (Laplace) or ``decay ** (e * e)`` (Gaussian) for ``e = 0 .. top``,
    by running products (IEEE multiplications in a fixed order: the same on every
    platform)."""
    out = np.empty(top + 1, dtype=np.float64)
    out[0] = 1.0
    if top == 0:
        return out
    if family == "laplace":
        np.multiply.accumulate(np.full(top, decay), out=out[1:])
        return out
    # decay ** (e * e) = prod_{j < e} decay ** (2j + 1); decay ** (2j + 1) = decay (decay**2)**j
    odd = np.full(top, decay * decay)
    odd[0] = decay
    np.multiply.accumulate(odd, out=odd)
    np.multiply.accumulate(odd, out=out[1:])
    return out


def _parametric_weights(e: np.ndarray, decay: float, family: str) -> np.ndarray:
    """``1 + floor(decay ** e * 2**24)`` (Laplace) or with ``e * e`` (Gaussian), for the
    half distances ``e`` of the symbols (:func:`_half_distances`)."""
    table = _powers(decay, int(e.max()) if e.size else 0, family)
    return np.floor(table[e] * 2.0**TABLE_BITS) + 1.0


@dataclass(frozen=True)
class EntropyModel:
    """The probability model of one ``ans`` record (see the module docstring).

    Attributes:
        family: ``laplace``, ``gaussian`` or ``histogram``.
        center: centre of a parametric model in symbols (levels or codes), a multiple of 1/2.
        decay: a parametric model's decay per half symbol (``laplace``) or per squared half
            symbol (``gaussian``), in ``(0, 1)``.
        counts: ``histogram``: the count of every symbol of the range, lowest first.
    """

    family: str
    center: float = 0.0
    decay: float = 0.5
    counts: tuple[int, ...] = ()

    def to_json(self) -> dict:
        if self.family == "histogram":
            return {"family": self.family, "counts": list(self.counts)}
        return {"family": self.family, "center": self.center, "decay": self.decay}

    @functools.cached_property
    def side_bits(self) -> int:
        """Bits of this model in the header (its compact JSON)."""
        return 8 * len(json.dumps(self.to_json(), separators=(",", ":")))

    def weights(self, first: int, n: int) -> np.ndarray:
        """Integer weights (as float64) of the ``n`` symbols ``first .. first + n - 1``.

        ``histogram``: the counts. ``laplace``/``gaussian``: ``1 + floor(decay ** e * 2**24)``
        with ``e = |2k - 2 center|`` (Laplace) or its square (Gaussian).

        >>> EntropyModel("laplace", center=0.5, decay=0.5).weights(-1, 4).tolist()
        [2097153.0, 8388609.0, 8388609.0, 2097153.0]
        >>> EntropyModel("gaussian", center=0.0, decay=0.5).weights(-1, 3).tolist()
        [1048577.0, 16777217.0, 1048577.0]
        """
        if self.family == "histogram":
            return np.asarray(self.counts, dtype=np.float64)
        return _parametric_weights(_half_distances(first, n, self.center), self.decay, self.family)

    def categorical(self, first: int, n: int):
        """The ``constriction`` model of this table (``n >= 2``)."""
        import constriction

        weights = self.weights(first, n)
        with _refusals_as(SymcodecError, "entropy model is not usable", with_message=True):
            return constriction.stream.model.Categorical(weights, perfect=False)


def entropy_bits(counts: np.ndarray) -> float:
    """Empirical entropy of a histogram times its total: the bound of a memoryless coder
    that knows the distribution exactly, in bits.

    >>> entropy_bits(np.array([2, 0, 1, 1]))
    6.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return 0.0
    nz = counts[counts > 0]
    return float(-(nz * np.log2(nz / total)).sum())


def _model_cost(model: EntropyModel, nz: np.ndarray, c: np.ndarray, first: int, n: int) -> float:
    """Bits of the symbols ``first + nz`` (counts ``c``) under the model's table."""
    return _table_bits(model.weights(first, n), nz, c)


def _table_bits(w: np.ndarray, nz: np.ndarray, c: np.ndarray) -> float:
    """Bits of the symbols ``nz`` (counts ``c``) under the weights ``w``."""
    return float(-(c * np.log2(w[nz] / w.sum())).sum())


def _decay(family: str, scale: float) -> float:
    """The decay of a Laplace of scale ``b`` / a Gaussian of standard deviation ``s`` (in
    symbols): ``exp(-1 / (2b))`` per half symbol, ``exp(-1 / (8 s**2))`` per squared one."""
    value = (
        math.exp(-1.0 / (2.0 * scale))
        if family == "laplace"
        else math.exp(-1.0 / (8.0 * scale * scale))
    )
    return min(max(value, _DECAY_MIN), _DECAY_MAX)


def _fit_parametric(
    family: str, nz: np.ndarray, c: np.ndarray, first: int, n: int
) -> tuple[EntropyModel, float]:
    """Centre from the data (median for Laplace, mean for Gaussian, to the nearest half
    symbol), then a search of the cost over the scale (log axis) around the moment estimate:
    :data:`_SEARCH_PASSES` grids of :data:`_SEARCH_POINTS` scales, each pass narrowed to the
    neighbours of the last one's best (:func:`_search_costs`)."""
    k = (nz + first).astype(np.float64)
    total = c.sum()
    if family == "laplace":
        center = float(k[int(np.searchsorted(np.cumsum(c), total / 2.0))])
        guess = float((c * np.abs(k - center)).sum() / total)
    else:
        center = round(2.0 * float((c * k).sum() / total)) / 2.0
        guess = float(np.sqrt((c * (k - center) ** 2).sum() / total))
    guess = min(max(guess, _MIN_SCALE), _MAX_SCALE)
    lo = math.log(max(guess / 16.0, _MIN_SCALE))
    hi = math.log(min(guess * 16.0, _MAX_SCALE))
    e = _half_distances(first, n, center).astype(np.float64)
    exponents = e if family == "laplace" else e * e
    for _ in range(_SEARCH_PASSES):
        grid = np.linspace(lo, hi, _SEARCH_POINTS)
        best = int(np.argmin(_search_costs(family, exponents, nz, c, grid)))
        lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, _SEARCH_POINTS - 1)]
    model = EntropyModel(family, center=center, decay=_decay(family, math.exp(grid[best])))
    return model, _model_cost(model, nz, c, first, n)


def _search_costs(
    family: str, exponents: np.ndarray, nz: np.ndarray, c: np.ndarray, log_scales: np.ndarray
) -> np.ndarray:
    """Bits of the symbols ``nz`` (counts ``c``) under the table of every scale in
    ``log_scales`` at once: :func:`_table_bits` of :func:`_parametric_weights`, with the
    powers ``decay ** exponents`` taken by ``exp`` instead of running products. The search
    only ranks nearby scales, so its last bits do not matter; the chosen model's cost, and
    the table both ends build, come from the exact products."""
    scales = np.exp(log_scales)
    log_decay = -1.0 / (2.0 * scales) if family == "laplace" else -1.0 / (8.0 * scales * scales)
    np.clip(log_decay, _LOG_DECAY_MIN, _LOG_DECAY_MAX, out=log_decay)  # _decay's bounds
    weights = np.exp(np.multiply.outer(log_decay, exponents))
    weights *= 2.0**TABLE_BITS
    np.floor(weights, out=weights)
    weights += 1.0
    return c.sum() * np.log2(weights.sum(axis=1)) - np.log2(weights[:, nz]) @ c


def fit_model(symbols: np.ndarray, first: int, n: int) -> tuple[EntropyModel, float]:
    """The model with the smallest estimated payload + side bits for ``symbols`` (offsets
    ``0 .. n - 1`` into the range ``first .. first + n - 1``); returns it and the payload
    estimate in bits.

    >>> fit_model(np.zeros(100, dtype=np.int32), 5, 1)[0].family   # one symbol: no payload
    'laplace'
    """
    if n < 1 or n > MAX_ALPHABET:
        raise SymcodecError(f"an ans record has 1..{MAX_ALPHABET} symbols, got {n}")
    if n == 1 or symbols.size == 0:
        return EntropyModel("laplace", center=float(first), decay=0.5), 0.0
    counts = np.bincount(symbols, minlength=n)
    nz = np.flatnonzero(counts)
    c = counts[nz].astype(np.float64)
    histogram = EntropyModel("histogram", counts=tuple(counts.tolist()))
    candidates = [
        (entropy_bits(counts), histogram),
        _fit_parametric("laplace", nz, c, first, n)[::-1],
        _fit_parametric("gaussian", nz, c, first, n)[::-1],
    ]
    best = min(candidates, key=lambda item: item[0] + item[1].side_bits)
    return best[1], best[0]


def chunk_bounds(count: int, chunk_values: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of every chunk of ``count`` values."""
    return [(s, min(s + chunk_values, count)) for s in range(0, count, chunk_values)]


def encode_chunks(
    symbols: np.ndarray, model: EntropyModel, first: int, n: int, chunk_values: int
) -> list[bytes]:
    """Code ``symbols`` (offsets ``0 .. n - 1``) chunk by chunk; one bytes object per chunk
    (empty chunks when the range has one symbol: nothing to send)."""
    import constriction

    symbols = np.ascontiguousarray(symbols, dtype=np.int32).reshape(-1)
    bounds = chunk_bounds(symbols.shape[0], chunk_values)
    if n == 1:
        return [b"" for _ in bounds]
    table = model.categorical(first, n)
    out = []
    for start, stop in bounds:
        coder = constriction.stream.stack.AnsCoder()
        coder.encode_reverse(symbols[start:stop], table)
        out.append(coder.get_compressed().astype("<u4", copy=False).tobytes())
    return out


def decode_chunk(data: bytes | memoryview, table, count: int, n: int) -> np.ndarray:
    """Offsets of one chunk of ``count`` values; :class:`ChunkError` if the data is corrupt
    (constriction refuses it, words are left over, or a symbol falls outside the range)."""
    import constriction

    if n == 1:
        if len(data):
            raise ChunkError("a one-symbol range sends no data")
        return np.zeros(count, dtype=np.int32)
    if len(data) % 4:
        raise ChunkError("length is not a whole number of 32-bit words")
    words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    with _refusals_as(ChunkError, "undecodable"):
        coder = constriction.stream.stack.AnsCoder(words)
        out = coder.decode(table, count)
        empty = coder.is_empty()
    if not empty:
        raise ChunkError("data left over after the last value")
    out = np.asarray(out, dtype=np.int32)
    if out.size and (int(out.min()) < 0 or int(out.max()) >= n):
        raise ChunkError("symbol outside the range")
    return out


def decode_chunks(
    chunks: Sequence[bytes | memoryview],
    model: EntropyModel,
    first: int,
    n: int,
    count: int,
    chunk_values: int,
    lost: set[int] | None = None,
) -> np.ndarray:
    """All offsets of a record (``count`` values). A chunk that fails raises
    :class:`ChunkError`, unless ``lost`` is a set: then its index is added there and its
    values are left at 0."""
    bounds = chunk_bounds(count, chunk_values)
    out = np.zeros(count, dtype=np.int32)
    table = model.categorical(first, n) if n > 1 and bounds else None
    for index, ((start, stop), data) in enumerate(zip(bounds, chunks, strict=True)):
        if lost is not None and index in lost:
            continue
        try:
            out[start:stop] = decode_chunk(data, table, stop - start, n)
        except ChunkError as exc:
            if lost is None:
                raise ChunkError(f"chunk {index}: {exc}") from None
            lost.add(index)
    return out
