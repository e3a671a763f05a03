"""Magnitude pruning at equal payload, the study's baseline (SPEC section 6).

In each conv layer the pruned model keeps the ``K`` largest-magnitude weights, ``K`` being
that layer's DoF count under the symmetry it is compared with, and zeroes the rest. The
positions cost ``min(N, K * ceil(log2 N))`` bits per layer (a bitmap of ``N`` bits or a list
of ``K`` indices, whichever is smaller); they are counted in the payload, and the oracle
figure without them is reported beside it.

>>> import torch
>>> w = torch.tensor([[[[0.1, -3.0, 0.2], [2.0, 0.0, 0.3], [-0.4, 1.0, 0.5]]]])
>>> magnitude_mask(w, keep=3).int().reshape(3, 3).tolist()
[[0, 1, 0], [1, 0, 0], [0, 1, 0]]
>>> position_bits(numel=9, keep=3)        # min(9, 3 * 4): the bitmap is smaller
9
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..errors import SymcodecError
from .bitpack import pack_codes, packed_size, unpack_codes

ENCODINGS = ("bitmap", "indices")
PruningScope = Literal["layer", "global", "kernel"]
PRUNING_SCOPES: tuple[str, ...] = ("layer", "global", "kernel")


def index_bits(numel: int) -> int:
    """Bits of one position index into ``numel`` values: ``ceil(log2 numel)`` (at least 1)."""
    return max(1, math.ceil(math.log2(numel))) if numel > 1 else 1


def position_bits(numel: int, keep: int) -> int:
    """SPEC section 6: ``min(N, K * ceil(log2 N))`` bits for the kept positions."""
    return min(numel, keep * index_bits(numel))


def position_encoding(numel: int, keep: int) -> str:
    """``bitmap`` when ``N <= K * ceil(log2 N)``, else ``indices``."""
    return "bitmap" if numel <= keep * index_bits(numel) else "indices"


def magnitude_mask(weight: torch.Tensor, keep: int) -> torch.Tensor:
    """Boolean mask of the ``keep`` largest-magnitude entries (ties: lower flat index first).

    Deterministic: a stable sort, so the same tensor always gives the same mask.
    """
    n = weight.numel()
    if not 0 <= keep <= n:
        raise SymcodecError(f"cannot keep {keep} of {n} values")
    flat = weight.detach().reshape(-1).abs().to(torch.float64)
    order = torch.argsort(flat, descending=True, stable=True)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[order[:keep]] = True
    return mask.reshape(weight.shape)


def kernel_magnitude_mask(weight: torch.Tensor, keep_per_kernel: int) -> torch.Tensor:
    """Structured magnitude pruning: every ``k x k`` slice of a conv kernel (``out, in, k,
    k``) keeps its ``keep_per_kernel`` largest magnitudes (ties: lower index first).

    >>> w = torch.tensor([[[[0.1, -3.0], [2.0, 0.0]]], [[[5.0, 1.0], [-1.5, 0.2]]]])
    >>> kernel_magnitude_mask(w, 2).int().reshape(2, 4).tolist()
    [[0, 1, 1, 0], [1, 0, 1, 0]]
    """
    slices = weight.detach().reshape(-1, weight.shape[-2] * weight.shape[-1])
    if not 0 <= keep_per_kernel <= slices.shape[1]:
        raise SymcodecError(f"cannot keep {keep_per_kernel} of {slices.shape[1]} values a kernel")
    order = torch.argsort(slices.abs().to(torch.float64), dim=1, descending=True, stable=True)
    mask = torch.zeros_like(slices, dtype=torch.bool)
    mask.scatter_(1, order[:, :keep_per_kernel], True)
    return mask.reshape(weight.shape)


def pruning_masks(
    kernels: Mapping[str, torch.Tensor], keep: Mapping[str, int], scope: PruningScope
) -> dict[str, torch.Tensor]:
    """Magnitude-pruning masks of conv kernels keeping ``sum(keep.values())`` values in all.

    * ``layer``: each kernel keeps its ``keep[name]`` largest magnitudes;
    * ``global``: the largest magnitudes over all the kernels together (one threshold), so
      a layer may keep more or fewer than ``keep[name]``;
    * ``kernel``: each ``k x k`` slice keeps ``keep[name] / (out * in)`` values (structured:
      the same count in every slice; ``keep[name]`` must divide evenly).

    >>> ks = {"a": torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]), "b": torch.tensor([[[[9.0, 0.5],
    ...       [0.1, 0.2]]]])}
    >>> [m.int().sum().item() for m in pruning_masks(ks, {"a": 2, "b": 2}, "global").values()]
    [3, 1]
    """
    if scope == "layer":
        return {name: magnitude_mask(w, keep[name]) for name, w in kernels.items()}
    if scope == "kernel":
        masks = {}
        for name, w in kernels.items():
            slices = w.numel() // (w.shape[-2] * w.shape[-1])
            if keep[name] % slices:
                raise SymcodecError(
                    f"{name}: {keep[name]} kept values do not split evenly over {slices} kernels"
                )
            masks[name] = kernel_magnitude_mask(w, keep[name] // slices)
        return masks
    if scope == "global":
        names = list(kernels)
        flat = torch.cat([kernels[n].detach().reshape(-1).abs().to(torch.float64) for n in names])
        order = torch.argsort(flat, descending=True, stable=True)
        chosen = torch.zeros(flat.numel(), dtype=torch.bool)
        chosen[order[: sum(keep[n] for n in names)]] = True
        masks, start = {}, 0
        for n in names:
            size = kernels[n].numel()
            masks[n] = chosen[start : start + size].reshape(kernels[n].shape)
            start += size
        return masks
    raise SymcodecError(f"unknown pruning scope {scope!r}; known: {', '.join(PRUNING_SCOPES)}")


@dataclass(frozen=True)
class Positions:
    """How the kept positions of one tensor are sent: ``encoding``, its ``bits`` (counted in
    the payload) and the ``length`` in bytes it occupies at the start of the record."""

    encoding: str
    bits: int
    length: int

    def to_json(self) -> dict:
        return {"encoding": self.encoding, "bits": self.bits, "length": self.length}


def positions_for(numel: int, keep: int) -> Positions:
    encoding = position_encoding(numel, keep)
    bits = numel if encoding == "bitmap" else keep * index_bits(numel)
    return Positions(encoding, bits, (bits + 7) // 8)


def encode_positions(mask: torch.Tensor) -> tuple[Positions, bytes]:
    """Serialize a mask: a bitmap (MSB first) or the sorted flat indices."""
    flat = mask.reshape(-1).numpy().astype(bool)
    numel, keep = flat.shape[0], int(flat.sum())
    info = positions_for(numel, keep)
    if info.encoding == "bitmap":
        data = np.packbits(flat).tobytes()
    else:
        data = pack_codes(np.flatnonzero(flat).astype(np.uint32), index_bits(numel))
    assert len(data) == info.length
    return info, data


def decode_positions(info: Positions, data: bytes, numel: int, keep: int) -> torch.Tensor:
    """Inverse of :func:`encode_positions`; rejects positions that do not describe ``keep``
    distinct entries of ``numel``."""
    buf = np.frombuffer(data, dtype=np.uint8)
    if info.encoding == "bitmap":
        flat = np.unpackbits(buf)[:numel].astype(bool)
    else:
        indices = unpack_codes(buf, index_bits(numel), keep).astype(np.int64)
        if keep and (indices[-1] >= numel or (keep > 1 and np.any(np.diff(indices) <= 0))):
            raise SymcodecError("pruning positions are corrupt (indices out of order or range)")
        flat = np.zeros(numel, dtype=bool)
        flat[indices] = True
    if int(flat.sum()) != keep:
        raise SymcodecError(f"pruning positions are corrupt ({int(flat.sum())} set, {keep} sent)")
    return torch.from_numpy(flat)


def positions_valid(info: Positions, numel: int, keep: int) -> bool:
    """Whether a header's positions description is consistent with ``numel`` and ``keep``."""
    return (
        info.encoding in ENCODINGS
        and 0 <= keep <= numel
        and info == positions_for(numel, keep)
        and info.length == packed_size(info.bits, 1)
    )
