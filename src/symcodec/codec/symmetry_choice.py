"""Per-layer symmetry choice (``--symmetry auto``, issue 14): for every conv kernel, the named
symmetry that sends the fewest values at an acceptable calibration loss, or ``none``.

For each conv kernel (4-D float tensor) and each named symmetry that leaves it degrees of
freedom, :func:`choose_symmetries` measures the calibration loss of the model with *that one
kernel* projected onto the symmetry's subspace (what a ``dof`` receiver rebuilds), every
other tensor as it is. A layer takes the symmetry with the fewest DoF whose loss increase is
at most ``max_loss_increase`` (ties: the smaller increase); if none qualifies, ``none`` (sent
in full). The rate proxy is the DoF count, which is what ``dof`` mode sends. A model trained
with a symmetry gets that symmetry back at no loss; for a model trained unconstrained this
is the first half of "project where it costs least" (the fine-tuning that
:mod:`symcodec.constrain` offers is left to the user).

Each choice is made for one layer at a time: the losses of several projected layers can
add up, so :class:`SymmetryChoice` also reports the measured increase with every chosen
projection at once (``joint_loss_increase``).

>>> import torch
>>> from torch import nn
>>> from symcodec.symmetry import get_symmetry
>>> torch.manual_seed(0) and None
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(get_symmetry("central").project(net[0].weight))
>>> x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,))
>>> choice = choose_symmetries(net, (x, y), max_loss_increase=1e-6)
>>> choice.layers[0].name, choice.layers[0].symmetry, choice.layers[0].dof
('0.weight', 'central', 20)
>>> plan = auto_plan(net.state_dict(), choice, bits=8)
>>> plan["0.weight"].mode, plan["0.weight"].symmetry.name, plan["3.weight"].symmetry
('dof', 'central', None)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import SymcodecError
from ..symmetry import get_symmetry, symmetry_names
from .plan import TransmissionPlan, tensor_dof
from .sensitivity import Loss, calibration_loss, model_and_state

__all__ = ["LayerChoice", "SymmetryChoice", "auto_plan", "choose_symmetries"]

#: Default tolerance: the calibration loss may rise this much (nats) per projected layer.
DEFAULT_MAX_LOSS_INCREASE = 0.01


@dataclass(frozen=True)
class LayerChoice:
    """One conv kernel's choice: the symmetry (``"none"``: sent in full), the values it
    sends, its measured loss increase, and every candidate's ``(name, dof, increase)``."""

    name: str
    symmetry: str
    dof: int
    loss_increase: float
    candidates: tuple[tuple[str, int, float], ...]


@dataclass(frozen=True)
class SymmetryChoice:
    """Every kernel's :class:`LayerChoice`, the calibration loss of the model as it is, and
    the measured increase with every chosen projection at once."""

    layers: tuple[LayerChoice, ...]
    base_loss: float
    joint_loss_increase: float

    def summary(self) -> list[str]:
        """One line per layer: its choice, DoF of all, and loss increase."""
        lines = []
        for layer in self.layers:
            full = next(d for n, d, _ in layer.candidates if n == "none")
            lines.append(
                f"{layer.name}: {layer.symmetry} ({layer.dof:,} of {full:,} values, "
                f"calibration loss +{layer.loss_increase:.4g})"
            )
        lines.append(
            f"all chosen projections at once: calibration loss {self.base_loss:.4f} "
            f"+{self.joint_loss_increase:.4g}"
        )
        return lines


def choose_symmetries(
    model_or_state_dict: nn.Module | Mapping[str, torch.Tensor],
    calibration: tuple[torch.Tensor, torch.Tensor],
    *,
    model: nn.Module | None = None,
    candidates: Sequence[str] | None = None,
    max_loss_increase: float = DEFAULT_MAX_LOSS_INCREASE,
    loss: Loss = F.cross_entropy,
) -> SymmetryChoice:
    """Choose a symmetry per conv kernel (see the module docstring).

    Args:
        model_or_state_dict: the model, or its state dict (then give ``model``).
        calibration: ``(images, labels)`` of *training* images.
        model: an ``nn.Module`` of the architecture, when a state dict is given.
        candidates: symmetry names to try (default: every named symmetry).
        max_loss_increase: the largest calibration loss increase (nats) a layer's
            projection may cost.
        loss: ``loss(logits, labels)``, averaged over the batch.
    """
    if not max_loss_increase >= 0:
        raise SymcodecError(f"max_loss_increase must be >= 0, got {max_loss_increase!r}")
    module, state = model_and_state(model_or_state_dict, model)
    names = [n for n in (candidates or symmetry_names()) if n != "none"]
    symmetries = [get_symmetry(n) for n in names]
    base = calibration_loss(module, state, calibration, loss)
    layers = []
    chosen_state = dict(state)
    for name, tensor in state.items():
        if tensor.dim() != 4 or not tensor.dtype.is_floating_point:
            continue
        kernel = tuple(tensor.shape[-2:])
        tried = [("none", tensor.numel(), 0.0)]
        best = ("none", tensor.numel(), 0.0)
        for sym in symmetries:
            if not sym.supports(kernel) or sym.dof(kernel) == 0:
                continue
            projected = sym.project(tensor.float()).to(tensor.dtype)
            increase = (
                calibration_loss(module, {**state, name: projected}, calibration, loss) - base
            )
            dof = tensor_dof(tuple(tensor.shape), sym)
            tried.append((sym.name, dof, increase))
            if increase <= max_loss_increase and (dof, increase) < (best[1], best[2]):
                best = (sym.name, dof, increase)
        if best[0] != "none":
            chosen_state[name] = get_symmetry(best[0]).project(tensor.float()).to(tensor.dtype)
        layers.append(LayerChoice(name, best[0], best[1], best[2], tuple(tried)))
    joint = calibration_loss(module, chosen_state, calibration, loss) - base
    return SymmetryChoice(tuple(layers), base, joint)


def auto_plan(
    state_dict: Mapping[str, torch.Tensor], choice: SymmetryChoice, **options
) -> TransmissionPlan:
    """A :class:`TransmissionPlan` sending every kernel under its chosen symmetry (``mode``
    from ``options``, default ``dof``) and everything else as
    :meth:`TransmissionPlan.default` with ``options`` (``bits``, ``step``, ``coder``, ...)
    and symmetry ``none`` would."""
    base = TransmissionPlan.default(state_dict, symmetry="none", **options)
    tensors = dict(base.tensors)
    notes = list(base.notes)
    for layer in choice.layers:
        if layer.symmetry == "none":
            continue
        single = TransmissionPlan.default(
            {layer.name: state_dict[layer.name]}, symmetry=layer.symmetry, **options
        )
        tensors[layer.name] = single[layer.name]
        notes.extend(single.notes)
    notes.append("symmetry auto: " + "; ".join(choice.summary()))
    return TransmissionPlan(tensors=tensors, notes=tuple(notes))
