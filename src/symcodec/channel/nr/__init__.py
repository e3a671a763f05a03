"""5G NR digital links over Sionna (optional extra ``links``), behind ``nr-ldpc`` channels.

:class:`NrChannel` (:mod:`~symcodec.channel.nr.channel`) is the link as a digital
:class:`~symcodec.channel.Channel` (``make_channel("nr-ldpc", ...)``). Underneath, two levels
with one API, both sending a byte stream in NR transport blocks and returning an
:class:`NrResult` (received bytes, erased-byte mask, code block counts, residual bit errors,
channel uses and air time):

* :mod:`~symcodec.channel.nr.nr_ldpc` -- bit-true: Sionna's TB encoder (CRCs, segmentation, 5G
  LDPC, rate matching), QAM, AWGN or Rayleigh, soft demapping, BP decoding;
* :mod:`~symcodec.channel.nr.nr_abstract` -- abstracted: code block errors drawn from Sionna's PHY
  abstraction (precomputed BLER tables), for studies.

MCS indices come from a named 38.214 table (:mod:`~symcodec.channel.nr.mcs`); the TB layout
and the byte/erasure bookkeeping are in :mod:`~symcodec.channel.nr.transport`; BLER tables
(Sionna's, or curves measured bit-true for a link's own transport format by
:mod:`~symcodec.channel.nr.bler_measure`) in :mod:`~symcodec.channel.nr.bler_table`.
Sionna is imported only when a link is built (:mod:`~symcodec.channel.nr.backend`); importing
this package does not need it.
"""

from .backend import INSTALL_HINT, require_sionna, sionna_available, torch_threads
from .bler_measure import BlerCurve, BlerPoint, count_block_errors, measure_bler_curve
from .bler_table import shipped_bler_table, write_bler_table
from .channel import LEVELS, Level, NrChannel, NrChannelStats
from .mcs import MCS_TABLES, Mcs, McsTable, lookup_mcs, table_number
from .nr_abstract import NrAbstractLink
from .nr_ldpc import NrLdpcLink
from .transport import (
    DEFAULT_SYMBOL_RATE_HZ,
    DEFAULT_SYMBOLS_PER_TB,
    FADINGS,
    Fading,
    NrResult,
    TransportFormat,
    transport_format,
)

__all__ = [
    "BlerCurve",
    "BlerPoint",
    "DEFAULT_SYMBOLS_PER_TB",
    "DEFAULT_SYMBOL_RATE_HZ",
    "FADINGS",
    "INSTALL_HINT",
    "LEVELS",
    "Level",
    "MCS_TABLES",
    "Fading",
    "Mcs",
    "McsTable",
    "NrAbstractLink",
    "NrChannel",
    "NrChannelStats",
    "NrLdpcLink",
    "NrResult",
    "TransportFormat",
    "count_block_errors",
    "lookup_mcs",
    "measure_bler_curve",
    "require_sionna",
    "shipped_bler_table",
    "sionna_available",
    "table_number",
    "transport_format",
    "torch_threads",
    "write_bler_table",
]
