"""Where a study trial's time goes: the transmission (encode, channel, receiver) against the
scoring of the received model, timed side by side on a real study's models.

For each transmitter configuration of the study (its first training seed's models, from
the model cache: run ``symcodec reproduce STUDY --train-only`` first), ``--trials`` trials at
one channel setting are sent (``symcodec.study.trials`` does exactly this per trial) and
their received models scored on the study's test images in one batch
(``StudyContext.evaluate``); both are timed, interleaved per configuration so that machine
load affects them alike. The printout gives milliseconds per trial for each part, the
scoring's share, and the trials per minute the two together allow: the figure that sets
how large a grid fits a time budget.

Usage::

    .venv/bin/python bench/trial_cost.py studies/paper.toml --snr-db 6 --trials 10
"""

from __future__ import annotations

import argparse
import sys
import time

from symcodec import SymcodecError
from symcodec.study import load_study, tx_configs
from symcodec.study.context import prepare
from symcodec.study.trials import plan_for, send_trials

HEADER = f"{'configuration':34} {'send ms':>9} {'score ms':>9} {'score %':>8} {'trials/min':>10}"


def main(argv: list[str] | None = None) -> int:
    """Time every configuration's trials; 0 on success."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", help="a study TOML file (its models must be cached)")
    ap.add_argument("--snr-db", type=float, default=6.0, help="the channel setting")
    ap.add_argument("--trials", type=int, default=10, help="trials per configuration")
    ap.add_argument("--protect", default="side", help="the protection setting")
    args = ap.parse_args(argv)
    if args.trials < 1:
        sys.exit(f"trial_cost: --trials must be at least 1, got {args.trials}")
    try:
        spec = load_study(args.study)
        ctx = prepare(spec, log=_refuse_training)
        images = len(ctx.test_y)
        print(f"{spec.name}: {images:,} test images per trial, {args.trials} trials per row")
        print(HEADER)
        times = [_time_config(ctx, config, args) for config in tx_configs(spec)]
    except SymcodecError as exc:
        sys.exit(f"trial_cost: {exc}")
    print(_line("mean", *(sum(column) / len(times) for column in zip(*times, strict=True))))
    return 0


def _time_config(ctx, config, args: argparse.Namespace) -> tuple[float, float]:
    """Send and score ``args.trials`` trials of ``config``; prints its line and returns its
    ``(send ms, score ms)`` per trial."""
    spec = ctx.spec
    model = ctx.tx_model(config.method, config.symmetry, config.mode)
    state = {k: v.detach() for k, v in model.state_dict().items()}
    plan = plan_for(config, state, spec.per_channel)
    pending = [(args.snr_db, args.protect, "", t) for t in range(args.trials)]
    began = time.perf_counter()
    received = [f["state_dict"] for *_, f in send_trials(ctx, state, plan, pending)]
    sent = time.perf_counter()
    ctx.evaluate(received)
    scored = time.perf_counter()
    send_ms = 1e3 * (sent - began) / args.trials
    score_ms = 1e3 * (scored - sent) / args.trials
    print(_line(config.label, send_ms, score_ms))
    return send_ms, score_ms


def _line(label: str, send_ms: float, score_ms: float) -> str:
    """One printed row: the two times, the scoring's share, the trials per minute."""
    total_ms = send_ms + score_ms
    return (
        f"{label:34} {send_ms:9.1f} {score_ms:9.1f} "
        f"{100 * score_ms / total_ms:7.1f}% {60e3 / total_ms:10.1f}"
    )


def _refuse_training(message: str) -> None:
    if message.startswith(("training", "fine-tuning")):
        raise SymcodecError(f"a model is not cached ({message}); run reproduce --train-only")


if __name__ == "__main__":
    sys.exit(main())
