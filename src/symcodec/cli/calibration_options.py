"""The ``encode`` options that measure the model on a calibration set of training images
from its own data set: ``--budget-bytes N`` / ``--target-accuracy-drop PP`` (the data-aware
bit allocation, :func:`symcodec.codec.allocate`) and ``--symmetry auto`` (a symmetry per
conv layer, :func:`symcodec.codec.symmetry_choice.choose_symmetries`)."""

from __future__ import annotations

import argparse
import math

import torch

from ..codec import TransmissionPlan, allocate
from ..codec.symmetry_choice import DEFAULT_MAX_LOSS_INCREASE, auto_plan, choose_symmetries
from ..errors import SymcodecError
from ._common import checked_number

DEFAULT_CALIBRATION_IMAGES = 512

budget_arg = checked_number("budget", int, lambda v: v >= 1, "at least 1 byte")
"""``--budget-bytes``: a positive integer."""
drop_arg = checked_number(
    "accuracy drop", float, lambda v: math.isfinite(v) and v >= 0, "a number >= 0"
)
"""``--target-accuracy-drop``: percentage points, >= 0."""
images_arg = checked_number("calibration images", int, lambda v: v >= 1, "at least 1")
"""``--calibration-images``: a positive integer."""
loss_increase_arg = checked_number(
    "loss increase", float, lambda v: math.isfinite(v) and v >= 0, "a number >= 0"
)
"""``--auto-max-loss-increase``: nats, >= 0."""
AUTO = "auto"


def add_allocation_arguments(p: argparse.ArgumentParser) -> None:
    """The allocation options of ``encode``."""
    group = p.add_argument_group(
        "data-aware bit allocation",
        "choose one step size per tensor from the diagonal Fisher of a calibration set of "
        "training images (never test images): the smallest predicted loss at a byte budget; "
        "--symmetry auto chooses a symmetry per conv layer on the same images",
    )
    target = group.add_mutually_exclusive_group()
    target.add_argument(
        "--budget-bytes",
        type=budget_arg,
        metavar="N",
        default=None,
        help="the largest stream in bytes (header included); replaces --bits/--step",
    )
    target.add_argument(
        "--target-accuracy-drop",
        type=drop_arg,
        metavar="PP",
        default=None,
        help="the smallest stream whose model loses at most PP percentage points of accuracy "
        "on the calibration images",
    )
    group.add_argument(
        "--calibration-images",
        type=images_arg,
        metavar="N",
        default=DEFAULT_CALIBRATION_IMAGES,
        help=f"training images the sensitivities are measured on (default "
        f"{DEFAULT_CALIBRATION_IMAGES}, a seeded random subset)",
    )
    group.add_argument(
        "--dataset",
        default=None,
        help="data set of the calibration images (default: the model file's metadata)",
    )
    group.add_argument("--data-dir", default=None, help="directory of the data set files")
    group.add_argument(
        "--model",
        default=None,
        help="architecture of the weights (default: the model file's metadata)",
    )
    group.add_argument("--calibration-seed", type=int, default=0, help="seed of the subset")
    group.add_argument(
        "--auto-max-loss-increase",
        type=loss_increase_arg,
        metavar="NATS",
        default=DEFAULT_MAX_LOSS_INCREASE,
        help="with --symmetry auto: the calibration loss a layer's projection may add "
        f"(default {DEFAULT_MAX_LOSS_INCREASE:g})",
    )


def wants_allocation(args) -> bool:
    """Whether ``encode`` was asked for an allocation."""
    return args.budget_bytes is not None or args.target_accuracy_drop is not None


def wants_auto_symmetry(args) -> bool:
    """Whether ``encode`` was asked for ``--symmetry auto``."""
    return str(args.symmetry).strip().lower() == AUTO


def calibration_set(args, state_dict: dict[str, torch.Tensor], metadata: dict[str, str]):
    """``(model, (images, labels), description)``: the architecture with these weights and a
    seeded random subset of its data set's *training* images."""
    from ..data import load_dataset
    from ..models import model_from_weights

    dataset = args.dataset or metadata.get("dataset")
    if not dataset:
        raise SymcodecError(
            "the model file does not name its data set; pass --dataset for the calibration images"
        )
    model = model_from_weights(state_dict, metadata, name=args.model)
    data = load_dataset(dataset, data_dir=args.data_dir)
    count = min(args.calibration_images, data.num_train)
    generator = torch.Generator().manual_seed(args.calibration_seed)
    index = torch.randperm(data.num_train, generator=generator)[:count]
    description = f"calibration: {count:,} training images of {data.name}"
    return model, (data.train_x[index], data.train_y[index]), description


def auto_symmetry_plan(args, state_dict, calibration, plan_options: dict) -> TransmissionPlan:
    """The plan of ``--symmetry auto``: each conv layer's own symmetry (or none)."""
    model, images = calibration
    choice = choose_symmetries(
        state_dict, images, model=model, max_loss_increase=args.auto_max_loss_increase
    )
    return auto_plan(state_dict, choice, **plan_options)


def allocated_plan(
    args,
    state_dict: dict[str, torch.Tensor],
    metadata: dict[str, str],
    plan: TransmissionPlan,
    calibration,
) -> TransmissionPlan:
    """The plan with per-tensor steps of ``--budget-bytes`` / ``--target-accuracy-drop``."""
    if args.step is not None or args.bits is not None:
        raise SymcodecError(
            "--budget-bytes and --target-accuracy-drop choose the steps: drop --bits/--step"
        )
    model, images = calibration
    return allocate(
        state_dict,
        plan,
        calibration=images,
        budget_bytes=args.budget_bytes,
        max_accuracy_drop_pp=args.target_accuracy_drop,
        model=model,
        metadata=metadata,
    )
