"""Hot reload (CONTRIBUTING.md): with ANYWIDGET_HMR=1 a widget class hands anywidget its bundle's file, which
anywidget watches and re-sends to live views when `npm --prefix js run watch` rebuilds it; without, the text."""

import os
import subprocess
import sys

from nbviz.widgets.base import STATIC
from nbviz.widgets.panel import Panel

SHOW = """
from nbviz.widgets.panel import Panel
print(type(Panel._esm).__name__, Panel._esm._path)
print(type(Panel._css).__name__, Panel._css._path)
"""


def test_hmr_gives_anywidget_the_bundle_files():
    env = {**os.environ, "ANYWIDGET_HMR": "1"}
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", SHOW], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("\n")[:2] == [f"FileContents {STATIC / 'panel.js'}", f"FileContents {STATIC / 'panel.css'}"]


def test_without_hmr_the_class_holds_the_text():
    # A FileContents would keep every widget alive through its class-level change signal (base.bundle_source).
    assert os.environ.get("ANYWIDGET_HMR") != "1"
    assert isinstance(Panel._esm, str) and Panel._esm == (STATIC / "panel.js").read_text(encoding="utf-8")
