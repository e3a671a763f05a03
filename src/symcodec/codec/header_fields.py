"""Validators of the header's field objects: a tensor record's ``symmetry``,
``quantizer`` (with its ranges or level range), ``positions``, and the entropy coder's
``model`` and ``chunks``; plus the small checks they share (:func:`expect`, :func:`is_int`,
:func:`known_keys`).

Every validator takes the raw JSON value and a ``where`` prefix for its error message, checks
every field before it is used, and raises :class:`SymcodecError` naming the first problem.
:mod:`.header` calls them for every record.

>>> parse_symmetry({"name": "central-skew"}, "tensor 'w'").dof(3)
4
>>> parse_symmetry({"name": "spiral"}, "tensor 'w'")
Traceback (most recent call last):
...
symcodec.errors.SymcodecError: tensor 'w': field 'symmetry': unknown symmetry 'spiral' ...
"""

from __future__ import annotations

import numpy as np

from ..errors import SymcodecError
from ..symmetry import GEOMETRIC_MAPS, NAMED_SYMMETRIES, Symmetry
from .entropy import FAMILIES, MAX_CHUNK_VALUES, EntropyModel
from .limits import MAX_GENERATORS, MAX_KERNEL_POSITIONS, MAX_SYMMETRY_NAME, show_value
from .pruning import Positions, positions_valid
from .quantize import (
    MAX_STEP_LEVEL,
    QuantizerParams,
    QuantizerSpec,
    StepParams,
    float32_step,
    step_width,
)
from .records import DTYPES, RAW_NUMPY_DTYPES

#: The fields of an ``ans`` record (and only of one).
ANS_KEYS = {"model", "chunk_values", "chunks"}


def is_int(value) -> bool:
    """An integer, not a bool (JSON ``true`` parses as a Python bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def expect(condition: bool, message: str) -> None:
    """Raise :class:`SymcodecError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise SymcodecError(message)


def known_keys(doc: dict, allowed: set[str], where: str) -> None:
    """Refuse a field of ``doc`` outside ``allowed``."""
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise SymcodecError(f"{where}: unknown field {show_value(unknown[0])}")


_MODEL_KEYS = {
    "laplace": {"family", "center", "decay"},
    "gaussian": {"family", "center", "decay"},
    "histogram": {"family", "counts"},
}


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_model(raw, where: str, first: int, n: int, count: int) -> EntropyModel:
    """An ``ans`` record's probability model; a histogram must have one count per symbol of
    the quantizer's range, summing to the values sent; a parametric model's centre is a
    multiple of 1/2 within half a symbol of the range, its decay in ``(0, 1)``."""
    where = f"{where}: field 'model'"
    expect(isinstance(raw, dict), f"{where} must be an object")
    family = raw.get("family")
    expect(
        isinstance(family, str) and family in FAMILIES,
        f"{where}: 'family' {show_value(family)} is unknown (known: {', '.join(FAMILIES)})",
    )
    known_keys(raw, _MODEL_KEYS[family], where)
    missing = sorted(_MODEL_KEYS[family] - set(raw))
    expect(not missing, f"{where}: missing {missing[0]!r}" if missing else "")
    if family == "histogram":
        counts = raw["counts"]
        expect(
            isinstance(counts, list) and len(counts) == n,
            f"{where}: 'counts' must list {n} counts (one per level of the quantizer's range)",
        )
        expect(
            all(is_int(c) and 0 <= c <= count for c in counts) and sum(counts) == count,
            f"{where}: 'counts' must be non-negative integers summing to 'count' ({count})",
        )
        return EntropyModel(family, counts=tuple(counts))
    center, decay = raw["center"], raw["decay"]
    ok = _is_number(center) and first - 1 <= center <= first + n
    expect(
        ok and float(2 * center).is_integer(),
        f"{where}: 'center' must be a multiple of 1/2 in [{first - 1}, {first + n}]",
    )
    expect(
        _is_number(decay) and 0 < decay < 1,
        f"{where}: 'decay' must be a number in (0, 1)",
    )
    return EntropyModel(family, center=float(center), decay=float(decay))


def parse_chunks(
    chunk_values, raw, where: str, count: int, n: int
) -> tuple[int, tuple[tuple[int, int], ...]]:
    """``chunk_values`` and the chunk table ``[[bytes, crc32], ...]`` of an ``ans`` record:
    one entry per ``chunk_values`` values sent; lengths in whole 32-bit words (0 when the
    range has a single level: nothing is sent)."""
    expect(
        is_int(chunk_values) and 1 <= chunk_values <= MAX_CHUNK_VALUES,
        f"{where}: field 'chunk_values' must be an integer in 1..{MAX_CHUNK_VALUES}",
    )
    expected = -(-count // chunk_values)
    expect(
        isinstance(raw, list) and len(raw) == expected,
        f"{where}: field 'chunks' must list {expected} chunks "
        f"({count} values, {chunk_values} per chunk)",
    )
    chunks = []
    for entry in raw:
        expect(
            isinstance(entry, list)
            and len(entry) == 2
            and all(is_int(v) for v in entry)
            and 0 <= entry[0] < 2**40
            and 0 <= entry[1] < 2**32,
            f"{where}: field 'chunks' entries must be [bytes, crc32] pairs of integers",
        )
        expect(
            entry[0] % 4 == 0 and (n > 1 or entry[0] == 0),
            f"{where}: field 'chunks' has a length that is not whole 32-bit words"
            if n > 1
            else f"{where}: field 'chunks' must have empty chunks for a one-level range",
        )
        chunks.append((entry[0], entry[1]))
    return chunk_values, tuple(chunks)


def parse_symmetry(raw, where: str) -> Symmetry:
    """A record's ``symmetry`` object, every field checked before a :class:`Symmetry` is built."""
    where = f"{where}: field 'symmetry'"
    expect(isinstance(raw, dict), f"{where} must be an object or null")
    known_keys(raw, {"name", "generators", "signs"}, where)
    name = raw.get("name")
    expect(
        isinstance(name, str) and 0 < len(name) <= MAX_SYMMETRY_NAME,
        f"{where}: 'name' must be a string of 1..{MAX_SYMMETRY_NAME} characters",
    )
    if "generators" not in raw and "signs" not in raw:
        expect(
            name in NAMED_SYMMETRIES,
            f"{where}: unknown symmetry {show_value(name)} (a user-defined symmetry needs "
            "'generators' and 'signs')",
        )
        return NAMED_SYMMETRIES[name]
    generators, signs = raw.get("generators"), raw.get("signs")
    expect(
        isinstance(generators, list)
        and isinstance(signs, list)
        and len(generators) == len(signs) <= MAX_GENERATORS,
        f"{where}: 'generators' and 'signs' must be lists of equal length "
        f"(at most {MAX_GENERATORS})",
    )
    for g in generators:
        if isinstance(g, str):
            expect(g in GEOMETRIC_MAPS, f"{where}: unknown generator {show_value(g)}")
        else:
            expect(
                isinstance(g, list)
                and len(g) <= MAX_KERNEL_POSITIONS
                and all(is_int(p) for p in g),
                f"{where}: a generator must be a map name or a list of at most "
                f"{MAX_KERNEL_POSITIONS} positions",
            )
    expect(all(is_int(s) and s in (1, -1) for s in signs), f"{where}: 'signs' must be +1 or -1")
    try:
        return Symmetry.from_dict(raw)
    except SymcodecError as exc:
        raise SymcodecError(f"{where}: {exc}") from None


def parse_positions(raw, where: str, numel: int, count: int) -> Positions:
    expect(isinstance(raw, dict), f"{where}: field 'positions' must be an object")
    known_keys(raw, {"encoding", "bits", "length"}, f"{where}: positions")
    ok = all(is_int(raw.get(k)) for k in ("bits", "length")) and isinstance(
        raw.get("encoding"), str
    )
    expect(ok, f"{where}: field 'positions' is invalid")
    info = Positions(raw["encoding"], raw["bits"], raw["length"])
    expect(positions_valid(info, numel, count), f"{where}: field 'positions' is inconsistent")
    return info


_STEP_KEYS = {"kind", "bits", "step", "dead_zone", "min_level", "max_level"}
_F32_MAX = float(np.finfo(np.float32).max)


def parse_quantizer(raw, where: str, dtype: str) -> tuple[QuantizerSpec, tuple | StepParams | None]:
    """The quantizer spec and, for ``uniform``, its raw ``(lo, hi)`` lists (type-checked;
    see :func:`parse_ranges`), for ``step`` its level range."""
    expect(isinstance(raw, dict), f"{where}: field 'quantizer' must be an object")
    kind = raw.get("kind")
    expect(isinstance(kind, str), f"{where}: quantizer field 'kind' is invalid")
    allowed = {"kind", "bits"} | (
        {"grid", "per_channel", "lo", "hi"} if kind == "uniform" else set()
    )
    if kind == "step":
        allowed = _STEP_KEYS
    known_keys(raw, allowed, f"{where}: quantizer")
    bits = raw.get("bits")
    expect(is_int(bits), f"{where}: quantizer field 'bits' is invalid")
    is_float = DTYPES[dtype].is_floating_point
    expect(
        (kind == "raw") != is_float,
        f"{where}: quantizer kind {show_value(kind)} does not fit dtype {dtype}",
    )
    if kind == "step":
        return _parse_step(raw, where, bits)
    if kind == "uniform":
        expect(isinstance(raw.get("grid"), str), f"{where}: quantizer field 'grid' is invalid")
    try:
        if kind != "uniform":
            spec = QuantizerSpec(kind=kind, bits=bits)
            if kind == "raw":
                expect(
                    bits == RAW_NUMPY_DTYPES[dtype].itemsize * 8,
                    f"{where}: quantizer field 'bits' does not fit dtype {dtype}",
                )
            return spec, None
        spec = QuantizerSpec(
            kind=kind,
            bits=bits,
            grid=raw.get("grid"),
            per_channel=raw.get("per_channel"),
        )
    except SymcodecError as exc:
        raise SymcodecError(f"{where}: quantizer: {exc}") from None
    expect(isinstance(raw.get("per_channel"), bool), f"{where}: quantizer 'per_channel' invalid")
    lo, hi = raw.get("lo"), raw.get("hi")
    ok = isinstance(lo, list) and isinstance(hi, list) and len(lo) == len(hi) and len(lo) >= 1
    expect(ok, f"{where}: quantizer ranges 'lo'/'hi' are invalid")
    return spec, (lo, hi)


def _parse_step(raw: dict, where: str, bits: int) -> tuple[QuantizerSpec, StepParams]:
    """A ``step`` quantizer: a float32 step > 0, a dead zone in [0, 0.5), a level range
    within +-2**24 whose dequantized ends are finite in float32, and ``bits`` the width of
    its fixed-length code."""
    missing = sorted(_STEP_KEYS - set(raw))
    expect(not missing, f"{where}: quantizer field {missing[0]!r} is missing" if missing else "")
    step, dead_zone = raw["step"], raw["dead_zone"]
    ok = _is_number(step) and 0 < step <= _F32_MAX  # compared before float(): ints can be huge
    if ok:
        try:
            ok = float32_step(step) == float(step)
        except SymcodecError:
            ok = False
    expect(ok, f"{where}: quantizer field 'step' must be a finite float32 number > 0")
    expect(
        _is_number(dead_zone) and 0 <= dead_zone < 0.5,
        f"{where}: quantizer field 'dead_zone' must be a number in [0, 0.5)",
    )
    lo, hi = raw["min_level"], raw["max_level"]
    for key, value in (("min_level", lo), ("max_level", hi)):
        expect(
            is_int(value) and -MAX_STEP_LEVEL <= value <= MAX_STEP_LEVEL,
            f"{where}: quantizer field {key!r} must be an integer in "
            f"-{MAX_STEP_LEVEL}..{MAX_STEP_LEVEL}",
        )
    expect(lo <= hi, f"{where}: quantizer field 'min_level' exceeds 'max_level'")
    expect(
        max(abs(lo), abs(hi)) * float(step) <= _F32_MAX,
        f"{where}: quantizer field 'step' times the level range exceeds float32",
    )
    width = step_width(lo, hi)
    expect(bits == width, f"{where}: quantizer field 'bits' must be {width} for this range")
    spec = QuantizerSpec(kind="step", bits=bits, step=float(step), dead_zone=float(dead_zone))
    return spec, StepParams(lo, hi)


def parse_ranges(lo: list, hi: list, where: str) -> QuantizerParams:
    """Uniform quantizer ranges: numbers (not bools), finite, ``lo <= hi``, within float32."""
    expect(
        all(isinstance(v, int | float) and not isinstance(v, bool) for v in lo)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in hi),
        f"{where}: quantizer ranges 'lo'/'hi' are invalid",
    )
    try:
        lo_a = np.asarray([float(v) for v in lo], dtype=np.float64)
        hi_a = np.asarray([float(v) for v in hi], dtype=np.float64)
    except OverflowError:  # an integer beyond the float range
        raise SymcodecError(f"{where}: quantizer ranges exceed float32") from None
    expect(
        bool(np.isfinite(lo_a).all() and np.isfinite(hi_a).all() and (lo_a <= hi_a).all()),
        f"{where}: quantizer ranges must be finite with lo <= hi",
    )
    expect(
        bool((np.abs(np.concatenate([lo_a, hi_a])) <= np.finfo(np.float32).max).all()),
        f"{where}: quantizer ranges exceed float32",
    )
    return QuantizerParams(lo=lo_a.astype(np.float32), hi=hi_a.astype(np.float32))
