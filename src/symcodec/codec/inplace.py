"""Decoding into existing tensors (``decode(blob, into=...)``, see :func:`.reader.decode`).

A quantized record on a fixed grid is written into a contiguous float32 CPU target block by
block, without a full-size temporary: a block of output channels has its codes dequantized
in a small scratch buffer (:func:`~.quantize.value_grid`, the arithmetic of
:func:`~.quantize.dequantize`), and ``dof`` coefficients are scattered into the kernels of
the target by one ``index_select`` per block from ``[c, 0 - c, 0]`` (the symmetry layout's
``source`` and ``sign`` tables). The values equal those of :func:`~.reader.decode` bit for
bit (a kernel rebuilt from coefficients never holds ``-0.0``, as in
:meth:`~symcodec.symmetry.Symmetry.scatter`). Other records and targets go through a full
tensor and ``copy_``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..errors import SymcodecError
from .quantize import StepGrid, UniformGrid, value_grid
from .records import TensorRecord

# Values dequantized per block: the scratch buffers stay in the L2 cache.
BLOCK_VALUES = 1 << 15


def check_target(into: Mapping[str, torch.Tensor], record: TensorRecord) -> torch.Tensor:
    """The tensor of ``into`` that receives ``record``: it must exist and have the record's
    shape, a float dtype for a float tensor and the record's dtype for the others."""
    target = into.get(record.name) if isinstance(into, Mapping) else None
    if target is None:
        raise SymcodecError(f"tensor {record.name!r} of the stream has no target in 'into'")
    if not isinstance(target, torch.Tensor):
        raise SymcodecError(
            f"tensor {record.name!r}: the target in 'into' is a {type(target).__name__}, "
            "not a tensor"
        )
    if tuple(target.shape) != record.shape:
        raise SymcodecError(
            f"tensor {record.name!r}: the stream has shape {record.shape}, the target in "
            f"'into' {tuple(target.shape)}"
        )
    wanted = record.torch_dtype
    if wanted.is_floating_point and not target.is_floating_point():
        raise SymcodecError(
            f"tensor {record.name!r}: the stream has {record.dtype} values, the target in "
            f"'into' is {target.dtype}"
        )
    if not wanted.is_floating_point and target.dtype != wanted:
        raise SymcodecError(
            f"tensor {record.name!r}: the stream has {record.dtype} values, the target in "
            f"'into' is {target.dtype}"
        )
    return target


def writes_from_codes(target: torch.Tensor, record: TensorRecord) -> bool:
    """Whether :func:`write_from_codes` takes ``record``: a float32 tensor of at least one
    dimension (three for ``dof``: ``(out, ..., kh, kw)``) quantized by a ``uniform`` or
    ``step`` quantizer and sent ``dof`` or ``full``, into a contiguous float32 CPU target."""
    return (
        record.quantizer.is_quantized
        and record.count > 0
        and record.dtype == "float32"
        and (record.mode == "full" or (record.mode == "dof" and len(record.shape) >= 3))
        and len(record.shape) >= 1
        and target.dtype == torch.float32
        and target.device.type == "cpu"
        and target.is_contiguous()
    )


def write_from_codes(target: torch.Tensor, record: TensorRecord, codes: np.ndarray) -> None:
    """Dequantize ``codes`` (a uniform quantizer's codes, a step quantizer's levels, as
    :func:`~.reader.decode_values` reads them) into ``target`` in place, block by block of
    output channels (dim 0), scattering ``dof`` coefficients into their kernels."""
    grid = value_grid(record.quantizer, record.params)
    channels = record.shape[0]
    per_channel = record.count // channels  # values sent per output channel
    codes_t = torch.from_numpy(np.require(codes, requirements="W")).view(channels, per_channel)
    out = target.view(channels, -1)
    block = max(1, BLOCK_VALUES // per_channel)
    if record.mode == "full":
        for a in range(0, channels, block):
            b = min(channels, a + block)
            _dequantize_block(grid, a, b, codes_t, out[a:b])
        return
    scatter = _DofScatter(record, block * per_channel)
    scratch = torch.empty(min(block, channels) * per_channel, dtype=torch.float32)
    for a in range(0, channels, block):
        b = min(channels, a + block)
        coefficients = scratch[: (b - a) * per_channel].view(b - a, per_channel)
        _dequantize_block(grid, a, b, codes_t, coefficients)
        scatter(coefficients, out[a:b])


def _dequantize_block(
    grid: UniformGrid | StepGrid, a: int, b: int, codes: torch.Tensor, out: torch.Tensor
) -> None:
    """Values of the codes of channels ``a .. b - 1``, written to ``out`` ``(b - a, m)``."""
    out.copy_(codes[a:b])
    grid.rows(slice(a, b)).values_(out)


class _DofScatter:
    """Kernels from coefficients, into a target: ``kernel[q] = +c[source[q]]``,
    ``-c[source[q]]`` or ``0`` by ``sign[q]``, normalised like a matrix product (``0 + x``:
    no ``-0.0``), through one ``index_select`` from a ``(kernels, 2 DoF + 1)`` table."""

    def __init__(self, record: TensorRecord, max_values: int) -> None:
        assert record.symmetry is not None
        layout = record.symmetry.layout(tuple(record.shape[-2:]))
        self.dof, self.size = layout.dof, layout.size
        source = torch.tensor(layout.source, dtype=torch.int64)
        sign = torch.tensor(layout.sign, dtype=torch.int64)
        dead = torch.full_like(source, 2 * self.dof)
        self.index = torch.where(sign > 0, source, torch.where(sign < 0, source + self.dof, dead))
        self.table = torch.zeros(max_values // self.dof, 2 * self.dof + 1)
        self.zero = torch.zeros(())

    def __call__(self, coefficients: torch.Tensor, out: torch.Tensor) -> None:
        kernels = coefficients.numel() // self.dof
        c = coefficients.view(kernels, self.dof)
        table = self.table[:kernels]
        torch.add(c, 0.0, out=table[:, : self.dof])
        torch.sub(self.zero, c, out=table[:, self.dof : 2 * self.dof])
        torch.index_select(table, 1, self.index, out=out.view(kernels, self.size))
