"""``symcodec transmit``'s 5G NR part: choosing the MCS (``--auto-mcs``) and printing what
the NR link did (its transport blocks and code blocks; with ``--protect``, each class of the
stream and each segment)."""

from __future__ import annotations

from ..errors import SymcodecError
from ._common import checked_number, console, new_table

__all__ = [
    "TARGET_BLER",
    "auto_mcs",
    "print_mcs_choice",
    "print_nr_link",
    "print_protection",
    "target_bler",
]

#: the code block error rate ``--auto-mcs`` allows unless ``--target-bler`` says otherwise
TARGET_BLER = 1e-3
#: the argparse type of ``--target-bler``
target_bler = checked_number("--target-bler", float, lambda v: 0 < v < 1, "in (0, 1)")


def auto_mcs(args, state_dict, plan) -> int:
    """``--auto-mcs``: the MCS :func:`~symcodec.receiver.link_adaptation.choose_mcs` picks for
    the stream at ``--snr-db`` within ``--target-bler``, its figures printed."""
    from ..channel.nr import DEFAULT_SYMBOL_RATE_HZ, DEFAULT_SYMBOLS_PER_TB, require_sionna
    from ..codec import encode
    from ..codec.format import read_header
    from ..receiver.link_adaptation import choose_mcs

    if args.snr_db is None:
        raise SymcodecError("--auto-mcs needs --snr-db (the SNR it chooses the MCS for)")
    require_sionna()
    target = TARGET_BLER if args.target_bler is None else args.target_bler
    choice = choose_mcs(
        read_header(encode(state_dict, plan)), args.snr_db, target_bler=target,
        preset=args.protect or "none", protect_mcs=args.protect_mcs,
        mcs_table=args.mcs_table or "qam64", fading=args.fading or "awgn",
        symbols_per_tb=args.symbols_per_tb or DEFAULT_SYMBOLS_PER_TB,
        symbol_rate_hz=args.bandwidth_hz or DEFAULT_SYMBOL_RATE_HZ, bler_tables=args.bler_tables,
    )  # fmt: skip
    print_mcs_choice(console(), choice)
    if choice.chosen is None:
        robust = choice.candidates[0]
        raise SymcodecError(
            f"--auto-mcs: no MCS keeps the code block error rate within {target:g} at "
            f"{args.snr_db:g} dB (the most robust, MCS {robust.mcs}, has "
            f"{robust.worst_block_error_rate:.3g}); raise --target-bler or the SNR"
        )
    return choice.chosen.mcs


def print_mcs_choice(con, choice) -> None:
    """Every MCS ``--auto-mcs`` scored: error rates, air time, the one chosen and why."""
    protected = choice.candidates and choice.candidates[0].protection.name != "none"
    table = new_table(f"--auto-mcs at {choice.snr_db:g} dB (PHY abstraction BLER)")
    columns = ("MCS", *(("protect MCS", "BLER protect") if protected else ()), "BLER", "air ms")
    for column in (*columns, "P(header lost)", ""):
        table.add_column(column, justify="left" if not column else "right")
    for c in choice.candidates:
        mcs = c.protection.mcs
        within = c.worst_block_error_rate <= choice.target_bler
        cells = [str(mcs["kernel"])]
        if protected:
            cells += [str(mcs["side"]), f"{c.block_error_rate[mcs['side']]:.2g}"]
        cells += [f"{c.block_error_rate[mcs['kernel']]:.2g}", f"{1000 * c.air_time_s:.3f}"]
        mark = "<- chosen" if c is choice.chosen else ("within target" if within else "")
        table.add_row(*cells, f"{c.header_loss_probability:.2g}", mark)
    con.print(table)
    if choice.chosen is not None:
        c = choice.chosen
        con.print(
            f"auto MCS: {c.mcs} ({c.protection.name} protection), the "
            f"shortest air time ({1000 * c.air_time_s:.3f} ms) whose code block error rate "
            f"({c.worst_block_error_rate:.3g}) is within the target {choice.target_bler:g}"
        )


def print_protection(con, channel, rx) -> None:
    """The report of an NR transmission with unequal protection: a row per class and per
    segment."""
    report = rx.protection
    con.print(
        f"NR link: protection {report.preset}, {channel.level}, {channel.fading}, "
        f"SNR {channel.snr_db:g} dB"
    )
    table = new_table("stream classes")
    for column in ("class", "MCS", "bits", "erased bits", "code blocks", "failed", "channel uses"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for c in report.classes:
        if not c.bits:
            continue
        name = c.stream_class
        if c.concealed_values:
            name += f" ({c.concealed_values:,} values rebuilt from their MSB)"
        table.add_row(
            name, str(c.mcs), f"{c.bits:,}", f"{c.erased_bits:,}", f"{c.code_blocks:,}",
            f"{c.failed_code_blocks:,}", f"{c.channel_uses:,.0f}",
        )  # fmt: skip
    con.print(table)
    table = new_table("segments (each in its own transport blocks)")
    for column in ("MCS", "classes", "TBs", "code blocks", "failed", "channel uses", "air ms"):
        table.add_column(column, justify="left" if column in ("MCS", "classes") else "right")
    for s in report.segments:
        table.add_row(
            s.mcs, ", ".join(s.classes), f"{s.transport_blocks:,}", f"{s.code_blocks:,}",
            f"{s.failed_code_blocks:,}", f"{s.channel_uses:,}", f"{1000 * s.air_time_s:.3f}",
        )  # fmt: skip
    con.print(table)
    con.print(
        f"code blocks failed {report.failed_code_blocks:,} of {report.code_blocks:,}; residual "
        f"bit errors {report.residual_bit_errors:,}; air time {1000 * report.air_time_s:.3f} ms "
        f"= {report.channel_uses:,} channel uses / {channel.symbol_rate_hz / 1e6:g} M symbols/s"
    )


def print_nr_link(con, channel, stats, rx) -> None:
    """The NR link's report: MCS and TB layout, code block errors, residual bit errors, air
    time in channel uses."""
    fmt = channel.fmt
    con.print(
        f"NR link: {channel.mcs}, {channel.level}, {channel.fading}, SNR {channel.snr_db:g} dB "
        f"(Eb/N0 {stats.ebn0_db:.2f} dB)"
    )
    con.print(
        f"transport block: {fmt.tb_bits:,} bits in {fmt.num_cbs} code block(s) of "
        f"{fmt.cb_bits:,} bits on {fmt.symbols_per_tb:,} symbols (code rate {fmt.code_rate:.4f})"
    )
    con.print(
        f"code blocks failed {stats.failed_code_blocks:,} of {stats.code_blocks:,} "
        f"(BLER {stats.bler:.3g}); bytes erased {stats.erased_bytes:,} of "
        f"{stats.bits_sent // 8:,}; residual bit errors {stats.residual_bit_errors:,}"
    )
    uses = channel.channel_uses(rx.bits_sent // 8)
    con.print(
        f"air time {1000 * rx.air_time_s:.3f} ms = {uses:,} channel uses "
        f"({uses // fmt.symbols_per_tb:,} TBs, header included) / "
        f"{channel.symbol_rate_hz / 1e6:g} M symbols/s"
    )
