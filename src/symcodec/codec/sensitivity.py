"""How much the calibration loss of a received model rises when the values a tensor sends
are perturbed (by quantization): the diagonal Fisher of the sent values (a prediction), the
measured increase of one tensor (:class:`MeasuredLoss`), and the calibration loss and
accuracy themselves. Used by :mod:`.allocation` (per-tensor steps at a budget) and
:mod:`.symmetry_choice` (a symmetry per layer).

Values are always those a tensor puts on the wire (:func:`~.wire.transmitted_values`), and
the model sees them through the receiver's rebuild (:func:`~.wire.rebuild_tensor`): in
``dof`` mode a coefficient moves its whole orbit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import SymcodecError
from .plan import TransmissionPlan
from .wire import rebuild_tensor, transmitted_values

__all__ = [
    "FisherLabels",
    "Loss",
    "MeasuredLoss",
    "calibration_accuracy",
    "calibration_loss",
    "check_calibration",
    "diagonal_fisher",
    "model_and_state",
]

#: ``loss(logits, labels)``, averaged over the batch.
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Labels of the Fisher's gradients: drawn from the model (true Fisher) or the data's.
FisherLabels = Literal["sampled", "given"]
#: Per-image gradients are computed this many images at a time (memory: params x chunk).
FISHER_CHUNK = 32


def diagonal_fisher(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    calibration: tuple[torch.Tensor, torch.Tensor],
    loss: Loss = F.cross_entropy,
    labels: FisherLabels = "sampled",
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Diagonal Fisher of every float tensor's *sent* values: ``mean_i (d loss_i / d v_j)**2``
    over the calibration images, with the gradient taken through the receiver's rebuild of
    the tensor from its values (so a ``dof`` coefficient collects its whole orbit). Keys: the
    float tensors of ``state_dict``; shapes: those of their sent values.

    ``labels="sampled"`` (the default) draws each image's label from the model's own softmax
    (seeded by ``seed``): the true Fisher, whose expectation is the Gauss-Newton curvature of
    the cross-entropy. ``"given"`` uses the calibration labels: the empirical Fisher, which
    on a well-fit model underestimates the curvature (the gradients of images the model
    already classifies confidently are near zero), measured 5-10x too small on the convs of
    a trained ``deepcnn``. Sampling assumes ``loss`` takes class logits and labels.

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Linear(3, 2)
    >>> plan = TransmissionPlan.default(net.state_dict(), bits=8)
    >>> data = (torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1]))
    >>> f = diagonal_fisher(net, net.state_dict(), plan, data)
    >>> sorted(f), tuple(f["weight"].shape), bool((f["bias"] >= 0).all())
    (['bias', 'weight'], (2, 3), True)
    """
    from torch.func import functional_call, grad, vmap

    x, y = check_calibration(calibration)
    names = [k for k, t in state_dict.items() if t.dtype.is_floating_point]
    sent = {k: transmitted_values(state_dict[k].detach().cpu(), plan[k]).float() for k in names}
    fixed = {k: t for k, t in state_dict.items() if k not in sent}
    shapes = {k: tuple(state_dict[k].shape) for k in names}

    def loss_of_one(values, image, label):
        weights = {
            k: rebuild_tensor(v, shapes[k], plan[k].symmetry, plan[k].mode).to(state_dict[k].dtype)
            for k, v in values.items()
        }
        logits = functional_call(model, {**fixed, **weights}, (image.unsqueeze(0),))
        return loss(logits, label.unsqueeze(0))

    if labels not in ("sampled", "given"):
        raise SymcodecError(f"Fisher labels must be 'sampled' or 'given', got {labels!r}")
    per_image = vmap(grad(loss_of_one), in_dims=(None, 0, 0))
    total = {k: torch.zeros_like(v, dtype=torch.float64) for k, v in sent.items()}
    # the labels are drawn from the model the receiver rebuilds (projected in ``dof`` mode)
    received = {
        **fixed,
        **{
            k: rebuild_tensor(v, shapes[k], plan[k].symmetry, plan[k].mode).to(state_dict[k].dtype)
            for k, v in sent.items()
        },
    }
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, int(x.shape[0]), FISHER_CHUNK):
            images = x[start : start + FISHER_CHUNK]
            targets = y[start : start + FISHER_CHUNK]
            if labels == "sampled":
                with torch.no_grad():
                    logits = functional_call(model, received, (images,))
                probabilities = torch.softmax(logits.double(), dim=1)
                targets = torch.multinomial(probabilities, 1, generator=generator).squeeze(1)
            grads = per_image(sent, images, targets)
            for k, g in grads.items():
                total[k] += g.double().square().sum(dim=0)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SymcodecError(f"the calibration data does not fit the model: {first}") from None
    finally:
        model.train(was_training)
    return {k: (v / int(x.shape[0])).float() for k, v in total.items()}


@dataclass(frozen=True)
class MeasuredLoss:
    """The calibration loss increase of one tensor received quantized, every other tensor
    as the receiver rebuilds it at infinite precision (projected kernels in ``dof`` mode)."""

    model: nn.Module
    received: Mapping[str, torch.Tensor]
    calibration: tuple[torch.Tensor, torch.Tensor]
    loss: Loss
    base: float

    @classmethod
    def of(
        cls,
        model: nn.Module,
        state_dict: Mapping[str, torch.Tensor],
        plan: TransmissionPlan,
        calibration: tuple[torch.Tensor, torch.Tensor],
        loss: Loss = F.cross_entropy,
    ) -> MeasuredLoss:
        """The probe of ``model`` sending ``state_dict`` under ``plan``."""
        received = {}
        for name, t in state_dict.items():
            if t.dtype.is_floating_point:
                tp = plan[name]
                values = transmitted_values(t.detach().cpu(), tp)
                t = rebuild_tensor(values, tuple(t.shape), tp.symmetry, tp.mode).to(t.dtype)
            received[name] = t
        base = calibration_loss(model, received, calibration, loss)
        return cls(model, received, calibration, loss, base)

    def increase(self, name: str, tensor: torch.Tensor) -> float:
        """The loss with ``tensor`` in place of ``name``, minus the base loss."""
        changed = {**self.received, name: tensor}
        return calibration_loss(self.model, changed, self.calibration, self.loss) - self.base


def model_and_state(
    model_or_state_dict: nn.Module | Mapping[str, torch.Tensor], model: nn.Module | None
) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """The module to run and the state dict to send."""
    if isinstance(model_or_state_dict, nn.Module):
        module = model_or_state_dict
        state = {k: v.detach() for k, v in module.state_dict().items()}
        return module, state
    if model is None:
        raise SymcodecError("a state dict alone is not enough: pass the model (an nn.Module)")
    state = dict(model_or_state_dict)
    known = set(model.state_dict())
    if set(state) != known:
        missing = sorted(known.symmetric_difference(state))
        raise SymcodecError(f"the state dict does not fit the model: {missing[0]!r} differs")
    return model, state


def check_calibration(calibration) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)`` as tensors with as many labels as images (at least one)."""
    try:
        x, y = calibration
    except (TypeError, ValueError):
        raise SymcodecError("calibration must be a pair (images, labels)") from None
    x, y = torch.as_tensor(x).float(), torch.as_tensor(y).long()
    if x.dim() < 1 or x.shape[0] == 0 or y.shape != (x.shape[0],):
        raise SymcodecError(
            f"calibration needs N >= 1 images and N labels, got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
    return x, y


def _outputs(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    batch: int = 256,
):
    """``(logits, labels)`` of ``model`` with the tensors ``state``, batch by batch (eval
    mode, no gradients; the model's mode is restored)."""
    from torch.func import functional_call

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, int(x.shape[0]), batch):
                logits = functional_call(model, dict(state), (x[start : start + batch],))
                yield logits, y[start : start + batch]
    finally:
        model.train(was_training)


def calibration_accuracy(
    model: nn.Module, state: Mapping[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> float:
    """Accuracy (percent) of ``model`` with the tensors ``state`` on ``(x, y)``."""
    correct = sum(int((lg.argmax(dim=1) == lb).sum()) for lg, lb in _outputs(model, state, x, y))
    return 100.0 * correct / int(x.shape[0])


def calibration_loss(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    calibration: tuple[torch.Tensor, torch.Tensor],
    loss: Loss = F.cross_entropy,
) -> float:
    """The mean ``loss`` of ``model`` with the tensors ``state_dict`` on the calibration set
    (what :func:`~.allocation.allocate` minimises, here measured instead of predicted).

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = net.weight.zero_(), net.bias.zero_()
    >>> round(calibration_loss(net, net.state_dict(), (torch.ones(4, 2), torch.zeros(4).long())), 4)
    0.6931
    """
    x, y = check_calibration(calibration)
    total = sum(
        float(loss(lg, lb)) * int(lb.shape[0]) for lg, lb in _outputs(model, state_dict, x, y)
    )
    return total / int(x.shape[0])
