"""What the trials of a study share: the data, every trained model, the reference accuracy.

:func:`prepare` loads the data set and trains (or loads from the cache) every model the
study needs for one training seed; the :class:`StudyContext` it returns is all a trial
needs besides its configuration.
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
from .spec import PRUNING_BASELINES, StudySpec

__all__ = ["StudyContext", "prepare"]


@dataclass
class StudyContext:
    """What the trials of a study share: data, models, evaluation."""

    spec: StudySpec
    train_seed: int
    data: object
    test_x: torch.Tensor
    test_y: torch.Tensor
    architecture: nn.Module
    models: dict[str, nn.Module]  # "none", each symmetry, "<pruning baseline>:<symmetry>"
    acc_ref: float
    conv_share: float
    distances: dict[str, float]

    def tx_model(self, method: str, symmetry: str, mode: str = "pruned") -> nn.Module:
        """The transmitter's model of a configuration: the symmetric model of
        ``symmetry``, the pruned model matching its DoF count (``mode``: the pruning
        baseline), or the unconstrained one (``quant-only``, ``step-ans``)."""
        if method == "pruned":
            return self.models[f"{mode}:{symmetry}"]
        if method in ("quant-only", "step-ans"):
            return self.models["none"]
        return self.models[symmetry]

    def evaluate(self, state_dicts: Sequence[dict]) -> list[float]:
        """Test accuracies (%) of state dicts of the study's architecture, in one batch."""
        return evaluate_many(self.architecture, state_dicts, self.test_x, self.test_y)


def prepare(
    spec: StudySpec,
    train_seed: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] = print,
    data=None,
) -> StudyContext:
    """Load the data (unless given), train (or load from the cache) every model the study
    needs for one training seed (default: the spec's first).

    Every model trains ``epochs`` epochs with the same recipe. The pruning baselines start
    from the converged unconstrained model of the same seed, pruned, then fine-tuned
    (:func:`~symcodec.study.model_cache.pruned_model`)."""
    seed = spec.training.seeds[0] if train_seed is None else train_seed
    if data is None:
        data = load_dataset(spec.dataset, data_dir=spec.data_dir)
    test_x, test_y = data.test_x, data.test_y
    if spec.test_limit is not None:
        test_x, test_y = test_x[: spec.test_limit], test_y[: spec.test_limit]
    models: dict[str, nn.Module] = {}
    # The unconstrained model is always trained: its accuracy is the reference of dAcc.
    models["none"], _ = trained_model(spec, data, "none", seed, progress, log)
    for baseline in spec.pruning:
        scope = PRUNING_BASELINES[baseline]
        for sym in spec.symmetries:
            models[f"{baseline}:{sym}"] = pruned_model(
                spec, data, models["none"], sym, scope, seed, progress, log
            )
    for sym in spec.all_symmetries:
        models[sym], _ = trained_model(spec, data, sym, seed, progress, log)
    architecture = models["none"]
    acc_ref = evaluate(models["none"], test_x, test_y)
    summary = model_summary(models["none"])
    ref_sd = models["none"].state_dict()
    distances = {sym: overall_distance(ref_sd, sym) or 0.0 for sym in spec.all_symmetries}
    return StudyContext(
        spec=spec,
        train_seed=seed,
        data=data,
        test_x=test_x,
        test_y=test_y,
        architecture=architecture,
        models=models,
        acc_ref=acc_ref,
        conv_share=summary.conv_share,
        distances=distances,
    )
