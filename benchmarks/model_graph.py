"""ModelGraph: call to first painted graph in headless Chromium, against torchviz ``make_dot`` + ``dot -Tsvg``.

Per model and mode: Python time (capture + the widget's state as it is sent) + browser time (the bundle's
``render()`` on that state -> ``data-nbviz-ready`` -> the next animation frame), in a bare page with an in-memory
widget model (no Jupyter server: websocket transfer is not included). torchviz is timed in the same run on the same
model: ``make_dot(model(x))`` + graphviz ``dot -Tsvg``. Also: expanding a group (layout + draw, in the browser).

Run: ``python benchmarks/model_graph.py``; results in ``results/model_graph.{md,json}``.
"""

from __future__ import annotations

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
PAGE_JS = """async ([src, css, state]) => {
  const style = document.createElement('style'); style.textContent = css; document.head.append(style);
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const mod = await import(url);
  const fromB64 = (s) => { const b = atob(s); const u = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return new DataView(u.buffer); };
  for (const [k, v] of Object.entries(state)) if (v && v.chunks) v.chunks = v.chunks.map(fromB64);
  const handlers = {};
  const model = { get: (k) => state[k],
    set: (k, v) => { state[k] = v; (handlers['change:' + k] || []).forEach((f) => f()); },
    on: (e, f) => (handlers[e] = handlers[e] || []).push(f), off: () => {}, save_changes: () => {}, send: () => {} };
  window.__mg = model;
  const host = document.createElement('div'); host.style.width = '1100px'; document.body.append(host);
  const t0 = performance.now();
  mod.default.render({ model, el: host });
  await new Promise((res) => { const tick = () => host.querySelector('[data-nbviz-ready="true"]') ? res() :
    requestAnimationFrame(tick); tick(); });
  await new Promise((res) => requestAnimationFrame(() => res()));
  return performance.now() - t0;
}"""

EXPAND_JS = """async (gid) => {
  const root = document.querySelector('.nbviz-model-graph'); const hook = root.nbviz; const paints = hook.paints;
  const t0 = performance.now();
  window.__mg.set('expanded', [...window.__mg.get('expanded'), gid]);
  await new Promise((res) => {
    const tick = () => hook.paints > paints ? res() : requestAnimationFrame(tick); tick(); });
  return [performance.now() - t0, hook.visibleCount()];
}"""


def wire_state(w: ModelGraph) -> dict:
    """The widget's state as sent, binary chunks as base64 (the page turns them back into DataViews)."""
    state = w.get_state()
    out = {}
    for k, v in state.items():
        if isinstance(v, dict) and "chunks" in v:
            v = {**v, "chunks": [base64.b64encode(bytes(c)).decode() for c in v["chunks"]]}
        out[k] = v
    return json.loads(json.dumps(out, default=str))


def first_paint(browser: Any, model: nn.Module, x: torch.Tensor, mode: str, depth: int,
                expand: bool = False) -> dict:
    t0 = time.perf_counter()
    w = ModelGraph(model, x, mode=mode, depth=depth)
    state = wire_state(w)
    py_ms = (time.perf_counter() - t0) * 1000
    static = ROOT / "nbviz" / "static"
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto("about:blank")
        browser_ms = page.evaluate(PAGE_JS, [(static / "model_graph.js").read_text(),
                                             (static / "model_graph.css").read_text(), state])
        row = {"nodes": len(w.nodes), "edges": len(w.edges), "drawn": page.evaluate(
            "() => document.querySelector('.nbviz-model-graph').nbviz.visibleCount()"),
            "python_ms": round(py_ms, 1), "browser_ms": round(browser_ms, 1),
            "first_paint_ms": round(py_ms + browser_ms, 1)}
        if expand:
            closed = [n["id"] for n in w.visible()[0] if n["kind"] in ("group", "fold")]
            times = []
            for gid in closed[:4]:
                ms, count = page.evaluate(EXPAND_JS, gid)
                times.append(ms)
            row["expand_ms"] = [round(t, 1) for t in times]
        return row
    finally:
        page.close()


def torchviz_time(model: nn.Module, x: torch.Tensor, timeout: float = 90) -> dict:
    from torchviz import make_dot

    t0 = time.perf_counter()
    dot = make_dot(model(x), params=dict(model.named_parameters()))
    src = dot.source
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


def main() -> int:
    from playwright.sync_api import sync_playwright

    from tests.ui.harness import CHROMIUM_ARGS, chromium_executable

    quiet = wait_quiet(20, 0.5)
    torch.manual_seed(0)
    cases = [
        ("ResNet-50-shaped", ResNet50().eval(), torch.randn(1, 3, 224, 224)),
        ("transformer, 24 blocks", transformer().eval(), torch.randn(1, 128, 64)),
        ("10k-node MLP", big_mlp().eval(), torch.randn(1, 16)),
    ]
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True)
        first_paint(browser, cases[1][1], cases[1][2], "modules", 2)  # warm-up (imports, JIT)
        for name, model, x in cases:
            ref = torchviz_time(model, x)
            for mode in ("modules", "autograd") if name != "10k-node MLP" else ("autograd",):
                runs = [first_paint(browser, model, x, mode, 2, expand=(k == 0)) for k in range(3)]
                row = {"model": name, "mode": mode, **runs[0],
                       "first_paint_ms": median([r["first_paint_ms"] for r in runs]),
                       "python_ms": median([r["python_ms"] for r in runs]),
                       "browser_ms": median([r["browser_ms"] for r in runs]), "torchviz": ref}
                rows.append(row)
                print(json.dumps(row))
        browser.close()
    results = {"host": host(), "quiet": quiet, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
               "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "model_graph.json").write_text(json.dumps(results, indent=1))
    lines = ["| model | mode | captured nodes | drawn at depth 2 | python ms | browser ms | first paint ms | "
             "torchviz make_dot + dot -Tsvg ms | ratio | expand a group ms |", "|---" * 10 + "|"]
    for r in rows:
        tv = r["torchviz"]["total_ms"]
        ratio = f"{r['first_paint_ms'] / tv:.2f}" if tv else "n/a"
        lines.append(f"| {r['model']} | {r['mode']} | {r['nodes']} | {r['drawn']} | {r['python_ms']:.0f} | "
                     f"{r['browser_ms']:.0f} | {r['first_paint_ms']:.0f} | {tv if tv else r['torchviz']['note']} | "
                     f"{ratio} | {', '.join(f'{v:.0f}' for v in r.get('expand_ms', []))} |")
    (RESULTS / "model_graph.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
