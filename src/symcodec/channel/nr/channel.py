"""The 5G NR link as a digital channel: ``make_channel("nr-ldpc", snr_db=..., mcs=...)``.

:class:`NrChannel` sends the payload bytes over a 5G NR link (:mod:`.nr_ldpc` bit-true, or
:mod:`.nr_abstract` abstracted) at one MCS and one SNR (Es/N0 per channel use, dB). A code
block (CB) that fails its CRC erases every payload byte it carried: those bytes come out as 0
and :class:`NrChannelStats` marks them in ``erased_mask``, as
:class:`~symcodec.channel.ErasureChannel` does, so the receiver fills erased ``fixed`` codes
and conceals failed ``ans`` chunks. Bytes of CBs that pass their CRC arrive as decoded; the
rare bit error a CRC misses is counted in ``bit_errors`` (``residual_bit_errors``).

Air time counts channel uses: every transport block (TB) costs ``symbols_per_tb`` symbols,
code redundancy, CRCs and the padding of the last TB included
(:meth:`symcodec.channel.Link.for_channel` gives the matching link).

The noise of one call is seeded from one integer drawn from the call's ``torch.Generator``;
the Sionna work runs on one torch thread (:func:`.backend.torch_threads`). Needs the
``links`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import torch

from ...errors import SymcodecError
from ..base import Channel, ChannelStats, finite_number
from .backend import torch_threads
from .mcs import McsTable
from .nr_abstract import NrAbstractLink
from .nr_ldpc import NrLdpcLink
from .transport import (
    DEFAULT_SYMBOL_RATE_HZ,
    DEFAULT_SYMBOLS_PER_TB,
    Fading,
    TransportFormat,
    check_fading,
)

__all__ = ["LEVELS", "Level", "NrChannel", "NrChannelStats"]

Level = Literal["bit-true", "abstract"]
#: The two levels of an NR link: simulated bit by bit, or drawn from BLER tables.
LEVELS: tuple[str, ...] = get_args(Level)


@dataclass
class NrChannelStats(ChannelStats):
    """What one NR link transmission did: :class:`ChannelStats` plus the NR figures.

    The erasure fields read as for ``erasure``, with code blocks as the packets
    (``packets`` = ``code_blocks``, ``erased_packets`` = ``failed_code_blocks``);
    ``bit_errors`` = ``residual_bit_errors``; ``symbols`` = ``channel_uses``.

    Attributes:
        level: ``"bit-true"`` or ``"abstract"``.
        mcs: the MCS, as text (``"MCS 9 of qam64 (QPSK, R = 679/1024)"``).
        transport_blocks: TBs sent (the last one padded).
        code_blocks: CBs sent.
        failed_code_blocks: CBs whose CRC failed (their bytes are erased).
        residual_bit_errors: bit errors in bytes delivered as good (CRC misses).
        channel_uses: QAM symbols sent, code redundancy and padding included.
        air_time_s: ``channel_uses / symbol_rate_hz``.
        failed_blocks: ``[transport_blocks, num_cbs]`` bool, True where a CB failed.
    """

    level: str = ""
    mcs: str = ""
    transport_blocks: int = 0
    code_blocks: int = 0
    failed_code_blocks: int = 0
    residual_bit_errors: int = 0
    channel_uses: int = 0
    air_time_s: float = 0.0
    failed_blocks: np.ndarray | None = field(default=None, repr=False)

    @property
    def bler(self) -> float:
        """Code block error rate (0.0 when nothing was sent)."""
        return self.failed_code_blocks / self.code_blocks if self.code_blocks else 0.0

    @property
    def lossless(self) -> bool:
        """True when every CB passed and no bit error slipped through."""
        return self.failed_code_blocks == 0 and self.residual_bit_errors == 0


class NrChannel(Channel):
    """A 5G NR link (``nr-ldpc``): NR transport blocks, 5G LDPC, QAM, AWGN or Rayleigh.

    Args:
        snr_db: Es/N0 per channel use in dB (average over the fading).
        mcs: MCS index in ``mcs_table``.
        mcs_table: the 38.214 MCS table's name (``qam64``, ``qam256``, ...).
        fading: ``"awgn"`` or ``"rayleigh"`` (flat, per symbol, perfect CSI).
        level: ``"bit-true"`` (Sionna's encoder, demapper and BP decoder) or ``"abstract"``
            (CB errors drawn from Sionna's BLER tables; for studies).
        symbols_per_tb: channel uses per transport block.
        symbol_rate_hz: channel uses per second (for the air time).
        bler_tables: at level ``abstract``, BLER table files to draw from instead of Sionna's
            (curves measured for this TB size: ``symcodec measure-bler``).
        seed: seed of the channel's own generator.

    Raises SymcodecError (one line) for an MCS outside its table, a non-finite SNR, an unknown
    fading or level, a TB size the 5G code cannot rate-match, and without the ``links`` extra.
    """

    name = "nr-ldpc"
    domain = "digital"

    def __init__(
        self,
        snr_db: float,
        mcs: int,
        mcs_table: McsTable = "qam64",
        fading: Fading = "awgn",
        level: Level = "bit-true",
        symbols_per_tb: int = DEFAULT_SYMBOLS_PER_TB,
        symbol_rate_hz: float = DEFAULT_SYMBOL_RATE_HZ,
        bler_tables: Sequence[str | os.PathLike] | None = None,
        seed: int | None = None,
    ) -> None:
        self.snr_db = finite_number("snr_db", snr_db)
        self.fading = check_fading(fading)
        if level not in LEVELS:
            raise SymcodecError(f"unknown NR link level {level!r}; known: {', '.join(LEVELS)}")
        self.level = level
        self.bler_tables = None if bler_tables is None else tuple(map(os.fspath, bler_tables))
        self.link: NrLdpcLink | NrAbstractLink
        if level == "bit-true":
            if self.bler_tables is not None:
                raise SymcodecError("BLER tables apply to the abstract NR link, not bit-true")
            self.link = NrLdpcLink(
                mcs, mcs_table, symbols_per_tb=symbols_per_tb, symbol_rate_hz=symbol_rate_hz
            )
        else:
            self.link = NrAbstractLink(
                mcs, mcs_table, symbols_per_tb=symbols_per_tb, symbol_rate_hz=symbol_rate_hz,
                bler_tables=self.bler_tables,
            )  # fmt: skip
        self.mcs = self.link.mcs
        self.fmt: TransportFormat = self.link.fmt
        self.symbol_rate_hz = self.link.symbol_rate_hz
        self.bits_per_symbol = self.mcs.bits_per_symbol
        super().__init__(seed)

    def params(self) -> dict[str, Any]:
        return {
            "snr_db": self.snr_db,
            "mcs": self.mcs.index,
            "mcs_table": self.mcs.table,
            "fading": self.fading,
            "level": self.level,
            "symbols_per_tb": self.fmt.symbols_per_tb,
            "symbol_rate_hz": self.symbol_rate_hz,
            **({"bler_tables": list(self.bler_tables)} if self.bler_tables else {}),
        }

    def channel_uses(self, payload_bytes: int) -> int:
        """Channel uses to send ``payload_bytes`` bytes: whole TBs of ``symbols_per_tb``.

        >>> from types import SimpleNamespace as NS
        >>> ch = NS(fmt=NS(num_tbs=lambda n: -(-n // 100), symbols_per_tb=360))
        >>> NrChannel.channel_uses(ch, 250)  # 3 TBs of 100 bytes
        1080
        """
        return self.fmt.num_tbs(int(payload_bytes)) * self.fmt.symbols_per_tb

    def _bits(self, data: np.ndarray, gen: torch.Generator) -> tuple[np.ndarray, ChannelStats]:
        seed = int(torch.randint(0, 2**62, (1,), generator=gen))
        with torch_threads(1):
            res = self.link.transmit_bytes(
                data, snr_db=self.snr_db, fading=self.fading, seed=seed
            )  # fmt: skip
        received = np.frombuffer(res.received, dtype=np.uint8).copy()
        mask = np.asarray(res.erased_mask, dtype=bool)
        stats = NrChannelStats(
            self.name, "digital", bits_sent=8 * data.size, bit_errors=res.residual_bit_errors,
            symbols=res.channel_uses, packets=res.code_blocks,
            erased_packets=res.failed_code_blocks, erased_bytes=int(mask.sum()),
            erased_mask=mask, snr_db=res.snr_db, ebn0_db=res.ebn0_db, level=self.level,
            mcs=str(self.mcs), transport_blocks=res.transport_blocks,
            code_blocks=res.code_blocks, failed_code_blocks=res.failed_code_blocks,
            residual_bit_errors=res.residual_bit_errors, channel_uses=res.channel_uses,
            air_time_s=res.air_time_s, failed_blocks=res.failed_blocks,
        )  # fmt: skip
        return received, stats
