"""``symcodec reproduce | ablate``: the study and the referee's ablation.

The study (:mod:`symcodec.study`) runs the trials; the report (:mod:`symcodec.report`) comes
after it. :func:`write_study_outputs` and :func:`write_ablation_outputs` join the two: they
write a study directory's table, figures, claims and run metadata from the study's results.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SymcodecError
from ._common import console

if TYPE_CHECKING:
    from ..study import AblationRun, StudyRun


def default_study() -> Path:
    """``studies/quick.toml`` shipped with the package."""
    return Path(__file__).resolve().parent.parent / "studies" / "quick.toml"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="run a study (the main job) and write its results directory",
        description="Run a study: train (or load from the cache) every model, send each "
        "configuration over the channel for every setting and trial, and write results.csv, "
        "table.md, accuracy_vs_snr.png, accuracy_vs_bits.png, payload.png, claims.md and "
        "run.json (on the nr-ldpc link also equal_air_time.md/.csv/.png and "
        "air_time_to_target.csv). An interrupted study resumes where it stopped.",
    )
    p.add_argument("study", nargs="?", default=None, help="study TOML (default: quick.toml)")
    p.add_argument("-o", "--output", default=None, help="directory (default results/<name>)")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="ignore earlier results in DIR (and its record of the models they were made with)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--train-only",
        action="store_true",
        help="train (or find in the cache) every model of every training seed, run no trial",
    )
    p.add_argument(
        "--train-seeds",
        type=int,
        nargs="+",
        metavar="SEED",
        help="only these of the study's [training] seeds (trials, training and the outputs); "
        "the results of the others stay in DIR for a later run with all seeds",
    )
    p.set_defaults(func=cmd_reproduce)

    p = subparsers.add_parser(
        "ablate",
        help="accuracy against distance to V_S and projection strength alpha",
        description="The referee's ablation (SPEC section 8, point 5): does receiver "
        "projection help only when the transmitted kernels lie near the symmetric subspace? "
        "Sweeps the receiver's projection strength on the symmetric model, and the distance "
        "to the subspace with models trained with a soft symmetry penalty at several "
        "strengths (each cached like the study's models), for every training seed. Reads an "
        "auto grid from the study's directory. Writes ablation.csv, ablation.md and "
        "ablation.png (after each seed; a rerun keeps the seeds already complete).",
    )
    p.add_argument("study", nargs="?", default=None, help="study TOML (default: quick.toml)")
    p.add_argument("-o", "--output", default=None, help="directory (default results/<name>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--train-seeds",
        type=int,
        nargs="+",
        metavar="SEED",
        help="only these of the study's [training] seeds; the rows of the others already in "
        "DIR/ablation.csv stay (a seed whose rows are complete there is never run again)",
    )
    p.set_defaults(func=cmd_ablate)


def write_study_outputs(run: StudyRun) -> None:
    """Write a study's ``table.md``, ``accuracy_vs_snr.png``, ``accuracy_vs_bits.png``,
    ``payload.png``, ``snr_to_target.md/.csv`` (SNR sweeps), on the NR link
    ``equal_air_time.md/.csv/.png`` and ``air_time_to_target.csv``, ``claims.md`` and
    ``run.json``
    from a :class:`symcodec.study.StudyRun`
    (its directory's ``ablation.csv``, written by ``symcodec ablate``, feeds claim 5)."""
    from .. import report
    from ..io import atomic_open

    out = run.directory
    meta = dict(run.meta)
    if (out / "ablation.csv").exists():  # written by `symcodec ablate` (claim 5)
        meta["ablation"] = report.read_ablation_csv(out / "ablation.csv")
    summary = report.summarize(run.rows)
    report.write_table(summary, meta, out / "table.md")
    report.plot_accuracy_vs_snr(summary, out / "accuracy_vs_snr.png")
    report.plot_accuracy_vs_bits(summary, out / "accuracy_vs_bits.png")
    report.plot_payload(summary, out / "payload.png")
    report.write_snr_targets(run.rows, out)
    report.write_equal_air_time(run.rows, out)  # NR rows only; nothing otherwise
    claims = report.evaluate_claims(run.rows, meta)  # paired rules need the trial rows
    report.write_claims(claims, meta, out / "claims.md")
    with atomic_open(out / "run.json", "w") as handle:
        json.dump(meta, handle, indent=2, default=str)


def write_ablation_outputs(ablation: AblationRun, directory: str | Path) -> None:
    """Write ``ablation.csv``, ``ablation.md`` and ``ablation.png`` of a
    :class:`symcodec.study.AblationRun` into ``directory``."""
    from .. import report

    report.write_ablation(ablation.rows, ablation.acc_ref, directory)


def _study(args):
    from ..study import load_study

    path = Path(args.study) if args.study else default_study()
    spec = load_study(path)
    chosen = getattr(args, "train_seeds", None)
    if chosen:
        unknown = sorted(set(chosen) - set(spec.training.seeds))
        if unknown:
            raise SymcodecError(
                f"--train-seeds {' '.join(map(str, unknown))}: not among the study's training "
                f"seeds {list(spec.training.seeds)}"
            )
        seeds = [s for s in spec.training.seeds if s in chosen]
        spec = dataclasses.replace(spec, training=dataclasses.replace(spec.training, seeds=seeds))
    out = Path(args.output) if args.output else Path("results") / spec.name
    if out.exists() and not out.is_dir():
        raise SymcodecError(f"output {out} exists and is not a directory")
    return path, spec, out


def cmd_reproduce(args) -> int:
    from ..study import run_study
    from ..study.model_identity import MODELS_FILE

    path, spec, out = _study(args)
    if args.fresh:
        for name in ("results.csv", MODELS_FILE):
            (out / name).unlink(missing_ok=True)
    con = console()
    if args.train_only:
        from ..study import train_models

        for seed, accuracy in train_models(spec, progress=not args.no_progress, log=con.print):
            con.print(f"training seed {seed}: reference accuracy {accuracy:.2f}%")
        return 0
    con.print(f"study {spec.name} from {path} -> {out}/")
    command = " ".join(["symcodec", *map(shlex.quote, sys.argv[1:])])
    run = run_study(
        spec,
        out,
        executor=args.executor,
        address=args.address,
        progress=not args.no_progress,
        command=command,
        log=con.print,
    )
    write_study_outputs(run)
    con.print((out / "table.md").read_text())
    con.print((out / "claims.md").read_text())
    con.print(
        f"{len(run.rows)} trials ({run.new_trials} new) in {run.seconds:.0f} s; outputs in {out}/"
    )
    return 0


def cmd_ablate(args) -> int:
    from .. import report
    from ..study import run_ablation

    path, spec, out = _study(args)
    con = console()
    con.print(f"ablation of study {spec.name} from {path} -> {out}/")
    out.mkdir(parents=True, exist_ok=True)
    earlier = out / "ablation.csv"
    ablation = run_ablation(
        spec,
        progress=not args.no_progress,
        log=con.print,
        directory=out,
        earlier=report.read_ablation_csv(earlier) if earlier.exists() else (),
        on_seed=lambda so_far: write_ablation_outputs(so_far, out),
    )
    write_ablation_outputs(ablation, out)
    con.print((out / "ablation.md").read_text())
    return 0
