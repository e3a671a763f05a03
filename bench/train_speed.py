"""Seconds per training epoch: unconstrained vs symmetry-constrained ``deepcnn``.

Both variants are timed in the same run, each starting from the same initial weights,
with the same batches: whole epochs through ``symcodec.training.train``, interleaved
(plain, constrained, plain, ...), then single steps alternating between the two models
(robust to other load on the machine: compare the medians), then the cost of rebuilding
the kernels alone. The constrained model trains only the degrees of freedom of its conv
kernels (``symcodec.constrain.symmetrize``); the target is a ratio of at most 1.3.

With ``--max-batches`` each timed run stops after that many batches and the epoch time is
extrapolated from the time per batch (the printout says so).

Usage::

    .venv/bin/python bench/train_speed.py                      # Fashion-MNIST, full epochs
    .venv/bin/python bench/train_speed.py --max-batches 100    # quicker estimate
    .venv/bin/python bench/train_speed.py --repeats 0           # paired steps only
    .venv/bin/python bench/train_speed.py --dataset mnist-5k --symmetry d4
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from symcodec import SymcodecError
from symcodec.constrain import symmetric_layers, symmetrize
from symcodec.data import load_dataset
from symcodec.models import build_model
from symcodec.training import TrainConfig, seeded, train


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="fashion-mnist", help="data set (default fashion-mnist)")
    p.add_argument("--model", default="deepcnn", help="model name (default deepcnn)")
    p.add_argument("--symmetry", default="central-skew", help="constraint (default central-skew)")
    p.add_argument("--batch-size", type=int, default=128, help="mini-batch size (default 128)")
    p.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="batches per timed run; the epoch time is extrapolated (default: whole epoch)",
    )
    p.add_argument(
        "--repeats", type=int, default=1, help="timed epochs per variant, interleaved (default 1)"
    )
    p.add_argument(
        "--paired-batches",
        type=int,
        default=100,
        help="batches of the paired step-by-step comparison (default 100; 0 skips it)",
    )
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up batches (default 5)")
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
        print("NOTE: falling back to the embedded mnist-5k (4,000 training images).")
        return load_dataset("mnist-5k")


def parametrization_cost(model: torch.nn.Module, repeats: int = 200) -> float:
    """Seconds per step spent rebuilding kernels from coefficients and back-propagating."""
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    convs = [m for m in convs if hasattr(m, "parametrizations")]
    originals = [m.parametrizations.weight.original for m in convs]
    grads = [torch.randn_like(m.weight) for m in convs]
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeats // 5):
            loss = sum((m.weight * g).sum() for m, g in zip(convs, grads, strict=True))
            torch.autograd.grad(loss, originals)
        best = min(best, (time.perf_counter() - t0) / (repeats // 5))
    return best


def paired_steps(plain, constrained, ds, batch_size: int, batches: int, seed: int):
    """Alternate single training steps of the two models on the same batches.

    Returns the per-step times of each. Load on the machine hits both alike, so the ratio
    of medians is a robust estimate of the relative cost of a step.
    """
    models = (plain, constrained)
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in models]
    for m in models:
        m.train()
    perm = torch.randperm(ds.num_train, generator=torch.Generator().manual_seed(seed))
    times: tuple[list[float], list[float]] = ([], [])
    for b in range(batches):
        idx = perm[(b * batch_size) % ds.num_train :][:batch_size]
        xb, yb = ds.train_x.index_select(0, idx), ds.train_y.index_select(0, idx)
        order = (0, 1) if b % 2 == 0 else (1, 0)
        for i in order:
            t0 = time.perf_counter()
            loss = F.cross_entropy(models[i](xb), yb)
            optimizers[i].zero_grad(set_to_none=True)
            loss.backward()
            optimizers[i].step()
            times[i].append(time.perf_counter() - t0)
    return times


def verdict(ratio: float) -> str:
    return f"target <= 1.3: {'met' if ratio <= 1.3 else 'NOT met'}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = load(args.dataset)
    with seeded(args.seed):
        base = build_model(args.model, num_classes=ds.num_classes)
    report = symmetric_layers(base, args.symmetry)
    n = ds.num_train
    batches_per_epoch = -(-n // args.batch_size)
    steps = (
        batches_per_epoch if args.max_batches is None else min(args.max_batches, batches_per_epoch)
    )
    print(
        f"{args.model} on {ds.name}: {n} training images, batch {args.batch_size}, "
        f"{batches_per_epoch} batches/epoch, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )
    print(
        f"{args.symmetry}: {len(report.applied)} conv layers constrained, "
        f"{report.dof_count} of {report.numel} kernel values trainable"
        + (f"; skipped {report.skipped}" if report.skipped else "")
    )
    if steps < batches_per_epoch:
        print(f"timing {steps} batches per run and extrapolating to {batches_per_epoch}")

    def make(constrained: bool):
        model = copy.deepcopy(base)
        if constrained:
            symmetrize(model, args.symmetry)
        return model

    config = TrainConfig(epochs=1, batch_size=args.batch_size, seed=args.seed, max_steps=steps)
    warm = TrainConfig(epochs=1, batch_size=args.batch_size, seed=args.seed, max_steps=args.warmup)
    for constrained in (False, True):
        train(make(constrained), ds.train_x, ds.train_y, warm, progress=False)

    plain_step = None  # seconds per unconstrained step, for the overhead line
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeats):
        for constrained in (False, True):
            model = make(constrained)
            t0 = time.perf_counter()
            result = train(model, ds.train_x, ds.train_y, config, progress=False)
            elapsed = time.perf_counter() - t0
            times[constrained].append(elapsed / result.steps * batches_per_epoch)
    if args.repeats > 0:
        # Machine load only ever adds time, so the fastest run of each variant is the estimate.
        plain, sym = min(times[False]), min(times[True])
        plain_step = plain / batches_per_epoch
        for constrained, label in ((False, "unconstrained"), (True, args.symmetry)):
            runs = ", ".join(f"{t:.2f}" for t in times[constrained])
            print(
                f"epochs via train(): {label:>13}: {min(times[constrained]):7.2f} s/epoch best, "
                f"{statistics.median(times[constrained]):7.2f} median  (runs: {runs})"
            )
        print(f"  ratio constrained / unconstrained: {sym / plain:.3f}  ({verdict(sym / plain)})")

    if args.paired_batches > 0:
        plain_t, sym_t = paired_steps(
            make(False), make(True), ds, args.batch_size, args.paired_batches, args.seed
        )
        p_step, s_step = statistics.median(plain_t), statistics.median(sym_t)
        plain_step = p_step  # the more robust estimate
        print(
            f"paired steps ({args.paired_batches} batches, alternating): median "
            f"{p_step * 1e3:.1f} ms unconstrained, {s_step * 1e3:.1f} ms {args.symmetry}"
            f" = {p_step * batches_per_epoch:.2f} vs {s_step * batches_per_epoch:.2f} s/epoch"
        )
        print(
            f"  ratio constrained / unconstrained: {s_step / p_step:.3f}  "
            f"({verdict(s_step / p_step)})"
        )

    overhead = parametrization_cost(make(True))
    share = f" = {overhead / plain_step:.2%} of a plain step" if plain_step else ""
    print(
        "kernel rebuild alone (forward + backward of the parametrizations): "
        f"{overhead * 1e3:.3f} ms per step{share}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
