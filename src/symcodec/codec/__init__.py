"""The DoF codec: transmission plans, quantizers and the ``.symc`` stream.

What a user needs is here: a :class:`TransmissionPlan` (a :class:`TensorPlan` per tensor,
one of :data:`MODES`, a :class:`QuantizerSpec`), :func:`encode`, :func:`decode` (into new
tensors, or in place with ``into=``) and :func:`inspect` (an :class:`Accounting` of
:class:`TensorAccount` rows). The record-level API of the stream format is
:mod:`symcodec.codec.format`.

Modules: :mod:`.plan` (what each tensor gets), :mod:`.quantize`, :mod:`.bitpack`,
:mod:`.entropy` (the ``ans`` coder), :mod:`.pruning`, :mod:`.wire` (a tensor's values on
the wire), :mod:`.records` (the stream's records), :mod:`.limits` (the decoder's bounds),
:mod:`.header` and :mod:`.header_fields` (reading and validating a header), :mod:`.writer`
(encode), :mod:`.reader` (decode), :mod:`.inplace` (decode into existing tensors),
:mod:`.accounting` (inspect), :mod:`.allocation` (:func:`allocate`: per-tensor steps at
a byte budget from a calibration set), :mod:`.sensitivity` (the loss increase of perturbed
values), :mod:`.symmetry_choice` (a symmetry per conv layer).

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
>>> model = {"conv.weight": torch.empty(16, 8, 3, 3), "conv.bias": torch.empty(16)}
>>> decode(blob, into=model) is model
True
"""

from .accounting import Accounting, TensorAccount, inspect
from .allocation import allocate
from .plan import MODES, TensorPlan, TransmissionPlan
from .quantize import QuantizerSpec
from .reader import decode
from .records import FORMAT_VERSION, MAGIC
from .writer import encode

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "MODES",
    "Accounting",
    "QuantizerSpec",
    "TensorAccount",
    "TensorPlan",
    "TransmissionPlan",
    "allocate",
    "decode",
    "encode",
    "inspect",
]
