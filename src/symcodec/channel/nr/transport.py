"""How a byte stream rides on 5G NR transport blocks (38.214 5.1.3.2, 38.212 5.2.2).

A link sends every transport block (TB) on the same number of channel uses
``symbols_per_tb`` (QAM symbols; resource elements times layers in NR terms). The TB then
carries ``G = Q_m * symbols_per_tb`` coded bits, and its size in information bits is the NR
transport block size for ``N_info = R * G`` (Sionna's ``calculate_tb_size``: quantization, the
38.214 TBS table below 3824 bits, the formula above). The TB gets a CRC (16 bits up to 3824
bits, else 24A) and is cut into ``C`` equal code blocks (CBs) of ``K`` bits each; with ``C > 1``
every CB carries its own CRC24B. Each CB is LDPC coded and rate matched to ``E_r`` bits
(``sum E_r = G``).

The byte stream fills the TBs in order (TB sizes are whole bytes); the last TB is zero-padded,
and the padding costs air time like any other bit. A CB that fails its CRC erases every payload
byte it carried bits of (a byte that straddles two CBs is lost with either).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from ...errors import SymcodecError
from ..base import positive_integer
from .backend import require_sionna
from .mcs import Mcs

__all__ = [
    "DEFAULT_SYMBOLS_PER_TB",
    "DEFAULT_SYMBOL_RATE_HZ",
    "FADINGS",
    "Fading",
    "NrResult",
    "TransportFormat",
    "as_payload",
    "check_fading",
    "check_seed",
    "check_symbol_rate",
    "code_block_of_bits",
    "seed_sequence_state",
    "erased_bytes",
    "transport_format",
]

Fading = Literal["awgn", "rayleigh"]
FADINGS: tuple[str, ...] = get_args(Fading)

#: channel uses per TB: 13 PRBs x 12 subcarriers x 12 data OFDM symbols of one slot
DEFAULT_SYMBOLS_PER_TB = 1872
#: channel uses per second (one per Hz of bandwidth, as ``symcodec.channel.Link`` assumes)
DEFAULT_SYMBOL_RATE_HZ = 1e6


@dataclass(frozen=True)
class TransportFormat:
    """The NR transport block layout of one link (all sizes in bits).

    Attributes:
        mcs: the modulation and coding scheme.
        symbols_per_tb: channel uses per TB.
        coded_bits: ``G``, coded bits per TB (``Q_m * symbols_per_tb``).
        tb_bits: information (payload) bits per TB, a multiple of 8.
        num_cbs: code blocks per TB.
        cb_bits: ``K``, LDPC information bits per CB, CRCs included.
        tb_crc_bits: TB CRC length (16 or 24).
        cb_crc_bits: CB CRC length (0 for a single CB, else 24).
        cw_bits: ``E_r``, coded bits of each CB after rate matching.
    """

    mcs: Mcs
    symbols_per_tb: int
    coded_bits: int
    tb_bits: int
    num_cbs: int
    cb_bits: int
    tb_crc_bits: int
    cb_crc_bits: int
    cw_bits: tuple[int, ...]

    @property
    def tb_bytes(self) -> int:
        """Payload bytes per TB."""
        return self.tb_bits // 8

    @property
    def code_rate(self) -> float:
        """Payload bits per coded bit, ``tb_bits / G`` (CRCs count as redundancy)."""
        return self.tb_bits / self.coded_bits

    @property
    def info_bits_per_symbol(self) -> float:
        """Payload bits per channel use, ``tb_bits / symbols_per_tb``."""
        return self.tb_bits / self.symbols_per_tb

    @property
    def cb_symbols(self) -> tuple[int, ...]:
        """Channel uses of each CB (``E_r / Q_m``)."""
        return tuple(e // self.mcs.bits_per_symbol for e in self.cw_bits)

    def num_tbs(self, payload_bytes: int) -> int:
        """TBs needed for ``payload_bytes`` bytes (the last one padded)."""
        return -(-payload_bytes // self.tb_bytes)

    def snr_db(self, snr_db: float | None, ebn0_db: float | None) -> tuple[float, float]:
        """``(snr_db, ebn0_db)`` from exactly one of them; SymcodecError otherwise.

        SNR is Es/N0 per channel use (unit-energy QAM); Eb is the energy per payload bit, so
        ``ebn0_db = snr_db - 10 log10(tb_bits / symbols_per_tb)``.
        """
        if (snr_db is None) == (ebn0_db is None):
            raise SymcodecError("give exactly one of snr_db and ebn0_db")
        offset_db = 10.0 * math.log10(self.info_bits_per_symbol)
        if snr_db is not None:
            snr = _finite("snr_db", snr_db)
            return snr, snr - offset_db
        ebn0 = _finite("ebn0_db", ebn0_db)
        return ebn0 + offset_db, ebn0


def _finite(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.integer | np.floating)
        or not math.isfinite(float(value))
    ):
        raise SymcodecError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def transport_format(mcs: Mcs, symbols_per_tb: int = DEFAULT_SYMBOLS_PER_TB) -> TransportFormat:
    """The NR TB layout for ``mcs`` on ``symbols_per_tb`` channel uses per TB (via Sionna)."""
    positive_integer("symbols_per_tb", symbols_per_tb)
    require_sionna()
    from sionna.phy.nr.utils import calculate_tb_size

    qm = mcs.bits_per_symbol
    coded = qm * int(symbols_per_tb)
    tb, cb, ncb, tb_crc, cb_crc, cw = calculate_tb_size(
        modulation_order=qm, target_coderate=mcs.code_rate, num_coded_bits=coded, device="cpu"
    )
    cw_bits = tuple(int(e) for e in np.asarray(cw).reshape(-1) if int(e) > 0)
    fmt = TransportFormat(
        mcs=mcs, symbols_per_tb=int(symbols_per_tb), coded_bits=coded, tb_bits=int(tb),
        num_cbs=int(ncb), cb_bits=int(cb), tb_crc_bits=int(tb_crc), cb_crc_bits=int(cb_crc),
        cw_bits=cw_bits,
    )  # fmt: skip
    if (
        fmt.tb_bits % 8
        or sum(cw_bits) != coded
        or len(cw_bits) != fmt.num_cbs
        or fmt.num_cbs * (fmt.cb_bits - fmt.cb_crc_bits) != fmt.tb_bits + fmt.tb_crc_bits
    ):  # pragma: no cover - guards Sionna's arithmetic
        raise SymcodecError(f"inconsistent NR transport block layout: {fmt}")
    # Sionna's LDPC5GEncoder codes rates in [1/5, 0.95] (no NR repetition below 1/5)
    low, high = fmt.cb_bits / max(cw_bits), fmt.cb_bits / min(cw_bits)
    if high > 0.95:
        raise SymcodecError(
            f"{mcs}: {symbols_per_tb} symbols per TB give code blocks of rate {high:.3f} "
            f"({fmt.cb_bits} bits on {min(cw_bits)}), above 0.95; use more symbols per TB"
        )
    if low < 0.2:
        raise SymcodecError(
            f"{mcs}: code blocks of rate {low:.3f} ({fmt.cb_bits} bits on {max(cw_bits)}); "
            "Sionna's 5G LDPC codes rates of 1/5 and above only"
        )
    return fmt


def erased_bytes(fmt: TransportFormat, failed: np.ndarray, payload_bytes: int) -> np.ndarray:
    """One bool per payload byte, True where a failed CB carried some of its bits.

    ``failed`` is ``[num_tbs, num_cbs]`` bool (CB r of TB t failed). CB r carries bits
    ``[r K', (r+1) K')`` of its TB's payload-plus-CRC sequence, ``K' = K - cb_crc_bits``.

    >>> from types import SimpleNamespace as NS
    >>> fmt = NS(tb_bytes=3, tb_bits=24, num_cbs=2, cb_bits=20, cb_crc_bits=0)  # K' = 20
    >>> erased_bytes(fmt, np.array([[False, True], [True, False]]), 5).tolist()
    [False, False, True, True, True]
    """
    failed = np.asarray(failed, dtype=bool).reshape(-1, fmt.num_cbs)
    seg = fmt.cb_bits - fmt.cb_crc_bits
    first_bit = 8 * np.arange(fmt.tb_bytes)
    first_cb = np.minimum(first_bit // seg, fmt.num_cbs - 1)
    last_cb = np.minimum((first_bit + 7) // seg, fmt.num_cbs - 1)
    mask = failed[:, first_cb] | failed[:, last_cb]
    return mask.reshape(-1)[:payload_bytes].copy()


def code_block_of_bits(fmt: TransportFormat, bit_index: np.ndarray) -> np.ndarray:
    """The CB (``tb * num_cbs + r``, counted from the first TB) that carries each payload bit.

    >>> from types import SimpleNamespace as NS
    >>> fmt = NS(tb_bits=24, num_cbs=2, cb_bits=20, cb_crc_bits=0)  # K' = 20
    >>> code_block_of_bits(fmt, np.array([0, 19, 20, 23, 24, 47])).tolist()
    [0, 0, 1, 1, 2, 3]
    """
    bits = np.asarray(bit_index, dtype=np.int64)
    seg = fmt.cb_bits - fmt.cb_crc_bits
    tb, within = np.divmod(bits, fmt.tb_bits)
    return tb * fmt.num_cbs + np.minimum(within // seg, fmt.num_cbs - 1)


def as_payload(payload: object) -> np.ndarray:
    """The payload as a 1-D uint8 array (bytes, bytearray, memoryview or a uint8 array)."""
    if isinstance(payload, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(payload), dtype=np.uint8)
    if isinstance(payload, np.ndarray) and payload.dtype == np.uint8:
        return payload.reshape(-1)
    raise SymcodecError(f"payload must be bytes or a uint8 array, got {type(payload).__name__}")


def check_seed(seed: object) -> int:
    """``seed`` as a non-negative int; SymcodecError otherwise (seeds are never implicit)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SymcodecError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_fading(fading: object) -> str:
    """``fading`` if it is ``"awgn"`` or ``"rayleigh"``; SymcodecError otherwise."""
    if fading not in FADINGS:
        raise SymcodecError(f"unknown fading {fading!r}; known: {', '.join(FADINGS)}")
    return str(fading)


def check_symbol_rate(symbol_rate_hz: object) -> float:
    """``symbol_rate_hz`` as a positive finite float; SymcodecError otherwise."""
    rate = _finite("symbol_rate_hz", symbol_rate_hz)
    if rate <= 0:
        raise SymcodecError(f"symbol_rate_hz must be positive, got {symbol_rate_hz!r}")
    return rate


def seed_sequence_state(seed: int) -> int:
    """A well-spread 63-bit generator seed from a small user seed (numpy SeedSequence)."""
    return int(np.random.SeedSequence(check_seed(seed)).generate_state(1, np.uint64)[0] >> 1)


@dataclass
class NrResult:
    """What one NR link transmission did (bit-true or abstracted: same fields).

    Attributes:
        received: the payload as received; erased bytes are 0.
        erased_mask: one bool per payload byte, True where a failed CB carried it.
        level: ``"bit-true"`` or ``"abstract"``.
        fmt: the transport format used.
        snr_db: Es/N0 per channel use (average over the fading).
        ebn0_db: Eb/N0 per payload bit.
        fading: ``"awgn"`` or ``"rayleigh"``.
        transport_blocks: TBs sent (the last one padded).
        code_blocks: CBs sent.
        failed_code_blocks: CBs whose CRC failed (their bytes are erased).
        residual_bit_errors: bit errors in the bytes delivered as good (CRC misses; always 0
            for the abstraction, which assumes every CRC catches its error).
        channel_uses: QAM symbols sent, code redundancy and padding included.
        air_time_s: ``channel_uses / symbol_rate_hz``.
        failed_blocks: ``[transport_blocks, num_cbs]`` bool, True where a CB failed (CB r of
            TB t carries the bits :func:`code_block_of_bits` maps to ``t * num_cbs + r``).
    """

    received: bytes
    erased_mask: np.ndarray = field(repr=False)
    level: str
    fmt: TransportFormat
    snr_db: float
    ebn0_db: float
    fading: str
    transport_blocks: int
    code_blocks: int
    failed_code_blocks: int
    residual_bit_errors: int
    channel_uses: int
    air_time_s: float
    failed_blocks: np.ndarray | None = field(default=None, repr=False)

    @property
    def bler(self) -> float:
        """Code block error rate, ``failed_code_blocks / code_blocks`` (0.0 for none)."""
        return self.failed_code_blocks / self.code_blocks if self.code_blocks else 0.0

    @property
    def erased_bytes(self) -> int:
        """Payload bytes erased."""
        return int(self.erased_mask.sum())

    @property
    def payload_bits(self) -> int:
        """Payload bits sent (``8 * len(received)``)."""
        return 8 * len(self.received)
