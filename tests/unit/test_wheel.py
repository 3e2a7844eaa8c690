"""A built wheel carries the front-end bundles (they are gitignored, so only the build hook can put them there)."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_contains_js_bundles(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = tmp_path.glob("nbviz-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "nbviz/static/embedding_explorer.js" in names
    assert "nbviz/static/embedding_explorer.css" in names
    bundle = zipfile.ZipFile(wheel).read("nbviz/static/embedding_explorer.js").decode()
    assert "export" in bundle
    # Self-contained: nothing is imported from a URL at run time (nbviz works offline).
    assert not re.search(r"""(import\s*\(|from\s*)["']https?://""", bundle)
