"""Evaluate many received models of one architecture on one test set, fast and exactly.

A study sends one network over a noisy link hundreds of times and scores every received
copy on the same test set. :func:`evaluate_many` does that job: it takes a template model
and a sequence of state dicts and returns the accuracy (in percent) of each, equal to what
:func:`symcodec.training.evaluate` gives for each model on its own (see *Exactness*).

How it is fast. Measured on a 2-core AVX-512 CPU (torch 2.13, ``deepcnn``, 374 GFLOP per
model over the 10,000 Fashion-MNIST test images; ``bench/study_speed.py``): one model at a
time with ``training.evaluate`` takes about 6.7 s, mostly memory traffic, since a batch of
1,000 images makes 100 MB activations (conv1's output), far more than the caches. What
helps, in order of effect:

- the ``channels_last`` memory format, which oneDNN's convolutions run best in, and small
  input chunks (``batch_size`` 32-128 measured alike; 64 by default; 256 and more are
  slower), so that activations stay in cache: about 1.4 s per model instead of 6.7 s
  (``training.evaluate`` with ``batch_size=64`` alone: about 2.5 s);
- ``torch.inference_mode`` and no per-model set-up: the working copies of the model are
  built once and every state dict is copied into them.

Then the three large convolutions run at 300-360 GFLOP/s, close to the CPU's peak, and
take three quarters of the time (ReLU, pooling, conv1 with one input channel and fc1 share
the rest): the work is compute-bound. Batching *across models* was measured and does not
pay on this CPU: a grouped convolution over M models (kernels concatenated along output
channels, ``groups=M``) took 1.8 s per model, ``torch.vmap`` over
``torch.func.functional_call`` with stacked parameters (which lowers to grouped
convolutions) 3.8 s, and sharing each input chunk between ``models_per_pass`` > 1 models
gained nothing measurable (more weights cycle through the cache), so the default is 1;
oneDNN conv+ReLU fusion and TorchScript freezing gave no gain either. Models with
different weights share no FLOPs, so each gets its own forward pass per chunk. Models with
the *same* weights share all of them: state dicts whose every tensor is byte-identical (a
digital link's trials that arrive without a single error) are run once and the count is
reused, which skips most forward passes of a study above a digital link's waterfall.

Exactness. Correct predictions are counted as integers and the accuracy is
``100.0 * correct / n``, the same expression as ``training.evaluate``. The logits,
though, are only equal up to float32 rounding: a different batch size or memory format
makes oneDNN sum in a different order (``training.evaluate`` itself gives logits that
differ in the last bits when its ``batch_size`` changes; measured differences are about
3e-8 on logits of size 0.1). A prediction can therefore differ only for an input whose two
largest logits are within about 1e-6 (relative) of each other; then the accuracy differs by
``100 / n`` per such input. Pass ``batch_size`` equal to ``training.evaluate``'s and
``channels_last=False`` to run exactly the same kernels as it does (bit-identical, slower).

>>> import torch
>>> from torch import nn
>>> net = nn.Linear(2, 2, bias=False)
>>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
>>> y = torch.tensor([0, 1, 1])
>>> identity = {"weight": torch.eye(2)}
>>> swapped = {"weight": torch.eye(2).flip(0)}
>>> evaluate_many(net, [identity, swapped], x, y)
[66.66..., 33.33...]
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

from .errors import SymcodecError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MODELS_PER_PASS",
    "count_correct_many",
    "evaluate_many",
    "evaluate_one",
    "state_digest",
]

#: Input examples per forward pass (32-128 measured fastest for ``deepcnn`` on a 2-core CPU).
DEFAULT_BATCH_SIZE = 64
#: Models (working copies) that share each converted input chunk; more gained nothing on CPU.
DEFAULT_MODELS_PER_PASS = 1

_INTEGER_LABELS = (torch.int64, torch.int32, torch.int16, torch.uint8)


def _check_args(x: torch.Tensor, y: torch.Tensor, batch_size: int, models_per_pass: int) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise SymcodecError("inputs and labels must be torch tensors")
    if y.dim() != 1 or y.dtype not in _INTEGER_LABELS:
        raise SymcodecError(f"labels must be a 1-D integer tensor, got {tuple(y.shape)} {y.dtype}")
    if x.dim() == 0 or x.shape[0] != y.shape[0]:
        raise SymcodecError(f"{x.shape[0] if x.dim() else 0} inputs but {y.shape[0]} labels")
    for name, value in (("batch_size", batch_size), ("models_per_pass", models_per_pass)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SymcodecError(f"{name} must be an integer >= 1, got {value!r}")


def _check_state_dict(index: int, state: object, shapes: Mapping[str, torch.Size]) -> None:
    """Raise :class:`SymcodecError` unless ``state`` has exactly the model's keys and shapes."""
    if not isinstance(state, Mapping):
        raise SymcodecError(f"state dict {index}: expected a mapping, got {type(state).__name__}")
    missing = [k for k in shapes if k not in state]
    unexpected = [k for k in state if k not in shapes]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:4])}" + (" ..." if len(missing) > 4 else ""))
        if unexpected:
            parts.append(
                f"unexpected {', '.join(map(str, unexpected[:4]))}"
                + (" ..." if len(unexpected) > 4 else "")
            )
        raise SymcodecError(f"state dict {index} does not fit the model: {'; '.join(parts)}")
    for key, shape in shapes.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise SymcodecError(
                f"state dict {index}: {key} is a {type(value).__name__}, not a tensor"
            )
        if value.shape != shape:
            raise SymcodecError(
                f"state dict {index}: {key} has shape {tuple(value.shape)}, "
                f"the model expects {tuple(shape)}"
            )


def _uses_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def state_digest(state_dict: Mapping[str, torch.Tensor]) -> bytes:
    """A digest of a state dict's names, dtypes, shapes and bytes: equal digests mean
    byte-identical state dicts (up to a BLAKE2b collision).

    >>> a = {"w": torch.zeros(2)}
    >>> state_digest(a) == state_digest({"w": torch.zeros(2)}), state_digest(a) == state_digest(
    ...     {"w": torch.zeros(3)})
    (True, False)
    """
    digest = hashlib.blake2b(digest_size=20)
    for name in sorted(state_dict):
        tensor = state_dict[name].detach()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.digest()


def count_correct_many(
    model: nn.Module,
    state_dicts: Sequence[Mapping[str, torch.Tensor]],
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    models_per_pass: int = DEFAULT_MODELS_PER_PASS,
    device: str | torch.device = "cpu",
    channels_last: bool | None = None,
) -> list[int]:
    """Number of correct top-1 predictions of each state dict loaded into ``model``.

    Arguments as in :func:`evaluate_many`, which divides these counts by ``len(x)``.

    >>> from torch import nn
    >>> net = nn.Linear(2, 2, bias=False)
    >>> x, y = torch.eye(2), torch.tensor([0, 1])
    >>> count_correct_many(net, [{"weight": torch.eye(2)}, {"weight": -torch.eye(2)}], x, y)
    [2, 0]
    """
    _check_args(x, y, batch_size, models_per_pass)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    for i, state in enumerate(state_dicts):
        _check_state_dict(i, state, shapes)
    # Byte-identical state dicts are run once: ``slots[i]`` is state dict i's distinct one.
    slot_of: dict[bytes, int] = {}
    slots = [slot_of.setdefault(state_digest(s), len(slot_of)) for s in state_dicts]
    distinct = {slot: state for slot, state in reversed(list(zip(slots, state_dicts, strict=True)))}
    state_dicts = [distinct[slot] for slot in range(len(slot_of))]
    n_models = len(state_dicts)
    n = x.shape[0]
    if n_models == 0 or n == 0:
        return [0] * len(slots)

    dev = torch.device(device)
    if channels_last is None:
        channels_last = x.dim() == 4 and _uses_conv2d(model)
    elif channels_last and x.dim() != 4:
        raise SymcodecError(f"channels_last needs 4-D (N, C, H, W) inputs, got {x.dim()}-D")
    layout = torch.channels_last if channels_last else torch.contiguous_format

    # Working copies, built once: every group's state dicts are copied into them in place
    # (load_state_dict keeps each parameter's device and memory format). torch keys the
    # parametrization cache by the module a parametrization was registered on, which deep
    # copies share, so a parametrized model runs one copy at a time.
    parametrized = any(parametrize.is_parametrized(m) for m in model.modules())
    group = 1 if parametrized else min(models_per_pass, n_models)
    workers = []
    for _ in range(group):
        work = copy.deepcopy(model).to(dev).eval()
        if channels_last:
            work = work.to(memory_format=torch.channels_last)
        workers.append(work)
    labels = y.to(device=dev, dtype=torch.long)

    counts: list[int] = []
    with torch.inference_mode():
        for first in range(0, n_models, group):
            states = [state_dicts[k] for k in range(first, min(first + group, n_models))]
            active = workers[: len(states)]
            for i, (work, state) in enumerate(zip(active, states, strict=True)):
                try:
                    work.load_state_dict(state, strict=True)
                except RuntimeError as exc:
                    detail = " ".join(str(exc).strip().splitlines()[:2])
                    raise SymcodecError(
                        f"state dict {first + i} does not fit the model: {detail}"
                    ) from None
            correct = torch.zeros(len(states), dtype=torch.long, device=dev)
            # A fresh cache per group: the parametrized weights change with every load.
            with parametrize.cached():
                for start in range(0, n, batch_size):
                    xb = x[start : start + batch_size].to(dev).contiguous(memory_format=layout)
                    yb = labels[start : start + batch_size]
                    for j, work in enumerate(active):
                        correct[j] += (work(xb).argmax(dim=1) == yb).sum()
            counts.extend(int(c) for c in correct.tolist())
    return [counts[slot] for slot in slots]


def evaluate_many(
    model: nn.Module,
    state_dicts: Sequence[Mapping[str, torch.Tensor]],
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    models_per_pass: int = DEFAULT_MODELS_PER_PASS,
    device: str | torch.device = "cpu",
    channels_last: bool | None = None,
) -> list[float]:
    """Top-1 accuracy in percent of each state dict loaded into ``model``, in eval mode.

    ``model`` is a template and is not changed: ``models_per_pass`` deep copies of it are
    made once, and each group of that many state dicts is loaded into them and run over
    the inputs chunk by chunk, every chunk converted once and fed to all models of the
    group (converted to ``channels_last`` and moved to ``device``). Memory is bounded by
    those copies plus one chunk and its activations; nothing scales with ``len(x)`` or
    ``len(state_dicts)``.

    Args:
        model: a module of the architecture every state dict belongs to (its own weights
            are not used). A parametrized model (``torch.nn.utils.parametrize``, e.g.
            :func:`symcodec.constrain.symmetrize`) works too; its weights are rebuilt once
            per model, and it runs one model per pass whatever ``models_per_pass`` says.
        state_dicts: one mapping per model with exactly the keys and shapes of
            ``model.state_dict()`` (values are cast to the model's dtypes).
        x: inputs, ``(N, ...)``.
        y: integer labels, ``(N,)``.
        batch_size: examples per forward pass.
        models_per_pass: models sharing each input chunk (1 was fastest on CPU; more can
            save host-to-device copies on an accelerator).
        device: torch device to evaluate on.
        channels_last: run 4-D inputs and the model in ``torch.channels_last`` format;
            default: yes when ``x`` is 4-D and ``model`` contains an ``nn.Conv2d``.

    Returns:
        One accuracy in ``[0, 100]`` per state dict, in order (all 0 for an empty set),
        computed as ``100.0 * correct / N`` from an integer count like
        :func:`symcodec.training.evaluate`; see the module notes on float32 rounding.

    Raises:
        SymcodecError: malformed data or arguments, or a state dict whose keys or shapes
            do not fit ``model`` (checked for all state dicts before any is evaluated).

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3))
    >>> states = [nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3)).state_dict()
    ...           for _ in range(5)]
    >>> x, y = torch.randn(10, 1, 4, 4), torch.randint(0, 3, (10,))
    >>> acc = evaluate_many(net, states, x, y, batch_size=4, models_per_pass=2)
    >>> len(acc), all(0 <= a <= 100 for a in acc)
    (5, True)
    >>> evaluate_many(net, [], x, y)
    []
    """
    counts = count_correct_many(
        model,
        state_dicts,
        x,
        y,
        batch_size=batch_size,
        models_per_pass=models_per_pass,
        device=device,
        channels_last=channels_last,
    )
    n = x.shape[0]
    return [100.0 * c / n if n else 0.0 for c in counts]


def evaluate_one(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | torch.device = "cpu",
    channels_last: bool | None = None,
) -> float:
    """Top-1 accuracy in percent of one state dict loaded into (a copy of) ``model``.

    The single-model case of :func:`evaluate_many`, with the same arguments.

    >>> from torch import nn
    >>> net = nn.Linear(2, 2, bias=False)
    >>> evaluate_one(net, {"weight": torch.eye(2)}, torch.eye(2), torch.tensor([0, 0]))
    50.0
    """
    return evaluate_many(
        model,
        [state_dict],
        x,
        y,
        batch_size=batch_size,
        models_per_pass=1,
        device=device,
        channels_last=channels_last,
    )[0]
