"""What the benchmark scripts share: robust statistics, a quiet machine, and a description of the machine."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait, total


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over ``seconds`` (everything on the machine, not only this benchmark)."""
    idle0, total0 = _cpu_times()
    time.sleep(seconds)
    idle1, total1 = _cpu_times()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_quiet(max_s: float, below: float) -> dict:
    """Wait (at most ``max_s``) until other work on a shared machine leaves the CPUs mostly idle."""
    start = time.monotonic()
    busy = cpu_busy()
    while busy >= below and time.monotonic() - start < max_s:
        busy = cpu_busy()
    return {"waited_s": round(time.monotonic() - start, 1), "cpu_busy_before": round(busy, 2),
            "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0])}


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def median(values: list[Any]) -> float:
    vals = [v for v in values if isinstance(v, (int, float)) and v == v]
    return statistics.median(vals) if vals else float("nan")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "nbviz", "js"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return rev + ("+uncommitted changes in nbviz/ or js/" if dirty else "")
    except Exception:  # noqa: BLE001
        return "?"


def version(dist: str) -> str:
    try:
        from importlib.metadata import version as v

        return v(dist)
    except Exception:  # noqa: BLE001 - a missing or broken distribution is reported, not fatal
        return "?"


def host() -> dict:
    """The machine and the nbviz revision a table's figures come from."""
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "nbviz": version("nbviz"),
        "nbviz_git": _git_rev(),
    }


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out
