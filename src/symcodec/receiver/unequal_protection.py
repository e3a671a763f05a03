"""Unequal error protection on a 5G NR link: each class of the stream at its own MCS.

A :class:`NrProtection` gives every class of :mod:`.stream_classes` (``header``, ``side``,
``kernel-msb``, ``kernel``) an MCS of one 38.214 table. The transmitter sends the stream's
bits class by class: the classes that share an MCS form one *segment* (their bits in stream
order), and every segment rides its own NR transport blocks at its MCS
(:class:`~symcodec.channel.nr.NrChannel`, bit-true or abstracted, one SNR and fading for
all). Nothing is assumed error-free: the header travels like everything else, and the air
time is every segment's channel uses (code redundancy, CRCs and the padding of its last TB
included) over the symbol rate.

Where the pieces live: :mod:`.nr_protection` (:class:`NrProtection`, the presets),
:mod:`.protection_report` (what each class and segment met), :mod:`.erasure_repair` (the
receiver's repair: MSB rebuild, lost positions, erased values), this module (sending the
segments: :func:`protection_channels`, :func:`send_protected`).

>>> p = NrProtection.from_preset("side+msb", mcs=15, protect_mcs=6)
>>> p.segments()
[(6, ('header', 'side', 'kernel-msb')), (15, ('kernel',))]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..channel import NrChannel, NrChannelStats
from ..channel.nr.transport import code_block_of_bits
from ..codec.format import Header
from ..errors import SymcodecError
from .nr_protection import NrProtection
from .protection_report import ClassReport, ProtectionReport, SegmentReport
from .stream_classes import STREAM_CLASSES, stream_bit_classes

__all__ = ["protection_channels", "send_protected"]


def protection_channels(template: NrChannel, protection: NrProtection) -> dict[int, NrChannel]:
    """One NR channel per segment MCS, with ``template``'s SNR, fading, level, TB size and
    BLER tables."""
    if template.mcs.table != protection.mcs_table:
        raise SymcodecError(
            f"the protection's MCS table {protection.mcs_table} differs from the channel's "
            f"({template.mcs.table})"
        )
    out = {}
    for mcs, _ in protection.segments():
        if mcs == template.mcs.index:
            out[mcs] = template
            continue
        out[mcs] = NrChannel(
            template.snr_db, mcs, mcs_table=protection.mcs_table, fading=template.fading,
            level=template.level, symbols_per_tb=template.fmt.symbols_per_tb,
            symbol_rate_hz=template.symbol_rate_hz, bler_tables=template.bler_tables,
        )  # fmt: skip
    return out


def send_protected(
    blob: bytes,
    header: Header,
    protection: NrProtection,
    channels: Mapping[int, NrChannel],
    rng: torch.Generator,
) -> tuple[np.ndarray, np.ndarray, ProtectionReport]:
    """Send the stream ``blob`` segment by segment: the received bits (one uint8 per stream
    bit), the erased bits (bool) and the report (``concealed_values`` still 0)."""
    labels = stream_bit_classes(header, msb_split=protection.msb_split)
    sent = np.unpackbits(np.frombuffer(blob, dtype=np.uint8))
    received, erased = sent.copy(), np.zeros(sent.size, dtype=bool)
    class_rows, segment_rows, all_stats = [], [], []
    for mcs, classes in protection.segments():
        numbers = [STREAM_CLASSES.index(c) for c in classes]
        where = np.flatnonzero(np.isin(labels, numbers))
        channel = channels[mcs]
        data, stats = channel.transmit_bits(np.packbits(sent[where]), rng=rng)
        assert isinstance(stats, NrChannelStats)
        received[where] = np.unpackbits(np.asarray(data, dtype=np.uint8))[: where.size]
        lost = np.repeat(np.asarray(stats.erased_mask, dtype=bool), 8)[: where.size]
        erased[where] = lost
        fmt = channel.fmt
        blocks = code_block_of_bits(fmt, np.arange(where.size))
        failed = np.asarray(stats.failed_blocks, dtype=bool).reshape(-1)
        for cls, number in zip(classes, numbers, strict=True):
            mine = labels[where] == number
            ids = np.unique(blocks[mine])
            class_rows.append(
                ClassReport(
                    stream_class=cls,
                    mcs=mcs,
                    bits=int(mine.sum()),
                    erased_bits=int(lost[mine].sum()),
                    code_blocks=int(ids.size),
                    failed_code_blocks=int(failed[ids].sum()),
                    channel_uses=float(mine.sum()) * fmt.symbols_per_tb / fmt.tb_bits,
                )  # fmt: skip
            )
        segment_rows.append(
            SegmentReport(
                mcs=str(channel.mcs),
                mcs_index=mcs,
                classes=classes,
                bits=int(where.size),
                transport_blocks=stats.transport_blocks,
                code_blocks=stats.code_blocks,
                failed_code_blocks=stats.failed_code_blocks,
                residual_bit_errors=stats.residual_bit_errors,
                channel_uses=stats.channel_uses,
                air_time_s=stats.air_time_s,
            )  # fmt: skip
        )
        all_stats.append(stats)
    order = {c: i for i, c in enumerate(STREAM_CLASSES)}
    class_rows.sort(key=lambda r: order[r.stream_class])
    if not protection.msb_split:  # an empty row keeps the report's shape
        class_rows.insert(2, ClassReport("kernel-msb", protection.mcs["kernel-msb"], 0, 0, 0, 0, 0))
    report = ProtectionReport(
        protection.name, tuple(class_rows), tuple(segment_rows), stats=tuple(all_stats)
    )
    return received, erased, report
