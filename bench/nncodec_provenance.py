"""The provenance a run of the NNCodec benchmark (``bench/vs_nncodec.py``) records in
``run.json``: the versions of Python, torch, numpy and NNCodec (:func:`versions`), symcodec's
git commit (:func:`git_commit`) and the machine (:func:`machine`).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def versions(nnc_version: str | None, stubbed: bool) -> dict[str, str | None]:
    """The versions ``run.json`` records."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "nncodec": nnc_version,
        "torchvision": "stub" if stubbed else "real",
    }


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
    """The CPU model, CPU count and OS of this machine, for ``run.json``."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}"
