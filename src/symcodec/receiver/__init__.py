"""The link end to end: encode, channel, receiver repair, accounting (SPEC sections 3, 5, 7).

:func:`transmit` sends a model (an ``nn.Module`` or a state dict) under a
:class:`~symcodec.codec.TransmissionPlan` through a :class:`~symcodec.channel.Channel` and
returns a :class:`Reception`: the received state dict with honest accounting of payload,
bits sent, bit errors, CRC failures, erasures and end-to-end latency.

* Digital channels corrupt the payload bytes; the header is protected (SPEC section 4). A
  payload CRC mismatch is expected and is reported per tensor instead of aborting. Codes
  outside the quantizer's range are clamped, so every value stays inside ``[lo, hi]``.
  Entropy-coded (``ans``) records are checked chunk by chunk: a chunk that fails its CRC is
  lost, its values are concealed with zeros (inside ``V_S`` for ``dof`` and
  ``full-project`` kernels), and the loss is reported (:attr:`Reception.lost_chunks`,
  :attr:`Reception.concealed_values`); the other chunks arrive exact.
* Analog channels (``awgn``) add noise to the values sent (after quantization to the plan's
  bits); the receiver clamps them to the quantizer's range. With ``equal_energy`` the SNR is
  per degree of freedom: a tensor that sends ``n`` values for ``d`` DoF gets
  ``snr_db - 10 log10(n / d)`` per value (SPEC section 5).
* The receiver rebuilds ``dof`` kernels from their coefficients (dead orbits are zero),
  projects ``full-project`` kernels onto ``V_S`` (partial strength ``alpha``), and leaves
  ``full`` tensors as they arrived.

* Analog noise is paired (:mod:`.noise`): it depends only on the seed and the tensor's name;
  ``dof`` coefficients travel in the orthonormal basis of ``V_S``.
* ``ReceiverOptions(protect="side")`` sends every tensor that is not a conv kernel over a
  protected sub-link; :attr:`Reception.channel_uses` and :attr:`Reception.energy` charge it
  (:mod:`.protection`).
* On an ``nr-ldpc`` link, ``transmit(..., protection=NrProtection.from_preset(...))`` sends
  each class of the stream at its own MCS, header included, and reports every class
  (:mod:`.unequal_protection`, classes in :mod:`.stream_classes`).

Modules: :mod:`.transmission` (:func:`transmit`, :func:`transmitter_view`),
:mod:`.reception` (what a transmission reports), :mod:`.digital` and :mod:`.analog` (the
receiving end of each kind of link), :mod:`.noise` (paired noise), :mod:`.protection`
(protected side tensors, channel uses and energy); unequal error protection on an NR link:
:mod:`.stream_classes` (the classes of a stream's bits), :mod:`.nr_protection` (an MCS per
class, the presets), :mod:`.unequal_protection` (sending the classes in segments),
:mod:`.protection_report` (what each class met), :mod:`.erasure_repair` (the receiver's
repair); link adaptation: :mod:`.link_adaptation` (choosing the MCS and preset),
:mod:`.expected_loss` (expected damage and air time at an SNR), :mod:`.loss_curve` and
:mod:`.loss_measurement` (accuracy against the fraction of values lost).

>>> import torch
>>> from symcodec.codec import TransmissionPlan
>>> from symcodec.channel import make_channel
>>> sd = {"conv.weight": torch.randn(8, 4, 3, 3), "conv.bias": torch.zeros(8)}
>>> plan = TransmissionPlan.default(sd, symmetry="central-skew", bits=8)
>>> rx = transmit(sd, plan, make_channel("bpsk-awgn", ebn0_db=6.0), seed=0)
>>> rx.bits_sent == rx.header_bits + 8 * (rx.payload_bytes)
True
>>> sorted(rx.state_dict) == sorted(sd)
True
"""

from .nr_protection import PROTECT_PRESETS, NrProtection
from .protection_report import HeaderLost, ProtectionReport
from .reception import ReceiverOptions, Reception, TensorReception
from .transmission import transmit, transmitter_view

__all__ = [
    "PROTECT_PRESETS",
    "HeaderLost",
    "NrProtection",
    "ProtectionReport",
    "ReceiverOptions",
    "Reception",
    "TensorReception",
    "transmit",
    "transmitter_view",
]
