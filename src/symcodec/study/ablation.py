"""The referee's ablation (SPEC section 8, point 5): does receiver projection help only
when the transmitted kernels lie near the symmetric subspace ``V_S``?

:func:`run_ablation` runs the two sweeps and returns an :class:`AblationRun`; ``symcodec
ablate`` writes ``ablation.csv``, ``ablation.md`` and ``ablation.png`` from it.

The distance sweep is made of accurate models: each is trained with the study's recipe and
the soft symmetry penalty ``lambda * sum ||W - P_S W||^2``
(:func:`symcodec.soft_constraint.train_near_symmetric`) at one of :data:`PENALTIES`, from
``0`` (the study's unconstrained reference) to ``inf`` (the study's symmetric model), so
that ``d_S`` varies while the accuracy stays near the reference's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analysis import overall_distance
from ..errors import SymcodecError
from ..receiver import ReceiverOptions, transmit
from .context import StudyContext, prepare
from .model_cache import penalized_model
from .spec import StudySpec
from .trials import TxConfig, plan_for, trial_seed
from .waterfall import resolve_auto_grid

__all__ = ["ABLATION_ALPHAS", "PENALTIES", "AblationRun", "run_ablation"]

ABLATION_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Receiver projection strengths of the ``rx-alpha`` sweep."""

PENALTIES = (0.0, 0.001, 0.01, 0.1, math.inf)
"""Soft symmetry penalties ``lambda`` of the ``tx-distance`` sweep: 0 is the unconstrained
reference, ``inf`` the symmetric model; the three between are decades chosen so that the
distances d_S of ``deepcnn`` (recipe, mnist-5k) spread between the two ends (docs/spec.md,
project note on claim 5). Not a study key yet."""


@dataclass
class AblationRun:
    """What :func:`run_ablation` produced.

    Attributes:
        rows: one dict per trial (the columns of ``ablation.csv``).
        acc_ref: test accuracy (%) of the unconstrained float model.
    """

    rows: list[dict]
    acc_ref: float


def run_ablation(
    spec: StudySpec,
    alphas: Sequence[float] = ABLATION_ALPHAS,
    penalties: Sequence[float] = PENALTIES,
    progress: bool = True,
    log: Callable[[str], None] = print,
    directory: str | Path | None = None,
) -> AblationRun:
    """Does receiver projection help only when the kernels lie near ``V_S``?

    Two sweeps over the study's first symmetry, its middle channel setting, its smallest bit
    width and its trials (the study's noise seeds: trial ``t`` sees the noise of the study's
    trial ``t``, unprotected), everything sent in ``full-project`` mode with the study's
    quantizer, for the first training seed:

    * ``rx-alpha``: the model trained symmetric; the receiver projects with strength alpha.
    * ``tx-distance``: one model per soft symmetry penalty in ``penalties`` (0: the
      unconstrained reference; ``inf``: the symmetric model), each trained with the study's
      recipe (cached like the study's models), at its own distance d_S to ``V_S``; each
      trial is received twice from the same noise, the receiver projecting fully (alpha 1)
      and not at all (alpha 0).

    An ``auto`` channel grid is read from ``directory/auto_grid.json`` (searched and saved
    there if absent, as :func:`symcodec.study.run_study` does). Returns the rows and the
    reference accuracy.
    """
    if spec.channel.auto and directory is None:
        raise SymcodecError(
            "the ablation of a study with an auto channel grid needs the study's directory"
        )
    sym = spec.symmetries[0]
    # the same models as the study (from the cache): its reference and its first symmetry
    lean = dataclasses.replace(spec, symmetries=(sym,), compare_symmetries=(), baselines=())
    ctx = prepare(lean, progress=progress, log=log)
    if spec.channel.auto:
        spec = resolve_auto_grid(dataclasses.replace(ctx, spec=spec), Path(directory), log).spec
    if not spec.channel.values:
        raise SymcodecError("the ablation needs a channel grid")
    value = sorted(spec.channel.values)[len(spec.channel.values) // 2]
    bits = min(spec.bits)
    channel = spec.channel.make(value)
    seeds = [trial_seed(spec, value, t, "none", ctx.train_seed) for t in range(spec.trials)]
    config = TxConfig("symmetric", sym, "full-project", bits)
    rows: list[dict] = []

    def sweep(kind: str, state_dict: dict, penalty: float, rx_alphas: Sequence[float]):
        plan = plan_for(config, state_dict, spec.per_channel)
        common = {
            "experiment": kind,
            "symmetry": sym,
            "bits": bits,
            "channel": spec.channel.name,
            "channel_value": value,
            "tx_alpha": 1.0 if kind == "rx-alpha" else 0.0,
            "penalty": penalty,
            "distance": overall_distance(state_dict, sym) or 0.0,
            "acc_tx": ctx.evaluate([state_dict])[0],
        }
        for rx_alpha in rx_alphas:
            options = ReceiverOptions(alpha=rx_alpha, equal_energy=spec.channel.equal_energy)
            received = [
                transmit(state_dict, plan, channel, seeds[t], options=options).state_dict
                for t in range(spec.trials)
            ]
            for t, acc in enumerate(ctx.evaluate(received)):
                rows.append({**common, "rx_alpha": rx_alpha, "trial": t, "acc_rx": acc})

    sweep("rx-alpha", _plain(ctx.models[sym]), math.inf, alphas)
    for penalty in penalties:
        model = _penalized(ctx, lean, sym, penalty, progress, log)
        sweep("tx-distance", _plain(model), penalty, (0.0, 1.0))
    return AblationRun(rows, ctx.acc_ref)


def _plain(model) -> dict:
    return {k: v.detach() for k, v in model.state_dict().items()}


def _penalized(ctx: StudyContext, spec: StudySpec, sym: str, penalty: float, progress, log):
    """The model of ``penalty`` (the context's own for 0 and ``inf``, else from the cache)."""
    if penalty == 0:
        return ctx.models["none"]
    if math.isinf(penalty):
        return ctx.models[sym]
    model, _ = penalized_model(spec, ctx.data, sym, penalty, ctx.train_seed, progress, log)
    return model
