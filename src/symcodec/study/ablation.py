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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analysis import overall_distance
from ..data import load_dataset
from ..errors import SymcodecError
from ..receiver import ReceiverOptions, transmit
from .context import StudyContext, prepare
from .model_cache import penalized_model
from .rows import reference_by_train_seed
from .spec import StudySpec
from .trials import TxConfig, plan_for, trial_seed
from .waterfall import resolve_auto_grid, stored_auto_grid

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
        rows: one dict per trial (the columns of ``ablation.csv``), every training seed's.
        acc_ref: test accuracy (%) of the unconstrained float model: the mean over the
            training seeds (each row carries its own seed's, ``acc_ref``).
    """

    rows: list[dict]
    acc_ref: float


@dataclass(frozen=True)
class _Sweep:
    """What every training seed's sweep shares: the study's first symmetry, its middle
    channel setting and its smallest bit width, the alphas and the penalties."""

    spec: StudySpec
    symmetry: str
    value: float
    bits: int
    alphas: tuple[float, ...]
    penalties: tuple[float, ...]

    def same(self, row: Mapping) -> bool:
        """Whether an earlier row belongs to this sweep."""
        return (
            row.get("symmetry") == self.symmetry
            and int(row.get("bits", -1)) == self.bits
            and row.get("channel") == self.spec.channel.name
            and float(row.get("channel_value", math.nan)) == self.value
        )

    def expected(self) -> set[tuple]:
        """``(experiment, rx_alpha, penalty, trial)`` of every row one seed's sweep makes."""
        trials = range(self.spec.trials)
        return {("rx-alpha", float(a), math.inf, t) for a in self.alphas for t in trials} | {
            ("tx-distance", a, float(p), t)
            for p in self.penalties
            for a in (0.0, 1.0)
            for t in trials
        }


def _arm(row: Mapping) -> tuple:
    return (row["experiment"], float(row["rx_alpha"]), float(row["penalty"]), int(row["trial"]))


def run_ablation(
    spec: StudySpec,
    alphas: Sequence[float] = ABLATION_ALPHAS,
    penalties: Sequence[float] = PENALTIES,
    progress: bool = True,
    log: Callable[[str], None] = print,
    directory: str | Path | None = None,
    earlier: Sequence[Mapping] = (),
    on_seed: Callable[[AblationRun], None] | None = None,
) -> AblationRun:
    """Does receiver projection help only when the kernels lie near ``V_S``?

    Two sweeps over the study's first symmetry, its middle channel setting, its smallest bit
    width and its trials (the study's noise seeds: trial ``t`` of training seed ``s`` sees
    the noise of the study's trial ``t`` of seed ``s``, unprotected), everything sent in
    ``full-project`` mode with the study's quantizer, for every training seed of the study:

    * ``rx-alpha``: the model trained symmetric; the receiver projects with strength alpha.
    * ``tx-distance``: one model per soft symmetry penalty in ``penalties`` (0: the
      unconstrained reference; ``inf``: the symmetric model), each trained with the study's
      recipe (cached like the study's models), at its own distance d_S to ``V_S``; each
      trial is received twice from the same noise, the receiver projecting fully (alpha 1)
      and not at all (alpha 0).

    ``earlier`` holds rows of an earlier run (``ablation.csv``): those of the same sweep are
    kept, a training seed whose rows there are complete (with its reference accuracy) is not
    run again, and the rows of seeds outside the study's list stay (``symcodec ablate
    --train-seeds``). Rows of another sweep (another symmetry, bit width or channel setting)
    are dropped. ``on_seed`` is called with the rows so far after each seed that ran (to
    save them as it goes).

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
    data = load_dataset(spec.dataset, data_dir=spec.data_dir)
    contexts: dict[int, StudyContext] = {}
    if spec.channel.auto:
        grid = stored_auto_grid(spec, Path(directory), log)
        if grid is None:  # the search needs the first seed's models
            first = prepare(lean, progress=progress, log=log, data=data)
            contexts[first.train_seed] = first
            grid = resolve_auto_grid(dataclasses.replace(first, spec=spec), Path(directory), log)
        spec = grid.spec
    if not spec.channel.values:
        raise SymcodecError("the ablation needs a channel grid")
    sweep = _Sweep(
        spec,
        sym,
        float(sorted(spec.channel.values)[len(spec.channel.values) // 2]),
        min(spec.bits),
        tuple(float(a) for a in alphas),
        tuple(float(p) for p in penalties),
    )
    kept = [dict(r) for r in earlier if sweep.same(r)]
    if len(kept) < len(earlier):
        log(f"{len(earlier) - len(kept)} earlier rows of another sweep are replaced")
    rows = [r for r in kept if int(r.get("train_seed", 0)) not in spec.training.seeds]
    for seed in spec.training.seeds:
        mine = [r for r in kept if int(r.get("train_seed", 0)) == seed]
        known_reference = all(math.isfinite(float(r.get("acc_ref", math.nan))) for r in mine)
        if known_reference and {_arm(r) for r in mine} >= sweep.expected():
            log(f"training seed {seed}: its ablation rows are already there")
            rows += mine
            continue
        ctx = contexts.pop(seed, None) or prepare(lean, seed, progress=progress, log=log, data=data)
        rows += _seed_rows(sweep, lean, ctx, progress, log)
        if on_seed is not None:
            on_seed(AblationRun(rows, _mean_reference(rows)))
    return AblationRun(rows, _mean_reference(rows))


def _mean_reference(rows: Sequence[Mapping]) -> float:
    """The mean over training seeds of each seed's reference accuracy."""
    by_seed = reference_by_train_seed(rows)
    return sum(by_seed.values()) / len(by_seed) if by_seed else math.nan


def _seed_rows(sweep: _Sweep, lean: StudySpec, ctx: StudyContext, progress, log) -> list[dict]:
    """One training seed's rows of both sweeps."""
    spec, sym, value, bits = sweep.spec, sweep.symmetry, sweep.value, sweep.bits
    channel = spec.channel.make(value)
    seeds = [trial_seed(spec, value, t, "none", ctx.train_seed) for t in range(spec.trials)]
    config = TxConfig("symmetric", sym, "full-project", bits)
    rows: list[dict] = []

    def one(kind: str, state_dict: dict, penalty: float, rx_alphas: Sequence[float]):
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
            "train_seed": ctx.train_seed,
            "acc_ref": ctx.acc_ref,
        }
        for rx_alpha in rx_alphas:
            options = ReceiverOptions(alpha=rx_alpha, equal_energy=spec.channel.equal_energy)
            received = [
                transmit(state_dict, plan, channel, seeds[t], options=options).state_dict
                for t in range(spec.trials)
            ]
            for t, acc in enumerate(ctx.evaluate(received)):
                rows.append({**common, "rx_alpha": rx_alpha, "trial": t, "acc_rx": acc})

    one("rx-alpha", _plain(ctx.models[sym]), math.inf, sweep.alphas)
    for penalty in sweep.penalties:
        model = _penalized(ctx, lean, sym, penalty, progress, log)
        one("tx-distance", _plain(model), penalty, (0.0, 1.0))
    return rows


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
