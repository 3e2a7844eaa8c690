"""The README's setup: a second `.ci/setup` with nothing to do takes seconds, and a CPU machine gets torch's CPU
build with no CUDA stack (no nvidia-* package)."""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _has_gpu() -> bool:
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


@pytest.mark.skipif(_has_gpu(), reason="a GPU machine may install torch's CUDA build on purpose")
def test_cpu_machine_has_no_cuda_stack():
    import torch

    nvidia = sorted(d.metadata["Name"] for d in importlib.metadata.distributions()
                    if (d.metadata["Name"] or "").lower().startswith("nvidia-"))
    assert not nvidia, f"setup installed CUDA packages on a CPU machine: {nvidia}"
    assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build"


def _setup(env: dict) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    run = subprocess.run(["bash", ".ci/setup"], cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    return run, time.monotonic() - start


def test_second_setup_run_only_checks():
    # Setup for the Python running these tests ($PYTHON is .ci/env.sh's first choice): the first run may have work
    # to do (a checkout set up for another Python); the second must find nothing to do.
    env = {**os.environ, "PYTHON": sys.executable}
    _setup(env)
    run, took = _setup(env)
    steps = [line for line in run.stdout.splitlines() if line.startswith("setup:") and "done" not in line]
    assert not steps, f"a second setup run redid work: {steps}"
    assert took < 30, f"a second setup run took {took:.1f}s"
