"""Which symmetry is a trained model closest to? (``symcodec analyze``, SPEC section 2).

Works on a plain state dict: every 4-D float tensor is taken as a conv kernel.

>>> import torch
>>> from symcodec.symmetry import get_symmetry
>>> sd = {"conv.weight": get_symmetry("central-skew").project(torch.randn(8, 4, 3, 3))}
>>> [row.closest for row in analyze_state_dict(sd)]
['central-skew']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from .symmetry import get_symmetry, relative_distance, symmetry_names

#: Distances closer than this count as equal when the closest symmetry is chosen; among
#: equals the one with the fewest degrees of freedom (the strongest constraint) wins.
TIE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class KernelAnalysis:
    """One conv kernel tensor against every named symmetry.

    Attributes:
        name: the tensor's state-dict key.
        shape: its shape ``(out, in, kh, kw)``.
        params: its number of values.
        dof: symmetry name -> DoF count of the whole tensor (None if not defined on the
            kernel shape).
        distance: symmetry name -> relative distance ``||W - P W|| / ||W||``.
        closest: the symmetry (other than ``none``) with the smallest distance; ties go to
            the fewest DoF.
    """

    name: str
    shape: tuple[int, ...]
    params: int
    dof: dict[str, int | None]
    distance: dict[str, float | None]
    closest: str | None


def analyze_state_dict(
    state_dict: Mapping[str, torch.Tensor], symmetries: Iterable[str] | None = None
) -> list[KernelAnalysis]:
    """Analyse every conv kernel (4-D float tensor) of a state dict."""
    names = list(symmetries) if symmetries is not None else symmetry_names()
    rows = []
    for key, tensor in state_dict.items():
        if tensor.dim() != 4 or not tensor.dtype.is_floating_point:
            continue
        w = tensor.detach().double()
        kernel = tuple(w.shape[-2:])
        lead = math.prod(w.shape[:-2])
        dof: dict[str, int | None] = {}
        dist: dict[str, float | None] = {}
        for name in names:
            sym = get_symmetry(name)
            if not sym.supports(kernel):
                dof[name] = dist[name] = None
                continue
            dof[name] = lead * sym.dof(kernel)
            dist[name] = sym.distance(w)
        candidates = [n for n in names if n != "none" and dist[n] is not None and dof[n]]
        closest = None
        if candidates:
            best = min(dist[n] for n in candidates)
            tied = [n for n in candidates if dist[n] <= best + TIE_TOLERANCE]
            closest = min(tied, key=lambda n: (dof[n], names.index(n)))
        rows.append(KernelAnalysis(key, tuple(w.shape), w.numel(), dof, dist, closest))
    return rows


def overall_distance(state_dict: Mapping[str, torch.Tensor], symmetry: str) -> float | None:
    """Distance of all conv kernels taken together to one symmetry (None if undefined)."""
    sym = get_symmetry(symmetry)
    kernels = [t for t in state_dict.values() if t.dim() == 4 and t.dtype.is_floating_point]
    if not all(sym.supports(tuple(t.shape[-2:])) for t in kernels):
        return None
    return relative_distance(sym.residual_energy(t) for t in kernels)
