"""Channels, closed-form bit error rates and link latency (SPEC sections 5 and 7).

Two domains:

* **analog** channels act on the float values sent, one ``torch.Tensor`` per transmitted
  tensor: :class:`AWGNChannel` (and :class:`IdealChannel`), via
  :meth:`Channel.transmit_values`.
* **digital** channels act on the payload bytes (fixed-length b-bit codes packed MSB-first;
  the channel sees only a bit stream): :class:`BSCChannel`, :class:`ModulatedChannel`
  (BPSK, QPSK, 16-QAM; AWGN or flat Rayleigh fading), :class:`ErasureChannel` (and
  :class:`IdealChannel`), via :meth:`Channel.transmit_bits`.

Every call returns the channel output and a :class:`ChannelStats` saying what the channel did
(bits sent, bit errors, symbols, erased packets, empirical SNR ...).

Randomness: every channel owns a ``torch.Generator`` seeded from its ``seed`` (OS entropy when
``seed`` is None); each call can instead take ``rng``: an int seed, a ``torch.Generator``, or a
``numpy.random.Generator`` (one integer is drawn from it to seed a torch generator). No global
RNG state is read or changed; the same seed gives the same output.

Bit stream convention: bit ``i`` of the stream is bit ``7 - i % 8`` (MSB first) of byte
``i // 8``; ``log2 M`` consecutive bits form one symbol. Noise is drawn in float32 (option
float64), in chunks of ``CHUNK_BITS`` bits, so no step loops over bits or symbols in Python.

>>> ch = make_channel("bpsk-awgn", ebn0_db=4.0, seed=1)
>>> received, stats = ch.transmit_bits(bytes(1000))
>>> len(received), stats.bits_sent
(1000, 8000)
>>> abs(stats.ber - ber_theory(ch)) < 0.01
True
>>> round(Link().latency_ms(encode_s=0.010, bits=20_000, decode_s=0.005), 6)  # 20 ms on air
35.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .errors import SymcodecError

__all__ = [
    "CHUNK_BITS",
    "DEFAULT_PACKET_BYTES",
    "MODULATIONS",
    "Channel",
    "ChannelStats",
    "IdealChannel",
    "AWGNChannel",
    "BSCChannel",
    "ModulatedChannel",
    "ErasureChannel",
    "Link",
    "make_channel",
    "channel_names",
    "q_function",
    "ber_bpsk_awgn",
    "ber_qam_awgn",
    "ber_bpsk_rayleigh",
    "ber_qam_rayleigh",
    "ber_theory",
    "equal_energy_snr_db",
]

#: Bits simulated per chunk (1 Mi bits: a 4 MiB float32 noise buffer, cache friendly).
CHUNK_BITS = 1 << 20
#: Packet size of ``erasure`` when none is given, in bytes.
DEFAULT_PACKET_BYTES = 1024

#: modulation -> (real dimensions used per symbol, bits per dimension); Gray-mapped PAM on
#: each dimension: BPSK = 2-PAM on I, QPSK = 2-PAM on I and Q, 16-QAM = 4-PAM on I and Q.
MODULATIONS: dict[str, tuple[int, int]] = {"bpsk": (1, 1), "qpsk": (2, 1), "qam16": (2, 2)}
_FADINGS = ("awgn", "rayleigh")

_CHANNEL_NAMES = (
    "ideal",
    "awgn",
    "bsc",
    "bpsk-awgn",
    "qpsk-awgn",
    "qam16-awgn",
    "bpsk-rayleigh",
    "qpsk-rayleigh",
    "qam16-rayleigh",
    "erasure",
)
_ALIASES = {"rayleigh": "bpsk-rayleigh"}

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

Payload = np.ndarray | bytes | bytearray | memoryview
Rng = int | np.random.Generator | torch.Generator | None


# --------------------------------------------------------------------------------------
# validation and randomness


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SymcodecError(f"{name} must be a finite number, got {value!r}")
    if not math.isfinite(float(value)):
        raise SymcodecError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _probability(name: str, value: Any) -> float:
    v = _finite(name, value)
    if not 0.0 <= v <= 1.0:
        raise SymcodecError(f"{name} must be a probability in [0, 1], got {value!r}")
    return v


def _seed_value(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SymcodecError(f"seed must be a non-negative integer, got {seed!r}")
    # SeedSequence mixes small/consecutive seeds into well-spread 64-bit torch seeds
    return int(np.random.SeedSequence(int(seed)).generate_state(1, np.uint64)[0])


def _new_generator(seed: int | None) -> torch.Generator:
    if seed is None:
        entropy = np.random.SeedSequence().generate_state(1, np.uint64)[0]  # OS entropy
        return torch.Generator().manual_seed(int(entropy))
    return torch.Generator().manual_seed(_seed_value(seed))


def _generator(rng: Rng, default: torch.Generator) -> torch.Generator:
    if rng is None:
        return default
    if isinstance(rng, torch.Generator):
        if rng.device.type != "cpu":
            raise SymcodecError(f"rng must be a CPU torch.Generator, got device {rng.device}")
        return rng
    if isinstance(rng, np.random.Generator):
        return torch.Generator().manual_seed(int(rng.integers(0, 2**63, dtype=np.int64)))
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return torch.Generator().manual_seed(_seed_value(rng))
    raise SymcodecError(
        f"rng must be an int seed, a numpy or torch Generator, or None, got {type(rng).__name__}"
    )


def _as_bytes(payload: Payload) -> np.ndarray:
    """The payload as a flat, contiguous uint8 array (a view when possible)."""
    if isinstance(payload, np.ndarray):
        if payload.dtype != np.uint8:
            raise SymcodecError(
                f"payload must be a uint8 array or bytes, got dtype {payload.dtype}"
            )
        return np.ascontiguousarray(payload).reshape(-1)
    if isinstance(payload, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(payload), dtype=np.uint8)
    raise SymcodecError(f"payload must be a uint8 array or bytes, got {type(payload).__name__}")


def _like(received: np.ndarray, payload: Payload) -> Payload:
    """``received`` in the container type of ``payload`` (array of its shape, or bytes)."""
    if isinstance(payload, np.ndarray):
        return received.reshape(payload.shape)
    return received.tobytes()


def _count_bit_errors(sent: np.ndarray, received: np.ndarray) -> int:
    return int(_POPCOUNT[np.bitwise_xor(sent, received)].sum(dtype=np.int64))


def _db(ratio: float) -> float:
    """``10 log10(ratio)``: inf for inf, -inf for 0, nan for nan."""
    if math.isnan(ratio):
        return math.nan
    return 10.0 * math.log10(ratio) if ratio > 0 else -math.inf


# --------------------------------------------------------------------------------------
# statistics


@dataclass
class ChannelStats:
    """What one transmission did.

    Attributes:
        channel: the channel's name (``make_channel`` name, e.g. ``"qpsk-rayleigh"``).
        domain: ``"analog"`` or ``"digital"`` (the domain of this transmission).
        values_sent: analog: number of real values sent.
        bits_sent: digital: payload bits sent (8 per byte).
        bit_errors: bits flipped by the channel (erasures are counted separately).
        symbols: channel uses: modulation symbols (bits / bits per symbol), values for
            analog channels, bits for ``bsc``; 0 otherwise.
        packets: ``erasure``: packets sent (the last one may be short).
        erased_packets: ``erasure``: packets lost.
        erased_bytes: ``erasure``: bytes lost (zeroed in the output).
        erased_mask: ``erasure``: one bool per payload byte, True where erased; None otherwise.
        snr_db: the requested SNR per value in dB (``awgn``).
        ebn0_db: the requested Eb/N0 in dB (modulated channels).
        empirical_snr_db: ``awgn``: ``10 log10(mean(x^2) / mean(n^2))`` of the noise actually
            added (inf for the ideal channel; nan for an all-zero or empty tensor, which gets
            no noise).
        empirical_ebn0_db: modulated channels: energy per bit of the symbols sent over the
            measured N0 (``2 * mean`` of the noise per real dimension), in dB; fading excluded.
        noise_energy: ``awgn``: sum of the squared noise added.
        packet_bytes: ``erasure``: the packet size in bytes.
    """

    channel: str
    domain: str
    values_sent: int = 0
    bits_sent: int = 0
    bit_errors: int = 0
    symbols: int = 0
    packets: int = 0
    erased_packets: int = 0
    erased_bytes: int = 0
    erased_mask: np.ndarray | None = field(default=None, repr=False)
    snr_db: float | None = None
    ebn0_db: float | None = None
    empirical_snr_db: float | None = None
    empirical_ebn0_db: float | None = None
    noise_energy: float | None = None
    packet_bytes: int | None = None

    @property
    def ber(self) -> float:
        """Bit error rate ``bit_errors / bits_sent`` (0.0 when nothing was sent)."""
        return self.bit_errors / self.bits_sent if self.bits_sent else 0.0

    def erased_ranges(self) -> list[tuple[int, int]]:
        """Erased byte ranges ``[start, stop)``, adjacent lost packets merged.

        >>> s = ChannelStats("erasure", "digital", erased_mask=np.array([0, 1, 1, 0, 1], bool))
        >>> s.erased_ranges()
        [(1, 3), (4, 5)]
        """
        if self.erased_mask is None or not self.erased_mask.any():
            return []
        m = np.concatenate(([False], self.erased_mask.astype(bool), [False]))
        edges = np.flatnonzero(m[1:] != m[:-1])
        return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


# --------------------------------------------------------------------------------------
# channels


class Channel:
    """Base class: a channel with a name, a domain and its own seeded generator.

    Attributes:
        name: the ``make_channel`` name.
        domain: ``"analog"``, ``"digital"`` or ``"both"`` (the ideal channel).
        bits_per_symbol: bits per modulation symbol (modulated channels), else None.
        seed: the seed given (None: OS entropy).
    """

    name = "channel"
    domain = "both"
    bits_per_symbol: int | None = None

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng = _new_generator(seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the channel's own generator from ``seed``."""
        self.seed = seed
        self._rng = _new_generator(seed)

    def params(self) -> dict[str, Any]:
        """The parameters that define the channel (for reports)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in {**self.params(), "seed": self.seed}.items())
        return f"{type(self).__name__}({args})"

    # --- analog

    def transmit_values(
        self, x: torch.Tensor, rng: Rng = None
    ) -> tuple[torch.Tensor, ChannelStats]:
        """Send one tensor of real values; return what arrives and the stats.

        Args:
            x: float tensor (any shape); the tensor is not modified.
            rng: seed or generator for this call (default: the channel's own generator).

        Returns:
            ``(y, stats)``: ``y`` has the shape and dtype of ``x``.
        """
        if self.domain == "digital":
            raise SymcodecError(f"channel {self.name!r} is digital: use transmit_bits on bytes")
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise SymcodecError(f"transmit_values needs a real float tensor, got {got}")
        return self._values(x, _generator(rng, self._rng))

    def _values(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ChannelStats]:
        raise NotImplementedError

    # --- digital

    def transmit_bits(self, payload: Payload, rng: Rng = None) -> tuple[Payload, ChannelStats]:
        """Send payload bytes as a bit stream; return what arrives and the stats.

        Args:
            payload: uint8 numpy array (any shape) or bytes-like; not modified.
            rng: seed or generator for this call (default: the channel's own generator).

        Returns:
            ``(received, stats)``: ``received`` is a uint8 array of the payload's shape when
            the payload is an array, else ``bytes``; same number of bytes.
        """
        if self.domain == "analog":
            raise SymcodecError(f"channel {self.name!r} is analog: use transmit_values on a tensor")
        data = _as_bytes(payload)
        received, stats = self._bits(data, _generator(rng, self._rng))
        return _like(received, payload), stats

    def _bits(self, data: np.ndarray, gen: torch.Generator) -> tuple[np.ndarray, ChannelStats]:
        raise NotImplementedError

    def transmit(self, data: torch.Tensor | Payload, rng: Rng = None) -> tuple[Any, ChannelStats]:
        """``transmit_values`` for a tensor, ``transmit_bits`` for bytes or a uint8 array."""
        if isinstance(data, torch.Tensor):
            return self.transmit_values(data, rng)
        return self.transmit_bits(data, rng)


class IdealChannel(Channel):
    """Nothing changes, in both domains (``ideal``).

    >>> y, s = IdealChannel().transmit_values(torch.ones(3))
    >>> y.tolist(), s.empirical_snr_db
    ([1.0, 1.0, 1.0], inf)
    >>> IdealChannel().transmit_bits(b"ab")[0]
    b'ab'
    """

    name = "ideal"
    domain = "both"

    def _values(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ChannelStats]:
        n = x.numel()
        stats = ChannelStats(
            self.name, "analog", values_sent=n, symbols=n, empirical_snr_db=math.inf,
            noise_energy=0.0,
        )  # fmt: skip
        return x.detach().clone(), stats

    def _bits(self, data: np.ndarray, gen: torch.Generator) -> tuple[np.ndarray, ChannelStats]:
        return data.copy(), ChannelStats(self.name, "digital", bits_sent=8 * data.size)


class AWGNChannel(Channel):
    """Analog AWGN on the values (``awgn``): ``y = x + n``, ``n ~ N(0, mean(x^2) 10^(-snr_db/10))``.

    The mean is over the tensor sent, so each tensor gets exactly ``snr_db`` per value (see
    :func:`equal_energy_snr_db` for the equal-energy convention). Noise is drawn in the
    tensor's dtype (float32 for half types); an all-zero tensor gets no noise.

    Args:
        snr_db: SNR per transmitted value, in dB (finite).
        seed: seed of the channel's own generator (None: OS entropy).

    >>> ch = AWGNChannel(snr_db=20.0, seed=0)
    >>> y, s = ch.transmit_values(torch.ones(100_000))
    >>> round(s.empirical_snr_db, 1)
    20.0
    """

    name = "awgn"
    domain = "analog"

    def __init__(self, snr_db: float, seed: int | None = None) -> None:
        self.snr_db = _finite("snr_db", snr_db)
        super().__init__(seed)

    def params(self) -> dict[str, Any]:
        return {"snr_db": self.snr_db}

    def _values(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ChannelStats]:
        # arithmetic in numpy on CPU (see ModulatedChannel: torch's threaded element-wise ops
        # crawl on busy cores); noise from torch's generator
        n = x.numel()
        stats = ChannelStats(
            self.name, "analog", values_sent=n, symbols=n, snr_db=self.snr_db,
            empirical_snr_db=math.nan, noise_energy=0.0,
        )  # fmt: skip
        work_dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        a = x.detach().to("cpu", work_dtype).contiguous().numpy().reshape(-1)
        power = float(np.square(a, dtype=np.float64).sum()) / n if n else 0.0
        if not math.isfinite(power):
            raise SymcodecError("awgn: the tensor sent has non-finite values (inf or nan)")
        if power == 0.0:
            return x.detach().clone(), stats
        std = math.sqrt(power * 10.0 ** (-self.snr_db / 10.0))
        noise = torch.empty(n, dtype=work_dtype).normal_(generator=gen).numpy()
        noise *= std
        noise += a  # received: x + n
        y = torch.from_numpy(noise).reshape(x.shape).to(x.device, x.dtype)
        back = y.detach().to("cpu", torch.float64).numpy().reshape(-1)
        added = float(np.square(back - a, dtype=np.float64).sum())  # the noise that arrived
        stats.noise_energy = added
        stats.empirical_snr_db = _db(power * n / added) if added > 0 else math.inf
        return y, stats


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
        self.p = _probability("p", p)
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
            bit_errors=_count_bit_errors(data, out),
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
        modulation: str,
        ebn0_db: float,
        fading: str = "awgn",
        seed: int | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if modulation not in MODULATIONS:
            raise SymcodecError(
                f"unknown modulation {modulation!r}; known: {', '.join(MODULATIONS)}"
            )
        if fading not in _FADINGS:
            raise SymcodecError(f"unknown fading {fading!r}; known: {', '.join(_FADINGS)}")
        if dtype not in (torch.float32, torch.float64):
            raise SymcodecError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.modulation = modulation
        self.fading = fading
        self.ebn0_db = _finite("ebn0_db", ebn0_db)
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
            bit_errors=_count_bit_errors(data, out), ebn0_db=self.ebn0_db,
            empirical_ebn0_db=_db(signal_sq / nbits / n0) if nbits else math.nan,
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
        self.p = _probability("p", p)
        if (
            isinstance(packet_bytes, bool)
            or not isinstance(packet_bytes, int | np.integer)
            or packet_bytes < 1
        ):
            raise SymcodecError(f"packet_bytes must be a positive integer, got {packet_bytes!r}")
        self.packet_bytes = int(packet_bytes)
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


# --------------------------------------------------------------------------------------
# factory


def channel_names() -> tuple[str, ...]:
    """The channel names ``make_channel`` accepts (``rayleigh`` is also accepted, as
    ``bpsk-rayleigh``).

    >>> channel_names()[:3]
    ('ideal', 'awgn', 'bsc')
    """
    return _CHANNEL_NAMES


def make_channel(
    name: str,
    *,
    snr_db: float | None = None,
    ebn0_db: float | None = None,
    p: float | None = None,
    packet_bytes: int | None = None,
    seed: int | None = None,
) -> Channel:
    """Build a channel by name (SPEC section 5).

    Parameters by name: ``ideal``: none; ``awgn``: ``snr_db``; ``bsc``: ``p``;
    ``<bpsk|qpsk|qam16>-<awgn|rayleigh>`` and ``rayleigh``: ``ebn0_db``; ``erasure``: ``p`` and
    optionally ``packet_bytes`` (default ``DEFAULT_PACKET_BYTES``). A missing, extra or
    out-of-range parameter raises :class:`SymcodecError`.

    Args:
        name: one of :func:`channel_names` (or ``rayleigh``).
        snr_db: SNR per value in dB.
        ebn0_db: Eb/N0 in dB.
        p: bit flip (``bsc``) or packet loss (``erasure``) probability in [0, 1].
        packet_bytes: erasure packet size in bytes.
        seed: seed of the channel's generator (None: OS entropy).

    >>> make_channel("qpsk-rayleigh", ebn0_db=10.0, seed=3)
    ModulatedChannel(modulation='qpsk', ebn0_db=10.0, fading='rayleigh', seed=3)
    >>> make_channel("awgn", p=0.1)
    Traceback (most recent call last):
    ...
    symcodec.errors.SymcodecError: channel 'awgn' needs snr_db
    """
    if not isinstance(name, str):
        raise SymcodecError(f"channel name must be a string, got {type(name).__name__}")
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _CHANNEL_NAMES:
        raise SymcodecError(
            f"unknown channel {name!r}; known: {', '.join(_CHANNEL_NAMES)}, rayleigh"
        )
    given = {
        k: v
        for k, v in {
            "snr_db": snr_db,
            "ebn0_db": ebn0_db,
            "p": p,
            "packet_bytes": packet_bytes,
        }.items()
        if v is not None
    }
    if key == "ideal":
        needed, optional = (), ()
    elif key == "awgn":
        needed, optional = ("snr_db",), ()
    elif key == "bsc":
        needed, optional = ("p",), ()
    elif key == "erasure":
        needed, optional = ("p",), ("packet_bytes",)
    else:
        needed, optional = ("ebn0_db",), ()
    for k in needed:
        if k not in given:
            raise SymcodecError(f"channel {key!r} needs {k}")
    for k in given:
        if k not in needed and k not in optional:
            raise SymcodecError(f"channel {key!r} takes no {k}")
    if key == "ideal":
        return IdealChannel(seed=seed)
    if key == "awgn":
        return AWGNChannel(snr_db, seed=seed)
    if key == "bsc":
        return BSCChannel(p, seed=seed)
    if key == "erasure":
        pb = DEFAULT_PACKET_BYTES if packet_bytes is None else packet_bytes
        return ErasureChannel(p, pb, seed=seed)
    modulation, fading = key.split("-")
    return ModulatedChannel(modulation, ebn0_db, fading, seed=seed)


# --------------------------------------------------------------------------------------
# closed forms


def _lin(ebn0_db: Any) -> Any:
    if isinstance(ebn0_db, np.ndarray | list | tuple):
        arr = np.asarray(ebn0_db, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise SymcodecError("ebn0_db must be finite")
        return 10.0 ** (arr / 10.0)
    return 10.0 ** (_finite("ebn0_db", ebn0_db) / 10.0)


def q_function(x: Any) -> Any:
    """Gaussian tail ``Q(x) = P(N(0, 1) > x) = erfc(x / sqrt 2) / 2``.

    Args:
        x: a number (returns float) or array-like (returns a float64 numpy array).

    >>> round(q_function(0.0), 3), f"{q_function(3.0):.4e}"
    (0.5, '1.3499e-03')
    """
    if isinstance(x, np.ndarray | list | tuple):
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        return (0.5 * torch.special.erfc(t / math.sqrt(2.0))).numpy()
    return 0.5 * math.erfc(float(x) / math.sqrt(2.0))


def _rayleigh_avg(gbar: Any) -> Any:
    """``E[Q(sqrt(2 g))]`` for ``g`` exponential with mean ``gbar``."""
    return 0.5 * (1.0 - np.sqrt(gbar / (1.0 + gbar)))


def ber_bpsk_awgn(ebn0_db: Any) -> Any:
    """BPSK (and Gray QPSK) bit error rate over AWGN: ``Q(sqrt(2 Eb/N0))``.

    Args:
        ebn0_db: Eb/N0 in dB (number or array-like).

    >>> f"{ber_bpsk_awgn(9.6):.2e}"
    '9.74e-06'
    """
    return q_function(np.sqrt(2.0 * _lin(ebn0_db)))


def ber_bpsk_rayleigh(ebn0_db: Any) -> Any:
    """BPSK (and Gray QPSK) bit error rate over flat Rayleigh fading with perfect CSI:
    ``0.5 (1 - sqrt(g / (1 + g)))``, ``g`` = average Eb/N0 (linear).

    >>> round(ber_bpsk_rayleigh(10.0), 5)
    0.02327
    """
    out = _rayleigh_avg(_lin(ebn0_db))
    return float(out) if np.ndim(out) == 0 else out


def _qam_order(M: Any) -> int:
    if isinstance(M, bool) or not isinstance(M, int | np.integer) or M < 4:
        raise SymcodecError(f"QAM order M must be 4, 16, 64, ... (a power of 4), got {M!r}")
    L = math.isqrt(int(M))
    if L * L != M or L & (L - 1):
        raise SymcodecError(f"QAM order M must be 4, 16, 64, ... (a power of 4), got {M!r}")
    return L


def _pam_gray_terms(L: int) -> dict[int, float]:
    """Exact Gray L-PAM bit error rate as ``sum_t w_t Q(t d)`` (``d`` = half spacing / sigma).

    Sent level ``i`` is decided as ``j > i`` when the noise lands in
    ``[(2(j-i) - 1) d, (2(j-i) + 1) d)`` (the last region is open); bits in error:
    ``popcount(gray(i) ^ gray(j))``; symmetric for ``j < i``.
    """
    bits = int(math.log2(L))
    terms: dict[int, float] = {}
    for i in range(L):
        for j in range(L):
            if i == j:
                continue
            errs = bin((i ^ (i >> 1)) ^ (j ^ (j >> 1))).count("1")
            dist = abs(j - i)
            w = errs / (L * bits)
            terms[2 * dist - 1] = terms.get(2 * dist - 1, 0.0) + w
            if j not in (0, L - 1):  # inner region: subtract the far tail
                terms[2 * dist + 1] = terms.get(2 * dist + 1, 0.0) - w
    return {t: w for t, w in terms.items() if abs(w) > 1e-15}


def _qam_d2(M: int, g: Any) -> Any:
    """``d^2 = 3 log2(M) (Eb/N0) / (M - 1)`` for square M-QAM."""
    return 3.0 * math.log2(M) * g / (M - 1)


def ber_qam_awgn(M: int, ebn0_db: Any, exact: bool = False) -> Any:
    """Gray square M-QAM bit error rate over AWGN.

    Default (SPEC): ``(4/log2 M)(1 - 1/sqrt M) Q(sqrt(3 log2(M) Eb/N0 / (M - 1)))``, the
    nearest-neighbour approximation (exact for M = 4, where it equals BPSK; for 16-QAM it is
    1.3% low at 0 dB and within 0.01% from 4 dB up). ``exact=True`` sums every decision
    region of the Gray PAM on each dimension (16-QAM:
    ``(3 Q(d) + 2 Q(3d) - Q(5d)) / 4``).

    Args:
        M: constellation size, a power of 4 (4, 16, 64, ...).
        ebn0_db: Eb/N0 in dB (number or array-like).
        exact: sum all terms instead of the nearest-neighbour approximation.

    >>> ber_qam_awgn(4, 6.0) == ber_bpsk_awgn(6.0)
    True
    >>> round(ber_qam_awgn(16, 0.0), 4), round(ber_qam_awgn(16, 0.0, exact=True), 4)
    (0.1392, 0.141)
    """
    L = _qam_order(M)
    d = np.sqrt(_qam_d2(M, _lin(ebn0_db)))
    if not exact:
        return (4.0 / math.log2(M)) * (1.0 - 1.0 / L) * q_function(d)
    return sum(w * q_function(t * d) for t, w in _pam_gray_terms(L).items())


def ber_qam_rayleigh(M: int, ebn0_db: Any, exact: bool = False) -> Any:
    """Gray square M-QAM bit error rate over flat Rayleigh fading, perfect CSI, equalized.

    Each ``w Q(t d)`` term of :func:`ber_qam_awgn` averaged over ``|h|^2 ~ Exp(1)``:
    ``w * 0.5 (1 - sqrt(c / (1 + c)))``, ``c = t^2 d^2 / 2``. M = 4 equals
    :func:`ber_bpsk_rayleigh`.

    Args:
        M: constellation size, a power of 4.
        ebn0_db: average Eb/N0 in dB.
        exact: all terms (default: the nearest-neighbour term, as in the SPEC formula).

    >>> round(ber_qam_rayleigh(16, 10.0), 4), round(ber_qam_rayleigh(16, 10.0, exact=True), 4)
    (0.0396, 0.0424)
    """
    L = _qam_order(M)
    d2 = _qam_d2(M, _lin(ebn0_db))
    if not exact:
        out = (4.0 / math.log2(M)) * (1.0 - 1.0 / L) * _rayleigh_avg(d2 / 2.0)
    else:
        out = sum(w * _rayleigh_avg(t * t * d2 / 2.0) for t, w in _pam_gray_terms(L).items())
    return float(out) if np.ndim(out) == 0 else out


def ber_theory(channel: Channel, exact: bool = False) -> float:
    """Closed-form bit error rate of a digital channel (SPEC section 5 formulas).

    ``ideal`` 0, ``bsc`` p, BPSK/QPSK: :func:`ber_bpsk_awgn` / :func:`ber_bpsk_rayleigh`,
    16-QAM: :func:`ber_qam_awgn` / :func:`ber_qam_rayleigh` (``exact`` passed on).
    ``awgn`` and ``erasure`` have no bit error rate: SymcodecError.

    >>> ber_theory(make_channel("bsc", p=0.01))
    0.01
    """
    if isinstance(channel, IdealChannel):
        return 0.0
    if isinstance(channel, BSCChannel):
        return channel.p
    if isinstance(channel, ModulatedChannel):
        M = 2**channel.bits_per_symbol
        if channel.fading == "awgn":
            if channel.modulation == "bpsk":
                return float(ber_bpsk_awgn(channel.ebn0_db))
            return float(ber_qam_awgn(M, channel.ebn0_db, exact))
        if channel.modulation == "bpsk":
            return float(ber_bpsk_rayleigh(channel.ebn0_db))
        return float(ber_qam_rayleigh(M, channel.ebn0_db, exact))
    raise SymcodecError(f"channel {channel.name!r} has no bit error rate")


def equal_energy_snr_db(snr_db: float, values_sent: int, dof: int) -> float:
    """Per-value SNR under the equal-energy convention (SPEC section 5).

    A mode that sends ``values_sent`` values for ``dof`` degrees of freedom at ``snr_db`` per
    DoF gets ``snr_db - 10 log10(values_sent / dof)`` dB per value.

    Args:
        snr_db: SNR per degree of freedom, in dB.
        values_sent: values transmitted (positive).
        dof: degrees of freedom they carry (positive).

    >>> round(equal_energy_snr_db(10.0, values_sent=9, dof=4), 3)  # full-project, central-skew
    6.478
    """
    s = _finite("snr_db", snr_db)
    for name, v in (("values_sent", values_sent), ("dof", dof)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise SymcodecError(f"{name} must be a positive integer, got {v!r}")
    return s - 10.0 * math.log10(values_sent / dof)


# --------------------------------------------------------------------------------------
# link (SPEC section 7)


@dataclass(frozen=True)
class Link:
    """A link's bit rate and end-to-end latency (SPEC section 7).

    ``rate_bps = bandwidth_hz * bits_per_symbol * code_rate`` (one symbol per second per Hz),
    or, when ``capacity_snr_db`` is set, the Shannon capacity
    ``bandwidth_hz * log2(1 + 10^(capacity_snr_db/10))`` (``bits_per_symbol`` and
    ``code_rate`` are then ignored). Analog transmissions are costed like digital ones: the
    study counts the payload in bits, so the same bit rate applies (default BPSK, rate 1).

    Attributes:
        bandwidth_hz: bandwidth in Hz (default 1 MHz).
        bits_per_symbol: modulation bits per symbol (default 1: BPSK).
        code_rate: channel code rate in (0, 1] (default 1: uncoded).
        capacity_snr_db: SNR in dB for the Shannon rate; None for the modulation rate.

    >>> Link(bits_per_symbol=2).air_time_s(4_000_000)
    2.0
    >>> round(Link(capacity_snr_db=10.0).rate_bps / 1e6, 3)
    3.459
    """

    bandwidth_hz: float = 1e6
    bits_per_symbol: float = 1.0
    code_rate: float = 1.0
    capacity_snr_db: float | None = None

    def __post_init__(self) -> None:
        for name in ("bandwidth_hz", "bits_per_symbol"):
            if _finite(name, getattr(self, name)) <= 0:
                raise SymcodecError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 0.0 < _finite("code_rate", self.code_rate) <= 1.0:
            raise SymcodecError(f"code_rate must be in (0, 1], got {self.code_rate!r}")
        if self.capacity_snr_db is not None:
            _finite("capacity_snr_db", self.capacity_snr_db)

    @property
    def rate_bps(self) -> float:
        """Bit rate in bits/s."""
        if self.capacity_snr_db is not None:
            snr = 10.0 ** (self.capacity_snr_db / 10.0)
            return self.bandwidth_hz * math.log2(1.0 + snr)
        return self.bandwidth_hz * self.bits_per_symbol * self.code_rate

    def air_time_s(self, bits: float) -> float:
        """Seconds on the air for ``bits`` bits (payload + header + code overhead)."""
        if _finite("bits", bits) < 0:
            raise SymcodecError(f"bits must be non-negative, got {bits!r}")
        return float(bits) / self.rate_bps

    def latency_ms(self, encode_s: float, bits: float, decode_s: float) -> float:
        """End-to-end latency in ms: ``encode_s + bits / rate_bps + decode_s`` (seconds in).

        >>> Link().latency_ms(0.001, 1000, 0.001)
        3.0
        """
        for name, v in (("encode_s", encode_s), ("decode_s", decode_s)):
            if _finite(name, v) < 0:
                raise SymcodecError(f"{name} must be non-negative, got {v!r}")
        return 1000.0 * (float(encode_s) + self.air_time_s(bits) + float(decode_s))

    @classmethod
    def for_channel(
        cls,
        channel: Channel,
        *,
        bandwidth_hz: float = 1e6,
        code_rate: float = 1.0,
        capacity: bool = False,
    ) -> Link:
        """The link of a channel: its modulation's bits per symbol (BPSK 1, QPSK 2, 16-QAM 4;
        other channels 1, the BPSK default).

        With ``capacity=True`` the rate is the Shannon capacity at the channel's SNR: ``awgn``:
        ``snr_db``; modulated: ``Es/N0 = ebn0_db + 10 log10(bits per symbol)`` (for Rayleigh
        this is the AWGN capacity at the average SNR, an upper bound). Other channels have no
        SNR: SymcodecError.

        >>> Link.for_channel(make_channel("qam16-awgn", ebn0_db=8.0)).rate_bps
        4000000.0
        """
        if not capacity:
            return cls(bandwidth_hz, float(channel.bits_per_symbol or 1), code_rate)
        if isinstance(channel, AWGNChannel):
            snr_db = channel.snr_db
        elif isinstance(channel, ModulatedChannel):
            snr_db = channel.ebn0_db + 10.0 * math.log10(channel.bits_per_symbol)
        else:
            raise SymcodecError(f"channel {channel.name!r} has no SNR for a Shannon capacity")
        return cls(bandwidth_hz, 1.0, 1.0, capacity_snr_db=snr_db)
