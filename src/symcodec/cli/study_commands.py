"""``symcodec reproduce | ablate``: the study and the referee's ablation."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ..errors import SymcodecError
from ._common import console


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
        "run.json. An interrupted study resumes where it stopped.",
    )
    p.add_argument("study", nargs="?", default=None, help="study TOML (default: quick.toml)")
    p.add_argument("-o", "--output", default=None, help="directory (default results/<name>)")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    p.add_argument("--fresh", action="store_true", help="ignore earlier results in DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reproduce)

    p = subparsers.add_parser(
        "ablate",
        help="accuracy against distance to V_S and projection strength alpha",
        description="The referee's ablation (SPEC section 8, point 5): does receiver "
        "projection help only when the transmitted kernels lie near the symmetric subspace? "
        "Writes ablation.csv, ablation.md and ablation.png.",
    )
    p.add_argument("study", nargs="?", default=None, help="study TOML (default: quick.toml)")
    p.add_argument("-o", "--output", default=None, help="directory (default results/<name>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ablate)


def _study(args):
    from ..experiment import load_study

    path = Path(args.study) if args.study else default_study()
    spec = load_study(path)
    out = Path(args.output) if args.output else Path("results") / spec.name
    if out.exists() and not out.is_dir():
        raise SymcodecError(f"output {out} exists and is not a directory")
    return path, spec, out


def cmd_reproduce(args) -> int:
    from ..experiment import run_study

    path, spec, out = _study(args)
    if args.fresh and (out / "results.csv").exists():
        (out / "results.csv").unlink()
    con = console()
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
    con.print((out / "table.md").read_text())
    con.print((out / "claims.md").read_text())
    con.print(
        f"{len(run.rows)} trials ({run.new_trials} new) in {run.seconds:.0f} s; outputs in {out}/"
    )
    return 0


def cmd_ablate(args) -> int:
    from ..experiment import run_ablation

    path, spec, out = _study(args)
    con = console()
    con.print(f"ablation of study {spec.name} from {path} -> {out}/")
    run_ablation(spec, out, progress=not args.no_progress, log=con.print)
    con.print((out / "ablation.md").read_text())
    return 0
