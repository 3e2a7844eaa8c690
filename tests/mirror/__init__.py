"""Shared fixtures for the algorithms written twice, once in Python and once in TypeScript.

Each module here (one per mirrored pair) defines ``cases() -> dict``: inputs and the outputs the *Python* rule
gives for them, JSON-serialisable. ``python -m tests.mirror`` writes them to ``js/tests/fixtures/<module>.json``;
vitest (``js/tests/mirror_*.test.ts``) asserts that the TypeScript copy gives the same outputs, and
``tests/unit/test_mirror_fixtures.py`` that the committed files still equal what Python gives. So a change to either
copy that the other does not follow fails a test.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "js" / "tests" / "fixtures"


def number(x: float) -> float | str:
    """A float as JSON can hold it: non-finite values as the strings "NaN", "Infinity", "-Infinity" (what JavaScript's
    ``Number()`` reads back; ``num`` in js/tests/mirror.ts)."""
    x = float(x)
    return x if math.isfinite(x) else "NaN" if math.isnan(x) else "Infinity" if x > 0 else "-Infinity"


def pairs() -> list[str]:
    """Names of the mirrored pairs: the modules of this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def render(name: str) -> str:
    """The fixture file's text for one pair (stable: sorted keys, one trailing newline)."""
    cases = importlib.import_module(f"{__name__}.{name}").cases()
    return json.dumps(cases, sort_keys=True, indent=1, allow_nan=False) + "\n"


def write_all() -> list[Path]:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    written = []
    for name in pairs():
        path = FIXTURES / f"{name}.json"
        path.write_text(render(name))
        written.append(path)
    return written
