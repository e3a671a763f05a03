"""``symcodec train | analyze``."""

from __future__ import annotations

import platform
import time

import torch

from ..symmetry import get_symmetry, symmetry_names
from ..training import OPTIMIZERS, SCHEDULES
from ._common import console, new_table, nonnegative_int, output_path

_SKEW_NOTE = "(distance 0 under several symmetries: the one with the fewest DoF is marked)"


def register(subparsers) -> None:
    from ..data import dataset_names
    from ..models import model_names

    p = subparsers.add_parser(
        "train",
        help="train a model with symmetric conv kernels",
        description="Train a reference model whose conv kernels are constrained to a symmetry "
        "(only their degrees of freedom are trainable), evaluate it on the test set, and save "
        "it as .safetensors with its metadata (recipe, accuracy, wall time). Training follows "
        "the data set's recipe (symcodec.recipes: optimizer, schedule, epochs, ...); each "
        "option given overrides one field of it. A batch-norm model (deepcnn-gap-bn) is "
        "saved with its batch norm folded into the convs, as the plain model it is sent as.",
    )
    p.add_argument("--dataset", default="mnist-5k", help=f"one of {', '.join(dataset_names())}")
    p.add_argument("--data-dir", default=None, help="directory of the data set files")
    p.add_argument("--download", action="store_true", help="download the data set if missing")
    p.add_argument("--model", default="deepcnn", help=f"one of {', '.join(model_names())}")
    p.add_argument(
        "--symmetry", default="none", help=f"one of {', '.join(symmetry_names())} (default none)"
    )
    p.add_argument("--layers", default=None, help="comma-separated conv layers to constrain")
    p.add_argument("--epochs", type=nonnegative_int, default=None, help=_from_recipe("epochs"))
    p.add_argument("--batch-size", type=int, default=None, help=_from_recipe("batch_size"))
    p.add_argument("--lr", type=float, default=None, help=_from_recipe("lr", "peak learning rate"))
    p.add_argument("--optimizer", default=None, choices=OPTIMIZERS, help=_from_recipe("optimizer"))
    p.add_argument("--schedule", default=None, choices=SCHEDULES, help=_from_recipe("schedule"))
    p.add_argument("--weight-decay", type=float, default=None, help=_from_recipe("weight_decay"))
    p.add_argument("--max-steps", type=nonnegative_int, default=None, help="stop after N steps")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and shuffling")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-o", "--output", required=True, help="output .safetensors file")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser(
        "analyze",
        help="which symmetry is a trained model closest to?",
        description="For every conv layer: parameters, DoF under every named symmetry, and "
        "the relative distance ||W - PW|| / ||W|| to each symmetric subspace, the closest "
        "marked.",
    )
    p.add_argument("model", help="model weights: .safetensors, or .pt/.pth (weights only)")
    p.add_argument("--plot", default=None, help="write a PNG grid of the first filters")
    p.set_defaults(func=cmd_analyze)


def _from_recipe(field: str, what: str | None = None) -> str:
    """Help text of a training option whose default is a field of the data set's recipe."""
    from ..recipes import RECIPES

    by_value: dict[str, list[str]] = {}
    for family, recipe in RECIPES.items():
        by_value.setdefault(str(getattr(recipe, field)), []).append(family)
    if len(by_value) == 1:
        values = next(iter(by_value))
    else:
        values = ", ".join(f"{v} for {' and '.join(fams)}" for v, fams in by_value.items())
    label = what or field.replace("_", " ")
    return f"{label} (default from the data set's recipe, symcodec.recipes: {values})"


def _check_device(device: str) -> torch.device:
    from ..errors import SymcodecError

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise SymcodecError(f"unknown device {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SymcodecError(f"device {device!r} requested but CUDA is not available")
    return dev


def cmd_train(args) -> int:
    from ..constrain import symmetric_layers, train_symmetric
    from ..data import load_dataset
    from ..fold import fold_batch_norm
    from ..io import save_state_dict
    from ..models import build_model, plain_model_name
    from ..recipes import recipe_for
    from ..training import evaluate, seeded
    from ..version import __version__

    out = output_path(args.output, (".safetensors",))
    device = _check_device(args.device)
    sym = get_symmetry(args.symmetry)
    data = load_dataset(args.dataset, data_dir=args.data_dir, download=args.download)
    given = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "schedule": args.schedule,
        "weight_decay": args.weight_decay,
    }
    overrides = [key for key, value in given.items() if value is not None]
    recipe = recipe_for(data.name, args.model).replace(**given)
    config = recipe.train_config(seed=args.seed, device=str(device), max_steps=args.max_steps)
    channels, height, _ = data.input_shape
    with seeded(args.seed):
        model = build_model(
            args.model, num_classes=data.num_classes, in_channels=channels, image_size=height
        )
    layers = None if args.layers is None else [s for s in args.layers.split(",") if s]
    con = console()
    con.print(
        f"training {args.model} on {data.name} ({data.num_train:,} train / {data.num_test:,} "
        f"test images from {data.source}), symmetry {sym.name}, {recipe.epochs} epochs of "
        f"{recipe.optimizer} (lr {recipe.lr:g}, {recipe.schedule}, weight decay "
        f"{recipe.weight_decay:g}, batch {recipe.batch_size}), seed {args.seed}"
    )
    if sym.name != "none":
        for name, reason in symmetric_layers(model, sym, layers=layers).skipped.items():
            con.print(f"note: layer {name} left unconstrained: {reason}")
    trained = train_symmetric(
        model, sym, data.train_x, data.train_y, config, layers=layers, progress=not args.no_progress
    )
    result, trainable = trained.train, trained.trainable
    model = fold_batch_norm(model.to("cpu"))  # what is transmitted: no batch norm
    accuracy = evaluate(model, data.test_x, data.test_y, device=str(device))
    model.to("cpu")
    metadata = {
        "producer": f"symcodec {__version__}",
        "dataset": data.name,
        "model": plain_model_name(args.model),
        "trained_as": args.model,
        "symmetry": sym.name,
        "layers": args.layers or "all",
        "epochs": str(recipe.epochs),
        "steps": str(result.steps),
        "batch_size": str(recipe.batch_size),
        "lr": str(recipe.lr),
        **recipe.to_metadata(),
        "recipe.overrides": ",".join(overrides) or "none",
        "seed": str(args.seed),
        "accuracy": f"{accuracy:.4f}",
        "train_seconds": f"{result.seconds:.1f}",
        "num_classes": str(data.num_classes),
        "in_channels": str(channels),
        "image_size": str(height),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    save_state_dict(out, model.state_dict(), metadata)
    con.print(
        f"test accuracy {accuracy:.2f}% after {result.steps} steps in {result.seconds:.1f} s "
        f"({trainable:,} trainable parameters); wrote {out}"
    )
    return 0


def cmd_analyze(args) -> int:
    from ..analysis import analyze_state_dict, overall_distance
    from ..io import load_state_dict

    state_dict, metadata = load_state_dict(args.model)
    rows = analyze_state_dict(state_dict)
    con = console()
    if not rows:
        con.print("no conv kernels (4-D float tensors) in this model")
        return 0
    names = symmetry_names()
    table = new_table("distance ||W - PW|| / ||W|| to each symmetric subspace (* closest)")
    table.add_column("layer")
    table.add_column("shape")
    table.add_column("params", justify="right")
    for name in names[1:]:
        table.add_column(name, justify="right")
    for row in rows:
        cells = []
        for name in names[1:]:
            d = row.distance[name]
            mark = "*" if name == row.closest else ""
            cells.append("n/a" if d is None else f"{d:.3f}{mark}")
        table.add_row(row.name, "x".join(map(str, row.shape)), f"{row.params:,}", *cells)
    overall = {name: overall_distance(state_dict, name) for name in names[1:]}
    table.add_section()
    table.add_row(
        "all kernels",
        "",
        f"{sum(r.params for r in rows):,}",
        *["n/a" if overall[n] is None else f"{overall[n]:.3f}" for n in names[1:]],
    )
    con.print(table)

    dof = new_table("degrees of freedom under each symmetry")
    dof.add_column("layer")
    for name in names:
        dof.add_column(name, justify="right")
    for row in rows:
        dof.add_row(row.name, *["n/a" if row.dof[n] is None else f"{row.dof[n]:,}" for n in names])
    con.print(dof)
    defined = {n: d for n, d in overall.items() if d is not None}
    if defined:
        best = min(defined.values())
        tied = [n for n, d in defined.items() if d <= best + 1e-6]
        total_dof = {n: sum(r.dof[n] or 0 for r in rows) for n in tied}
        closest = min(tied, key=lambda n: total_dof[n])
        note = f" {_SKEW_NOTE}" if len(tied) > 1 else ""
        con.print(f"closest symmetry overall: {closest} (distance {defined[closest]:.4f}){note}")
    if metadata.get("symmetry"):
        con.print(f"trained with symmetry: {metadata['symmetry']} (from the file's metadata)")
    if args.plot:
        from ..report import plot_filters

        out = output_path(args.plot, (".png",))
        plot_filters(state_dict, out, title=f"{args.model}: first filters of each conv layer")
        con.print(f"wrote {out}")
    return 0
