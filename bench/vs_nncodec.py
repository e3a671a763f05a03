"""Head-to-head: symcodec against NNCodec (Fraunhofer HHI's MPEG NNC, PyPI ``nncodec`` 2.1.3).

Issue 7. For every (data set, model, variant) it trains the model (or takes it from the
model cache), encodes it with NNCodec at each ``qp`` and with symcodec at each step size,
decodes, evaluates the decoded model on the test set, and writes to ``--out``
(default ``docs/results/nncodec/``):

* ``results.csv``: every point (codec, setting, bytes, bits/param, accuracy, encode and
  decode ms as the median of ``--repeats`` runs);
* ``table.md``: bytes at iso-accuracy (the smallest stream whose accuracy is within 0.3 pp
  of the float model, i.e. ``acc >= float_acc - 0.3``) for each codec, their ratio, and the
  encode and decode times of both at those points, measured in the same run;
* ``rate_accuracy.png``: bytes (log) vs accuracy, one line per codec and variant, one panel
  per (data set, model);
* ``run.json``: the arguments, versions, machine and timings of the run;
* issue 14, the frontier (``bench/nncodec_frontier.py``): ``bd_rate.csv`` (columns
  ``dataset, model, anchor, bd_rate_pct, ci_low_pct, ci_high_pct``: symcodec on the
  symmetric model against ``nncodec-unconstrained``, ``nncodec-symmetric`` and
  ``nncodec-dof``, over ``[ref - 2 pp, ref - 0.3 pp]`` with ``ref`` the unconstrained float
  model's accuracy, 95% CI from a paired bootstrap over the test images),
  ``bd_rate_ablation.csv`` and ``ablation.md`` (each symcodec lever alone: one step for all,
  the data-aware allocation, and their union), ``correct.npz`` (every point's per-image
  correctness, so ``--replot`` recomputes all of it) and ``frontier.png`` (all curves).

Run it with ``make bench-nncodec``, which creates the separate environment ``.venv-nncodec``
(NNCodec pins ``numpy<2`` and needs ``torchvision``; neither belongs in the main ``.venv``)
and runs ``.venv-nncodec/bin/python bench/vs_nncodec.py``. ``--quick`` is a short smoke run.

**torchvision stub.** NNCodec imports ``torchvision`` at import time (only for its own
data-set and transform helpers, which this benchmark never calls), and no torchvision
build loads beside the CPU torch 2.13.0 used here. Before importing ``nncodec`` this script
therefore inserts a stub ``torchvision`` package (``datasets``, ``transforms``, ``models``
submodules whose every attribute is an empty placeholder class) into ``sys.modules``,
unless a real ``torchvision`` imports. NNCodec's compression path (approximator,
DeepCABAC encoder/decoder) does not touch torchvision, so results do not depend on it.

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

**Allocated symcodec points (``symcodec-allocated``).** ``symcodec.codec.allocate`` with
``--calibration-images`` (512) seeded training images, at budgets equal to the sizes of the
one-step symcodec points within 3 pp of the reference; the sensitivities are measured once
per model (``rate_curves``), and the allocation time is reported in ``run.json``, outside the
timed encode.

**symcodec settings.** ``TransmissionPlan.default(state_dict, symmetry=V, mode="dof",
coder="ans", step=S, dead_zone=0.0)`` then ``symcodec.codec.encode``/``decode``; ``V`` is
``central-skew`` for the central-skew-trained models (conv kernels as their 4 DoF per 3x3
slice, everything else in full with the same step and coder) and ``none`` for the
unconstrained ones (everything in full). With ``--step-mode relative`` each tensor's step
is ``S * std(tensor)`` instead of one absolute ``S`` for all tensors (measured worse; absolute
is the default), and ``--dead-zone`` sets symcodec's rounding offset (default 0, the issue's).

Defaults: 1 torch thread for training, coding and evaluation (under load, 2 threads were
several times slower); epochs per model in :data:`EPOCHS`; timings are the median of
``--repeats 3`` in-memory runs. Trained models are cached by ``study.trained_model``
(``$SYMCODEC_CACHE/models``, default ``~/.cache/symcodec/models``), so a re-run only codes
and evaluates (about 8 minutes on two loaded cores before issue 14; its dense grids, the
NNCodec-on-DoF anchor and the allocated points make a run several times longer, not yet
measured). ``--replot`` redraws the table and plot from ``results.csv``, and the BD-rates and
frontier from ``correct.npz``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import math
import os
import platform
import statistics
import sys
import time
import types
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from symcodec.data import load_dataset  # noqa: E402
from symcodec.io import atomic_open  # noqa: E402
from symcodec.study import StudySpec, TrainingSpec, trained_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nncodec_frontier as frontier  # noqa: E402

# Dense grids (issue 14): qp in steps of 2 (NNCodec's step 2**(qp/4) grows by 2**0.5), and
# symcodec's absolute steps 2**(k/4), twice as dense, spanning NNCodec's steps with room.
QPS = tuple(range(-48, -11, 2))
QUICK_QPS = (-36, -28, -20)
STEPS = tuple(2.0 ** (k / 4) for k in range(-52, -11))
QUICK_STEPS = tuple(float(s) for s in np.geomspace(2.0**-10, 2.0**-4, 5))
# Relative steps (multiples of each tensor's std).
REL_STEPS = tuple(float(s) for s in np.geomspace(2.0**-7, 2.0**0.5, 14))
QUICK_REL_STEPS = tuple(float(s) for s in np.geomspace(2.0**-5, 2.0**-1, 5))
ISO_PP = 0.3
# Training epochs per (data set, model); GAP trains slowly on the 4,000 mnist-5k images
# (65% after 5 epochs), so it gets 15 there.
EPOCHS = {
    "fashion-mnist/deepcnn": 2,
    "fashion-mnist/deepcnn-gap": 2,
    "mnist-5k/deepcnn": 5,
    "mnist-5k/deepcnn-gap": 15,
}
VARIANTS = ("none", "central-skew")
# Allocated points at the sizes of the one-step points within this many pp of the reference.
ALLOCATION_WINDOW_PP = 3.0


# --------------------------------------------------------------------------------------
# NNCodec


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
    root.__version__ = "0.0.0+symcodec-bench-stub"
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
    name = "nncodec"

    def __init__(self, nnc):
        self.nnc = nnc

    def encode(self, state: dict[str, torch.Tensor], qp: int) -> bytes:
        params = {k: v.detach().numpy().astype(np.float32, copy=False) for k, v in state.items()}
        blob = self.nnc.compress(
            params, bitstream_path=None, qp=int(qp), return_bitstream=True, verbose=False
        )
        return bytes(blob)

    def decode(self, blob: bytes, shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
        params = self.nnc.decompress(bytearray(blob), verbose=False)
        return {k: torch.from_numpy(np.asarray(params[k])).reshape(shapes[k]) for k in shapes}


class NNCodecDof(NNCodec):
    """NNCodec coding only the DoF coefficients of a plan's ``dof`` kernels."""

    name = "nncodec-dof"

    def __init__(self, nnc, plan):
        super().__init__(nnc)
        self.plan = plan

    def encode(self, state: dict[str, torch.Tensor], qp: int) -> bytes:
        return super().encode(frontier.dof_arrays(state, self.plan), qp)

    def decode(self, blob: bytes, shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
        params = self.nnc.decompress(bytearray(blob), verbose=False)
        arrays = {k: torch.from_numpy(np.asarray(params[k])) for k in shapes}
        return frontier.from_dof_arrays(arrays, shapes, self.plan)


# --------------------------------------------------------------------------------------
# symcodec


def symcodec_api_ready() -> str | None:
    """None when the entropy-coded step quantizer is available, else why not."""
    try:
        from symcodec.codec import TransmissionPlan

        TransmissionPlan.default(
            {"w": torch.randn(4, 4, 3, 3)}, symmetry="central-skew", coder="ans", step=0.01
        )
    except Exception as exc:  # TypeError for the unknown arguments, or anything else
        return f"{type(exc).__name__}: {exc}"
    return None


class Symcodec:
    name = "symcodec"

    def __init__(self, symmetry: str, step_mode: str = "absolute", dead_zone: float = 0.0):
        from symcodec import codec

        self.codec = codec
        self.symmetry = symmetry
        self.step_mode = step_mode
        self.dead_zone = dead_zone

    def plan(self, state: dict[str, torch.Tensor], step: float):
        """The transmission plan; made inside the timed encode (it is the sender's work,
        as NNCodec's set-up is inside its ``compress``)."""
        plan = self.codec.TransmissionPlan.default(
            state,
            symmetry=self.symmetry,
            mode="dof",
            coder="ans",
            step=step,
            dead_zone=self.dead_zone,
        )
        if self.step_mode == "relative":
            for name, tp in list(plan.tensors.items()):
                t = state[name]
                std = float(t.float().std()) if t.numel() > 1 else 0.0
                if not std > 0:
                    std = float(t.abs().max()) or 1.0
                plan.tensors[name] = dataclasses.replace(tp, step=step * std)
        return plan

    def encode(self, state: dict[str, torch.Tensor], step: float) -> bytes:
        return self.codec.encode(state, self.plan(state, step))

    def decode(self, blob: bytes, shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
        return self.codec.decode(blob)


class SymcodecAllocated:
    """symcodec with plans allocated beforehand, one per budget (the setting)."""

    name = "symcodec-allocated"

    def __init__(self, plans: dict[int, object]):
        from symcodec import codec

        self.codec = codec
        self.plans = plans

    def encode(self, state: dict[str, torch.Tensor], budget: int) -> bytes:
        return self.codec.encode(state, self.plans[budget])

    def decode(self, blob: bytes, shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
        return self.codec.decode(blob)


def allocation_budgets(uniform, reference: float) -> list[int]:
    """The budgets of the allocated points: the sizes of the one-step points within
    :data:`ALLOCATION_WINDOW_PP` of the reference, and the next smaller size (so that the
    allocated curve reaches the band's low end as the one-step curve does)."""
    sizes = sorted(set(uniform.stream_bytes))
    best = dict.fromkeys(sizes, -math.inf)
    for b, acc in zip(uniform.stream_bytes, uniform.accuracy, strict=True):
        best[b] = max(best[b], float(acc))
    inside = [b for b in sizes if best[b] >= reference - ALLOCATION_WINDOW_PP]
    if not inside:
        return []
    below = [b for b in sizes if b < inside[0]]
    return sorted(set(inside + below[-1:]))


def allocated_plans(model, state, data, symmetry, budgets, images, seed):
    """``({budget: plan}, seconds)``: symcodec's allocation at each budget, sensitivities
    measured once on ``images`` seeded training images."""
    from symcodec.codec import TransmissionPlan, allocate
    from symcodec.codec.allocation import rate_curves
    from symcodec.codec.sensitivity import MeasuredLoss, diagonal_fisher
    from symcodec.errors import SymcodecError

    started = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(data.num_train, generator=generator)[: min(images, data.num_train)]
    calibration = (data.train_x[index], data.train_y[index])
    base = TransmissionPlan.default(state, symmetry=symmetry, mode="dof", coder="ans", step=0.01)
    fisher = diagonal_fisher(model, state, base, calibration)
    measured = MeasuredLoss.of(model, state, base, calibration)
    curves = rate_curves(state, base, fisher, measured)
    plans = {}
    for budget in budgets:
        try:
            plans[budget] = allocate(
                model, base, calibration=calibration, budget_bytes=budget, curves=curves
            )
        except SymcodecError as exc:
            print(f"  allocation at {budget:,} B: {exc}")
    return plans, time.perf_counter() - started


# --------------------------------------------------------------------------------------
# Measurement


@dataclass
class Point:
    dataset: str
    model: str
    variant: str
    params: int
    float_acc: float
    codec: str
    setting: str  # "qp=-32" or "step=0.00390625"
    value: float
    bytes: int
    bits_per_param: float
    acc: float
    encode_ms: float
    decode_ms: float
    max_abs_err: float


def timed(fn, repeats: int):
    """``(result of the last call, median seconds)`` over ``repeats`` calls."""
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def sweep(codec, settings, state, shapes, repeats, label):
    """Encode and decode ``state`` at every setting; returns (setting, blob, received,
    encode s, decode s)."""
    out = []
    for s in settings:
        blob, t_enc = timed(lambda s=s: codec.encode(state, s), repeats)
        received, t_dec = timed(lambda b=blob: codec.decode(b, shapes), repeats)
        missing = set(shapes) - set(received)
        if missing:
            raise RuntimeError(f"{codec.name} lost tensors {sorted(missing)}")
        received = {k: received[k].reshape(shapes[k]).to(torch.float32) for k in shapes}
        out.append((s, blob, received, t_enc, t_dec))
        print(
            f"  {label} {codec.name} {s}: {len(blob):,} B, "
            f"enc {t_enc * 1e3:.1f} ms, dec {t_dec * 1e3:.1f} ms",
            flush=True,
        )
    return out


def iso_point(points: list[Point], float_acc: float) -> Point | None:
    """The issue's definition: the smallest stream within ``ISO_PP`` of the float model."""
    ok = [p for p in points if p.acc >= float_acc - ISO_PP - 1e-9]
    return min(ok, key=lambda p: p.bytes) if ok else None


def stable_iso_point(points: list[Point], float_acc: float) -> Point | None:
    """The smallest stream that is within ``ISO_PP`` and so is every larger stream of the
    same codec (robust to a lucky coarse point on a small test set)."""
    best = None
    for p in sorted(points, key=lambda p: p.bytes, reverse=True):
        if p.acc < float_acc - ISO_PP - 1e-9:
            break
        best = p
    return best


# --------------------------------------------------------------------------------------
# Outputs


def write_bytes(path: Path, data: bytes) -> None:
    """Atomically (temporary file, then rename), world-readable like any result file."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_csv(path: Path, points: list[Point]) -> None:
    buf = io.StringIO()
    fields = list(Point.__dataclass_fields__)
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for p in points:
        row = asdict(p)
        for k in ("float_acc", "acc"):
            row[k] = f"{row[k]:.2f}"
        for k in ("bits_per_param",):
            row[k] = f"{row[k]:.4f}"
        for k in ("encode_ms", "decode_ms"):
            row[k] = f"{row[k]:.2f}"
        row["max_abs_err"] = f"{row['max_abs_err']:.3g}"
        row["value"] = f"{row['value']:.6g}"
        w.writerow(row)
    write_text(path, buf.getvalue())


def read_csv(path: Path) -> list[Point]:
    points = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            kw = {}
            for name, fld in Point.__dataclass_fields__.items():
                kind = {"int": int, "float": float}.get(str(fld.type), str)
                kw[name] = kind(row[name])
            points.append(Point(**kw))
    return points


def table_rows(points: list[Point]) -> list[dict]:
    groups: dict[tuple, list[Point]] = {}
    for p in points:
        groups.setdefault((p.dataset, p.model, p.variant), []).append(p)
    rows = []
    for (ds, model, variant), ps in groups.items():
        fa = ps[0].float_acc
        n = iso_point([p for p in ps if p.codec == "nncodec"], fa)
        s = iso_point([p for p in ps if p.codec == "symcodec"], fa)
        rows.append(
            {
                "dataset": ds,
                "model": model,
                "variant": variant,
                "params": ps[0].params,
                "float_acc": fa,
                "nnc": n,
                "sym": s,
                "ratio": (s.bytes / n.bytes) if (n and s) else None,
                "nnc_stable": (ns := stable_iso_point([p for p in ps if p.codec == "nncodec"], fa)),
                "sym_stable": (
                    ss := stable_iso_point([p for p in ps if p.codec == "symcodec"], fa)
                ),
                "ratio_stable": (ss.bytes / ns.bytes) if (ns and ss) else None,
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    def b(p):
        return f"{p.bytes:,}" if p else "not reached"

    head = (
        "| data set | model | variant | params | float acc % | NNCodec bytes (qp, acc %) "
        "| symcodec bytes (step, acc %) | ratio sym/NNC | NNCodec enc / dec ms "
        "| symcodec enc / dec ms | stable-iso bytes NNC / sym (ratio) |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        n, s = r["nnc"], r["sym"]
        nn_ = f"{b(n)} ({n.setting.split('=')[1]}, {n.acc:.2f})" if n else "not reached"
        ss = f"{b(s)} ({s.setting.split('=')[1]}, {s.acc:.2f})" if s else "not reached"
        ratio = f"**{r['ratio']:.3f}**" if r["ratio"] is not None else "-"
        nt = f"{n.encode_ms:.1f} / {n.decode_ms:.1f}" if n else "-"
        st = f"{s.encode_ms:.1f} / {s.decode_ms:.1f}" if s else "-"
        stab = f"{b(r['nnc_stable'])} / {b(r['sym_stable'])}" + (
            f" ({r['ratio_stable']:.3f})" if r["ratio_stable"] is not None else ""
        )
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['variant']} | {r['params']:,} "
            f"| {r['float_acc']:.2f} | {nn_} | {ss} | {ratio} | {nt} | {st} | {stab} |"
        )
    return head + "\n".join(lines) + "\n"


def plot(path: Path, points: list[Point]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(p.dataset, p.model) for p in points})
    cols = 2 if len(panels) > 1 else 1
    rows_n = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(6.5 * cols, 4.6 * rows_n), squeeze=False)
    colors = {"none": "tab:blue", "central-skew": "tab:red"}
    markers = {"nncodec": "s", "symcodec": "o"}
    styles = {"nncodec": "--", "symcodec": "-"}
    for ax, (ds, model) in zip(axes.flat, panels, strict=False):
        sub = [p for p in points if p.dataset == ds and p.model == model]
        for variant in VARIANTS:
            vps = [p for p in sub if p.variant == variant]
            if not vps:
                continue
            fa = vps[0].float_acc
            c = colors.get(variant, "k")
            ax.axhline(fa, color=c, lw=0.8, ls=":", alpha=0.8)
            ax.axhline(fa - ISO_PP, color=c, lw=0.8, ls="-.", alpha=0.6)
            for codec in ("nncodec", "symcodec"):
                cps = sorted((p for p in vps if p.codec == codec), key=lambda p: p.bytes)
                if not cps:
                    continue
                ax.plot(
                    [p.bytes for p in cps],
                    [p.acc for p in cps],
                    styles[codec],
                    marker=markers[codec],
                    ms=4,
                    color=c,
                    label=f"{codec}, {variant}-trained",
                )
        accs = [p.float_acc for p in sub]
        lo = min(accs) - 3.0
        ax.set_ylim(lo, max(accs) + 0.8)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("stream size (bytes, log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{model} on {ds}")
        ax.grid(True, which="both", alpha=0.3)
        ax.plot([], [], "k:", lw=0.8, label="float model accuracy")
        ax.plot([], [], "k-.", lw=0.8, label=f"float - {ISO_PP} pp (iso-accuracy)")
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle("Rate vs accuracy: symcodec (DoF + ANS) vs NNCodec 2.1.3 (DeepCABAC)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    plt.close(fig)
    write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------------------
# Main


#: The frontier's curve of each (variant, codec): symmetric variants are the symcodec side.
def curve_label(variant: str, codec: str) -> str:
    """``nncodec-unconstrained``, ``nncodec-symmetric``, ``nncodec-dof``,
    ``symcodec-uniform``, ``symcodec-allocated`` or ``symcodec-unconstrained``."""
    if variant == "none":
        return f"{codec}-unconstrained"
    return {"nncodec": "nncodec-symmetric", "symcodec": "symcodec-uniform"}.get(codec, codec)


def add_points(
    points,
    curves,
    codec,
    key,
    results,
    model,
    state,
    data,
    ds,
    model_name,
    variant,
    n_params,
    float_acc,
) -> None:
    """Evaluate a sweep's received models image by image; add its :class:`Point` rows and
    its frontier curve."""
    correct = frontier.correctness(model, [r[2] for r in results], data.test_x, data.test_y)
    settings = []
    for (s, blob, received, t_enc, t_dec), row in zip(results, correct, strict=True):
        err = max(float((received[k] - state[k]).abs().max()) for k in state)
        setting = f"{key}={s:.6g}" if key == "step" else f"{key}={s:g}"
        settings.append(setting)
        points.append(
            Point(
                dataset=ds,
                model=model_name,
                variant=variant,
                params=n_params,
                float_acc=float_acc,
                codec=codec.name,
                setting=setting,
                value=float(s),
                bytes=len(blob),
                bits_per_param=8 * len(blob) / n_params,
                acc=100.0 * float(row.mean()),
                encode_ms=t_enc * 1e3,
                decode_ms=t_dec * 1e3,
                max_abs_err=err,
            )
        )
        print(f"    {codec.name} {setting}: {len(blob):,} B, {points[-1].acc:.2f}%")
    if results:
        label = curve_label(variant, codec.name)
        curves[frontier.curve_key(ds, model_name, label)] = frontier.Curve(
            label, tuple(settings), tuple(len(r[1]) for r in results), correct
        )


def write_frontier(out: Path, curves: dict, resamples: int) -> None:
    """``bd_rate.csv``, ``bd_rate_ablation.csv``, ``ablation.md`` and ``frontier.png`` from the
    curves (keyed ``dataset/model/label``)."""
    headline, ablation = [], []
    references = {}
    for key, ref in curves.items():
        if ref.label != frontier.REFERENCE:
            continue
        ds, model_name, _ = key.split("/")
        references[(ds, model_name)] = float(ref.accuracy[0])
        mine = {c.label: c for k, c in curves.items() if k.startswith(f"{ds}/{model_name}/")}
        h, a = frontier.bd_rate_rows(ds, model_name, mine, ref.correct[0], resamples=resamples)
        headline += h
        ablation += a
    write_text(out / "bd_rate.csv", frontier.csv_text(headline, frontier.BD_COLUMNS))
    write_text(out / "bd_rate_ablation.csv", frontier.csv_text(ablation, frontier.ABLATION_COLUMNS))
    write_text(out / "ablation.md", frontier.ablation_markdown(ablation))
    write_bytes(out / "frontier.png", frontier.plot_frontier(curves, references, headline))
    print(frontier.ablation_markdown(ablation))


def git_commit() -> str:
    """HEAD of the work tree and whether src/ differs from it (read-only git calls)."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" (src/ modified)" if dirty else "")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}"


def epochs_for(spec: str, dataset: str, model: str) -> int:
    """``--epochs``: ``N`` for all, or ``KEY=N,KEY=N`` with ``KEY`` a data set or
    ``DATASET/MODEL``; the rest from :data:`EPOCHS` (3 where it has no entry)."""
    spec = spec.strip()
    if spec.isdigit():
        return int(spec)
    given = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
    key = f"{dataset}/{model}"
    return int(given.get(key, given.get(dataset, EPOCHS.get(key, 3))))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="fashion-mnist,mnist-5k")
    ap.add_argument("--models", default="deepcnn,deepcnn-gap")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument(
        "--quick", action="store_true", help="mnist-5k and deepcnn-gap only, fewer points"
    )
    ap.add_argument(
        "--epochs",
        default="",
        help="training epochs: N for all, or KEY=N,... with KEY a data set or DATASET/MODEL "
        "(default " + ", ".join(f"{k}={v}" for k, v in EPOCHS.items()) + ")",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per point (median)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for coding, evaluation")
    ap.add_argument(
        "--train-threads",
        type=int,
        default=1,
        help="torch threads while training (part of the model cache key; 1 is faster when "
        "other jobs load the cores)",
    )
    ap.add_argument("--step-mode", choices=("absolute", "relative"), default="absolute")
    ap.add_argument(
        "--dead-zone",
        type=float,
        default=0.0,
        help="symcodec's rounding offset in [0, 0.5) (0: plain rounding, the issue's setting)",
    )
    ap.add_argument("--codecs", default="nncodec,symcodec")
    ap.add_argument(
        "--allocation-images",
        type=int,
        default=512,
        help="training images of symcodec's data-aware allocation (0: no allocated points)",
    )
    ap.add_argument(
        "--bootstrap", type=int, default=1000, help="paired bootstrap resamples of the BD-rates"
    )
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument(
        "--replot",
        action="store_true",
        help="only rewrite table.md and rate_accuracy.png from OUT/results.csv, and the "
        "BD-rates, ablation and frontier.png from OUT/correct.npz",
    )
    ap.add_argument(
        "--out",
        default=None,
        help="output directory (default docs/results/nncodec; with --quick results/nncodec-quick)",
    )
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = str(
            ROOT / "results" / "nncodec-quick"
            if args.quick
            else ROOT / "docs" / "results" / "nncodec"
        )

    if args.replot:
        out = Path(args.out)
        points = read_csv(out / "results.csv")
        write_text(out / "table.md", format_table(table_rows(points)))
        plot(out / "rate_accuracy.png", points)
        print(format_table(table_rows(points)))
        if (out / "correct.npz").exists():
            write_frontier(out, frontier.load_curves(out / "correct.npz"), args.bootstrap)
        return 0

    torch.set_num_threads(args.threads)
    datasets = args.datasets.split(",")
    models = args.models.split(",")
    variants = args.variants.split(",")
    qps, steps = QPS, (STEPS if args.step_mode == "absolute" else REL_STEPS)
    if args.quick:
        datasets, models = ["mnist-5k"], ["deepcnn-gap"]
        qps = QUICK_QPS
        steps = QUICK_STEPS if args.step_mode == "absolute" else QUICK_REL_STEPS
        args.repeats = min(args.repeats, 3)
    codecs = args.codecs.split(",")

    nnc = nnc_version = None
    stubbed = False
    if "nncodec" in codecs and not args.train_only:
        nnc, nnc_version, stubbed = import_nncodec()
        print(f"nncodec {nnc_version}" + (" (torchvision stubbed)" if stubbed else ""))
    if "symcodec" in codecs and not args.train_only:
        why = symcodec_api_ready()
        if why:
            sys.exit(
                "vs_nncodec: symcodec's step quantizer and entropy coder are not available "
                f"({why}); run with --codecs nncodec for the NNCodec side alone"
            )

    started = time.time()
    points: list[Point] = []
    curves: dict[str, frontier.Curve] = {}
    references: dict[tuple[str, str], float] = {}
    allocation_seconds: dict[str, float] = {}
    models_info = []
    for ds in datasets:
        data = load_dataset(ds, seed=args.seed)
        for model_name in models:
            epochs = epochs_for(args.epochs, ds, model_name)
            for variant in variants:
                spec = StudySpec(
                    name="vs-nncodec",
                    dataset=ds,
                    model=model_name,
                    training=TrainingSpec(epochs=epochs, seed=args.seed),
                )
                torch.set_num_threads(args.train_threads)
                model, info = trained_model(spec, data, variant, epochs, log=print)
                torch.set_num_threads(args.threads)
                model.eval()
                state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                shapes = {k: v.shape for k, v in state.items()}
                n_params = sum(v.numel() for v in state.values())
                float_correct = frontier.correctness(model, [state], data.test_x, data.test_y)
                float_acc = 100.0 * float(float_correct.mean())
                label = f"{ds}/{model_name}/{variant}"
                print(
                    f"{label}: {n_params:,} params, float {float_acc:.2f}%, "
                    f"cached: {info['cached']}"
                )
                models_info.append(
                    {"label": label, "params": n_params, "float_acc": float_acc, **info}
                )
                if variant == "none":
                    references[(ds, model_name)] = float_acc
                    curves[frontier.curve_key(ds, model_name, frontier.REFERENCE)] = frontier.Curve(
                        frontier.REFERENCE, ("float32",), (4 * n_params,), float_correct
                    )
                if args.train_only:
                    continue
                runs = []
                if "nncodec" in codecs:
                    nc = NNCodec(nnc)
                    runs.append((nc, "qp", sweep(nc, qps, state, shapes, args.repeats, label)))
                    if variant != "none":
                        from symcodec.codec import TransmissionPlan

                        dof_plan = TransmissionPlan.default(state, symmetry=variant, bits=32)
                        nd = NNCodecDof(nnc, dof_plan)
                        runs.append((nd, "qp", sweep(nd, qps, state, shapes, args.repeats, label)))
                if "symcodec" in codecs:
                    sc = Symcodec(variant, args.step_mode, args.dead_zone)
                    runs.append((sc, "step", sweep(sc, steps, state, shapes, args.repeats, label)))
                for codec, key, results in runs:
                    add_points(
                        points,
                        curves,
                        codec,
                        key,
                        results,
                        model,
                        state,
                        data,
                        ds,
                        model_name,
                        variant,
                        n_params,
                        float_acc,
                    )
                if "symcodec" in codecs and variant != "none" and args.allocation_images > 0:
                    reference = references.get((ds, model_name), float_acc)
                    uniform = curves[frontier.curve_key(ds, model_name, "symcodec-uniform")]
                    budgets = allocation_budgets(uniform, reference)
                    plans, seconds = allocated_plans(
                        model, state, data, variant, budgets, args.allocation_images, args.seed
                    )
                    allocation_seconds[label] = round(seconds, 1)
                    sa = SymcodecAllocated(plans)
                    results = sweep(sa, sorted(plans), state, shapes, args.repeats, label)
                    add_points(
                        points,
                        curves,
                        sa,
                        "budget",
                        results,
                        model,
                        state,
                        data,
                        ds,
                        model_name,
                        variant,
                        n_params,
                        float_acc,
                    )
    if args.train_only:
        return 0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "results.csv", points)
    rows = table_rows(points)
    table = format_table(rows)
    write_text(out / "table.md", table)
    plot(out / "rate_accuracy.png", points)
    write_bytes(out / "correct.npz", frontier.save_curves(curves))
    write_frontier(out, curves, args.bootstrap)
    run = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "args": vars(args),
        "qps": list(qps),
        "steps": list(steps),
        "iso_pp": ISO_PP,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "nncodec": nnc_version,
            "torchvision": "stub" if stubbed else "real",
        },
        "symcodec_commit": git_commit(),
        "machine": machine(),
        "load_average_at_end": os.getloadavg(),
        "wall_seconds": round(time.time() - started, 1),
        "models": models_info,
        "allocation_seconds": allocation_seconds,
        "bd_band_pp": list(frontier.BAND_PP),
        "bootstrap_resamples": args.bootstrap,
    }
    write_text(out / "run.json", json.dumps(run, indent=2, default=str) + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
