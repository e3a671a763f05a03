"""What does ``--symmetry auto`` choose on the frontier's models? (issue 14's per-layer
symmetry lever). A measurement, not a curve: if the choice is the symmetry a model already
has on every layer, the lever's stream is the allocated stream the frontier measured, and
its BD-rate is that row's.

For every model (the frontier's, from the study's model cache) it runs
:func:`symcodec.codec.symmetry_choice.choose_symmetries` on the calibration images the
frontier's allocation uses (:func:`nncodec_symcodec.calibration_set`), at the
default tolerance (0.01 nats of calibration loss per projected layer) or ``--max-loss-increase``,
and prints each conv layer's choice and its cheapest candidates with their loss increases.

    PYTHONPATH=src .venv/bin/python bench/symmetry_auto_choice.py --models deepcnn --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import time

import torch
from nncodec_models import bench_model, bench_spec, parse_seeds
from nncodec_symcodec import calibration_set

from symcodec.codec.symmetry_choice import DEFAULT_MAX_LOSS_INCREASE, choose_symmetries
from symcodec.data import load_dataset


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--models", default="deepcnn", help="comma-separated")
    p.add_argument("--variants", default="none,central-skew", help="comma-separated")
    p.add_argument("--seeds", default="0", help="training seeds, comma-separated")
    p.add_argument("--images", type=int, default=512, help="calibration images")
    p.add_argument("--max-loss-increase", type=float, default=DEFAULT_MAX_LOSS_INCREASE)
    p.add_argument("--shown", type=int, default=3, help="cheapest candidates shown per layer")
    p.add_argument("--train-threads", type=int, default=torch.get_num_threads())
    args = p.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    data = load_dataset(args.dataset)
    for model_name in args.models.split(","):
        spec = bench_spec(args.dataset, model_name, seeds)
        for seed in seeds:
            for variant in args.variants.split(","):
                bench, _ = bench_model(spec, data, variant, seed, args.train_threads, log=print)
                started = time.perf_counter()
                choice = choose_symmetries(
                    bench.model,
                    calibration_set(data, args.images, seed),
                    max_loss_increase=args.max_loss_increase,
                )
                seconds = time.perf_counter() - started
                print(f"{args.dataset}/{model_name}/{variant}/seed{seed} ({seconds:.1f} s):")
                for line in choice.summary():
                    print(f"  {line}")
                for layer in choice.layers:
                    tried = [c for c in layer.candidates if c[0] not in ("none", layer.symmetry)]
                    cheapest = sorted(tried, key=lambda c: c[2])[: args.shown]
                    shown = ", ".join(f"{n} ({d:,} values) +{x:.3f}" for n, d, x in cheapest)
                    print(f"    {layer.name} next cheapest: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
