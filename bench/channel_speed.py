"""Throughput of every digital channel of symcodec.channel, in M bits/s.

Each modulated channel does the whole simulation: unpack bits, Gray-map to symbols, draw the
noise (and fading), equalize, slice, pack. Every figure is the median of ``--repeats`` runs
over the same random payload, measured in this one process, next to two baselines measured in
the same run:

* ``copy``: ``np.unpackbits`` + ``np.packbits`` of the same buffer (the bit handling alone);
* ``noise``: drawing one float32 N(0, 1) value per bit with torch (the RNG work BPSK cannot
  avoid).

Columns ``t/t_copy`` and ``t/t_noise`` are the channel's time over each baseline's time.

Run: ``.venv/bin/python bench/channel_speed.py [--mbits 64] [--repeats 3]``
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
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
    transmit_split(repeats=5)
