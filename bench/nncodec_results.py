"""The point-by-point outputs of the NNCodec benchmark (``bench/vs_nncodec.py``):
``results.csv`` (:func:`write_csv`, :func:`read_csv`) and ``table.md``, the bytes of each
codec at iso-accuracy (:func:`table_rows`, :func:`format_table`), and the atomic file
writers every output uses.

Iso-accuracy (issue 7): the smallest stream whose accuracy is within :data:`ISO_PP` of the
float model, i.e. ``acc >= float_acc - 0.3`` (:func:`iso_point`); the "stable" variant asks
the same of every larger stream of the codec too (:func:`stable_iso_point`). One table row
per (data set, model, variant, training seed).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict
from pathlib import Path

from nncodec_sweep import Point

from symcodec.io import atomic_open

ISO_PP = 0.3


def write_bytes(path: Path, data: bytes) -> None:
    """Atomically (temporary file, then rename), world-readable like any result file."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)


def write_text(path: Path, text: str) -> None:
    """:func:`write_bytes` of UTF-8 text."""
    write_bytes(path, text.encode("utf-8"))


def write_csv(path: Path, points: list[Point]) -> None:
    """``results.csv``: one row per :class:`Point`, in its field order."""
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
    """The points of a ``results.csv``; one written before training seeds has seed 0."""
    points = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            row.setdefault("seed", "0")
            kw = {}
            for name, fld in Point.__dataclass_fields__.items():
                kind = {"int": int, "float": float}.get(str(fld.type), str)
                kw[name] = kind(row[name])
            points.append(Point(**kw))
    return points


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


def table_rows(points: list[Point]) -> list[dict]:
    """One row per (data set, model, variant, seed): each codec's iso-accuracy points and
    their byte ratio (symcodec / NNCodec)."""
    groups: dict[tuple, list[Point]] = {}
    for p in points:
        groups.setdefault((p.dataset, p.model, p.variant, p.seed), []).append(p)
    rows = []
    for (ds, model, variant, seed), ps in groups.items():
        fa = ps[0].float_acc
        n = iso_point([p for p in ps if p.codec == "nncodec"], fa)
        s = iso_point([p for p in ps if p.codec == "symcodec"], fa)
        rows.append(
            {
                "dataset": ds,
                "model": model,
                "variant": variant,
                "seed": seed,
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
    """``table.md``: :func:`table_rows` as a markdown table."""

    def b(p):
        return f"{p.bytes:,}" if p else "not reached"

    head = (
        "| data set | model | variant | training seed | params | float acc % "
        "| NNCodec bytes (qp, acc %) | symcodec bytes (step, acc %) | ratio sym/NNC "
        "| NNCodec enc / dec ms | symcodec enc / dec ms | stable-iso bytes NNC / sym (ratio) |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
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
            f"| {r['dataset']} | {r['model']} | {r['variant']} | {r['seed']} | {r['params']:,} "
            f"| {r['float_acc']:.2f} | {nn_} | {ss} | {ratio} | {nt} | {st} | {stab} |"
        )
    return head + "\n".join(lines) + "\n"
