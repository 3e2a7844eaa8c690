"""ModelGraph: call to first painted graph in headless Chromium, against torchviz ``make_dot`` + ``dot -Tsvg``.

The timeline is Jupyter's: the widget's comm opens at the start of ``ModelGraph(...)``, so the browser imports the
bundle while the kernel captures; the state then arrives and the view renders. Here: the page starts importing the
bundle at t0, Python runs ``ModelGraph(...)`` and serialises the state as sent, then the page renders that state
(an in-memory widget model, no Jupyter server; the state travels as JSON text) and the clock stops at the first
animation frame after the graph is drawn (``data-nbviz-painted``; "laid out" is ``data-nbviz-ready``: elkjs's
layout drawn, when the first picture was the stand-in drawn while elkjs starts). Times are the page's, from t0.

Two kinds of page per model and mode: a fresh one ("cold": the first graph of a notebook, elkjs starts from
nothing) and one that already showed a graph ("warm": re-running the cell; anywidget imports the bundle again,
elkjs's worker is running). elkjs's worker starts when the bundle is imported where the page reports 4 or more
cores, else with the first graph (``--cores`` sets what the page reports). torchviz is timed on the same model in
the same run, as many times, turns alternating with nbviz's: ``make_dot(model(x))`` + graphviz ``dot -Tsvg``.
Also: expanding a group (layout + draw).

Run: ``python -m benchmarks.model_graph [--threads 1] [--repeats 5] [--only resnet] [--cores 16]``; results in
``results/model_graph.{md,json}``. ``--voila``: the other path, where dashboards live: Python call -> picture on
screen in a fresh Voila kernel (module imports, the first capture of a kernel, the PNG, Voila and the widget
manager included), ModelGraph and torchviz's SVG each against a trivial view of its kind
(:mod:`benchmarks.first_show`'s ModelGraph and torchviz cases).
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import time
from typing import Any

import torch
from torch import nn

from benchmarks.common import RESULTS, ROOT, host, median, wait_quiet
from benchmarks.models import ResNet50Shaped as ResNet50
from nbviz.widgets.model_graph import ModelGraph


# -- models (defined here; no torchvision) ----------------------------------------------------------------------
class TBlock(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), nn.MultiheadAttention(d, 8, batch_first=True)
        self.ln2, self.mlp = nn.LayerNorm(d), nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


def transformer(d: int = 256, depth: int = 24) -> nn.Module:
    return nn.Sequential(nn.Linear(64, d), nn.Sequential(*[TBlock(d) for _ in range(depth)]), nn.LayerNorm(d),
                         nn.Linear(d, 10))


class MlpBlock(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.ln1, self.fc1, self.act, self.fc2 = nn.LayerNorm(d), nn.Linear(d, d), nn.GELU(), nn.Linear(d, d)
        self.ln2, self.fc3, self.act2, self.fc4 = nn.LayerNorm(d), nn.Linear(d, d), nn.GELU(), nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.fc2(self.act(self.fc1(self.ln1(x))))
        return x + self.fc4(self.act2(self.fc3(self.ln2(x))))


def big_mlp(stages: int = 10, blocks: int = 27, d: int = 16) -> nn.Module:
    """About 10,000 autograd nodes (torchviz's count)."""
    return nn.Sequential(*[nn.Sequential(*[MlpBlock(d) for _ in range(blocks)]) for _ in range(stages)])


# -- browser ----------------------------------------------------------------------------------------------------
# The bundle's text, in the page before the clock starts: it travels in the comm's opening message, a few ms on a
# local websocket, but far longer as a CDP argument.
STASH_JS = """([src, css, cores]) => {
  window.__src = src;
  if (cores) Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => cores });
  const style = document.createElement('style'); style.textContent = css; document.head.append(style);
}"""

# Starts importing the bundle (as anywidget does when the comm opens), in a task of its own so that this call
# returns (and Python starts capturing) at once.
KICKOFF_JS = """() => {
  window.__t0 = performance.now();
  window.__mod = new Promise((res) => setTimeout(res)).then(() => {
    const url = URL.createObjectURL(new Blob([window.__src], {type: 'text/javascript'}));
    return import(url);
  }).then((mod) => { window.__imported = performance.now(); return mod; });
}"""

# Renders the state (JSON text, as a websocket delivers it: a structured CDP argument would cost far longer) once
# the bundle is imported; times since the kickoff.
RENDER_JS = """async (text) => {
  const received = performance.now() - window.__t0;
  const state = JSON.parse(text);
  const mod = await window.__mod;
  const fromB64 = (s) => { const b = atob(s); const u = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return new DataView(u.buffer); };
  for (const [k, v] of Object.entries(state)) if (v && v.chunks) v.chunks = v.chunks.map(fromB64);
  const handlers = {};
  const model = { get: (k) => state[k],
    set: (k, v) => { state[k] = v; (handlers['change:' + k] || []).forEach((f) => f()); },
    on: (e, f) => (handlers[e] = handlers[e] || []).push(f), off: () => {}, save_changes: () => {}, send: () => {} };
  window.__mg = model;
  document.querySelectorAll('.nbviz-bench-host').forEach((h) => h.remove());
  const host = document.createElement('div'); host.className = 'nbviz-bench-host'; host.style.width = '1100px';
  document.body.append(host);
  const start = performance.now();
  mod.default.render({ model, el: host });
  const frame = () => new Promise((res) => requestAnimationFrame(() => res()));
  const shown = async (selector) => {
    while (!host.querySelector(selector)) await frame();
    await frame();  // the frame it was drawn in has been presented
    return performance.now() - window.__t0;
  };
  const hook = host.querySelector('.nbviz-model-graph').nbviz;
  const painted = await shown('[data-nbviz-painted="true"], [data-nbviz-ready="true"]');
  const provisional = !!hook.provisional, shown_at = hook.shownAt - window.__t0;
  const laid_out = await shown('[data-nbviz-ready="true"]');
  const t0 = window.__t0;
  return { received, imported: window.__imported - t0, render_start: start - t0, shown: shown_at, painted, provisional,
           laid_out, elk_ready: hook.engineReadyAt ? hook.engineReadyAt - t0 : null, layout_ms: hook.lastLayoutMs,
           engine: hook.layoutEngine || '', drawn: hook.visibleCount() };
}"""

EXPAND_JS = """async (gid) => {
  const root = document.querySelector('.nbviz-bench-host .nbviz-model-graph');
  const hook = root.nbviz; const paints = hook.paints;
  const t0 = performance.now();
  window.__mg.set('expanded', [...window.__mg.get('expanded'), gid]);
  await new Promise((res) => {
    const tick = () => hook.paints > paints ? res() : requestAnimationFrame(tick); tick(); });
  return performance.now() - t0;
}"""

EMPTY_STATE = {"node_ids": [], "node_paths": [], "node_types": [], "node_shapes": [], "node_kinds": [],
               "node_labels": [], "node_params": None, "edge_index": None, "groups": [], "folds": [], "expanded": [],
               "selected": "", "unusable": {}, "height": 480, "mode": "modules", "fallback": "", "error": "",
               "error_details": ""}


def wire_state(w: ModelGraph) -> str:
    """The widget's state as sent, as JSON text with binary chunks as base64 (the page turns them back into
    DataViews); the bundle itself (``_esm``, ``_css``) went with the comm's opening, so it is left out."""
    out = {}
    for k, v in w.get_state().items():
        if k in ("_esm", "_css"):
            continue
        if isinstance(v, dict) and "chunks" in v:
            v = {**v, "chunks": [base64.b64encode(bytes(c)).decode() for c in v["chunks"]]}
        out[k] = v
    return json.dumps(out, default=str)


def bundle() -> tuple[str, str]:
    static = ROOT / "nbviz" / "static"
    return (static / "model_graph.js").read_text(), (static / "model_graph.css").read_text()


def new_page(browser: Any, warm: bool, cores: int = 0) -> Any:
    """A fresh page; ``warm``: one that has already shown a (empty) graph, so elkjs's worker is running; ``cores``:
    the CPU cores it reports (0: the machine's), 4 or more start elkjs's worker at import (model_graph/index.ts)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto("about:blank")
    page.evaluate(STASH_JS, [*bundle(), cores])
    if warm:
        page.evaluate(KICKOFF_JS)
        page.evaluate(RENDER_JS, json.dumps(EMPTY_STATE))
    return page


def first_paint(browser: Any, model: nn.Module, x: torch.Tensor, mode: str, depth: int, warm: bool,
                expand: bool = False, cores: int = 0) -> dict:
    page = new_page(browser, warm, cores)
    try:
        t0 = time.perf_counter()
        page.evaluate(KICKOFF_JS)
        t1 = time.perf_counter()
        w = ModelGraph(model, x, mode=mode, depth=depth)
        t2 = time.perf_counter()
        state = wire_state(w)
        t3 = time.perf_counter()
        page_times = page.evaluate(RENDER_JS, state)
        wall_ms = (time.perf_counter() - t0) * 1000
        # Page times count from the kickoff's start, which comes before Python's work starts (t1).
        row = {"nodes": len(w.nodes), "edges": len(w.edges), "python_ms": round((t3 - t1) * 1000, 1),
               "widget_ms": round((t2 - t1) * 1000, 1), "state_ms": round((t3 - t2) * 1000, 1),
               "kickoff_ms": round((t1 - t0) * 1000, 1),
               **{k: round(v, 1) if isinstance(v, float) else v for k, v in page_times.items()},
               "first_paint_ms": round(page_times["painted"], 1), "laid_out_ms": round(page_times["laid_out"], 1),
               "wall_ms": round(wall_ms, 1)}
        if expand:
            closed = [n["id"] for n in w.visible()[0] if n["kind"] in ("group", "fold")]
            row["expand_ms"] = [round(page.evaluate(EXPAND_JS, gid), 1) for gid in closed[:4]]
        return row
    finally:
        page.close()


def torchviz_time(model: nn.Module, x: torch.Tensor, timeout: float = 90) -> dict:
    from torchviz import make_dot

    t0 = time.perf_counter()
    src = make_dot(model(x), params=dict(model.named_parameters())).source
    make_ms = (time.perf_counter() - t0) * 1000
    if not shutil.which("dot"):
        return {"make_dot_ms": round(make_ms, 1), "dot_svg_ms": None, "total_ms": None, "note": "no dot binary"}
    t1 = time.perf_counter()
    try:
        subprocess.run(["dot", "-Tsvg"], input=src.encode(), capture_output=True, check=True, timeout=timeout)
        dot_ms: float | None = (time.perf_counter() - t1) * 1000
    except subprocess.TimeoutExpired:
        dot_ms = None
    return {"make_dot_ms": round(make_ms, 1), "dot_svg_ms": None if dot_ms is None else round(dot_ms, 1),
            "total_ms": None if dot_ms is None else round(make_ms + dot_ms, 1),
            "note": "" if dot_ms is not None else f"dot -Tsvg did not finish in {timeout:.0f} s"}


def medians(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {**runs[0], **{k: round(median([r[k] for r in runs]), 1) for k in keys}, "samples": len(runs)}


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    from tests.ui.harness import CHROMIUM_ARGS, chromium_executable

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads, for nbviz and torchviz alike "
                    "(1: the other core is the browser's; more stall on a shared 2-core machine)")
    ap.add_argument("--repeats", type=int, default=5, help="samples per row, nbviz and torchviz alike (the "
                    "10k-node row takes at most 3: graphviz needs about a minute a sample there)")
    ap.add_argument("--only", default="", help="run only the models whose name contains this text")
    ap.add_argument("--cores", type=int, default=0, help="CPU cores the page reports (navigator.hardwareConcurrency; "
                    "0: the machine's); 4 or more start elkjs's worker when the bundle is imported")
    ap.add_argument("--voila", action="store_true", help="time the first show in a fresh Voila kernel instead "
                    "(benchmarks.first_show's ModelGraph and torchviz cases, --repeats pages each)")
    args = ap.parse_args(argv)
    if args.voila:
        from benchmarks.first_show import main as first_show

        return first_show(["--repeats", str(args.repeats), "--only", "ModelGraph,torchviz", "--quiet-wait", "30"])
    torch.set_num_threads(args.threads)
    quiet = wait_quiet(20, 0.5)
    torch.manual_seed(0)
    cases = [
        ("ResNet-50-shaped", ResNet50().eval(), torch.randn(1, 3, 224, 224), ("modules", "autograd"), args.repeats),
        ("transformer, 24 blocks", transformer().eval(), torch.randn(1, 128, 64), ("modules", "autograd"),
         args.repeats),
        ("10k-node MLP", big_mlp().eval(), torch.randn(1, 16), ("autograd",), min(args.repeats, 3)),
    ]
    cases = [c for c in cases if args.only.lower() in c[0].lower()]
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True)
        first_paint(browser, cases[0][1], cases[0][2], "modules", 2, warm=False)  # warm-up (imports, JIT)
        for name, model, x, modes, repeats in cases:
            ref: list[dict] = []
            runs: dict[tuple[str, bool], list[dict]] = {(m, w): [] for m in modes for w in (False, True)}
            for k in range(repeats):  # turns alternate, so drift in the machine's load hits both sides alike
                for side in ("torchviz", "nbviz") if k % 2 == 0 else ("nbviz", "torchviz"):
                    if side == "torchviz":
                        ref.append(torchviz_time(model, x))
                        continue
                    for mode, warm in runs:
                        runs[mode, warm].append(first_paint(browser, model, x, mode, 2, warm,
                                                            expand=k == 0 and not warm, cores=args.cores))
            done = [r["total_ms"] for r in ref if r["total_ms"] is not None]
            tv = {**medians(ref), "total_ms": median(done) if done else None,
                  "note": "" if len(done) == len(ref) else f"{len(ref) - len(done)} of {len(ref)} samples: "
                  f"{next(r['note'] for r in ref if r['note'])}"}
            for mode in modes:
                cold, warm = medians(runs[mode, False]), medians(runs[mode, True])
                row = {"model": name, "mode": mode, **cold, "expand_ms": runs[mode, False][0].get("expand_ms", []),
                       "first_python_ms": runs[mode, False][0]["python_ms"], "warm": warm, "torchviz": tv}
                rows.append(row)
                print(json.dumps(row))
        browser.close()
    results = {"host": host(), "quiet": quiet, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
               "repeats": args.repeats, "page_cores": args.cores or "machine's", "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "model_graph.json").write_text(json.dumps(results, indent=1))
    (RESULTS / "model_graph.md").write_text(table(rows) + "\n")
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    def ms(v: float | None) -> str:
        return "n/a" if v is None or v != v else f"{v:.0f}"

    def ratio(v: float, tv: float | None) -> str:
        return f"{v / tv:.2f}" if tv else "n/a"

    lines = ["| model | mode | captured nodes | drawn at depth 2 | python ms (first capture) | bundle imported ms "
             "| elkjs ready ms "
             "| first paint ms, cold page | first paint ms, warm page | torchviz make_dot + dot -Tsvg ms "
             "| ratio cold | ratio warm | expand a group ms |", "|---" * 13 + "|"]
    for r in rows:
        tv = r["torchviz"]["total_ms"]
        note = f" ({r['torchviz']['note']})" if r["torchviz"]["note"] else ""
        lines.append(
            f"| {r['model']} | {r['mode']} | {r['nodes']} | {r['drawn']} | {ms(r['python_ms'])} "
            f"({ms(r.get('first_python_ms'))}) | {ms(r['imported'])} "
            f"| {ms(r['elk_ready'])} | {ms(r['first_paint_ms'])} | {ms(r['warm']['first_paint_ms'])} | {ms(tv)}{note} "
            f"| {ratio(r['first_paint_ms'], tv)} | {ratio(r['warm']['first_paint_ms'], tv)} "
            f"| {', '.join(ms(v) for v in r['expand_ms'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
