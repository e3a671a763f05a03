"""The top-level API: models in, bytes out, and back (shaped like safetensors' pair).

Every function takes an ``nn.Module`` or a state dict. :func:`encode` returns the bytes of a
``.symc`` stream; :func:`decode` returns a state dict, or writes the received weights into
an existing model's parameters in place. :func:`save_file` / :func:`load_file` do the same
with a file. For full control over what each tensor gets on the wire, build a
:class:`~symcodec.codec.TransmissionPlan` and pass it as ``plan=``.

>>> import symcodec
>>> model = symcodec.models.build_model("deepcnn")
>>> blob = symcodec.encode(model, symmetry="central-skew", bits=8)
>>> symcodec.decode(blob, into=model) is model
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from .channel import Channel
from .codec import TransmissionPlan
from .codec import decode as decode_stream_into
from .codec import encode as encode_stream
from .errors import SymcodecError
from .io import read_bytes, write_bytes_atomic
from .receiver import ReceiverOptions, Reception
from .receiver import transmit as transmit_plan

__all__ = ["decode", "encode", "load_file", "plain_state_dict", "save_file", "transmit"]

ModelOrStateDict = nn.Module | Mapping[str, torch.Tensor]


def plain_state_dict(model: ModelOrStateDict) -> dict[str, torch.Tensor]:
    """The tensors a model sends, as a plain ``{name: tensor}`` dict (detached).

    A layer constrained by :func:`symcodec.symmetrize` contributes its rebuilt kernel under
    its plain name (``conv.weight``), not the coefficients it trains
    (``conv.parametrizations.weight.original``), so a symmetrized model and its
    :func:`~symcodec.constrain.unsymmetrize`-d copy give the same dict.

    >>> import torch, symcodec
    >>> net = symcodec.symmetrize(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)), "central")
    >>> sorted(plain_state_dict(net))
    ['0.bias', '0.weight']
    """
    if isinstance(model, Mapping):
        return {str(k): v.detach() for k, v in model.items()}
    if not isinstance(model, nn.Module):
        raise SymcodecError(f"expected an nn.Module or a state dict, got {type(model).__name__}")
    state = {k: v.detach() for k, v in model.state_dict().items()}
    for prefix, module in model.named_modules():
        if not parametrize.is_parametrized(module):
            continue
        for tensor_name in list(module.parametrizations.keys()):
            stem = f"{prefix}." if prefix else ""
            for key in [k for k in state if k.startswith(f"{stem}parametrizations.{tensor_name}.")]:
                del state[key]
            state[f"{stem}{tensor_name}"] = getattr(module, tensor_name).detach()
    return state


def encode(
    model: ModelOrStateDict,
    *,
    symmetry: str = "none",
    bits: int = 8,
    mode: str = "dof",
    step: float | None = None,
    coder: str = "fixed",
    plan: TransmissionPlan | None = None,
    **plan_options: Any,
) -> bytes:
    """Encode a model into the bytes of a ``.symc`` stream.

    Conv kernels get ``symmetry`` in ``mode`` (``dof`` sends only the coefficients of the
    symmetric kernel's orbits); every other tensor is sent in full. Without ``plan`` the plan
    is :meth:`TransmissionPlan.default(state_dict, symmetry, bits, mode, step=step,
    coder=coder, **plan_options) <symcodec.codec.TransmissionPlan.default>`.

    Args:
        model: an ``nn.Module`` or a state dict.
        symmetry: a named symmetry (``symcodec.symmetry_names()``) or a ``Symmetry``.
        bits: bits per value (2..16, or 32 for float32).
        mode: ``dof``, ``full-project`` or ``full`` for the symmetric kernels.
        step: a quantizer step size instead of ``bits`` (with ``coder="ans"``: entropy coded).
        coder: ``fixed`` (fixed-length codes) or ``ans``.
        plan: a ready plan; the other plan arguments must then be left at their defaults.
        **plan_options: further arguments of ``TransmissionPlan.default`` (``other_bits``,
            ``per_channel``, ``grid``, ``layers``, ``dead_zone``, ``chunk_values``, ...).

    Returns:
        The stream's bytes.

    Raises:
        SymcodecError: a bad argument (unknown symmetry, bits out of range, ...).

    >>> import torch, symcodec
    >>> sd = {"conv.weight": torch.randn(16, 8, 3, 3), "conv.bias": torch.zeros(16)}
    >>> blob = symcodec.encode(sd, symmetry="central-skew", bits=8)
    >>> symcodec.codec.inspect(blob).values_sent   # 16*8 kernels x 4 DoF + 16 biases
    528
    """
    state = plain_state_dict(model)
    plan = _plan(
        state, plan, symmetry=symmetry, bits=bits, mode=mode, step=step, coder=coder, **plan_options
    )
    return encode_stream(state, plan)


def transmit(
    model: ModelOrStateDict,
    channel: Channel,
    *,
    symmetry: str = "none",
    bits: int = 8,
    mode: str = "dof",
    step: float | None = None,
    coder: str = "fixed",
    plan: TransmissionPlan | None = None,
    seed: int | None = 0,
    options: ReceiverOptions | None = None,
    **plan_options: Any,
) -> Reception:
    """Send a model over a simulated link and receive it: encode (as :func:`encode`), the
    channel, and the receiver's repair (rebuild and project the symmetric kernels).

    Args:
        model: an ``nn.Module`` (symmetrized or plain) or a state dict.
        channel: a channel, e.g. ``symcodec.channel.make_channel("awgn", snr_db=10)``.
        symmetry, bits, mode, step, coder, plan, **plan_options: as for :func:`encode`.
        seed: seed of the channel noise (the same seed gives the same received model).
        options: receiver options (projection strength ``alpha``, ``equal_energy``, ...).

    Returns:
        A :class:`~symcodec.receiver.Reception`: the received ``state_dict`` and the link's
        figures (payload, bits sent, bit errors, latency).

    >>> import torch, symcodec
    >>> net = torch.nn.Conv2d(4, 8, 3)
    >>> link = symcodec.channel.make_channel("bpsk-awgn", ebn0_db=8.0)
    >>> rx = symcodec.transmit(net, link, symmetry="central-skew", bits=8, seed=1)
    >>> rx.values_sent, sorted(rx.state_dict)   # 8*4 kernels x 4 DoF + 8 biases
    (136, ['bias', 'weight'])
    """
    state = plain_state_dict(model)
    plan = _plan(
        state, plan, symmetry=symmetry, bits=bits, mode=mode, step=step, coder=coder, **plan_options
    )
    return transmit_plan(state, plan, channel, seed=seed, options=options)


def _plan(state, plan: TransmissionPlan | None, **arguments: Any) -> TransmissionPlan:
    """The given plan, or the default plan built from the plan arguments (not both)."""
    defaults = {"symmetry": "none", "bits": 8, "mode": "dof", "step": None, "coder": "fixed"}
    if plan is None:
        return TransmissionPlan.default(state, **arguments)
    if any(arguments.get(k, v) != v for k, v in defaults.items()) or set(arguments) - set(defaults):
        raise SymcodecError("give either plan= or the plan arguments (symmetry, bits, ...)")
    return plan


def decode(
    blob: bytes, into: nn.Module | Mapping[str, torch.Tensor] | None = None, *, strict: bool = True
):
    """Decode a ``.symc`` stream.

    Without ``into`` it returns a new state dict. With ``into=model`` (or a state dict of
    existing tensors) the received weights are written into that model's existing parameter
    and buffer storage in place, without new full-size tensors, and the model is returned.

    Args:
        blob: the stream's bytes.
        into: a model (or state dict) whose tensors receive the decoded values. Every tensor
            of the stream must be there with the same shape; tensors the stream does not carry
            are left as they are.
        strict: raise on a payload CRC mismatch (``False``: decode what arrived).

    Raises:
        SymcodecError: a corrupt or truncated stream, or a stream tensor the model lacks.

    >>> import torch, symcodec
    >>> net = torch.nn.Conv2d(8, 16, 3)
    >>> blob = symcodec.encode(net, symmetry="central-skew", bits=8)
    >>> sorted(symcodec.decode(blob))
    ['bias', 'weight']
    >>> copy = torch.nn.Conv2d(8, 16, 3)
    >>> _ = symcodec.decode(blob, into=copy)
    >>> torch.equal(copy.weight, -copy.weight.flip(-1, -2))   # received kernels are symmetric
    True
    """
    if into is None:
        return decode_stream_into(blob, strict=strict)
    if isinstance(into, Mapping):
        return decode_stream_into(blob, strict=strict, into=into)
    if not isinstance(into, nn.Module):
        raise SymcodecError(f"into must be an nn.Module or a state dict, got {type(into).__name__}")
    if any(parametrize.is_parametrized(m) for m in into.modules()):
        # Constrained layers store coefficients, not kernels: decode, then assign through
        # each parametrization's right inverse.
        received = decode_stream_into(blob, strict=strict)
        _check_names(received, plain_state_dict(into))
        with torch.no_grad():
            _assign(into, received)
        return into
    with torch.no_grad():
        decode_stream_into(blob, strict=strict, into=into.state_dict())
    return into


def save_file(model: ModelOrStateDict, path: str | os.PathLike, **encode_options: Any) -> None:
    """Encode a model (as :func:`encode`) and write the stream to ``path`` atomically.

    >>> import torch, symcodec, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "net.symc")
    >>> symcodec.save_file(torch.nn.Conv2d(3, 8, 3), path, symmetry="hflip", bits=8)
    >>> sorted(symcodec.load_file(path))
    ['bias', 'weight']
    """
    path = os.fspath(path)
    if not path.endswith(".symc"):
        raise SymcodecError(f"{path}: a symcodec stream file must end in .symc")
    write_bytes_atomic(path, encode(model, **encode_options))


def load_file(
    path: str | os.PathLike,
    into: nn.Module | Mapping[str, torch.Tensor] | None = None,
    *,
    strict: bool = True,
):
    """Read a ``.symc`` file and decode it (as :func:`decode`, with ``into``).

    >>> import torch, symcodec, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "net.symc")
    >>> symcodec.save_file(torch.nn.Conv2d(3, 8, 3), path, symmetry="central", bits=8)
    >>> net = symcodec.load_file(path, into=torch.nn.Conv2d(3, 8, 3))
    >>> symcodec.get_symmetry("central").is_symmetric(net.weight.detach())
    True
    """
    return decode(read_bytes(path), into=into, strict=strict)


def _check_names(received: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]):
    for name, tensor in received.items():
        if name not in target:
            raise SymcodecError(f"the stream carries {name!r}, which the model does not have")
        if tuple(target[name].shape) != tuple(tensor.shape):
            raise SymcodecError(
                f"{name}: the stream carries shape {tuple(tensor.shape)}, "
                f"the model has {tuple(target[name].shape)}"
            )


def _assign(model: nn.Module, received: Mapping[str, torch.Tensor]) -> None:
    modules = dict(model.named_modules())
    for name, tensor in received.items():
        owner, _, attr = name.rpartition(".")
        module = modules[owner]
        if parametrize.is_parametrized(module, attr):
            setattr(module, attr, tensor)  # stored through the parametrization's right_inverse
        else:
            getattr(module, attr).copy_(tensor)
