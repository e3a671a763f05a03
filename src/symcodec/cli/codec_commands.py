"""``symcodec encode | decode | info | symmetries | demo``."""

from __future__ import annotations

import argparse
import math

import torch

from ..codec import MODES, Accounting, TransmissionPlan, decode, encode, inspect
from ..codec.entropy import DEFAULT_CHUNK_VALUES, MAX_CHUNK_VALUES
from ..codec.plan import CODERS
from ..errors import SymcodecError
from ..io import load_state_dict, read_bytes, save_state_dict, write_bytes_atomic
from ..symmetry import get_symmetry, symmetry_names
from ._common import (
    bits_arg,
    checked_number,
    console,
    kbits,
    kernel_arg,
    new_table,
    output_path,
)
from .calibration_options import (
    add_allocation_arguments,
    allocated_plan,
    auto_symmetry_plan,
    calibration_set,
    wants_allocation,
    wants_auto_symmetry,
)

DEFAULT_BITS = 8


step_arg = checked_number(
    "step", float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0"
)
"""``--step``: a finite number > 0 (rounded to float32 in the stream)."""
dead_zone_arg = checked_number("dead zone", float, lambda v: 0.0 <= v < 0.5, "in [0, 0.5)")
"""``--dead-zone``: a number in [0, 0.5)."""
chunk_values_arg = checked_number(
    "chunk values", int, lambda v: 1 <= v <= MAX_CHUNK_VALUES, f"in 1..{MAX_CHUNK_VALUES}"
)
"""``--chunk-values``: an integer in 1..MAX_CHUNK_VALUES."""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "encode",
        help="encode a model into a .symc bitstream",
        description="Encode a model (.safetensors, .pt, .pth) into a .symc bitstream that "
        "carries only the DoF coefficients of its symmetric conv kernels. Values are "
        "quantized to --bits bits or with a step size --step, and sent as fixed-length "
        "codes or entropy coded (--coder ans).",
    )
    p.add_argument(
        "model_file",
        metavar="model",
        help="model weights: .safetensors, or .pt/.pth (weights only)",
    )
    p.add_argument("-o", "--output", required=True, help="output .symc file")
    add_plan_arguments(p)
    add_allocation_arguments(p)
    p.set_defaults(func=cmd_encode)

    p = subparsers.add_parser(
        "decode",
        help="decode a .symc bitstream into .safetensors",
        description="Decode a .symc bitstream: rebuild every kernel from its coefficients "
        "and project full-project kernels; write the state dict as .safetensors.",
    )
    p.add_argument("input", help="a .symc file")
    p.add_argument("-o", "--output", required=True, help="output .safetensors file")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="decode tensors whose payload CRC fails instead of stopping (noisy links)",
    )
    p.set_defaults(func=cmd_decode)

    p = subparsers.add_parser(
        "info",
        help="show what a .symc bitstream carries",
        description="Per tensor: shape, symmetry, mode, coder, values sent, bits (fixed "
        "code width), payload, payload bits per value and the entropy bound (empirical "
        "entropy of the quantized levels, bits per value); totals with the reduction "
        "against full float32 and against full at the same bits.",
    )
    p.add_argument("input", help="a .symc file")
    p.set_defaults(func=cmd_info)

    p = subparsers.add_parser(
        "symmetries",
        help="list the named symmetries with their DoF",
        description="Every named symmetry with its generators, signs and degrees of freedom.",
    )
    p.add_argument(
        "--kernel",
        type=kernel_arg,
        default=(3, 3),
        help="kernel size K or KHxKW (default 3)",
    )
    p.set_defaults(func=cmd_symmetries)

    p = subparsers.add_parser(
        "demo",
        help="the main job: encode a reference model with every named symmetry",
        description="Encode the reference DeepCNN models (seeded random weights) with every "
        "named symmetry at the given bit width, check the round trip, and print the table.",
    )
    p.add_argument("--bits", type=bits_arg, default=8, help="bits per value (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model weights")
    p.set_defaults(func=cmd_demo)


def add_plan_arguments(p: argparse.ArgumentParser) -> None:
    """The options that make a :class:`TransmissionPlan` (shared with ``transmit``)."""
    p.add_argument(
        "--symmetry",
        default="none",
        help=f"kernel symmetry: {', '.join(symmetry_names())} (default none); encode also "
        "takes auto: a symmetry per conv layer, chosen on calibration images",
    )
    quantizer = p.add_mutually_exclusive_group()
    quantizer.add_argument(
        "--bits",
        type=bits_arg,
        metavar="B",
        default=None,
        help=f"bits per value, 2..16, or 32 for float32 (default {DEFAULT_BITS})",
    )
    quantizer.add_argument(
        "--step",
        type=step_arg,
        metavar="S",
        default=None,
        help="quantize every float tensor with this step size instead of --bits "
        "(level = round(x / step); as many levels as the values need)",
    )
    p.add_argument(
        "--dead-zone",
        type=dead_zone_arg,
        metavar="D",
        default=0.0,
        help="with --step: rounding offset in [0, 0.5); |x| < step (0.5 + D) becomes 0 "
        "(default 0: plain rounding)",
    )
    p.add_argument(
        "--coder",
        choices=CODERS,
        default="fixed",
        help="fixed: fixed-length codes; ans: entropy-coded levels in independently "
        "decodable chunks (default fixed)",
    )
    p.add_argument(
        "--chunk-values",
        type=chunk_values_arg,
        metavar="N",
        default=DEFAULT_CHUNK_VALUES,
        help=f"with --coder ans: values per chunk (default {DEFAULT_CHUNK_VALUES})",
    )
    p.add_argument(
        "--ans-only",
        action="store_true",
        help="with --coder ans: entropy-code every quantized tensor, even one whose fixed codes "
        "are smaller than its ans payload and model (by default those are sent fixed)",
    )
    p.add_argument("--mode", choices=MODES, default="dof", help="how kernels are sent")
    p.add_argument(
        "--other-bits",
        type=bits_arg,
        default=None,
        help="bits for every tensor that is not a symmetric kernel (default: --bits)",
    )
    p.add_argument(
        "--grid",
        choices=("auto", "minmax", "symmetric"),
        default="auto",
        help="quantizer grid (auto: zero-centred for skew kernels sent in full)",
    )
    p.add_argument("--per-channel", action="store_true", help="one range per output channel")
    p.add_argument("--float16", action="store_true", help="send IEEE half floats (--bits 16)")
    p.add_argument(
        "--layers",
        default=None,
        help="comma-separated conv layers to constrain (default: every conv kernel)",
    )


def plan_options(args) -> dict:
    """The arguments of :meth:`TransmissionPlan.default` other than the state dict,
    symmetry and layers."""
    return {
        "bits": DEFAULT_BITS if args.bits is None else args.bits,
        "mode": args.mode,
        "other_bits": args.other_bits,
        "grid": args.grid,
        "per_channel": args.per_channel,
        "float16": args.float16,
        "coder": args.coder,
        "step": args.step,
        "dead_zone": args.dead_zone,
        "chunk_values": args.chunk_values,
        "ans_fallback": not args.ans_only,
    }


def plan_from_args(args, state_dict) -> TransmissionPlan:
    layers = None if args.layers is None else [s for s in args.layers.split(",") if s]
    return TransmissionPlan.default(
        state_dict, symmetry=get_symmetry(args.symmetry), layers=layers, **plan_options(args)
    )


def cmd_encode(args) -> int:
    out = output_path(args.output, (".symc",))
    state_dict, metadata = load_state_dict(args.model_file)
    con = console()
    calibration = None
    if wants_allocation(args) or wants_auto_symmetry(args):
        model, images, description = calibration_set(args, state_dict, metadata)
        calibration = (model, images)
        con.print(description)
    if wants_auto_symmetry(args):
        if args.layers is not None:
            raise SymcodecError("--symmetry auto chooses every layer's symmetry: drop --layers")
        plan = auto_symmetry_plan(args, state_dict, calibration, plan_options(args))
    else:
        plan = plan_from_args(args, state_dict)
    if wants_allocation(args):
        plan = allocated_plan(args, state_dict, metadata, plan, calibration)
        steps = ", ".join(
            f"{name} {plan[name].step:.3g}" for name in state_dict if plan[name].step is not None
        )
        con.print(f"steps: {steps}")
    blob = encode(state_dict, plan, metadata=metadata)
    write_bytes_atomic(out, blob)
    acc = inspect(blob, entropy=True)
    con.print(
        f"wrote {out}: {len(blob):,} bytes; {acc.values_sent:,} of {acc.values_total:,} values "
        f"sent, payload {kbits(acc.payload_bits)} kbits "
        f"({100 * acc.reduction_vs_same_bits:.1f}% less than full at the same bits), "
        f"header {kbits(acc.header_bits)} kbits"
    )
    con.print(rate_summary(acc))
    for note in plan.notes:
        con.print(f"note: {note}")
    return 0


def cmd_decode(args) -> int:
    out = output_path(args.output, (".safetensors",))
    blob = read_bytes(args.input)
    from ..codec.format import decode_stream, rebuild_state_dict

    header, decoded = decode_stream(blob, strict=not args.lenient)
    state_dict = rebuild_state_dict(decoded)
    save_state_dict(out, state_dict, header.metadata)
    con = console()
    con.print(f"wrote {out}: {len(state_dict)} tensors")
    for d in decoded:
        if d.lost_chunks:
            chunks = ", ".join(str(i) for i in d.lost_chunks)
            con.print(
                f"{d.record.name}: chunks {chunks} failed their CRC; "
                f"{d.concealed_values:,} values set to 0"
            )
        elif not d.crc_ok:
            con.print(f"{d.record.name}: payload CRC failed (decoded anyway)")
    return 0


def accounting_table(acc: Accounting, title: str | None = None):
    """The ``symcodec info`` table."""
    table = new_table(title)
    for col, justify in [
        ("tensor", "left"),
        ("shape", "left"),
        ("symmetry", "left"),
        ("mode", "left"),
        ("coder", "left"),
        ("values sent", "right"),
        ("of", "right"),
        ("bits", "right"),
        ("payload kbits", "right"),
        ("bits/value", "right"),
        ("entropy b/v", "right"),
    ]:
        table.add_column(col, justify=justify)
    for t in acc.tensors:
        table.add_row(
            t.name,
            "x".join(str(s) for s in t.shape) or "scalar",
            t.symmetry,
            t.mode,
            t.coder,
            f"{t.values_sent:,}",
            f"{t.values_total:,}",
            str(t.bits),
            kbits(t.payload_bits),
            f"{t.bits_per_value:.3f}",
            "-" if t.entropy_per_value is None else f"{t.entropy_per_value:.3f}",
        )
    table.add_section()
    entropy = _entropy_per_value(acc)
    table.add_row(
        "total",
        "",
        "",
        "",
        "",
        f"{acc.values_sent:,}",
        f"{acc.values_total:,}",
        "",
        kbits(acc.payload_bits),
        f"{acc.bits_per_value:.3f}",
        "-" if entropy is None else f"{entropy:.3f}",
    )
    return table


def _entropy_per_value(acc: Accounting) -> float | None:
    """Entropy bound per value over the tensors that have one (quantized, intact)."""
    known = [t for t in acc.tensors if t.entropy_bits is not None]
    sent = sum(t.values_sent for t in known)
    if not known or not sent:
        return None
    return sum(t.entropy_bits for t in known) / sent


def rate_summary(acc: Accounting) -> str:
    """Bits per value against the entropy bound of the quantized tensors."""
    known = [t for t in acc.tensors if t.entropy_bits is not None]
    sent = sum(t.values_sent for t in known)
    if not sent:
        return f"{acc.bits_per_value:.3f} bits per value sent"
    rate = sum(t.value_bits for t in known) / sent
    bound = sum(t.entropy_bits for t in known) / sent
    text = (
        f"quantized values: {rate:.3f} bits per value, entropy bound {bound:.3f} "
        f"({100 * (rate / bound - 1) if bound else 0.0:+.1f}%)"
    )
    if acc.model_bits:
        text += f"; entropy models and chunk tables {kbits(acc.model_bits)} kbits of header"
    return text


def accounting_summary(acc: Accounting) -> str:
    return (
        f"payload {kbits(acc.payload_bits)} kbits; header {kbits(acc.header_bits)} kbits; "
        f"stream {kbits(acc.stream_bits)} kbits\n"
        f"reduction of the payload: {100 * acc.reduction_vs_float32:.2f}% against full float32 "
        f"({kbits(acc.full_bits_float32)} kbits), {100 * acc.reduction_vs_same_bits:.2f}% "
        f"against full at the same bits ({kbits(acc.full_bits_same)} kbits)"
    )


def cmd_info(args) -> int:
    acc = inspect(read_bytes(args.input), entropy=True)
    con = console()
    con.print(accounting_table(acc))
    con.print(accounting_summary(acc))
    con.print(rate_summary(acc))
    return 0


def cmd_symmetries(args) -> int:
    kh, kw = args.kernel
    table = new_table(f"named symmetries on {kh}x{kw} kernels")
    for col, justify in [
        ("name", "left"),
        ("generators (sign)", "left"),
        ("DoF", "right"),
        ("DoF / k^2", "right"),
        ("description", "left"),
    ]:
        table.add_column(col, justify=justify)
    for name in symmetry_names():
        sym = get_symmetry(name)
        gens = ", ".join(
            f"{g} ({'+' if s > 0 else '-'})" for g, s in zip(sym.generators, sym.signs, strict=True)
        )
        if sym.supports((kh, kw)):
            dof = sym.dof((kh, kw))
            table.add_row(name, gens or "-", str(dof), f"{dof / (kh * kw):.3f}", sym.description)
        else:
            table.add_row(name, gens or "-", "n/a", "n/a", f"{sym.description} (square only)")
    console().print(table)
    return 0


def cmd_demo(args) -> int:
    from ..models import build_model, format_summary, model_summary

    con = console()
    for model_name in ("deepcnn", "deepcnn-gap"):
        torch.manual_seed(args.seed)
        model = build_model(model_name)
        state_dict = {k: v.detach().clone() for k, v in model.state_dict().items()}
        con.print(format_summary(model_summary(model)))
        table = new_table(f"{model_name}: every named symmetry, dof mode, {args.bits} bits")
        for col in (
            "symmetry",
            "DoF/3x3",
            "values sent",
            "payload kbits",
            "vs same bits",
            "vs float32",
            "header kbits",
            "kernels symmetric",
        ):
            table.add_column(col, justify="left" if col == "symmetry" else "right")
        for name in symmetry_names():
            sym = get_symmetry(name)
            plan = TransmissionPlan.default(state_dict, symmetry=sym, bits=args.bits)
            blob = encode(state_dict, plan)
            received = decode(blob)
            acc = inspect(blob)
            symmetric = all(
                sym.is_symmetric(received[k]) for k, t in plan.tensors.items() if t.mode == "dof"
            )
            table.add_row(
                name,
                str(sym.dof(3)),
                f"{acc.values_sent:,}",
                kbits(acc.payload_bits),
                f"-{100 * acc.reduction_vs_same_bits:.1f}%",
                f"-{100 * acc.reduction_vs_float32:.1f}%",
                kbits(acc.header_bits),
                "yes" if symmetric else "NO",
            )
        con.print(table)
        con.print()
    torch.manual_seed(args.seed)
    model = build_model("deepcnn")
    state_dict = model.state_dict()
    blob = encode(
        state_dict, TransmissionPlan.default(state_dict, symmetry="central-skew", bits=args.bits)
    )
    acc = inspect(blob, entropy=True)
    con.print(accounting_table(acc, f"symcodec info: deepcnn, central-skew, {args.bits} bits"))
    con.print(accounting_summary(acc))
    return 0
