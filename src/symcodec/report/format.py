"""How numbers and channel settings are written in the table, the claims and figure labels.

Missing values (None, NaN, text) are written ``n/a``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def is_finite(value) -> bool:
    """True for a finite number (or text that reads as one); False for NaN, inf, None, text.

    Example:
        >>> is_finite(2), is_finite("2.5"), is_finite(float("nan")), is_finite(None)
        (True, True, False, False)
    """
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def format_number(value, digits: int = 2, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals (and a + sign if ``sign``), or ``n/a``.

    Example:
        >>> format_number(3.14159), format_number(1.5, 1, sign=True), format_number(None)
        ('3.14', '+1.5', 'n/a')
    """
    if not is_finite(value):
        return "n/a"
    return f"{float(value):{'+' if sign else ''}.{digits}f}"


def format_ci(mean, half, digits: int = 2, sign: bool = False) -> str:
    """``mean ± half`` (the half-width left out when it is missing), or ``n/a``.

    Example:
        >>> format_ci(91.0, 12.706), format_ci(91.0, float("nan"))
        ('91.00 ± 12.71', '91.00')
    """
    if not is_finite(mean):
        return "n/a"
    text = format_number(mean, digits, sign)
    return f"{text} ± {float(half):.{digits}f}" if is_finite(half) else text


def format_value(value) -> str:
    """A channel value as typed in a sweep: 10 -> '10', 2.5 -> '2.5', 1e-3 -> '0.001'."""
    if not is_finite(value):
        return "n/a"
    return f"{float(value):g}"


def format_channel_setting(row: Mapping, single_param: bool) -> str:
    """The channel setting of a result or summary row: ``ideal``, or its value.

    With ``single_param`` (one parameter throughout, named in the column header) just the
    value; otherwise with the parameter, e.g. ``SNR 10 dB`` or ``p=0.001``.

    Example:
        >>> row = dict(channel="awgn", channel_param="snr_db", channel_value=10.0)
        >>> format_channel_setting(row, True), format_channel_setting(row, False)
        ('10', 'SNR 10 dB')
    """
    if row["channel"] == "ideal" or not is_finite(row["channel_value"]):
        return "ideal"
    value = format_value(row["channel_value"])
    if single_param:
        return value
    param = row["channel_param"]
    return {"snr_db": f"SNR {value} dB", "ebn0_db": f"Eb/N0 {value} dB"}.get(
        param, f"{param}={value}" if param else value
    )


def penalty_text(penalty) -> str:
    """A soft symmetry penalty lambda as tables and claims show it (``-``: not recorded).

    >>> penalty_text(0.0), penalty_text(0.01), penalty_text(float("inf")), penalty_text(None)
    ('0', '0.01', 'inf', '-')
    """
    try:
        value = float(penalty)
    except (TypeError, ValueError):
        return "-"
    if math.isnan(value):
        return "-"
    return "inf" if math.isinf(value) else f"{value:g}"
