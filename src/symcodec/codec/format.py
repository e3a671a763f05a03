"""The record-level API of the ``.symc`` stream format, for tools that work below
:func:`~symcodec.codec.encode` / :func:`~symcodec.codec.decode`: a receiver that corrupts,
repairs or conceals a payload, a format inspector, a fuzzer.

This module re-exports, from the modules that define them, the public names of the stream
format (see ``docs/format.md``):

* the layout: :data:`MAGIC`, :data:`FORMAT_VERSION`, :data:`PREAMBLE_BYTES`, :data:`DTYPES`;
* the records: :class:`TensorRecord`, :class:`Header`, :class:`DecodedTensor`,
  :func:`read_header` (parse and validate), :func:`record_payloads` (each record's bytes);
* decoding record by record: :func:`decode_stream`, :func:`decode_payload`,
  :func:`decode_values`, :func:`decode_record`, :func:`decode_mask`, :func:`record_codes`,
  :func:`record_symbols`, :func:`lost_chunk_values`, :func:`record_entropy_bits`,
  :func:`rebuild_tensor`, :func:`rebuild_state_dict`, :func:`clamp_to_range`;
* the values a tensor sends: :func:`transmitted_values`, :func:`sent_shape`,
  :func:`pruning_mask`; bit packing: :func:`pack_codes`, :func:`unpack_codes`,
  :func:`packed_size`, :func:`codes_touching`;
* the figures of a parsed header: :func:`accounting`.

>>> import torch
>>> from symcodec.codec import TransmissionPlan, encode
>>> from symcodec.codec.format import decode_payload, read_header, record_payloads
>>> sd = {"conv.weight": torch.randn(4, 2, 3, 3), "conv.bias": torch.zeros(4)}
>>> blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8))
>>> header = read_header(blob)
>>> payload = bytearray(blob[header.payload_offset :])
>>> [(r.name, len(data)) for r, data in record_payloads(header, payload)]
[('conv.weight', 32), ('conv.bias', 4)]
>>> payload[0] ^= 0xFF                       # a burst of bit errors in the first tensor
>>> [d.crc_ok for d in decode_payload(header, payload, strict=False)]
[False, True]
"""

from .accounting import accounting
from .bitpack import codes_touching, pack_codes, packed_size, unpack_codes
from .header import read_header
from .quantize import clamp_to_range
from .reader import (
    decode_mask,
    decode_payload,
    decode_record,
    decode_stream,
    decode_values,
    lost_chunk_values,
    rebuild_state_dict,
    record_codes,
    record_entropy_bits,
    record_payloads,
    record_symbols,
)
from .records import (
    DTYPES,
    FORMAT_VERSION,
    MAGIC,
    PREAMBLE_BYTES,
    DecodedTensor,
    Header,
    TensorRecord,
)
from .wire import pruning_mask, rebuild_tensor, sent_shape, transmitted_values

__all__ = [
    "DTYPES",
    "FORMAT_VERSION",
    "MAGIC",
    "PREAMBLE_BYTES",
    "DecodedTensor",
    "Header",
    "TensorRecord",
    "accounting",
    "clamp_to_range",
    "codes_touching",
    "decode_mask",
    "decode_payload",
    "decode_record",
    "decode_stream",
    "decode_values",
    "lost_chunk_values",
    "pack_codes",
    "packed_size",
    "pruning_mask",
    "read_header",
    "rebuild_state_dict",
    "rebuild_tensor",
    "record_codes",
    "record_entropy_bits",
    "record_payloads",
    "record_symbols",
    "sent_shape",
    "transmitted_values",
    "unpack_codes",
]
