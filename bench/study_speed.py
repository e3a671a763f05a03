"""Trials per second of a study: scoring many received models on one test set.

A "received model" is one seeded ``deepcnn`` plus small Gaussian noise on every tensor
(``--noise`` times the tensor's standard deviation), one per trial. Three ways of scoring
the same ``--models`` state dicts on the whole test set are timed in the same run,
interleaved (repeat 1: A, B, C; repeat 2: A, B, C; ...) so that machine load affects them
alike:

- ``one-at-a-time``: load each state dict into one model and call
  ``symcodec.training.evaluate`` with its default batch size (1000), as a study loop would;
- ``one-at-a-time, batch B``: the same with ``batch_size=B`` (the batch size the batched
  path uses), to separate the effect of the batch size from the rest;
- ``evaluate_many``: ``symcodec.evaluation.evaluate_many`` with its defaults.

The printout gives trials per second (median of the repeats), the achieved GFLOP/s (FLOPs
counted by ``torch.utils.flop_counter``), the speed-up of ``evaluate_many`` over both (from
the medians, and per repeat: on a shared machine the least loaded repeat is the telling
one), and checks that all three gave the same accuracies. The issue's target is a 3x speed-up.

Usage::

    .venv/bin/python bench/study_speed.py                        # Fashion-MNIST, 16 models
    .venv/bin/python bench/study_speed.py --models 4 --repeats 1 # quicker
    .venv/bin/python bench/study_speed.py --dataset mnist-5k
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from symcodec import SymcodecError
from symcodec.data import load_dataset
from symcodec.evaluation import DEFAULT_BATCH_SIZE, DEFAULT_MODELS_PER_PASS, evaluate_many
from symcodec.models import build_model
from symcodec.training import evaluate, seeded


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="fashion-mnist", help="test set (default fashion-mnist)")
    p.add_argument("--model", default="deepcnn", help="model name (default deepcnn)")
    p.add_argument("--models", type=int, default=16, help="received models (default 16)")
    p.add_argument(
        "--noise", type=float, default=0.01, help="noise std per tensor std (default 0.01)"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"evaluate_many batch size (default {DEFAULT_BATCH_SIZE})",
    )
    p.add_argument(
        "--models-per-pass",
        type=int,
        default=DEFAULT_MODELS_PER_PASS,
        help=f"evaluate_many models per pass (default {DEFAULT_MODELS_PER_PASS})",
    )
    p.add_argument("--repeats", type=int, default=2, help="timed runs per method (default 2)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def load(name: str):
    try:
        return load_dataset(name)
    except SymcodecError as exc:
        if name == "mnist-5k":
            raise
        print(f"NOTE: {name} is not available ({exc});")
        print("NOTE: falling back to the embedded mnist-5k (1,000 test images).")
        return load_dataset("mnist-5k")


def received_models(base: torch.nn.Module, count: int, noise: float, seed: int) -> list[dict]:
    g = torch.Generator().manual_seed(seed + 1)
    states = []
    for _ in range(count):
        state = {}
        for key, value in base.state_dict().items():
            scale = noise * float(value.float().std()) if value.numel() > 1 else noise
            state[key] = value + scale * torch.randn(value.shape, generator=g)
        states.append(state)
    return states


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.models < 1 or args.repeats < 1:
        raise SystemExit("--models and --repeats must be >= 1")
    ds = load(args.dataset)
    x, y = ds.test_x, ds.test_y
    n = x.shape[0]
    c, h, _ = ds.input_shape
    with seeded(args.seed):
        base = build_model(args.model, num_classes=ds.num_classes, in_channels=c, image_size=h)
    states = received_models(base, args.models, args.noise, args.seed)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        base.eval()(x[:1])
    gflop = counter.get_total_flops() * n / 1e9  # one model over the whole test set
    print(
        f"{args.model} on {ds.name}: {n} test images, {args.models} received models, "
        f"{gflop:.0f} GFLOP per model, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )

    single = build_model(args.model, num_classes=ds.num_classes, in_channels=c, image_size=h)

    def one_at_a_time(batch_size: int, xs: torch.Tensor, ys: torch.Tensor) -> list[float]:
        out = []
        for state in states:
            single.load_state_dict(state)
            out.append(evaluate(single, xs, ys, batch_size=batch_size))
        return out

    def batched(xs: torch.Tensor, ys: torch.Tensor) -> list[float]:
        return evaluate_many(
            base,
            states,
            xs,
            ys,
            batch_size=args.batch_size,
            models_per_pass=args.models_per_pass,
        )

    methods: dict[str, Callable[[torch.Tensor, torch.Tensor], list[float]]] = {
        "one-at-a-time (training.evaluate, batch 1000)": lambda a, b: one_at_a_time(1000, a, b),
        f"one-at-a-time (training.evaluate, batch {args.batch_size})": lambda a, b: one_at_a_time(
            args.batch_size, a, b
        ),
        (f"evaluate_many (batch {args.batch_size}, {args.models_per_pass} models/pass)"): batched,
    }
    for run in methods.values():  # warm-up: allocator, oneDNN kernel creation
        run(x[:1000], y[:1000])

    times: dict[str, list[float]] = {name: [] for name in methods}
    results: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for name, run in methods.items():
            t0 = time.perf_counter()
            results[name] = run(x, y)
            times[name].append(time.perf_counter() - t0)

    width = max(len(name) for name in methods)
    rates = {}
    for name in methods:
        seconds = statistics.median(times[name])
        rates[name] = args.models / seconds
        runs = ", ".join(f"{t:.1f}" for t in times[name])
        print(
            f"{name:<{width}}  {rates[name]:6.3f} trials/s  {seconds / args.models:6.3f} s/model"
            f"  {gflop * args.models / seconds:5.0f} GFLOP/s  (runs: {runs} s)"
        )
    names = list(methods)
    fast = rates[names[2]]
    print(
        f"speed-up of evaluate_many over one-at-a-time, batch 1000: {fast / rates[names[0]]:.2f}x"
    )
    print(
        f"speed-up of evaluate_many over one-at-a-time, batch {args.batch_size}: "
        f"{fast / rates[names[1]]:.2f}x"
    )
    per_repeat = [
        f"{slow / t:.2f}x / {mid / t:.2f}x"
        for slow, mid, t in zip(times[names[0]], times[names[1]], times[names[2]], strict=True)
    ]
    print(
        f"speed-ups per repeat (over batch 1000 / batch {args.batch_size}): "
        + ", ".join(per_repeat)
    )
    reference = results[names[0]]
    same = all(results[name] == reference for name in names)
    print(
        "accuracies identical across methods: "
        + ("yes" if same else "NO")
        + f" (mean {statistics.fmean(reference):.2f}%, "
        f"range {min(reference):.2f}-{max(reference):.2f}%)"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
