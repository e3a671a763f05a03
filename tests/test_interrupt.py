"""A study stopped by SIGINT or SIGTERM keeps every finished trial, leaves no partial file,
and resumes where it stopped; the resumed results equal those of a run stopped elsewhere.

Trials finish a transmitter configuration at a time (their received models are evaluated
in one batch), and each configuration's rows are appended to ``results.csv`` atomically.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symcodec.study import read_results_csv

STUDY = """
name = "stopped"
dataset = "mnist-5k"
model = "deepcnn-gap"
symmetries = ["central-skew", "central"]
modes = ["dof", "full"]
bits = [2, 4, 6, 8]
baselines = ["quant-only"]
trials = 2
test_limit = 200

[channel]
name = "awgn"
snr_db = [10, 30]

[training]
epochs = 1
batch_size = 32
max_steps = 6
"""
CONFIGS = 4 * (2 * 2 + 1)  # bits x (symmetries x modes + quant-only)
TRIALS = CONFIGS * 2 * 2  # x SNRs x trials
TIMING_COLUMNS = {"encode_ms", "decode_ms", "latency_ms"}  # measured, not seeded


def _command(study: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "symcodec", "reproduce", str(study), "-o", str(out)]


def _rows(path: Path) -> int:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return 0
    return max(0, len([line for line in text.splitlines() if line.strip()]) - 1)


def _stop_after_first_rows(study: Path, out: Path, env: dict, sig: int) -> tuple[int, str]:
    """Start the study, wait until results.csv holds some trials, send ``sig``."""
    proc = subprocess.Popen(
        [*_command(study, out), "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while _rows(out / "results.csv") == 0 and proc.poll() is None:
        assert time.monotonic() < deadline, "the study wrote no results in time"
        time.sleep(0.02)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def _comparable(rows: list[dict]) -> list[dict]:
    keep = [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]
    return sorted(keep, key=lambda r: tuple(str(r[k]) for k in sorted(r)))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupt")
    path = root / "stopped.toml"
    path.write_text(STUDY)
    env = dict(os.environ, SYMCODEC_CACHE=str(root / "cache"), PYTHONUNBUFFERED="1")
    # Train (and cache) the models once, so that both stopped runs stop inside the trials.
    warm = subprocess.run(
        [*_command(path, root / "warm"), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert warm.returncode == 0, warm.stderr
    return path, env, read_results_csv(root / "warm" / "results.csv")


@pytest.mark.parametrize(
    ("sig", "status", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_stopped_study_keeps_finished_trials_and_resumes(tmp_path, study, sig, status, word):
    path, env, uninterrupted = study
    assert len(uninterrupted) == TRIALS
    out = tmp_path / "run"
    code, stderr = _stop_after_first_rows(path, out, env, sig)
    assert code == status, stderr
    assert stderr.strip().splitlines()[-1].startswith(f"symcodec: {word}")
    assert "Traceback" not in stderr
    kept = read_results_csv(out / "results.csv")  # parses: no half-written row
    assert 0 < len(kept) < TRIALS
    assert len(kept) % 4 == 0  # whole configurations: 2 SNRs x 2 trials each
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []

    resumed = subprocess.run(
        [*_command(path, out), "--no-progress"], env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {len(kept)} of {TRIALS} trials" in resumed.stdout + resumed.stderr
    final = read_results_csv(out / "results.csv")
    assert len(final) == TRIALS
    assert _comparable(final[: len(kept)]) == _comparable(kept)  # finished rows untouched
    # The same seeds give the same figures however the run was split.
    assert _comparable(final) == _comparable(uninterrupted)
