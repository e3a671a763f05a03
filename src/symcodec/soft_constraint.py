"""A soft symmetry constraint: train with ``loss + penalty * sum ||W - P_S W||^2``.

:func:`symmetry_penalty` is the differentiable sum, over the conv layers a symmetry applies
to, of the squared distance of their kernels to the symmetric subspace ``V_S``;
:func:`train_near_symmetric` adds ``penalty`` times it to every training step's loss, so the
kernels are drawn towards ``V_S`` without being confined to it. The penalty spans the two
ends of :mod:`symcodec.constrain`: ``0`` is plain training and ``inf`` is
:func:`~symcodec.constrain.train_symmetric` (the hard constraint). The study's ablation
uses the levels in between to make models that are accurate at several distances ``d_S``
(SPEC section 8, claim 5).

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.eye(3))
>>> p = symmetry_penalty(net, "hflip")   # (I - J) / 2 has four entries of 1/2
>>> p.item(), p.requires_grad
(1.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from .constrain import FinetuneResult, symmetric_layers, train_symmetric
from .errors import SymcodecError
from .symmetry import Symmetry, get_symmetry
from .training import TrainConfig, train

__all__ = ["symmetry_penalty", "train_near_symmetric"]


def symmetry_penalty(
    model: nn.Module,
    symmetry: str | Symmetry,
    layers: Iterable[str] | None = None,
    skip_zero_dof: bool = True,
) -> torch.Tensor:
    """``sum over conv layers of ||W - P_S W||^2``, differentiable in the weights.

    Layers are selected and skipped as in :func:`symcodec.constrain.symmetrize`; the sum is
    the numerator of :func:`symcodec.constrain.distance` squared (before dividing by
    ``||W||^2``), and its gradient is ``2 (W - P_S W)`` (``P_S`` is an orthogonal
    projector). A model without a selected layer gives ``0``.

    Args:
        model: the model (plain conv weights).
        symmetry: a symmetry name or :class:`~symcodec.symmetry.Symmetry`.
        layers: qualified names of the conv layers (default: all).
        skip_zero_dof: leave out layers where the symmetry has 0 degrees of freedom.

    Returns:
        A scalar tensor.
    """
    sym = get_symmetry(symmetry)
    modules = dict(model.named_modules())
    names = symmetric_layers(model, sym, layers, skip_zero_dof).applied_names
    terms = [(w - sym.project(w)).pow(2).sum() for w in (modules[n].weight for n in names)]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def train_near_symmetric(
    model: nn.Module,
    symmetry: str | Symmetry,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    config: TrainConfig | None = None,
    penalty: float = 1.0,
    *,
    layers: Iterable[str] | None = None,
    skip_zero_dof: bool = True,
    progress: bool = False,
) -> FinetuneResult:
    """Train with ``cross-entropy + penalty * symmetry_penalty(model)``, in place.

    ``penalty = 0`` (or the symmetry ``none``) is :func:`symcodec.training.train` exactly,
    bit for bit given the seed; ``penalty = inf`` is
    :func:`symcodec.constrain.train_symmetric` (kernels confined to ``V_S``); in between,
    the larger the penalty, the closer the trained kernels lie to ``V_S``. The penalty is
    an absolute weight on the summed squared residual (not normalised by the number of
    weights), so its scale depends on the model.

    Args:
        model: the model to train.
        symmetry: a symmetry name or :class:`~symcodec.symmetry.Symmetry`.
        train_x: training inputs, ``(N, C, H, W)``.
        train_y: integer labels, ``(N,)``.
        config: training settings (default :class:`~symcodec.training.TrainConfig`).
        penalty: the weight ``lambda >= 0`` of the penalty (``math.inf``: hard constraint).
        layers: qualified names of the conv layers to penalise (default: all).
        skip_zero_dof: leave out layers where the symmetry has 0 degrees of freedom.
        progress: show a progress bar.

    Returns:
        A :class:`~symcodec.constrain.FinetuneResult` (its report lists the penalised
        layers; its training losses include the penalty).

    Raises:
        SymcodecError: a negative or nan penalty.

    >>> from torch import nn
    >>> from symcodec.constrain import distance
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    >>> x, y = torch.randn(32, 1, 6, 6), torch.arange(32) % 2
    >>> before = distance(net, "central").overall
    >>> r = train_near_symmetric(net, "central", x, y, TrainConfig(epochs=20, lr=0.01), 10.0)
    >>> distance(net, "central").overall < before / 2
    True
    """
    penalty = float(penalty)
    if not penalty >= 0:
        raise SymcodecError(f"the symmetry penalty must be >= 0, got {penalty}")
    sym = get_symmetry(symmetry)
    if math.isinf(penalty):
        return train_symmetric(
            model,
            sym,
            train_x,
            train_y,
            config,
            layers=layers,
            skip_zero_dof=skip_zero_dof,
            progress=progress,
        )
    report = symmetric_layers(model, sym, layers, skip_zero_dof)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    regularizer = None
    if penalty > 0 and sym.name != "none":
        names = report.applied_names

        def regularizer(m: nn.Module) -> torch.Tensor:
            return penalty * symmetry_penalty(m, sym, names, skip_zero_dof)

    result = train(model, train_x, train_y, config, progress=progress, regularizer=regularizer)
    return FinetuneResult(model, report, result, trainable)
