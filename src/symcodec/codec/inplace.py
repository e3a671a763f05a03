"""Decoding into existing tensors (``decode(blob, into=...)``, see :func:`.reader.decode`).

A quantized record on a fixed grid is written into a contiguous float32 CPU target block by
block, without a full-size temporary: a block of output channels has its codes dequantized
in a small scratch buffer (:func:`~.quantize.value_grid`, the arithmetic of
:func:`~.quantize.dequantize`), and ``dof`` coefficients are scattered into the kernels of
the target by the product with the symmetry layout's ``expand`` matrix, written straight into
the target's storage. The values equal those of :func:`~.reader.decode` bit for bit. Other
records and targets go through a full tensor and ``copy_``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..errors import SymcodecError
from .quantize import value_grid
from .records import TensorRecord

#: Values dequantized per block (a 512 KiB scratch buffer, reused): few enough blocks that
#: the per-block overhead stays small, small enough that a block stays in the cache.
BLOCK_VALUES = 1 << 17


def check_target(into: Mapping[str, torch.Tensor], record: TensorRecord) -> torch.Tensor:
    """The tensor of ``into`` that receives ``record``: it must exist and have the record's
    shape, a float dtype for a float tensor and the record's dtype for the others."""
    target = into.get(record.name)
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
    fits = target.is_floating_point() if wanted.is_floating_point else target.dtype == wanted
    if not fits:
        raise SymcodecError(
            f"tensor {record.name!r}: the stream has {record.dtype} values, the target in "
            f"'into' is {target.dtype}"
        )
    return target


class CodeWriter:
    """Writes quantized records straight from their codes into targets, for one
    :func:`~.reader.decode` call: keeps one scratch buffer and the scatter matrix of each
    symmetry and kernel shape it meets."""

    #: Kernels per row of the scatter product: a block-diagonal matrix of ``GROUP`` copies of
    #: the layout's ``expand`` (a wider product runs faster; each output is still one
    #: coefficient times ``+-1`` plus exact zeros, so no bit changes).
    GROUP = 2

    def __init__(self) -> None:
        self._expand: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self._scratch = torch.empty(0, dtype=torch.float32)

    @staticmethod
    def takes(target: torch.Tensor, record: TensorRecord) -> bool:
        """Whether :meth:`write` takes ``record``: a float32 tensor of at least one dimension
        (three for ``dof``: ``(out, ..., kh, kw)``) quantized by a ``uniform`` or ``step``
        quantizer and sent ``dof`` or ``full``, into a contiguous float32 CPU target."""
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

    def write(self, target: torch.Tensor, record: TensorRecord, codes: np.ndarray) -> None:
        """Dequantize ``codes`` (a uniform quantizer's codes, a step quantizer's levels: see
        :func:`~.reader.record_codes`) into ``target`` in place, block by block of output
        channels (dim 0), scattering ``dof`` coefficients into their kernels."""
        grid = value_grid(record.quantizer, record.params)
        channels = record.shape[0]
        per_channel = record.count // channels  # values sent per output channel
        codes_t = torch.from_numpy(np.require(codes, requirements="W")).view(channels, -1)
        out = target.view(channels, -1)
        block = max(1, BLOCK_VALUES // per_channel)
        if record.mode == "full":
            for a in range(0, channels, block):
                b = min(channels, a + block)
                out[a:b].copy_(codes_t[a:b])
                grid.rows(slice(a, b)).values_(out[a:b])
            return
        if self._scratch.numel() < block * per_channel:
            self._scratch = torch.empty(block * per_channel, dtype=torch.float32)
        expand = self._expand_of(record)
        for a in range(0, channels, block):
            b = min(channels, a + block)
            coefficients = self._scratch[: (b - a) * per_channel].view(b - a, per_channel)
            coefficients.copy_(codes_t[a:b])
            grid.rows(slice(a, b)).values_(coefficients)
            _scatter(coefficients, expand, out[a:b])

    def _expand_of(self, record: TensorRecord) -> tuple[torch.Tensor, torch.Tensor]:
        """The scatter matrices of the record's symmetry and kernel shape: its layout's
        ``expand`` ``(DoF, kh kw)``, and ``GROUP`` copies of it on a block diagonal."""
        assert record.symmetry is not None
        key = (record.symmetry, tuple(record.shape[-2:]))
        if key not in self._expand:
            layout = record.symmetry.layout(key[1])
            expand = torch.tensor(layout.expand, dtype=torch.float32)
            self._expand[key] = (expand, torch.block_diag(*[expand] * self.GROUP))
        return self._expand[key]


def _scatter(
    coefficients: torch.Tensor, expand: tuple[torch.Tensor, torch.Tensor], out: torch.Tensor
) -> None:
    """Kernels ``coefficients @ expand`` (what :meth:`~symcodec.symmetry.Symmetry.scatter`
    computes) written into ``out``, through the grouped matrix when the kernels divide."""
    single, grouped = expand
    dof, size = single.shape
    kernels = coefficients.numel() // dof
    if kernels % CodeWriter.GROUP == 0:
        rows = kernels // CodeWriter.GROUP
        c = coefficients.view(rows, -1)
        torch.mm(c, grouped, out=out.view(rows, -1))
    else:
        torch.mm(coefficients.view(kernels, dof), single, out=out.view(kernels, size))
