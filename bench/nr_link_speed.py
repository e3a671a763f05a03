"""Speed of the 5G NR links (symcodec.channel.nr) on a DeepCNN-sized stream.

The payload is the ``.symc`` stream of ``build_model('deepcnn')`` (central-skew, 8 bits).
Measured in this one process, for each MCS:

* ``bit-true``: :class:`~symcodec.channel.nr.NrLdpcLink` end to end (TB CRC, segmentation, LDPC
  encoding, rate matching, QAM, AWGN, app demapping, BP decoding, CRC checks, byte
  bookkeeping), in payload M bits/s;
* ``sionna ldpc``: the baseline, Sionna's own ``LDPC5GEncoder`` + ``LDPC5GDecoder`` (20 BP
  iterations) alone on the same number of code blocks of the same code (``K`` bits on
  ``E`` coded bits; BPSK-like LLRs), in information M bits/s;
* ``abstract``: :class:`~symcodec.channel.nr.NrAbstractLink` (Sionna's PHY abstraction), in code
  blocks per second, for AWGN and per-symbol Rayleigh (EESM); set-up time shown apart.

The bit-true path runs on the first ``--bit-true-kib`` KiB of the stream (default: all of it).
Sionna's decoder is many small torch ops: on busy cores one torch thread (``--threads 1``, the
default) is several times faster than two.

Run: ``.venv/bin/python bench/nr_link_speed.py [--mcs 9 20] [--threads 1] [--bit-true-kib N]``
(needs ``pip install -c constraints.txt 'symcodec[links]'``).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from symcodec.channel.nr import NrAbstractLink, NrLdpcLink, require_sionna
from symcodec.codec import TransmissionPlan, encode
from symcodec.models import build_model


def deepcnn_stream() -> bytes:
    """The DeepCNN's ``.symc`` stream at 8 bits (central-skew), weights from seed 0."""
    torch.manual_seed(0)
    state_dict = build_model("deepcnn").state_dict()
    return encode(state_dict, TransmissionPlan.default(state_dict, symmetry="central-skew", bits=8))


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of one call ``fn(*args, **kwargs)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def sionna_ldpc_baseline(link: NrLdpcLink, num_cbs: int, snr_db: float) -> float:
    """Seconds for Sionna's LDPC5GEncoder + LDPC5GDecoder alone on ``num_cbs`` CBs of the link's
    code (``K`` info bits on the longest ``E``), batched like the link batches its TBs."""
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

    fmt = link.fmt
    enc = LDPC5GEncoder(fmt.cb_bits, max(fmt.cw_bits), precision="single", device="cpu")
    dec = LDPC5GDecoder(enc, num_iter=link.num_bp_iter, hard_out=True, return_infobits=True)
    gen = torch.Generator().manual_seed(0)
    sigma = (10.0 ** (-snr_db / 10.0) / 2.0) ** 0.5
    batch = max(1, link.tbs_per_batch * fmt.num_cbs)
    start = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, num_cbs, batch):
            n = min(batch, num_cbs - first)
            bits = torch.randint(0, 2, (n, fmt.cb_bits), generator=gen).float()
            x = 2.0 * enc(bits) - 1.0
            y = x + sigma * torch.randn(x.shape, generator=gen)
            dec(2.0 * y / sigma**2)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcs", type=int, nargs="+", default=[9, 20], help="qam64 MCS indices")
    parser.add_argument("--snr-db", type=float, nargs="+", default=[5.0, 14.0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--bit-true-kib", type=int, default=0, help="0: the whole stream")
    args = parser.parse_args()
    if len(args.snr_db) != len(args.mcs):
        parser.error("give one --snr-db per --mcs")
    torch.set_num_threads(args.threads)
    import_s, _ = timed(require_sionna)
    stream = deepcnn_stream()
    bit_true = stream[: args.bit_true_kib * 1024] if args.bit_true_kib else stream
    import sionna

    print(
        f"deepcnn .symc (central-skew, 8 bits): {len(stream):,} bytes = {8 * len(stream):,} bits; "
        f"bit-true on {len(bit_true):,} bytes; sionna {sionna.__version__}, torch "
        f"{torch.__version__}, python {platform.python_version()}, {torch.get_num_threads()} "
        f"torch thread(s), load {os.getloadavg()[0]:.2f}; Sionna import {import_s:.1f} s"
    )
    print(
        f"{'MCS':<40} {'TB bits':>8} {'CBs':>6} {'K':>5} {'E':>6} "
        f"{'path':<24} {'seconds':>8} {'rate':>15}  (SNR: --snr-db)"
    )
    for mcs, snr_db in zip(args.mcs, args.snr_db, strict=True):
        report_mcs(mcs, snr_db, stream, bit_true)


def report_mcs(mcs: int, snr_db: float, stream: bytes, bit_true: bytes) -> None:
    """Print the bit-true, Sionna-LDPC and abstract rows of one qam64 MCS."""
    setup_s, link = timed(NrLdpcLink, mcs)
    fmt = link.fmt
    cbs = fmt.num_tbs(len(bit_true)) * fmt.num_cbs
    head = f"{str(link.mcs):<40} {fmt.tb_bits:>8} {cbs:>6} {fmt.cb_bits:>5} {max(fmt.cw_bits):>6}"
    seconds, res = timed(link.transmit_bytes, bit_true, snr_db=snr_db, seed=0)
    rate = 8 * len(bit_true) / seconds / 1e6
    label = f"bit-true (set-up {setup_s:.1f} s)"
    print(f"{head} {label:<24} {seconds:>8.2f} {rate:>10.4f} Mb/s  BLER {res.bler:.3f}")
    base_s = sionna_ldpc_baseline(link, res.code_blocks, snr_db)
    info = res.code_blocks * (fmt.cb_bits - fmt.cb_crc_bits) / base_s / 1e6
    ratio = f"(bit-true / ldpc time {seconds / base_s:.2f})"
    print(f"{'':<68} {'sionna ldpc enc+dec':<24} {base_s:>8.2f} {info:>10.4f} Mb/s  {ratio}")
    setup_s, abstract = timed(NrAbstractLink, mcs)
    for fading in ("awgn", "rayleigh"):
        a_s, a_res = timed(abstract.transmit_bytes, stream, snr_db=snr_db, fading=fading, seed=0)
        label = f"abstract {fading} (set-up {setup_s:.1f} s)"
        per_s = a_res.code_blocks / a_s
        print(f"{'':<68} {label:<24} {a_s:>8.3f} {per_s:>10.0f} CB/s  BLER {a_res.bler:.3f} "
              f"on {a_res.code_blocks} CBs")  # fmt: skip


if __name__ == "__main__":
    main()
