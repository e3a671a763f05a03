"""The figures of one trial's row that come from the transmission: sizes, errors, times.

:func:`reception_figures` reads them from a :class:`~symcodec.receiver.Reception`;
:func:`lost_header_figures` stands in for a reception on the NR link that lost the stream's
header (no model arrived: the link's figures from its protection report).
"""

from __future__ import annotations

from ..receiver import Reception
from ..receiver.unequal_protection import ProtectionReport

__all__ = ["reception_figures", "lost_header_figures"]


def reception_figures(rx: Reception) -> dict:
    """The row figures of a reception, with ``state_dict`` (the received model) and, off
    the NR link, no MCS (``kernel_mcs`` and ``protect_mcs`` -1, no code blocks)."""
    report = rx.protection
    return {
        "state_dict": rx.state_dict,
        "values_sent": rx.values_sent,
        "payload_bits": rx.payload_bits,
        "mask_bits": rx.mask_bits,
        "header_bits": rx.header_bits,
        "bits_sent": rx.bits_sent,
        "channel_uses": rx.channel_uses,
        "bit_errors": rx.bit_errors,
        "ber": rx.ber,
        "crc_failures": len(rx.crc_failures),
        "code_blocks": report.code_blocks if report is not None else 0,
        "failed_code_blocks": report.failed_code_blocks if report is not None else 0,
        "encode_ms": 1000 * rx.encode_s,
        "decode_ms": 1000 * rx.decode_s,
        "air_ms": 1000 * rx.air_time_s,
        "latency_ms": rx.latency_ms,
        "kernel_mcs": -1,
        "protect_mcs": -1,
    }


def lost_header_figures(report: ProtectionReport) -> dict:
    """The figures of an NR transmission that lost the header: no model (``state_dict``
    None), the air time and code blocks the link spent; the sizes are the caller's (those
    of the stream sent)."""
    air_ms = 1000 * report.air_time_s
    return {
        "state_dict": None,
        "channel_uses": report.channel_uses,
        "bit_errors": 0,
        "ber": 0.0,
        "code_blocks": report.code_blocks,
        "failed_code_blocks": report.failed_code_blocks,
        "encode_ms": 0.0,
        "decode_ms": 0.0,
        "air_ms": air_ms,
        "latency_ms": air_ms,
        "kernel_mcs": -1,
        "protect_mcs": -1,
    }
