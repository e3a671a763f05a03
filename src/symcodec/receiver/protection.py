"""Protected side information and the resources of a transmission (SPEC section 10).

``protect = "none"``: every tensor crosses the noisy link. ``protect = "side"``: every tensor
that is not a conv kernel (biases, FC and head weights, normalisation parameters) crosses a
protected sub-link error-free. Conv kernels (4-D float tensors: the ones a plan may constrain,
prune or send in full) always cross the noisy link, whatever the method, so every method
exposes the same tensors. Pruning masks and integer buffers are always protected (SPEC
section 6: positions travel like the header).

Charges (:func:`channel_uses`, :func:`transmitted_energy`):

* analog: ``channel_uses = values on the noisy link + r x (protected values + mask bits)``
  (a protected value, or a mask bit sent as one binary symbol, repeated ``r`` times);
  ``energy = sum of squared values on the noisy link (dof: in the orthonormal basis)
  + r x sum of squared protected float values`` (relative; masks and integer buffers not
  counted);
* digital: ``coded bits = bits on the noisy link + protected bits / code_rate``,
  ``channel_uses = ceil(coded bits / bits per symbol)``, ``energy = coded bits`` (one unit
  of energy per coded bit).

The header (side information, SPEC section 4) is counted in ``header_bits`` and charged in
neither.

>>> from symcodec.receiver import TensorReception
>>> rows = [TensorReception("w", "dof", 10, 40, 0, 0, True, 0, energy=2.0),
...         TensorReception("b", "full", 4, 16, 0, 0, True, 0, protected=True, energy=1.0)]
>>> channel_uses(rows, "analog", repetition=4, code_rate=0.5, bits_per_symbol=1)
26
>>> transmitted_energy(rows, "analog", repetition=4, code_rate=0.5)
6.0
>>> channel_uses(rows, "digital", repetition=4, code_rate=0.5, bits_per_symbol=2)
36
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from ..codec.format import TensorRecord
from .reception import TensorReception

__all__ = ["Protect", "PROTECT_OPTIONS", "is_protected", "channel_uses", "transmitted_energy"]

Protect = Literal["none", "side"]
PROTECT_OPTIONS: tuple[str, ...] = ("none", "side")


def is_protected(record: TensorRecord, protect: str) -> bool:
    """Whether a tensor's values cross the protected sub-link: integer buffers always; with
    ``side`` every tensor that is not a conv kernel (4-D float tensor)."""
    floating = record.torch_dtype.is_floating_point
    if not floating:
        return True
    return protect == "side" and len(record.shape) != 4


def channel_uses(
    tensors: Sequence[TensorReception],
    domain: str,
    *,
    repetition: int,
    code_rate: float,
    bits_per_symbol: float,
) -> int:
    """Channel uses of a transmission (see the module docstring)."""
    masks = sum(t.mask_bits for t in tensors)
    if domain == "analog":
        noisy = sum(t.values_sent for t in tensors if not t.protected)
        protected = sum(t.values_sent for t in tensors if t.protected)
        return noisy + repetition * (protected + masks)
    return math.ceil(coded_bits(tensors, code_rate) / bits_per_symbol)


def coded_bits(tensors: Sequence[TensorReception], code_rate: float) -> float:
    """Digital: bits on the noisy link plus protected bits (values and masks) / code rate."""
    noisy = sum(t.payload_bits - t.mask_bits for t in tensors if not t.protected)
    protected = sum(t.payload_bits - t.mask_bits for t in tensors if t.protected)
    protected += sum(t.mask_bits for t in tensors)
    return noisy + protected / code_rate


def transmitted_energy(
    tensors: Sequence[TensorReception], domain: str, *, repetition: int, code_rate: float
) -> float:
    """Relative energy of a transmission (see the module docstring)."""
    if domain == "analog":
        noisy = sum(t.energy for t in tensors if not t.protected)
        protected = sum(t.energy for t in tensors if t.protected)
        return noisy + repetition * protected
    return float(coded_bits(tensors, code_rate))
