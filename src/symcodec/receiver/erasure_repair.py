"""The receiving end of unequal error protection: decoding a stream whose bits arrived with
erasures.

The receiver puts the bits back in stream order. A code block (CB) that fails its CRC erases
the bits it carried (byte-granular within its segment, as the NR link reports it); then:

* a lost header bit (or one the header's CRC would catch) loses the whole stream:
  :class:`~.protection_report.HeaderLost` (:func:`header_intact` checks it);
* lost pruning positions cost their tensor: its values are erased;
* a ``fixed`` kernel value whose MSB arrived but some lower bit was lost (possible only when
  the MSB plane has its own MCS) is rebuilt from its MSB: its code becomes the mean code of
  the tensor's intact values with the same MSB (rounded; the code nearest the middle of the
  range when there is none), and is counted in ``concealed_values`` of ``kernel-msb``;
* every other value that touches an erased byte is filled with zero (``fixed``), every
  ``ans`` chunk that overlaps one is lost and concealed, as on any digital link
  (:func:`symcodec.receiver.digital.decode_received`). With values narrower than a byte, a
  byte with an erased bit erases its neighbours too.
"""

from __future__ import annotations

import numpy as np

from ..channel import ChannelStats
from ..codec.format import DecodedTensor, Header
from .digital import decode_received
from .reception import ReceiverOptions, TensorReception
from .stream_classes import has_msb_plane

__all__ = ["decode_with_erasures", "header_intact"]


def decode_with_erasures(
    header: Header,
    blob: bytes,
    received_bits: np.ndarray,
    erased_bits: np.ndarray,
    options: ReceiverOptions,
    *,
    msb_split: bool,
) -> tuple[list[DecodedTensor], list[TensorReception], int]:
    """Decode a stream that arrived as ``received_bits`` with ``erased_bits`` (one entry per
    stream bit; the header must be intact): the decoded tensors (erased values filled or
    concealed), a row per tensor, and the kernel values rebuilt from their MSB (see the module
    docstring). ``received_bits`` and ``erased_bits`` are not modified."""
    received_bits, erased_bits = received_bits.copy(), erased_bits.copy()
    start = 8 * header.payload_offset
    sent_bits = np.unpackbits(np.frombuffer(blob, dtype=np.uint8))
    _erase_tensors_without_positions(header, start, sent_bits, received_bits, erased_bits)
    rebuilt = _rebuild_from_msb(header, start, received_bits, erased_bits) if msb_split else 0
    received = np.packbits(received_bits[start:])
    mask = erased_bits[start:].reshape(-1, 8).any(axis=1)
    received[mask] = 0
    sent = np.frombuffer(blob, dtype=np.uint8)[header.payload_offset :]
    stats = ChannelStats("nr-ldpc", "digital", erased_mask=mask, erased_bytes=int(mask.sum()))
    decoded, rows = decode_received(header, sent, received, stats, options)
    return decoded, rows, rebuilt


def _erase_tensors_without_positions(
    header: Header,
    start: int,
    sent_bits: np.ndarray,
    received_bits: np.ndarray,
    erased_bits: np.ndarray,
) -> None:
    """A tensor whose pruning positions were damaged cannot place its values: restore the
    positions (so the record parses) and erase every value bit."""
    for record in header.records:
        if not record.positions_length:
            continue
        first = start + 8 * record.offset
        values = first + 8 * record.positions_length
        damaged = erased_bits[first:values].any() or not np.array_equal(
            received_bits[first:values], sent_bits[first:values]
        )
        if damaged:
            received_bits[first:values] = sent_bits[first:values]
            erased_bits[first:values] = False
            erased_bits[values : first + 8 * record.length] = True


def _rebuild_from_msb(
    header: Header, start: int, received_bits: np.ndarray, erased_bits: np.ndarray
) -> int:
    """Give every fixed kernel value that kept its MSB but lost a lower bit the mean code of
    the intact values with that MSB; clear its erasure. Returns the values rebuilt."""
    rebuilt = 0
    for record in header.records:
        if not has_msb_plane(record):
            continue
        width, count = record.quantizer.bits, record.count
        first = start + 8 * (record.offset + record.positions_length)
        span = slice(first, first + width * count)
        bits = received_bits[span].reshape(count, width)
        lost = erased_bits[span].reshape(count, width)
        partial = ~lost[:, 0] & lost[:, 1:].any(axis=1)
        if not partial.any():
            continue
        weights = 1 << np.arange(width - 1, -1, -1, dtype=np.int64)
        codes = bits.astype(np.int64) @ weights
        intact = ~lost.any(axis=1)
        half = 1 << (width - 1)
        for msb in (0, 1):
            targets = partial & (bits[:, 0] == msb)
            if not targets.any():
                continue
            pool = codes[intact & (bits[:, 0] == msb)]
            guess = int(np.rint(pool.mean())) if pool.size else (half - 1 if msb == 0 else half)
            guess = min(max(guess, msb * half), msb * half + half - 1)  # keep the MSB
            pattern = ((guess >> np.arange(width - 1, -1, -1)) & 1).astype(np.uint8)
            bits[targets] = pattern
            lost[targets] = False
        received_bits[span] = bits.reshape(-1)
        erased_bits[span] = lost.reshape(-1)
        rebuilt += int(partial.sum())
    return rebuilt


def header_intact(
    header: Header, blob: bytes, received_bits: np.ndarray, erased: np.ndarray
) -> bool:
    """Whether every bit of the preamble and header arrived (not erased, not flipped: the
    header's CRC32 would catch a flip)."""
    stop = 8 * header.payload_offset
    sent = np.unpackbits(np.frombuffer(blob[: header.payload_offset], dtype=np.uint8))
    return not erased[:stop].any() and np.array_equal(received_bits[:stop], sent)
