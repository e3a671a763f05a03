"""Reference CNNs, a name registry, and parameter summaries.

``deepcnn`` is the study's network for 1 x 28 x 28 input: four 3x3 convolutions (32, 32, 64,
64 channels, padding 1, ReLU), a 2x2 max-pool after conv2 and after conv4, then
``flatten(64*7*7) -> fc1(128) -> ReLU -> fc2(num_classes)``. For 10 classes its parameter
count is exactly the study's 467,818::

    conv1  1*32*9 + 32   =     320
    conv2 32*32*9 + 32   =   9,248
    conv3 32*64*9 + 64   =  18,496
    conv4 64*64*9 + 64   =  36,928
    fc1   3136*128 + 128 = 401,536
    fc2   128*10 + 10    =   1,290
    total                = 467,818

(Without padding the trunk ends at 64 x 4 x 4 and the total is 197,482, so padding 1 is
the variant that matches.) Only 64,800 of those parameters (13.85%) are conv kernel
weights, so the DoF codec, which compresses only conv kernels, can cut this model's payload
by at most 13.85%. ``deepcnn-gap`` keeps the trunk and replaces the head by global average
pooling and one ``Linear(64, num_classes)`` (65,642 parameters, 98.7% conv kernels).
The ``-wide`` GAP models have 1.5x the channels (48, 48, 96, 96): 2.25x the kernel
values, so a central-skew ``deepcnn-gap-wide`` (4 of every 9 values free) carries about the
DoF of an unconstrained ``deepcnn-gap`` (64,704 against 64,800). The ``-cifar`` variants
take 3 x 32 x 32 input (``deepcnn-cifar``: 591,274 parameters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from .errors import SymcodecError

__all__ = [
    "DeepCNN",
    "DeepCNNGAP",
    "DeepCNNGAPBN",
    "LayerRow",
    "ModelSummary",
    "build_model",
    "plain_model_name",
    "format_summary",
    "model_names",
    "model_summary",
]

_TRUNK = (32, 32, 64, 64)
#: The trunk of the ``-wide`` GAP models: 1.5x the channels of :data:`_TRUNK`.
_WIDE_TRUNK = (48, 48, 96, 96)


class DeepCNN(nn.Module):
    """Four 3x3 convolutions (32, 32, 64, 64; padding 1; ReLU; 2x2 max-pool after conv2 and
    conv4) and a fully connected head ``fc1 (hidden) -> ReLU -> fc2 (num_classes)``.

    Args:
        num_classes: Output logits.
        in_channels: Image channels (1 for MNIST, 3 for CIFAR-10).
        image_size: Height = width of the input in pixels; the head sees
            ``64 * (image_size // 4) ** 2`` features.
        hidden: Width of ``fc1``.

    >>> DeepCNN()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28, hidden: int = 128
    ) -> None:
        super().__init__()
        c1, c2, c3, c4 = _TRUNK
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.conv4 = nn.Conv2d(c3, c4, 3, padding=1)
        side = image_size // 2 // 2
        self.fc1 = nn.Linear(c4 * side * side, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.input_shape = (in_channels, image_size, image_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        x = F.max_pool2d(F.relu(self.conv4(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


class DeepCNNGAP(nn.Module):
    """The :class:`DeepCNN` trunk, global average pooling, and one ``head = Linear(64, K)``.

    Works for any input size of at least 4 x 4 pixels. ``widths`` are the four convs' output
    channels (default 32, 32, 64, 64; the head takes the last).

    >>> DeepCNNGAP(num_classes=5, in_channels=3)(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 5])
    >>> DeepCNNGAP(widths=(48, 48, 96, 96)).head.in_features
    96
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int = 28,
        widths: tuple[int, int, int, int] = _TRUNK,
    ) -> None:
        super().__init__()
        self.widths = tuple(widths)
        c1, c2, c3, c4 = self.widths
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.conv4 = nn.Conv2d(c3, c4, 3, padding=1)
        self.head = nn.Linear(c4, num_classes)
        self.input_shape = (in_channels, image_size, image_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        x = F.max_pool2d(F.relu(self.conv4(x)), 2)
        return self.head(x.mean(dim=(2, 3)))


class DeepCNNGAPBN(nn.Module):
    """:class:`DeepCNNGAP` with batch norm: each conv (no bias) -> ``BatchNorm2d`` -> ReLU.

    It trains faster and better than the plain GAP model; before transmission
    :func:`symcodec.fold.fold_batch_norm` folds every BN into its conv and returns a plain
    :class:`DeepCNNGAP` (conv with bias, the same ``widths``), so the codec and the study
    never see batch norm.

    >>> DeepCNNGAPBN()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int = 28,
        widths: tuple[int, int, int, int] = _TRUNK,
    ) -> None:
        super().__init__()
        self.widths = tuple(widths)
        c1, c2, c3, c4 = self.widths
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c2)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(c3)
        self.conv4 = nn.Conv2d(c3, c4, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(c4)
        self.head = nn.Linear(c4, num_classes)
        self.input_shape = (in_channels, image_size, image_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.max_pool2d(F.relu(self.bn4(self.conv4(x))), 2)
        return self.head(x.mean(dim=(2, 3)))


@dataclass(frozen=True)
class _Spec:
    factory: Callable[..., nn.Module]
    in_channels: int
    image_size: int
    description: str
    folds_into: str | None = None  # the plain model a batch-norm model becomes when folded


_MODELS: dict[str, _Spec] = {
    "deepcnn": _Spec(DeepCNN, 1, 28, "4 conv 3x3 + FC 3136-128-K, 1x28x28 input"),
    "deepcnn-gap": _Spec(DeepCNNGAP, 1, 28, "4 conv 3x3 + global average pool + FC 64-K"),
    "deepcnn-gap-bn": _Spec(
        DeepCNNGAPBN,
        1,
        28,
        "4 x (conv 3x3 -> batch norm -> ReLU) + GAP + FC 64-K; sent folded as deepcnn-gap",
        folds_into="deepcnn-gap",
    ),
    "deepcnn-gap-wide": _Spec(
        partial(DeepCNNGAP, widths=_WIDE_TRUNK),
        1,
        28,
        "deepcnn-gap with 1.5x the channels (48, 48, 96, 96) + GAP + FC 96-K",
    ),
    "deepcnn-gap-bn-wide": _Spec(
        partial(DeepCNNGAPBN, widths=_WIDE_TRUNK),
        1,
        28,
        "deepcnn-gap-bn with 1.5x the channels (48, 48, 96, 96); sent folded as deepcnn-gap-wide",
        folds_into="deepcnn-gap-wide",
    ),
    "deepcnn-cifar": _Spec(DeepCNN, 3, 32, "4 conv 3x3 + FC 4096-128-K, 3x32x32 input"),
    "deepcnn-gap-cifar": _Spec(DeepCNNGAP, 3, 32, "4 conv 3x3 + GAP + FC 64-K, 3x32x32 input"),
}


def model_names() -> list[str]:
    """Names accepted by :func:`build_model`.

    >>> model_names()  # doctest: +NORMALIZE_WHITESPACE
    ['deepcnn', 'deepcnn-gap', 'deepcnn-gap-bn', 'deepcnn-gap-wide', 'deepcnn-gap-bn-wide',
     'deepcnn-cifar', 'deepcnn-gap-cifar']
    """
    return list(_MODELS)


def default_input_shape(name: str) -> tuple[int, int, int]:
    """``(C, H, W)`` a registered model expects by default.

    >>> default_input_shape("deepcnn-cifar")
    (3, 32, 32)
    """
    spec = _spec(name)
    return (spec.in_channels, spec.image_size, spec.image_size)


def plain_model_name(name: str) -> str:
    """The registered model that ``name`` is transmitted as: a batch-norm model's plain
    architecture (its batch norm folded into the convs), else ``name`` itself.

    >>> plain_model_name("deepcnn-gap-bn"), plain_model_name("deepcnn")
    ('deepcnn-gap', 'deepcnn')
    """
    spec = _spec(name)
    return spec.folds_into or str(name).strip().lower()


def build_model(
    name: str,
    num_classes: int = 10,
    in_channels: int | None = None,
    image_size: int | None = None,
) -> nn.Module:
    """Build a registered model with freshly initialized weights (torch's default init).

    Args:
        name: One of :func:`model_names`.
        num_classes: Number of output logits (>= 2).
        in_channels: Input channels; default 1 for the MNIST models, 3 for ``-cifar``.
        image_size: Input height = width in pixels; default 28, or 32 for ``-cifar``.
            ``deepcnn`` needs it to size ``fc1``; the GAP models accept any size >= 4.

    Raises:
        SymcodecError: Unknown name or an invalid size.

    >>> m = build_model("deepcnn")
    >>> sum(p.numel() for p in m.parameters())
    467818
    >>> build_model("deepcnn-gap-cifar", num_classes=100)(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 100])
    """
    spec = _spec(name)
    in_channels = spec.in_channels if in_channels is None else in_channels
    image_size = spec.image_size if image_size is None else image_size
    for label, value, low in (
        ("num_classes", num_classes, 2),
        ("in_channels", in_channels, 1),
        ("image_size", image_size, 4),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SymcodecError(f"{name}: {label} must be an integer >= {low}, got {value!r}")
    return spec.factory(num_classes=num_classes, in_channels=in_channels, image_size=image_size)


def model_from_weights(
    state_dict: dict[str, torch.Tensor],
    metadata: dict[str, str] | None = None,
    name: str | None = None,
) -> nn.Module:
    """Rebuild a registered model and load ``state_dict`` into it.

    The architecture is ``name``, else ``metadata["model"]`` (written by ``symcodec train``);
    ``num_classes``, ``in_channels`` and ``image_size`` come from the metadata when present.
    Weights of a batch-norm model without batch-norm entries (folded, see
    :func:`symcodec.fold.fold_batch_norm`) are loaded into its plain architecture
    (:func:`plain_model_name`).

    Raises:
        SymcodecError: no model name is known, or the weights do not fit the architecture.

    >>> m = build_model("deepcnn-gap")
    >>> m2 = model_from_weights(m.state_dict(), {"model": "deepcnn-gap"})
    >>> type(m2).__name__
    'DeepCNNGAP'
    >>> type(model_from_weights(m.state_dict(), name="deepcnn-gap-bn")).__name__  # folded
    'DeepCNNGAP'
    """
    metadata = metadata or {}
    name = name or metadata.get("model")
    if not name:
        raise SymcodecError(
            "the weights do not say which model they belong to; pass --model "
            f"({', '.join(model_names())})"
        )
    if not any(".running_mean" in key for key in state_dict):
        name = plain_model_name(name)

    def meta_int(key: str) -> int | None:
        value = metadata.get(key)
        try:
            return None if value in (None, "") else int(value)
        except ValueError:
            raise SymcodecError(f"metadata field {key!r} is not an integer: {value!r}") from None

    model = build_model(
        name,
        num_classes=meta_int("num_classes") or 10,
        in_channels=meta_int("in_channels"),
        image_size=meta_int("image_size"),
    )
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:2])
        raise SymcodecError(f"the weights do not fit model {name!r}: {detail}") from None
    return model


def _spec(name: str) -> _Spec:
    key = str(name).strip().lower()
    if key not in _MODELS:
        raise SymcodecError(f"unknown model {name!r}; known models: {', '.join(model_names())}")
    return _MODELS[key]


@dataclass(frozen=True)
class LayerRow:
    """Parameters of one module that owns parameters directly.

    Attributes:
        name: Module path in the state dict (``"conv1"``, ``"fc2"``, ...).
        kind: Module class name (``"Conv2d"``, ``"Linear"``, ...).
        weight_shape: Shape of ``weight`` (``()`` if it has none).
        params: All parameters the module owns (weight + bias + others).
        conv_kernel_params: Elements of ``weight`` if the module is a ``Conv2d``, else 0.
    """

    name: str
    kind: str
    weight_shape: tuple[int, ...]
    params: int
    conv_kernel_params: int


@dataclass(frozen=True)
class ModelSummary:
    """Where a model's parameters are.

    Attributes:
        total_params: Every parameter (shared tensors counted once).
        conv_kernel_params: Elements of the weights of ``nn.Conv2d`` modules (not biases):
            the only values the DoF codec compresses.
        conv_share: ``conv_kernel_params / total_params`` in [0, 1]; the DoF codec's
            payload reduction (at equal bit width) cannot exceed it.
        rows: One :class:`LayerRow` per module owning parameters, in module order.
    """

    total_params: int
    conv_kernel_params: int
    conv_share: float
    rows: tuple[LayerRow, ...]

    @property
    def other_params(self) -> int:
        """Parameters sent in full by every mode (everything but conv kernel weights)."""
        return self.total_params - self.conv_kernel_params


def model_summary(model: nn.Module) -> ModelSummary:
    """Count a model's parameters, and how many are conv kernel weights.

    >>> s = model_summary(build_model("deepcnn"))
    >>> s.total_params, s.conv_kernel_params, round(s.conv_share, 4)
    (467818, 64800, 0.1385)
    >>> [r.name for r in s.rows]
    ['conv1', 'conv2', 'conv3', 'conv4', 'fc1', 'fc2']
    """
    seen: set[int] = set()
    rows: list[LayerRow] = []
    total = conv = 0
    for name, module in model.named_modules():
        own = [
            (pname, p) for pname, p in module.named_parameters(recurse=False) if id(p) not in seen
        ]
        if not own:
            continue
        params = 0
        for _, p in own:
            seen.add(id(p))
            params += p.numel()
        weight = getattr(module, "weight", None)
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else ()
        kernel = (
            weight.numel()
            if isinstance(module, nn.Conv2d) and any(p is weight for _, p in own)
            else 0
        )
        rows.append(LayerRow(name or "(root)", type(module).__name__, shape, params, kernel))
        total += params
        conv += kernel
    share = conv / total if total else 0.0
    return ModelSummary(total, conv, share, tuple(rows))


def format_summary(summary: ModelSummary) -> str:
    """A plain-text table of :func:`model_summary`, ending with the bound on compression.

    >>> print(format_summary(model_summary(build_model("deepcnn-gap"))))  # doctest: +ELLIPSIS
    layer  type    weight shape   params  conv kernel
    conv1  Conv2d  32x1x3x3          320          288
    ...
    total                          65642        64800
    Conv kernels hold 64,800 of 65,642 parameters (98.72%). ...
    """
    header = ("layer", "type", "weight shape", "params", "conv kernel")
    body = [
        (
            r.name,
            r.kind,
            "x".join(str(d) for d in r.weight_shape) or "-",
            str(r.params),
            str(r.conv_kernel_params),
        )
        for r in summary.rows
    ]
    body.append(("total", "", "", str(summary.total_params), str(summary.conv_kernel_params)))
    table = [header, *body]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [
            cell.rjust(widths[i]) if i >= 3 else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    pct = 100.0 * summary.conv_share
    lines.append(
        f"Conv kernels hold {summary.conv_kernel_params:,} of {summary.total_params:,} "
        f"parameters ({pct:.2f}%). The DoF codec compresses only conv kernels and sends "
        f"everything else in full, so its payload reduction at equal bit width is at most "
        f"{pct:.2f}% (with every k x k kernel symmetric: {pct:.2f}% x (1 - DoF/k^2))."
    )
    return "\n".join(lines)
