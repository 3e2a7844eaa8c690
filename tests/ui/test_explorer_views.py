"""EmbeddingExplorer views in Voila on digits: hover tooltip, background projection, box selection, colour bar,
layout slider."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import colormaps
from sklearn.datasets import load_digits

from nbviz.export import fit_margin, fit_to_canvas

from .harness import pixels, ready_root, screen_point, wait_for_json
from .test_embedding_explorer_ui import open_voila
from .test_explorer_interactions import DIGITS, sparse_point


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    from sklearn.decomposition import PCA

    return d, PCA(2).fit_transform(d.data.astype("float32"))


def canvas_layout(page, root) -> np.ndarray:
    """Every point's position in canvas CSS px, as the live view draws it."""
    return np.array(root.evaluate(
        "el => Array.from({length: el.nbviz.pointCount}, (_, i) => el.nbviz.screenPosition(i))"))


def test_hover_shows_index_label_metadata_and_image(page, voila, digits):
    d, layout = digits
    cells = [DIGITS.replace("method=\"pca\",", "method=\"pca\", metadata={'note': ['<b>n%d</b>' % i for i in "
                                               "range(len(d.target))]},")]
    open_voila(page, voila, "hover_voila", cells)
    root = ready_root(page)
    target = sparse_point(layout)
    x, y = screen_point(page, root, target)
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=5)
    tip = root.locator(".nbviz-tooltip")
    tip.locator(".nbviz-tooltip-item img").wait_for(timeout=20_000)
    text = tip.inner_text()
    assert f"#{target}" in text and str(d.target[target]) in text
    # Metadata is user text: the tags show as text, nothing is parsed into elements.
    assert f"<b>n{target}</b>" in text and tip.locator("b").count() == 0
    assert tip.locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
    page.mouse.move(5, 5)
    tip.wait_for(state="hidden", timeout=10_000)


def test_background_tsne_shows_progress_then_moves_points(page, voila, digits):
    d, _ = digits
    cells = [DIGITS.replace('method="pca",', 'method="tsne", method_kwargs={"perplexity": 30, "n_iter": 700},')
             .replace('"focus",', '"focus", "progress",')]
    probe = open_voila(page, voila, "tsne_voila", cells)
    root = ready_root(page)  # the PCA picture comes first
    bar = root.locator(".nbviz-progress")
    bar.wait_for(state="visible", timeout=60_000)
    assert "t-SNE" in bar.inner_text()
    wait_for_json(probe / "progress.json", lambda v: v < 0, timeout=240)
    bar.wait_for(state="hidden", timeout=30_000)
    page.wait_for_timeout(1000)  # the points' animation to the new layout
    # The view no longer shows the PCA layout it started with.
    shown = canvas_layout(page, root)
    box = root.locator("canvas").first.bounding_box()
    from sklearn.decomposition import PCA

    pca = fit_to_canvas(PCA(2).fit_transform(d.data.astype("float32")), round(box["width"]), round(box["height"]))
    assert np.abs(shown - pca).max() > 50, "the points did not move away from the PCA layout"


def test_box_tool_selects_the_points_in_the_rectangle(page, voila, digits):
    _, layout = digits
    probe = open_voila(page, voila, "box_voila", [DIGITS])
    root = ready_root(page)
    root.locator("button.nbviz-tool-box").click()
    box = root.locator("canvas").first.bounding_box()
    x0, y0, x1, y1 = 0.3 * box["width"], 0.25 * box["height"], 0.7 * box["width"], 0.6 * box["height"]
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    page.mouse.move(box["x"] + x1, box["y"] + y1, steps=15)
    page.mouse.up()
    selection = wait_for_json(probe / "selection.json", lambda v: len(v) > 0)
    screen = fit_to_canvas(layout, round(box["width"]), round(box["height"]), fit_margin(5))
    inside = (screen[:, 0] > x0) & (screen[:, 0] < x1) & (screen[:, 1] > y0) & (screen[:, 1] < y1)
    margin = np.minimum.reduce([np.abs(screen[:, 0] - x0), np.abs(screen[:, 0] - x1),
                                np.abs(screen[:, 1] - y0), np.abs(screen[:, 1] - y1)])
    clear = margin > 2
    got = np.zeros(len(layout), bool)
    got[selection] = True
    assert (got[clear] == inside[clear]).all(), f"{(got[clear] != inside[clear]).sum()} points differ"
    assert inside.sum() > 50


def test_values_get_a_colour_bar_and_their_colormap_colours(page, voila, digits):
    d, layout = digits
    cells = [DIGITS.replace('method="pca",', 'method="pca", colors=d.data[:, 42], colormap="viridis",')
             .replace("point_size=5", "point_size=9")]
    open_voila(page, voila, "values_voila", cells)
    root = ready_root(page)
    bar = root.locator(".nbviz-colorbar")
    bar.wait_for(state="visible", timeout=20_000)
    assert root.locator(".nbviz-legend").is_hidden()
    values = d.data[:, 42]
    # The isolated point's centre pixel has the viridis colour of its value (scaled to the data's range).
    target = sparse_point(layout)
    x, y = screen_point(page, root, target)
    rgb = pixels(page, {"x": x - 1, "y": y - 1, "width": 2, "height": 2}).reshape(-1, 3).mean(axis=0)
    t = (values[target] - values.min()) / (values.max() - values.min())
    expected = np.array(colormaps["viridis"](t)[:3]) * 255
    assert np.abs(rgb - expected).max() < 40, (rgb, expected, t)


def test_layout_slider_switches_feature_sets(page, voila):
    cells = ["""
import numpy as np, nbviz
from sklearn.datasets import load_digits
d = load_digits()
ex = nbviz.EmbeddingExplorer({"raw": d.data[:300], "squared": d.data[:300] ** 2}, labels=d.target[:300],
                             method="pca", height=460)
nbviz_probe(ex, "layout_index", "error")
ex
"""]
    probe = open_voila(page, voila, "layouts_voila", cells)
    root = ready_root(page)
    slider = root.locator(".nbviz-layout-slider")
    assert root.locator(".nbviz-layout-name").inner_text() == "raw"
    before = canvas_layout(page, root)
    slider.fill("1")
    assert wait_for_json(probe / "layout_index.json", lambda v: v == 1) == 1
    assert root.locator(".nbviz-layout-name").inner_text() == "squared"
    page.wait_for_timeout(1000)  # the animation
    after = canvas_layout(page, root)
    assert np.abs(after - before).max() > 50


VALUE_GRID = """
import numpy as np, nbviz
side = 17
xy = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2).astype("float32")
# Values where the old Python rule round(v * 255) and the browser's floor(v * 256) pick different entries, the two
# ends (so the range is [0, 1] as given), and missing values.
raw = (np.arange(side * side) % 256 + 0.6) / 256
raw[0], raw[255], raw[256], raw[-1] = 0.0, 1.0, np.nan, np.nan
ex = nbviz.EmbeddingExplorer(xy, colors=raw, colormap="viridis", method=None, point_size=16, height=560)
nbviz_probe(ex, "error")
ex
"""


def test_the_png_paints_each_value_the_colour_the_view_draws(page, voila):
    """Colour by value: the live view's colour at each point's centre, and the PNG's, are the one LUT entry that
    nbviz.display.value_colors picks (floor(v * 256); missing values grey) - checked on values where another
    rounding would pick the neighbouring entry."""
    import io

    from PIL import Image

    import nbviz
    from nbviz.display import MISSING_RGBA, value_colors

    side = 17
    xy = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2).astype("float32")
    raw = (np.arange(side * side) % 256 + 0.6) / 256
    raw[0], raw[255], raw[256], raw[-1] = 0.0, 1.0, np.nan, np.nan
    ex = nbviz.EmbeddingExplorer(xy, colors=raw, colormap="viridis", method=None, point_size=16, height=560)
    expected = value_colors(ex.values, ex.colormap_lut)[:, :3].astype(int)
    old_rule = np.asarray(ex.colormap_lut)[np.clip(np.round(np.nan_to_num(ex.values) * 255).astype(int), 0, 255), :3]
    assert (np.abs(old_rule.astype(int) - expected).max(axis=1) > 0).sum() > 40  # the case tells the rules apart
    assert (expected[[256, -1]] == MISSING_RGBA[:3]).all()

    open_voila(page, voila, "value_colours_voila", [VALUE_GRID])
    root = ready_root(page)
    box = root.locator("canvas").first.bounding_box()
    shot = pixels(page, {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}).astype(int)
    live = np.array([shot[int(round(y)), int(round(x))] for x, y in canvas_layout(page, root)])
    # Exact: regl-scatterplot's float colour is byte/255, written back to the same byte; a tolerance of 1 would
    # let through most neighbouring viridis entries (145 of 255 adjacent pairs differ by 1).
    off = np.abs(live - expected).max(axis=1)
    assert off.max() == 0, (np.flatnonzero(off > 0)[:10], live[off > 0][:5], expected[off > 0][:5])

    width, height = round(box["width"]), round(box["height"])
    png = np.asarray(Image.open(io.BytesIO(ex.to_png(width, height, legend=False))).convert("RGB")).astype(int)
    at = np.rint(fit_to_canvas(np.asarray(ex.points), width, height, fit_margin(16))).astype(int)
    painted = png[at[:, 1], at[:, 0]]
    assert (painted == expected).all(), np.flatnonzero((painted != expected).any(axis=1))[:10]
