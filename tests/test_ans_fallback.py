"""The ``ans`` coder falls back to ``fixed`` codes where an entropy model does not pay, and
``ans`` streams use the link's erasure positions to localise damage."""

from __future__ import annotations

import numpy as np
import torch

from symcodec.channel import ChannelStats, make_channel
from symcodec.codec import TensorPlan, TransmissionPlan, decode, encode
from symcodec.codec.bitpack import packed_size
from symcodec.codec.format import read_header, record_payloads
from symcodec.receiver import ReceiverOptions, transmit
from symcodec.receiver.digital import decode_received, erased_chunks


def laplace(n: int, scale: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, generator=g) - 0.5
    return -scale * torch.sign(u) * torch.log1p(-2 * u.abs())


def model() -> dict[str, torch.Tensor]:
    return {
        "big": laplace(20000, 0.05, 0),  # peaked: ans pays for its model many times over
        "bias": laplace(8, 0.05, 1),  # 8 values cannot pay for a model
        "flat": torch.full((100,), 0.3),  # one level: no ans payload, a model to describe
        "uniform": torch.rand(4000, generator=torch.Generator().manual_seed(2)) * 2 - 1,
    }


def encode_with(sd, fallback: bool, **kw) -> bytes:
    plan = TransmissionPlan.default(sd, bits=8, coder="ans", ans_fallback=fallback, **kw)
    return encode(sd, plan)


def test_each_tensor_takes_the_smaller_coder():
    sd = model()
    chosen = read_header(encode_with(sd, True))
    forced = read_header(encode_with(sd, False))
    coders = {r.name: r.coder for r in chosen.records}
    assert coders["big"] == "ans" and coders["bias"] == "fixed"
    for auto, ans in zip(chosen.records, forced.records, strict=True):
        fixed_bytes = packed_size(ans.count, ans.quantizer.bits)
        if auto.coder == "fixed":  # what the stream says it used is what it carries
            assert auto.length == fixed_bytes and auto.model is None and auto.chunks == ()
            assert auto.model_bits == 0
    # the stream is smaller than with ans everywhere and than with either coding of any one
    # tensor switched (the stream as stored decides: header compressed), and decodes alike
    size = len(encode_with(sd, True))
    assert size < len(encode_with(sd, False))
    for name in sd:
        flipped = {n: ("fixed" if coders[n] == "ans" else "ans") if n == name else coders[n]
                   for n in sd}  # fmt: skip
        plan = TransmissionPlan(
            {n: TensorPlan(bits=8, coder=c, ans_fallback=False) for n, c in flipped.items()}
        )
        assert len(encode(sd, plan)) >= size
    a, b = decode(encode_with(sd, True)), decode(encode_with(sd, False))
    assert all(torch.equal(a[k], b[k]) for k in sd)


def test_step_quantizer_falls_back_too():
    sd = {"w": laplace(30, 0.05, 3), "big": laplace(50000, 0.05, 4)}
    header = read_header(encode(sd, TransmissionPlan.default(sd, step=0.01, coder="ans")))
    assert [r.coder for r in header.records] == ["fixed", "ans"]
    assert header.records[0].quantizer.kind == "step"
    out = decode(encode(sd, TransmissionPlan.default(sd, step=0.01, coder="ans")))
    assert torch.allclose(out["w"], sd["w"], atol=0.005 + 1e-7)


def test_fixed_plans_are_unchanged():
    sd = model()
    plan = TransmissionPlan({k: TensorPlan(bits=8) for k in sd})
    assert {r.coder for r in read_header(encode(sd, plan)).records} == {"fixed"}


# ---- erasure positions localise damage in ans streams -----------------------------------


def ans_stream():
    sd = {"w": laplace(4000, 0.05, 5)}
    plan = TransmissionPlan.default(sd, bits=8, coder="ans", chunk_values=500)
    blob = encode(sd, plan)
    header = read_header(blob)
    assert header.records[0].coder == "ans" and len(header.records[0].chunks) == 8
    return sd, plan, blob, header


def test_erased_bytes_lose_exactly_their_chunks_even_when_the_crc_passes():
    """The link reports bytes of chunks 2 and 3 erased but delivered them intact: their CRCs
    pass, yet both chunks are lost (the erasure report is trusted) and no other chunk is."""
    _, _, blob, header = ans_stream()
    record = header.records[0]
    payload = np.frombuffer(blob, dtype=np.uint8)[header.payload_offset :].copy()
    lengths = [length for length, _ in record.chunks]
    start3 = sum(lengths[:3])
    mask = np.zeros(payload.size, dtype=bool)
    mask[start3 - 2 : start3 + 2] = True  # straddles the border of chunks 2 and 3
    stats = ChannelStats("erasure", "digital", erased_mask=mask, erased_bytes=int(mask.sum()))
    decoded, rows = decode_received(header, payload, payload.copy(), stats, ReceiverOptions())
    assert decoded[0].lost_chunks == (2, 3) and rows[0].lost_chunks == (2, 3)
    assert rows[0].concealed_values == 1000 and not rows[0].crc_ok
    clean = decode(blob)["w"]
    got = decoded[0].values.reshape(-1)
    assert torch.count_nonzero(got[1000:2000]) == 0
    assert torch.equal(got[:1000], clean[:1000]) and torch.equal(got[2000:], clean[2000:])


def test_erasure_channel_losses_are_the_chunks_under_the_erased_ranges():
    sd, plan, blob, header = ans_stream()
    rx = transmit(sd, plan, make_channel("erasure", p=0.05, packet_bytes=97), seed=3)
    stats = rx.stats[0]
    assert stats.erased_packets > 0
    (record, erased), *_ = list(record_payloads(header, stats.erased_mask))
    assert rx.tensors[0].lost_chunks == erased_chunks(record, erased)
    assert 0 < len(rx.tensors[0].lost_chunks) < len(record.chunks)
