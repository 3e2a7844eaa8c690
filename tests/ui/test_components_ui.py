"""Components probe and compare mode in Voila + Chromium: clicks drive the explorer; images are the right ones."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from .harness import ready_root, wait_for_json
from .test_embedding_explorer_ui import open_voila

PROBE = """
import numpy as np, nbviz, ipywidgets as w
from sklearn.datasets import load_digits
from nbviz.widgets.components_view import ComponentsProbe
d = load_digits()
ex = nbviz.EmbeddingExplorer(d.data, labels=d.target, images=d.images / 16.0, method="pca", height=300, nside=1)
probe = ComponentsProbe(ex, 5, m=4)
view = probe.view()
nbviz_probe(view, "active", "error")
nbviz_probe(ex, "focus", "error")
w.VBox([ex, probe.scree_figure(), view])
"""

COMPARE = """
import numpy as np, nbviz, ipywidgets as w
from sklearn.datasets import load_digits
d = load_digits()
cmp = nbviz.EmbeddingExplorer.compare({"pixels": d.data, "half": d.data[:, ::2]}, images=d.images / 16.0,
                                      labels=d.target, k=5, height=300, nside=1, point_size=5)
a, b = cmp.explorers
nbviz_probe(b, "selection", "error", "view", "hovered")
cmp
"""


@pytest.fixture(scope="module")
def pcs():
    """Digits PC scores by a direct SVD, signs as the kernel fixes them (largest coefficient positive)."""
    x = load_digits().data.astype(np.float64)
    xc = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    vt = vt[:5] * np.sign(vt[:5][np.arange(5), np.abs(vt[:5]).argmax(axis=1)])[:, None]
    return xc @ vt.T




def test_scree_bar_and_component_click_set_the_axes(page, voila, pcs):
    probe = open_voila(page, voila, "components_axes", [PROBE])
    root = ready_root(page, ".nbviz-components")
    # The third scree bar (bqplot SVG) -> axes (PC3, PC4).
    bars = page.locator(".nbviz-scree rect.bar")
    bars.first.wait_for(timeout=60_000)
    assert bars.count() == 5
    bars.nth(2).click()
    assert wait_for_json(probe / "active.json", lambda v: v == [2, 3]) == [2, 3]
    # The explorer's points are now (PC3, PC4): read them back from the page's model through the hook.
    page.wait_for_function("el => el.querySelector('.nbviz-cv-column[data-component=\"2\"].nbviz-cv-active')",
                           arg=root.element_handle(), timeout=20_000)
    # A click on a column title shows the same pair whatever was shown before: PC5 (the last) with PC4; PC2 with
    # PC3. A shift-click puts a component on the y axis and keeps x.
    root.locator('.nbviz-cv-column[data-component="4"] .nbviz-cv-col-title').click()
    assert wait_for_json(probe / "active.json", lambda v: v == [4, 3]) == [4, 3]
    root.locator('.nbviz-cv-column[data-component="1"] .nbviz-cv-col-title').click()
    assert wait_for_json(probe / "active.json", lambda v: v == [1, 2]) == [1, 2]
    root.locator('.nbviz-cv-column[data-component="4"] .nbviz-cv-col-title').click(modifiers=["Shift"])
    assert wait_for_json(probe / "active.json", lambda v: v == [1, 4]) == [1, 4]
    assert wait_for_json(probe / "error.json") == ""


def test_extremes_columns_show_the_right_images(page, voila, pcs):
    d = load_digits()
    probe = open_voila(page, voila, "components_images", [PROBE])
    root = ready_root(page, ".nbviz-components")
    for i in (0, 3):
        col = root.locator(f'.nbviz-cv-column[data-component="{i}"]')
        order = np.lexsort((np.arange(len(pcs)), pcs[:, i]))
        high = np.lexsort((np.arange(len(pcs)), -pcs[:, i]))[:4].tolist()
        for end, expected in (("high", high), ("low", order[:4].tolist())):
            tiles = col.locator(f".nbviz-cv-{end} .nbviz-cv-item")
            assert [int(t.get_attribute("data-index")) for t in tiles.all()] == expected
            img = tiles.first.locator("img")
            page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=20_000)
            # The pixels: the 64 px PNG is the 8x8 digit upscaled; sample the centre of each 8 px block.
            grey = img.evaluate("""i => { const c = document.createElement('canvas'); c.width = c.height = 64;
                const g = c.getContext('2d'); g.drawImage(i, 0, 0); const px = g.getImageData(0, 0, 64, 64).data;
                const out = []; for (let y = 4; y < 64; y += 8) for (let x = 4; x < 64; x += 8)
                out.push(px[(y * 64 + x) * 4]); return out; }""")
            want = np.round(d.images[expected[0]] / 16.0 * 255).reshape(-1)
            assert np.abs(np.array(grey) - want).max() <= 2
    # A click on an image focuses that item in the explorer.
    first = root.locator('.nbviz-cv-column[data-component="0"] .nbviz-cv-high .nbviz-cv-item').first
    target = int(first.get_attribute("data-index"))
    assert wait_for_json(probe / "focus.json") == -1  # nothing focused before the click
    first.click()
    assert wait_for_json(probe / "focus.json", lambda v: v == target) == target


def test_compare_links_the_selection(page, voila):
    probe = open_voila(page, voila, "components_compare", [COMPARE])
    roots = page.locator('.nbviz-embedding[data-nbviz-ready="true"]')
    roots.nth(1).wait_for(timeout=120_000)
    left = roots.nth(0)
    left.scroll_into_view_if_needed()
    box = left.locator("canvas").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
    x1, y1 = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.7
    page.keyboard.down("Shift")
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0)):
        page.mouse.move(x, y, steps=10)
    page.mouse.up()
    page.keyboard.up("Shift")
    selection = wait_for_json(probe / "selection.json", lambda v: len(v) > 0)
    # The right explorer (linked in Python) shows the same selection as its view.
    page.wait_for_function("([el, n]) => el.nbviz.selectedCount === n",
                           arg=[roots.nth(1).element_handle(), len(selection)], timeout=20_000)
    assert page.locator(".nbviz-cv-table .nbviz-cv-row").count() == 50
    assert wait_for_json(probe / "error.json") == ""


def test_compare_links_zoom_and_hover_in_the_browser(page, voila):
    probe = open_voila(page, voila, "components_compare_view", [COMPARE])
    roots = page.locator('.nbviz-embedding[data-nbviz-ready="true"]')
    roots.nth(1).wait_for(timeout=120_000)
    left, right = roots.nth(0).element_handle(), roots.nth(1).element_handle()
    roots.nth(0).scroll_into_view_if_needed()
    fitted = page.evaluate("el => el.nbviz.camera", right)
    box = roots.nth(0).locator("canvas.nbviz-scatter").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    for _ in range(2):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(80)
    # The right view follows in the browser (jslink) to the left's camera, zoomed in from its own fit.
    page.wait_for_function(
        "([a, b]) => { const p = a.nbviz.camera, q = b.nbviz.camera;"
        " return p && q && Math.abs(p[2] - q[2]) < 1e-6 && Math.hypot(p[0] - q[0], p[1] - q[1]) < 1e-6; }",
        arg=[left, right], timeout=20_000)
    zoomed = page.evaluate("el => el.nbviz.camera", right)
    assert zoomed[2] < 0.8 * fitted[2]
    view = wait_for_json(probe / "view.json", lambda v: len(v) == 3 and abs(v[2] - zoomed[2]) < 1e-6)
    assert view[2] < fitted[2]

    # Hovering a point on the left rings the same item on the right (overlay pixels) and sets `hovered`.
    item = page.evaluate("""([a, b, w, h]) => {
        const n = a.nbviz.pointCount, pa = [], pb = [];
        for (let i = 0; i < n; i++) { pa.push(a.nbviz.screenPosition(i)); pb.push(b.nbviz.screenPosition(i)); }
        // In view, and not under the colour bar (top right).
        const inside = (p) => p && p[0] > 20 && p[1] > 40 && p[0] < 0.55 * w && p[1] < h - 20;
        for (let i = 0; i < n; i++) {
          if (!inside(pa[i]) || !inside(pb[i])) continue;
          // Alone within 7 px on the left, so the hover can only be this item.
          let alone = true;
          for (let j = 0; j < n && alone; j++)
            if (j !== i && pa[j] && Math.hypot(pa[j][0] - pa[i][0], pa[j][1] - pa[i][1]) < 7) alone = false;
          if (alone) return i;
        }
        return -1; }""", [left, right, box["width"], box["height"]])
    assert item >= 0
    x, y = page.evaluate("([el, i]) => el.nbviz.screenPosition(i)", [left, item])
    page.mouse.move(box["x"] + x + 15, box["y"] + y + 15)
    page.mouse.move(box["x"] + x, box["y"] + y, steps=5)
    wait_for_json(probe / "hovered.json", lambda v: v == item)
    ring = page.wait_for_function("""([b, i]) => {
        const c = b.querySelector('canvas.nbviz-overlay'), [x, y] = b.nbviz.screenPosition(i);
        const d = window.devicePixelRatio || 1, r = 20;
        const px = c.getContext('2d').getImageData((x - r) * d, (y - r) * d, 2 * r * d, 2 * r * d).data;
        let opaque = 0; for (let k = 3; k < px.length; k += 4) if (px[k] > 100) opaque++;
        return opaque > 20 && opaque; }""", arg=[right, item], timeout=10_000).json_value()
    assert ring > 20  # the ring around the item hovered on the left, drawn on the right
