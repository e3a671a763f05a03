"""Head-to-head: symcodec against NNCodec (Fraunhofer HHI's MPEG NNC, PyPI ``nncodec`` 2.1.3).

Issues 7 and 14. For every (data set, model, variant, training seed) it takes the model from
the study's model cache (or trains it there with the study's recipe), encodes it with
NNCodec at each ``qp`` and with symcodec at each step size, decodes, evaluates the decoded
model on the test set, and writes to ``--out`` (default ``docs/results/frontier/``):

* ``results.csv``: every point (codec, setting, bytes, bits/param, accuracy, encode and
  decode ms as the median of ``--repeats`` runs), with the model's training seed;
* ``table.md``: bytes at iso-accuracy (the smallest stream whose accuracy is within 0.3 pp
  of the float model, i.e. ``acc >= float_acc - 0.3``) for each codec, their ratio, and the
  encode and decode times of both at those points, measured in the same run;
* ``rate_accuracy.png``: bytes (log) vs accuracy, one line per codec and variant, one panel
  per (data set, model, training seed);
* ``run.json``: the arguments, versions, machine, models and timings of the run;
* issue 14, the frontier: ``bd_rate.csv`` (columns ``dataset, model, anchor, bd_rate_pct,
  ci_low_pct, ci_high_pct``: symcodec on the symmetric model against
  ``nncodec-unconstrained``, ``nncodec-symmetric`` and ``nncodec-dof``, over
  ``[ref - 2 pp, ref - 0.3 pp]`` with ``ref`` the unconstrained float model's accuracy, 95%
  CI from a paired bootstrap over the test images), pooled over the training seeds;
  ``bd_rate_per_seed.csv``; ``bd_rate_ablation.csv`` and ``ablation.md`` (each symcodec
  lever alone: one step for all, the data-aware allocation, and their union);
  ``correct.npz`` (every point's per-image correctness, so ``--replot`` recomputes all of
  it) and ``frontier.png`` (all curves).

**Several training seeds** (``--seeds 0,1,2``). Every model is taken once per training seed;
the BD-rates are computed per seed (seed ``s``'s symmetric model against seed ``s``'s
anchors, over the band of seed ``s``'s unconstrained model) and pooled: the pooled BD-rate is
the mean of the per-seed BD-rates, and its CI comes from a two-level bootstrap
(``symcodec.report.bd_rate.bd_rate_bootstrap_seeds``): each draw picks the seeds with
replacement, then resamples the test images (the same images for every seed: they share the
test set), and averages the picked seeds' BD-rates. The CI covers both the spread between
seeds and the test-set sampling; ``bd_rate_per_seed.csv`` has each seed alone.

Where each part lives (all in ``bench/``):

* ``nncodec_models``: the models, from the study's converged training recipe
  (``symcodec.recipes.recipe_for``), so ``symcodec reproduce studies/paper.toml`` and this
  benchmark share their cached models;
* ``nncodec_adapter``: NNCodec, its settings and its torchvision stub;
* ``nncodec_symcodec``: symcodec's settings and its allocated points;
* ``nncodec_sweep``: timing the codecs and evaluating their received models;
* ``nncodec_results``: ``results.csv`` and ``table.md``; ``nncodec_plots``: the figures;
* ``nncodec_frontier`` and ``nncodec_frontier_files``: the BD-rates and their files;
* ``nncodec_merge``: ``--merge``, runs made apart (one per training seed) into one.

Run it with ``make bench-nncodec``, which creates the separate environment ``.venv-nncodec``
(NNCodec pins ``numpy<2`` and needs ``torchvision``; neither belongs in the main ``.venv``)
and runs ``.venv-nncodec/bin/python bench/vs_nncodec.py``. ``--quick`` is a short smoke run
(``mnist-5k``, ``deepcnn-gap``, a few points).

Defaults: the recipe's epochs; training seed 0; torch's default thread count for training
(the study's, part of the model cache key) and 1 torch thread for coding and evaluation
(under load, 2 threads were several times slower); timings are the median of
``--repeats 3`` in-memory runs. Trained models are cached by ``study.trained_model``
(``$SYMCODEC_CACHE/models``, default ``~/.cache/symcodec/models``), so a re-run only codes
and evaluates (about 8 minutes on two loaded cores before issue 14; its dense grids, the
NNCodec-on-DoF anchor and the allocated points make a run several times longer, not yet
measured). ``--replot`` redraws the table and plot from ``results.csv``, and the BD-rates and
frontier from ``correct.npz``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import nncodec_frontier as frontier  # noqa: E402
from nncodec_adapter import NNCodec, NNCodecDof, import_nncodec  # noqa: E402
from nncodec_frontier_files import write_frontier  # noqa: E402
from nncodec_merge import MergeError, merge_runs  # noqa: E402
from nncodec_models import (  # noqa: E402
    VARIANTS,
    BenchModel,
    bench_model,
    bench_spec,
    epochs_override,
    parse_seeds,
)
from nncodec_plots import plot_rate_accuracy  # noqa: E402
from nncodec_results import (  # noqa: E402
    ISO_PP,
    format_table,
    read_csv,
    table_rows,
    write_bytes,
    write_csv,
    write_text,
)
from nncodec_sweep import Point, add_points, curve_label, sweep  # noqa: E402
from nncodec_symcodec import (  # noqa: E402
    RDO_LAMBDA,
    Symcodec,
    SymcodecAllocated,
    SymcodecRdo,
    allocated_plans,
    allocation_budgets,
    symcodec_api_ready,
)

from symcodec.data import load_dataset  # noqa: E402

# Dense grids (issue 14): qp in steps of 2 (NNCodec's step 2**(qp/4) grows by 2**0.5), and
# symcodec's absolute steps 2**(k/4), twice as dense, spanning NNCodec's steps with room.
QPS = tuple(range(-48, -11, 2))
QUICK_QPS = (-36, -28, -20)
STEPS = tuple(2.0 ** (k / 4) for k in range(-52, -11))
QUICK_STEPS = tuple(float(s) for s in np.geomspace(2.0**-10, 2.0**-4, 5))
# Relative steps (multiples of each tensor's std).
REL_STEPS = tuple(float(s) for s in np.geomspace(2.0**-7, 2.0**0.5, 14))
QUICK_REL_STEPS = tuple(float(s) for s in np.geomspace(2.0**-5, 2.0**-1, 5))


def build_parser(default_threads: int) -> argparse.ArgumentParser:
    """The command line; ``default_threads`` is torch's thread count at start-up."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="fashion-mnist,mnist-5k")
    ap.add_argument(
        "--models",
        default="deepcnn,deepcnn-gap-bn",
        help="models (default deepcnn and deepcnn-gap-bn: the GAP model trained with batch "
        "norm, folded into the convs before coding, as the paper-gap study sends it)",
    )
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument(
        "--quick", action="store_true", help="mnist-5k and deepcnn-gap only, fewer points"
    )
    ap.add_argument(
        "--epochs",
        default="",
        help="override the study recipe's training epochs (symcodec.recipes.recipe_for): "
        "N for all, or KEY=N,... with KEY a data set or DATASET/MODEL; models trained so are "
        "not the study's (default: the recipe's)",
    )
    ap.add_argument(
        "--seeds",
        default="0",
        help="training seeds, comma-separated, e.g. 0,1,2: every model once per seed, "
        "BD-rates per seed and pooled (default 0)",
    )
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per point (median)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for coding, evaluation")
    ap.add_argument(
        "--train-threads",
        type=int,
        default=None,
        help="torch threads while training; part of the model cache key (default: torch's "
        f"default, {default_threads} here, the count `symcodec reproduce` trains with, so "
        "the benchmark finds the study's cached models; another count trains models of its "
        "own)",
    )
    ap.add_argument("--step-mode", choices=("absolute", "relative"), default="absolute")
    ap.add_argument(
        "--dead-zone",
        type=float,
        default=0.0,
        help="symcodec's rounding offset in [0, 0.5) (0: plain rounding, the issue's setting)",
    )
    ap.add_argument("--codecs", default="nncodec,symcodec")
    ap.add_argument(
        "--rdo-lambda",
        type=float,
        default=RDO_LAMBDA,
        help="Lagrangian of symcodec's RDO-rounded points (default ln(2)/6, the high-rate "
        "optimum; 0: no RDO points)",
    )
    ap.add_argument(
        "--allocation-images",
        type=int,
        default=512,
        help="training images of symcodec's data-aware allocation (0: no allocated points)",
    )
    ap.add_argument(
        "--bootstrap", type=int, default=1000, help="paired bootstrap resamples of the BD-rates"
    )
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument(
        "--merge",
        nargs="+",
        metavar="DIR",
        help="merge these runs' results (say, one per training seed) into --out, then "
        "rewrite the BD-rates, tables and plots from the union (nncodec_merge)",
    )
    ap.add_argument(
        "--replot",
        action="store_true",
        help="only rewrite table.md and rate_accuracy.png from OUT/results.csv, and the "
        "BD-rates, ablation and frontier.png from OUT/correct.npz",
    )
    ap.add_argument(
        "--out",
        default=None,
        help="output directory (default docs/results/frontier; with --quick results/nncodec-quick)",
    )
    return ap


def replot(out: Path, resamples: int) -> None:
    """``--replot``: the tables, figures and BD-rates again from ``out``'s files."""
    points = read_csv(out / "results.csv")
    write_text(out / "table.md", format_table(table_rows(points)))
    write_bytes(out / "rate_accuracy.png", plot_rate_accuracy(points))
    print(format_table(table_rows(points)))
    if (out / "correct.npz").exists():
        print(write_frontier(out, frontier.load_curves(out / "correct.npz"), resamples))


def code_model(
    bench: BenchModel,
    data,
    nnc,
    args: argparse.Namespace,
    grids: tuple[tuple, tuple],
    points: list[Point],
    curves: dict[str, frontier.Curve],
    reference: float,
) -> float | None:
    """Code ``bench`` with every codec asked for, at every setting of ``grids`` (qps,
    steps), and add the points and curves; every variant also gets symcodec's allocated
    points (against ``reference``, the unconstrained float accuracy). Returns the seconds the
    allocation took (None without allocated points)."""
    qps, steps = grids
    codecs = args.codecs.split(",")
    state, shapes, label = bench.state, bench.shapes, bench.label
    runs = []
    if "nncodec" in codecs:
        nc = NNCodec(nnc)
        runs.append((nc, "qp", sweep(nc, qps, state, shapes, args.repeats, label)))
        if bench.variant != "none":
            from symcodec.codec import TransmissionPlan

            dof_plan = TransmissionPlan.default(state, symmetry=bench.variant, bits=32)
            nd = NNCodecDof(nnc, dof_plan)
            runs.append((nd, "qp", sweep(nd, qps, state, shapes, args.repeats, label)))
    if "symcodec" in codecs:
        sc = Symcodec(bench.variant, args.step_mode, args.dead_zone)
        runs.append((sc, "step", sweep(sc, steps, state, shapes, args.repeats, label)))
        if bench.variant != "none" and args.rdo_lambda > 0:
            rdo = SymcodecRdo(bench.variant, args.rdo_lambda, args.dead_zone)
            runs.append((rdo, "step", sweep(rdo, steps, state, shapes, args.repeats, label)))
    for codec, key, results in runs:
        add_points(points, curves, codec, key, results, bench, data.test_x, data.test_y)
    if "symcodec" not in codecs or args.allocation_images <= 0:
        return None
    uniform_label = curve_label(bench.variant, "symcodec")
    uniform = curves[frontier.curve_key(bench.dataset, bench.model_name, uniform_label, bench.seed)]
    budgets = allocation_budgets(uniform, reference)
    plans, seconds = allocated_plans(
        bench.model, state, data, bench.variant, budgets, args.allocation_images, bench.seed
    )
    sa = SymcodecAllocated(plans)
    results = sweep(sa, sorted(plans), state, shapes, args.repeats, label)
    add_points(points, curves, sa, "budget", results, bench, data.test_x, data.test_y)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring); 0 on success."""
    default_threads = torch.get_num_threads()
    args = build_parser(default_threads).parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        sys.exit(f"vs_nncodec: {exc}")
    if args.out is None:
        args.out = str(
            ROOT / "results" / "nncodec-quick"
            if args.quick
            else ROOT / "docs" / "results" / "frontier"
        )
    if args.merge:
        try:
            added = merge_runs(Path(args.out), [Path(d) for d in args.merge])
        except (MergeError, OSError, ValueError) as exc:
            sys.exit(f"vs_nncodec: --merge: {exc}")
        print(f"merged {len(args.merge)} run(s) into {args.out}; curves added: {len(added)}")
    if args.replot or args.merge:
        replot(Path(args.out), args.bootstrap)
        return 0
    try:
        torch.set_num_threads(args.threads)
        return run(args, seeds, args.train_threads or default_threads)
    finally:
        torch.set_num_threads(default_threads)


def run(args: argparse.Namespace, seeds: tuple[int, ...], train_threads: int) -> int:
    """The benchmark proper: every model, every codec, then every output file."""
    datasets = args.datasets.split(",")
    models = args.models.split(",")
    variants = args.variants.split(",")
    qps, steps = QPS, (STEPS if args.step_mode == "absolute" else REL_STEPS)
    if args.quick:
        datasets, models = ["mnist-5k"], ["deepcnn-gap"]
        qps = QUICK_QPS
        steps = QUICK_STEPS if args.step_mode == "absolute" else QUICK_REL_STEPS
        args.repeats = min(args.repeats, 3)
    nnc, nnc_version, stubbed = codec_setup(args)

    started = time.time()
    points: list[Point] = []
    curves: dict[str, frontier.Curve] = {}
    allocation_seconds: dict[str, float] = {}
    models_info = []
    for ds in datasets:
        data = load_dataset(ds)  # the study's data: mnist-5k's split of seed 0
        for model_name in models:
            spec = bench_spec(ds, model_name, seeds, epochs_override(args.epochs, ds, model_name))
            for seed in seeds:
                reference = None
                for variant in variants:
                    bench, info = bench_model(spec, data, variant, seed, train_threads)
                    print(
                        f"{bench.label}: {bench.params:,} params, float {bench.float_acc:.2f}%, "
                        f"cached: {info['cached']}"
                    )
                    models_info.append(
                        {
                            "label": bench.label,
                            "params": bench.params,
                            "float_acc": bench.float_acc,
                            **info,
                        }
                    )
                    if variant == "none":
                        reference = bench.float_acc
                        key = frontier.curve_key(ds, model_name, frontier.REFERENCE, seed)
                        curves[key] = frontier.Curve(
                            frontier.REFERENCE,
                            ("float32",),
                            (4 * bench.params,),
                            bench.float_correct,
                        )
                    if args.train_only:
                        continue
                    seconds = code_model(
                        bench,
                        data,
                        nnc,
                        args,
                        (qps, steps),
                        points,
                        curves,
                        bench.float_acc if reference is None else reference,
                    )
                    if seconds is not None:
                        allocation_seconds[bench.label] = round(seconds, 1)
    if args.train_only:
        return 0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "results.csv", points)
    table = format_table(table_rows(points))
    write_text(out / "table.md", table)
    write_bytes(out / "rate_accuracy.png", plot_rate_accuracy(points))
    write_bytes(out / "correct.npz", frontier.save_curves(curves))
    print(write_frontier(out, curves, args.bootstrap))
    run_info = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "args": vars(args),
        "seeds": list(seeds),
        "train_threads": train_threads,
        "qps": list(qps),
        "steps": list(steps),
        "iso_pp": ISO_PP,
        "versions": versions(nnc_version, stubbed),
        "symcodec_commit": git_commit(),
        "machine": machine(),
        "load_average_at_end": os.getloadavg(),
        "wall_seconds": round(time.time() - started, 1),
        "models": models_info,
        "allocation_seconds": allocation_seconds,
        "bd_band_pp": list(frontier.BAND_PP),
        "bootstrap_resamples": args.bootstrap,
    }
    write_text(out / "run.json", json.dumps(run_info, indent=2, default=str) + "\n")
    print(table)
    return 0


def codec_setup(args: argparse.Namespace) -> tuple[object, str | None, bool]:
    """``(nncodec.nnc or None, its version, torchvision stubbed)`` for the codecs asked for;
    exits when one is not available."""
    codecs = args.codecs.split(",")
    nnc = nnc_version = None
    stubbed = False
    if "nncodec" in codecs and not args.train_only:
        nnc, nnc_version, stubbed = import_nncodec()
        print(f"nncodec {nnc_version}" + (" (torchvision stubbed)" if stubbed else ""))
    if "symcodec" in codecs and not args.train_only:
        why = symcodec_api_ready()
        if why:
            sys.exit(
                "vs_nncodec: symcodec's step quantizer and entropy coder are not available "
                f"({why}); run with --codecs nncodec for the NNCodec side alone"
            )
    return nnc, nnc_version, stubbed


def versions(nnc_version: str | None, stubbed: bool) -> dict[str, str | None]:
    """The versions ``run.json`` records."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "nncodec": nnc_version,
        "torchvision": "stub" if stubbed else "real",
    }


def git_commit() -> str:
    """HEAD of the work tree and whether src/ differs from it (read-only git calls)."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" (src/ modified)" if dirty else "")


def machine() -> str:
    """The CPU model, CPU count and OS of this machine, for ``run.json``."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}"


if __name__ == "__main__":
    raise SystemExit(main())
