"""What a tensor looks like on the wire: the values it sends under a plan
(:func:`transmitted_values`), their shape (:func:`sent_shape`), and how the receiver
rebuilds the tensor from them (:func:`rebuild_tensor`).

>>> import torch
>>> from symcodec.codec import TransmissionPlan
>>> w = torch.randn(4, 2, 3, 3)
>>> plan = TransmissionPlan.default({"w": w}, symmetry="central-skew", bits=8)["w"]
>>> sent = transmitted_values(w, plan)
>>> tuple(sent.shape) == sent_shape(tuple(w.shape), "dof", plan.symmetry)
True
>>> torch.equal(rebuild_tensor(sent, (4, 2, 3, 3), plan.symmetry, "dof"), plan.symmetry.project(w))
True
"""

from __future__ import annotations

import math

import torch

from ..errors import SymcodecError
from ..symmetry import Symmetry
from .plan import TensorPlan
from .pruning import magnitude_mask


def transmitted_values(tensor: torch.Tensor, plan: TensorPlan) -> torch.Tensor:
    """The values a tensor puts on the wire under ``plan`` (before quantization).

    In ``dof`` mode, the coefficients of the projection ``(..., DoF)``; in ``pruned`` mode
    the ``keep`` largest-magnitude values in C order (see :func:`pruning_mask`); otherwise
    the tensor itself.
    """
    if plan.mode == "pruned":
        mask = pruning_mask(tensor, plan)
        return tensor.detach().reshape(-1)[mask.reshape(-1)]
    if plan.mode == "dof":
        assert plan.symmetry is not None
        if tensor.dim() < 2:
            raise SymcodecError(
                f"mode 'dof' needs a kernel tensor, got shape {tuple(tensor.shape)}"
            )
        return plan.symmetry.gather(tensor.detach().to(torch.float32))
    return tensor.detach()


def pruning_mask(tensor: torch.Tensor, plan: TensorPlan) -> torch.Tensor:
    """The positions a ``pruned`` plan keeps: the ``keep`` largest magnitudes."""
    assert plan.keep is not None
    return magnitude_mask(tensor, plan.keep)


def rebuild_tensor(
    values: torch.Tensor,
    shape: tuple[int, ...],
    symmetry: Symmetry | None,
    mode: str,
    alpha: float = 1.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The receiver's side of :func:`transmitted_values`: scatter ``dof`` coefficients,
    project ``full-project`` kernels (partial projection of strength ``alpha``), put
    ``pruned`` values at their ``mask`` positions (zeros elsewhere), leave ``full`` values as
    they are."""
    if mode == "pruned":
        assert mask is not None
        flat = values.new_zeros(math.prod(shape))
        flat[mask.reshape(-1)] = values.reshape(-1)
        return flat.reshape(shape)
    if mode == "dof":
        assert symmetry is not None
        kernel = tuple(shape[-2:])
        return symmetry.scatter(values.reshape(*shape[:-2], symmetry.dof(kernel)), kernel)
    if mode == "full-project":
        assert symmetry is not None
        return symmetry.project(values.reshape(shape), alpha=alpha)
    return values.reshape(shape)


def sent_shape(
    shape: tuple[int, ...], plan_mode: str, symmetry: Symmetry | None, keep: int | None = None
) -> tuple:
    """Shape of the values sent for a tensor of ``shape``."""
    if plan_mode == "pruned":
        assert keep is not None
        return (keep,)
    if plan_mode == "dof":
        assert symmetry is not None
        return (*shape[:-2], symmetry.dof(tuple(shape[-2:])))
    return tuple(shape)
