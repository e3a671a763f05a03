"""The DoF codec: quantizers, bit packing, transmission plans and the ``.symc`` container.

>>> import torch
>>> from symcodec.codec import TransmissionPlan, encode, decode, inspect
>>> sd = {"conv.weight": torch.randn(16, 8, 3, 3), "conv.bias": torch.randn(16)}
>>> plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=4)
>>> blob = encode(sd, plan)
>>> acc = inspect(blob)
>>> acc.values_sent, acc.values_total     # 16*8*4 coefficients + 16 biases
(528, 1168)
>>> decode(blob)["conv.weight"].shape
torch.Size([16, 8, 3, 3])
"""

from .bitpack import pack_codes, packed_size, unpack_codes
from .container import (
    FORMAT_VERSION,
    MAGIC,
    Accounting,
    DecodedTensor,
    Header,
    TensorAccount,
    TensorRecord,
    accounting,
    decode,
    decode_mask,
    decode_record,
    decode_stream,
    encode,
    inspect,
    pruning_mask,
    read_header,
    rebuild_state_dict,
    rebuild_tensor,
    sent_shape,
    transmitted_values,
)
from .plan import MODES, TensorPlan, TransmissionPlan
from .quantize import QuantizerParams, QuantizerSpec, dequantize, fake_quantize, quantize

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "MODES",
    "Accounting",
    "DecodedTensor",
    "Header",
    "QuantizerParams",
    "QuantizerSpec",
    "TensorAccount",
    "TensorPlan",
    "TensorRecord",
    "TransmissionPlan",
    "accounting",
    "decode",
    "decode_mask",
    "decode_record",
    "decode_stream",
    "dequantize",
    "encode",
    "fake_quantize",
    "inspect",
    "pack_codes",
    "pruning_mask",
    "packed_size",
    "quantize",
    "read_header",
    "rebuild_state_dict",
    "rebuild_tensor",
    "sent_shape",
    "transmitted_values",
    "unpack_codes",
]
