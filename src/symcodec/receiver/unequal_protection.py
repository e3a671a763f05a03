"""Unequal error protection on a 5G NR link: each class of the stream at its own MCS.

A :class:`NrProtection` gives every class of :mod:`.stream_classes` (``header``, ``side``,
``kernel-msb``, ``kernel``) an MCS of one 38.214 table. The transmitter sends the stream's
bits class by class: the classes that share an MCS form one *segment* (their bits in stream
order), and every segment rides its own NR transport blocks at its MCS
(:class:`~symcodec.channel.nr.NrChannel`, bit-true or abstracted, one SNR and fading for
all). Nothing is assumed error-free: the header travels like everything else, and the air
time is every segment's channel uses (code redundancy, CRCs and the padding of its last TB
included) over the symbol rate.

The receiver puts the bits back in stream order. A code block (CB) that fails its CRC erases
the bits it carried (byte-granular within its segment, as the NR link reports it); then:

* a lost header bit (or one the header's CRC would catch) loses the whole stream:
  :class:`HeaderLost`, which carries the report;
* lost pruning positions cost their tensor: its values are erased;
* a ``fixed`` kernel value whose MSB arrived but some lower bit was lost (possible only when
  the MSB plane has its own MCS) is rebuilt from its MSB: its code becomes the mean code of
  the tensor's intact values with the same MSB (rounded; the code nearest the middle of the
  range when there is none), and is counted in ``concealed_values`` of ``kernel-msb``;
* every other value that touches an erased byte is filled with zero (``fixed``), every
  ``ans`` chunk that overlaps one is lost and concealed, as on any digital link
  (:func:`symcodec.receiver.digital.decode_received`). With values narrower than a byte, a
  byte with an erased bit erases its neighbours too.

Presets (:meth:`NrProtection.from_preset`): ``none`` one MCS for all; ``side`` the robust
``protect_mcs`` for ``header`` and ``side``, the chosen MCS for the kernels; ``side+msb``
also the kernels' MSB plane at ``protect_mcs``.

>>> p = NrProtection.from_preset("side+msb", mcs=15, protect_mcs=6)
>>> p.mcs["header"], p.mcs["kernel-msb"], p.mcs["kernel"], p.msb_split
(6, 6, 15, True)
>>> p.segments()
[(6, ('header', 'side', 'kernel-msb')), (15, ('kernel',))]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

import numpy as np
import torch

from ..channel import ChannelStats, NrChannel, NrChannelStats
from ..channel.nr import MCS_TABLES
from ..channel.nr.transport import code_block_of_bits
from ..codec.format import DecodedTensor, Header
from ..errors import SymcodecError
from .digital import decode_received
from .reception import ReceiverOptions, TensorReception
from .stream_classes import STREAM_CLASSES, has_msb_plane, stream_bit_classes

__all__ = [
    "PROTECT_PRESETS",
    "ClassReport",
    "HeaderLost",
    "NrProtection",
    "ProtectPreset",
    "ProtectionReport",
    "SegmentReport",
    "decode_with_erasures",
    "default_protect_mcs",
    "header_intact",
    "protection_channels",
    "send_protected",
    "with_concealed",
]

ProtectPreset = Literal["none", "side", "side+msb"]
PROTECT_PRESETS: tuple[str, ...] = get_args(ProtectPreset)
#: how many MCS indices below the chosen one the default protection MCS sits
PROTECT_MCS_STEP = 5
# the lowest MCS of each table that Sionna's BLER tables cover (the abstraction's floor)
_LOWEST_TABULATED = {"qam64": 3, "qam256": 2, "qam64-lowse": 9, "qam1024": 2}


def default_protect_mcs(mcs: int, mcs_table: str = "qam64") -> int:
    """The robust MCS a preset uses when none is given: ``PROTECT_MCS_STEP`` indices below
    ``mcs``, but not below the lowest MCS the PHY abstraction has a table for (nor above
    ``mcs``).

    >>> default_protect_mcs(15), default_protect_mcs(5), default_protect_mcs(2)
    (10, 3, 2)
    """
    floor = _LOWEST_TABULATED.get(mcs_table, 0)
    return max(mcs - PROTECT_MCS_STEP, min(mcs, floor))


@dataclass(frozen=True)
class NrProtection:
    """An MCS for every class of the stream (:data:`~.stream_classes.STREAM_CLASSES`).

    Attributes:
        mcs: class name -> MCS index in ``mcs_table`` (every class, no other key).
        mcs_table: the 38.214 MCS table's name.
        name: the preset's name, or ``"custom"``.
    """

    mcs: Mapping[str, int]
    mcs_table: str = "qam64"
    name: str = "custom"

    def __post_init__(self) -> None:
        if self.mcs_table not in MCS_TABLES:
            raise SymcodecError(
                f"unknown NR MCS table {self.mcs_table!r}; known: {', '.join(MCS_TABLES)}"
            )
        if set(self.mcs) != set(STREAM_CLASSES):
            missing = sorted(set(STREAM_CLASSES) - set(self.mcs))
            extra = sorted(set(self.mcs) - set(STREAM_CLASSES))
            raise SymcodecError(
                f"an NR protection needs an MCS for each of {', '.join(STREAM_CLASSES)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        highest = MCS_TABLES[self.mcs_table][1]
        for cls, index in self.mcs.items():
            if isinstance(index, bool) or not isinstance(index, int | np.integer):
                raise SymcodecError(f"MCS of class {cls} must be an integer, got {index!r}")
            if not 0 <= int(index) <= highest:
                raise SymcodecError(
                    f"MCS {index} of class {cls} is not in NR MCS table {self.mcs_table} "
                    f"(indices 0..{highest})"
                )
        object.__setattr__(self, "mcs", {c: int(self.mcs[c]) for c in STREAM_CLASSES})

    @classmethod
    def from_preset(
        cls,
        preset: str,
        mcs: int,
        protect_mcs: int | None = None,
        mcs_table: str = "qam64",
    ) -> NrProtection:
        """A named preset: ``none``, ``side`` or ``side+msb`` (see the module docstring);
        ``protect_mcs`` defaults to :func:`default_protect_mcs` and may not exceed ``mcs``."""
        if preset not in PROTECT_PRESETS:
            raise SymcodecError(
                f"unknown protection preset {preset!r}; known: {', '.join(PROTECT_PRESETS)}"
            )
        robust = default_protect_mcs(mcs, mcs_table) if protect_mcs is None else protect_mcs
        if isinstance(robust, int) and isinstance(mcs, int) and robust > mcs:
            raise SymcodecError(
                f"the protection MCS ({robust}) must not exceed the MCS ({mcs}): it is the "
                "more robust one"
            )
        side = mcs if preset == "none" else robust
        msb = robust if preset == "side+msb" else mcs
        table = {"header": side, "side": side, "kernel-msb": msb, "kernel": mcs}
        return cls(table, mcs_table, preset)

    @property
    def msb_split(self) -> bool:
        """Whether the kernels' MSB plane travels apart (its MCS differs from the rest's)."""
        return self.mcs["kernel-msb"] != self.mcs["kernel"]

    def segments(self) -> list[tuple[int, tuple[str, ...]]]:
        """``(MCS, classes)`` of every segment, in the order of the classes' first MCS."""
        out: dict[int, list[str]] = {}
        for c in STREAM_CLASSES:
            if c == "kernel-msb" and not self.msb_split:
                continue
            out.setdefault(self.mcs[c], []).append(c)
        return [(m, tuple(cs)) for m, cs in out.items()]


@dataclass(frozen=True)
class ClassReport:
    """What one class of the stream met on the link.

    Attributes:
        stream_class: the class's name.
        mcs: its MCS index.
        bits: stream bits of the class.
        erased_bits: of those, bits erased (their CB failed).
        code_blocks: CBs that carried at least one bit of the class.
        failed_code_blocks: of those, CBs that failed.
        channel_uses: the class's share of its segment's channel uses (``bits`` over the
            segment's payload bits per channel use; the padding stays with the segment).
        concealed_values: ``kernel-msb``: values whose lower bits were lost, rebuilt from
            their MSB.
    """

    stream_class: str
    mcs: int
    bits: int
    erased_bits: int
    code_blocks: int
    failed_code_blocks: int
    channel_uses: float
    concealed_values: int = 0


@dataclass(frozen=True)
class SegmentReport:
    """One segment: the classes sent at one MCS, in their own transport blocks."""

    mcs: str
    mcs_index: int
    classes: tuple[str, ...]
    bits: int
    transport_blocks: int
    code_blocks: int
    failed_code_blocks: int
    residual_bit_errors: int
    channel_uses: int
    air_time_s: float


@dataclass(frozen=True)
class ProtectionReport:
    """Every class and segment of one protected transmission."""

    preset: str
    classes: tuple[ClassReport, ...]
    segments: tuple[SegmentReport, ...]
    header_lost: bool = False
    stats: tuple[NrChannelStats, ...] = field(default=(), repr=False)

    @property
    def channel_uses(self) -> int:
        """Channel uses of every segment."""
        return sum(s.channel_uses for s in self.segments)

    @property
    def air_time_s(self) -> float:
        """Air time of every segment."""
        return sum(s.air_time_s for s in self.segments)

    @property
    def code_blocks(self) -> int:
        return sum(s.code_blocks for s in self.segments)

    @property
    def failed_code_blocks(self) -> int:
        return sum(s.failed_code_blocks for s in self.segments)

    @property
    def residual_bit_errors(self) -> int:
        return sum(s.residual_bit_errors for s in self.segments)

    @property
    def lossless(self) -> bool:
        """No CB failed and no bit error slipped through."""
        return self.failed_code_blocks == 0 and self.residual_bit_errors == 0

    def by_class(self) -> dict[str, ClassReport]:
        return {c.stream_class: c for c in self.classes}


class HeaderLost(SymcodecError):
    """The stream's header did not arrive intact: nothing can be decoded.
    ``report`` says what the link did."""

    def __init__(self, report: ProtectionReport) -> None:
        header = report.by_class()["header"]
        super().__init__(
            f"the NR link lost the stream's header ({header.failed_code_blocks} of "
            f"{header.code_blocks} code blocks at MCS {header.mcs}): nothing can be decoded"
        )
        self.report = report


def protection_channels(template: NrChannel, protection: NrProtection) -> dict[int, NrChannel]:
    """One NR channel per segment MCS, with ``template``'s SNR, fading, level and TB size."""
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
            symbol_rate_hz=template.symbol_rate_hz,
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


def with_concealed(report: ProtectionReport, rebuilt: int) -> ProtectionReport:
    """``report`` with ``rebuilt`` values counted as concealed in ``kernel-msb``."""
    rows = tuple(
        replace(r, concealed_values=rebuilt) if r.stream_class == "kernel-msb" else r
        for r in report.classes
    )
    return replace(report, classes=rows)


def header_intact(
    header: Header, blob: bytes, received_bits: np.ndarray, erased: np.ndarray
) -> bool:
    """Whether every bit of the preamble and header arrived (not erased, not flipped: the
    header's CRC32 would catch a flip)."""
    stop = 8 * header.payload_offset
    sent = np.unpackbits(np.frombuffer(blob[: header.payload_offset], dtype=np.uint8))
    return not erased[:stop].any() and np.array_equal(received_bits[:stop], sent)
