"""Large arrays sent whole vs streamed in pieces (nbviz/widgets/streams.py), as a JupyterLab user meets them.

A JupyterLab server and headless Debian Chromium; one notebook whose first cells make the data and show a small
explorer (its view tells the kernel a browser is attached: streaming is on from then). Each measurement runs one
cell, ``nbviz.EmbeddingExplorer(xy, labels=labels)`` over N given 2-D points with 10 labels, with the stream
threshold either above every array ("whole": one message, as a headless run gets) or at its default ("streamed"),
clearing the outputs before (no earlier view keeps its GPU buffers). Per mode and N (medians over ``--repeats``):

- feedback: from the run command to the first frame in which the view shows anything about the data (the
  "Receiving" bar while streaming; the drawn points when sent whole, since nothing else shows before them).
- drawn: to the first frame with the view ready and ``pointCount == N``.
- largest websocket frame and data bytes the page received (Playwright ``framereceived``).
- progress steps: distinct "Receiving" texts seen (one per piece or a few).

Run ``python benchmarks/stream_transfer.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import RESULTS, host, median  # noqa: E402
from tests.ui.harness import (  # noqa: E402 - the repo root must be importable first
    CHROMIUM_ARGS,
    NetworkGuard,
    chromium_executable,
    start_lab,
    write_notebook,
)

MODES = ("whole", "streamed")

SETUP = """
import numpy as np, nbviz
from nbviz.widgets import streams
DEFAULT_STREAM_BYTES = streams.STREAM_BYTES
def data(n):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    xy = (rng.normal(size=(10, 2))[labels] * 5 + rng.normal(size=(n, 2))).astype("float32")
    return xy, labels
SETS = {n: data(n) for n in SIZES}
"""
ATTACH = "nbviz.EmbeddingExplorer(np.random.default_rng(1).normal(size=(50, 2)), height=200)"
CELL = """
streams.STREAM_BYTES = {threshold}
xy, labels = SETS[{n}]
nbviz.EmbeddingExplorer(xy, labels=labels, height=500)
"""

# Runs cell `index` and watches its output each animation frame until its view has drawn all `n` points.
MEASURE_JS = """
async ([index, n]) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index;
  const t0 = performance.now();
  const run = window.jupyterapp.commands.execute('notebook:run-cell');
  let feedback = null, drawn = null;
  const steps = new Set();
  while (drawn === null && performance.now() - t0 < 600000) {
    await new Promise((r) => requestAnimationFrame(r));
    const root = panel.content.widgets[index].node.querySelector('.nbviz-embedding');
    if (!root) continue;
    const text = root.querySelector('.nbviz-progress-text')?.textContent ?? '';
    if (text.startsWith('Receiving')) steps.add(text);
    const ready = root.dataset.nbvizReady === 'true' && root.nbviz && root.nbviz.pointCount === n;
    if (feedback === null && (text.startsWith('Receiving') || ready)) feedback = performance.now() - t0;
    if (ready) drawn = performance.now() - t0;
  }
  await run;
  return { feedback_ms: feedback, drawn_ms: drawn, progress_steps: steps.size };
}
"""


def wait_idle(page: Any) -> None:
    page.evaluate("async () => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
                  " while (s.session.kernel.status !== 'idle') await new Promise(r => setTimeout(r, 100)); }")


def run_cell(page: Any, index: int) -> None:
    page.evaluate("async (i) => { const p = window.jupyterapp.shell.currentWidget; p.content.activeCellIndex = i;"
                  " await window.jupyterapp.commands.execute('notebook:run-cell'); }", index)
    wait_idle(page)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="2000000,10000000", help="comma-separated N")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path, default=RESULTS / "stream_transfer.json")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    command = " ".join(shlex.quote(a) for a in ["python", "benchmarks/stream_transfer.py",
                                                *(sys.argv[1:] if argv is None else argv)])
    from playwright.sync_api import sync_playwright

    cells = [SETUP.replace("SIZES", repr(sizes)), ATTACH]
    index: dict[tuple[str, int], int] = {}
    for n in sizes:
        for mode in MODES:
            index[mode, n] = len(cells)
            threshold = "1 << 40" if mode == "whole" else "DEFAULT_STREAM_BYTES"
            cells.append(CELL.format(threshold=threshold, n=n))
    runs: dict[str, list[dict]] = {}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="nbviz-stream-") as tmp:
        root = Path(tmp)
        write_notebook(root / "stream.ipynb", cells)
        server = start_lab(root)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True)
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.route("**/*", NetworkGuard().handle)
                page = context.new_page()
                frames: list[int] = []
                page.on("websocket", lambda ws: ws.on(
                    "framereceived", lambda payload: frames.append(len(payload))))
                page.goto(f"{server.url}/lab/workspaces/stream/tree/stream.ipynb", timeout=120_000)
                page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                                       " return w && w.sessionContext && w.sessionContext.session"
                                       " && w.sessionContext.session.kernel; }", timeout=120_000)
                wait_idle(page)
                run_cell(page, 0)
                run_cell(page, 1)
                page.locator('.nbviz-embedding[data-nbviz-ready="true"]').first.wait_for(timeout=120_000)
                page.wait_for_timeout(1000)  # the small view's attach request reaches the kernel
                for rep in range(args.repeats):
                    for n in sizes:
                        for mode in MODES if rep % 2 == 0 else MODES[::-1]:
                            page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
                            page.wait_for_timeout(500)
                            frames.clear()
                            r = page.evaluate(MEASURE_JS, [index[mode, n], n])
                            wait_idle(page)
                            r.update(max_frame_bytes=max(frames, default=0), received_bytes=sum(frames), repeat=rep)
                            runs.setdefault(f"{mode}/{n}", []).append(r)
                            print(f"[{time.time() - started:5.0f}s] N={n:>10,} {mode:>8} #{rep}: feedback "
                                  f"{r['feedback_ms']:.0f} ms, drawn {r['drawn_ms']:.0f} ms, largest frame "
                                  f"{r['max_frame_bytes'] / 1e6:.1f} MB, {r['progress_steps']} progress steps",
                                  file=sys.stderr, flush=True)
                browser.close()
        finally:
            server.stop()
    summary = {
        key: {metric: median([r[metric] for r in rs])
              for metric in ("feedback_ms", "drawn_ms", "max_frame_bytes", "received_bytes", "progress_steps")}
        for key, rs in runs.items()
    }
    results = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "command": command, "wall_s": time.time() - started,
               "machine": host(), "sizes": sizes, "repeats": args.repeats, "summary": summary, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(table(results))
    return results


def table(results: dict) -> str:
    rows = ["| N | mode | feedback (ms) | drawn (ms) | largest websocket frame | progress steps |",
            "|---:|---|---:|---:|---:|---:|"]
    for n in results["sizes"]:
        for mode in MODES:
            s = results["summary"].get(f"{mode}/{n}")
            if s:
                rows.append(f"| {n:,} | {mode} | {s['feedback_ms']:.0f} | {s['drawn_ms']:.0f} | "
                            f"{s['max_frame_bytes'] / 1e6:.1f} MB | {s['progress_steps']:.0f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
