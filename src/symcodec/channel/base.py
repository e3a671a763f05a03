"""The channel base class, what one transmission did, and the helpers every channel shares.

* :class:`Channel`: a name, a domain (analog, digital or both) and its own seeded
  ``torch.Generator``; :meth:`Channel.transmit_values` (analog) and
  :meth:`Channel.transmit_bits` (digital) check the input and call the subclass's
  ``_values`` / ``_bits``.
* :class:`ChannelStats`: what one call did (bits sent, bit errors, erased packets, SNR ...).
* Helpers used by the concrete channels: :func:`finite_number`, :func:`probability`,
  :func:`count_bit_errors`, :func:`to_db`, and the payload/seed conversions.

Randomness: a ``seed`` goes through ``numpy.random.SeedSequence`` into a 64-bit torch seed
(OS entropy when None); a per-call ``rng`` may be an int seed, a ``torch.Generator`` or a
``numpy.random.Generator`` (one integer is drawn from it). No global RNG state is touched.

>>> to_db(100.0), count_bit_errors(np.array([0x0F], np.uint8), np.array([0xF0], np.uint8))
(20.0, 8)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from ..errors import SymcodecError

__all__ = [
    "CHUNK_BITS",
    "DEFAULT_PACKET_BYTES",
    "Domain",
    "Payload",
    "Rng",
    "Channel",
    "ChannelStats",
    "finite_number",
    "probability",
    "count_bit_errors",
    "to_db",
]

#: Bits simulated per chunk (1 Mi bits: a 4 MiB float32 noise buffer, cache friendly).
CHUNK_BITS = 1 << 20
#: Packet size of ``erasure`` when none is given, in bytes.
DEFAULT_PACKET_BYTES = 1024

Domain = Literal["analog", "digital", "both"]
Payload = np.ndarray | bytes | bytearray | memoryview
Rng = int | np.random.Generator | torch.Generator | None

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


# --------------------------------------------------------------------------------------
# validation and units


def finite_number(name: str, value: Any) -> float:
    """``value`` as a float; SymcodecError naming ``name`` unless it is a finite real number.

    >>> finite_number("snr_db", 3)
    3.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SymcodecError(f"{name} must be a finite number, got {value!r}")
    if not math.isfinite(float(value)):
        raise SymcodecError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def positive_integer(name: str, value: Any) -> int:
    """``value`` as an int; SymcodecError naming ``name`` unless it is an integer >= 1 (a
    Python or numpy integer, not a bool).

    >>> positive_integer("max_blocks", 600)
    600
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise SymcodecError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def probability(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1]; SymcodecError naming ``name`` otherwise."""
    v = finite_number(name, value)
    if not 0.0 <= v <= 1.0:
        raise SymcodecError(f"{name} must be a probability in [0, 1], got {value!r}")
    return v


def count_bit_errors(sent: np.ndarray, received: np.ndarray) -> int:
    """Number of bits that differ between two uint8 arrays of the same shape."""
    return int(_POPCOUNT[np.bitwise_xor(sent, received)].sum(dtype=np.int64))


def to_db(ratio: float) -> float:
    """``10 log10(ratio)``: inf for inf, -inf for 0, nan for nan."""
    if math.isnan(ratio):
        return math.nan
    return 10.0 * math.log10(ratio) if ratio > 0 else -math.inf


# --------------------------------------------------------------------------------------
# randomness and payloads (used by Channel only)


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
    domain: Domain = "both"
    bits_per_symbol: int | None = None

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng = _new_generator(seed)

    @property
    def generator(self) -> torch.Generator:
        """The channel's own generator: calls without ``rng`` draw from it (and advance it).

        >>> a, b = Channel(seed=5), Channel(seed=5)
        >>> torch.equal(torch.rand(3, generator=a.generator), torch.rand(3, generator=b.generator))
        True
        """
        return self._rng

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
