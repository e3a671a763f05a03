"""Throughput of every digital channel of symcodec.channel, in M bits/s.

Each modulated channel does the whole simulation: unpack bits, Gray-map to symbols, draw the
noise (and fading), equalize, slice, pack. Every figure is the median of ``--repeats`` runs
over the same random payload, measured in this one process, next to two baselines measured in
the same run:

* ``copy``: ``np.unpackbits`` + ``np.packbits`` of the same buffer (the bit handling alone);
* ``noise``: drawing one float32 N(0, 1) value per bit with torch (the RNG work BPSK cannot
  avoid).

Columns ``t/t_copy`` and ``t/t_noise`` are the channel's time over each baseline's time.

5G NR rows (``nr-ldpc``, when the ``links`` extra is installed; ``--no-nr`` skips them), on the
``.symc`` stream of a DeepCNN (central-skew, 8 bits; ``bench/nr_link_speed.py``'s stream), for
each ``--nr-mcs`` of the qam64 table:

* ``abstract``: ``channel.transmit_bits`` of the whole stream through the abstracted link
  (AWGN and Rayleigh), median of ``--repeats``, in ms and code blocks per second; building the
  channel (Sionna's tables) is timed apart;
* ``bit-true``: the first ``--nr-bit-true-kib`` KiB of the stream through the bit-true link,
  in payload M bits/s, beside Sionna's own ``LDPC5GEncoder`` + ``LDPC5GDecoder`` on the same
  number of code blocks of the same code, in the same run
  (``nr_link_speed.sionna_ldpc_baseline``), in information M bits/s.

Run: ``.venv/bin/python bench/channel_speed.py [--mbits 64] [--repeats 3] [--nr-mcs 9 20]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

from symcodec.channel import CHUNK_BITS, make_channel
from symcodec.channel.nr import require_sionna, sionna_available, torch_threads


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbits", type=int, default=64, help="payload size in Mi bits")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--nr-mcs", type=int, nargs="+", default=[9, 20], help="qam64 MCS")
    parser.add_argument("--nr-snr-db", type=float, nargs="+", default=[5.0, 14.0])
    parser.add_argument("--nr-bit-true-kib", type=int, default=16, help="0: the whole stream")
    parser.add_argument("--no-nr", action="store_true", help="skip the 5G NR rows")
    args = parser.parse_args()
    if len(args.nr_snr_db) != len(args.nr_mcs):
        parser.error("give one --nr-snr-db per --nr-mcs")

    nbits = args.mbits << 20
    payload = np.random.default_rng(0).integers(0, 256, nbits // 8, dtype=np.uint8)
    print(
        f"payload {args.mbits} Mi bits, median of {args.repeats}; "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}"
    )

    copy_s = median_seconds(lambda: np.packbits(np.unpackbits(payload)), args.repeats)
    gen = torch.Generator().manual_seed(0)
    buf = torch.empty(CHUNK_BITS)

    def noise_floor() -> None:
        for _ in range(nbits // CHUNK_BITS):
            buf.normal_(generator=gen)

    noise_s = median_seconds(noise_floor, args.repeats)
    rows = [("baseline: unpack+pack copy", copy_s), ("baseline: float32 noise/bit", noise_s)]
    for name, kwargs in [
        ("ideal", {}),
        ("bsc", {"p": 1e-3}),
        ("erasure", {"p": 0.1}),
        ("bpsk-awgn", {"ebn0_db": 6.0}),
        ("qpsk-awgn", {"ebn0_db": 6.0}),
        ("qam16-awgn", {"ebn0_db": 6.0}),
        ("bpsk-rayleigh", {"ebn0_db": 6.0}),
        ("qpsk-rayleigh", {"ebn0_db": 6.0}),
        ("qam16-rayleigh", {"ebn0_db": 6.0}),
    ]:
        channel = make_channel(name, seed=1, **kwargs)
        rows.append(
            (name, median_seconds(lambda c=channel: c.transmit_bits(payload), args.repeats))
        )

    print(f"{'channel':<28} {'M bits/s':>10} {'t/t_copy':>9} {'t/t_noise':>9}")
    for name, seconds in rows:
        rate = nbits / seconds / 1e6
        print(f"{name:<28} {rate:>10.1f} {seconds / copy_s:>9.2f} {seconds / noise_s:>9.2f}")

    x = torch.randn(nbits // 8, generator=torch.Generator().manual_seed(0))
    awgn = make_channel("awgn", snr_db=10.0, seed=1)
    seconds = median_seconds(lambda: awgn.transmit_values(x), args.repeats)
    print(f"{'awgn (analog), M values/s':<28} {x.numel() / seconds / 1e6:>10.1f}")
    if args.no_nr:
        return
    if not sionna_available():
        print("5G NR rows skipped: install symcodec[links] (sionna-no-rt)")
        return
    nr_rows(args.nr_mcs, args.nr_snr_db, args.nr_bit_true_kib, args.repeats)


def transmit_split(repeats: int) -> None:
    """One full ``transmit`` of the DeepCNN (central-skew, 4 bits, dof, BPSK at 4 dB),
    split into encode, channel and decode (medians of ``repeats`` runs)."""
    from symcodec.codec import TransmissionPlan
    from symcodec.models import build_model
    from symcodec.receiver import transmit
    from symcodec.training import seeded

    with seeded(0):
        model = build_model("deepcnn")
    state_dict = model.state_dict()
    plan = TransmissionPlan.default(state_dict, symmetry="central-skew", bits=4)
    channel = make_channel("bpsk-awgn", ebn0_db=4.0)
    runs = [transmit(state_dict, plan, channel, seed=k) for k in range(repeats)]
    med = {
        key: statistics.median(getattr(r, key) for r in runs)
        for key in ("encode_s", "channel_s", "decode_s", "air_time_s")
    }
    print(
        f"transmit deepcnn ({runs[0].values_sent:,} values, {runs[0].bits_sent:,} bits): "
        f"encode {1000 * med['encode_s']:.1f} ms, channel simulation "
        f"{1000 * med['channel_s']:.1f} ms, decode {1000 * med['decode_s']:.1f} ms; "
        f"air time at 1 Mbit/s {1000 * med['air_time_s']:.0f} ms"
    )


def nr_rows(mcs_list: list[int], snr_dbs: list[float], bit_true_kib: int, repeats: int) -> None:
    """The 5G NR rows: abstract link on the whole DeepCNN stream, bit-true link on a slice of
    it beside Sionna's own LDPC encoder + decoder (see the module docstring)."""
    from nr_link_speed import deepcnn_stream, sionna_ldpc_baseline, timed  # bench/ on sys.path

    import_s, _ = timed(require_sionna)
    stream = deepcnn_stream()
    bit_true = stream[: bit_true_kib * 1024] if bit_true_kib else stream
    print(
        f"\n5G NR (nr-ldpc) on the deepcnn .symc stream (central-skew, 8 bits): "
        f"{len(stream):,} bytes; bit-true on {len(bit_true):,} bytes; Sionna import "
        f"{import_s:.1f} s; load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'MCS':<40} {'path':<30} {'setup s':>8} {'time':>10} {'rate':>16}  BLER")
    for mcs, snr_db in zip(mcs_list, snr_dbs, strict=True):
        for fading in ("awgn", "rayleigh"):
            setup_s, channel = timed(
                make_channel, "nr-ldpc", snr_db=snr_db, mcs=mcs, level="abstract",
                fading=fading, seed=0,
            )  # fmt: skip
            runs = [timed(channel.transmit_bits, stream) for _ in range(repeats)]
            seconds = statistics.median(t for t, _ in runs)
            stats = runs[0][1][1]
            label = f"abstract {fading} (SNR {snr_db:g} dB)"
            print(
                f"{str(channel.mcs):<40} {label:<30} {setup_s:>8.2f} "
                f"{1000 * seconds:>7.1f} ms {stats.code_blocks / seconds:>11.0f} CB/s  "
                f"{stats.bler:.3f} of {stats.code_blocks} CBs"
            )
        setup_s, channel = timed(make_channel, "nr-ldpc", snr_db=snr_db, mcs=mcs, seed=0)
        seconds, (_, stats) = timed(channel.transmit_bits, bit_true)
        label = f"bit-true awgn (SNR {snr_db:g} dB)"
        print(
            f"{str(channel.mcs):<40} {label:<30} {setup_s:>8.2f} {seconds:>8.2f} s "
            f"{8 * len(bit_true) / seconds / 1e6:>9.4f} Mb/s  {stats.bler:.3f} of "
            f"{stats.code_blocks} CBs"
        )
        with torch_threads(1):
            base_s = sionna_ldpc_baseline(channel.link, stats.code_blocks, snr_db)
        fmt = channel.fmt
        info = stats.code_blocks * (fmt.cb_bits - fmt.cb_crc_bits) / base_s / 1e6
        label = "sionna LDPC enc+dec, same code"
        print(
            f"{'':<40} {label:<30} {'':>8} {base_s:>8.2f} s {info:>9.4f} Mb/s  "
            f"(bit-true / ldpc time {seconds / base_s:.2f})"
        )


if __name__ == "__main__":
    main()
    transmit_split(repeats=5)
