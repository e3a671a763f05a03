"""``symcodec measure-bler``: measure an NR link's BLER curves bit-true, for the abstraction.

A thin shell over :func:`symcodec.channel.nr.bler_measure.measure_bler_curve` and
:func:`symcodec.channel.nr.bler_table.write_bler_table`: one curve per ``--mcs`` on
``--symbols-per-tb`` channel uses per transport block, one JSON file in Sionna's layout that
``NrAbstractLink(bler_tables=[...])`` and a study's ``[channel] bler_table`` read.
"""

from __future__ import annotations

import time

from ._common import checked_number, console, finite_float, output_path, positive_count

_step = checked_number("step", float, lambda v: 0 < v <= 5, "a number in (0, 5]")
_seed = checked_number("seed", int, lambda v: v >= 0, "an integer >= 0")


def register(subparsers) -> None:
    from ..channel.nr import DEFAULT_SYMBOLS_PER_TB, MCS_TABLES

    p = subparsers.add_parser(
        "measure-bler",
        help="measure NR code block error rates bit-true, as a BLER table",
        description="Measure each MCS's code block error rate against Es/N0 bit-true (Sionna's "
        "5G LDPC encoder and BP decoder, QAM, AWGN) across its waterfall, on one transport "
        "block size, and write the curves as a BLER table in Sionna's layout for the "
        "abstracted link. Needs the links extra. Slow: minutes per MCS.",
        epilog="example: symcodec measure-bler --mcs 4 9 14 19 --symbols-per-tb 1872 "
        "-o studies/bler/qam64-1872.json",
    )
    p.add_argument("--mcs", type=positive_count, nargs="+", required=True, help="MCS indices")
    p.add_argument("--mcs-table", choices=tuple(MCS_TABLES), default="qam64")
    p.add_argument(
        "--symbols-per-tb", type=positive_count, default=DEFAULT_SYMBOLS_PER_TB,
        help=f"channel uses per transport block (default {DEFAULT_SYMBOLS_PER_TB})",
    )  # fmt: skip
    p.add_argument("-o", "--output", required=True, help="the table to write (.json)")
    p.add_argument("--step-db", type=_step, default=0.5, help="SNR grid step, dB (default 0.5)")
    p.add_argument(
        "--min-failures", type=positive_count, default=50,
        help="a point stops after this many failed blocks (default 50)",
    )  # fmt: skip
    p.add_argument(
        "--max-blocks", type=positive_count, default=400,
        help="... or after this many blocks sent (default 400)",
    )  # fmt: skip
    p.add_argument("--start-db", type=finite_float, default=None, help="first SNR, dB")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the payloads and noise")
    p.set_defaults(func=cmd_measure_bler)


def cmd_measure_bler(args) -> int:
    from ..channel.nr import NrLdpcLink, measure_bler_curve, require_sionna, write_bler_table
    from ..errors import SymcodecError

    out = output_path(args.output, (".json",))
    if len(set(args.mcs)) != len(args.mcs):
        raise SymcodecError("--mcs lists an index twice")
    require_sionna()
    links = [
        NrLdpcLink(m, args.mcs_table, symbols_per_tb=args.symbols_per_tb) for m in args.mcs
    ]  # built first: a bad MCS or TB size fails before any measuring
    con = console()
    curves = []
    for link in links:
        con.print(f"{link}")
        start = time.perf_counter()
        curve = measure_bler_curve(
            link, step_db=args.step_db, min_failures=args.min_failures,
            max_blocks=args.max_blocks, seed=args.seed, start_db=args.start_db,
            on_point=lambda p: con.print(
                f"  {p.snr_db:6.2f} dB  BLER {p.bler:.4f}  ({p.failed_blocks}/{p.sent_blocks})"
            ),
        )  # fmt: skip
        con.print(f"  {len(curve.points)} points in {time.perf_counter() - start:.0f} s")
        curves.append(curve)
    write_bler_table(out, curves)
    con.print(f"wrote {out}")
    return 0
