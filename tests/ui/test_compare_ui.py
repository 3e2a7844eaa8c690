"""compare() of three sets in Voila + Chromium: three titled plots in one grid row, and a click in one focuses the
item in all three (read back from Python)."""

from __future__ import annotations

import numpy as np

from .harness import pixels, wait_for_json
from .test_embedding_explorer_ui import open_voila

NAMES = ["pixels", "half", "noisy"]

COMPARE3 = """
import numpy as np, nbviz
from sklearn.datasets import load_digits
d = load_digits()
x = d.data[:900]
noisy = x + np.random.default_rng(0).normal(0, 2.0, x.shape)
cmp = nbviz.EmbeddingExplorer.compare({"pixels": x, "half": x[:, ::2].copy(), "noisy": noisy}, labels=d.target[:900],
                                      k=5, height=280, nside=1, point_size=5)
for i, ex in enumerate(cmp.explorers):
    nbviz_probe.func(ex, "focus", "error", folder=f"{nbviz_probe.keywords['folder']}/ex{i}")
cmp
"""

# An item alone within 9 px in the plot, inside it and away from the colour bar (top right): a click hits only it.
ALONE = """(el) => {
    const n = el.nbviz.pointCount, c = el.querySelector('canvas.nbviz-scatter'), w = c.clientWidth,
      h = c.clientHeight, p = [];
    for (let i = 0; i < n; i++) p.push(el.nbviz.screenPosition(i));
    const inside = (q) => q && q[0] > 20 && q[1] > 40 && q[0] < 0.7 * w && q[1] < h - 20;
    for (let i = 0; i < n; i++) {
      if (!inside(p[i])) continue;
      let alone = true;
      for (let j = 0; j < n && alone; j++)
        if (j !== i && p[j] && Math.hypot(p[j][0] - p[i][0], p[j][1] - p[i][1]) < 9) alone = false;
      if (alone) return i;
    }
    return -1; }"""

# Opaque overlay pixels within 20 px of an item: its focus ring.
RING = """([el, i]) => {
    const c = el.querySelector('canvas.nbviz-overlay'), [x, y] = el.nbviz.screenPosition(i);
    const d = window.devicePixelRatio || 1, r = 20;
    const px = c.getContext('2d').getImageData((x - r) * d, (y - r) * d, 2 * r * d, 2 * r * d).data;
    let opaque = 0; for (let k = 3; k < px.length; k += 4) if (px[k] > 100) opaque++;
    return opaque > 20 && opaque; }"""


def test_three_set_compare_shows_titled_plots_and_links_the_focus(page, voila):
    probe = open_voila(page, voila, "compare_three", [COMPARE3])
    roots = page.locator('.nbviz-embedding[data-nbviz-ready="true"]')
    roots.nth(2).wait_for(timeout=180_000)
    assert roots.count() == 3
    grid = page.locator(".nbviz-panel-grid").first
    grid.scroll_into_view_if_needed()

    # Three plots, each under its title, side by side in one row (the grid of up to three a row at 1200 px).
    titles = grid.locator(":scope > .nbviz-panel-slot > .nbviz-panel-title")
    assert titles.all_inner_texts() == NAMES
    plots = [roots.nth(i).locator("canvas.nbviz-scatter").bounding_box() for i in range(3)]
    heads = [titles.nth(i).bounding_box() for i in range(3)]
    for head, box in zip(heads, plots, strict=True):
        assert box["width"] > 250 and box["height"] > 200
        assert head["y"] + head["height"] <= box["y"] + 1 and abs(head["x"] - box["x"]) < 12
    assert max(b["y"] for b in plots) - min(b["y"] for b in plots) < 2
    assert plots[0]["x"] + plots[0]["width"] <= plots[1]["x"] and plots[1]["x"] + plots[1]["width"] <= plots[2]["x"]
    # Each shows its points: many coloured pixels (agreement colours, viridis) on the plain background.
    for box in plots:
        img = pixels(page, box).astype(int)
        coloured = (img.max(axis=-1) - img.min(axis=-1)) > 60
        assert coloured.mean() > 0.01, coloured.mean()

    # The statistics read as a table: each value in its own column, clear of its name ("mean agreement  0.078").
    gaps = page.evaluate("""() => [...document.querySelectorAll('.nbviz-cv-summary-name')].map(n => {
        const v = n.nextElementSibling.getBoundingClientRect(), r = n.getBoundingClientRect();
        return [n.textContent, v.left - r.right, Math.abs(v.top - r.top)]; })""")
    assert any(name == "mean agreement" for name, _, _ in gaps), gaps
    assert all(gap >= 8 and dy < 4 for _, gap, dy in gaps), gaps

    # A click on an item in the middle plot focuses it in all three explorers (Python traits).
    middle = roots.nth(1)
    item = middle.evaluate(ALONE)
    assert item >= 0
    for i in range(3):
        assert wait_for_json(probe / f"ex{i}" / "focus.json") == -1
    x, y = middle.evaluate("(el, i) => el.nbviz.screenPosition(i)", item)
    box = plots[1]
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.mouse.click(box["x"] + x, box["y"] + y)
    focus = [wait_for_json(probe / f"ex{i}" / "focus.json", lambda v: v != -1) for i in range(3)]
    assert focus == [item] * 3
    # The other two plots ring the item where it lies in their own layout.
    for i in (0, 2):
        ring = page.wait_for_function(RING, arg=[roots.nth(i).element_handle(), item], timeout=20_000).json_value()
        assert ring > 20
    assert [wait_for_json(probe / f"ex{i}" / "error.json") for i in range(3)] == [""] * 3
    assert not page.page_errors
    assert np.isfinite(focus).all()
