"""The referee's ablation (SPEC section 8, point 5): does receiver projection help only
when the transmitted kernels lie near the symmetric subspace ``V_S``?

:func:`run_ablation` runs the two sweeps and returns an :class:`AblationRun`; ``symcodec
ablate`` writes ``ablation.csv``, ``ablation.md`` and ``ablation.png`` from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..analysis import overall_distance
from ..codec import TransmissionPlan
from ..errors import SymcodecError
from ..receiver import ReceiverOptions, transmit, transmitter_view
from ..symmetry import get_symmetry
from .context import prepare
from .spec import StudySpec
from .trials import trial_seed

__all__ = ["ABLATION_ALPHAS", "AblationRun", "run_ablation"]

ABLATION_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


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
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> AblationRun:
    """Does receiver projection help only when the kernels lie near ``V_S``?

    Two sweeps over the study's first symmetry, its middle channel setting, its smallest bit
    width and its trials, everything sent with ``full-project``:

    * ``rx-alpha``: the model trained symmetric; the receiver projects with strength alpha.
    * ``tx-distance``: the unconstrained model partially projected at the transmitter with
      strength ``a`` (its distance to ``V_S`` shrinks with ``a``), then sent; the receiver
      projects fully (alpha 1) or not at all (alpha 0).

    Uses the study's models (from the cache). Returns the rows and the reference accuracy.
    """
    if not spec.channel.values:
        raise SymcodecError("the ablation needs an explicit channel grid (not auto)")
    sym = spec.symmetries[0]
    value = sorted(spec.channel.values)[len(spec.channel.values) // 2]
    bits = min(spec.bits)
    # the same models as the study (from the cache): its reference and its first symmetry
    lean = dataclasses.replace(spec, symmetries=(sym,))
    ctx = prepare(lean, progress=progress, log=log)
    channel = spec.channel.make(value)
    # the study's own noise seeds: trial t of the ablation sees trial t's noise
    seeds = [trial_seed(spec, value, t, "none", ctx.train_seed) for t in range(spec.trials)]
    rows: list[dict] = []

    def sweep(kind: str, state_dict: dict, tx_alpha: float, rx_alphas: Sequence[float]):
        plan = TransmissionPlan.default(state_dict, symmetry=sym, bits=bits, mode="full-project")
        distance = overall_distance(state_dict, sym) or 0.0
        acc_tx = ctx.evaluate(
            [
                transmitter_view(
                    state_dict, TransmissionPlan.default(state_dict, symmetry="none", bits=32)
                )
            ]
        )[0]
        for rx_alpha in rx_alphas:
            options = ReceiverOptions(alpha=rx_alpha, equal_energy=spec.channel.equal_energy)
            received = [
                transmit(state_dict, plan, channel, seeds[t], options=options).state_dict
                for t in range(spec.trials)
            ]
            for t, acc in enumerate(ctx.evaluate(received)):
                rows.append(
                    {
                        "experiment": kind,
                        "symmetry": sym,
                        "bits": bits,
                        "channel": spec.channel.name,
                        "channel_value": value,
                        "tx_alpha": tx_alpha,
                        "distance": distance,
                        "rx_alpha": rx_alpha,
                        "trial": t,
                        "acc_tx": acc_tx,
                        "acc_rx": acc,
                    }
                )

    symmetric = {k: v.detach() for k, v in ctx.models[sym].state_dict().items()}
    sweep("rx-alpha", symmetric, 1.0, alphas)
    reference = ctx.models["none"].state_dict()
    symmetry = get_symmetry(sym)
    for a in alphas:
        partial = {
            k: symmetry.project(v.detach(), alpha=a)
            if v.dim() == 4
            and symmetry.supports(tuple(v.shape[-2:]))
            and symmetry.dof(tuple(v.shape[-2:])) > 0
            else v.detach()
            for k, v in reference.items()
        }
        sweep("tx-distance", partial, a, (0.0, 1.0))
    return AblationRun(rows, ctx.acc_ref)
