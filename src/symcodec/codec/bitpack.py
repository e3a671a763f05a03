"""Vectorized packing of fixed-length codes, most significant bit first.

``count`` codes of ``bits`` bits each occupy ``ceil(count * bits / 8)`` bytes; the last
byte is padded with zero bits. 2, 4, 8 and 16 bits take byte-aligned fast paths; other
widths go through ``np.unpackbits``/``np.packbits`` on a bit matrix. No Python loop runs
over the codes.

>>> import numpy as np
>>> packed = pack_codes(np.array([1, 2, 3, 4, 5], dtype=np.uint8), bits=3)
>>> packed.hex()   # 001 010 011 100 101 + one pad bit
'29ca'
>>> unpack_codes(packed, bits=3, count=5).tolist()
[1, 2, 3, 4, 5]
"""

from __future__ import annotations

import numpy as np

from ..errors import SymcodecError


def packed_size(count: int, bits: int) -> int:
    """Bytes needed for ``count`` codes of ``bits`` bits."""
    return (count * bits + 7) // 8


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Pack unsigned integer codes (each < 2**bits, 1 <= bits <= 32) MSB-first."""
    if not 1 <= bits <= 32:
        raise SymcodecError(f"cannot pack codes of {bits} bits (1..32)")
    codes = np.ascontiguousarray(codes).reshape(-1)
    n = codes.shape[0]
    if bits == 8:
        return codes.astype(np.uint8, copy=False).tobytes()
    if bits == 16:
        return codes.astype(">u2", copy=False).tobytes()
    if bits in (4, 2, 1):
        per_byte = 8 // bits
        c = codes.astype(np.uint8, copy=False)
        pad = (-n) % per_byte
        if pad:
            c = np.concatenate([c, np.zeros(pad, dtype=np.uint8)])
        c = c.reshape(-1, per_byte)
        out = c[:, 0] << (8 - bits)
        for k in range(1, per_byte):  # at most 8 vector operations
            out |= c[:, k] << (8 - bits * (k + 1))
        return out.astype(np.uint8, copy=False).tobytes()
    if bits < 8:
        matrix = np.unpackbits(codes.astype(np.uint8, copy=False).reshape(n, 1), axis=1)
        return np.packbits(matrix[:, 8 - bits :]).tobytes()
    width = 16 if bits <= 16 else 32
    as_bytes = codes.astype(f">u{width // 8}", copy=False).view(np.uint8).reshape(n, width // 8)
    matrix = np.unpackbits(as_bytes, axis=1)
    return np.packbits(matrix[:, width - bits :]).tobytes()


def unpack_codes(data: bytes | np.ndarray, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``count`` codes as uint8 (bits <= 8), uint16 (<= 16)
    or uint32."""
    if not 1 <= bits <= 32:
        raise SymcodecError(f"cannot unpack codes of {bits} bits (1..32)")
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    need = packed_size(count, bits)
    if buf.shape[0] < need:
        raise SymcodecError(f"{count} codes of {bits} bits need {need} bytes, got {buf.shape[0]}")
    buf = buf[:need]
    if bits == 8:
        return buf.copy()
    if bits == 16:
        return buf.view(">u2").astype(np.uint16)
    if bits in (4, 2, 1):
        per_byte = 8 // bits
        mask = (1 << bits) - 1
        out = np.empty((buf.shape[0], per_byte), dtype=np.uint8)
        for k in range(per_byte):
            out[:, k] = (buf >> (8 - bits * (k + 1))) & mask
        return out.reshape(-1)[:count]
    matrix = np.unpackbits(buf)[: count * bits].reshape(count, bits)
    if bits < 8:
        full = np.zeros((count, 8), dtype=np.uint8)
        full[:, 8 - bits :] = matrix
        return np.packbits(full, axis=1).reshape(-1)
    width = 16 if bits <= 16 else 32
    full = np.zeros((count, width), dtype=np.uint8)
    full[:, width - bits :] = matrix
    out_dtype = np.uint16 if width == 16 else np.uint32
    return np.packbits(full, axis=1).view(f">u{width // 8}").reshape(-1).astype(out_dtype)


def codes_touching(byte_mask: np.ndarray, count: int, bits: int) -> np.ndarray:
    """Which of ``count`` packed ``bits``-bit codes have a bit in a byte that ``byte_mask``
    marks (a boolean per byte of the packed data): the codes an erased byte destroys.

    >>> mask = np.zeros(10, dtype=bool)
    >>> mask[2] = True                       # bits 16..23
    >>> codes_touching(mask, count=8, bits=10).tolist()   # code i spans bits 10i .. 10i+9
    [False, True, True, False, False, False, False, False]
    """
    if count == 0 or not byte_mask.any():
        return np.zeros(count, dtype=bool)
    index = np.arange(count, dtype=np.int64)
    first = (index * bits) // 8
    last = ((index + 1) * bits - 1) // 8
    middle = np.minimum(first + 1, last)  # a code spans at most 3 bytes (bits <= 16)
    mask = byte_mask.astype(bool)
    if bits > 16:  # float32 / int64 passthrough: check every byte
        per_value = bits // 8
        return mask.reshape(count, per_value).any(axis=1)
    return mask[first] | mask[middle] | mask[last]
