"""What each tensor of a model gets on the wire: symmetry, mode, quantizer (SPEC section 3).

Modes:

* ``dof``: send the live-orbit coefficients of the symmetric kernel (the compression).
* ``full-project``: send every kernel value; the receiver projects onto ``V_S``.
* ``full``: send every value; no projection.
* ``pruned``: send the ``keep`` largest-magnitude values and their positions (the
  baseline of SPEC section 6; see :mod:`symcodec.codec.pruning`).

>>> import torch
>>> sd = {"conv.weight": torch.zeros(8, 3, 3, 3), "conv.bias": torch.zeros(8)}
>>> plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=4)
>>> plan["conv.weight"].mode, plan["conv.weight"].symmetry.name, plan["conv.bias"].mode
('dof', 'central-skew', 'full')

A step size instead of a bit width, and the entropy coder, for every float tensor:

>>> plan = TransmissionPlan.default(sd, symmetry="central-skew", step=0.01, coder="ans")
>>> spec = plan["conv.weight"].quantizer_for(torch.float32)
>>> spec.kind, spec.step, plan["conv.bias"].coder
('step', 0.009999999776482582, 'ans')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from ..errors import SymcodecError
from ..symmetry import Symmetry, get_symmetry
from .entropy import DEFAULT_CHUNK_VALUES, MAX_CHUNK_VALUES
from .quantize import QuantizerSpec, check_dead_zone, float32_step
from .rdo import check_lagrangian

MODES = ("dof", "full-project", "full", "pruned")
GRID_CHOICES = ("auto", "minmax", "symmetric")
# ``fixed``: fixed-length codes; ``ans``: entropy-coded levels (see :mod:`.entropy`).
CODERS = ("fixed", "ans")


def tensor_dof(shape: Sequence[int], symmetry: Symmetry | None) -> int:
    """Degrees of freedom of a tensor of ``shape``: ``prod(shape[:-2]) * DoF(kernel)`` under
    ``symmetry`` (:meth:`~symcodec.symmetry.Symmetry.dof` of the last two axes), every
    element without one.

    >>> from symcodec.symmetry import get_symmetry
    >>> tensor_dof((8, 4, 3, 3), get_symmetry("central-skew")), tensor_dof((8, 4, 3, 3), None)
    (128, 288)
    """
    if symmetry is None:
        return math.prod(shape)
    return math.prod(shape[:-2]) * symmetry.dof(tuple(shape[-2:]))


@dataclass(frozen=True)
class TensorPlan:
    """How one tensor is sent.

    Attributes:
        symmetry: the kernel symmetry (``None`` for tensors sent as they are).
        mode: ``dof``, ``full-project``, ``full`` or ``pruned``.
        bits: 2..16 for uniform codes, 32 for float32 passthrough.
        grid: ``auto`` (zero-centred for skew kernels sent in full, else min/max),
            ``minmax`` or ``symmetric``.
        per_channel: one quantizer range per output channel.
        float16: send IEEE half floats (requires ``bits == 16``).
        keep: ``pruned`` mode: how many largest-magnitude values are sent.
        coder: ``fixed`` (fixed-length codes) or ``ans`` (entropy-coded levels; float
            tensors quantized to ``uniform`` or ``step`` levels only, the others stay fixed).
        step: a step size > 0: float tensors get a ``step`` quantizer (``bits`` is then
            ignored for them), rounded to float32.
        dead_zone: the step quantizer's rounding offset, in ``[0, 0.5)`` (0: rounding).
        chunk_values: values per independently decodable chunk of an ``ans`` record.
        ans_fallback: with ``coder="ans"``, send the tensor ``fixed`` where that is not
            larger than ``ans`` with its model and chunk table (a tensor too small to pay
            for an entropy model); False forces ``ans``. The record says which coder it
            used.
        rdo_lambda: rate–distortion-optimised rounding of the step quantizer's levels
            (:mod:`.rdo`): the squared error, in units of ``step ** 2``, traded for one bit;
            0 (the default) is plain rounding. Needs a step and ``coder="ans"``; an encoder
            choice, the stream format does not change.
    """

    symmetry: Symmetry | None = None
    mode: str = "full"
    bits: int = 32
    grid: str = "auto"
    per_channel: bool = False
    float16: bool = False
    keep: int | None = None
    coder: str = "fixed"
    step: float | None = None
    dead_zone: float = 0.0
    chunk_values: int = DEFAULT_CHUNK_VALUES
    ans_fallback: bool = True
    rdo_lambda: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SymcodecError(f"unknown mode {self.mode!r}; known: {', '.join(MODES)}")
        if self.grid not in GRID_CHOICES:
            raise SymcodecError(
                f"unknown quantizer grid {self.grid!r}; known: {', '.join(GRID_CHOICES)}"
            )
        if self.mode in ("dof", "full-project") and self.symmetry is None:
            raise SymcodecError(f"mode {self.mode!r} needs a symmetry")
        if (self.mode == "pruned") != (self.keep is not None):
            raise SymcodecError("mode 'pruned' and 'keep' (values kept) go together")
        if self.keep is not None and self.keep < 0:
            raise SymcodecError(f"keep must be non-negative, got {self.keep}")
        if self.mode == "pruned" and self.per_channel:
            raise SymcodecError("mode 'pruned' quantizes the kept values per tensor")
        if self.coder not in CODERS:
            raise SymcodecError(f"unknown coder {self.coder!r}; known: {', '.join(CODERS)}")
        if self.step is not None:
            float32_step(self.step)
            if self.float16:
                raise SymcodecError("a step quantizer and float16 passthrough exclude each other")
            if self.per_channel:
                raise SymcodecError("a step quantizer has one step per tensor (no per_channel)")
        check_dead_zone(self.dead_zone)
        if self.dead_zone and self.step is None:
            raise SymcodecError("dead_zone needs a step (it is a step quantizer option)")
        if (
            isinstance(self.chunk_values, bool)
            or not isinstance(self.chunk_values, int)
            or not 1 <= self.chunk_values <= MAX_CHUNK_VALUES
        ):
            raise SymcodecError(
                f"chunk_values must be an integer in 1..{MAX_CHUNK_VALUES}, "
                f"got {self.chunk_values!r}"
            )
        if not isinstance(self.ans_fallback, bool):
            raise SymcodecError(f"ans_fallback must be True or False, got {self.ans_fallback!r}")
        if check_lagrangian(self.rdo_lambda) and (self.step is None or self.coder != "ans"):
            raise SymcodecError("rdo_lambda needs a step and coder 'ans' (it rounds for a model)")
        spec = self.quantizer_for(torch.float32)  # validates bits / float16
        if self.coder == "ans" and not spec.is_quantized:
            raise SymcodecError(
                f"coder 'ans' codes quantized levels: use bits 2..16 or a step, not "
                f"{spec.kind} (bits={self.bits})"
            )

    def coder_for(self, spec: QuantizerSpec) -> str:
        """The coder a tensor with quantizer ``spec`` gets: ``ans`` applies to quantized
        levels only; raw and float passthrough values are always ``fixed``."""
        return self.coder if spec.is_quantized else "fixed"

    def quantizer_for(self, dtype: torch.dtype) -> QuantizerSpec:
        """The quantizer this plan gives a tensor of ``dtype``."""
        if not (dtype.is_floating_point or dtype.is_complex):
            return QuantizerSpec(kind="raw", bits=torch.empty(0, dtype=dtype).element_size() * 8)
        if self.step is not None:
            return QuantizerSpec(
                kind="step", bits=0, step=float32_step(self.step), dead_zone=self.dead_zone
            )
        if self.float16:
            if self.bits != 16:
                raise SymcodecError(f"float16 passthrough has 16 bits, got bits={self.bits}")
            return QuantizerSpec(kind="float16", bits=16)
        if self.bits == 32:
            return QuantizerSpec(kind="float32", bits=32)
        grid = self.grid
        if grid == "auto":
            skew = self.symmetry is not None and self.symmetry.is_skew
            grid = "symmetric" if skew and self.mode != "dof" else "minmax"
        return QuantizerSpec(
            kind="uniform", bits=self.bits, grid=grid, per_channel=self.per_channel
        )


@dataclass(frozen=True)
class TransmissionPlan:
    """A :class:`TensorPlan` for every tensor of a state dict, plus notes for the report."""

    tensors: Mapping[str, TensorPlan]
    notes: tuple[str, ...] = field(default=())

    def __getitem__(self, name: str) -> TensorPlan:
        try:
            return self.tensors[name]
        except KeyError:
            raise SymcodecError(f"the transmission plan has no entry for tensor {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.tensors

    @classmethod
    def default(
        cls,
        state_dict: Mapping[str, torch.Tensor],
        symmetry: str | Symmetry = "none",
        bits: int = 8,
        mode: str = "dof",
        other_bits: int | None = None,
        grid: str = "auto",
        per_channel: bool = False,
        layers: Iterable[str] | None = None,
        float16: bool = False,
        coder: str = "fixed",
        step: float | None = None,
        dead_zone: float = 0.0,
        chunk_values: int = DEFAULT_CHUNK_VALUES,
        ans_fallback: bool = True,
        rdo_lambda: float = 0.0,
    ) -> TransmissionPlan:
        """Apply ``symmetry`` in ``mode`` to every conv kernel (4-D float tensor) where it
        leaves DoF > 0; send every other tensor in ``full`` at ``other_bits`` (default:
        ``bits``). ``coder``, ``step`` and ``dead_zone`` apply to every float tensor
        (kernels and the others); non-float tensors are always sent raw with ``fixed``.

        Args:
            state_dict: the model's tensors.
            symmetry: a named symmetry or a :class:`~symcodec.symmetry.Symmetry`.
            bits: bits per kernel value (2..16, or 32 for float32).
            mode: ``dof``, ``full-project`` or ``full`` for the symmetric kernels.
            other_bits: bits for every other tensor (default: ``bits``).
            grid: quantizer grid (``auto``, ``minmax``, ``symmetric``).
            per_channel: one quantizer range per output channel.
            layers: restrict the symmetry to these kernels (tensor names such as
                ``conv1.weight``, or module names such as ``conv1``).
            float16: send kernels and other tensors as IEEE half floats (``bits = 16``).
            coder: ``fixed`` or ``ans`` (entropy coding of the quantized levels).
            step: a step size: every float tensor gets a ``step`` quantizer instead of
                ``bits`` / ``other_bits``.
            dead_zone: rounding offset of the step quantizer, in ``[0, 0.5)``.
            chunk_values: values per independently decodable ``ans`` chunk.
            ans_fallback: ``ans`` tensors too small to pay for their model go ``fixed``
                (see :class:`TensorPlan`).
            rdo_lambda: rate–distortion-optimised rounding for every float tensor (see
                :class:`TensorPlan`); 0 is plain rounding.
        """
        sym = get_symmetry(symmetry)
        if mode not in MODES:
            raise SymcodecError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        other = bits if other_bits is None else other_bits
        selected = _selected_kernels(state_dict, layers)
        options = {
            "grid": grid,
            "per_channel": per_channel,
            "float16": float16,
            "coder": coder,
            "step": step,
            "dead_zone": dead_zone,
            "chunk_values": chunk_values,
            "ans_fallback": ans_fallback,
            "rdo_lambda": rdo_lambda,
        }
        TensorPlan(bits=bits, **options)  # validated once, also without float tensors
        tensors: dict[str, TensorPlan] = {}
        notes: list[str] = []
        for name, tensor in state_dict.items():
            floating = tensor.dtype.is_floating_point
            plan = _tensor_plan(other if step is None else bits, floating, options)
            if name in selected and sym.name != "none":
                note = _sent_in_full(name, sym, tuple(tensor.shape[-2:]))
                if note is None:
                    plan = _tensor_plan(bits, floating, options, symmetry=sym, mode=mode)
                else:
                    notes.append(note)
            elif name in selected:
                plan = _tensor_plan(bits, floating, options)
            tensors[name] = plan
        return cls(tensors=tensors, notes=tuple(notes))

    @classmethod
    def pruned(
        cls,
        state_dict: Mapping[str, torch.Tensor],
        symmetry: str | Symmetry,
        bits: int = 8,
        other_bits: int | None = None,
        grid: str = "auto",
        layers: Iterable[str] | None = None,
        per_channel: bool = False,
        keep: Mapping[str, int] | None = None,
    ) -> TransmissionPlan:
        """Pruning at equal payload (SPEC section 6): every conv kernel that ``symmetry``
        would constrain keeps as many largest-magnitude values as its DoF count (or
        ``keep[name]``: a model already pruned by another rule, such as
        :func:`symcodec.codec.pruning.pruning_masks`, sends its own counts); every other
        tensor is sent in full (with ``per_channel`` ranges if asked).

        >>> import torch
        >>> sd = {"conv.weight": torch.randn(8, 3, 3, 3), "conv.bias": torch.zeros(8)}
        >>> TransmissionPlan.pruned(sd, "central-skew", bits=4)["conv.weight"].keep
        96
        """
        base = cls.default(
            state_dict,
            symmetry=symmetry,
            bits=bits,
            mode="dof",
            other_bits=other_bits,
            grid=grid,
            layers=layers,
            per_channel=per_channel,
        )
        tensors = {}
        for name, tplan in base.tensors.items():
            if tplan.mode == "dof":
                count = tensor_dof(tuple(state_dict[name].shape), tplan.symmetry)
                if keep is not None and name in keep:
                    count = keep[name]
                # the kept values have no channel structure: one range per tensor
                tplan = TensorPlan(mode="pruned", bits=bits, grid=grid, keep=count)
            tensors[name] = tplan
        return cls(tensors=tensors, notes=base.notes)


def _selected_kernels(
    state_dict: Mapping[str, torch.Tensor], layers: Iterable[str] | None
) -> set[str]:
    """The conv kernels (4-D float tensors) a plan constrains: all, or those ``layers`` names
    (tensor names, or module names without ``.weight``); an unknown name is refused."""
    kernels = {name for name, t in state_dict.items() if t.dim() == 4 and t.dtype.is_floating_point}
    if layers is None:
        return kernels
    wanted = set(layers)
    unknown = {w for w in wanted if w not in kernels and f"{w}.weight" not in kernels}
    if unknown:
        raise SymcodecError(
            f"no conv kernel named {sorted(unknown)[0]!r} in the model; kernels: "
            f"{', '.join(sorted(kernels)) or '(none)'}"
        )
    return {k for k in kernels if k in wanted or k.removesuffix(".weight") in wanted}


def _sent_in_full(name: str, symmetry: Symmetry, kernel: tuple[int, ...]) -> str | None:
    """Why a selected kernel is sent in full instead of under ``symmetry`` (a plan note),
    or None if the symmetry applies: not defined on the kernel shape, or no DoF left."""
    if not symmetry.supports(kernel):
        try:
            symmetry.dof(kernel)
            reason = ""
        except SymcodecError as exc:
            reason = str(exc)
        return f"{name}: {reason}; sent in full"
    if symmetry.dof(kernel) == 0:
        return (
            f"{name}: {symmetry.name} leaves no degrees of freedom on "
            f"{kernel[0]}x{kernel[1]} kernels; sent in full"
        )
    return None


def _tensor_plan(width: int, floating: bool, options: dict, **kwargs) -> TensorPlan:
    """A tensor's plan at ``width`` bits with the shared ``options`` of
    :meth:`TransmissionPlan.default`: the coder, step and dead zone apply to float tensors
    only, and passthrough (float16 or 32 bits without a step) always takes ``fixed``."""
    passthrough = options["step"] is None and (options["float16"] or width == 32)
    return TensorPlan(
        bits=width,
        grid=options["grid"],
        per_channel=options["per_channel"],
        float16=options["float16"],
        coder=options["coder"] if floating and not passthrough else "fixed",
        step=options["step"] if floating else None,
        dead_zone=options["dead_zone"] if floating else 0.0,
        chunk_values=options["chunk_values"],
        ans_fallback=options["ans_fallback"],
        rdo_lambda=options["rdo_lambda"] if floating else 0.0,
        **kwargs,
    )
