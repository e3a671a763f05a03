"""``symcodec plan-link``: choose the NR MCS and protection preset for a model at an SNR.

A thin shell over :func:`symcodec.receiver.link_adaptation.plan_link`: the accuracy-vs-loss
curve comes from ``--curve CSV`` (a saved curve or a study's ``results.csv``) or is measured
on the fly on the first ``--eval-samples`` test images of ``--dataset``; the command prints
every MCS's best candidate and the one chosen.
"""

from __future__ import annotations

from ..errors import SymcodecError
from ._common import checked_number, console, finite_float, new_table, positive_count

_nonnegative = checked_number("limit", float, lambda v: v >= 0, "a number >= 0")


def register(subparsers) -> None:
    from ..receiver.nr_protection import PROTECT_PRESETS
    from .codec_commands import add_plan_arguments

    p = subparsers.add_parser(
        "plan-link",
        help="choose the NR MCS and protection for a model at an SNR",
        description="Score every MCS and protection preset of a 5G NR link at one SNR with the "
        "PHY abstraction's block error rates and an accuracy-vs-loss curve, and choose the "
        "shortest air time within --max-drop-pp, or the smallest expected drop within "
        "--air-time-ms. Needs the links extra.",
    )
    p.add_argument("model", help="model weights: .safetensors, or .pt/.pth (weights only)")
    add_plan_arguments(p)
    p.add_argument("--snr-db", type=finite_float, required=True, help="Es/N0 per channel use, dB")
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument(
        "--max-drop-pp", type=_nonnegative, default=None, help="expected accuracy drop allowed"
    )
    goal.add_argument(
        "--air-time-ms", type=_nonnegative, default=None, help="air time budget in ms"
    )
    p.add_argument(
        "--curve",
        default=None,
        help="accuracy-vs-loss curve: a CSV saved by --save-curve, or a study's results.csv "
        "(its erasure-channel rows)",
    )
    p.add_argument(
        "--curve-where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="with --curve: keep only rows where COLUMN equals VALUE (repeatable)",
    )
    p.add_argument("--dataset", default=None, help="measure the curve on this data set")
    p.add_argument("--data-dir", default=None, help="directory of the data set files")
    p.add_argument("--architecture", default=None, help="model architecture (default: metadata)")
    p.add_argument(
        "--eval-samples", type=positive_count, default=1000, help="test images for the curve"
    )
    p.add_argument("--trials", type=positive_count, default=2, help="trials per curve point")
    p.add_argument("--save-curve", default=None, help="write the measured curve to this CSV")
    p.add_argument(
        "--presets",
        default=",".join(PROTECT_PRESETS),
        help=f"comma-separated presets to consider (default {','.join(PROTECT_PRESETS)})",
    )
    _add_link_arguments(p)
    p.add_argument("--all", action="store_true", help="print every candidate, not one per MCS")
    p.set_defaults(func=cmd_plan_link)


def _add_link_arguments(p) -> None:
    """The NR link's settings: MCS table, fading, transport block size, symbol rate."""
    from ..channel.nr import DEFAULT_SYMBOL_RATE_HZ, DEFAULT_SYMBOLS_PER_TB, FADINGS, MCS_TABLES

    p.add_argument("--mcs-table", choices=tuple(MCS_TABLES), default="qam64")
    p.add_argument("--fading", choices=FADINGS, default="awgn")
    p.add_argument(
        "--bler-tables",
        nargs="+",
        default=None,
        metavar="FILE",
        help="BLER tables measured for --symbols-per-tb (symcodec measure-bler) instead of "
        "Sionna's shipped ones; only the MCS they hold are scored",
    )
    p.add_argument("--symbols-per-tb", type=positive_count, default=DEFAULT_SYMBOLS_PER_TB)
    p.add_argument(
        "--symbol-rate-hz", type=finite_float, default=DEFAULT_SYMBOL_RATE_HZ, help="symbols/s"
    )


def cmd_plan_link(args) -> int:
    from ..channel.nr import require_sionna
    from ..codec import encode
    from ..codec.format import read_header
    from ..io import load_state_dict
    from ..receiver.link_adaptation import plan_link
    from ..receiver.loss_curve import load_loss_curve, write_loss_curve
    from ..receiver.loss_measurement import measure_loss_curve
    from .codec_commands import plan_from_args

    if (args.curve is None) == (args.dataset is None):
        raise SymcodecError("plan-link needs exactly one of --curve CSV and --dataset")
    if args.save_curve is not None and args.curve is not None:
        raise SymcodecError("--save-curve writes a measured curve; it needs --dataset")
    presets = [s.strip() for s in args.presets.split(",") if s.strip()]
    require_sionna()
    state_dict, metadata = load_state_dict(args.model)
    plan = plan_from_args(args, state_dict)
    if args.curve is not None:
        curve = load_loss_curve(args.curve, _where(args.curve_where))
    else:
        evaluate = _evaluator(args, metadata)
        curve = measure_loss_curve(state_dict, plan, evaluate, trials=args.trials, seed=0)
        if args.save_curve is not None:
            write_loss_curve(args.save_curve, curve)
    header = read_header(encode(state_dict, plan))
    result = plan_link(
        header, curve, args.snr_db, max_drop_pp=args.max_drop_pp,
        air_time_budget_ms=args.air_time_ms, presets=presets, mcs_table=args.mcs_table,
        fading=args.fading, symbols_per_tb=args.symbols_per_tb, bler_tables=args.bler_tables,
        symbol_rate_hz=args.symbol_rate_hz,
    )  # fmt: skip
    _print_plan(result, args)
    return 0


def _where(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SymcodecError(f"--curve-where takes COLUMN=VALUE, got {item!r}")
        out[key] = value
    return out


def _evaluator(args, metadata):
    """Accuracy (%) on the first ``--eval-samples`` test images of ``--dataset``."""
    from ..data import load_dataset
    from ..models import model_from_weights
    from ..training import evaluate

    data = load_dataset(args.dataset, data_dir=args.data_dir)
    x, y = data.test_x[: args.eval_samples], data.test_y[: args.eval_samples]

    def accuracy(state_dict) -> float:
        return evaluate(model_from_weights(state_dict, metadata, args.architecture), x, y)

    return accuracy


def _print_plan(result, args) -> None:
    con = console()
    curve = result.curve
    con.print(f"SNR {result.snr_db:g} dB ({args.fading}); objective: {result.objective}")
    con.print(f"accuracy-vs-loss curve: {curve.source}; intact accuracy {curve.accuracy_pp:.2f}%")
    for kind, pts in curve.points.items():
        con.print(f"  {kind}: " + ", ".join(f"{100 * f:g}% lost -> {d:.2f} pp" for f, d in pts))
    rows = list(result.candidates)
    if not args.all:  # the best candidate of every MCS under the objective
        best = {}
        for c in rows:
            key = (c.air_time_ms, c.expected_drop_pp)
            if args.air_time_ms is not None:
                key = (c.air_time_ms > args.air_time_ms, c.expected_drop_pp, c.air_time_ms)
            elif args.max_drop_pp is not None:
                key = (c.expected_drop_pp > args.max_drop_pp, c.air_time_ms, c.expected_drop_pp)
            if c.mcs not in best or key < best[c.mcs][0]:
                best[c.mcs] = (key, c)
        rows = [c for _, c in best.values()]
    table = new_table("candidates" + ("" if args.all else " (the best of each MCS)"))
    columns = (
        *("MCS", "preset", "protect MCS", "BLER", "BLER protect", "air ms"),
        *("kernel lost %", "MSB kept %", "side lost %", "P(header)", "exp. drop pp", ""),
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("preset", "") else "right")
    for c in rows:
        loss = c.loss
        protect = c.protect_mcs
        table.add_row(
            str(c.mcs), c.protection.name, "-" if protect is None else str(protect),
            f"{loss.block_error_rate[c.mcs]:.2g}",
            "-" if protect is None else f"{loss.block_error_rate[protect]:.2g}",
            f"{c.air_time_ms:.3f}", f"{100 * loss.lost_fraction['kernel']:.3g}",
            f"{100 * loss.lost_fraction['kernel-msb-kept']:.3g}",
            f"{100 * loss.lost_fraction['side']:.3g}", f"{loss.header_loss_probability:.2g}",
            f"{c.expected_drop_pp:.3f}", "<- chosen" if c is result.chosen else "",
        )  # fmt: skip
    con.print(table)
    chosen = result.chosen
    if chosen is None:
        con.print("no candidate meets the constraint")
        return
    protect = "" if chosen.protect_mcs is None else f" --protect-mcs {chosen.protect_mcs}"
    con.print(
        f"chosen: MCS {chosen.mcs}, protection {chosen.protection.name}{protect}: air time "
        f"{chosen.air_time_ms:.3f} ms, expected drop {chosen.expected_drop_pp:.3f} pp "
        f"(transmit ... --fec ldpc --mcs {chosen.mcs} --protect {chosen.protection.name}"
        f"{protect} --snr-db {result.snr_db:g})"
    )
