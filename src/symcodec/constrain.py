"""Constrain the conv kernels of a model to a symmetry (SPEC section 2).

:func:`symmetrize` reparametrizes every selected ``Conv2d`` so that its trainable tensor
holds only the live-orbit coefficients of its kernels, shape ``(out, in / groups, DoF)``;
the kernel seen by the forward pass is rebuilt from them (an index gather and a sign
multiply), so no optimizer step can take it out of ``V_S``. :func:`unsymmetrize` turns the
model back into a plain one with exactly symmetric weights. :func:`project` applies the
(partial) projection ``(1 - alpha) W + alpha P_S W`` in place, :func:`distance` measures
``||W - P_S W|| / ||W||`` and :func:`train_symmetric` (or :func:`finetune`) projects, trains
under the constraint and returns a plain model.

Layers on which a symmetry has no degrees of freedom (every skew symmetry on a ``1x1``
kernel) or is not defined (a square-only symmetry on a ``3x5`` kernel) are left alone by
default and listed in the report (:func:`symmetric_layers`).

>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))
>>> symmetrize(model, "central-skew")
Sequential(...)
>>> model.symcodec_report.skipped
{'2': 'central-skew has 0 degrees of freedom on 1x1 kernels'}
>>> model[0].parametrizations.weight.original.shape   # 4 of the 9 values are free
torch.Size([4, 1, 4])
>>> w = model[0].weight
>>> torch.equal(w, -w.flip(-1, -2))
True
>>> sorted(unsymmetrize(model).state_dict())
['0.bias', '0.weight', '2.bias', '2.weight']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils import parametrize

from .errors import SymcodecError
from .symmetry import Symmetry, get_symmetry, relative_distance
from .training import TrainConfig, TrainResult, train

__all__ = [
    "DofKernel",
    "LayerPlan",
    "SymmetrizeReport",
    "DistanceReport",
    "FinetuneResult",
    "symmetric_layers",
    "symmetrize",
    "unsymmetrize",
    "constrained_layers",
    "project",
    "distance",
    "finetune",
    "train_symmetric",
    "REPORT_ATTRIBUTE",
]

#: Attribute under which :func:`symmetrize` leaves its :class:`SymmetrizeReport` on the model.
REPORT_ATTRIBUTE = "symcodec_report"


class DofKernel(nn.Module):
    """Parametrization ``coefficients (..., DoF) -> symmetric kernels (..., kh, kw)``.

    The forward pass is :meth:`Symmetry.scatter` with its index tables held as buffers
    (one ``index_select`` and, unless every sign is ``+1``, one multiply), so it costs
    about as much as a copy of the weight. ``right_inverse`` is :meth:`Symmetry.gather`:
    assigning a kernel stores the coefficients of its projection.

    Args:
        symmetry: the symmetry the kernels are constrained to.
        kernel_shape: ``(kh, kw)``.
        dtype: dtype of the sign table (that of the weight).

    >>> p = DofKernel(get_symmetry("central"), (3, 3))
    >>> k = p(torch.arange(5.0))
    >>> k
    tensor([[0., 1., 2.],
            [3., 4., 3.],
            [2., 1., 0.]])
    >>> p.right_inverse(k)
    tensor([0., 1., 2., 3., 4.])
    """

    def __init__(
        self,
        symmetry: Symmetry,
        kernel_shape: tuple[int, int],
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        layout = symmetry.layout(kernel_shape)
        self.symmetry = symmetry
        self.kernel_shape = layout.kernel_shape
        self.dof = layout.dof
        self.register_buffer(
            "source", torch.tensor(layout.source, dtype=torch.long), persistent=False
        )
        self.register_buffer(
            "sign",
            torch.tensor(layout.sign, dtype=dtype or torch.get_default_dtype()),
            persistent=False,
        )
        self.all_plus = bool((layout.sign == 1).all())

    def forward(self, coefficients: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_shape
        lead = coefficients.shape[:-1]
        if self.dof == 0:
            return coefficients.new_zeros(*lead, kh, kw)
        flat = coefficients.index_select(-1, self.source)
        if not self.all_plus:
            sign = self.sign
            if sign.dtype != flat.dtype or sign.device != flat.device:
                sign = sign.to(dtype=flat.dtype, device=flat.device)
            flat = flat * sign
        return flat.view(*lead, kh, kw)

    def right_inverse(self, weight: torch.Tensor) -> torch.Tensor:
        return self.symmetry.gather(weight)

    def extra_repr(self) -> str:
        kh, kw = self.kernel_shape
        return f"symmetry={self.symmetry.name!r}, kernel={kh}x{kw}, dof={self.dof}"


@dataclass(frozen=True)
class LayerPlan:
    """One ``Conv2d`` a symmetry is applied to.

    Attributes:
        name: qualified module name (as in ``model.named_modules()``).
        kernel_shape: ``(kh, kw)``.
        out_channels: output channels.
        in_per_group: input channels per group (``in_channels / groups``).
        dof: degrees of freedom per kernel slice.
    """

    name: str
    kernel_shape: tuple[int, int]
    out_channels: int
    in_per_group: int
    dof: int

    @property
    def kernels(self) -> int:
        """Number of 2-D kernel slices, ``out * in / groups``."""
        return self.out_channels * self.in_per_group

    @property
    def dof_count(self) -> int:
        """Free values of the constrained layer, ``DoF * out * in / groups``."""
        return self.dof * self.kernels

    @property
    def numel(self) -> int:
        """Values of the unconstrained weight, ``out * in / groups * kh * kw``."""
        return self.kernels * self.kernel_shape[0] * self.kernel_shape[1]


@dataclass
class SymmetrizeReport:
    """Which conv layers a symmetry applies to and which are skipped, with the reason.

    Attributes:
        symmetry: the symmetry's name.
        applied: the layers it applies to, in module order.
        skipped: qualified name -> reason, for the selected conv layers left alone.
    """

    symmetry: str
    applied: list[LayerPlan] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def applied_names(self) -> list[str]:
        """Qualified names of the layers the symmetry applies to."""
        return [plan.name for plan in self.applied]

    @property
    def dof_count(self) -> int:
        """Free values over all applied layers."""
        return sum(plan.dof_count for plan in self.applied)

    @property
    def numel(self) -> int:
        """Values of the applied layers' unconstrained weights."""
        return sum(plan.numel for plan in self.applied)


@dataclass(frozen=True)
class DistanceReport:
    """Relative distance ``||W - P_S W|| / ||W||`` of conv weights to ``V_S``.

    Attributes:
        per_layer: qualified layer name -> distance (0 for an all-zero weight).
        overall: the distance of all those layers' weights taken together.
        symmetry: the symmetry's name.
    """

    per_layer: dict[str, float]
    overall: float
    symmetry: str = ""


@dataclass
class FinetuneResult:
    """What :func:`train_symmetric` (or :func:`finetune`) did.

    Attributes:
        model: the trained, plain (unparametrized) model; the same object as passed in.
        report: the layers constrained and those skipped.
        train: losses, steps and time of the training run.
        trainable: values trained (the DoF of the constrained layers plus every other
            parameter).
    """

    model: nn.Module
    report: SymmetrizeReport
    train: TrainResult
    trainable: int = 0


# --------------------------------------------------------------------------------------


def _conv_layers(model: nn.Module) -> dict[str, nn.Conv2d]:
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def _select(model: nn.Module, layers: Iterable[str] | None) -> dict[str, nn.Conv2d]:
    convs = _conv_layers(model)
    if layers is None:
        return convs
    if isinstance(layers, str):
        layers = [layers]
    modules = dict(model.named_modules())
    selected: dict[str, nn.Conv2d] = {}
    for name in layers:
        if name not in modules:
            known = ", ".join(convs) or "none"
            raise SymcodecError(f"no layer named {name!r} in the model; conv layers: {known}")
        if name not in convs:
            raise SymcodecError(f"layer {name!r} is a {type(modules[name]).__name__}, not a Conv2d")
        selected[name] = convs[name]
    # keep module order whatever order the names came in
    return {name: conv for name, conv in convs.items() if name in selected}


def _our_parametrization(conv: nn.Module) -> DofKernel | None:
    if not parametrize.is_parametrized(conv, "weight"):
        return None
    for p in conv.parametrizations.weight:
        if isinstance(p, DofKernel):
            return p
    return None


def _plan(
    model: nn.Module,
    symmetry: Symmetry,
    layers: Iterable[str] | None,
    skip_zero_dof: bool,
) -> tuple[SymmetrizeReport, dict[str, nn.Conv2d]]:
    explicit = layers is not None
    report = SymmetrizeReport(symmetry.name)
    chosen: dict[str, nn.Conv2d] = {}
    for name, conv in _select(model, layers).items():
        kh, kw = conv.kernel_size
        if not symmetry.supports((kh, kw)):
            reason = f"{symmetry.name} is not defined on {kh}x{kw} kernels"
            if explicit and not skip_zero_dof:
                raise SymcodecError(f"layer {name!r}: {reason}")
            report.skipped[name] = reason
            continue
        dof = symmetry.dof((kh, kw))
        if dof == 0 and skip_zero_dof:
            report.skipped[name] = f"{symmetry.name} has 0 degrees of freedom on {kh}x{kw} kernels"
            continue
        report.applied.append(
            LayerPlan(name, (kh, kw), conv.out_channels, conv.in_channels // conv.groups, dof)
        )
        chosen[name] = conv
    return report, chosen


def symmetric_layers(
    model: nn.Module,
    symmetry: str | Symmetry,
    layers: Iterable[str] | None = None,
    skip_zero_dof: bool = True,
) -> SymmetrizeReport:
    """List the conv layers a symmetry applies to and those it skips, with the reason.

    Nothing is modified. Selection and skipping follow :func:`symmetrize`.

    Args:
        model: any module; its ``nn.Conv2d`` submodules are considered.
        symmetry: a symmetry name or :class:`Symmetry`.
        layers: qualified names of the conv layers to consider (default: all).
        skip_zero_dof: skip layers where the symmetry has 0 degrees of freedom.

    Returns:
        A :class:`SymmetrizeReport`.

    Raises:
        SymcodecError: an unknown symmetry, or a name in ``layers`` that is not a conv layer.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, (1, 1)), nn.Conv2d(8, 4, (3, 5)))
    >>> r = symmetric_layers(net, "d4")
    >>> r.applied_names, r.dof_count, r.skipped
    (['0', '1'], 136, {'2': 'd4 is not defined on 3x5 kernels'})
    """
    return _plan(model, get_symmetry(symmetry), layers, skip_zero_dof)[0]


def symmetrize(
    model: nn.Module,
    symmetry: str | Symmetry,
    layers: Iterable[str] | None = None,
    skip_zero_dof: bool = True,
) -> nn.Module:
    """Constrain conv kernels to a symmetry by training only their degrees of freedom.

    Each selected ``Conv2d`` gets a :mod:`torch.nn.utils.parametrize` parametrization on
    ``weight`` (:class:`DofKernel`): the trainable tensor
    ``conv.parametrizations.weight.original`` holds the coefficients, shape
    ``(out, in / groups, DoF)``, initialised from the projection of the current weight, and
    ``conv.weight`` is rebuilt from them on every access, exactly symmetric. Grouped and
    depthwise convolutions work the same way. Biases are untouched.

    Layers where the symmetry has 0 DoF (skew symmetries on ``1x1`` kernels) are skipped
    unless ``skip_zero_dof=False`` (they are then fixed at zero); layers whose kernel shape
    the symmetry is not defined on are always skipped (an error if named explicitly with
    ``skip_zero_dof=False``). A layer already constrained to the same symmetry is kept as
    it is. The :class:`SymmetrizeReport` is left on the model as ``model.symcodec_report``.

    The model is modified in place and returned. Its ``state_dict`` keys of constrained
    layers become ``<layer>.parametrizations.weight.original``; :func:`unsymmetrize` gives a
    plain model back.

    Args:
        model: the model to modify.
        symmetry: a symmetry name or :class:`Symmetry`.
        layers: qualified names of the conv layers to constrain (default: all).
        skip_zero_dof: leave layers alone where the symmetry has 0 degrees of freedom.

    Returns:
        ``model``.

    Raises:
        SymcodecError: an unknown symmetry or layer name, or a layer already constrained to
            another symmetry.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(4, 4, 3, groups=4), nn.Conv2d(4, 8, 3))
    >>> _ = symmetrize(net, "hflip")
    >>> [tuple(p.shape) for p in net.parameters()]   # dw, bias, conv, bias: DoF 6 of 9
    [(4,), (4, 1, 6), (8,), (8, 4, 6)]
    >>> torch.equal(net[1].weight, net[1].weight.flip(-1))
    True
    """
    sym = get_symmetry(symmetry)
    report, chosen = _plan(model, sym, layers, skip_zero_dof)
    for name, conv in chosen.items():
        existing = _our_parametrization(conv)
        if existing is not None:
            if existing.symmetry == sym:
                continue
            raise SymcodecError(
                f"layer {name!r} is already constrained to {existing.symmetry.name}; "
                "unsymmetrize the model first"
            )
        if parametrize.is_parametrized(conv, "weight"):
            raise SymcodecError(f"layer {name!r} already has a parametrization on its weight")
        with torch.no_grad():
            kernel = DofKernel(sym, tuple(conv.kernel_size), dtype=conv.weight.dtype)
            parametrize.register_parametrization(conv, "weight", kernel.to(conv.weight.device))
    setattr(model, REPORT_ATTRIBUTE, report)
    return model


def constrained_layers(model: nn.Module) -> dict[str, Symmetry]:
    """The conv layers currently constrained by :func:`symmetrize`, with their symmetry.

    >>> from torch import nn
    >>> net = symmetrize(nn.Sequential(nn.Conv2d(1, 2, 3)), "c4")
    >>> {name: s.name for name, s in constrained_layers(net).items()}
    {'0': 'c4'}
    """
    out = {}
    for name, conv in _conv_layers(model).items():
        p = _our_parametrization(conv)
        if p is not None:
            out[name] = p.symmetry
    return out


def unsymmetrize(model: nn.Module) -> nn.Module:
    """Remove the parametrizations of :func:`symmetrize`, keeping the symmetric weights.

    Every constrained layer gets a plain ``weight`` parameter equal to its current
    (exactly symmetric) kernel, so ``state_dict`` keys are ``<layer>.weight`` again. A
    model without constraints is returned unchanged. Modifies in place and returns
    ``model``.

    >>> from torch import nn
    >>> net = symmetrize(nn.Sequential(nn.Conv2d(1, 2, 3)), "central")
    >>> w = net[0].weight.detach().clone()
    >>> net = unsymmetrize(net)
    >>> list(net.state_dict()), torch.equal(net[0].weight, w)
    (['0.weight', '0.bias'], True)
    """
    for conv in _conv_layers(model).values():
        if _our_parametrization(conv) is not None:
            parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
            # removal re-registers ``weight`` after ``bias``; restore the usual order so the
            # state dict (and so an encoded stream) looks like the model's before
            conv._parameters = dict(
                sorted(conv._parameters.items(), key=lambda item: item[0] != "weight")
            )
    if REPORT_ATTRIBUTE in model.__dict__:
        delattr(model, REPORT_ATTRIBUTE)
    return model


def project(
    model: nn.Module,
    symmetry: str | Symmetry,
    alpha: float = 1.0,
    layers: Iterable[str] | None = None,
    skip_zero_dof: bool = True,
) -> nn.Module:
    """Partial projection ``W <- (1 - alpha) W + alpha P_S W`` of conv weights, in place.

    ``alpha = 1`` makes the kernels exactly symmetric, ``alpha = 0`` changes nothing.
    Layers are selected and skipped as in :func:`symmetrize`; on a layer constrained by
    :func:`symmetrize` the result is stored through the parametrization (so it is projected
    onto that layer's symmetry as well).

    Args:
        model: the model to modify.
        symmetry: a symmetry name or :class:`Symmetry`.
        alpha: projection strength in ``[0, 1]``.
        layers: qualified names of the conv layers to project (default: all).
        skip_zero_dof: leave layers alone where the symmetry has 0 degrees of freedom.

    Returns:
        ``model``.

    Raises:
        SymcodecError: ``alpha`` outside ``[0, 1]``, an unknown symmetry or layer name.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(2, 2, 3))
    >>> distance(project(net, "central", alpha=0.5), "central").overall < 0.6
    True
    >>> distance(project(net, "central"), "central").overall
    0.0
    """
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise SymcodecError(f"projection strength alpha must be in [0, 1], got {alpha}")
    sym = get_symmetry(symmetry)
    _, chosen = _plan(model, sym, layers, skip_zero_dof)
    if alpha == 0.0:
        return model
    with torch.no_grad():
        for conv in chosen.values():
            new = sym.project(conv.weight.detach(), alpha)
            if parametrize.is_parametrized(conv, "weight"):
                conv.weight = new  # stored through right_inverse
            else:
                conv.weight.copy_(new)
    return model


def distance(
    model: nn.Module,
    symmetry: str | Symmetry,
    layers: Iterable[str] | None = None,
    skip_zero_dof: bool = True,
) -> DistanceReport:
    """Relative distance ``||W - P_S W|| / ||W||`` per conv layer and overall (SPEC 2).

    ``overall`` treats the weights of all the selected layers as one vector. Layers are
    selected and skipped as in :func:`symmetrize`; computed in float64.

    Args:
        model: the model to measure (plain or symmetrized).
        symmetry: a symmetry name or :class:`Symmetry`.
        layers: qualified names of the conv layers to measure (default: all).
        skip_zero_dof: leave out layers where the symmetry has 0 degrees of freedom.

    Returns:
        A :class:`DistanceReport` (``overall`` is 0 when no layer is selected).

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(3))
    >>> distance(net, "hflip").per_layer   # residual (I - J) / 2: four entries of 1/2
    {'0': 0.577350...}
    """
    sym = get_symmetry(symmetry)
    _, chosen = _plan(model, sym, layers, skip_zero_dof)
    with torch.no_grad():
        energies = {name: sym.residual_energy(conv.weight) for name, conv in chosen.items()}
    per_layer = {name: relative_distance([energy]) for name, energy in energies.items()}
    return DistanceReport(per_layer, relative_distance(energies.values()), sym.name)


def train_symmetric(
    model: nn.Module,
    symmetry: str | Symmetry,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    config: TrainConfig | None = None,
    *,
    layers: Iterable[str] | None = None,
    skip_zero_dof: bool = True,
    progress: bool = False,
) -> FinetuneResult:
    """Train a model with its conv kernels constrained to a symmetry; return it plain.

    :func:`symmetrize` (which projects the current weights), :func:`symcodec.training.train`,
    then :func:`unsymmetrize` (also if training fails), so the model comes back with plain,
    exactly symmetric conv weights. With the symmetry ``none`` the model is trained as it
    is (not reparametrized) and the report is empty. The model is modified in place.

    Args:
        model: the model to train (freshly built, or trained already: fine-tuning).
        symmetry: a symmetry name or :class:`Symmetry`; ``none``: unconstrained.
        train_x: training inputs, ``(N, C, H, W)``.
        train_y: integer labels, ``(N,)``.
        config: training settings (default :class:`TrainConfig`).
        layers: qualified names of the conv layers to constrain (default: all).
        skip_zero_dof: leave layers alone where the symmetry has 0 degrees of freedom.
        progress: show a progress bar.

    Returns:
        A :class:`FinetuneResult`: the model, the layer report, the training result and
        the number of trainable values while constrained.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    >>> x, y = torch.randn(32, 1, 6, 6), torch.arange(32) % 2
    >>> r = train_symmetric(net, "central", x, y, TrainConfig(epochs=1, batch_size=16))
    >>> r.train.steps, r.trainable, distance(net, "central").overall
    (2, 154, 0.0)
    """
    sym = get_symmetry(symmetry)
    if sym.name == "none":
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        result = train(model, train_x, train_y, config, progress=progress)
        return FinetuneResult(model, SymmetrizeReport(sym.name), result, trainable)
    symmetrize(model, sym, layers=layers, skip_zero_dof=skip_zero_dof)
    report = getattr(model, REPORT_ATTRIBUTE)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    try:
        result = train(model, train_x, train_y, config, progress=progress)
    finally:
        unsymmetrize(model)
    return FinetuneResult(model, report, result, trainable)


def finetune(
    model: nn.Module,
    symmetry: str | Symmetry,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    config: TrainConfig | None = None,
    *,
    layers: Iterable[str] | None = None,
    skip_zero_dof: bool = True,
    progress: bool = False,
) -> FinetuneResult:
    """Project onto a symmetry, train under the constraint, return a plain symmetric model.

    The same as :func:`train_symmetric` (the name for a model that is trained already).

    Args:
        model: the (trained) model to fine-tune.
        symmetry: a symmetry name or :class:`Symmetry`.
        train_x: training inputs, ``(N, C, H, W)``.
        train_y: integer labels, ``(N,)``.
        config: training settings (default :class:`TrainConfig`).
        layers: qualified names of the conv layers to constrain (default: all).
        skip_zero_dof: leave layers alone where the symmetry has 0 degrees of freedom.
        progress: show a progress bar.

    Returns:
        A :class:`FinetuneResult` with the model, the layer report and the training result.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    >>> x, y = torch.randn(32, 1, 6, 6), torch.arange(32) % 2
    >>> r = finetune(net, "vflip", x, y, TrainConfig(epochs=1, batch_size=16))
    >>> r.train.steps, distance(net, "vflip").overall
    (2, 0.0)
    """
    return train_symmetric(
        model,
        symmetry,
        train_x,
        train_y,
        config,
        layers=layers,
        skip_zero_dof=skip_zero_dof,
        progress=progress,
    )
