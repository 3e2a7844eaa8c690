"""EmbeddingExplorer interactions in Voila on scikit-learn's digits: neighbours, lasso, selection, legend."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as Polygon
from sklearn.datasets import load_digits

from nbviz.export import fit_margin, fit_to_canvas

from .harness import around, lasso, pixels, ready_root, screen_point, wait_for_json
from .test_embedding_explorer_ui import click_point, open_voila

DIGITS = """
import numpy as np, nbviz
from sklearn.datasets import load_digits
d = load_digits()
ex = nbviz.EmbeddingExplorer(d.data, labels=d.target, images=d.images / 16.0, method="pca", nside=3,
                             point_size=5, height=500)
nbviz_probe(ex, "focus", "selection", "hidden_categories", "error")
ex
"""


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    from sklearn.decomposition import PCA

    return d, PCA(2).fit_transform(d.data.astype("float32"))


def brute_force_neighbors(x, i, k):
    d = np.linalg.norm(x - x[i], axis=1)
    d[i] = np.inf
    return np.lexsort((np.arange(len(x)), d))[:k].tolist()


def edge_distance(points, poly):
    """Distance of each point to the nearest edge of a closed polygon."""
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    t = np.clip(((points[:, None] - a) * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
    return np.linalg.norm(points[:, None] - (a + t[..., None] * ab), axis=-1).min(axis=1)


def sparse_point(layout):
    d = np.linalg.norm(layout[:, None] - layout[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return int(d.min(axis=1).argmax())


def test_click_shows_the_nearest_neighbours_and_refocuses(page, voila, digits):
    d, layout = digits
    probe = open_voila(page, voila, "neighbors_voila", [DIGITS])
    root = ready_root(page)
    target = sparse_point(layout)
    click_point(page, root, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1) == target
    panel = root.locator(f'.nbviz-neighbors[data-for="{target}"]')
    panel.wait_for(timeout=20_000)
    shown = [int(t.get_attribute("data-index")) for t in panel.locator(".nbviz-neighbor").all()]
    assert shown == [target] + brute_force_neighbors(d.data, target, 8)
    # Every tile shows its image, decoded.
    assert panel.locator("img").evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")
    # Clicking a neighbour moves the focus there, and the grid follows.
    second = shown[1]
    panel.locator(".nbviz-neighbor").nth(1).click()
    assert wait_for_json(probe / "focus.json", lambda v: v != target) == second
    root.locator(f'.nbviz-neighbors[data-for="{second}"]').wait_for(timeout=20_000)


def test_lasso_selects_exactly_the_points_inside(page, voila, digits):
    d, layout = digits
    probe = open_voila(page, voila, "lasso_voila", [DIGITS])
    root = ready_root(page)
    box = root.locator("canvas").first.bounding_box()
    w, h = box["width"], box["height"]
    # A pentagon around the middle of the plot, in canvas pixels.
    angles = np.linspace(0, 2 * np.pi, 6)[:-1]
    poly = np.stack([w / 2 + 0.22 * w * np.cos(angles), h / 2 + 0.3 * h * np.sin(angles)], axis=1)
    lasso(page, box, poly)
    selection = wait_for_json(probe / "selection.json", lambda v: len(v) > 0)
    # Geometric test on the layout Python holds (ex.embedding), mapped to the canvas like the live view.
    screen = fit_to_canvas(layout, round(w), round(h), fit_margin(5))
    inside = Polygon(poly).contains_points(screen)
    # The lasso is sampled from mouse moves: only points within 3 px of an edge may go either way.
    clear = edge_distance(screen, poly) > 3
    got = np.zeros(len(layout), bool)
    got[selection] = True
    assert (got[clear] == inside[clear]).all(), f"{(got[clear] != inside[clear]).sum()} points differ"
    assert inside.sum() > 100 and clear.mean() > 0.9
    assert f"{len(selection)} selected" in root.locator(".nbviz-selection-count").inner_text().replace(",", "")


def test_selection_from_python_is_visible(page, voila, digits):
    d, layout = digits
    target = sparse_point(layout)
    cells = [DIGITS.replace("ex\n", f"ex.selection = [{target}]\nex\n")]
    open_voila(page, voila, "pyselect_voila", cells)
    root = ready_root(page)
    page.wait_for_function("el => el.nbviz.selectedCount === 1", arg=root.element_handle(), timeout=20_000)
    # A selected point gets a dark outline ring; an unselected one (of any palette colour) has no dark pixels.
    dark = lambda img: (img.max(axis=-1) < 70).mean()  # noqa: E731
    x, y = screen_point(page, root, target)
    assert dark(pixels(page, around(x, y, 7))) > 0.05
    other = sparse_point(np.delete(layout, target, axis=0))
    other += other >= target
    ox, oy = screen_point(page, root, int(other))
    assert dark(pixels(page, around(ox, oy, 7))) == 0


def test_legend_click_hides_and_double_click_isolates(page, voila, digits):
    probe = open_voila(page, voila, "legend_voila", [DIGITS])
    root = ready_root(page)
    box = root.locator("canvas").first.bounding_box()
    before = pixels(page, box)
    root.locator('.nbviz-legend li[data-code="3"]').click()
    assert wait_for_json(probe / "hidden_categories.json", lambda v: v != []) == [3]
    root.locator('.nbviz-legend li[data-code="5"]').dblclick()
    assert wait_for_json(probe / "hidden_categories.json", lambda v: v != [3]) == [c for c in range(10) if c != 5]
    page.wait_for_timeout(400)
    after = pixels(page, box)
    # Only one class left: far fewer drawn pixels than before.
    drawn = lambda img: (np.abs(img.astype(int) - img[2, 2]).max(axis=-1) > 40).mean()  # noqa: E731
    assert drawn(after) < 0.4 * drawn(before)


def test_labelling_selection_writes_files(page, voila, tmp_path):
    label_dir = tmp_path / "labels"
    cells = [DIGITS.replace('height=500)', f'height=500, label_dir={str(label_dir)!r})')
             .replace("ex\n", "ex.selection = [1, 11, 21]\nex\n")]
    open_voila(page, voila, "label_voila", cells)
    root = ready_root(page)
    root.locator(".nbviz-label-input").fill("ones")
    root.locator(".nbviz-label-selection").click()
    root.locator(".nbviz-label-status").filter(has_text="labelled 3 as ones").wait_for(timeout=20_000)
    assert sorted(p.name for p in (label_dir / "ones").iterdir()) == ["000001.png", "000011.png", "000021.png"]
    rows = (label_dir / "annotations.csv").read_text().splitlines()[1:]
    assert [r.split(",")[:2] for r in rows] == [["1", "ones"], ["11", "ones"], ["21", "ones"]]
    # An unsafe label is refused where the user typed it, and nothing is written.
    root.locator(".nbviz-label-input").fill("../escape")
    root.locator(".nbviz-label-selection").click()
    root.locator(".nbviz-label-status").filter(has_text="not a safe file name").wait_for(timeout=20_000)
    assert not (tmp_path / "escape").exists()


def test_thumbnails_show_the_points_images_and_follow_the_view(page, voila, digits):
    d, layout = digits
    size = 32
    cells = [DIGITS.replace("point_size=5,", f"point_size=5, thumbnails=True, thumbnail_size={size}, "
                                             "max_thumbnails=40,")]
    open_voila(page, voila, "thumbs_voila", cells)
    root = ready_root(page)
    thumbs = root.locator("canvas.nbviz-thumbnails")
    page.wait_for_function("c => Number(c.dataset.count) > 0", arg=thumbs.element_handle(), timeout=30_000)
    shown = [int(i) for i in thumbs.get_attribute("data-indices").split()]
    assert 0 < len(shown) <= 40
    # Take a thumbnail that no other one overlaps and compare its pixels with the digit itself.
    centres = np.array([screen_point(page, root, i) for i in shown])
    gap = np.abs(centres[:, None] - centres[None]).max(axis=-1) + np.eye(len(shown)) * 1e9
    lone = [k for k in range(len(shown)) if gap[k].min() > size + 4]
    assert lone, "every thumbnail overlaps another"
    i, (x, y) = shown[lone[0]], centres[lone[0]]
    inner = size - 8  # inside the coloured border
    img = pixels(page, {"x": x - inner / 2, "y": y - inner / 2, "width": inner, "height": inner})
    grey = img.astype(float).mean(axis=-1)
    # Nearest-neighbour upsampling of the 8x8 digit to the same pixels: the same picture up to its grey scale.
    cell = (np.arange(inner) + 4) * 8 // size
    expected = d.images[i][np.ix_(cell, cell)]
    corr = np.corrcoef(grey.ravel(), expected.ravel())[0, 1]
    assert abs(corr) > 0.9, f"thumbnail of {i} does not look like its image (correlation {corr:.2f})"
    # Zooming in re-chooses the thumbnails among the points now in view.
    box = root.locator("canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(6):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(60)
    page.wait_for_function("([c, old]) => c.dataset.indices !== old && Number(c.dataset.count) > 0",
                           arg=[thumbs.element_handle(), " ".join(map(str, shown))], timeout=20_000)
    zoomed = [int(i) for i in thumbs.get_attribute("data-indices").split()]
    for j in zoomed[:10]:
        px, py = screen_point(page, root, j)
        assert box["x"] - size <= px <= box["x"] + box["width"] + size
        assert box["y"] - size <= py <= box["y"] + box["height"] + size
