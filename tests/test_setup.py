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


def _setup_python() -> str:
    out = subprocess.run(["bash", "-c", "source .ci/env.sh && echo $PY"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip()


def test_second_setup_run_only_checks():
    py = _setup_python()
    if not os.path.exists(py) or os.path.realpath(py) != os.path.realpath(sys.executable) and \
            subprocess.run([py, "-c", "import sys; print(sys.prefix)"], capture_output=True,
                           text=True).stdout.strip() != sys.prefix:
        pytest.skip(f"these tests run in {sys.prefix}, not in the Python .ci/setup manages ({py})")
    start = time.monotonic()
    run = subprocess.run(["bash", ".ci/setup"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - start
    assert run.returncode == 0, run.stdout + run.stderr
    steps = [line for line in run.stdout.splitlines() if line.startswith("setup:") and "done" not in line]
    assert not steps, f"a second setup run redid work: {steps}"
    assert took < 30, f"a second setup run took {took:.1f}s"
