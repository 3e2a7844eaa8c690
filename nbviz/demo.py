"""``python -m nbviz.demo``: serve the Voila gallery of nbviz on the built-in data and print its URL."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

GALLERY = Path(__file__).resolve().parent.parent / "notebooks" / "dashboard.ipynb"


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port on 127.0.0.1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("notebook", nargs="?", default=str(GALLERY))
    args = parser.parse_args(argv)
    notebook = Path(args.notebook)
    if not notebook.exists():
        print(f"nbviz.demo: {notebook} not found; run this from an nbviz checkout", file=sys.stderr)
        return 2
    port = _free_port(args.port)
    print(f"nbviz gallery: http://{args.ip}:{port}/  (Ctrl+C stops it)", flush=True)
    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", f"--Voila.ip={args.ip}",
           "--no-browser", "--show_tracebacks=True"]
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
