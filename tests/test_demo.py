"""``python -m nbviz.demo``: finds the gallery, preheats a kernel, and takes Voila down with it on SIGTERM/SIGINT."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from nbviz import demo


def test_gallery_is_found_and_voila_preheats():
    assert demo.gallery().name == "dashboard.ipynb"
    cmd = demo.voila_command(demo.gallery(), 9999, "127.0.0.1", pool_size=1)
    assert "--preheat_kernel=True" in cmd and "--pool_size=1" in cmd
    assert not any("preheat" in a for a in demo.voila_command(demo.gallery(), 9999, "127.0.0.1", pool_size=0))


def test_wheel_ships_the_gallery():
    text = (Path(demo.__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"notebooks" = "nbviz/notebooks"' in text


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_demo_stops_voila(tmp_path, sig):
    nb = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), str(nb))
    port = demo._free_port(0)
    proc = subprocess.Popen([sys.executable, "-m", "nbviz.demo", "--port", str(port), "--pool-size", "0", str(nb)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, "Voila did not come up"
                time.sleep(0.5)
        voila = _children(proc.pid)
        assert voila, "the demo started no Voila process"
        proc.send_signal(sig)
        assert proc.wait(timeout=30) is not None
        deadline = time.time() + 20
        while any(_alive(p) for p in voila) and time.time() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in voila), "Voila outlived the demo"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_demo_says_when_a_preheated_kernel_is_ready_and_a_visit_is_then_quick(tmp_path):
    nb = tmp_path / "tiny.ipynb"
    cells = [nbformat.v4.new_code_cell("import time; time.sleep(3); 'ran'"),
             nbformat.v4.new_code_cell("import nbviz.demo; nbviz.demo.notebook_ran()")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(nb))
    port = demo._free_port(0)
    proc = subprocess.Popen([sys.executable, "-m", "nbviz.demo", "--port", str(port), "--pool-size", "1", str(nb)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        deadline = time.time() + 120
        while time.time() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "ready at" in line:
                break
        assert any("ready at" in line for line in lines), lines
        start = time.time()
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60).read().decode()
        took = time.time() - start
        assert "ran" in page, "the visit did not get the preheated kernel's output"
        assert took < 3, f"a visit after 'ready' took {took:.1f}s (the notebook sleeps 3 s: it ran again)"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
