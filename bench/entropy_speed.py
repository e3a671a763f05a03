"""Encode/decode speed of the ``fixed`` and ``ans`` coders side by side.

The 16 3x3 conv kernels of ResNet-18 (real shapes, seeded random weights, from
``bench/codec_speed.py``) in ``dof`` mode with central-skew, quantized with a step size (and,
for comparison, 8 uniform bits), sent with fixed-length codes and with the entropy coder.
Prints M parameters/s of encode and decode (median of a few runs, measured in the same
process one after the other), bytes, and bits per value against the entropy bound.

    .venv/bin/python bench/entropy_speed.py [--repeats 3] [--kernels 16] [--threads N]
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
from pathlib import Path

import torch

from symcodec.codec import TransmissionPlan, decode, encode, inspect


def _codec_speed():
    path = Path(__file__).resolve().with_name("codec_speed.py")
    spec = importlib.util.spec_from_file_location("codec_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kernels", type=int, default=16, help="first K kernels (default 16)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bench = _codec_speed()
    kernels = dict(list(bench.resnet18_kernels().items())[: args.kernels])
    n = sum(t.numel() for t in kernels.values())
    print(
        f"{len(kernels)} ResNet-18 3x3 kernels, {n:,} parameters (weights N(0, 0.05^2)); "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"{'quantizer':<18} {'coder':<6} {'bytes':>11} {'bits/value':>10} {'entropy':>8} "
        f"{'encode Mp/s':>12} {'decode Mp/s':>12}"
    )
    for label, quant in (("step 0.005", {"step": 0.005}), ("uniform 8 bits", {"bits": 8})):
        for coder in ("fixed", "ans"):
            plan = TransmissionPlan.default(
                kernels, symmetry="central-skew", mode="dof", coder=coder, **quant
            )
            blob = encode(kernels, plan)
            acc = inspect(blob, entropy=True)
            t_enc = bench.median_seconds(lambda plan=plan: encode(kernels, plan), args.repeats)
            t_dec = bench.median_seconds(lambda blob=blob: decode(blob), args.repeats)
            entropy = acc.entropy_bits / acc.values_sent if acc.entropy_bits else float("nan")
            print(
                f"{label:<18} {coder:<6} {len(blob):>11,} {acc.bits_per_value:>10.3f} "
                f"{entropy:>8.3f} {n / t_enc / 1e6:>12.1f} {n / t_dec / 1e6:>12.1f}"
            )


if __name__ == "__main__":
    main()
