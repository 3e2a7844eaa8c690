"""TripletSpace in Voila + Chromium: a click picks the anchor, the margin band is painted, the slider re-classifies in
the browser and Python's margin follows on release."""

from __future__ import annotations

from .harness import color_fraction, pixels, ready_root, wait_for_json
from .test_embedding_explorer_ui import open_voila

CELL = """
import nbviz
from sklearn.datasets import load_digits
d = load_digits()
ts = nbviz.TripletSpace(d.data / 16.0, d.target, margin=0.5, max_margin=2.0, height=320)
nbviz_probe(ts, "anchor", "margin", "counts", "error")
ts
"""

#: An item alone within a few pixels of the scatter, so a click there can only pick it.
LONE_POINT = """el => { const h = el.nbviz, out = [];
  for (let i = 0; h.screenPosition(i); i++) out.push(h.screenPosition(i));
  for (let i = 0; i < out.length; i++) {
    const [x, y] = out[i];
    if (x < 20 || y < 20) continue;
    if (out.every(([u, v], j) => j === i || Math.hypot(u - x, v - y) > 6)) return i;
  }
  return -1; }"""


def click_anchor(page, root) -> int:
    item = root.evaluate(LONE_POINT)
    assert item >= 0
    x, y = root.evaluate("(el, i) => el.nbviz.screenPosition(i)", item)
    box = root.locator("canvas.nbviz-ts-scatter").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    return item


def test_click_picks_the_anchor_and_the_band_is_painted(page, voila):
    probe = open_voila(page, voila, "triplets_anchor", [CELL])
    root = ready_root(page, ".nbviz-triplets")
    assert wait_for_json(probe / "anchor.json") == -1
    item = click_anchor(page, root)
    assert wait_for_json(probe / "anchor.json", lambda v: v == item) == item
    # The anchor's distances come back from Python and the distance axis is drawn with the band.
    page.wait_for_function("el => el.nbviz.strip !== null", arg=root.element_handle(), timeout=30_000)
    assert f"anchor #{item}" in root.locator(".nbviz-ts-anchor").inner_text()
    strip = root.evaluate("el => el.nbviz.strip")
    band, gap = strip["band"], strip["gap"]
    assert band["x1"] - band["x0"] > 8
    box = root.locator("canvas.nbviz-ts-strip").bounding_box()
    inside = pixels(page, {"x": box["x"] + band["x0"] + 3, "y": box["y"] + gap["y0"] + 1,
                           "width": band["x1"] - band["x0"] - 6, "height": gap["y1"] - gap["y0"] - 2})
    # Semi-hard orange (tab10 #ff7f0e) at 30 % over the white page.
    assert color_fraction(inside, (255, 217, 183), tol=12) > 0.9
    left = max(box["x"] + 42, box["x"] + band["x0"] - 30)
    outside = pixels(page, {"x": left, "y": box["y"] + gap["y0"] + 1, "width": 20, "height": gap["y1"] - gap["y0"] - 2})
    assert color_fraction(outside, (255, 217, 183), tol=12) < 0.1
    assert wait_for_json(probe / "error.json") == ""
    assert not page.page_errors


def test_the_slider_reclassifies_in_the_browser_and_python_follows_on_release(page, voila):
    probe = open_voila(page, voila, "triplets_margin", [CELL])
    root = ready_root(page, ".nbviz-triplets")
    exact = wait_for_json(probe / "counts.json", lambda v: bool(v))
    counts = root.locator(".nbviz-ts-counts")
    before = counts.inner_text()
    assert not before.startswith("\u2248") and f"{exact['hard']:,}" in before
    slider = root.locator("input.nbviz-ts-margin")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    # margin 0.5 of max 2.0: a quarter of the way along (the thumb is ~16 px wide).
    start = box["x"] + 8 + (box["width"] - 16) * 0.25
    page.mouse.move(start, y)
    page.mouse.down()
    page.mouse.move(start + (box["width"] - 16) * 0.3, y, steps=8)
    # Still held: the view re-classified by itself, and Python has not heard of it.
    page.wait_for_function("([el, t]) => el.querySelector('.nbviz-ts-counts').textContent !== t",
                           arg=[root.element_handle(), before], timeout=10_000)
    during = counts.inner_text()
    assert during.startswith("\u2248") and during != before
    shown = root.evaluate("el => el.nbviz.margin")
    assert shown > 0.7
    page.wait_for_timeout(500)
    assert wait_for_json(probe / "margin.json") == 0.5
    page.mouse.up()
    margin = wait_for_json(probe / "margin.json", lambda v: v != 0.5)
    assert abs(margin - shown) < 0.05
    final = wait_for_json(probe / "counts.json", lambda v: v != exact)
    assert final["hard"] == exact["hard"] and final["semi_hard"] > exact["semi_hard"]
    page.wait_for_function("el => !el.querySelector('.nbviz-ts-counts').textContent.startsWith('\u2248')",
                           arg=root.element_handle(), timeout=20_000)
    assert f"{final['semi_hard']:,}" in counts.inner_text()
    assert wait_for_json(probe / "error.json") == ""
    assert not page.page_errors
