"""Claim 6, the link question of the NR study: at equal air time on a coded 5G NR link, does
sending the DoF, with the air time it saves spent on a more robust code and on protecting
the tensors projection cannot repair, deliver a better model than sending every value with
one code?

The senders and their options come from :func:`~symcodec.report.equal_air_time.equal_air_time`:
at each SNR every sender gets the same air-time budget and rides its most robust MCS that
fits it. This module compares, at each SNR, `dof` with a protection preset (``side``,
``side+msb``) against `full` with protection ``none`` (one code for every value) at the same
symmetry and bits. The two ride different MCS, so their noise draws are independent: the
difference of mean Acc Rx gets a Welch 95% CI (not a paired one).

An SNR decides only where the link makes a difference one of the two can use:

- where both arrived within :data:`~symcodec.report.claim_curves.TARGET_DROP_PP` of their
  own Acc Tx,q on average, the models delivered differ only by their quantizers, which is
  not the question ("both delivered");
- where both delivered less than half of their Acc Tx,q on average (the bottom of the
  waterfall, as the auto grid defines it), neither delivered a usable model: a model at
  chance level is not better than a lost header ("both lost").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .claim_curves import TARGET_DROP_PP
from .claims import Claim, decided_claim
from .confidence import mean_skipping_nan, t_critical_975
from .equal_air_time import air_time_to_target, equal_air_time, sender_of, trials_by_option
from .trial_fields import mcs_setting

__all__ = [
    "LOST_SHARE_OF_TXQ",
    "WelchDifference",
    "welch_difference",
    "claim6_dof_protection_at_equal_air_time",
]

_FULL_PROTECT = "none"
#: Below this share of its Acc Tx,q a delivered model counts as lost (the auto grid's bottom).
LOST_SHARE_OF_TXQ = 0.5


@dataclass(frozen=True)
class WelchDifference:
    """Mean of ``a`` minus mean of ``b`` (independent samples) with its Welch 95% half-width
    (``inf`` when either sample has fewer than 2 values; 0 when both are constant)."""

    difference: float
    half_width: float
    n_a: int
    n_b: int

    @property
    def a_ahead(self) -> bool:
        return self.difference - self.half_width > 0

    @property
    def b_ahead(self) -> bool:
        return self.difference + self.half_width < 0


def welch_difference(a: Sequence[float], b: Sequence[float]) -> WelchDifference:
    """Welch's 95% interval for ``mean(a) - mean(b)``: half-width ``t(df) * se`` with
    ``se^2 = s_a^2/n_a + s_b^2/n_b`` and the Welch-Satterthwaite ``df``.

    >>> d = welch_difference([1, 2, 3, 4, 5], [0, 0, 1, 1, 0])
    >>> round(d.difference, 2), round(d.half_width, 3), d.a_ahead
    (2.6, 1.93, True)
    >>> welch_difference([2, 2], [1, 1]).half_width, welch_difference([2], [1, 1]).half_width
    (0.0, inf)
    """
    n_a, n_b = len(a), len(b)
    if n_a == 0 or n_b == 0:
        return WelchDifference(math.nan, math.inf, n_a, n_b)
    mean_a, mean_b = math.fsum(a) / n_a, math.fsum(b) / n_b
    if n_a < 2 or n_b < 2:
        return WelchDifference(mean_a - mean_b, math.inf, n_a, n_b)
    var_a = math.fsum((v - mean_a) ** 2 for v in a) / (n_a - 1) / n_a
    var_b = math.fsum((v - mean_b) ** 2 for v in b) / (n_b - 1) / n_b
    se2 = var_a + var_b
    if se2 == 0:
        return WelchDifference(mean_a - mean_b, 0.0, n_a, n_b)
    df = se2**2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    return WelchDifference(mean_a - mean_b, t_critical_975(max(df, 1.0)) * math.sqrt(se2), n_a, n_b)


def _compare_at(snr: float, mine: list[Mapping], theirs: list[Mapping]) -> tuple[str, str]:
    """The outcome at one SNR ('ahead', 'behind', 'inconclusive', 'both delivered' or
    'both lost') and its numbers in words."""
    acc_mine = [float(r["acc_rx"]) for r in mine]
    acc_theirs = [float(r["acc_rx"]) for r in theirs]
    txq_mine = mean_skipping_nan(float(r["acc_txq"]) for r in mine)
    txq_theirs = mean_skipping_nan(float(r["acc_txq"]) for r in theirs)
    drop_mine = txq_mine - sum(acc_mine) / len(acc_mine)
    drop_theirs = txq_theirs - sum(acc_theirs) / len(acc_theirs)
    d = welch_difference(acc_mine, acc_theirs)
    words = (
        f"{snr:g} dB: {d.difference:+.2f} pp [{d.difference - d.half_width:+.2f}, "
        f"{d.difference + d.half_width:+.2f}] (drops {drop_mine:.2f} / {drop_theirs:.2f} pp)"
    )
    if max(drop_mine, drop_theirs) <= TARGET_DROP_PP:
        return "both delivered", words
    if all(
        sum(acc) / len(acc) < LOST_SHARE_OF_TXQ * txq
        for acc, txq in ((acc_mine, txq_mine), (acc_theirs, txq_theirs))
    ):
        return "both lost", words
    if d.a_ahead:
        return "ahead", words
    if d.b_ahead:
        return "behind", words
    return "inconclusive", words


def _air_time_reached(rows: Sequence[Mapping]) -> dict[tuple, dict[float, float]]:
    """Sender -> SNR -> its air time to the target accuracy, where it reaches it."""
    reached: dict[tuple, dict[float, float]] = {}
    for r in air_time_to_target(rows):
        if r["mcs"]:
            reached.setdefault(sender_of(r), {})[float(r["snr_db"])] = float(r["air_ms"])
    return reached


def _air_time_ratios(
    reached: Mapping[tuple, Mapping[float, float]], mine: tuple, theirs: tuple
) -> str:
    """How ``mine`` compares with ``theirs`` in air time to the target accuracy, in words
    (``reached``: :func:`_air_time_reached`)."""
    a, b = reached.get(mine, {}), reached.get(theirs, {})
    both = sorted(set(a) & set(b))
    ratios = sorted(a[s] / b[s] for s in both if b[s] > 0)
    only_a = [s for s in a if s not in b]
    only_b = [s for s in b if s not in a]
    name = theirs[0] if theirs[0] != "symmetric" else f"{theirs[2]} protect {theirs[4]}"
    text = (
        f"air time to reach Acc Tx,q - {TARGET_DROP_PP:g} pp against {name}: both reach it "
        f"at {len(both)} SNRs"
    )
    if ratios:
        text += f" (air time ratio dof/{name}: median {statistics.median(ratios):.2f})"
    return text + f", only dof at {len(only_a)}, only {name} at {len(only_b)}"


def claim6_dof_protection_at_equal_air_time(rows: Sequence[Mapping]) -> Claim:
    """Decide claim 6 from the trial rows of a study on the ``nr-ldpc`` link (rule:
    :data:`~symcodec.report.claims.CLAIM_RULES`\\ [6]).

    >>> base = dict(method="symmetric", symmetry="central-skew", bits=8, channel="nr-ldpc",
    ...             channel_value=4.0, protect_mcs=-1, acc_txq=90.0)
    >>> def trials(mode, prot, mcs, air, accs):
    ...     return [dict(base, mode=mode, protect=prot, mcs=mcs, air_ms=air, acc_rx=a)
    ...             for a in accs]
    >>> rows = (trials("full", "none", 9, 3.0, [10, 12, 11]) + trials("full", "none", 15, 2.0,
    ...         [10, 11, 10]) + trials("dof", "side", 9, 1.5, [89, 88, 89.5]))
    >>> claim = claim6_dof_protection_at_equal_air_time(rows)
    >>> claim.verdict
    'holds'
    >>> print(claim.evidence.split(";")[0])  # doctest: +NORMALIZE_WHITESPACE
    central-skew 8 bits, dof protect side against full protect none: ahead at 1 of 1 SNRs
    where the link costs more than 1 pp and one of them delivered more than half its Acc
    Tx,q
    """
    nr_rows = [r for r in rows if mcs_setting(r)]
    if not nr_rows:
        return decided_claim(6, "not tested", "No rows on the nr-ldpc link.")
    chosen = {(float(r["snr_db"]), sender_of(r)): r["mcs"] for r in equal_air_time(nr_rows)}
    trials = trials_by_option(nr_rows)
    reached = _air_time_reached(nr_rows)
    senders = {s for _, s in chosen}
    parts, winners, decided_any = [], [], False
    for sender in sorted(senders, key=str):
        method, symmetry, mode, bits, preset = sender
        full = (method, symmetry, "full", bits, _FULL_PROTECT)
        if method != "symmetric" or mode != "dof" or preset == "none" or full not in senders:
            continue
        outcome: dict[str, list[str]] = {}
        listed: list[str] = []
        for snr in sorted({s for s, _ in chosen}):
            if (snr, sender) not in chosen or (snr, full) not in chosen:
                continue
            mine = trials[(snr, sender, chosen[(snr, sender)])]
            theirs = trials[(snr, full, chosen[(snr, full)])]
            verdict, words = _compare_at(snr, mine, theirs)
            outcome.setdefault(verdict, []).append(words)
            listed.append(f"{words}: {verdict}")
        ahead, behind = outcome.get("ahead", []), outcome.get("behind", [])
        n_decided = sum(len(v) for k, v in outcome.items() if not k.startswith("both"))
        decided_any |= n_decided > 0
        if ahead and len(ahead) > len(behind):
            winners.append(preset)
        text = (
            f"{symmetry} {bits} bits, dof protect {preset} against full protect none: ahead "
            f"at {len(ahead)} of {n_decided} SNRs where the link costs more than "
            f"{TARGET_DROP_PP:g} pp and one of them delivered more than half its Acc Tx,q; "
            f"behind at {len(behind)}; both delivered at "
            f"{len(outcome.get('both delivered', []))}, both lost at "
            f"{len(outcome.get('both lost', []))} (per SNR, dof minus full, Welch 95% CI, "
            f"mean drops against Acc Tx,q: " + "; ".join(listed) + ")"
        )
        step_ans = ("step-ans", "none", "full", bits, _FULL_PROTECT)
        others = [full] + ([step_ans] if step_ans in senders else [])
        parts.append("; ".join([text, *(_air_time_ratios(reached, sender, o) for o in others)]))
    if not parts or not decided_any:
        reason = "; ".join(parts) if parts else "no `dof` with protection beside `full` unprotected"
        return decided_claim(6, "not tested", reason[:1].upper() + reason[1:] + ".")
    verdict = "holds" if winners else "does not hold"
    return decided_claim(6, verdict, "; ".join(parts) + ".")
