"""``symcodec encode --budget-bytes N`` / ``--target-accuracy-drop PP``: the options of the
data-aware bit allocation (:func:`symcodec.codec.allocate`) and the calibration set they
take from the model's own data set."""

from __future__ import annotations

import argparse
import math

import torch

from ..codec import TransmissionPlan, allocate
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


def add_allocation_arguments(p: argparse.ArgumentParser) -> None:
    """The allocation options of ``encode``."""
    group = p.add_argument_group(
        "data-aware bit allocation",
        "choose one step size per tensor from the diagonal Fisher of a calibration set of "
        "training images (never test images): the smallest predicted loss at a byte budget",
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


def wants_allocation(args) -> bool:
    """Whether ``encode`` was asked for an allocation."""
    return args.budget_bytes is not None or args.target_accuracy_drop is not None


def allocated_plan(
    args, state_dict: dict[str, torch.Tensor], metadata: dict[str, str], plan: TransmissionPlan
) -> tuple[TransmissionPlan, str]:
    """The allocated plan and a line naming the calibration set it was measured on."""
    from ..data import load_dataset
    from ..models import model_from_weights

    if args.step is not None or args.bits is not None:
        raise SymcodecError(
            "--budget-bytes and --target-accuracy-drop choose the steps: drop --bits/--step"
        )
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
    calibration = (data.train_x[index], data.train_y[index])
    result = allocate(
        state_dict,
        plan,
        calibration=calibration,
        budget_bytes=args.budget_bytes,
        max_accuracy_drop_pp=args.target_accuracy_drop,
        model=model,
        metadata=metadata,
    )
    return result, f"calibration: {count:,} training images of {data.name}"
