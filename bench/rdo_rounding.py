"""Rate–distortion-optimised rounding (``TensorPlan.rdo_lambda``) against plain rounding and
the dead zone, on real cached models: stream bytes against weight MSE (and, optionally,
test accuracy), one step for every float tensor.

For every variant point, the byte ratio against plain rounding *at the same weight MSE*
(plain's curve interpolated log-log over a dense step grid), and the mean of the log ratio
over the variant's points inside plain's MSE range (a BD-rate on weight MSE).

    PYTHONPATH=src nice -n 10 env OMP_NUM_THREADS=1 python bench/rdo_rounding.py \\
        ~/.cache/symcodec/models/deepcnn-mnist-5k-central-skew-e10-*.safetensors \\
        --accuracy mnist-5k
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass

import numpy as np
import torch
from safetensors.torch import load_file

from symcodec.codec import TransmissionPlan, decode, encode


@dataclass(frozen=True)
class Point:
    """One encoding: its step, stream bytes, weight squared error and accuracy (or nan)."""

    step: float
    stream_bytes: int
    squared_error: float
    accuracy_pct: float


def encode_point(sd, symmetry: str, step: float, evaluate, **plan_options) -> Point:
    """Encode ``sd`` at ``step`` and measure the stream and the decoded weights."""
    plan = TransmissionPlan.default(sd, symmetry=symmetry, step=step, coder="ans", **plan_options)
    blob = encode(sd, plan)
    out = decode(blob)
    err = sum(float(((out[k].double() - v.double()) ** 2).sum()) for k, v in sd.items())
    return Point(step, len(blob), err, evaluate(out) if evaluate else math.nan)


def bytes_at(plain: list[Point], squared_error: float) -> float:
    """Plain rounding's bytes at ``squared_error`` (log-log interpolation); nan outside."""
    se = np.array([p.squared_error for p in plain])
    size = np.array([p.stream_bytes for p in plain], dtype=np.float64)
    order = np.argsort(se)
    if not se.min() <= squared_error <= se.max():
        return math.nan
    return float(np.exp(np.interp(np.log(squared_error), np.log(se[order]), np.log(size[order]))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="safetensors state dicts (deepcnn)")
    parser.add_argument("--symmetry", default="central-skew")
    parser.add_argument("--lo", type=float, default=-10.0, help="log2 of the smallest step")
    parser.add_argument("--hi", type=float, default=-2.0, help="log2 of the largest step")
    parser.add_argument("--lambdas", default="0.06,0.12,0.25,0.5")
    parser.add_argument("--dead-zones", default="0.15,0.3")
    parser.add_argument("--accuracy", default=None, help="data set to measure test accuracy on")
    parser.add_argument("--test-images", type=int, default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    dense = [2.0 ** (args.lo + k / 4) for k in range(int(4 * (args.hi - args.lo)) + 1)]
    sparse = dense[::2]
    for path in args.models:
        sd = load_file(os.path.expanduser(path))
        evaluate = None
        if args.accuracy:
            from symcodec.data import load_dataset
            from symcodec.evaluation import evaluate_one
            from symcodec.models import model_from_weights

            data = load_dataset(args.accuracy)
            x, y = data.test_x[: args.test_images], data.test_y[: args.test_images]
            net = model_from_weights(sd, name="deepcnn")

            def evaluate(state, net=net, x=x, y=y):
                return evaluate_one(net, state, x, y)

        print(f"# {os.path.basename(path)}")
        plain = [encode_point(sd, args.symmetry, s, evaluate) for s in dense]
        variants = {f"dead-zone {d}": {"dead_zone": float(d)} for d in args.dead_zones.split(",")}
        variants |= {f"rdo {c}": {"rdo_lambda": float(c)} for c in args.lambdas.split(",")}
        print("variant | step | bytes | weight SE | accuracy % | bytes / plain at same SE")
        for p in plain[::2]:
            print(
                f"plain | 2^{math.log2(p.step):.1f} | {p.stream_bytes} | "
                f"{p.squared_error:.4g} | {p.accuracy_pct:.2f} | 1"
            )
        for label, options in variants.items():
            logs = []
            for step in sparse:
                p = encode_point(sd, args.symmetry, step, evaluate, **options)
                ref = bytes_at(plain, p.squared_error)
                ratio = p.stream_bytes / ref
                if not math.isnan(ratio):
                    logs.append(math.log(ratio))
                print(
                    f"{label} | 2^{math.log2(step):.1f} | {p.stream_bytes} | "
                    f"{p.squared_error:.4g} | {p.accuracy_pct:.2f} | {ratio:.4f}"
                )
            mean = 100 * (math.exp(sum(logs) / len(logs)) - 1) if logs else math.nan
            print(
                f"## {label}: mean byte change at equal weight MSE {mean:+.2f}% "
                f"over {len(logs)} points"
            )


if __name__ == "__main__":
    main()
