"""Uniform and step-size quantizers (SPEC section 4).

Uniform quantizers have ``2**bits`` codes (``bits`` per value) and two grids, both
dequantizing to bin centres:

* ``minmax``: ``2**bits`` bins of width ``(hi - lo) / 2**bits`` over ``[lo, hi]``.
* ``symmetric``: ``2**bits - 1`` bins of width ``2 M / (2**bits - 1)`` over ``[-M, M]``
  with ``M = max|x|``, centred on the multiples of the width, so ``0`` is a level and
  ``x`` and ``-x`` map to opposite levels (needed to keep skew kernels skew). The top
  code ``2**bits - 1`` is unused; a decoder clamps it (a bit error can produce it).

``lo``/``hi`` are per tensor or per output channel (dim 0). ``float16`` and ``float32``
pass values through in IEEE format; ``raw`` carries non-float tensors byte for byte.

The ``step`` quantizer has a step size ``S`` instead of a bit width: the level of ``x`` is
``sign(x) * floor(|x| / S + 0.5 - dead_zone)`` (``dead_zone`` in ``[0, 0.5)``; 0 is plain
rounding, half away from zero), so the number of levels follows from the data, and a level
``l`` dequantizes to ``l * S`` in float32. Rounding is odd (``-x`` gets level ``-l``), so skew
kernels stay skew and 0 is a level.

>>> import torch
>>> spec = QuantizerSpec(kind="uniform", bits=4, grid="symmetric")
>>> x = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])   # M = 1, 15 bins of width 2/15
>>> q = quantize(x, spec)
>>> dequantize(q.codes, q.params, spec, x.shape).tolist()
[-0.9333333969116211, -0.5333333611488342, 0.0, 0.5333333611488342, 0.9333333969116211]

A step of 0.5, first without and then with a dead zone of 0.25 (``|x| < 0.375`` goes to 0):

>>> x = torch.tensor([-1.3, -0.3, 0.0, 0.26, 0.3, 0.74, 0.76, 2.0])
>>> q = quantize(x, QuantizerSpec(kind="step", step=0.5))
>>> q.codes.tolist(), (q.params.min_level, q.params.max_level)
([-3, -1, 0, 1, 1, 1, 2, 4], (-3, 4))
>>> quantize(x, QuantizerSpec(kind="step", step=0.5, dead_zone=0.25)).codes.tolist()
[-2, 0, 0, 0, 0, 1, 1, 4]
>>> spec = QuantizerSpec(kind="step", step=0.5)
>>> dequantize(q.codes, q.params, spec, x.shape).tolist()
[-1.5, -0.5, 0.0, 0.5, 0.5, 0.5, 1.0, 2.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SymcodecError

KINDS = ("uniform", "step", "float16", "float32", "raw")
GRIDS = ("minmax", "symmetric")
MIN_BITS, MAX_BITS = 2, 16
# ``step`` quantizer: the largest |level| (levels and their products with a float32 step are
# exact in float32), and so the widest fixed-length code: a level range of at most 2**25.
MAX_STEP_LEVEL = 2**24
MAX_STEP_BITS = 26
_F32_MAX = float(np.finfo(np.float32).max)


def float32_step(step) -> float:
    """``step`` rounded to float32 (what a stream carries), checked finite and positive.

    >>> float32_step(0.1)
    0.10000000149011612
    """
    if isinstance(step, bool) or not isinstance(step, int | float | np.floating | np.integer):
        raise SymcodecError(f"step must be a number, got {type(step).__name__}")
    value = float(step)
    if not (math.isfinite(value) and value > 0):
        raise SymcodecError(f"step must be a finite number > 0, got {value!r}")
    with np.errstate(over="ignore", under="ignore"):
        rounded = float(np.float32(value))
    if not (math.isfinite(rounded) and rounded > 0):
        raise SymcodecError(f"step {value!r} is not representable in float32")
    return rounded


def check_dead_zone(dead_zone) -> float:
    """A dead zone (rounding offset) in ``[0, 0.5)``."""
    if isinstance(dead_zone, bool) or not isinstance(dead_zone, int | float | np.floating):
        raise SymcodecError(f"dead_zone must be a number, got {type(dead_zone).__name__}")
    value = float(dead_zone)
    if not 0.0 <= value < 0.5:
        raise SymcodecError(f"dead_zone must be in [0, 0.5), got {value!r}")
    return value


def step_width(min_level: int, max_level: int) -> int:
    """Bits of the fixed-length code of a level range: ``max(1, bit_length(max - min))``.

    >>> step_width(-3, 4), step_width(0, 0), step_width(-128, 127)
    (3, 1, 8)
    """
    return max(1, int(max_level - min_level).bit_length())


@dataclass(frozen=True)
class QuantizerSpec:
    """How the values of one tensor are turned into codes.

    Attributes:
        kind: ``uniform`` (``bits`` in 2..16), ``step``, ``float16``, ``float32`` or ``raw``.
        bits: bits per value (16 for float16, 32 for float32, the item size for raw). For
            ``step``, the width of the fixed-length code of the level range
            (:func:`step_width`), known once the values are quantized (0 until then).
        grid: ``minmax`` or ``symmetric`` (uniform only).
        per_channel: one range per output channel (dim 0) instead of one per tensor.
        step: the step size ``S`` of a ``step`` quantizer (> 0; rounded to float32).
        dead_zone: the rounding offset of a ``step`` quantizer, in ``[0, 0.5)``.
    """

    kind: str = "uniform"
    bits: int = 8
    grid: str = "minmax"
    per_channel: bool = False
    step: float | None = None
    dead_zone: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SymcodecError(f"unknown quantizer kind {self.kind!r}; known: {', '.join(KINDS)}")
        if self.kind == "step":
            if self.step is None:
                raise SymcodecError("a step quantizer needs a step size")
            object.__setattr__(self, "step", float32_step(self.step))  # what a stream carries
            check_dead_zone(self.dead_zone)
            if not 0 <= self.bits <= MAX_STEP_BITS:
                raise SymcodecError(f"step codes have 1..{MAX_STEP_BITS} bits, got {self.bits}")
            if self.per_channel:
                raise SymcodecError("a step quantizer has one step per tensor (no per_channel)")
        elif self.step is not None or self.dead_zone != 0.0:
            raise SymcodecError(f"step and dead_zone apply to step quantizers, not {self.kind}")
        if self.kind == "uniform" and not MIN_BITS <= self.bits <= MAX_BITS:
            raise SymcodecError(
                f"bits must be in {MIN_BITS}..{MAX_BITS} (or 32 for float32), got {self.bits}"
            )
        if self.kind == "float16" and self.bits != 16:
            raise SymcodecError(f"float16 values have 16 bits, got {self.bits}")
        if self.kind == "float32" and self.bits != 32:
            raise SymcodecError(f"float32 values have 32 bits, got {self.bits}")
        if self.kind == "raw" and self.bits not in (8, 16, 32, 64):
            raise SymcodecError(f"raw values have 8, 16, 32 or 64 bits, got {self.bits}")
        if self.grid not in GRIDS:
            raise SymcodecError(f"unknown quantizer grid {self.grid!r}; known: {', '.join(GRIDS)}")

    @property
    def is_quantized(self) -> bool:
        """Whether values become integer codes (``uniform``, ``step``) an entropy coder takes."""
        return self.kind in ("uniform", "step")

    @property
    def levels(self) -> int:
        """Number of distinct dequantized values of a uniform quantizer."""
        if self.kind != "uniform":
            raise SymcodecError(f"a {self.kind} quantizer has no level count")
        return 2**self.bits - (1 if self.grid == "symmetric" else 0)

    @property
    def max_code(self) -> int:
        """Largest valid code (a decoder clamps larger ones)."""
        return self.levels - 1


@dataclass(frozen=True)
class QuantizerParams:
    """The ranges a uniform quantizer used: ``lo``/``hi`` per tensor or per channel."""

    lo: np.ndarray  # float32, shape (1,) or (channels,)
    hi: np.ndarray


@dataclass(frozen=True)
class StepParams:
    """The level range a step quantizer produced: ``min_level <= level <= max_level``."""

    min_level: int
    max_level: int

    @property
    def width(self) -> int:
        """Bits of a fixed-length code of the range (:func:`step_width`)."""
        return step_width(self.min_level, self.max_level)

    @property
    def levels(self) -> int:
        """Levels in the range (the alphabet of an entropy coder)."""
        return self.max_level - self.min_level + 1


@dataclass(frozen=True)
class Quantized:
    """Codes (a flat numpy array: uint8, uint16, int32 levels of a step quantizer, or the raw
    bytes' dtype) and parameters."""

    codes: np.ndarray
    params: QuantizerParams | StepParams | None


def _channel_view(x: torch.Tensor, per_channel: bool) -> torch.Tensor:
    if per_channel and x.dim() >= 1 and x.numel() > 0:
        return x.reshape(x.shape[0], -1)
    return x.reshape(1, -1)


def quantize(values: torch.Tensor, spec: QuantizerSpec) -> Quantized:
    """Quantize ``values`` (any shape) to a flat array of codes, in C order.

    Non-finite values are rejected: a range cannot be chosen for them.
    """
    if spec.kind == "raw":
        return Quantized(values.detach().cpu().contiguous().numpy().reshape(-1), None)
    x = values.detach().to(torch.float32).cpu()
    if spec.kind == "float32":
        return Quantized(x.contiguous().numpy().reshape(-1), None)
    if spec.kind == "float16":
        return Quantized(x.to(torch.float16).contiguous().numpy().reshape(-1), None)
    if spec.kind == "step":
        return _quantize_step(x, spec)
    rows = _channel_view(x, spec.per_channel)
    if rows.numel() == 0:
        lo = hi = torch.zeros(rows.shape[0], 1)
    elif spec.grid == "symmetric":
        hi = rows.abs().amax(dim=1, keepdim=True)
        lo = -hi
    else:
        lo = rows.amin(dim=1, keepdim=True)
        hi = rows.amax(dim=1, keepdim=True)
    # min and max are non-finite exactly when some value is (nan propagates through both)
    if not bool(torch.isfinite(lo).all() and torch.isfinite(hi).all()):
        raise SymcodecError("cannot quantize non-finite values (inf or nan)")
    codes = _codes(rows, lo, hi, spec)
    dtype = np.uint8 if spec.bits <= 8 else np.uint16
    codes_np = codes.numpy().astype(dtype, copy=False).reshape(-1)
    params = QuantizerParams(
        lo=lo.reshape(-1).numpy().astype(np.float32), hi=hi.reshape(-1).numpy().astype(np.float32)
    )
    return Quantized(codes_np, params)


def _quantize_step(x: torch.Tensor, spec: QuantizerSpec) -> Quantized:
    """Levels ``sign(x) floor(|x| / S + 0.5 - dead_zone)`` (in float64, numpy) as int32.

    The level is a non-decreasing function of ``x`` (0 at 0, as ``dead_zone < 0.5``), so the
    lowest and highest levels are those of the lowest and highest value, computed alone with
    the same float64 operations (:func:`_step_level`) instead of scanning the levels.
    """
    assert spec.step is not None
    flat = x.reshape(-1).contiguous().numpy()
    if flat.size == 0:
        return Quantized(np.zeros(0, dtype=np.int32), StepParams(0, 0))
    lowest, highest = float(flat.min()), float(flat.max())  # nan propagates, inf stays inf
    top = max(-lowest, highest) / spec.step  # = max |x| / S: division is monotone
    if not math.isfinite(top):
        raise SymcodecError("cannot quantize non-finite values (inf or nan)")
    if top + 0.5 - spec.dead_zone >= MAX_STEP_LEVEL + 1:
        raise SymcodecError(
            f"step {spec.step:g} is too small for these values: max |x| / step is {top:.4g}, "
            f"levels are limited to +-{MAX_STEP_LEVEL}"
        )
    scaled = np.divide(np.abs(flat), spec.step, dtype=np.float64)  # |x| exact in float32
    scaled += 0.5 - spec.dead_zone
    np.floor(scaled, out=scaled)
    np.copysign(scaled, flat, out=scaled)  # whole numbers: the cast below is exact
    levels = scaled.astype(np.int32)
    return Quantized(levels, StepParams(_step_level(lowest, spec), _step_level(highest, spec)))


def _step_level(value: float, spec: QuantizerSpec) -> int:
    """The level of one value, by the float64 operations of :func:`_quantize_step`."""
    assert spec.step is not None
    return int(math.copysign(math.floor(abs(value) / spec.step + (0.5 - spec.dead_zone)), value))


def _codes(rows: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, spec: QuantizerSpec):
    span = hi - lo
    safe_span = torch.where(span > 0, span, torch.ones_like(span))
    if spec.grid == "symmetric":
        half = 2 ** (spec.bits - 1) - 1
        # step = 2M / (2 half + 1); q = round(x / step) + half
        scale = torch.where(span > 0, (2 * half + 1) / safe_span, torch.zeros_like(span))
        codes = torch.mul(rows, scale).round_().clamp_(-half, half).add_(half)
    else:
        levels = 2**spec.bits
        scale = torch.where(span > 0, levels / safe_span, torch.zeros_like(span))
        codes = torch.sub(rows, lo).mul_(scale).floor_().clamp_(0, levels - 1)
    out_dtype = torch.uint8 if spec.bits <= 8 else torch.int32
    return codes.to(out_dtype)


def dequantize(
    codes: np.ndarray,
    params: QuantizerParams | None,
    spec: QuantizerSpec,
    shape: tuple[int, ...],
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Map codes back to values (bin centres) of ``shape``; out-of-range codes are clamped."""
    count = int(np.prod(shape, dtype=np.int64))
    if spec.kind == "raw":
        return torch.from_numpy(np.array(codes, copy=True)).reshape(shape)
    if spec.kind in ("float32", "float16"):
        return torch.from_numpy(np.array(codes, copy=True)).to(dtype).reshape(shape)
    if spec.kind == "step":
        return (
            dequantize_levels(np.asarray(codes).reshape(-1)[:count], spec).reshape(shape).to(dtype)
        )
    assert params is not None
    flat_codes = np.asarray(codes).reshape(-1)[:count]
    channels = params.lo.shape[0]
    # Arithmetic on the codes, in place, in the order of :func:`level_table`, so every
    # value equals the table's entry bit for bit (no table: it would take 256 KiB per
    # channel at 16 bits, and a lookup is slower than these vectorized passes).
    return _dequantize_direct(flat_codes, params, spec, channels).reshape(shape).to(dtype)


def dequantize_levels(levels: np.ndarray, spec: QuantizerSpec) -> torch.Tensor:
    """Step quantizer levels to float32 values ``level * S`` (see :class:`StepGrid`)."""
    values = torch.from_numpy(np.asarray(levels).astype(np.float32))
    return StepGrid.of(spec).values_(values)


@dataclass(frozen=True)
class StepGrid:
    """The dequantization of a step quantizer: level ``l`` to ``l * S`` in float32 (exact:
    ``|l| <= 2**24`` and ``S`` is a float32, so the float32 product is the correctly rounded
    real product)."""

    step: float

    @classmethod
    def of(cls, spec: QuantizerSpec) -> StepGrid:
        """The grid of a ``step`` quantizer."""
        assert spec.step is not None
        return cls(spec.step)

    def rows(self, channels: slice) -> StepGrid:
        """The grid of a run of channels: the same step for all."""
        return self

    def values_(self, levels: torch.Tensor) -> torch.Tensor:
        """Turn ``levels`` (float32, any shape) into values in place."""
        return levels.mul_(self.step)


@dataclass(frozen=True)
class UniformGrid:
    """The per-channel arithmetic of a uniform quantizer's dequantization, as float32
    ``(channels, 1)`` tensors: ``minmax`` codes go to ``(code + 0.5) * step + lo``,
    ``symmetric`` ones to ``(min(code, max_code) - half) * step``, in that order (the order of
    :func:`level_table`, so every value equals the table's entry bit for bit)."""

    spec: QuantizerSpec
    lo: torch.Tensor
    step: torch.Tensor

    @classmethod
    def of(cls, params: QuantizerParams, spec: QuantizerSpec) -> UniformGrid:
        """The grid of ``params`` (one row per channel, or one for the tensor)."""
        lo = torch.from_numpy(params.lo.astype(np.float32)).reshape(-1, 1)
        hi = torch.from_numpy(params.hi.astype(np.float32)).reshape(-1, 1)
        if spec.grid == "symmetric":
            half = 2 ** (spec.bits - 1) - 1
            return cls(spec, lo, (hi - lo) / (2 * half + 1))
        return cls(spec, lo, (hi - lo) / 2**spec.bits)

    def rows(self, channels: slice) -> UniformGrid:
        """The grid of a run of channels (the whole grid if it has a single row)."""
        if self.lo.shape[0] == 1:
            return self
        return UniformGrid(self.spec, self.lo[channels], self.step[channels])

    def values_(self, codes: torch.Tensor) -> torch.Tensor:
        """Turn ``codes`` (float32, one row per channel of this grid, or any shape for a
        one-row grid) into values in place; out-of-range codes are clamped."""
        spec = self.spec
        lo, step = self.lo, self.step
        if lo.shape[0] == 1:  # float32 scalars: the same float32 arithmetic, less overhead
            lo, step = float(lo), float(step)
        if spec.grid == "symmetric":
            half = 2 ** (spec.bits - 1) - 1
            return codes.clamp_(max=spec.max_code).sub_(half).mul_(step)
        return codes.add_(0.5).mul_(step).add_(lo)


def value_grid(
    spec: QuantizerSpec, params: QuantizerParams | StepParams | None
) -> UniformGrid | StepGrid:
    """The dequantization of a ``uniform`` or ``step`` quantizer, applied in place to its
    codes or levels held as float32 (what :func:`dequantize` does to a fresh tensor)."""
    if spec.kind == "step":
        return StepGrid.of(spec)
    if spec.kind != "uniform" or not isinstance(params, QuantizerParams):
        raise SymcodecError(f"a {spec.kind} quantizer has no codes to dequantize")
    return UniformGrid.of(params, spec)


def _dequantize_direct(
    flat_codes: np.ndarray, params: QuantizerParams, spec: QuantizerSpec, channels: int
) -> torch.Tensor:
    """Values of ``flat_codes`` (C order, ``channels`` equal rows): the operations of
    :func:`level_table` applied to each code, so the results are equal."""
    if not flat_codes.flags.writeable:
        flat_codes = flat_codes.copy()
    values = torch.from_numpy(flat_codes).to(torch.float32).reshape(channels, -1)
    return UniformGrid.of(params, spec).values_(values)


def clamp_to_range(
    values: torch.Tensor, spec: QuantizerSpec, params: QuantizerParams | StepParams
) -> torch.Tensor:
    """``values`` (shape of the values sent) clamped to the range of the quantizer that
    produced them: ``[lo, hi]`` per tensor or per channel (dim 0) for a uniform quantizer,
    ``[min_level * S, max_level * S]`` (in float32) for a step quantizer. What a receiver does
    to analog values that noise pushed outside what the transmitter could have sent.

    >>> spec = QuantizerSpec(kind="step", step=0.5)
    >>> clamp_to_range(torch.tensor([-9.0, 0.2, 9.0]), spec, StepParams(-3, 4)).tolist()
    [-1.5, 0.20000000298023224, 2.0]
    """
    if isinstance(params, StepParams):  # levels min_level .. max_level, times the step
        step = spec.step
        assert step is not None
        low = float(np.float32(params.min_level * step))
        high = float(np.float32(params.max_level * step))
        return values.clamp(low, high)
    lo = torch.from_numpy(params.lo.astype(np.float32))
    hi = torch.from_numpy(params.hi.astype(np.float32))
    if lo.numel() == 1:
        return values.clamp(float(lo[0]), float(hi[0]))
    shape = (-1,) + (1,) * (values.dim() - 1)
    return torch.maximum(torch.minimum(values, hi.reshape(shape)), lo.reshape(shape))


def level_table(params: QuantizerParams, spec: QuantizerSpec) -> np.ndarray:
    """Dequantized value of every code ``0 .. 2**bits - 1`` per channel, ``(channels, 2**bits)``.

    Codes above ``max_code`` map to the top level, so a corrupted code stays in range.
    """
    lo = torch.from_numpy(params.lo.astype(np.float32)).reshape(-1, 1)
    hi = torch.from_numpy(params.hi.astype(np.float32)).reshape(-1, 1)
    codes = torch.arange(2**spec.bits, dtype=torch.float32).clamp(max=spec.max_code)
    if spec.grid == "symmetric":
        half = 2 ** (spec.bits - 1) - 1
        step = (hi - lo) / (2 * half + 1)
        values = (codes - half) * step
    else:
        step = (hi - lo) / 2**spec.bits
        values = lo + (codes + 0.5) * step
    return values.numpy()


def fake_quantize(values: torch.Tensor, spec: QuantizerSpec) -> torch.Tensor:
    """Quantize and dequantize in one step (what the receiver sees on an ideal channel)."""
    q = quantize(values, spec)
    return dequantize(q.codes, q.params, spec, tuple(values.shape), values.dtype)
