"""Paired noise on analog links (SPEC section 10): a trial's noise depends only on its noise
seed and the tensor's name, never on the method, mode, symmetry or bits.

Every float tensor gets one standard-normal draw ``z`` in the shape of the full tensor
(:func:`standard_normal`); what each mode puts on the air sees its part of it
(:func:`sent_noise`):

* ``full`` and ``full-project``: ``z`` itself (the receiver of ``full-project`` then keeps
  ``P_S z``);
* ``dof``: on the coefficient of live orbit ``j`` (size ``m_j``), the orthonormal-basis
  coordinate of ``z``, ``(1/sqrt(m_j)) sum_{p in orbit j} chi_p z_p``; the coefficients travel
  in the orthonormal basis, scaled by ``sqrt(m_j)`` (:func:`orbit_scales`), so the noise left
  in the rebuilt kernel is exactly ``sigma P_S z``, the noise ``full-project`` keeps;
* ``pruned``: ``z`` at the kept positions.

>>> import torch
>>> from symcodec.symmetry import get_symmetry
>>> z = standard_normal(7, "conv.weight", 2 * 9).reshape(2, 3, 3)
>>> torch.equal(z, standard_normal(7, "conv.weight", 18).reshape(2, 3, 3))
True
>>> sym = get_symmetry("central-skew")
>>> orbit_scales(sym, (3, 3)).pow(2).round(decimals=12).tolist()   # four orbits of two positions
[2.0, 2.0, 2.0, 2.0]
"""

from __future__ import annotations

import hashlib

import torch

from ..codec.format import TensorRecord
from ..symmetry import Symmetry

__all__ = ["tensor_seed", "standard_normal", "orbit_scales", "sent_noise"]


def tensor_seed(noise_seed: int, name: str) -> int:
    """The seed of one tensor's noise: a hash of the trial's noise seed and the tensor name.

    >>> tensor_seed(1, "a") == tensor_seed(1, "a") != tensor_seed(1, "b")
    True
    """
    digest = hashlib.sha256(f"{int(noise_seed)}|{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def standard_normal(noise_seed: int, name: str, numel: int) -> torch.Tensor:
    """``numel`` i.i.d. standard-normal values (float32, flat) for the tensor ``name``."""
    gen = torch.Generator().manual_seed(tensor_seed(noise_seed, name))
    return torch.empty(numel, dtype=torch.float32).normal_(generator=gen)


def orbit_scales(symmetry: Symmetry, kernel_shape: tuple[int, int]) -> torch.Tensor:
    """``sqrt(m_j)`` for every live orbit ``j`` (float64, shape ``(DoF,)``): the factor
    that takes a ``dof`` coefficient to its orthonormal-basis coordinate."""
    layout = symmetry.layout(kernel_shape)
    inverse = torch.from_numpy(layout.inverse_orbit_sizes.copy())
    return inverse.reciprocal().sqrt()


def sent_noise(
    record: TensorRecord, z: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The standard-normal noise on the values ``record`` sends (flat, in the orthonormal
    basis for ``dof``), from the full-tensor draw ``z`` (see the module docstring)."""
    if record.mode == "pruned":
        assert mask is not None
        return z[mask.reshape(-1)]
    if record.mode == "dof":
        assert record.symmetry is not None
        kernel = tuple(record.shape[-2:])
        full = z.reshape(record.shape).to(torch.float64)
        coordinates = record.symmetry.gather(full) * orbit_scales(record.symmetry, kernel)
        return coordinates.reshape(-1).to(torch.float32)
    return z
