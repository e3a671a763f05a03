"""Abstracted 5G NR link: code block errors drawn from Sionna's PHY abstraction.

Same transport format, signature and :class:`~symcodec.channel.nr.transport.NrResult` as the
bit-true link (:mod:`symcodec.channel.nr.nr_ldpc`), orders of magnitude faster: nothing is encoded
or decoded. Each code block (CB) fails independently with the block error rate (BLER) that
``sionna.sys.PHYAbstraction`` gives for (MCS, CB size ``K``, SNR): Sionna's precomputed 5G NR
tables (LDPC with 20 BP iterations, QAM, AWGN; measured for CB sizes 24..2000 on an SNR grid
of about 1.6-1.8 dB, interpolated bilinearly in ``log10(BLER)`` onto a 0.1 dB grid; larger CBs
take the CB-2000 curve).

Accuracy: in the waterfall the shipped tables are optimistic for NR transport blocks, by
about 1 dB on AWGN for single-CB blocks of 144-1,000 bits (best-fit shift; 0.1-1.8 dB point
by point) and 1.5-2.2 dB under Rayleigh fading (``bench/nr_bler_validation.py``,
``docs/results/nr-bler/``): they were measured for ``n = K / R`` coded bits (an NR TB's CRC rides on
top of ``R * G``, so its CBs have a higher rate), and a log-linear line between points 1.8 dB
apart misses the waterfall's shape. Example (qam64 MCS 9, 360 symbols per TB, one CB of 496
bits, 3.0 dB): bit-true BLER 0.70 (600 CBs), shipped-table abstraction 0.10. For studies that
need the waterfall right, measure the link's own curve
(:func:`symcodec.channel.nr.bler_measure.measure_bler_curve`, or ``symcodec measure-bler``),
store it with :func:`symcodec.channel.nr.bler_table.write_bler_table` and pass it as
``bler_tables`` (a study: ``[channel] bler_table``).

* ``awgn``: every CB sees the link SNR.
* ``rayleigh``: each symbol gets its own ``|h|^2 ~ Exp(1)`` (the bit-true link's flat fading),
  and a CB's effective SNR is the EESM of its symbols' SNRs (``sionna.sys.EESM``, whose
  calibration covers the ``qam64`` and ``qam256`` tables only).

The abstraction assumes every CRC catches its errors: received bytes are the payload with the
failed CBs' bytes zeroed, and ``residual_bit_errors`` is 0. Sionna has no tables for the
lowest MCS of each table (``qam64``: 0-2, ``qam256``: 0-1, ``qam64-lowse``: 0-8,
``qam1024``: 0-1); those are refused. Randomness comes from a ``numpy.random.Generator``
seeded from ``seed``. Needs the ``links`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from ...errors import SymcodecError
from .backend import require_sionna
from .bler_table import PDSCH_CATEGORY, measured_symbols_per_tb, shipped_bler_table
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

__all__ = ["NrAbstractLink", "transmit_bytes"]

_EESM_TABLES = (1, 2)  # table numbers Sionna's default EESM beta table covers
_CHUNK_SYMBOLS = 1 << 20  # fading draws per chunk


class NrAbstractLink:
    """An abstracted 5G NR link: one MCS, one TB size; Sionna's tables are loaded once.

    Args: as :class:`symcodec.channel.nr.nr_ldpc.NrLdpcLink` (without ``num_bp_iter``: the tables
    fix the decoder), plus ``bler_tables``: BLER table files in Sionna's layout to use instead
    of the one Sionna ships for the MCS table (:mod:`symcodec.channel.nr.bler_table`).
    """

    level = "abstract"

    def __init__(
        self,
        mcs_index: int,
        table: McsTable = "qam64",
        *,
        symbols_per_tb: int = DEFAULT_SYMBOLS_PER_TB,
        symbol_rate_hz: float = DEFAULT_SYMBOL_RATE_HZ,
        bler_tables: Sequence[str | os.PathLike] | None = None,
    ) -> None:
        self.mcs = lookup_mcs(mcs_index, table)
        self.fmt: TransportFormat = transport_format(self.mcs, symbols_per_tb)
        self.symbol_rate_hz = check_symbol_rate(symbol_rate_hz)
        require_sionna()
        from sionna.sys import PHYAbstraction

        number = self.mcs.table_number
        if bler_tables is None:
            files = [shipped_bler_table(number)]  # only this table's file: faster start
        else:
            files = [os.fspath(p) for p in bler_tables]
            missing = [f for f in files if not os.path.isfile(f)]
            if not files or missing:
                raise SymcodecError(f"BLER table file not found: {missing or 'none given'}")
            for f in files:
                measured = measured_symbols_per_tb(f, self.fmt)
                if measured not in (None, self.fmt.symbols_per_tb):
                    raise SymcodecError(
                        f"BLER table {f} holds {self.mcs} measured on {measured} symbols per "
                        f"TB; this link sends {self.fmt.symbols_per_tb}"
                    )
        # interpolate at this link's CB size only (Sionna's default grid steps by 100 bits);
        # bler_interp_delta only sets the BLER -> SNR inverse table, which is not used here
        cbs = self.fmt.cb_bits
        try:
            self._phy = PHYAbstraction(
                load_bler_tables_from=files, cbs_interp_min_max_delta=(cbs, cbs + 1, 1),
                bler_interp_delta=0.1, precision="single", device="cpu",
            )  # fmt: skip
        except Exception as err:  # a table Sionna cannot read or interpolate
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise SymcodecError(
                f"cannot use BLER tables {', '.join(files)}: {type(err).__name__} {first}"
            ) from None
        tables = self._phy.bler_table["category"].get(PDSCH_CATEGORY, {}).get("index", {})
        covered = sorted(tables.get(number, {}).get("MCS", {}))
        if self.mcs.index not in covered:
            where = f"MCS {covered[0]}..{covered[-1]}" if covered else "none of its MCS"
            raise SymcodecError(f"no BLER table for {self.mcs}; the tables loaded cover {where}")
        self._eesm = None

    def __repr__(self) -> str:
        return (
            f"NrAbstractLink({self.mcs}, {self.fmt.symbols_per_tb} symbols/TB: "
            f"{self.fmt.tb_bits} bits in {self.fmt.num_cbs} CB of {self.fmt.cb_bits})"
        )

    def _bler(self, snr_lin: np.ndarray) -> np.ndarray:
        """Sionna's BLER of this link's CBs at linear SNRs (any shape)."""
        snr = torch.as_tensor(np.asarray(snr_lin, np.float32))
        bler = self._phy.get_bler(
            self.mcs.index, self.mcs.table_number, PDSCH_CATEGORY, self.fmt.cb_bits, snr
        )
        return bler.numpy().astype(np.float64)

    def block_error_rate(
        self, *, snr_db: float | None = None, ebn0_db: float | None = None
    ) -> float:
        """Sionna's AWGN BLER of this link's code blocks at one SNR (or Eb/N0)."""
        snr, _ = self.fmt.snr_db(snr_db, ebn0_db)
        return float(self._bler(np.array([10.0 ** (snr / 10.0)]))[0])

    def expected_block_error_rate(
        self, snr_db: float, fading: Fading = "awgn", *, samples: int = 2000, seed: int = 0
    ) -> float:
        """The probability that one of this link's CBs fails at Es/N0 ``snr_db``: the AWGN
        BLER, or under ``rayleigh`` the mean BLER over ``samples`` fading draws (EESM
        effective SNR per CB, as :meth:`transmit_bytes` draws them, seeded by ``seed``)."""
        fading = check_fading(fading)
        snr, _ = self.fmt.snr_db(snr_db, None)
        if fading == "awgn":
            return self.block_error_rate(snr_db=snr)
        rng = np.random.default_rng(seed_sequence_state(seed))
        count = -(-int(samples) // self.fmt.num_cbs) * self.fmt.num_cbs
        return float(self._bler(self._effective_snr(10.0 ** (snr / 10.0), count, rng)).mean())

    def _effective_snr(self, snr: float, count: int, rng: np.random.Generator) -> np.ndarray:
        """EESM effective SNR (linear) of ``count`` CBs under per-symbol Rayleigh fading."""
        if self.mcs.table_number not in _EESM_TABLES:
            raise SymcodecError(
                f"rayleigh fading needs Sionna's EESM calibration, which covers the qam64 "
                f"and qam256 tables only, not {self.mcs.table}"
            )
        if self._eesm is None:
            from sionna.sys import EESM

            self._eesm = EESM(precision="single", device="cpu")
        lengths = np.array(self.fmt.cb_symbols)
        longest = int(lengths.max())
        used = np.arange(longest) < lengths[:, None]  # [C, longest]
        out = np.empty(count)
        per_chunk = max(1, _CHUNK_SYMBOLS // (longest * self.fmt.num_cbs)) * self.fmt.num_cbs
        for first in range(0, count, per_chunk):
            n = min(per_chunk, count - first)
            gain = rng.standard_exponential((n, longest))  # |h|^2 per symbol
            gain *= snr  # in place: the SINR per symbol (non-negative)
            if not used.all():  # CBs of unequal length: pad the shorter ones with SINR 0
                gain[~np.tile(used, (n // self.fmt.num_cbs, 1))] = 0.0
            sinr = torch.from_numpy(gain.astype(np.float32))
            # EESM input [batch, ofdm symbols, subcarriers, users, streams]: CBs as users
            eff = self._eesm(
                sinr.T.reshape(1, longest, 1, n, 1), self.mcs.index,
                mcs_table_index=self.mcs.table_number,
            )  # fmt: skip
            out[first : first + n] = eff.reshape(n).numpy()
        return out

    def transmit_bytes(
        self,
        payload: bytes | bytearray | memoryview | np.ndarray,
        *,
        snr_db: float | None = None,
        ebn0_db: float | None = None,
        fading: Fading = "awgn",
        seed: int,
    ) -> NrResult:
        """Send ``payload`` through the abstraction; exactly one of ``snr_db`` and ``ebn0_db``."""
        data = as_payload(payload)
        fading = check_fading(fading)
        snr_db_, ebn0 = self.fmt.snr_db(snr_db, ebn0_db)
        rng = np.random.default_rng(seed_sequence_state(seed))
        fmt = self.fmt
        num_tbs = fmt.num_tbs(data.size)
        count = num_tbs * fmt.num_cbs
        snr = 10.0 ** (snr_db_ / 10.0)
        if fading == "awgn":
            bler = self._bler(np.array([snr]))[0] if count else 0.0
        else:
            bler = self._bler(self._effective_snr(snr, count, rng)) if count else 0.0
        if np.any(np.isinf(bler)):  # pragma: no cover - coverage is checked at construction
            raise SymcodecError(f"no BLER table for {self.mcs}")
        failed = (rng.random(count) < bler).reshape(num_tbs, fmt.num_cbs)
        mask = erased_bytes(fmt, failed, data.size)
        received = data.copy()
        received[mask] = 0
        channel_uses = num_tbs * fmt.symbols_per_tb
        return NrResult(
            received=received.tobytes(), erased_mask=mask, level=self.level, fmt=fmt,
            snr_db=snr_db_, ebn0_db=ebn0, fading=fading, transport_blocks=num_tbs,
            code_blocks=count, failed_code_blocks=int(failed.sum()), residual_bit_errors=0,
            channel_uses=channel_uses, air_time_s=channel_uses / self.symbol_rate_hz,
            failed_blocks=failed,
        )  # fmt: skip


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
) -> NrResult:
    """Send ``payload`` over an abstracted 5G NR link (builds an :class:`NrAbstractLink`).

    Same arguments and result as :func:`symcodec.channel.nr.nr_ldpc.transmit_bytes` (without
    ``num_bp_iter``). For many transmissions, build the link once and reuse it.
    """
    link = NrAbstractLink(
        mcs_index, table, symbols_per_tb=symbols_per_tb, symbol_rate_hz=symbol_rate_hz
    )
    return link.transmit_bytes(payload, snr_db=snr_db, ebn0_db=ebn0_db, fading=fading, seed=seed)
