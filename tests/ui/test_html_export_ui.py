"""Pages written by ``save("x.html")`` in a real browser, opened from file:// with every other request refused:
each paints, and one click works with no kernel (neighbour grid, another class's map, a group opened, another
frame); what the page does not hold says at once that it needs a running kernel."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import nbviz
from nbviz.widgets import explorer_export
from nbviz.widgets.embedding_explorer import EmbeddingExplorer
from nbviz.widgets.gradcam_viewer import GradCamViewer
from nbviz.widgets.model_graph import ModelGraph

from .harness import pixels, ready_root


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.3, size=(40, 8)) for c in (-2, 0, 2)]).astype(np.float32)
    labels = np.repeat(["cat", "dog", "owl"], 40)
    images = (rng.random((120, 10, 10)) * 255).astype(np.uint8)
    saved = {"explorer": EmbeddingExplorer(x, labels=labels, images=images, method="pca", nside=3)}
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))
    batch = torch.rand(6, 1, 12, 12, generator=torch.Generator().manual_seed(2))
    saved["gradcam"] = GradCamViewer(cnn, batch, layer="2", classes=list("abcd"), topk=3)
    block = lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())  # noqa: E731
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Sequential(block(), block(), block()),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    saved["graph"] = ModelGraph(net, torch.rand(1, 1, 8, 8), depth=0)
    X = rng.normal(size=(60, 2))
    rec = nbviz.ProbMapRecorder(X, (X[:, 0] > 0).astype(int), resolution=32)
    for e in (0, 5):
        rec.record(lambda z, e=e: np.stack([z[:, 0] * (e - 2), -z[:, 0] * (e - 2)], 1), e)
    saved["probmap"] = nbviz.ProbMapPlayer(rec, chart=False)
    paths = {name: w.save(out / f"{name}.html") for name, w in saved.items()}
    # Above the neighbour limit (lowered here) the page still paints; neighbours need the kernel.
    limit = explorer_export.HTML_NEIGHBOR_LIMIT
    explorer_export.HTML_NEIGHBOR_LIMIT = 50
    try:
        paths["explorer_big"] = saved["explorer"].save(out / "explorer_big.html")
    finally:
        explorer_export.HTML_NEIGHBOR_LIMIT = limit
    for w in saved.values():
        w.close()
    return paths


@pytest.fixture
def offline(browser):
    """A page that may load file:// (and the blob: / data: URLs it makes) and nothing else."""
    refused: list[str] = []

    def route(r):
        if r.request.url.startswith(("file:", "blob:", "data:")):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    context = browser.new_context(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert refused == [], f"the page asked the network for {refused}"
    assert errors == [], f"errors in the page: {errors}"


def painted(page, locator, timeout: float = 10.0) -> np.ndarray:
    """The pixels of ``locator`` once it shows more than a background and a few borders."""
    end = time.monotonic() + timeout
    while True:
        box = locator.bounding_box()
        shot = pixels(page, {"x": box["x"], "y": box["y"], "width": box["width"], "height": min(box["height"], 600)})
        if len(np.unique(shot.reshape(-1, 3), axis=0)) > 20:
            return shot
        assert time.monotonic() < end, "the view looks blank"
        page.wait_for_timeout(100)


def open_page(page, path: Path, selector: str):
    page.goto(path.as_uri())
    root = ready_root(page, selector, timeout=30_000)
    painted(page, root)
    return root


def changed(page, locator, before: np.ndarray, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not np.array_equal(before, painted(page, locator)):
            return True
        page.wait_for_timeout(100)
    return False


def click_lonely_point(page, root) -> int:
    """Click the point farthest from any other (so no neighbour can take the click) once the camera has settled
    (the first layout is fitted into view); returns its index."""
    last = None
    for _ in range(50):
        at = np.array(root.evaluate("el => [...Array(120).keys()].map((i) => el.nbviz.screenPosition(i))"))
        if last is not None and np.array_equal(at, last):
            break
        last = at
        page.wait_for_timeout(100)
    gaps = np.linalg.norm(at[:, None] - at[None], axis=-1) + np.eye(len(at)) * 1e9
    i = int(gaps.min(axis=1).argmax())
    box = root.locator("canvas").first.bounding_box()
    x, y = box["x"] + at[i, 0], box["y"] + at[i, 1]
    page.mouse.move(x, y)  # the view picks the point under the pointer (hover), then the click focuses it
    page.mouse.click(x, y)
    page.wait_for_function(f"() => window.nbvizModel.get('focus') === {i}", timeout=5_000)
    return i


def test_explorer_click_shows_the_neighbour_grid(offline, pages):
    root = open_page(offline, pages["explorer"], ".nbviz-embedding")
    i = click_lonely_point(offline, root)
    offline.wait_for_function(f"() => document.querySelector('.nbviz-neighbors')?.dataset.for === '{i}'",
                              timeout=10_000)
    loaded = root.evaluate("el => [...el.querySelectorAll('.nbviz-neighbor-grid img')].map(i => i.naturalWidth)")
    assert len(loaded) == 9 and min(loaded) > 0


def test_explorer_above_the_limit_says_it_needs_a_kernel(offline, pages):
    root = open_page(offline, pages["explorer_big"], ".nbviz-embedding")
    click_lonely_point(offline, root)
    error = root.locator(".nbviz-neighbors-error")
    error.wait_for(timeout=5_000)  # at once, not after the 15 s request timeout
    assert "needs a running kernel" in error.text_content()


def test_gradcam_another_class_changes_the_map(offline, pages):
    root = open_page(offline, pages["gradcam"], ".nbviz-gradcam")
    view = root.locator(".nbviz-gc-view canvas").first
    before = painted(offline, view)
    other = root.locator(".nbviz-gc-class[data-class]:not(.nbviz-gc-active)").first
    cls = other.get_attribute("data-class")
    other.click()
    offline.wait_for_function(f"() => window.nbvizModel.get('shown_target') === {cls}", timeout=5_000)
    assert changed(offline, view, before)
    assert offline.evaluate("() => window.nbvizModel.get('error')") == ""


def test_graph_expand_shows_more_nodes(offline, pages):
    root = open_page(offline, pages["graph"], ".nbviz-model-graph")
    closed = root.evaluate("el => el.nbviz.visibleCount()")

    def open_node(node: str, then: str) -> None:
        pos = root.evaluate("(el, id) => el.nbviz.screenPosition(id)", node)
        box = root.locator("canvas").bounding_box()
        offline.mouse.dblclick(box["x"] + pos[0], box["y"] + pos[1])
        offline.wait_for_function(
            "id => document.querySelector('.nbviz-model-graph').nbviz.visibleIds().includes(id)", arg=then,
            timeout=10_000)

    open_node("1", "1.0..1.2")  # the group: its three identical blocks, folded into one node
    open_node("1.0..1.2", "1.2")  # the fold: the blocks
    assert root.evaluate("el => el.nbviz.visibleCount()") > closed


def test_probmap_slider_changes_the_frame(offline, pages):
    root = open_page(offline, pages["probmap"], ".nbviz-pm")
    the_map = root.locator(".nbviz-pm-map").first
    before = painted(offline, the_map)
    slider = root.locator(".nbviz-pm-slider")
    box = slider.bounding_box()
    offline.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    offline.wait_for_function("() => window.nbvizModel.get('epoch') === 0", timeout=5_000)
    assert changed(offline, the_map, before)
