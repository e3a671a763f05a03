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
    6: "(The link question, studies on the 5G NR link) At equal air time over a coded link, "
    "sending the DoF with the saved air time spent on a more robust code and on protecting "
    "what projection cannot repair delivers a better model than sending every value with one "
    "code.",
}

CLAIM_RULES: dict[int, str] = {
    1: "Holds when the kernel payload reduction of central-skew `dof`, 1 - DoF/k^2 for k = 3 "
    "(4/9 values: 55.6%), is at least 25%; the whole-model reduction (payload against the "
    "model sent in full at the same bits, per bit width) is reported beside it with its bound "
    "conv share x kernel cut. Not tested without central-skew `dof` rows.",
    2: "Per setting (symmetry, bits, channel setting, energy, protection), symmetric `dof` "
    "and the pruned baseline are paired by training seed and noise seed (or trial), provided "
    "pruning had no fewer channel uses (payload bits incl. mask on digital links); holds when "
    "dof's mean paired Acc Rx difference is above 0 beyond its 95% CI at a majority of the "
    "settings compared. Not tested without such pairs.",
    3: "For each curve group (symmetry, bits, energy, protection) under an SNR sweep, each "
    "paired trial's `full` and `full-project` curves are interpolated to the SNR at which "
    "they reach and keep the target Acc Tx,q - 1 pp (the model's own quantized accuracy); "
    "the shift is full's SNR minus full-project's, beside the bound 10 log10(k^2/DoF); holds "
    "when the mean shift is positive beyond its 95% CI in a majority of the groups where "
    "the grid crosses the target. Not tested when no group crosses it (in at least 2 trials "
    "and half of them).",
    4: "Every other symmetry in `dof` mode (whatever its payload) is paired with central-skew "
    "at each setting (bits, channel setting, energy, protection); holds when no symmetry is "
    "ahead of central-skew beyond the paired 95% CI at more settings than it is behind. Not "
    "tested without central-skew and another symmetry.",
    5: "The projection gain (`full-project` - `full` Acc Rx, paired; or, without a distance "
    "sweep in the results, the ablation's receiver projection on - off, paired on the same "
    "noisy receptions, over models trained with a soft symmetry penalty lambda ||W - P_S W||^2 "
    "at several lambda, 0 the unconstrained reference and inf the symmetric model) is "
    "regressed on the transmitted model's distance d_S, using only models whose Acc Tx is "
    "within 1 pp of the reference accuracy of their own training seed (the qualifying models, "
    "listed; the others are listed as not kept and take no part in the fit or the verdict); "
    "holds when the slope's 95% CI lies below 0 (a bootstrap stratified by distance over the "
    "trials with one training seed; with several, two-level: the seeds, then the trials of "
    "each drawn seed's models). The distance d_S at which the mean gain, joined linearly "
    "between the measured distances, first falls through 0 (where projection stops paying; "
    "read from the measurements, not from the line) is reported with its 95% CI from the "
    "same bootstrap, or as not reached in the sweep. Not tested with fewer than 3 such "
    "distances.",
    6: "At each SNR every sender gets the same air-time budget and rides its most robust MCS "
    "that fits it (equal_air_time.md). `dof` with each protection preset (`side`, `side+msb`) "
    "is compared with `full` unprotected (one code for every value) at the same symmetry and "
    "bits: the difference of mean Acc Rx with a Welch 95% CI (the two ride different MCS, so "
    "their noise draws are independent; trials of all training seeds pooled). An SNR decides "
    "only where at least one of the two lost more than 1 pp against its own Acc Tx,q on "
    "average (else both delivered their models) and at least one delivered more than half "
    "of its Acc Tx,q (else both lost them: a model at chance is no better than none). Holds "
    "when some preset is ahead beyond the CI at more deciding SNRs than it is behind; does "
    "not hold otherwise; not tested without a deciding SNR. Beside it: the air time to reach "
    "Acc Tx,q - 1 pp against `full` unprotected and, when the run has it, against `step-ans` "
    "(the unconstrained model with a step quantizer and ANS), the user's compressed "
    "alternative.",
}

Verdict = Literal["holds", "does not hold", "not tested"]
VERDICTS: tuple[Verdict, ...] = ("holds", "does not hold", "not tested")


@dataclass
class Claim:
    """One SPEC section 8 claim, decided from the data.

    Attributes:
        number: 1-5, as in SPEC section 8; 6, the NR link's question (studies on ``nr-ldpc``).
        statement: the SPEC wording.
        verdict: "holds", "does not hold" or "not tested".
        evidence: the numbers that decide it.
        rule: the decision rule applied.
        note: what the data lacked or what was assumed (printed once above the claims).
    """

    number: int
    statement: str
    verdict: Verdict
    evidence: str
    rule: str = ""
    note: str = ""


def decided_claim(number: int, verdict: Verdict, evidence: str) -> Claim:
    """The :class:`Claim` ``number`` with its SPEC statement and rule, and this verdict.

    Example:
        >>> decided_claim(2, "holds", "E").rule == CLAIM_RULES[2]
        True
    """
    assert verdict in VERDICTS
    return Claim(number, CLAIM_STATEMENTS[number], verdict, evidence, CLAIM_RULES[number])


#: SPEC section 10: what a verdict needs before it is more than a demonstration.
MIN_EVIDENCE_TRAIN_SEEDS = 3
MIN_EVIDENCE_TRIALS = 20
MIN_EVIDENCE_TEST_IMAGES = 2000


def _evidence_lines(meta: Mapping) -> list[str]:
    """How much data the verdicts rest on, and whether that is a demonstration only.

    >>> _evidence_lines({"test_images": 1000, "train_seeds": [0], "trials": 5})[0][:60]
    '- Evidence: 1,000 test images, 1 training seed, 5 paired tri'
    """
    images, seeds, trials = meta.get("test_images"), meta.get("train_seeds"), meta.get("trials")
    if images is None or seeds is None or trials is None:
        return []
    n_seeds = len(seeds)
    line = (
        f"- Evidence: {int(images):,} test images, {n_seeds} training seed"
        f"{'s' if n_seeds != 1 else ''}, {trials} paired trials per setting and seed."
    )
    if (
        int(images) < MIN_EVIDENCE_TEST_IMAGES
        or n_seeds < MIN_EVIDENCE_TRAIN_SEEDS
        or int(trials) < MIN_EVIDENCE_TRIALS
    ):
        line += (
            " **This run is a demonstration, not evidence**: the verdicts below show what the "
            f"rules decide on it, and a verdict needs at least {MIN_EVIDENCE_TRAIN_SEEDS} "
            f"training seeds, {MIN_EVIDENCE_TRIALS} paired trials per setting and "
            f"{MIN_EVIDENCE_TEST_IMAGES:,} test images (SPEC section 10)."
        )
    return [line]


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
        "- Each claim is decided from this run's numbers by the rule stated under it. "
        "Comparisons are paired: two methods' trials at one setting are matched by training "
        "seed and noise seed (or trial). A mean paired difference comes with a 95% CI: a "
        "two-level bootstrap (training seeds, then trials within a seed) with several "
        "training seeds, a Student t interval over the pairs with one; it is beyond the CI "
        "when the CI excludes 0. Medians, sign-test and Wilcoxon p-values and outage "
        "figures (P(Acc Rx < Acc Tx,q - 5 pp)) are given beside. Claims 1-4 use rows at "
        "projection strength alpha = 1 when the run has them.",
    ]
    lines += _evidence_lines(meta)
    notes = []
    for c in claims:
        if c.note and c.note not in notes:
            notes.append(c.note)
    lines += [f"- Note: {n}" for n in notes]
    lines += [
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
