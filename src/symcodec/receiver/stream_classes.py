"""The classes of a ``.symc`` stream's bits, for unequal error protection.

Every bit of a stream (preamble, header, payload) belongs to one class:

* ``header``: the 16-byte preamble and the JSON header (without them nothing decodes);
* ``side``: what projection cannot repair: every tensor that is not a conv kernel (biases,
  FC and head weights, normalisation parameters, integer buffers) and the pruning positions
  of every tensor;
* ``kernel-msb``: the most significant bit of every kernel value coded ``fixed`` with a
  quantizer (``uniform`` or ``step``), when the MSB plane is split out (``msb_split``);
* ``kernel``: the other bits of the conv kernels (4-D float tensors): the rest of their
  fixed codes, their float passthrough bytes, and all of an entropy-coded (``ans``) kernel,
  whose bits have no planes.

A fixed-coded value of ``b`` bits sits MSB first at bit ``i * b`` of its record's values
(:func:`~symcodec.codec.format.pack_codes`), so its MSB plane can be sent apart and put back
by the receiver: the stream itself is unchanged, only the order in which a transport sends
its bits.

>>> import torch
>>> from symcodec.codec import TransmissionPlan, encode
>>> from symcodec.codec.format import read_header
>>> sd = {"conv.weight": torch.randn(4, 2, 3, 3), "conv.bias": torch.zeros(4)}
>>> blob = encode(sd, TransmissionPlan.default(sd, symmetry="central-skew", bits=8))
>>> header = read_header(blob)
>>> bits = class_bit_counts(header, msb_split=True)
>>> bits["kernel-msb"], bits["kernel"], bits["side"]  # 32 DoF of 8 bits; 4 biases of 8 bits
(32, 224, 32)
>>> int(stream_bit_classes(header, msb_split=True).size) == 8 * len(blob)
True
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from ..codec.format import Header, TensorRecord

__all__ = [
    "STREAM_CLASSES",
    "StreamClass",
    "class_bit_counts",
    "has_msb_plane",
    "is_kernel",
    "stream_bit_classes",
]

StreamClass = Literal["header", "side", "kernel-msb", "kernel"]
#: The classes in the order :func:`stream_bit_classes` numbers them.
STREAM_CLASSES: tuple[str, ...] = get_args(StreamClass)
_HEADER, _SIDE, _MSB, _KERNEL = range(4)


def is_kernel(record: TensorRecord) -> bool:
    """A conv kernel (a 4-D float tensor): the tensors projection can repair and a plan may
    constrain (:func:`symcodec.receiver.protection.is_protected` protects the others)."""
    return record.torch_dtype.is_floating_point and len(record.shape) == 4


def has_msb_plane(record: TensorRecord) -> bool:
    """A kernel whose values are fixed-length codes of a quantizer (at least 2 bits): its
    MSB plane can be sent apart."""
    return (
        is_kernel(record)
        and record.coder == "fixed"
        and record.quantizer.is_quantized
        and record.quantizer.bits >= 2
        and record.count > 0
    )


def stream_bit_classes(header: Header, *, msb_split: bool) -> np.ndarray:
    """One class number per bit of the stream (index into :data:`STREAM_CLASSES`), the
    preamble's first bit first; ``msb_split=False`` leaves no bit in ``kernel-msb``."""
    start = 8 * header.payload_offset
    labels = np.full(start + 8 * header.payload_bytes, _KERNEL, dtype=np.uint8)
    labels[:start] = _HEADER
    for record in header.records:
        first = start + 8 * record.offset
        values = first + 8 * record.positions_length
        last = first + 8 * record.length
        labels[first:values] = _SIDE  # pruning positions
        if not is_kernel(record):
            labels[values:last] = _SIDE
        elif msb_split and has_msb_plane(record):
            labels[values + record.quantizer.bits * np.arange(record.count)] = _MSB
    return labels


def class_bit_counts(header: Header, *, msb_split: bool) -> dict[str, int]:
    """Bits of the stream in each class (byte padding of a record counts with its values)."""
    counts = dict.fromkeys(STREAM_CLASSES, 0)
    counts["header"] = 8 * header.payload_offset
    for record in header.records:
        counts["side"] += 8 * record.positions_length
        value_bits = 8 * (record.length - record.positions_length)
        if not is_kernel(record):
            counts["side"] += value_bits
        elif msb_split and has_msb_plane(record):
            counts["kernel-msb"] += record.count
            counts["kernel"] += value_bits - record.count
        else:
            counts["kernel"] += value_bits
    return counts
