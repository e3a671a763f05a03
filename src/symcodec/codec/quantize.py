"""Uniform quantizers (SPEC section 4).

Two grids, both dequantizing to bin centres:

* ``minmax``: ``2**bits`` bins of width ``(hi - lo) / 2**bits`` over ``[lo, hi]``.
* ``symmetric``: ``2**bits - 1`` bins of width ``2 M / (2**bits - 1)`` over ``[-M, M]``
  with ``M = max|x|``, centred on the multiples of the width, so ``0`` is a level and
  ``x`` and ``-x`` map to opposite levels (needed to keep skew kernels skew). The top
  code ``2**bits - 1`` is unused; a decoder clamps it (a bit error can produce it).

``lo``/``hi`` are per tensor or per output channel (dim 0). ``float16`` and ``float32``
pass values through in IEEE format; ``raw`` carries non-float tensors byte for byte.

>>> import torch
>>> spec = QuantizerSpec(kind="uniform", bits=4, grid="symmetric")
>>> x = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])   # M = 1, 15 bins of width 2/15
>>> q = quantize(x, spec)
>>> dequantize(q.codes, q.params, spec, x.shape).tolist()
[-0.9333333969116211, -0.5333333611488342, 0.0, 0.5333333611488342, 0.9333333969116211]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SymcodecError

KINDS = ("uniform", "float16", "float32", "raw")
GRIDS = ("minmax", "symmetric")
MIN_BITS, MAX_BITS = 2, 16


@dataclass(frozen=True)
class QuantizerSpec:
    """How the values of one tensor are turned into codes.

    Attributes:
        kind: ``uniform`` (``bits`` in 2..16), ``float16``, ``float32`` or ``raw``.
        bits: bits per value (16 for float16, 32 for float32, the item size for raw).
        grid: ``minmax`` or ``symmetric`` (uniform only).
        per_channel: one range per output channel (dim 0) instead of one per tensor.
    """

    kind: str = "uniform"
    bits: int = 8
    grid: str = "minmax"
    per_channel: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SymcodecError(f"unknown quantizer kind {self.kind!r}; known: {', '.join(KINDS)}")
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
class Quantized:
    """Codes (a flat numpy array: uint8, uint16, or the raw bytes' dtype) and parameters."""

    codes: np.ndarray
    params: QuantizerParams | None


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
    assert params is not None
    flat_codes = np.asarray(codes).reshape(-1)[:count]
    channels = params.lo.shape[0]
    # Arithmetic on the codes, in place, in the order of :func:`level_table`, so every
    # value equals the table's entry bit for bit (no table: it would take 256 KiB per
    # channel at 16 bits, and a lookup is slower than these vectorized passes).
    return _dequantize_direct(flat_codes, params, spec, channels).reshape(shape).to(dtype)


def _dequantize_direct(
    flat_codes: np.ndarray, params: QuantizerParams, spec: QuantizerSpec, channels: int
) -> torch.Tensor:
    """Values of ``flat_codes`` (C order, ``channels`` equal rows): the operations of
    :func:`level_table` applied to each code, so the results are equal."""
    lo = torch.from_numpy(params.lo.astype(np.float32)).reshape(-1, 1)
    hi = torch.from_numpy(params.hi.astype(np.float32)).reshape(-1, 1)
    if not flat_codes.flags.writeable:
        flat_codes = flat_codes.copy()
    values = torch.from_numpy(flat_codes).to(torch.float32).reshape(channels, -1)
    if spec.grid == "symmetric":
        half = 2 ** (spec.bits - 1) - 1
        step = (hi - lo) / (2 * half + 1)
        return values.clamp_(max=spec.max_code).sub_(half).mul_(step)
    step = (hi - lo) / 2**spec.bits
    return values.add_(0.5).mul_(step).add_(lo)


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
