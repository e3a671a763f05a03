"""The command line of the NNCodec benchmark (``bench/vs_nncodec.py``): its options
(:func:`build_parser`) and the setting grids they choose between (``--quick`` and
``--step-mode``): NNCodec's ``qp`` values and symcodec's absolute and relative step sizes.
"""

from __future__ import annotations

import argparse

import numpy as np
from nncodec_models import VARIANTS
from nncodec_symcodec import RDO_LAMBDA

# Dense grids (issue 14): qp in steps of 2 (NNCodec's step 2**(qp/4) grows by 2**0.5), and
# symcodec's absolute steps 2**(k/4), twice as dense, spanning NNCodec's steps with room.
QPS = tuple(range(-48, -11, 2))
QUICK_QPS = (-36, -28, -20)
STEPS = tuple(2.0 ** (k / 4) for k in range(-52, -11))
QUICK_STEPS = tuple(float(s) for s in np.geomspace(2.0**-10, 2.0**-4, 5))
# Relative steps (multiples of each tensor's std).
REL_STEPS = tuple(float(s) for s in np.geomspace(2.0**-7, 2.0**0.5, 14))
QUICK_REL_STEPS = tuple(float(s) for s in np.geomspace(2.0**-5, 2.0**-1, 5))


def build_parser(default_threads: int, description: str) -> argparse.ArgumentParser:
    """The command line; ``default_threads`` is torch's thread count at start-up,
    ``description`` the summary ``--help`` prints (the first line of ``vs_nncodec``'s
    docstring)."""
    ap = argparse.ArgumentParser(description=description)
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
