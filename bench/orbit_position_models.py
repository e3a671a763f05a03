"""Would one ``ans`` model per orbit position pay? (issue 14: "central-skew's four
coefficients do not share a distribution"). A measurement, not a stream mode.

For every ``dof`` record coded ``ans`` of a real stream, the values are re-coded with one
model per orbit position (:func:`~symcodec.codec.entropy.fit_model` on each position's
coefficients; one ``AnsCoder`` per chunk, positions pushed one after the other, so no
extra padding), and the header is re-compressed with the extra models, giving:

* the DoF records' bytes (data + compressed header share) with and without, and the
  whole stream's;
* the bound with free side information: the empirical entropy of the levels per tensor
  against the sum of the per-position entropies (``H(level | position) / H(level)``).

    PYTHONPATH=src nice -n 10 env OMP_NUM_THREADS=1 python bench/orbit_position_models.py \\
        ~/.cache/symcodec/models/deepcnn-mnist-5k-central-skew-e10-*.safetensors
"""

from __future__ import annotations

import argparse
import json
import os
import zlib

import constriction
import numpy as np
from safetensors.torch import load_file

from symcodec.codec import TransmissionPlan, encode
from symcodec.codec.entropy import chunk_bounds, entropy_bits, fit_model
from symcodec.codec.format import read_header, record_symbols


def per_position_chunk_bytes(symbols, models, first, n, dof, chunk_values) -> list[int]:
    """Bytes of every chunk when position ``p`` of each kernel uses ``models[p]``."""
    tables = [m.categorical(first, n) for m in models]
    sizes = []
    for start, stop in chunk_bounds(symbols.size, chunk_values):
        coder = constriction.stream.stack.AnsCoder()
        position = np.arange(start, stop) % dof
        for p in reversed(range(dof)):
            part = np.ascontiguousarray(symbols[start:stop][position == p], dtype=np.int32)
            if part.size:
                coder.encode_reverse(part, tables[p])
        sizes.append(4 * len(coder.get_compressed()))
    return sizes


def measure(sd, symmetry: str, step: float) -> dict:
    """The figures of one model at one step (see the module docstring)."""
    blob = encode(sd, TransmissionPlan.default(sd, symmetry=symmetry, step=step, coder="ans"))
    header = read_header(blob)
    payload = blob[header.payload_offset :]
    stored = blob[16 : header.payload_offset]
    doc = json.loads(zlib.decompress(stored))
    before = after = 0
    h_tensor = h_position = 0.0
    for record, raw in zip(header.records, doc["tensors"], strict=True):
        if record.mode != "dof" or record.coder != "ans":
            continue
        dof = record.symmetry.dof(record.shape[-2:])
        first, n = record.symbol_range
        symbols = record_symbols(record, payload[record.offset : record.offset + record.length])
        symbols = symbols - first
        columns = symbols.reshape(-1, dof)
        h_tensor += entropy_bits(np.bincount(symbols, minlength=n))
        h_position += sum(entropy_bits(np.bincount(c, minlength=n)) for c in columns.T)
        if n == 1:
            continue
        models = [fit_model(np.ascontiguousarray(c), first, n)[0] for c in columns.T]
        sizes = per_position_chunk_bytes(symbols, models, first, n, dof, record.chunk_values)
        before += record.length
        after += sum(sizes)
        raw["model"] = {"positions": [m.to_json() for m in models]}
        raw["chunks"] = [[size, crc] for size, (_, crc) in zip(sizes, raw["chunks"], strict=True)]
        raw["length"] = sum(sizes)
    header_delta = len(zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 9)) - len(
        stored
    )
    return {
        "dof_before": before,
        "dof_after": after + header_delta,
        "stream_before": len(blob),
        "stream_after": len(blob) - before + after + header_delta,
        "entropy_ratio": h_position / h_tensor if h_tensor else 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--symmetry", default="central-skew")
    parser.add_argument("--steps-log2", default="-10,-9,-8,-7,-6,-5,-4")
    args = parser.parse_args()
    print(
        "model | step | DoF bytes per tensor | per position | ratio | stream ratio | "
        "H(level|position)/H(level)"
    )
    for path in args.models:
        sd = load_file(os.path.expanduser(path))
        for e in (int(v) for v in args.steps_log2.split(",")):
            m = measure(sd, args.symmetry, 2.0**e)
            print(
                f"{os.path.basename(path)[:48]} | 2^{e} | {m['dof_before']} | {m['dof_after']} | "
                f"{m['dof_after'] / m['dof_before']:.4f} | "
                f"{m['stream_after'] / m['stream_before']:.4f} | {m['entropy_ratio']:.4f}"
            )


if __name__ == "__main__":
    main()
