"""``symcodec transmit``: send a model over a simulated link and report what arrived.

With ``--fec ldpc --mcs N`` (or ``--channel nr-ldpc``) the stream rides a 5G NR link
(:class:`~symcodec.channel.nr.NrChannel`: NR transport blocks, 5G LDPC, QAM, AWGN or
Rayleigh; bit-true or abstracted). A coded link delivers the stream exact or says what it lost:
code blocks that fail their CRC erase their bytes, and unless ``--lenient`` such a loss is an
error and no model is written. Uncoded channels always write what arrived. ``--protect``
sends each class of the stream at its own MCS (unequal error protection,
:mod:`symcodec.receiver.unequal_protection`). ``--auto-mcs`` chooses the MCS instead of
``--mcs``: the fastest whose code block error rate at ``--snr-db`` stays within
``--target-bler`` (:func:`symcodec.receiver.link_adaptation.choose_mcs`), its table printed.
"""

from __future__ import annotations

from ..errors import SymcodecError
from ._common import console, finite_float, kbits, output_path
from .nr_transmit import (
    TARGET_BLER,
    auto_mcs,
    print_nr_link,
    print_protection,
    target_bler,
)

_NR_CHANNEL = "nr-ldpc"


def register(subparsers) -> None:
    from .codec_commands import add_plan_arguments

    p = subparsers.add_parser(
        "transmit",
        help="send a model over a simulated link",
        description="Encode a model, send it over a simulated channel, repair it at the "
        "receiver (clamping, projection), and report payload, bits sent, bit errors and "
        "end-to-end latency; with --dataset also the accuracies Tx, Tx,q and Rx.",
    )
    p.add_argument("model", help="model weights: .safetensors, or .pt/.pth (weights only)")
    add_plan_arguments(p)
    _add_channel_arguments(p)
    _add_nr_arguments(p.add_argument_group("5G NR link (--fec ldpc; needs the links extra)"))
    p.add_argument(
        "--equal-energy",
        action="store_true",
        help="awgn: SNR per degree of freedom, so redundant modes pay for their extra values",
    )
    p.add_argument("--alpha", type=finite_float, default=1.0, help="projection strength in [0, 1]")
    p.add_argument(
        "--bandwidth-hz",
        type=finite_float,
        default=None,
        help="default 1 MHz (nr-ldpc: its symbol rate, symbols/s)",
    )
    p.add_argument("--code-rate", type=finite_float, default=1.0, help="default 1 (uncoded)")
    p.add_argument("--capacity", action="store_true", help="link rate = Shannon capacity")
    p.add_argument("--seed", type=int, default=0, help="seed of the channel noise")
    p.add_argument("-o", "--output", default=None, help="write the received model here")
    p.add_argument("--dataset", default=None, help="evaluate Tx, Tx,q and Rx on this data set")
    p.add_argument("--data-dir", default=None, help="directory of the data set files")
    p.add_argument(
        "--architecture",
        default=None,
        help="model architecture for --dataset (default: from the file's metadata)",
    )
    p.add_argument("--device", default="cpu", help="torch device for evaluation")
    p.set_defaults(func=cmd_transmit)


def _add_channel_arguments(p) -> None:
    """``--channel`` and the parameter of each channel."""
    from ..channel import channel_names

    p.add_argument(
        "--channel",
        default=None,
        help=f"one of {', '.join(channel_names())} (default ideal; nr-ldpc with --fec)",
    )
    p.add_argument(
        "--snr-db",
        type=finite_float,
        default=None,
        help="awgn: SNR per value, dB; nr-ldpc: Es/N0 per channel use, dB",
    )
    p.add_argument("--ebn0-db", type=finite_float, default=None, help="modulated: Eb/N0 in dB")
    p.add_argument("--p", type=finite_float, default=None, help="bsc / erasure: probability")
    p.add_argument("--packet-bytes", type=int, default=None, help="erasure: packet size")


def _add_nr_arguments(nr) -> None:
    """The options of the 5G NR link: code, MCS (given or ``--auto-mcs``), protection."""
    from ..channel.nr import FADINGS, LEVELS, MCS_TABLES
    from ..receiver.nr_protection import PROTECT_MCS_STEP, PROTECT_PRESETS

    nr.add_argument(
        "--fec",
        choices=("ldpc",),
        default=None,
        help="code the stream: 5G NR transport blocks with LDPC (channel nr-ldpc)",
    )
    nr.add_argument("--mcs", type=int, default=None, help="MCS index in --mcs-table")
    nr.add_argument(
        "--auto-mcs",
        action="store_true",
        help="choose the MCS instead of --mcs: the fastest whose code block error rate at "
        "--snr-db (PHY abstraction) is within --target-bler; prints every MCS's figures",
    )
    nr.add_argument(
        "--target-bler",
        type=target_bler,
        default=None,
        help=f"with --auto-mcs: the code block error rate allowed (default {TARGET_BLER:g})",
    )
    nr.add_argument(
        "--mcs-table", choices=tuple(MCS_TABLES), default=None, help="38.214 MCS table (qam64)"
    )
    nr.add_argument(
        "--fec-level",
        choices=LEVELS,
        default=None,
        help="bit-true (default: LDPC encode, QAM, noise, BP decode) or abstract (BLER tables)",
    )
    nr.add_argument(
        "--bler-tables",
        nargs="+",
        default=None,
        metavar="FILE",
        help="with --fec-level abstract or --auto-mcs: BLER tables measured for this TB size "
        "(symcodec measure-bler) instead of Sionna's shipped ones (--auto-mcs then chooses "
        "among the MCS they hold)",
    )
    nr.add_argument("--fading", choices=FADINGS, default=None, help="awgn (default) or rayleigh")
    nr.add_argument(
        "--symbols-per-tb", type=int, default=None, help="channel uses per transport block"
    )
    nr.add_argument(
        "--protect",
        choices=PROTECT_PRESETS,
        default=None,
        help="unequal error protection: none (one MCS for all, header included), side (header "
        "and non-kernel tensors at --protect-mcs), side+msb (also the kernels' MSB plane)",
    )
    nr.add_argument(
        "--protect-mcs",
        type=int,
        default=None,
        help=f"the robust MCS of --protect (default {PROTECT_MCS_STEP} below --mcs)",
    )
    nr.add_argument(
        "--lenient",
        action="store_true",
        help="write the model even when code blocks were lost (their bytes erased, filled or "
        "concealed by the receiver); without it a loss is an error and nothing is written",
    )


def _refuse_nr_losses(rx, nr_stats) -> None:
    """Without ``--lenient``, an NR transmission that lost code blocks writes no model."""
    if rx.protection is not None and not rx.protection.lossless:
        report = rx.protection
        raise SymcodecError(
            f"the NR link lost {report.failed_code_blocks:,} of {report.code_blocks:,} code "
            f"blocks ({report.residual_bit_errors:,} residual bit errors); no model written "
            "(--lenient writes it, losses concealed)"
        )
    if rx.protection is None and nr_stats is not None and not nr_stats.lossless:
        raise SymcodecError(
            f"the NR link lost {nr_stats.failed_code_blocks:,} of {nr_stats.code_blocks:,} code "
            f"blocks ({nr_stats.erased_bytes:,} bytes erased; {nr_stats.residual_bit_errors:,} "
            "residual bit errors); no model written (--lenient writes it, losses concealed)"
        )


def _print_damage(con, rx) -> None:
    """What the channel did to the stream: bit errors, erasures and lost chunks (digital),
    or the SNR per value (analog)."""
    if rx.domain == "digital":
        con.print(
            f"bit errors {rx.bit_errors:,} of {8 * rx.payload_bytes:,} payload bits "
            f"(BER {rx.ber:.3g}); tensors with a failed CRC: {len(rx.crc_failures)}"
            + (f" ({', '.join(rx.crc_failures)})" if rx.crc_failures else "")
        )
        if rx.erased_values:
            con.print(f"erased values (filled with 0): {rx.erased_values:,}")
        if rx.lost_chunks:
            lost = ", ".join(f"{k} ({len(v)})" for k, v in rx.lost_chunks_by_tensor.items())
            con.print(
                f"entropy-coded chunks lost: {rx.lost_chunks:,} ({lost}); "
                f"values concealed with 0: {rx.concealed_values:,}"
            )
        return
    snrs = sorted({t.snr_db for t in rx.tensors if t.snr_db is not None})
    if snrs:
        con.print("SNR per value (dB): " + ", ".join(f"{s:.2f}" for s in snrs))


def cmd_transmit(args) -> int:
    from ..channel import Link
    from ..io import load_state_dict, save_state_dict
    from ..receiver import ReceiverOptions, transmit
    from .codec_commands import plan_from_args

    out = output_path(args.output, (".safetensors",)) if args.output else None
    name = _channel_name(args)
    state_dict, metadata = load_state_dict(args.model)
    plan = plan_from_args(args, state_dict)
    mcs = auto_mcs(args, state_dict, plan) if args.auto_mcs else args.mcs
    channel = _make_channel(args, name, mcs)
    options = ReceiverOptions(alpha=args.alpha, equal_energy=args.equal_energy)
    link = Link.for_channel(
        channel, bandwidth_hz=args.bandwidth_hz, code_rate=args.code_rate, capacity=args.capacity
    )
    evaluation = _evaluator(args, metadata) if args.dataset else None
    protection = _protection(args, channel)
    rx = transmit(
        state_dict, plan, channel, seed=args.seed, link=link, options=options,
        protection=protection,
    )  # fmt: skip
    nr_stats = _nr_stats(rx)
    if not args.lenient:
        _refuse_nr_losses(rx, nr_stats)
    if out is not None:
        save_state_dict(out, rx.state_dict, {**metadata, "received_over": repr(channel)})
    con = console()
    _print_reception(con, channel, link, rx, nr_stats, plan)
    if evaluation is not None:
        _print_accuracies(con, evaluation, state_dict, plan, rx)
    if out is not None:
        con.print(f"wrote {out}")
    return 0


def _make_channel(args, name: str, mcs: int | None):
    """The channel of the command line (``mcs``: the NR link's MCS, given or chosen)."""
    from ..channel import make_channel

    if args.packet_bytes is not None and args.packet_bytes < 1:
        raise SymcodecError(f"--packet-bytes must be positive, got {args.packet_bytes}")
    params = {
        k: v
        for k, v in {
            "snr_db": args.snr_db,
            "ebn0_db": args.ebn0_db,
            "p": args.p,
            "packet_bytes": args.packet_bytes,
        }.items()
        if v is not None
    }
    if name == _NR_CHANNEL:
        params.update(_nr_params(args, mcs))
    return make_channel(name, **params)


def _print_reception(con, channel, link, rx, nr_stats, plan) -> None:
    """What was sent, what the link did, and the latency."""
    con.print(f"channel {channel!r}, link {link.rate_bps / 1e6:g} Mbit/s")
    con.print(
        f"values sent {rx.values_sent:,}; payload {kbits(rx.payload_bits)} kbits; header "
        f"{kbits(rx.header_bits)} kbits; bits sent {kbits(rx.bits_sent)} kbits"
    )
    if rx.protection is not None:
        print_protection(con, channel, rx)
    elif nr_stats is not None:
        print_nr_link(con, channel, nr_stats, rx)
    _print_damage(con, rx)
    con.print(
        f"latency {rx.latency_ms:.2f} ms = encode {1000 * rx.encode_s:.2f} + air "
        f"{1000 * rx.air_time_s:.2f} + decode {1000 * rx.decode_s:.2f} ms"
    )
    for note in plan.notes:
        con.print(f"note: {note}")


def _print_accuracies(con, evaluation, state_dict, plan, rx) -> None:
    """Accuracy of the model meant (Tx), of the model sent (Tx,q) and of the one received."""
    from ..channel import IdealChannel
    from ..receiver import transmit, transmitter_view

    tx = evaluation(transmitter_view(state_dict, plan))
    txq = evaluation(transmit(state_dict, plan, IdealChannel(), seed=0).state_dict)
    acc_rx = evaluation(rx.state_dict)
    con.print(f"accuracy: Tx {tx:.2f}%  Tx,q {txq:.2f}%  Rx {acc_rx:.2f}%")


def _channel_name(args) -> str:
    """The channel to build: ``--channel`` (default ideal), or ``nr-ldpc`` under ``--fec``;
    NR options without an NR link, or ``--fec`` over another channel, are refused."""
    from ..channel import canonical_channel_name

    name = canonical_channel_name(args.channel) if args.channel is not None else None
    if args.fec is not None:
        if name is not None and name != _NR_CHANNEL:
            kind = "an analog channel" if name == "awgn" else "a channel of its own"
            raise SymcodecError(
                f"--fec {args.fec} codes bits onto the NR link's own QAM and fading (channel "
                f"{_NR_CHANNEL}); it cannot run over {name!r}, {kind}: drop --channel"
            )
        name = _NR_CHANNEL
    name = name or "ideal"
    nr_flags = {
        "--mcs": args.mcs,
        "--auto-mcs": args.auto_mcs or None,
        "--target-bler": args.target_bler,
        "--mcs-table": args.mcs_table,
        "--fec-level": args.fec_level,
        "--bler-tables": args.bler_tables,
        "--fading": args.fading,
        "--symbols-per-tb": args.symbols_per_tb,
        "--protect": args.protect,
        "--protect-mcs": args.protect_mcs,
    }
    if name != _NR_CHANNEL:
        given = [flag for flag, value in nr_flags.items() if value is not None]
        if given:
            raise SymcodecError(f"{given[0]} needs --fec ldpc (a 5G NR link)")
    elif args.auto_mcs and args.mcs is not None:
        raise SymcodecError("--auto-mcs chooses the MCS; drop --mcs (or --auto-mcs)")
    elif args.mcs is None and not args.auto_mcs:
        raise SymcodecError(
            "the NR link (--fec ldpc) needs --mcs N (an MCS index of --mcs-table; qam64: 0..28)"
            " or --auto-mcs"
        )
    if args.bler_tables is not None and args.fec_level != "abstract" and not args.auto_mcs:
        raise SymcodecError("--bler-tables needs --fec-level abstract or --auto-mcs")
    if args.target_bler is not None and not args.auto_mcs:
        raise SymcodecError("--target-bler needs --auto-mcs")
    if args.protect_mcs is not None and args.protect in (None, "none"):
        raise SymcodecError(
            "--protect-mcs needs --protect side or side+msb"
            if args.protect is None
            else "--protect none sends everything at --mcs; drop --protect-mcs"
        )
    return name


def _nr_params(args, mcs: int | None) -> dict:
    """The ``make_channel("nr-ldpc", ...)`` options given on the command line (``mcs``: given
    or chosen)."""
    if args.code_rate != 1.0:
        raise SymcodecError("--code-rate does not apply to --fec ldpc: the MCS sets the code rate")
    given = {
        "mcs": mcs,
        "mcs_table": args.mcs_table,
        "level": args.fec_level,
        "fading": args.fading,
        "symbols_per_tb": args.symbols_per_tb,
        "symbol_rate_hz": args.bandwidth_hz,
        "bler_tables": args.bler_tables,
    }
    return {k: v for k, v in given.items() if v is not None}


def _protection(args, channel):
    """The NR protection of ``--protect`` (None without it)."""
    from ..receiver import NrProtection

    if args.protect is None:
        return None
    return NrProtection.from_preset(
        args.protect, channel.mcs.index, args.protect_mcs, mcs_table=channel.mcs.table
    )


def _nr_stats(rx):
    """The NR link's stats of a reception, or None for other channels."""
    from ..channel import NrChannelStats

    found = [s for s in rx.stats if isinstance(s, NrChannelStats)]
    return found[0] if found else None


def _evaluator(args, metadata):
    """A function state_dict -> test accuracy (%), checked before the transmission runs."""
    from ..data import load_dataset
    from ..models import model_from_weights
    from ..training import evaluate
    from .train_commands import _check_device

    device = _check_device(args.device)
    data = load_dataset(args.dataset, data_dir=args.data_dir)

    def accuracy(state_dict) -> float:
        model = model_from_weights(state_dict, metadata, args.architecture)
        return evaluate(model, data.test_x, data.test_y, device=str(device))

    return accuracy
