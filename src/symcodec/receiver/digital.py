"""The receiving end of a digital link: the payload bytes arrive with bit errors and
erasures; the pruning positions travel protected, like the header (SPEC sections 4 and 6),
and so, with ``protect="side"``, does every tensor that is not a conv kernel (SPEC
section 10, :mod:`.protection`).

Every tensor is decoded anyway (:func:`~symcodec.codec.format.decode_payload` with
``strict=False``): a payload CRC mismatch is reported per tensor, ``fixed`` codes are clamped
to the quantizer's range, ``ans`` chunks that fail their CRC are concealed with zeros, and
values that touch an erased byte are set to zero. When the link reports erasures (an
``erasure`` or ``nr-ldpc`` channel's ``erased_mask``), every ``ans`` chunk that overlaps an
erased byte is lost too, whether or not its CRC passes (:func:`erased_chunks`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..channel import Channel, ChannelStats
from ..codec.entropy import chunk_bounds
from ..codec.format import (
    DecodedTensor,
    Header,
    TensorRecord,
    codes_touching,
    decode_payload,
    lost_chunk_values,
    record_payloads,
)
from .protection import is_protected
from .reception import ReceiverOptions, TensorReception

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def receive_digital(
    header: Header,
    payload: np.ndarray,
    channel: Channel,
    rng: torch.Generator,
    protect: str = "none",
) -> tuple[np.ndarray, ChannelStats]:
    """Send ``payload`` (the stream's bytes after its header) through ``channel``: the bytes
    as received, the pruning positions (and with ``protect="side"`` the tensors that are not
    conv kernels) restored, and the channel's stats."""
    received, stats = channel.transmit_bits(payload, rng=rng)
    return _restore_protected(header, payload, received, protect), stats


def decode_received(
    header: Header,
    sent: np.ndarray,
    received: np.ndarray,
    stats: ChannelStats,
    options: ReceiverOptions,
) -> tuple[list[DecodedTensor], list[TensorReception]]:
    """Every tensor as decoded from the ``received`` payload (erased values set to zero) and
    what happened to it on the link."""
    decoded = decode_payload(header, received, strict=options.strict)
    decoded = _lose_erased_chunks(header, decoded, stats, options.protect)
    erased = _erased(header, stats, options.protect)
    rows = _receptions(header, sent, received, decoded, erased, options.protect)
    decoded = [_conceal(item, lost) for item, lost in zip(decoded, erased, strict=True)]
    return decoded, rows


def _restore_protected(
    header: Header, sent: np.ndarray, received: np.ndarray, protect: str
) -> np.ndarray:
    """Pruning positions travel protected, like the header, and so do the protected tensors
    (:func:`~.protection.is_protected`): undo what the channel did to them (their bits are
    counted in the payload all the same; SPEC sections 6 and 10)."""
    if not any(r.positions_length or _protected(r, protect) for r in header.records):
        return received
    received = np.array(received, copy=True)
    pairs = zip(record_payloads(header, sent), record_payloads(header, received), strict=True)
    for (record, sent_data), (_, received_data) in pairs:
        n = len(sent_data) if _protected(record, protect) else record.positions_length
        received_data[:n] = sent_data[:n]  # a view: writes into ``received``
    return received


def _protected(record, protect: str) -> bool:
    """A record protected by ``protect`` on a digital link (integer buffers travel on the
    noisy link unless ``side``: they are part of the payload bytes)."""
    return protect == "side" and is_protected(record, protect)


def _receptions(
    header: Header,
    sent: np.ndarray,
    received: np.ndarray,
    decoded: list[DecodedTensor],
    erased: list[np.ndarray],
    protect: str,
) -> list[TensorReception]:
    """What happened to every tensor on a digital link: bit errors (counted in the tensors
    whose CRC failed), erased values, lost ``ans`` chunks."""
    rows = []
    pairs = zip(record_payloads(header, sent), record_payloads(header, received), strict=True)
    for item, lost, ((record, sent_data), (_, received_data)) in zip(
        decoded, erased, pairs, strict=True
    ):
        errors = 0
        if not item.crc_ok:
            errors = int(_POPCOUNT[np.bitwise_xor(sent_data, received_data)].sum())
        rows.append(
            TensorReception(
                name=record.name,
                mode=record.mode,
                values_sent=record.count,
                payload_bits=record.payload_bits,
                mask_bits=record.mask_bits,
                bit_errors=errors,
                crc_ok=item.crc_ok,
                erased_values=int(lost.sum()),
                coder=record.coder,
                chunks=len(record.chunks),
                lost_chunks=item.lost_chunks,
                concealed_values=item.concealed_values,
                protected=_protected(record, protect),
            )
        )
    return rows


def _erased(header: Header, stats: ChannelStats, protect: str) -> list[np.ndarray]:
    """For every record, which of its values touch a byte the channel erased (a flag per
    value of a ``fixed`` record; empty for the others, for protected records, and when
    nothing was erased)."""
    if stats.erased_mask is None:
        return [np.zeros(0, dtype=bool) for _ in header.records]
    out = []
    for record, erased_bytes in record_payloads(header, stats.erased_mask):
        if record.coder != "fixed" or _protected(record, protect):
            out.append(np.zeros(0, dtype=bool))
            continue
        value_bytes = erased_bytes[record.positions_length :]
        out.append(codes_touching(value_bytes, record.count, record.quantizer.bits))
    return out


def erased_chunks(record: TensorRecord, erased_bytes: np.ndarray) -> tuple[int, ...]:
    """The chunks of an ``ans`` record that overlap an erased byte (``erased_bytes``: one
    flag per byte of the record's data).

    >>> from types import SimpleNamespace as NS
    >>> record = NS(positions_length=0, chunks=((4, 0), (8, 0), (0, 0), (4, 0)))
    >>> erased_chunks(record, np.array([0] * 5 + [1] + [0] * 10, bool))
    (1,)
    >>> erased_chunks(record, np.array([0] * 3 + [1] * 10 + [0] * 3, bool))
    (0, 1, 3)
    """
    lengths = np.array([length for length, _ in record.chunks], dtype=np.int64)
    if lengths.size == 0 or not erased_bytes.any():
        return ()
    ends = record.positions_length + np.cumsum(lengths)
    starts = ends - lengths
    erased_so_far = np.concatenate(([0], np.cumsum(erased_bytes, dtype=np.int64)))
    hit = erased_so_far[ends] > erased_so_far[starts]
    return tuple(int(i) for i in np.flatnonzero(hit))


def _lose_erased_chunks(
    header: Header, decoded: list[DecodedTensor], stats: ChannelStats, protect: str
) -> list[DecodedTensor]:
    """Where the link reports erasures, every ``ans`` chunk that overlaps an erased byte is
    lost (concealed with zeros) whether or not its CRC happens to pass: the erasure positions
    localise the damage without relying on the CRC."""
    if stats.erased_mask is None or not stats.erased_mask.any():
        return decoded
    out = []
    pairs = zip(decoded, record_payloads(header, stats.erased_mask), strict=True)
    for item, (record, erased_bytes) in pairs:
        if record.coder != "ans" or _protected(record, protect):
            out.append(item)
            continue
        extra = set(erased_chunks(record, erased_bytes)) - set(item.lost_chunks)
        if not extra:
            out.append(item)
            continue
        flat = item.values.reshape(-1).clone()
        bounds = chunk_bounds(record.count, record.chunk_values)
        for index in extra:
            flat[bounds[index][0] : bounds[index][1]] = 0
        lost = tuple(sorted({*item.lost_chunks, *extra}))
        out.append(
            replace(
                item,
                values=flat.reshape(item.values.shape),
                crc_ok=False,
                lost_chunks=lost,
                concealed_values=lost_chunk_values(record, lost),
            )  # fmt: skip
        )
    return out


def _conceal(item: DecodedTensor, erased: np.ndarray) -> DecodedTensor:
    """The record with its ``erased`` values set to zero."""
    if not erased.any():
        return item
    flat = item.values.reshape(-1).clone()
    flat[torch.from_numpy(erased)] = 0
    return replace(item, values=flat.reshape(item.values.shape))
