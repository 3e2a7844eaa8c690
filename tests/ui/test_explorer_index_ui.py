"""EmbeddingExplorer past 200k points in Voila + Chromium: the first frame does not wait for the k-d index, which
workers build meanwhile (js/src/embedding_explorer/spatial_index.ts); a lasso drawn before the index is there
selects once it is, exactly the points inside."""

from __future__ import annotations

import numpy as np
from matplotlib.path import Path as Polygon

from nbviz.export import fit_margin, fit_to_canvas

from .harness import lasso, ready_root, wait_for_json
from .test_embedding_explorer_ui import open_voila
from .test_explorer_interactions import edge_distance

N = 300_000

CELL = f"""
import numpy as np, nbviz
rng = np.random.default_rng(5)
labels = rng.integers(0, 4, {N})
xy = (rng.normal(size=(4, 2))[labels] * 3 + rng.normal(size=({N}, 2))).astype("float32")
ex = nbviz.EmbeddingExplorer(xy, labels=labels, point_size=2, height=420)
nbviz_probe(ex, "selection", "error")
ex
"""

# The page's Worker, wrapped so the test decides when the index workers' answers reach the view (no hook in
# nbviz: the view sets `onmessage` on the worker it makes, as it would on any browser's).
HOLD_INDEX = """
(() => {
  const Real = window.Worker;
  const held = [];
  window.__nbvizHold = true;
  window.__nbvizRelease = () => { window.__nbvizHold = false; held.splice(0).forEach((f) => f()); };
  window.Worker = function (url, options) {
    const worker = new Real(url, options);
    if (!options || options.name !== 'nbviz spatial index') return worker;
    let handler = null;
    worker.addEventListener('message', (e) => {
      window.__nbvizIndexMessages = (window.__nbvizIndexMessages || 0) + 1;
      const deliver = () => handler && handler(e);
      if (window.__nbvizHold) held.push(deliver); else deliver();
    });
    Object.defineProperty(worker, 'onmessage', { get: () => handler, set: (fn) => { handler = fn; } });
    return worker;
  };
})();
"""


def points() -> np.ndarray:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 4, N)
    return (rng.normal(size=(4, 2))[labels] * 3 + rng.normal(size=(N, 2))).astype("float32")


def test_a_lasso_before_the_index_is_built_selects_the_points_inside_once_it_is(page, voila):
    page.add_init_script(HOLD_INDEX)
    probe = open_voila(page, voila, "index_voila", [CELL])
    root = ready_root(page, timeout=180_000)
    # Drawn, and the index still held back: the first frame did not wait for it.
    assert root.get_attribute("data-nbviz-index") == "building"
    box = root.locator("canvas").first.bounding_box()
    w, h = box["width"], box["height"]
    angles = np.linspace(0, 2 * np.pi, 6)[:-1]
    poly = np.stack([w / 2 + 0.2 * w * np.cos(angles), h / 2 + 0.25 * h * np.sin(angles)], axis=1)
    lasso(page, box, poly)
    page.wait_for_timeout(500)
    assert wait_for_json(probe / "selection.json") == []  # nothing chosen from an empty index
    page.evaluate("window.__nbvizRelease()")
    page.wait_for_function("el => el.dataset.nbvizIndex === 'ready'", arg=root.element_handle(), timeout=60_000)
    assert page.evaluate("window.__nbvizIndexMessages") == 1  # built by the worker, not on the page's thread
    selection = wait_for_json(probe / "selection.json", lambda v: len(v) > 0, timeout=60)
    screen = fit_to_canvas(points(), round(w), round(h), fit_margin(2))
    inside = Polygon(poly).contains_points(screen)
    clear = edge_distance(screen, poly) > 3
    got = np.zeros(N, bool)
    got[selection] = True
    assert (got[clear] == inside[clear]).all(), f"{(got[clear] != inside[clear]).sum()} points differ"
    assert inside.sum() > 10_000
    assert wait_for_json(probe / "error.json") == ""
    assert not page.page_errors
