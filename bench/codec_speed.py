"""Encode/decode speed of the DoF codec on ResNet-18's 3x3 conv kernels.

Encodes and decodes the 16 3x3 conv kernels of ResNet-18 (real shapes, 10,985,472
parameters, seeded random weights) in ``dof`` mode with central-skew at 8 and 4 bits,
and prints M parameters/s (median of several runs, file writing excluded) beside
``torch.save``/``torch.load`` of the same tensors to a bytes buffer, measured in the same
run.

Then decodes the same streams into existing tensors (``decode(blob, into=targets)``, the
way a model is updated in place), beside a plain ``target.copy_(tensor)`` of the same
float32 weights into the same tensors (the memory-bandwidth limit), timed alternately in
the same run; it prints the ratio of the times (target: at most 3x the copy, and at least
1,000 M parameters/s at 8 bits).

    .venv/bin/python bench/codec_speed.py [--repeats 7] [--threads N]
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time

import torch

from symcodec.codec import TransmissionPlan, decode, encode

# ResNet-18: (out, in) of every 3x3 convolution, stage by stage.
RESNET18_3X3 = (
    [(64, 64)] * 4
    + [(128, 64)]
    + [(128, 128)] * 3
    + [(256, 128)]
    + [(256, 256)] * 3
    + [(512, 256)]
    + [(512, 512)] * 3
)


def resnet18_kernels(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        f"conv{i}.weight": torch.randn(o, c, 3, 3, generator=g) * 0.05
        for i, (o, c) in enumerate(RESNET18_3X3)
    }


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def alternate_medians(fns: list, repeats: int) -> list[float]:
    """Median seconds of each function, timed in turn ``repeats`` times after one warm-up
    each (so a change in the machine's load hits them alike)."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, spent in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    kernels = resnet18_kernels()
    n = sum(t.numel() for t in kernels.values())
    print(
        f"{len(kernels)} ResNet-18 3x3 kernels, {n:,} parameters; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
    )

    def save():
        buf = io.BytesIO()
        torch.save(kernels, buf)
        return buf.getvalue()

    saved = save()
    t_save = median_seconds(save, args.repeats)
    t_load = median_seconds(lambda: torch.load(io.BytesIO(saved), weights_only=True), args.repeats)
    rows = [("torch.save / torch.load (float32)", len(saved), t_save, t_load)]
    blobs = {}
    for bits in (8, 4):
        plan = TransmissionPlan.default(kernels, symmetry="central-skew", bits=bits, mode="dof")
        blob = blobs[bits] = encode(kernels, plan)
        t_enc = median_seconds(lambda plan=plan: encode(kernels, plan), args.repeats)
        t_dec = median_seconds(lambda blob=blob: decode(blob), args.repeats)
        rows.append((f"symcodec dof central-skew {bits} bits", len(blob), t_enc, t_dec))

    base_enc, base_dec = n / rows[0][2], n / rows[0][3]
    print(
        f"{'codec':<38} {'bytes':>12} {'encode Mp/s':>12} {'x save':>7} "
        f"{'decode Mp/s':>12} {'x load':>7}"
    )
    for name, size, t_enc, t_dec in rows:
        enc, dec = n / t_enc, n / t_dec
        print(
            f"{name:<38} {size:>12,} {enc / 1e6:>12.0f} {enc / base_enc:>7.2f} "
            f"{dec / 1e6:>12.0f} {dec / base_dec:>7.2f}"
        )
    print_decode_into(kernels, blobs, args.repeats)


def print_decode_into(
    kernels: dict[str, torch.Tensor], blobs: dict[int, bytes], repeats: int
) -> None:
    """Decode into existing tensors beside a plain copy of the weights into them."""
    n = sum(t.numel() for t in kernels.values())
    targets = {name: torch.empty_like(t) for name, t in kernels.items()}

    def copy():
        for name, target in targets.items():
            target.copy_(kernels[name])

    print(f"\n{'into existing tensors':<38} {'ms':>8} {'M params/s':>11} {'x copy time':>12}")
    for bits, blob in blobs.items():
        t_copy, t_into = alternate_medians(
            [copy, lambda blob=blob: decode(blob, into=targets)], repeats
        )
        assert all(torch.equal(targets[k], v) for k, v in decode(blob).items())
        for name, t in (
            ("param.copy_(tensor), float32", t_copy),
            (f"decode(into=) dof central-skew {bits} bits", t_into),
        ):
            print(f"{name:<38} {1e3 * t:>8.2f} {n / t / 1e6:>11.0f} {t / t_copy:>12.2f}")


if __name__ == "__main__":
    main()
