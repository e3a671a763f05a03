"""Fold batch norm into the preceding convolution before a model is transmitted.

In eval mode ``BN(conv(x)) = gamma * (W * x + b - mean) / sqrt(var + eps) + beta``, which is
one convolution with

    W' = W * s,    b' = (b - mean) * s + beta,    s = gamma / sqrt(var + eps)

``s`` scales each *output channel* of the kernel by one number, so a kernel in a symmetric
subspace ``V_S`` (plain or skew: a linear subspace of each ``kh x kw`` slice) stays in it
exactly: the values of an orbit are equal (or opposite) before and are multiplied by the
same factor. The folded model is a plain conv model (no BN buffers), which is what the
codec and the study transmit.

>>> import torch
>>> from symcodec.models import build_model
>>> from symcodec.training import seeded
>>> with seeded(0):
...     net = build_model("deepcnn-gap-bn").eval()
>>> plain = fold_batch_norm(net)
>>> type(plain).__name__, any("bn" in k for k in plain.state_dict())
('DeepCNNGAP', False)
>>> x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
>>> bool(torch.allclose(plain(x), net(x), atol=1e-5))
True
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import SymcodecError
from .models import DeepCNNGAP, DeepCNNGAPBN

__all__ = ["fold_conv_bn", "fold_batch_norm", "FOLDED_PAIRS"]

#: For each model class with batch norm: the plain class it folds into and its
#: ``(conv, batch norm)`` pairs by attribute name.
FOLDED_PAIRS: dict[type[nn.Module], tuple[type[nn.Module], tuple[tuple[str, str], ...]]] = {
    DeepCNNGAPBN: (
        DeepCNNGAP,
        (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), ("conv4", "bn4")),
    ),
}


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(weight, bias)`` of one conv equal to ``bn(conv(x))`` with BN in eval mode.

    Uses the running statistics; the arithmetic is done in float64 and cast back to the
    weight's dtype. A symmetrized conv (parametrized weight) is read through its
    parametrization, so the result holds the exactly symmetric kernel.

    >>> conv, bn = nn.Conv2d(1, 2, 3, bias=False), nn.BatchNorm2d(2)
    >>> with torch.no_grad():
    ...     _ = bn.running_var.fill_(4.0), bn.bias.fill_(0.5)
    >>> w, b = fold_conv_bn(conv, bn)
    >>> b
    tensor([0.5000, 0.5000])
    >>> bool(torch.allclose(w, conv.weight / 2, atol=1e-5))
    True
    """
    if not bn.track_running_stats or bn.running_mean is None or bn.running_var is None:
        raise SymcodecError("batch norm without running statistics cannot be folded")
    if bn.num_features != conv.out_channels:
        raise SymcodecError(
            f"batch norm over {bn.num_features} channels after a conv with "
            f"{conv.out_channels} outputs"
        )
    with torch.no_grad():
        weight = conv.weight.detach()
        dtype = weight.dtype
        var = bn.running_var.detach().double()
        mean = bn.running_mean.detach().double()
        gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(var)
        beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(var)
        scale = gamma / torch.sqrt(var + bn.eps)
        bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros_like(var)
        shape = (-1,) + (1,) * (weight.dim() - 1)
        folded_w = (weight.double() * scale.view(shape)).to(dtype)
        folded_b = ((bias - mean) * scale + beta).to(dtype)
    return folded_w, folded_b


def fold_batch_norm(model: nn.Module) -> nn.Module:
    """A new plain model equal to ``model`` in eval mode, every batch norm folded into its conv.

    ``model`` (a registered model with batch norm, e.g. ``deepcnn-gap-bn``; it may still be
    symmetrized) is left untouched; the result (e.g. a ``deepcnn-gap``, convs with biases)
    is in eval mode on the CPU. A model without batch norm is returned as it is (the
    same object).

    Raises:
        SymcodecError: the model has batch norm but no known folding.
    """
    entry = FOLDED_PAIRS.get(type(model))
    if entry is None:
        norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
        if any(isinstance(m, norms) for m in model.modules()):
            raise SymcodecError(f"do not know how to fold the batch norm of {type(model).__name__}")
        return model
    plain_cls, pairs = entry
    in_channels, image_size, _ = model.input_shape
    head = model.head
    plain = plain_cls(
        num_classes=head.out_features,
        in_channels=in_channels,
        image_size=image_size,
        widths=model.widths,
    )
    state: dict[str, torch.Tensor] = {}
    for conv_name, bn_name in pairs:
        weight, bias = fold_conv_bn(getattr(model, conv_name), getattr(model, bn_name))
        state[f"{conv_name}.weight"] = weight.cpu()
        state[f"{conv_name}.bias"] = bias.cpu()
    state["head.weight"] = head.weight.detach().cpu().clone()
    state["head.bias"] = head.bias.detach().cpu().clone()
    plain.load_state_dict(state, strict=True)
    return plain.eval()
