"""Bit-true 5G NR link: Sionna's transport block encoder, 5G LDPC, QAM and soft demapping.

Per transport block (layout: :mod:`symcodec.channel.nr.transport`), Sionna's
``sionna.phy.nr.TBEncoder`` does what 38.212 prescribes: TB CRC, code block segmentation with
CB CRCs, 5G LDPC encoding with rate matching to ``E_r`` bits per CB, the bit interleaver and
scrambling. The coded bits are Gray-mapped to unit-energy QAM (``sionna.phy.mapping``), sent
over AWGN or flat Rayleigh fading (``h ~ CN(0, 1)`` independent per symbol, known to the
receiver), soft-demapped to LLRs ("app" demapper), descrambled, de-interleaved and decoded by
``LDPC5GDecoder`` (belief propagation, ``num_bp_iter`` iterations, boxplus-phi check nodes:
the settings Sionna's BLER tables were made with). Every CB is checked by its CRC (the TB CRC
when the TB has one CB; a TB CRC failure with all CB CRCs passing fails every CB of the TB).
Failed CBs erase the payload bytes they carried (zeros in ``received``).

The receive chain mirrors ``sionna.phy.nr.TBDecoder`` through the encoder's public parts;
``TBDecoder`` itself is not used because it drops the per-CB CRC results.

Noise and fading are drawn from a ``torch.Generator`` seeded from ``seed``; no global RNG is
read or changed. Needs the ``links`` extra.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ...errors import SymcodecError
from .backend import require_sionna
from .mcs import McsTable, lookup_mcs
from .transport import (
    DEFAULT_SYMBOL_RATE_HZ,
    DEFAULT_SYMBOLS_PER_TB,
    Fading,
    NrResult,
    TransportFormat,
    as_payload,
    check_fading,
    check_symbol_rate,
    erased_bytes,
    seed_sequence_state,
    transport_format,
)

__all__ = ["DEFAULT_BP_ITERATIONS", "NrLdpcLink", "transmit_bytes"]

DEFAULT_BP_ITERATIONS = 20
# a batch of TBs holds at most this many coded bits, and at most this many
# (symbol, constellation point) pairs in the demapper
_BATCH_CODED_BITS = 1 << 17
_BATCH_DEMAP_PAIRS = 1 << 23


class NrLdpcLink:
    """A bit-true 5G NR link: one MCS, one TB size; the Sionna blocks are built once.

    Args:
        mcs_index: index in the MCS table.
        table: the MCS table's name (:data:`symcodec.channel.nr.mcs.McsTable`).
        symbols_per_tb: channel uses per transport block.
        symbol_rate_hz: channel uses per second (for ``air_time_s``).
        num_bp_iter: belief-propagation iterations of the LDPC decoder.
    """

    level = "bit-true"

    def __init__(
        self,
        mcs_index: int,
        table: McsTable = "qam64",
        *,
        symbols_per_tb: int = DEFAULT_SYMBOLS_PER_TB,
        symbol_rate_hz: float = DEFAULT_SYMBOL_RATE_HZ,
        num_bp_iter: int = DEFAULT_BP_ITERATIONS,
    ) -> None:
        if isinstance(num_bp_iter, bool) or not isinstance(num_bp_iter, int) or num_bp_iter < 1:
            raise SymcodecError(f"num_bp_iter must be a positive integer, got {num_bp_iter!r}")
        self.mcs = lookup_mcs(mcs_index, table)
        self.fmt: TransportFormat = transport_format(self.mcs, symbols_per_tb)
        self.symbol_rate_hz = check_symbol_rate(symbol_rate_hz)
        self.num_bp_iter = num_bp_iter
        self._build()

    def _build(self) -> None:
        require_sionna()
        from sionna.phy.fec.crc import CRCDecoder
        from sionna.phy.fec.ldpc import LDPC5GDecoder
        from sionna.phy.fec.scrambling import Descrambler
        from sionna.phy.mapping import Constellation, Demapper, Mapper
        from sionna.phy.nr import TBEncoder

        fmt, qm = self.fmt, self.mcs.bits_per_symbol
        opts = {"precision": "single", "device": "cpu"}
        self._encoder = TBEncoder(
            target_tb_size=fmt.tb_bits, num_coded_bits=fmt.coded_bits,
            target_coderate=self.mcs.code_rate, num_bits_per_symbol=qm,
            channel_type="PDSCH", **opts,
        )  # fmt: skip
        enc = self._encoder
        if (enc.tb_size, enc.num_cbs, enc.ldpc_encoder.k) != (
            fmt.tb_bits,
            fmt.num_cbs,
            fmt.cb_bits,
        ):  # pragma: no cover - guards the two Sionna code paths agreeing
            raise SymcodecError(f"Sionna's TBEncoder disagrees with the transport format {fmt}")
        self._decoder = LDPC5GDecoder(
            enc.ldpc_encoder, num_iter=self.num_bp_iter, hard_out=True, return_infobits=True,
            **opts,
        )  # fmt: skip
        self._descrambler = Descrambler(enc.scrambler, binary=False, **opts)
        self._tb_crc = CRCDecoder(enc.tb_crc_encoder, **opts)
        self._cb_crc = CRCDecoder(enc.cb_crc_encoder, **opts) if fmt.num_cbs > 1 else None
        constellation = Constellation("qam", qm, **opts)
        self._mapper = Mapper(constellation=constellation, **opts)
        self._demapper = Demapper("app", constellation=constellation, **opts)
        self._fillers = enc.ldpc_encoder.n * fmt.num_cbs - fmt.coded_bits
        self._perm_inv = enc.output_perm_inv
        symbols = fmt.symbols_per_tb
        self.tbs_per_batch = max(
            1, min(_BATCH_CODED_BITS // fmt.coded_bits, _BATCH_DEMAP_PAIRS // (symbols << qm))
        )

    def __repr__(self) -> str:
        return (
            f"NrLdpcLink({self.mcs}, {self.fmt.symbols_per_tb} symbols/TB: "
            f"{self.fmt.tb_bits} bits in {self.fmt.num_cbs} CB of {self.fmt.cb_bits})"
        )

    def transmit_bytes(
        self,
        payload: bytes | bytearray | memoryview | np.ndarray,
        *,
        snr_db: float | None = None,
        ebn0_db: float | None = None,
        fading: Fading = "awgn",
        seed: int,
    ) -> NrResult:
        """Send ``payload`` bit-true; exactly one of ``snr_db`` (Es/N0) and ``ebn0_db``."""
        data = as_payload(payload)
        fading = check_fading(fading)
        snr, ebn0 = self.fmt.snr_db(snr_db, ebn0_db)
        gen = torch.Generator().manual_seed(seed_sequence_state(seed))
        fmt = self.fmt
        num_tbs = fmt.num_tbs(data.size)
        padded = np.zeros(num_tbs * fmt.tb_bytes, np.uint8)
        padded[: data.size] = data
        decoded = np.empty_like(padded)
        failed = np.zeros((num_tbs, fmt.num_cbs), bool)
        no = 10.0 ** (-snr / 10.0)
        step = self.tbs_per_batch
        with torch.inference_mode():
            for first in range(0, num_tbs, step):
                stop = min(first + step, num_tbs)
                tb_bytes = padded[first * fmt.tb_bytes : stop * fmt.tb_bytes]
                bits_hat, failed[first:stop] = self._batch(tb_bytes, stop - first, no, fading, gen)
                decoded[first * fmt.tb_bytes : stop * fmt.tb_bytes] = bits_hat
        mask = erased_bytes(fmt, failed, data.size)
        received = decoded[: data.size]
        received[mask] = 0
        wrong = np.bitwise_xor(received, data)[~mask]
        channel_uses = num_tbs * fmt.symbols_per_tb
        return NrResult(
            received=received.tobytes(), erased_mask=mask, level=self.level, fmt=fmt,
            snr_db=snr, ebn0_db=ebn0, fading=fading, transport_blocks=num_tbs,
            code_blocks=int(failed.size), failed_code_blocks=int(failed.sum()),
            residual_bit_errors=int(np.unpackbits(wrong).sum()), channel_uses=channel_uses,
            air_time_s=channel_uses / self.symbol_rate_hz,
            failed_blocks=failed,
        )  # fmt: skip

    def _batch(
        self, tb_bytes: np.ndarray, count: int, no: float, fading: str, gen: torch.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encode, send and decode ``count`` TBs: (decoded bytes, failed CBs ``[count, C]``)."""
        fmt = self.fmt
        bits = torch.from_numpy(np.unpackbits(tb_bytes).reshape(count, fmt.tb_bits))
        x = self._mapper(self._encoder(bits.to(torch.float32)))  # [count, symbols] complex
        noise = torch.randn((2, *x.shape), generator=gen).mul_(math.sqrt(no / 2.0))
        n = torch.complex(noise[0], noise[1])
        if fading == "awgn":
            y, no_eff = x + n, torch.tensor(no)
        else:  # flat Rayleigh per symbol, perfect CSI: equalize y / h, noise N0 / |h|^2
            g = torch.randn((2, *x.shape), generator=gen).mul_(math.sqrt(0.5))
            h = torch.complex(g[0], g[1])
            y, no_eff = (h * x + n) / h, no / h.abs().square()
        llr = self._demapper(y, no_eff).reshape(count, 1, fmt.coded_bits)
        llr = self._descrambler(llr)
        llr = torch.cat([llr, llr.new_zeros(count, 1, self._fillers)], dim=-1)
        llr = torch.index_select(llr, -1, self._perm_inv).reshape(count, 1, fmt.num_cbs, -1)
        cb_hat = self._decoder(llr)  # [count, 1, C, K] hard info bits
        if self._cb_crc is None:
            segments, cb_ok = cb_hat, None
        else:
            segments, cb_ok = self._cb_crc(cb_hat)  # CB CRCs off; cb_ok [count, 1, C, 1]
        tb_hat, tb_ok = self._tb_crc(segments.reshape(count, 1, -1))
        tb_ok = tb_ok.reshape(count, 1).numpy()
        if cb_ok is None:
            failed = ~tb_ok
        else:
            cb_ok = cb_ok.reshape(count, fmt.num_cbs).numpy()
            failed = ~cb_ok | (~tb_ok & cb_ok.all(axis=1, keepdims=True))
        bits_hat = tb_hat.reshape(count, fmt.tb_bits).numpy() > 0.5
        return np.packbits(bits_hat, axis=1).reshape(-1), failed


def transmit_bytes(
    payload: bytes | bytearray | memoryview | np.ndarray,
    *,
    mcs_index: int,
    table: McsTable = "qam64",
    snr_db: float | None = None,
    ebn0_db: float | None = None,
    fading: Fading = "awgn",
    seed: int,
    symbols_per_tb: int = DEFAULT_SYMBOLS_PER_TB,
    symbol_rate_hz: float = DEFAULT_SYMBOL_RATE_HZ,
    num_bp_iter: int = DEFAULT_BP_ITERATIONS,
) -> NrResult:
    """Send ``payload`` over a bit-true 5G NR link (builds an :class:`NrLdpcLink` once).

    Exactly one of ``snr_db`` (Es/N0 per channel use) and ``ebn0_db`` (per payload bit).
    For many transmissions on one link, build the :class:`NrLdpcLink` and reuse it.
    """
    link = NrLdpcLink(
        mcs_index, table, symbols_per_tb=symbols_per_tb, symbol_rate_hz=symbol_rate_hz,
        num_bp_iter=num_bp_iter,
    )  # fmt: skip
    return link.transmit_bytes(payload, snr_db=snr_db, ebn0_db=ebn0_db, fading=fading, seed=seed)
