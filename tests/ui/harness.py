"""Real-browser test harness: Voila and JupyterLab servers on 127.0.0.1, Debian's Chromium via Playwright.

Tests write a notebook, open it in a server, drive the page with the mouse and read Python traits back through
small JSON files that the notebook's kernel writes whenever a watched trait changes (`probe`).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import nbformat
import numpy as np

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Voila's lab template links Font Awesome from a CDN; exactly these stylesheets are tolerated (and aborted).
TOLERATED = {
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/v4-shims.min.css",
}


def chromium_executable() -> str:
    path = os.environ.get("NBVIZ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError("Chromium not found: install Debian's `chromium` package (bash .ci/setup does)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class NetworkGuard:
    """Aborts every request that leaves the machine and remembers it, so a test can fail on it."""

    blocked: list[str] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)

    def handle(self, route: Any) -> None:
        request = route.request
        url = request.url
        host = urlparse(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
            return
        if request.resource_type == "stylesheet" and unquote(url) in TOLERATED:
            self.tolerated.append(url)
        else:
            self.blocked.append(url)
        route.abort()


@dataclass
class Server:
    """A Jupyter server process (Voila or JupyterLab) serving ``root`` on 127.0.0.1."""

    name: str
    root: Path
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _wait_http(url: str, server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{server.name} did not answer at {url} in {timeout}s:\n{server.log()}")


def _isolated_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    settings = root / ".lab-settings"
    # No "get Jupyter news?" toast over the widgets (and no news fetch).
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env.update(
        JUPYTER_RUNTIME_DIR=str(root / ".runtime"),
        JUPYTER_CONFIG_DIR=str(root / ".config"),
        JUPYTERLAB_WORKSPACES_DIR=str(root / ".workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        PYTHONUNBUFFERED="1",
    )
    return env


def _start(name: str, root: Path, args: list[str], ready_path: str) -> Server:
    port = free_port()
    log_path = root / f"{name}.log"
    proc = subprocess.Popen([sys.executable, "-m", name, *args, "--no-browser", f"--port={port}"], cwd=root,
                            env=_isolated_env(root), stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    server = Server(name, root, port, proc, log_path)
    _wait_http(server.url + ready_path, server)
    return server


def start_voila(root: Path) -> Server:
    args = [str(root), "--Voila.ip=127.0.0.1", "--show_tracebacks=True", "--VoilaExecutor.timeout=300"]
    return _start("voila", root, args, "/")


def start_lab(root: Path) -> Server:
    args = [
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}", "--IdentityProvider.token=",
        "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", "--allow-root",
    ]
    return _start("jupyterlab", root, args, "/api/status")


PROBE_MODULE = '''
import json as _json, pathlib as _pathlib, numpy as _np
def nbviz_probe(widget, *traits, folder):
    """Write each watched trait to <folder>/<trait>.json whenever it changes (read by the test)."""
    out = _pathlib.Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    def write(name, value):
        value = value.tolist() if isinstance(value, _np.ndarray) else value
        tmp = out / (name + ".json.tmp")
        tmp.write_text(_json.dumps(value))
        tmp.replace(out / (name + ".json"))
    for name in traits:
        write(name, getattr(widget, name))
        widget.observe(lambda change: write(change["name"], change["new"]), names=name)
'''


def write_notebook(path: Path, cells: list[str], probe_folder: Path | None = None) -> Path:
    """Write a notebook of code cells; with ``probe_folder`` its first cell imports ``nbviz_probe`` into it."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    setup = []
    if probe_folder:
        (path.parent / "_nbviz_probe.py").write_text(PROBE_MODULE)
        setup = [f"import functools, _nbviz_probe\n"
                 f"nbviz_probe = functools.partial(_nbviz_probe.nbviz_probe, folder={str(probe_folder)!r})"]
    sources = setup + list(cells)
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, str(path))
    return path


def wait_for_json(path: Path, predicate: Callable[[Any], bool] = lambda v: True, timeout: float = 30) -> Any:
    """Poll a probe file until its value satisfies ``predicate``; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = "<never written>"
    while time.monotonic() < deadline:
        if path.exists():
            try:
                last = json.loads(path.read_text())
            except json.JSONDecodeError:
                last = "<partial>"
            else:
                if predicate(last):
                    return last
        time.sleep(0.1)
    raise AssertionError(f"{path.name}: condition not met in {timeout}s; last value {last!r}")


def ready_root(page: Any, selector: str = ".nbviz-root", timeout: float = 120_000) -> Any:
    """The first nbviz widget root on the page once its first frame is drawn."""
    root = page.locator(f'{selector}[data-nbviz-ready="true"]').first
    root.wait_for(state="visible", timeout=timeout)
    root.scroll_into_view_if_needed()
    return root


def screen_point(page: Any, root: Any, index: int) -> tuple[float, float]:
    """Page coordinates (CSS px) of point ``index`` in an EmbeddingExplorer view."""
    x, y = root.evaluate("(el, i) => el.nbviz.screenPosition(i)", index)
    box = root.locator("canvas").first.bounding_box()
    return box["x"] + x, box["y"] + y


def pixels(page: Any, clip: dict | None = None) -> np.ndarray:
    """The page's pixels (H, W, 3) as rendered, optionally clipped to a box in page coordinates."""
    from PIL import Image

    png = page.screenshot(clip=clip) if clip else page.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def around(x: float, y: float, r: float) -> dict:
    return {"x": max(x - r, 0), "y": max(y - r, 0), "width": 2 * r, "height": 2 * r}


def color_fraction(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> float:
    """Share of pixels within ``tol`` (per channel) of ``rgb``."""
    diff = np.abs(img.astype(int) - np.array(rgb)).max(axis=-1)
    return float((diff <= tol).mean())
