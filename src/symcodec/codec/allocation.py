"""Data-aware bit allocation: per-tensor step sizes that minimise the predicted loss of the
received model at a byte budget (issue 14).

:func:`allocate` takes a model, a transmission plan (which tensors are sent how: symmetry,
mode, coder), a small calibration set of *training* images and a budget, and returns the
plan with one ``step`` quantizer per float tensor. The method, in three measured parts:

1. **Sensitivity: diagonal Fisher on the values sent** (:mod:`.sensitivity`). For every
   value ``v_j`` a tensor puts on the wire (:func:`~.wire.transmitted_values`: the DoF
   coefficients of a ``dof`` kernel, every value otherwise), ``F_j = mean_i (d loss_i /
   d v_j)**2`` over the calibration images, labels drawn from the model's softmax (the true
   Fisher, see :func:`~.sensitivity.diagonal_fisher`), with per-image gradients
   (``torch.func.vmap`` of ``grad``) taken *through the receiver's rebuild*
   (:func:`~.wire.rebuild_tensor`). So in ``dof`` mode the gradient of a coefficient sums
   the signed gradients of the ``m`` kernel positions of its orbit (noise on a coefficient
   moves all its copies at once), and in ``full-project`` mode it is the projected gradient.
   The model is evaluated where the receiver lands at infinite precision
   (``rebuild(transmitted_values(W))``: projected kernels in ``dof`` mode).
2. **Rate and distortion, measured per tensor and step.** On a geometric grid of steps
   (:data:`STEPS_PER_OCTAVE` per octave) each tensor is quantized and encoded on its own by
   the real encoder: ``bytes_t(S)`` is the length of that one-tensor stream, and the
   predicted loss increase is ``D_t(S) = 1/2 sum_j F_j (q_S(v_j) - v_j)**2`` with the actual
   quantization error (no high-resolution ``S**2 / 12`` assumption). The quadratic model
   holds for small perturbations only: at coarse steps it can predict a small increase
   where the received network is badly hurt, so where it predicts at least
   :data:`MEASURE_ABOVE` the increase is also *measured* (:class:`~.sensitivity.MeasuredLoss`: the
   calibration loss with that one tensor quantized) and the larger of the two is used. No
   step coarser than ``max|v|`` is tried (:data:`COARSEST_OCTAVES`): no tensor is zeroed whole.
3. **Lagrangian allocation, checked with the real encoder.** For a multiplier ``lambda``
   every tensor takes the step minimising ``D_t + lambda * bytes_t`` (a point of the lower
   convex hull of its curve). The allocation changes only at the hull's slopes, so
   :func:`allocate` binary-searches these breakpoints for the finest allocation whose
   *whole* stream, encoded by :func:`~.writer.encode`, fits ``budget_bytes``. With
   ``max_accuracy_drop_pp`` instead, it searches for the smallest stream whose decoded model
   loses at most that many points of accuracy on the calibration images.

Everything is deterministic (no sampling; the calibration images are given). Tensors that
are not floats keep their plan; ``pruned`` tensors are refused (their positions are chosen
by magnitude, not by step). Each tensor keeps its plan's symmetry, mode, coder, dead zone and
chunk size; its ``bits``, ``grid``, ``per_channel`` and ``float16`` give way to the step.
Per-tensor steps need no new stream field: every record already carries its own quantizer.

>>> import torch
>>> from torch import nn
>>> from symcodec.codec import TransmissionPlan, encode
>>> torch.manual_seed(0) and None
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))
>>> x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 3, (32,))
>>> base = TransmissionPlan.default(net.state_dict(), symmetry="central-skew", coder="ans")
>>> plan = allocate(net, base, calibration=(x, y), budget_bytes=600)
>>> len(encode(net.state_dict(), plan)) <= 600
True
>>> plan["0.weight"].mode, plan["0.weight"].step is not None
('dof', True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import SymcodecError
from .plan import TensorPlan, TransmissionPlan
from .quantize import fake_quantize
from .reader import decode
from .sensitivity import (
    Loss,
    MeasuredLoss,
    calibration_accuracy,
    check_calibration,
    diagonal_fisher,
    model_and_state,
)
from .wire import rebuild_tensor, transmitted_values
from .writer import encode

__all__ = ["MEASURE_ABOVE", "STEPS_PER_OCTAVE", "TensorCurve", "allocate", "rate_curves"]

#: Candidate steps per factor of 2 (4: steps ``2**(k/4)``, as NNCodec's ``qp_density=2``).
STEPS_PER_OCTAVE = 4
#: The finest candidate step is ``max|v| * 2**-FINEST_OCTAVES`` (about 15 bits per value).
FINEST_OCTAVES = 14
#: The coarsest is ``max|v| * 2**-COARSEST_OCTAVES``: the largest values keep a level, so no
#: tensor is zeroed whole (removing a whole layer is far outside the quadratic model: the
#: Fisher predicts a small loss increase where the received network is dead).
COARSEST_OCTAVES = 0
#: Where the Fisher predicts at least this loss increase (nats) for a tensor at a step, the
#: increase is also measured (one forward pass over the calibration images) and the larger
#: of the two is used: the quadratic model holds for small perturbations only.
MEASURE_ABOVE = 1e-3
#: Greedy refinement after the Lagrangian search: at most this many trial encodes.
MAX_REFINE_ENCODES = 24


@dataclass(frozen=True)
class TensorCurve:
    """One tensor's measured rate-distortion curve: candidate ``steps`` (increasing), the
    bytes of the one-tensor stream at each, and the predicted loss increase at each."""

    name: str
    steps: tuple[float, ...]
    stream_bytes: tuple[int, ...]
    loss_increase: tuple[float, ...]

    def hull(self) -> list[int]:
        """Indices of the lower convex hull of ``(bytes, loss)``, from the most bytes to the
        fewest: the only points a Lagrangian choice ``min loss + lambda * bytes`` takes."""
        order = sorted(
            range(len(self.steps)), key=lambda i: (self.stream_bytes[i], self.loss_increase[i])
        )
        best: list[int] = []  # by bytes ascending, strictly decreasing loss
        for i in order:
            if not best or self.loss_increase[i] < self.loss_increase[best[-1]]:
                best.append(i)
        hull: list[int] = []
        for i in best:
            while len(hull) >= 2 and _cross(self, hull[-2], hull[-1], i) <= 0:
                hull.pop()
            hull.append(i)
        return hull[::-1]

    def slopes(self) -> list[float]:
        """The multipliers at which the Lagrangian choice moves one hull point coarser:
        ``(loss[coarser] - loss[finer]) / (bytes[finer] - bytes[coarser])``, increasing."""
        h = self.hull()
        return [
            (self.loss_increase[c] - self.loss_increase[f])
            / (self.stream_bytes[f] - self.stream_bytes[c])
            for f, c in zip(h, h[1:], strict=False)
        ]


def _cross(curve: TensorCurve, a: int, b: int, c: int) -> float:
    """Cross product of ``b - a`` and ``c - a`` in the ``(bytes, loss)`` plane (> 0: convex)."""
    xa, ya = curve.stream_bytes[a], curve.loss_increase[a]
    xb, yb = curve.stream_bytes[b], curve.loss_increase[b]
    xc, yc = curve.stream_bytes[c], curve.loss_increase[c]
    return (xb - xa) * (yc - ya) - (yb - ya) * (xc - xa)


def allocate(
    model_or_state_dict: nn.Module | Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    calibration: tuple[torch.Tensor, torch.Tensor],
    budget_bytes: int | None = None,
    model: nn.Module | None = None,
    *,
    max_accuracy_drop_pp: float | None = None,
    loss: Loss = F.cross_entropy,
    metadata: Mapping[str, str] | None = None,
    curves: Mapping[str, TensorCurve] | None = None,
) -> TransmissionPlan:
    """The plan with per-tensor steps that minimise the predicted calibration loss of the
    received model under a byte budget (see the module docstring for the method).

    Args:
        model_or_state_dict: the model to send, or its state dict (then give ``model``).
        plan: the base plan: each tensor's symmetry, mode and coder (``coder="ans"`` is what
            makes small steps cheap; ``fixed`` works too).
        calibration: ``(images, labels)``, a few hundred *training* images (never test ones).
        budget_bytes: the largest stream, in bytes, header included, of
            ``encode(state_dict, plan)`` with the tensors in the order given (a module's:
            ``state_dict()`` order). The order matters by a few bytes: the header is
            compressed.
        model: an ``nn.Module`` of the architecture, when a state dict is given (its own
            weights are not used).
        max_accuracy_drop_pp: instead of a budget: the smallest stream whose received model
            is at most this many percentage points less accurate on the calibration images
            than the model itself.
        loss: ``loss(logits, labels)``, averaged over the batch (default cross-entropy).
        metadata: the metadata the stream will carry (:func:`~.writer.encode`'s): its header
            bytes count against the budget.
        curves: the tensors' curves from :func:`rate_curves` for this state dict, plan and
            calibration set, to allocate several budgets at the cost of one sensitivity
            measurement (default: measured here).

    Returns:
        A new :class:`TransmissionPlan` whose notes end with a summary of the allocation.

    Raises:
        SymcodecError: no budget (or both), a budget below the coarsest allocation's stream,
            a ``pruned`` tensor, or calibration data that does not fit the model.
    """
    if (budget_bytes is None) == (max_accuracy_drop_pp is None):
        raise SymcodecError("allocate needs exactly one of budget_bytes and max_accuracy_drop_pp")
    module, state = model_and_state(model_or_state_dict, model)
    x, y = check_calibration(calibration)
    _check_allocatable(state, plan)
    if curves is None:
        curves = _measured_curves(module, state, plan, (x, y), loss)
    allocations = _LagrangianAllocations.of(state, plan, curves, metadata)
    if budget_bytes is not None:
        choice, size, target = _fit_budget(allocations, budget_bytes)
    else:
        assert max_accuracy_drop_pp is not None
        choice, size, target = _meet_accuracy(allocations, module, x, y, max_accuracy_drop_pp)
    result = _plan_with_choice(plan, curves, choice)
    note = _allocation_note(target, size, curves, choice, int(x.shape[0]))
    return TransmissionPlan(tensors=result.tensors, notes=(*plan.notes, note))


def _measured_curves(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    calibration: tuple[torch.Tensor, torch.Tensor],
    loss: Loss,
) -> dict[str, TensorCurve]:
    """Every tensor's rate-distortion curve, from the diagonal Fisher and the measured loss
    on the calibration images (parts 1 and 2 of the method)."""
    fisher = diagonal_fisher(module, state, plan, calibration, loss=loss)
    measured = MeasuredLoss.of(module, state, plan, calibration, loss=loss)
    return rate_curves(state, plan, fisher, measured)


def _allocation_note(
    target: str,
    size: int,
    curves: Mapping[str, TensorCurve],
    choice: Mapping[str, int],
    n_images: int,
) -> str:
    """The note an allocated plan ends with: its target, stream size and predicted loss."""
    predicted = sum(c.loss_increase[choice[n]] for n, c in curves.items())
    return (
        f"allocation: {target}; stream {size:,} bytes; predicted calibration loss "
        f"increase {predicted:.4g} (diagonal Fisher, {n_images} images)"
    )


@dataclass
class _LagrangianAllocations:
    """The candidate allocations of :func:`allocate`: allocation ``i`` puts every tensor at
    its Lagrangian point for the ``i``-th multiplier (0, then every hull slope of every
    curve, increasing: coarser as ``i`` grows); the whole stream's bytes of each are
    measured with the real encoder when first asked for, once."""

    state: Mapping[str, torch.Tensor]
    plan: TransmissionPlan
    curves: Mapping[str, TensorCurve]
    metadata: Mapping[str, str] | None
    choices: list[dict[str, int]]
    sizes: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        state: Mapping[str, torch.Tensor],
        plan: TransmissionPlan,
        curves: Mapping[str, TensorCurve],
        metadata: Mapping[str, str] | None,
    ) -> _LagrangianAllocations:
        slopes = sorted({s for c in curves.values() for s in c.slopes()})
        lambdas = [0.0, *slopes]
        choices = [{n: _choice(c, lam) for n, c in curves.items()} for lam in lambdas]
        return cls(state, plan, curves, metadata, choices)

    def __len__(self) -> int:
        return len(self.choices)

    def size_at(self, i: int) -> int:
        """Bytes of the whole stream under allocation ``i``."""
        if i not in self.sizes:
            self.sizes[i] = _stream_bytes(
                self.state, self.plan, self.curves, self.choices[i], self.metadata
            )
        return self.sizes[i]


def _fit_budget(
    allocations: _LagrangianAllocations, budget_bytes: int
) -> tuple[dict[str, int], int, str]:
    """The finest Lagrangian allocation whose stream fits ``budget_bytes`` (bytes fall
    monotonically along the multipliers, up to the header's compression), with what is left
    spent greedily (:func:`_refine`): ``(choice, stream bytes, target text)``."""
    a = allocations
    coarsest = a.size_at(len(a) - 1)
    if coarsest > budget_bytes:
        raise SymcodecError(
            f"a budget of {budget_bytes:,} bytes is below the smallest stream this plan "
            f"makes ({coarsest:,} bytes at the coarsest steps)"
        )
    chosen = _first(len(a), lambda i: a.size_at(i) <= budget_bytes)
    choice, size = _refine(
        a.state, a.plan, a.curves, a.choices[chosen], a.size_at(chosen), budget_bytes, a.metadata
    )
    return choice, size, f"budget {budget_bytes:,} bytes"


def _meet_accuracy(
    allocations: _LagrangianAllocations,
    module: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    max_accuracy_drop_pp: float,
) -> tuple[dict[str, int], int, str]:
    """The coarsest Lagrangian allocation whose decoded model loses at most
    ``max_accuracy_drop_pp`` of calibration accuracy: ``(choice, stream bytes, target)``."""
    a = allocations
    reference = calibration_accuracy(module, a.state, x, y)
    floor = reference - max_accuracy_drop_pp

    def accurate(i: int) -> bool:
        received = decode(encode(a.state, _plan_with_choice(a.plan, a.curves, a.choices[i])))
        return calibration_accuracy(module, received, x, y) >= floor

    last = _first(len(a), lambda i: not accurate(i))
    if last == 0:
        raise SymcodecError(
            f"even the finest steps lose more than {max_accuracy_drop_pp:g} pp of "
            f"calibration accuracy (reference {reference:.2f}%)"
        )
    target = (
        f"calibration accuracy >= {floor:.2f}% ({reference:.2f}% - {max_accuracy_drop_pp:g} pp)"
    )
    return a.choices[last - 1], a.size_at(last - 1), target


def _first(n: int, ok: Callable[[int], bool]) -> int:
    """The smallest ``i`` in ``0 .. n - 1`` with ``ok(i)`` for a predicate that is false and
    then true along ``i`` (binary search); ``n`` if it is never true."""
    low, high = 0, n
    while low < high:
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid + 1
    return low


def _choice(curve: TensorCurve, lam: float) -> int:
    """The curve's index minimising ``loss + lam * bytes`` (ties: the fewer bytes)."""
    return min(
        range(len(curve.steps)),
        key=lambda i: (curve.loss_increase[i] + lam * curve.stream_bytes[i], curve.stream_bytes[i]),
    )


def _plan_with_choice(
    plan: TransmissionPlan, curves: Mapping[str, TensorCurve], choice: Mapping[str, int]
) -> TransmissionPlan:
    """``plan`` with every curve's tensor at its chosen candidate step."""
    tensors = dict(plan.tensors)
    for name, curve in curves.items():
        tensors[name] = _with_step(plan[name], curve.steps[choice[name]])
    return TransmissionPlan(tensors=tensors, notes=plan.notes)


def _stream_bytes(
    state: Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    curves: Mapping[str, TensorCurve],
    choice: Mapping[str, int],
    metadata: Mapping[str, str] | None,
) -> int:
    """Bytes of the whole stream under a choice, from the real encoder."""
    return len(encode(state, _plan_with_choice(plan, curves, choice), metadata=metadata))


def _refine(
    state: Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    curves: Mapping[str, TensorCurve],
    choice: dict[str, int],
    size: int,
    budget_bytes: int,
    metadata: Mapping[str, str] | None,
) -> tuple[dict[str, int], int]:
    """Spend the bytes a Lagrangian choice leaves under the budget (its curves' hulls jump):
    repeatedly move the one tensor whose move to another candidate lowers the predicted loss
    most per byte and is predicted to fit, keep it if the real stream fits; at most
    :data:`MAX_REFINE_ENCODES` trial encodes."""
    refused: set[tuple[str, int]] = set()
    for _ in range(MAX_REFINE_ENCODES):
        best: tuple[float, str, int] | None = None
        for name, c in curves.items():
            now = choice[name]
            for j in range(len(c.steps)):
                more = c.stream_bytes[j] - c.stream_bytes[now]
                gain = c.loss_increase[now] - c.loss_increase[j]
                if gain <= 0 or (name, j) in refused or size + more > budget_bytes:
                    continue
                rate = math.inf if more <= 0 else gain / more
                if best is None or rate > best[0]:
                    best = (rate, name, j)
        if best is None:
            break
        _, name, j = best
        trial = {**choice, name: j}
        trial_size = _stream_bytes(state, plan, curves, trial, metadata)
        if trial_size <= budget_bytes:
            choice, size = trial, trial_size
        else:
            refused.add((name, j))
    return choice, size


def _with_step(tplan: TensorPlan, step: float) -> TensorPlan:
    """A tensor's plan with a step quantizer (bits, grid, per-channel and float16 give way)."""
    return replace(tplan, step=step, per_channel=False, float16=False, bits=8, grid="auto")


def rate_curves(
    state_dict: Mapping[str, torch.Tensor],
    plan: TransmissionPlan,
    fisher: Mapping[str, torch.Tensor],
    measured: MeasuredLoss | None = None,
    measure_above: float = MEASURE_ABOVE,
) -> dict[str, TensorCurve]:
    """Each Fisher-weighted tensor's :class:`TensorCurve`. Candidate steps: the grid
    ``2**(k / STEPS_PER_OCTAVE)`` from ``max|v| * 2**-FINEST_OCTAVES`` to
    ``max|v| * 2**-COARSEST_OCTAVES`` (``v``: its sent values). At each: the bytes of the
    tensor encoded alone under its plan, and the predicted loss increase
    ``1/2 sum_j F_j (q(v_j) - v_j)**2``; with ``measured``, where that prediction is at least
    ``measure_above`` (coarse steps, where the quadratic model fails), the larger of it and
    the measured increase. Steps the encoder refuses (too many levels for ``ans``) are left
    out."""
    curves = {}
    for name, weights in fisher.items():
        tensor = state_dict[name].detach().cpu()
        tplan = plan[name]
        values = transmitted_values(tensor, tplan).float()
        top = float(values.abs().max()) if values.numel() else 0.0
        points = []
        measuring = measured is not None
        for step in reversed(_candidate_steps(top)):  # coarse to fine
            single = _with_step(tplan, step)
            try:
                size = len(encode({name: tensor}, TransmissionPlan({name: single})))
            except SymcodecError:
                continue
            spec = single.quantizer_for(torch.float32)
            received = fake_quantize(values, spec)
            predicted = 0.5 * float(
                (weights.double() * (received - values).double().square()).sum()
            )
            measuring = measuring and predicted >= measure_above
            if measuring:
                assert measured is not None
                rebuilt = rebuild_tensor(received, tuple(tensor.shape), tplan.symmetry, tplan.mode)
                predicted = max(predicted, measured.increase(name, rebuilt.to(tensor.dtype)))
            points.append((float(spec.step), size, predicted))
        if not points:
            raise SymcodecError(f"{name}: no candidate step can be encoded")
        steps, sizes, losses = zip(*reversed(points), strict=True)
        curves[name] = TensorCurve(name, steps, sizes, losses)
    return curves


def _candidate_steps(top: float) -> list[float]:
    """Steps ``2**(k / STEPS_PER_OCTAVE)`` from ``top * 2**-FINEST_OCTAVES`` to
    ``top * 2**-COARSEST_OCTAVES``
    (one step, 1.0, for an all-zero tensor)."""
    if not top > 0:
        return [1.0]
    low = math.ceil(STEPS_PER_OCTAVE * (math.log2(top) - FINEST_OCTAVES))
    high = math.floor(STEPS_PER_OCTAVE * (math.log2(top) - COARSEST_OCTAVES))
    return [2.0 ** (k / STEPS_PER_OCTAVE) for k in range(low, high + 1)]


def _check_allocatable(state: Mapping[str, torch.Tensor], plan: TransmissionPlan) -> None:
    """Refuse what the allocation cannot set a step for: non-tensors, ``pruned`` tensors."""
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            raise SymcodecError(f"{name}: expected a tensor, got {type(tensor).__name__}")
        if not tensor.dtype.is_floating_point:
            continue
        if plan[name].mode == "pruned":
            raise SymcodecError(
                f"{name}: allocation sets step sizes; mode 'pruned' is not supported"
            )
