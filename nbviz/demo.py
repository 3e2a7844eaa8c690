"""``python -m nbviz.demo``: serve the Voila gallery of nbviz on the built-in data and print its URL.

The gallery's kernel is started and the notebook run before the first visit (Voila's kernel preheating), so a
visit shows widgets in seconds rather than after the whole notebook has run. Ctrl+C and SIGTERM stop Voila too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

#: Where the gallery lies: shipped inside the wheel, or in a checkout's notebooks/ folder.
_CANDIDATES = (Path(__file__).resolve().parent / "notebooks" / "dashboard.ipynb",
               Path(__file__).resolve().parent.parent / "notebooks" / "dashboard.ipynb")


def gallery() -> Path:
    """The gallery notebook's path (the wheel's copy first, then the checkout's)."""
    for path in _CANDIDATES:
        if path.exists():
            return path
    raise FileNotFoundError(f"nbviz's gallery notebook is missing; looked in {[str(p) for p in _CANDIDATES]}")


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port on 127.0.0.1")


def voila_command(notebook: Path, port: int, ip: str, pool_size: int) -> list[str]:
    """The Voila command line; ``pool_size`` > 0 keeps that many kernels with the notebook already run."""
    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", f"--Voila.ip={ip}", "--no-browser",
           "--show_tracebacks=True"]
    if pool_size > 0:
        cmd += ["--preheat_kernel=True", f"--pool_size={pool_size}"]
    return cmd


#: Set for Voila's kernels: the folder where a kernel that has run the whole gallery leaves a mark.
READY_ENV = "NBVIZ_DEMO_READY_DIR"


def notebook_ran() -> None:
    """Called by the gallery's last cell: under ``python -m nbviz.demo`` it tells the demo that a preheated kernel
    has run the whole notebook, so a visit now shows widgets at once. Does nothing anywhere else."""
    folder = os.environ.get(READY_ENV)
    if folder and Path(folder).is_dir():
        (Path(folder) / f"kernel-{os.getpid()}").touch()


def _announce_ready(folder: Path, url: str, child: subprocess.Popen) -> None:
    # Voila's log says "pool filled" when a kernel has *started*; the notebook's own mark says it has *run*.
    while child.poll() is None:
        if any(folder.iterdir()):
            print(f"nbviz gallery: ready at {url}", flush=True)
            return
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--pool-size", type=int, default=2,
                        help="kernels kept ready with the notebook run (0: run it on each visit)")
    parser.add_argument("notebook", nargs="?", default=None)
    args = parser.parse_args(argv)
    try:
        notebook = Path(args.notebook) if args.notebook else gallery()
    except FileNotFoundError as exc:
        print(f"nbviz.demo: {exc}", file=sys.stderr)
        return 2
    if not notebook.exists():
        print(f"nbviz.demo: notebook {notebook} not found", file=sys.stderr)
        return 2
    port = _free_port(args.port)
    url = f"http://{args.ip}:{port}/"
    print(f"nbviz gallery: {url}  (Ctrl+C stops it)", flush=True)
    if args.pool_size > 0:
        print("nbviz gallery: running the notebook ahead of the first visit...", flush=True)
    # Its own session: a terminal's Ctrl+C reaches only us, and Voila gets one SIGTERM (on SIGINT it would ask
    # "Shutdown this Voila server?" and wait for an answer).
    marks = Path(tempfile.mkdtemp(prefix="nbviz-demo-"))
    child = subprocess.Popen(voila_command(notebook, port, args.ip, args.pool_size), start_new_session=True,
                             env={**os.environ, READY_ENV: str(marks)})
    if args.pool_size > 0:
        threading.Thread(target=_announce_ready, args=(marks, url, child), daemon=True).start()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # Voila dies with us: a `kill <pid>` of the demo must not leave a server (and its kernels) behind.
        child.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        while True:
            try:
                return child.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(marks, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
