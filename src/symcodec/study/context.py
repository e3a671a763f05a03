"""What the trials of a study share: the data, every trained model, the reference accuracy.

:func:`prepare` loads the data set and trains (or loads from the cache) every model the
study needs; the :class:`StudyContext` it returns is all a trial needs besides its
configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..analysis import overall_distance
from ..data import load_dataset
from ..evaluation import evaluate_many
from ..models import model_summary
from ..training import evaluate
from .model_cache import pruned_model, trained_model
from .spec import StudySpec

__all__ = ["StudyContext", "prepare"]


@dataclass
class StudyContext:
    """What the trials of a study share: data, models, evaluation."""

    spec: StudySpec
    data: object
    test_x: torch.Tensor
    test_y: torch.Tensor
    architecture: nn.Module
    models: dict[str, nn.Module]  # "none", each symmetry, "pruned:<symmetry>"
    acc_ref: float
    conv_share: float
    distances: dict[str, float]

    def tx_model(self, method: str, symmetry: str) -> nn.Module:
        """The transmitter's model of a configuration: the symmetric model of
        ``symmetry``, the pruned model matching its DoF count, or the unconstrained one."""
        if method == "pruned":
            return self.models[f"pruned:{symmetry}"]
        if method == "quant-only":
            return self.models["none"]
        return self.models[symmetry]

    def evaluate(self, state_dicts: Sequence[dict]) -> list[float]:
        """Test accuracies (%) of state dicts of the study's architecture, in one batch."""
        return evaluate_many(self.architecture, state_dicts, self.test_x, self.test_y)


def prepare(
    spec: StudySpec, progress: bool = False, log: Callable[[str], None] = print
) -> StudyContext:
    """Load the data, train (or load from the cache) every model the study needs."""
    data = load_dataset(spec.dataset, data_dir=spec.data_dir)
    test_x, test_y = data.test_x, data.test_y
    if spec.test_limit is not None:
        test_x, test_y = test_x[: spec.test_limit], test_y[: spec.test_limit]
    t = spec.training
    models: dict[str, nn.Module] = {}
    # The unconstrained model is always trained: its accuracy is the reference of dAcc.
    # With pruning fine-tuning (f epochs), it is trained epochs - f epochs, which is the
    # pruning baseline's starting point (equal budget: prune, then f epochs with the mask
    # fixed), and then continued f more epochs.
    f = t.prune_finetune_epochs if "pruned" in spec.baselines else 0
    if f:
        base, _ = trained_model(spec, data, "none", t.epochs - f, progress, log)
        models["none"], _ = trained_model(
            spec, data, "none", t.epochs, progress, log, start=(base, t.epochs - f)
        )
    else:
        base = models["none"] = trained_model(spec, data, "none", t.epochs, progress, log)[0]
    if "pruned" in spec.baselines:
        for sym in spec.symmetries:
            models[f"pruned:{sym}"] = pruned_model(
                spec, data, base, sym, t.epochs - f, progress, log
            )
    for sym in spec.symmetries:
        models[sym], _ = trained_model(spec, data, sym, t.epochs, progress, log)
    architecture = models["none"]
    acc_ref = evaluate(models["none"], test_x, test_y)
    summary = model_summary(models["none"])
    ref_sd = models["none"].state_dict()
    distances = {sym: overall_distance(ref_sd, sym) or 0.0 for sym in spec.symmetries}
    return StudyContext(
        spec=spec,
        data=data,
        test_x=test_x,
        test_y=test_y,
        architecture=architecture,
        models=models,
        acc_ref=acc_ref,
        conv_share=summary.conv_share,
        distances=distances,
    )
