"""``symcodec transmit``: send a model over a simulated link and report what arrived."""

from __future__ import annotations

from ..errors import SymcodecError
from ._common import console, finite_float, kbits, output_path


def register(subparsers) -> None:
    from ..channel import channel_names
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
    p.add_argument("--channel", default="ideal", help=f"one of {', '.join(channel_names())}")
    p.add_argument("--snr-db", type=finite_float, default=None, help="awgn: SNR per value, dB")
    p.add_argument("--ebn0-db", type=finite_float, default=None, help="modulated: Eb/N0 in dB")
    p.add_argument("--p", type=finite_float, default=None, help="bsc / erasure: probability")
    p.add_argument("--packet-bytes", type=int, default=None, help="erasure: packet size")
    p.add_argument(
        "--equal-energy",
        action="store_true",
        help="awgn: SNR per degree of freedom, so redundant modes pay for their extra values",
    )
    p.add_argument("--alpha", type=finite_float, default=1.0, help="projection strength in [0, 1]")
    p.add_argument("--bandwidth-hz", type=finite_float, default=1e6, help="default 1 MHz")
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


def cmd_transmit(args) -> int:
    from ..channel import Link, make_channel
    from ..io import load_state_dict, save_state_dict
    from ..receiver import ReceiverOptions, transmit, transmitter_view
    from .codec_commands import plan_from_args

    out = output_path(args.output, (".safetensors",)) if args.output else None
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
    channel = make_channel(args.channel, **params)
    options = ReceiverOptions(alpha=args.alpha, equal_energy=args.equal_energy)
    link = Link.for_channel(
        channel, bandwidth_hz=args.bandwidth_hz, code_rate=args.code_rate, capacity=args.capacity
    )
    state_dict, metadata = load_state_dict(args.model)
    plan = plan_from_args(args, state_dict)
    evaluation = _evaluator(args, metadata) if args.dataset else None

    rx = transmit(state_dict, plan, channel, seed=args.seed, link=link, options=options)
    if out is not None:
        save_state_dict(out, rx.state_dict, {**metadata, "received_over": repr(channel)})

    con = console()
    con.print(f"channel {channel!r}, link {link.rate_bps / 1e6:g} Mbit/s")
    con.print(
        f"values sent {rx.values_sent:,}; payload {kbits(rx.payload_bits)} kbits; header "
        f"{kbits(rx.header_bits)} kbits; bits sent {kbits(rx.bits_sent)} kbits"
    )
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
    else:
        snrs = sorted({t.snr_db for t in rx.tensors if t.snr_db is not None})
        if snrs:
            con.print("SNR per value (dB): " + ", ".join(f"{s:.2f}" for s in snrs))
    con.print(
        f"latency {rx.latency_ms:.2f} ms = encode {1000 * rx.encode_s:.2f} + air "
        f"{1000 * rx.air_time_s:.2f} + decode {1000 * rx.decode_s:.2f} ms"
    )
    for note in plan.notes:
        con.print(f"note: {note}")
    if evaluation is not None:
        from ..channel import IdealChannel

        tx = evaluation(transmitter_view(state_dict, plan))
        txq = evaluation(transmit(state_dict, plan, IdealChannel(), seed=0).state_dict)
        acc_rx = evaluation(rx.state_dict)
        con.print(f"accuracy: Tx {tx:.2f}%  Tx,q {txq:.2f}%  Rx {acc_rx:.2f}%")
    if out is not None:
        con.print(f"wrote {out}")
    return 0


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
