"""Digital channels: they see only the payload's bit stream (SPEC section 5).

* :class:`BSCChannel` (``bsc``): every bit flips with probability ``p``.
* :class:`ModulatedChannel` (``bpsk|qpsk|qam16`` - ``awgn|rayleigh``): Gray-mapped PAM on each
  real dimension, AWGN or flat Rayleigh fading with perfect CSI, hard decisions.
* :class:`ErasureChannel` (``erasure``): whole packets lost with probability ``p``.

Bit ``i`` of the stream is bit ``7 - i % 8`` (MSB first) of byte ``i // 8``; ``log2 M``
consecutive bits form one symbol. Work is done in chunks of ``CHUNK_BITS`` bits with numpy
arithmetic on torch-drawn noise, never looping over bits or symbols in Python.

>>> received, stats = BSCChannel(p=0.0, seed=0).transmit_bits(b"ok")
>>> received, stats.bits_sent, stats.bit_errors
(b'ok', 16, 0)
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch

from ..errors import SymcodecError
from .base import (
    CHUNK_BITS,
    DEFAULT_PACKET_BYTES,
    Channel,
    ChannelStats,
    count_bit_errors,
    finite_number,
    positive_integer,
    probability,
    to_db,
)

__all__ = [
    "MODULATIONS",
    "FADINGS",
    "Modulation",
    "Fading",
    "BSCChannel",
    "ModulatedChannel",
    "ErasureChannel",
]

Modulation = Literal["bpsk", "qpsk", "qam16"]
Fading = Literal["awgn", "rayleigh"]

#: modulation -> (real dimensions used per symbol, bits per dimension); Gray-mapped PAM on
#: each dimension: BPSK = 2-PAM on I, QPSK = 2-PAM on I and Q, 16-QAM = 4-PAM on I and Q.
MODULATIONS: dict[str, tuple[int, int]] = {"bpsk": (1, 1), "qpsk": (2, 1), "qam16": (2, 2)}
#: The fading models of :class:`ModulatedChannel`.
FADINGS: tuple[str, ...] = ("awgn", "rayleigh")


class BSCChannel(Channel):
    """Binary symmetric channel (``bsc``): every payload bit flips with probability ``p``.

    Flips are drawn from float64 uniforms (exact down to p ~ 1e-15).

    Args:
        p: flip probability in [0, 1].
        seed: seed of the channel's own generator.

    >>> received, s = BSCChannel(p=1.0).transmit_bits(b"\\x0f")
    >>> received, s.bit_errors
    (b'\\xf0', 8)
    """

    name = "bsc"
    domain = "digital"

    def __init__(self, p: float, seed: int | None = None) -> None:
        self.p = probability("p", p)
        super().__init__(seed)

    def params(self) -> dict[str, Any]:
        return {"p": self.p}

    def _bits(self, data: np.ndarray, gen: torch.Generator) -> tuple[np.ndarray, ChannelStats]:
        out = np.empty_like(data)
        step = CHUNK_BITS // 8
        uniform = torch.empty(CHUNK_BITS, dtype=torch.float64)
        for start in range(0, data.size, step):
            block = data[start : start + step]
            u = uniform[: 8 * block.size].uniform_(generator=gen).numpy()
            flips = np.packbits(u < self.p)
            np.bitwise_xor(block, flips, out=out[start : start + step])
        nbits = 8 * data.size
        stats = ChannelStats(
            self.name, "digital", bits_sent=nbits, symbols=nbits,
            bit_errors=count_bit_errors(data, out),
        )  # fmt: skip
        return out, stats


# Gray-mapped PAM on one real dimension, levels spaced by 2 (..., -3, -1, 1, 3, ...).
# 2-PAM: bit b -> 1 - 2b.  4-PAM: bits (b0, b1) -> (1 - 2 b0) (1 + 2 b1), i.e. -3, -1, 1, 3
# carry 11, 10, 00, 01 (adjacent levels differ in one bit); decisions b0 = y < 0, b1 = |y| > 2.
_PAM_ENERGY = {1: 1.0, 2: 5.0}  # mean level energy per dimension, (L^2 - 1) / 3


def _pam_map(bits: np.ndarray, m: int, out: np.ndarray) -> np.ndarray:
    """Levels of ``bits`` (uint8, shape (N, m)) written into ``out`` (float, shape (N,))."""
    np.multiply(bits[:, 0], -2.0, out=out, casting="unsafe")
    out += 1.0  # 1 - 2 b0
    if m == 2:
        out *= bits[:, 1] * 2.0 + 1.0  # (1 - 2 b0) (1 + 2 b1)
    return out


def _pam_decide(y: np.ndarray, m: int, out: np.ndarray) -> np.ndarray:
    """Hard decisions of received levels ``y`` (N,) into ``out`` (bool, shape (N, m)).

    ``y`` may be overwritten (4-PAM takes ``|y|`` in place).
    """
    np.less(y, 0.0, out=out[:, 0])
    if m == 2:
        np.greater(np.abs(y, out=y), 2.0, out=out[:, 1])
    return out


class ModulatedChannel(Channel):
    """Gray-mapped BPSK / QPSK / 16-QAM over AWGN or flat Rayleigh fading, hard decisions.

    Names ``bpsk-awgn``, ``qpsk-awgn``, ``qam16-awgn``, ``bpsk-rayleigh``, ``qpsk-rayleigh``,
    ``qam16-rayleigh``. The bit stream is cut into symbols of ``k = log2 M`` bits (1, 2, 4),
    mapped (Gray) to a constellation of mean energy ``Es = k Eb``; complex noise has
    ``N0 = Eb / 10^(ebn0_db/10)`` (``N0/2`` per real dimension). ``rayleigh``: each symbol is
    multiplied by its own ``h ~ CN(0, 1)`` (flat, independent per symbol, ``E|h|^2 = 1`` so
    Eb/N0 is the average); the receiver knows ``h`` and equalizes ``y / h`` before slicing.
    Under AWGN only the real dimensions that carry bits are simulated (BPSK: I only; the Q
    noise cannot change a BPSK decision).

    Noise is float32 by default (Box-Muller on 24-bit uniforms: accurate for BER down to
    ~1e-6; no noise beyond ~5.7 sigma, so BER below ~1e-8 reads as 0); ``dtype=torch.float64``
    for deep tails at about half the speed.

    Args:
        modulation: ``"bpsk"``, ``"qpsk"`` or ``"qam16"``.
        ebn0_db: Eb/N0 in dB (finite).
        fading: ``"awgn"`` or ``"rayleigh"``.
        seed: seed of the channel's own generator.
        dtype: ``torch.float32`` or ``torch.float64`` for the simulation.

    >>> ch = ModulatedChannel("qam16", ebn0_db=30.0, seed=0)
    >>> ch.name, ch.bits_per_symbol
    ('qam16-awgn', 4)
    >>> ch.transmit_bits(b"symcodec")[0]
    b'symcodec'
    """

    domain = "digital"

    def __init__(
        self,
        modulation: Modulation,
        ebn0_db: float,
        fading: Fading = "awgn",
        seed: int | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if modulation not in MODULATIONS:
            raise SymcodecError(
                f"unknown modulation {modulation!r}; known: {', '.join(MODULATIONS)}"
            )
        if fading not in FADINGS:
            raise SymcodecError(f"unknown fading {fading!r}; known: {', '.join(FADINGS)}")
        if dtype not in (torch.float32, torch.float64):
            raise SymcodecError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.modulation = modulation
        self.fading = fading
        self.ebn0_db = finite_number("ebn0_db", ebn0_db)
        self.dtype = dtype
        self.dims, self.bits_per_dim = MODULATIONS[modulation]
        self.bits_per_symbol = self.dims * self.bits_per_dim
        self.name = f"{modulation}-{fading}"
        # levels spaced by 2: Eb = E_dim / bits_per_dim; noise std per real dim sqrt(N0 / 2)
        eb = _PAM_ENERGY[self.bits_per_dim] / self.bits_per_dim
        self.sigma = math.sqrt(eb / 10.0 ** (self.ebn0_db / 10.0) / 2.0)
        super().__init__(seed)

    def params(self) -> dict[str, Any]:
        return {"modulation": self.modulation, "ebn0_db": self.ebn0_db, "fading": self.fading}

    def _bits(self, data: np.ndarray, gen: torch.Generator) -> tuple[np.ndarray, ChannelStats]:
        out = np.empty_like(data)
        step = CHUNK_BITS // 8  # k in {1, 2, 4} divides 8: chunks hold whole symbols
        noise_sq = signal_sq = 0.0
        noise_samples = 0
        simulate = self._awgn_chunk if self.fading == "awgn" else self._rayleigh_chunk
        buffers = self._buffers(min(CHUNK_BITS, 8 * data.size))
        for start in range(0, data.size, step):
            bits = np.unpackbits(data[start : start + step])
            decided, s2, n2, nn = simulate(bits, gen, buffers)
            out[start : start + step] = np.packbits(decided.reshape(-1))
            signal_sq, noise_sq, noise_samples = signal_sq + s2, noise_sq + n2, noise_samples + nn
        nbits = 8 * data.size
        n0 = 2.0 * self.sigma**2 * noise_sq / noise_samples if noise_samples else 0.0
        stats = ChannelStats(
            self.name, "digital", bits_sent=nbits, symbols=nbits // self.bits_per_symbol,
            bit_errors=count_bit_errors(data, out), ebn0_db=self.ebn0_db,
            empirical_ebn0_db=to_db(signal_sq / nbits / n0) if nbits else math.nan,
        )  # fmt: skip
        return out, stats

    # The noise is drawn by torch (its float normal_ is ~3x numpy's and single-threaded) into
    # a buffer; all arithmetic runs in numpy on views of it (torch's element-wise ops go
    # multi-threaded and slow down by 10-100x when the cores are busy).

    def _buffers(self, nbits: int) -> dict[str, Any]:
        np_dtype = np.float32 if self.dtype == torch.float32 else np.float64
        m, k = self.bits_per_dim, self.bits_per_symbol
        if self.fading == "awgn":
            n = nbits // m  # real dimensions carrying bits
            noise = torch.empty(n, dtype=self.dtype)
            return {
                "noise_t": noise,
                "noise": noise.numpy(),
                "s": np.empty(n, np_dtype),
                "dec": np.empty((n, m), bool),
            }
        nsym = nbits // k
        g = torch.empty(4 * nsym, dtype=self.dtype)
        return {
            "g_t": g,
            "g": g.numpy(),
            "si": np.empty(nsym, np_dtype),
            "sq": np.empty(nsym, np_dtype),
            "dec": np.empty((nsym, k), bool),
        }

    def _awgn_chunk(
        self, bits: np.ndarray, gen: torch.Generator, buf: dict[str, Any]
    ) -> tuple[np.ndarray, float, float, int]:
        m = self.bits_per_dim
        n = bits.size // m
        s = _pam_map(bits.reshape(n, m), m, buf["s"][:n])
        buf["noise_t"][:n].normal_(generator=gen)  # N(0, 1), seen through the numpy view
        noise = buf["noise"][:n]
        n2, s2 = float(np.dot(noise, noise)), float(np.dot(s, s))
        noise *= self.sigma
        y = np.add(noise, s, out=noise)  # received: s + sigma * n
        return _pam_decide(y, m, buf["dec"][:n]), s2, n2, n

    def _rayleigh_chunk(
        self, bits: np.ndarray, gen: torch.Generator, buf: dict[str, Any]
    ) -> tuple[np.ndarray, float, float, int]:
        m, k = self.bits_per_dim, self.bits_per_symbol
        nsym = bits.size // k
        b = bits.reshape(nsym, k)
        si = _pam_map(b[:, :m], m, buf["si"][:nsym])
        sq = _pam_map(b[:, m:], m, buf["sq"][:nsym]) if self.dims == 2 else None
        buf["g_t"][: 4 * nsym].normal_(generator=gen)
        g = buf["g"][: 4 * nsym].reshape(4, nsym)
        n2 = float(np.dot(g[2], g[2]) + np.dot(g[3], g[3]))
        s2 = float(np.dot(si, si) + (np.dot(sq, sq) if sq is not None else 0.0))
        hr, hi = g[0], g[1]
        hr *= math.sqrt(0.5)  # h = hr + j hi ~ CN(0, 1)
        hi *= math.sqrt(0.5)
        nr, ni = g[2], g[3]
        nr *= self.sigma  # n = nr + j ni ~ CN(0, N0)
        ni *= self.sigma
        # y = h s + n
        if sq is None:
            yr, yi = hr * si + nr, hi * si + ni
        else:
            yr, yi = hr * si - hi * sq + nr, hr * sq + hi * si + ni
        # coherent equalization with perfect CSI: z = y conj(h) / |h|^2, then slice
        gain = hr * hr + hi * hi
        zr = yr * hr + yi * hi
        zr /= gain
        dec = buf["dec"][:nsym]
        _pam_decide(zr, m, dec[:, :m])
        if sq is not None:
            zi = yi * hr - yr * hi
            zi /= gain
            _pam_decide(zi, m, dec[:, m:])
        return dec, s2, n2, 2 * nsym


class ErasureChannel(Channel):
    """Packet erasures (``erasure``): each packet of ``packet_bytes`` bytes is lost with
    probability ``p``, independently; the last packet may be shorter.

    Lost bytes come out as 0 and ``stats.erased_mask`` (one bool per byte) marks them; filling
    them with a better estimate is the receiver's business. No bit is flipped.

    Args:
        p: loss probability per packet in [0, 1].
        packet_bytes: packet size in bytes (positive integer).
        seed: seed of the channel's own generator.

    >>> received, s = ErasureChannel(p=1.0, packet_bytes=2).transmit_bits(b"abc")
    >>> received, s.packets, s.erased_packets, s.erased_ranges()
    (b'\\x00\\x00\\x00', 2, 2, [(0, 3)])
    """

    name = "erasure"
    domain = "digital"

    def __init__(
        self, p: float, packet_bytes: int = DEFAULT_PACKET_BYTES, seed: int | None = None
    ) -> None:
        self.p = probability("p", p)
        self.packet_bytes = positive_integer("packet_bytes", packet_bytes)
        super().__init__(seed)

    def params(self) -> dict[str, Any]:
        return {"p": self.p, "packet_bytes": self.packet_bytes}

    def _bits(self, data: np.ndarray, gen: torch.Generator) -> tuple[np.ndarray, ChannelStats]:
        npackets = -(-data.size // self.packet_bytes)
        lost = torch.rand(npackets, generator=gen, dtype=torch.float64).numpy() < self.p
        mask = np.repeat(lost, self.packet_bytes)[: data.size]
        out = data.copy()
        out[mask] = 0
        stats = ChannelStats(
            self.name, "digital", bits_sent=8 * data.size, packets=npackets,
            erased_packets=int(lost.sum()), erased_bytes=int(mask.sum()), erased_mask=mask,
            packet_bytes=self.packet_bytes,
        )  # fmt: skip
        return out, stats
