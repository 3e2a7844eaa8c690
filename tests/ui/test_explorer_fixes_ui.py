"""EmbeddingExplorer in Voila + Chromium, the view's own words and what it leaves behind: the neighbours follow the
layout slider, no focus ring on a hidden point, no tooltip after a zoom, a colour-by menu, a title line."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from .harness import around, color_fraction, pixels, ready_root, screen_point, wait_for_json
from .test_embedding_explorer_ui import FOCUS_RGB, click_point, open_voila

SETS = """
import numpy as np, nbviz
from sklearn.datasets import load_digits
d = load_digits()
x = d.data[:300]
ex = nbviz.EmbeddingExplorer({"raw": x, "top half": x[:, :32]}, labels=d.target[:300], method="pca", nside=2,
                             clusters=4, color_by="label", metadata={"ink": x.sum(1)}, point_size=5, height=420)
nbviz_probe(ex, "focus", "layout_index", "hidden_categories", "color_source", "color_title", "error")
ex
"""


def brute_force(x: np.ndarray, i: int, k: int) -> list[int]:
    d = np.linalg.norm(x - x[i], axis=1)
    d[i] = np.inf
    return np.lexsort((np.arange(len(x)), d))[:k].tolist()


def test_neighbours_follow_the_layout_slider_and_the_title_says_what_is_plotted(page, voila):
    x = load_digits().data[:300]
    probe = open_voila(page, voila, "fix_neighbors_voila", [SETS])
    root = ready_root(page)
    title = root.locator(".nbviz-plot-title")
    assert title.inner_text() == "PCA (PC1 × PC2) of 64-D features · 300 points"
    target = 7
    click_point(page, root, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1) == target
    tiles = root.locator(f'.nbviz-neighbors[data-for="{target}"] .nbviz-neighbor')
    tiles.first.wait_for(timeout=20_000)
    shown = lambda: [int(t.get_attribute("data-index")) for t in tiles.all()]  # noqa: E731
    assert shown() == [target, *brute_force(x, target, 3)]
    root.locator(".nbviz-layout-slider").fill("1")
    assert wait_for_json(probe / "layout_index.json", lambda v: v == 1) == 1
    page.wait_for_function("() => document.querySelector('.nbviz-plot-title').textContent.includes('32-D')")
    expected = [target, *brute_force(x[:, :32], target, 3)]
    assert expected != [target, *brute_force(x, target, 3)]  # the case tells the two sets apart
    page.wait_for_function(
        "want => [...document.querySelectorAll('.nbviz-neighbors .nbviz-neighbor')].map(t => +t.dataset.index)"
        ".join() === want.join()", arg=expected, timeout=20_000)
    assert not page.page_errors


def test_no_focus_ring_on_a_hidden_point_and_no_tooltip_after_a_zoom(page, voila):
    probe = open_voila(page, voila, "fix_ring_voila", [SETS])
    root = ready_root(page)
    target = 7  # digit 7
    click_point(page, root, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1) == target
    page.mouse.move(5, 5)  # off the plot: no hover ring or tooltip in the way
    x, y = screen_point(page, root, target)
    page.wait_for_timeout(300)
    assert color_fraction(pixels(page, around(x, y, 16)), FOCUS_RGB) > 0.03
    root.locator('.nbviz-legend li[data-code="7"]').click()
    assert wait_for_json(probe / "hidden_categories.json", lambda v: v != []) == [7]
    page.wait_for_timeout(400)
    assert color_fraction(pixels(page, around(x, y, 16)), FOCUS_RGB) == 0.0
    assert wait_for_json(probe / "focus.json") == target  # still the focus: shown again when its class is

    # Hover a visible point: the tooltip shows; a wheel zoom moves the points away from under it: it goes.
    other = 0  # digit 0
    ox, oy = screen_point(page, root, other)
    page.mouse.move(ox, oy)
    tip = root.locator(".nbviz-tooltip")
    tip.wait_for(state="visible", timeout=10_000)
    fitted = root.evaluate("el => el.nbviz.camera")
    page.mouse.wheel(0, -400)
    tip.wait_for(state="hidden", timeout=5_000)

    # "Reset view" sits in the toolbar (over the plot it hid the points in its corner) and fits the view again.
    reset = root.locator(".nbviz-toolbar .nbviz-reset")
    plot = root.locator("canvas").first.bounding_box()
    button = reset.bounding_box()
    assert button["y"] + button["height"] <= plot["y"]
    page.wait_for_function("([el, c]) => el.nbviz.camera[2] !== c[2]", arg=[root.element_handle(), fitted])
    reset.click()
    page.wait_for_function("([el, c]) => el.nbviz.camera.every((v, i) => Math.abs(v - c[i]) < 1e-6)",
                           arg=[root.element_handle(), fitted], timeout=10_000)
    assert not page.page_errors


def test_the_colour_by_menu_recolours_from_the_view(page, voila):
    probe = open_voila(page, voila, "fix_color_by_voila", [SETS])
    root = ready_root(page)
    menu = root.locator(".nbviz-color-by-select")
    assert menu.locator("option").all_text_contents() == ["label", "cluster", "ink"]
    assert wait_for_json(probe / "color_source.json") == "label"
    menu.select_option("cluster")
    assert wait_for_json(probe / "color_source.json", lambda v: v != "label") == "cluster"
    assert wait_for_json(probe / "color_title.json", lambda v: v == "cluster") == "cluster"
    # By the page, not by `root`: that locator looks for a ready root, and a recolour redraws (not ready meanwhile).
    page.wait_for_function("() => document.querySelectorAll('.nbviz-legend li').length === 4")
    page.wait_for_timeout(300)
    assert page.locator(".nbviz-legend li").count() == 4  # and stays
    menu.select_option("column:ink")
    assert wait_for_json(probe / "color_title.json", lambda v: v == "ink") == "ink"
    root.locator(".nbviz-colorbar").wait_for(state="visible", timeout=10_000)  # ink: many values, a colour bar
    assert wait_for_json(probe / "error.json") == ""
    assert not page.page_errors
