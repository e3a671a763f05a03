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
* ``nncodec_merge``: ``--merge``, runs made apart (one per training seed) into one;
* ``nncodec_cli``: the command line and its setting grids; ``nncodec_provenance``: the
  versions, commit and machine that ``run.json`` records.

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
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import nncodec_frontier as frontier  # noqa: E402
from nncodec_adapter import NNCodec, NNCodecDof, import_nncodec  # noqa: E402
from nncodec_cli import (  # noqa: E402
    QPS,
    QUICK_QPS,
    QUICK_REL_STEPS,
    QUICK_STEPS,
    REL_STEPS,
    STEPS,
    build_parser,
)
from nncodec_frontier_files import write_frontier  # noqa: E402
from nncodec_merge import MergeError, merge_runs  # noqa: E402
from nncodec_models import (  # noqa: E402
    BenchModel,
    bench_model,
    bench_spec,
    epochs_override,
    parse_seeds,
)
from nncodec_plots import plot_rate_accuracy  # noqa: E402
from nncodec_provenance import git_commit, machine, versions  # noqa: E402
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
    Symcodec,
    SymcodecAllocated,
    SymcodecRdo,
    allocated_plans,
    allocation_budgets,
    symcodec_api_ready,
)

from symcodec.data import load_dataset  # noqa: E402


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
    args = build_parser(default_threads, __doc__.split("\n")[0]).parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
