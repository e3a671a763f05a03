"""The five claims of SPEC section 8: what each says, the rule that decides it, the
:class:`Claim` record and the claims.md writer. The deciding itself is in
:mod:`symcodec.report.claim_rules`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ..io import atomic_open

CLAIM_STATEMENTS: dict[int, str] = {
    1: "DoF transmission cuts the payload substantially (central-skew 3x3: 4 of 9 values per "
    "kernel).",
    2: "At equal payload it keeps much higher accuracy than pruning, which often collapses.",
    3: "Receiver projection denoises: under AWGN, `full-project` needs fewer dB than `full` for "
    "the same accuracy (at most `10 log10(k^2/DoF)` dB better for i.i.d. noise on kernels alone).",
    4: "Central-skew gives the best accuracy-compression trade-off across SNRs and bit widths.",
    5: "(The referee's open point) projection helps only when trained kernels lie near V_S: "
    "report accuracy against d_S and against the projection strength alpha.",
}

CLAIM_RULES: dict[int, str] = {
    1: "Symmetric `dof` rows of central-skew (if absent: of every symmetry present). Payload "
    "reduction against the unconstrained model sent in full at the same bits, averaged over "
    "channel settings. Holds if it is at least 25% at every bit width (for every symmetry "
    "checked). Not tested without `dof` rows.",
    2: "Each symmetric `dof` row is paired with the `pruned` row of the same symmetry, bits, "
    "channel, channel value and energy convention. A pair is won when the symmetric Acc Rx "
    "exceeds the pruned one by more than 0 and by at least the larger of the two CI "
    "half-widths. Holds if at least 75% of pairs are won. A pruned setting collapses when its "
    "Acc Rx is below half of the unconstrained float accuracy. Not tested without pairs.",
    3: "Symmetric `full-project` and `full` rows of the same symmetry, bits, SNR and energy "
    "convention under `awgn`. Holds if full-project's Acc Rx is never below full's by more "
    "than the larger CI half-width, and above it by more than that at one SNR or more. "
    "Also, where both curves reach the target (unconstrained float accuracy - 1 pp), the SNR "
    "each needs (linear interpolation, the lowest SNR above which the curve stays at or above "
    "the target) and the gap, against the bound 10 log10(k^2/DoF) for k = 3. Not tested "
    "without both modes under awgn.",
    4: "Symmetric `dof` rows, per setting (bits, channel, channel value, energy). Another "
    "symmetry dominates central-skew when its payload is no larger and its mean Acc Rx no "
    "lower, with payload strictly lower or Acc Rx higher by more than the larger CI "
    "half-width. Holds if central-skew is not dominated at 75% of the settings or more. Not "
    "tested without central-skew and another symmetry in `dof` mode.",
    5: "Uses the ablation (`symcodec ablate`, `ablation.csv` in the study directory) if "
    "present. In its tx-distance sweep the transmitter's kernels lie at distance d_S from V_S "
    "and the receiver either projects (alpha 1) or not (alpha 0); the projection gain is the "
    "mean Acc Rx with projection minus without, per distance. Holds if the gain is positive "
    "beyond its CI at the smallest d_S and no longer positive beyond its CI at the largest "
    "d_S (projection helps only near V_S); does not hold otherwise. Not tested without an "
    "ablation of at least 2 distances.",
}

Verdict = Literal["holds", "does not hold", "not tested"]
VERDICTS: tuple[Verdict, ...] = ("holds", "does not hold", "not tested")


@dataclass
class Claim:
    """One SPEC section 8 claim, decided from the data.

    Attributes:
        number: 1-5, as in SPEC section 8.
        statement: the SPEC wording.
        verdict: "holds", "does not hold" or "not tested".
        evidence: the numbers that decide it.
        rule: the decision rule applied.
    """

    number: int
    statement: str
    verdict: Verdict
    evidence: str
    rule: str = ""


def decided_claim(number: int, verdict: Verdict, evidence: str) -> Claim:
    """The :class:`Claim` ``number`` with its SPEC statement and rule, and this verdict.

    Example:
        >>> decided_claim(2, "holds", "E").rule == CLAIM_RULES[2]
        True
    """
    assert verdict in VERDICTS
    return Claim(number, CLAIM_STATEMENTS[number], verdict, evidence, CLAIM_RULES[number])


def claims_markdown(claims: Sequence[Claim], meta: Mapping | None = None) -> str:
    """The claims as Markdown: an overview table, then per claim the SPEC statement, the
    verdict, the evidence and the rule that decided it.

    Example:
        >>> text = claims_markdown([Claim(1, "S", "holds", "E", "R")], {"study": "demo"})
        >>> "| 1 | holds |" in text and "Rule: R" in text
        True
    """
    meta = dict(meta or {})
    study = meta.get("study")
    lines = [f"# Claims (SPEC section 8){': ' + str(study) if study else ''}", ""]
    for label, key in (("Dataset", "dataset"), ("Model", "model"), ("Date", "date")):
        if meta.get(key):
            lines.append(f"- {label}: {meta[key]}")
    lines += [
        "- Each claim is decided from this run's numbers by the rule stated under it. CIs are "
        "95% Student t intervals over trials; a difference is beyond the CI when it exceeds "
        "the larger of the two half-widths (taken as 0 with a single trial). Claims 1-4 use "
        "rows at projection strength alpha = 1 when the run has them.",
        "",
        "| Claim | Verdict |",
        "|---:|---|",
    ]
    lines += [f"| {c.number} | {c.verdict} |" for c in claims]
    for c in claims:
        lines += [
            "",
            f"## Claim {c.number}: {c.verdict}",
            "",
            f"> {c.statement}",
            "",
            f"Evidence: {c.evidence}",
        ]
        if c.rule:
            lines += ["", f"Rule: {c.rule}"]
    return "\n".join(lines) + "\n"


def write_claims(claims: Sequence[Claim], meta: Mapping | None, path: str | os.PathLike) -> None:
    """Write :func:`claims_markdown` to ``path`` atomically."""
    text = claims_markdown(claims, meta)
    with atomic_open(path, "w") as handle:
        handle.write(text)
