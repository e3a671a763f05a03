"""NNCodec (Fraunhofer HHI's MPEG NNC, PyPI ``nncodec`` 2.1.3) as a codec of the NNCodec
benchmark (``bench/vs_nncodec.py``): :func:`import_nncodec` with its torchvision stub,
:class:`NNCodec` on a whole state dict and :class:`NNCodecDof` on the DoF coefficients.

**torchvision stub.** NNCodec imports ``torchvision`` at import time (only for its own
data-set and transform helpers, which this benchmark never calls), and no torchvision
build loads beside the CPU torch 2.13.0 used here. Before importing ``nncodec``,
:func:`import_nncodec` therefore inserts a stub ``torchvision`` package (``datasets``,
``transforms``, ``models`` submodules whose every attribute is an empty placeholder class)
into ``sys.modules``, unless a real ``torchvision`` imports. NNCodec's compression path
(approximator, DeepCABAC encoder/decoder) does not touch torchvision, so results do not
depend on it.

**NNCodec settings.** ``nncodec.nnc.compress(params, qp=qp, return_bitstream=True,
bitstream_path=None)`` on a plain ``{name: float32 ndarray}`` dict (NNCodec's generic
``NNRModel``: every tensor with more than one dimension is a "weight" coded at ``qp``;
1-D tensors (biases) at its default ``nonweight_qp=-75``), with every other argument at its
default: ``qp_density=2`` (step ``2**(qp/4)`` for qp divisible by 4), dependent (trellis)
quantization on (``use_dq=True``), DeepCABAC with parameter optimization, no data-driven
tools (no IOQ, LSA, BNF or fine-tuning: they need NNCodec's data-set loaders).
``nncodec.nnc.decompress(bytearray)`` decodes. Neither touches a file: timings are pure
in-memory encode and decode (numpy <-> torch conversion included, zero-copy).

**NNCodec on the DoF (``nncodec-dof``).** The same call on the DoF coefficients of the
symmetric kernels (each ``dof`` kernel as a 2-D ``(out, in * DoF)`` matrix, the other tensors
as they are); the receiver scatters them back. Both codecs then code the same values.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping

import numpy as np
import torch

#: What ``run.json`` reports as the torchvision version when the stub was used.
STUB_VERSION = "0.0.0+symcodec-bench-stub"


def _stub_torchvision() -> bool:
    """Make ``import torchvision`` succeed with an empty stub; True if the stub was used."""
    try:
        import torchvision  # noqa: F401

        return False
    except Exception:  # ImportError, or a real build that fails to load beside this torch
        for name in list(sys.modules):
            if name == "torchvision" or name.startswith("torchvision."):
                del sys.modules[name]

    def module(name: str) -> types.ModuleType:
        m = types.ModuleType(name)
        m.__path__ = []  # a package, so "from torchvision.x import y" works

        def __getattr__(attr: str, _m=m, _name=name):
            if attr.startswith("__"):
                raise AttributeError(attr)
            placeholder = type(
                attr, (), {"__init__": lambda self, *a, **k: None, "__module__": _name}
            )
            setattr(_m, attr, placeholder)
            return placeholder

        m.__getattr__ = __getattr__
        return m

    root = module("torchvision")
    root.__version__ = STUB_VERSION
    for sub in ("datasets", "transforms", "models"):
        child = module(f"torchvision.{sub}")
        setattr(root, sub, child)
        sys.modules[f"torchvision.{sub}"] = child
    sys.modules["torchvision"] = root
    return True


def import_nncodec():
    """``(nncodec.nnc, version, stubbed)``; exits with a hint when it is not installed."""
    stubbed = _stub_torchvision()
    try:
        from importlib.metadata import version

        from nncodec import nnc
    except ImportError as exc:
        sys.exit(
            f"vs_nncodec: cannot import nncodec ({exc}); run `make bench-nncodec`, which "
            "creates .venv-nncodec with NNCodec and symcodec"
        )
    return nnc, version("nncodec"), stubbed


class NNCodec:
    """NNCodec on a whole state dict, at one ``qp`` per call (the setting)."""

    name = "nncodec"

    def __init__(self, nnc):
        self.nnc = nnc

    def encode(self, state: dict[str, torch.Tensor], qp: int) -> bytes:
        """NNCodec's bitstream of ``state`` at ``qp``."""
        params = {k: v.detach().numpy().astype(np.float32, copy=False) for k, v in state.items()}
        blob = self.nnc.compress(
            params, bitstream_path=None, qp=int(qp), return_bitstream=True, verbose=False
        )
        return bytes(blob)

    def decode(self, blob: bytes, shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
        """The tensors of ``blob``, in the ``shapes`` given."""
        params = self.nnc.decompress(bytearray(blob), verbose=False)
        return {k: torch.from_numpy(np.asarray(params[k])).reshape(shapes[k]) for k in shapes}


class NNCodecDof(NNCodec):
    """NNCodec coding only the DoF coefficients of a plan's ``dof`` kernels."""

    name = "nncodec-dof"

    def __init__(self, nnc, plan):
        super().__init__(nnc)
        self.plan = plan

    def encode(self, state: dict[str, torch.Tensor], qp: int) -> bytes:
        """NNCodec's bitstream of the DoF coefficients (:func:`dof_arrays`)."""
        return super().encode(dof_arrays(state, self.plan), qp)

    def decode(self, blob: bytes, shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
        """The full tensors, the coefficients scattered back into the symmetric kernels."""
        params = self.nnc.decompress(bytearray(blob), verbose=False)
        arrays = {k: torch.from_numpy(np.asarray(params[k])) for k in shapes}
        return from_dof_arrays(arrays, shapes, self.plan)


def dof_arrays(state: Mapping[str, torch.Tensor], plan) -> dict[str, torch.Tensor]:
    """What ``nncodec-dof`` hands NNCodec: every ``dof`` kernel as its coefficients, 2-D
    ``(out, in * DoF)`` (a plain weight matrix to NNCodec), every other tensor as it is."""
    from symcodec.codec.wire import transmitted_values

    out = {}
    for name, t in state.items():
        if plan[name].mode == "dof":
            values = transmitted_values(t, plan[name])
            out[name] = values.reshape(values.shape[0], -1).contiguous()
        else:
            out[name] = t
    return out


def from_dof_arrays(
    arrays: Mapping[str, torch.Tensor], shapes: Mapping[str, torch.Size], plan
) -> dict[str, torch.Tensor]:
    """The receiver's side of :func:`dof_arrays`: scatter the coefficients back."""
    from symcodec.codec.wire import rebuild_tensor

    out = {}
    for name, shape in shapes.items():
        tp = plan[name]
        if tp.mode == "dof":
            out[name] = rebuild_tensor(arrays[name], tuple(shape), tp.symmetry, "dof")
        else:
            out[name] = arrays[name].reshape(shape)
    return out
