"""Real-browser test harness: Voila, JupyterLab, Notebook 7 and marimo servers on 127.0.0.1, Debian's Chromium via
Playwright.

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
    """A server process (Voila, JupyterLab, Notebook 7 or marimo) serving ``root`` on 127.0.0.1."""

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


def _spawn(name: str, root: Path, command: list[str], port: int, ready_path: str, env: dict[str, str]) -> Server:
    log_path = root / f"{name}.log"
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    server = Server(name, root, port, proc, log_path)
    _wait_http(server.url + ready_path, server)
    return server


def _start(name: str, root: Path, args: list[str], ready_path: str) -> Server:
    port = free_port()
    command = [sys.executable, "-m", name, *args, "--no-browser", f"--port={port}"]
    return _spawn(name, root, command, port, ready_path, _isolated_env(root))


def start_voila(root: Path, theme: str = "light") -> Server:
    args = [str(root), "--Voila.ip=127.0.0.1", "--show_tracebacks=True", "--VoilaExecutor.timeout=300",
            f"--theme={theme}"]
    return _start("voila", root, args, "/")


def start_lab(root: Path) -> Server:
    args = [
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}", "--IdentityProvider.token=",
        "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", "--allow-root",
    ]
    return _start("jupyterlab", root, args, "/api/status")


def start_notebook(root: Path) -> Server:
    """Notebook 7 (``jupyter notebook``) serving ``root``, its app exposed as ``window.jupyterapp``. It has no
    news or update-check options of its own: the settings written by ``_isolated_env`` turn those off."""
    args = [
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}", "--IdentityProvider.token=",
        "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        "--JupyterNotebookApp.expose_app_in_browser=True", "--allow-root",
    ]
    return _start("notebook", root, args, "/api/status")


def start_marimo(root: Path, app: Path, mode: str = "run") -> Server:
    """``marimo run`` (or ``marimo edit``) of the app file ``app`` on 127.0.0.1, its config, cache and state in
    ``root``; each page that opens it gets a fresh kernel that runs the app."""
    if mode not in ("run", "edit"):
        raise ValueError(f"mode must be 'run' or 'edit', got {mode!r}")
    port = free_port()
    env = _isolated_env(root)
    # No update check against PyPI, and no user config (a theme, a sandbox default) leaking into the test.
    env.update(MARIMO_SKIP_UPDATE_CHECK="1", XDG_CONFIG_HOME=str(root / ".xdg-config"),
               XDG_CACHE_HOME=str(root / ".xdg-cache"), XDG_STATE_HOME=str(root / ".xdg-state"))
    # `marimo edit` runs the cells when a page opens only with this setting (off by default in marimo 0.25).
    config = root / ".xdg-config" / "marimo" / "marimo.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[runtime]\nauto_instantiate = true\n")
    command = [sys.executable, "-m", "marimo", mode, str(app), "--headless", "--no-token", "--host", "127.0.0.1",
               "--port", str(port), "--no-sandbox"]
    return _spawn(f"marimo-{mode}", root, command, port, "/health", env)


PROBE_MODULE = '''
import json as _json, pathlib as _pathlib, threading as _threading, numpy as _np
_THREADS = {}
def nbviz_probe(widget, *traits, folder):
    """Write each watched trait to <folder>/<trait>.json whenever it changes (read by the test), and the names of
    the threads that changed them to <folder>/threads.json."""
    out = _pathlib.Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    threads = _THREADS.setdefault(str(out), set())
    def write(name, value):
        value = value.tolist() if isinstance(value, _np.ndarray) else value
        threads.add(_threading.current_thread().name)
        for stem, data in ((name, value), ("threads", sorted(threads))):
            tmp = out / (stem + ".json.tmp")
            tmp.write_text(_json.dumps(data))
            tmp.replace(out / (stem + ".json"))
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


def wait_for_json(path: Path, predicate: Callable[[Any], bool] = lambda v: True, timeout: float = 30,
                  page: Any = None) -> Any:
    """Poll a probe file until its value satisfies ``predicate``; fail with the last value seen.

    With ``page``, wait on the page rather than sleep: Playwright's sync client serves routed requests (the
    network guard) only while it is called, and marimo sends widget messages as HTTP requests."""
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
        if page is None:
            time.sleep(0.1)
        else:
            page.wait_for_timeout(100)
    raise AssertionError(f"{path.name}: condition not met in {timeout}s; last value {last!r}")


def run_all_cells(page: Any, path: str) -> None:
    """Once the page's JupyterLab or Notebook 7 (``window.jupyterapp``) shows notebook ``path`` with an idle
    kernel, start its Run All command, as a user pressing Run All would."""
    page.wait_for_function(
        "(path) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === path && w.sessionContext.session"
        " && w.sessionContext.session.kernel; }",
        arg=path,
        timeout=120_000,
    )
    page.evaluate("async () => { const s = window.jupyterapp.shell.currentWidget.sessionContext; await s.ready;"
                  " while (s.session.kernel.status !== 'idle') await new Promise(r => setTimeout(r, 100)); }")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


ARTIFACTS = Path(__file__).parent / "artifacts"


def guarded_page(browser: Any, guard: NetworkGuard) -> tuple[Any, Any]:
    """A new browser context and page whose requests all pass ``guard``; ``page.page_errors`` collects the
    page's uncaught errors."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
    context.route("**/*", guard.handle)
    page = context.new_page()
    page.page_errors = []
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))
    return context, page


def save_screenshot(page: Any, name: str) -> None:
    """The whole page as ``artifacts/<name>.png`` (CI uploads the folder), for a failed test."""
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    except Exception:  # noqa: BLE001 - a failed screenshot must not hide the real failure
        pass


def ready_root(page: Any, selector: str = ".nbviz-root", timeout: float = 120_000) -> Any:
    """The first nbviz widget root on the page once its first frame is drawn."""
    root = page.locator(f'{selector}[data-nbviz-ready="true"]').first
    root.wait_for(state="visible", timeout=timeout)
    root.scroll_into_view_if_needed()
    return root


def lasso(page: Any, box: dict, poly: np.ndarray) -> None:
    """Draw a closed lasso through ``poly`` (canvas pixels of the canvas at ``box``) with Shift held, as a user
    drags one."""
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + poly[0, 0], box["y"] + poly[0, 1])
    page.mouse.down()
    for x, y in [*poly[1:], poly[0]]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
    page.mouse.up()
    page.keyboard.up("Shift")


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
