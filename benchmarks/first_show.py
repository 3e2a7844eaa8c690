"""First show where dashboards live: from the Python call to the picture on screen, in a fresh Voila kernel.

Each case is a notebook of two cells: the setup (imports, data, a model trained or built) and the call that shows
the widget, which writes ``time.time()`` just before the call to a file. A fresh Voila page (a fresh kernel) runs it;
an init script in the page notes the wall-clock time at which the shown element first appears drawn (nbviz:
``data-nbviz-ready`` / ``data-nbviz-painted``; the trivial anywidget: its own ``data-ready``; an SVG: the element in
the output). Same machine, same clock: call -> picture in milliseconds. The cases come in pairs against a floor:

- each nbviz widget on small data against a trivial anywidget (the cost of any anywidget view in that host);
- ModelGraph of a ResNet-50-shaped model against torchviz's SVG of it (``make_dot`` + ``dot -Tsvg``, shown as
  ``IPython.display.SVG``), each less the trivial view of its kind (anywidget / SVG): their own cost.

Run: ``python -m benchmarks.first_show [--repeats 3] [--only ModelGraph,torchviz] [--baseline DIR] [--quiet-wait 30]``;
results in ``results/first_show.{md,json}``. ``--only``: the cases whose name contains one of these, and their floors.
``--baseline DIR``: every nbviz case also runs with the nbviz of DIR (a checkout of another commit with its
``nbviz/static`` built), turns interleaved with this tree's: before / after under the same load. ``--quiet-wait S``:
before each page, wait up to S seconds for the shared CPUs to be mostly idle.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import RESULTS, host, median, wait_quiet
from tests.ui.harness import CHROMIUM_ARGS, chromium_executable, start_voila, write_notebook

SETUP_DIGITS = """
import time, json, pathlib, numpy as np, torch, torch.nn as nn, nbviz
from sklearn.datasets import load_digits
d = load_digits()
x = torch.tensor(d.images[:, None] / 16, dtype=torch.float32)
torch.manual_seed(0)
cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                    nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                    nn.Linear(16, 10))
"""
MARK = "pathlib.Path({out!r}).write_text(json.dumps(time.time() * 1000))\n"
TRIVIAL = """
import anywidget, traitlets
class Trivial(anywidget.AnyWidget):
    _esm = "export default {{ render({{ el }}) {{ el.textContent = 'ok'; el.dataset.ready = 'true'; }} }}"
""" + MARK + "Trivial()\n"

#: JupyterLab's SVG renderer (Voila's too) shows an SVG output as an <img> of it.
SVG_SHOWN = ".jp-RenderedSVG img[src^='data:image/svg+xml']"
CASES: dict[str, tuple[str, str, str]] = {
    # name: (setup cell, shown cell, what marks it drawn)
    "trivial anywidget": (SETUP_DIGITS, TRIVIAL, "[data-ready='true']"),
    "EmbeddingExplorer (PCA, 1,797 digits)": (SETUP_DIGITS, MARK + "nbviz.EmbeddingExplorer(d.data, labels=d.target, "
                                             "method='pca')\n", "[data-nbviz-ready='true']"),
    "GradCamViewer (digits CNN, 32 images)": (SETUP_DIGITS, MARK + "nbviz.GradCamViewer(cnn, x[:32], layer='4')\n",
                                              "[data-nbviz-ready='true']"),
    "ProbMapPlayer (10 frames)": (SETUP_DIGITS + """
rec = nbviz.ProbMapRecorder(np.random.default_rng(0).normal(size=(200, 2)), np.arange(200) % 3, resolution=100)
lin = nn.Linear(2, 3)
for e in range(10):
    rec.record(lin, e)
""", MARK + "nbviz.ProbMapPlayer(rec)\n", "[data-nbviz-ready='true']"),
    "ModelGraph (digits CNN)": (SETUP_DIGITS, MARK + "nbviz.ModelGraph(cnn, x[:1])\n", "[data-nbviz-painted='true']"),
    "ModelGraph (ResNet-50 shaped)": (SETUP_DIGITS + """
from benchmarks.models import ResNet50Shaped
resnet, xr = ResNet50Shaped().eval(), torch.rand(1, 3, 224, 224)
""", MARK + "nbviz.ModelGraph(resnet, xr)\n", "[data-nbviz-painted='true']"),
    "trivial SVG": (SETUP_DIGITS + "from IPython.display import SVG\n",
                    MARK + "SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\" "
                    "class=\"bench-svg\"><rect width=\"10\" height=\"10\"/></svg>')\n", SVG_SHOWN),
    "torchviz SVG (ResNet-50 shaped)": (SETUP_DIGITS + """
from IPython.display import SVG
from torchviz import make_dot
from benchmarks.models import ResNet50Shaped
resnet, xr = ResNet50Shaped().eval(), torch.rand(1, 3, 224, 224)
""", MARK + "SVG(make_dot(resnet(xr), params=dict(resnet.named_parameters())).pipe(format='svg'))\n",
        SVG_SHOWN),
}
#: (case, its floor): the difference is the case's own cost.
PAIRS = [("EmbeddingExplorer (PCA, 1,797 digits)", "trivial anywidget"),
         ("GradCamViewer (digits CNN, 32 images)", "trivial anywidget"),
         ("ProbMapPlayer (10 frames)", "trivial anywidget"), ("ModelGraph (digits CNN)", "trivial anywidget"),
         ("ModelGraph (ResNet-50 shaped)", "trivial anywidget"), ("torchviz SVG (ResNet-50 shaped)", "trivial SVG")]
WATCH = """
window.__shownAt = null;
const sel = %s;
new MutationObserver(() => {
  if (window.__shownAt === null && document.querySelector(sel)) {
    window.__shownAt = performance.timeOrigin + performance.now();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


BASELINE = " [baseline]"


def run_case(browser, server, root: Path, name: str, k: int, baseline: str = "") -> float:
    setup, shown, selector = CASES[name]
    stem = f"case{list(CASES).index(name)}_{k}"
    mark = root / f"{stem}.t0"
    # The kernel imports nbviz (and benchmarks.models) from the first folder on its path.
    tree = baseline if name.endswith(BASELINE) else str(Path.cwd())
    write_notebook(root / f"{stem}.ipynb", [f"import sys; sys.path.insert(0, {tree!r})\n" + setup,
                                           shown.format(out=str(mark))])
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.add_init_script(WATCH % json.dumps(selector))
    try:
        page.goto(f"{server.url}/voila/render/{stem}.ipynb", timeout=600_000)
        page.wait_for_function("() => window.__shownAt !== null", timeout=600_000)
        shown_at = page.evaluate("() => window.__shownAt")
    finally:
        page.close()
    return shown_at - json.loads(mark.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="fresh pages per case (default 3)")
    ap.add_argument("--baseline", default="", help="a checkout whose nbviz runs the nbviz cases again, interleaved")
    ap.add_argument("--quiet-wait", type=float, default=0.0, help="seconds to wait for idle CPUs before each page")
    ap.add_argument("--only", default="", help="comma-separated parts of case names: those cases and their floors")
    args = ap.parse_args(argv)
    if args.only:
        keep = {n for n in CASES if any(part and part in n for part in args.only.split(","))}
        keep |= {floor for case, floor in PAIRS if case in keep}
        for name in [n for n in CASES if n not in keep]:
            del CASES[name]
    from playwright.sync_api import sync_playwright

    if shutil.which("dot") is None:  # torchviz's SVG needs graphviz's `dot` program
        print("graphviz's `dot` is not installed: the torchviz case is left out (apt install graphviz)")
        for name in [n for n in CASES if n.startswith("torchviz")]:
            del CASES[name]
    if args.baseline:
        for name in [n for n in CASES if "nbviz" in CASES[n][1]]:
            CASES[name + BASELINE] = CASES[name]
            PAIRS.append((name + BASELINE, next(f for c, f in PAIRS if c == name)))
    root = Path(tempfile.mkdtemp(prefix="nbviz-first-show-"))
    server = start_voila(root)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    loads: list[float] = []
    t0 = time.perf_counter()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
            for k in range(args.repeats):
                for name in CASES:  # every case once per round: drifts in machine load hit all alike
                    if args.quiet_wait:
                        loads.append(wait_quiet(args.quiet_wait, 0.3)["loadavg_1m"])
                    times[name].append(run_case(browser, server, root, name, k, args.baseline))
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    med = {name: median(v) for name, v in times.items()}
    machine = host()
    lines = [f"First show in a fresh Voila kernel: Python call -> picture on screen (ms), median of {args.repeats} "
             f"fresh pages; {machine['nproc']} CPUs, commit {machine['nbviz_git']}; "
             f"`python -m benchmarks.first_show --repeats {args.repeats}"
             f"{f' --only {args.only}' if args.only else ''}{f' --baseline {args.baseline}' if args.baseline else ''}"
             f"{f' --quiet-wait {args.quiet_wait:g}' if args.quiet_wait else ''}`"
             + (f"; load average before the pages {min(loads):.1f}-{max(loads):.1f}" if loads else ""), "",
             "| case | call -> picture (ms) | floor | case - floor (ms) |", "| --- | ---: | --- | ---: |"]
    floors = {case: floor for case, floor in PAIRS if case in CASES}
    for name in CASES:
        floor = floors.get(name)
        extra = f"{med[name] - med[floor]:,.0f}" if floor else ""
        lines.append(f"| {name} | {med[name]:,.0f} | {floor or ''} | {extra} |")
    text = "\n".join(lines) + "\n"
    print(text)
    print(f"{time.perf_counter() - t0:.0f} s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "first_show.md").write_text(text)
    (RESULTS / "first_show.json").write_text(json.dumps({"times_ms": times, "median_ms": med}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
