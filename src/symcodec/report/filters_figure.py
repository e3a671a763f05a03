"""A picture of a model's conv filters (``symcodec analyze --plot``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from .plot_style import pyplot, save_figure


def plot_filters(
    state_dict: Mapping[str, torch.Tensor],
    path: str | os.PathLike,
    per_layer: int = 8,
    title: str = "",
) -> None:
    """A PNG grid of the first ``per_layer`` filters (input channel 0) of each conv layer.

    Each kernel is drawn with a symmetric colour scale (blue negative, red positive), so
    mirror symmetry and antisymmetry are visible at a glance.
    """
    plt = pyplot()
    kernels = [
        (k, v.detach().float())
        for k, v in state_dict.items()
        if v.dim() == 4 and v.dtype.is_floating_point
    ]
    rows = max(1, len(kernels))
    fig, axes = plt.subplots(
        rows, per_layer, figsize=(1.2 * per_layer, 1.3 * rows + 0.6), squeeze=False
    )
    for r, (name, w) in enumerate(kernels):
        for c in range(per_layer):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= w.shape[0]:
                ax.axis("off")
                continue
            kernel = w[c, 0]
            bound = float(kernel.abs().max()) or 1.0
            ax.imshow(kernel.numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
            if c == 0:
                ax.set_ylabel(name.removesuffix(".weight"), fontsize=8)
    fig.suptitle(title or "first filters of each conv layer (input channel 0)", fontsize=10)
    save_figure(fig, path)
