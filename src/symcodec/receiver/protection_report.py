"""What a transmission under unequal error protection met on the link: a row per class of the
stream (:class:`ClassReport`) and per segment (:class:`SegmentReport`), together a
:class:`ProtectionReport`; :class:`HeaderLost` when the header did not arrive."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..channel import NrChannelStats
from ..errors import SymcodecError

__all__ = [
    "ClassReport",
    "HeaderLost",
    "ProtectionReport",
    "SegmentReport",
    "with_concealed",
]


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


def with_concealed(report: ProtectionReport, rebuilt: int) -> ProtectionReport:
    """``report`` with ``rebuilt`` values counted as concealed in ``kernel-msb``."""
    rows = tuple(
        replace(r, concealed_values=rebuilt) if r.stream_class == "kernel-msb" else r
        for r in report.classes
    )
    return replace(report, classes=rows)
