"""ModelGraph in a real browser (Voila + Chromium): expanding and collapsing with the mouse changes the drawn
nodes, a click sets `selected` and shows the details, a linked GradCamViewer's `layer` follows, search finds
modules inside closed groups, elkjs runs in a web worker; in a bare page, the worker and its main-thread fallback
place nodes alike, and the layout on screen comes back to Python for the exported pictures."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmarks.model_graph import KICKOFF_JS, RENDER_JS, STASH_JS, bundle, wire_state
from nbviz.widgets.model_graph import ModelGraph

from .harness import ready_root, wait_for_json, write_notebook

GRAPH = """
import torch, torch.nn as nn, nbviz
torch.manual_seed(0)
block = lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Sequential(block(), block(), block()),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
x = torch.rand(6, 1, 8, 8)
viewer = nbviz.GradCamViewer(model, x, layer="0", size=120)
g = nbviz.ModelGraph(model, x[:1], depth=1, height=420)
g.link(viewer)
nbviz_probe(g, "selected", "expanded", "error")
nbviz_probe(viewer, "layer")
import traitlets
class Sent(traitlets.HasTraits):  # what the kernel received of the view's layouts: the ids laid out
    ids = traitlets.List()
sent = Sent()
g.observe(lambda change: setattr(sent, "ids", list(change["new"].get("ids", []))), names="view_layout")
nbviz_probe(sent, "ids")
g
"""


def click_node(page, root, node_id: str, double: bool = False) -> None:
    pos = root.evaluate("(el, id) => el.nbviz.screenPosition(id)", node_id)
    assert pos is not None, f"{node_id} is not drawn; drawn: {root.evaluate('el => el.nbviz.visibleIds()')}"
    box = root.locator("canvas").bounding_box()
    if double:
        page.mouse.dblclick(box["x"] + pos[0], box["y"] + pos[1])
    else:
        page.mouse.click(box["x"] + pos[0], box["y"] + pos[1])


def wait_count(page, root, predicate: str) -> int:
    page.wait_for_function(
        f"() => {{ const n = document.querySelector('.nbviz-model-graph').nbviz.visibleCount(); return {predicate}; }}",
        timeout=15_000)
    return root.evaluate("el => el.nbviz.visibleCount()")


def open_graph(page, voila, name: str, cell: str):
    """Voila renders a notebook of ``cell``; the graph's root once drawn, and the probe folder."""
    probe = voila.root / f"{name}_probe"
    write_notebook(voila.root / f"{name}.ipynb", [cell], probe_folder=probe)
    page.goto(f"{voila.url}/voila/render/{name}.ipynb", timeout=180_000)
    return probe, ready_root(page, ".nbviz-model-graph", timeout=180_000)


def test_expand_collapse_select_link_and_search(page, voila):
    probe, root = open_graph(page, voila, "graph", GRAPH)
    closed = root.evaluate("el => el.nbviz.visibleCount()")
    assert closed == 7  # input, conv, the closed Sequential, pool, flatten, linear, output
    # elkjs started in a web worker from the bundle itself (no network: the page's guard would fail the test).
    page.wait_for_function("() => document.querySelector('.nbviz-model-graph').nbviz.layoutEngine !== ''")
    assert root.evaluate("el => el.nbviz.layoutEngine") == "worker"

    # The kernel has the layout on screen (for the exported pictures).
    assert "1" in wait_for_json(probe / "ids.json", lambda v: len(v) == closed)

    # Double-click the closed group: its blocks appear (the three identical ones folded).
    click_node(page, root, "1", double=True)
    wait_for_json(probe / "expanded.json", lambda v: v == ["1"])
    assert "frame:1" in wait_for_json(probe / "ids.json", lambda v: "1.0..1.2" in v)
    # The group is replaced by one fold "Sequential x 3" drawn inside its frame.
    page.wait_for_function("() => document.querySelector('.nbviz-model-graph').nbviz.visibleIds().includes('1.0..1.2')")
    assert "1" not in root.evaluate("el => el.nbviz.visibleIds()")
    assert root.evaluate("el => el.nbviz.visibleCount()") == closed
    click_node(page, root, "1.0..1.2", double=True)
    unfolded = wait_count(page, root, f"n === {closed - 1 + 3}")
    assert unfolded == closed + 2

    # A click on the open group's title collapses it again.
    click_node(page, root, "frame:1")
    wait_for_json(probe / "expanded.json", lambda v: v == [])
    assert wait_count(page, root, f"n === {closed}") == closed

    # Clicking a node sets `selected`, shows its parameters, and the linked viewer follows.
    click_node(page, root, "_0")
    wait_for_json(probe / "selected.json", lambda v: v == "0")
    wait_for_json(probe / "layer.json", lambda v: v == "0")
    root.locator(".nbviz-mg-dtotal").wait_for(timeout=15_000)
    assert root.locator(".nbviz-mg-dtype").text_content() == "Conv2d"
    assert root.locator(".nbviz-mg-pname").all_text_contents() == ["weight", "bias"]
    assert root.locator(".nbviz-mg-repr").text_content().startswith("Conv2d(1, 8")

    # A layer with no spatial output is refused for Grad-CAM: the viewer keeps its layer, a note (not an error
    # banner: the refusal is documented) says why.
    click_node(page, root, "_4")
    wait_for_json(probe / "selected.json", lambda v: v == "4")
    notice = root.locator(".nbviz-mg-notice")
    notice.filter(has_text="not usable for Grad-CAM").wait_for(timeout=15_000)
    assert wait_for_json(probe / "error.json") == ""
    assert not root.locator(".nbviz-error").is_visible()
    assert wait_for_json(probe / "layer.json") == "0"

    # Search finds a module inside a closed group; Enter opens the groups around it and selects it.
    search = root.locator(".nbviz-mg-search")
    search.fill("1.2.0")
    assert root.locator(".nbviz-mg-hits").text_content() == "1 found"
    search.press("Enter")
    wait_for_json(probe / "selected.json", lambda v: v == "1.2.0")
    wait_for_json(probe / "layer.json", lambda v: v == "1.2.0")
    page.wait_for_function("() => document.querySelector('.nbviz-model-graph').nbviz.visibleIds().includes('_1_2_0')")
    assert not page.page_errors


DEEP = """
import torch, torch.nn as nn, nbviz
class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
    def forward(self, x):
        return x + self.conv2(torch.relu(self.bn1(self.conv1(x))))
layers = [nn.Conv2d(1, 8, 3, padding=1), Residual()] + [m for _ in range(12) for m in (nn.Conv2d(8, 8, 1), nn.ReLU())]
model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
g = nbviz.ModelGraph(model, torch.rand(1, 1, 8, 8), depth=1, height=420)
nbviz_probe(g, "expanded", "error")
g
"""


def test_a_tall_graph_is_fitted_readable_refitted_after_expanding_and_its_skip_edge_shows(page, voila):
    from .harness import pixels

    probe, root = open_graph(page, voila, "deep", DEEP)
    # ~30 nodes in a 420 px stage: fitted to the width at a readable zoom (text at 10 px or more), not to the height.
    zoom = root.evaluate("el => el.nbviz.zoom")
    assert zoom >= 0.9, zoom
    x, y, w, h = root.evaluate("el => el.nbviz.graphBox")
    assert h > 420 and y >= 0 and y < 20  # taller than the stage, shown from its top
    stage = root.locator("canvas").bounding_box()
    assert abs((x + w / 2) - stage["width"] / 2) < 2  # centred

    # Opening the residual block lays it out and fits again (the graph grew).
    click_node(page, root, "1", double=True)
    wait_for_json(probe / "expanded.json", lambda v: v == ["1"])
    page.wait_for_function("() => document.querySelector('.nbviz-model-graph').nbviz.visibleIds().includes('_1_conv2')",
                           timeout=30_000)
    page.wait_for_timeout(500)
    x2, y2, w2, h2 = root.evaluate("el => el.nbviz.graphBox")
    assert y2 >= 0 and abs((x2 + w2 / 2) - stage["width"] / 2) < 2

    # The skip connection (block input -> add) runs beside the chain it bypasses: the column just right of the
    # chain's boxes holds an edge between them.
    ids = root.evaluate("el => el.nbviz.visibleIds()")
    conv1 = root.evaluate("(el, id) => el.nbviz.screenPosition(id)", "_1_conv1")
    conv2 = root.evaluate("(el, id) => el.nbviz.screenPosition(id)", "_1_conv2")
    assert conv1 and conv2, ids
    img = pixels(page, {"x": stage["x"], "y": stage["y"] + conv1[1], "width": stage["width"],
                        "height": conv2[1] - conv1[1]}).astype(int)
    background = img[0, 0]
    edge_cols = np.flatnonzero((np.abs(img - background).max(axis=-1) > 30).mean(axis=0) > 0.8)
    assert len(edge_cols) > 0, "no vertical edge line beside the residual block"
    assert not page.page_errors


class Fork(nn.Module):
    """Two branches joined: a group elkjs lays out (a chain would be stacked without it)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.down = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(x) + self.down(x)


def test_worker_and_main_thread_layouts_agree(browser):
    """elkjs in its web worker, and on the main thread where a page cannot make workers, places every node alike."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Sequential(Fork(), Fork(), Fork()), nn.Flatten(),
                          nn.Linear(4 * 36, 3))
    state = wire_state(ModelGraph(model, torch.rand(1, 1, 6, 6), depth=3))
    placed, engines = {}, {}
    for blocked in (False, True):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        try:
            page.goto("about:blank")
            if blocked:  # as a Content-Security-Policy without blob: workers would
                page.evaluate("() => { window.Worker = function () { throw new Error('no workers here'); }; }")
            page.evaluate(STASH_JS, list(bundle()))
            page.evaluate(KICKOFF_JS)
            shown = page.evaluate(RENDER_JS, state)
            engines[blocked] = shown["engine"]
            placed[blocked] = page.evaluate(
                "() => { const h = document.querySelector('.nbviz-model-graph').nbviz;"
                " return Object.fromEntries(h.visibleIds().map((id) => [id, h.screenPosition(id)])); }")
        finally:
            page.close()
        assert not errors
    assert engines == {False: "worker", True: "main thread (no workers here)"}
    forks = [k for k in placed[False] if k.endswith("conv1") or k.endswith("down")]
    assert len(forks) == 6 and len(placed[False]) > 10
    assert placed[False] == placed[True]


def test_without_elkjs_the_stand_in_layout_stays(browser):
    """Where elkjs cannot start at all, the graph is drawn from longest-path layers and the banner says why."""
    state = wire_state(ModelGraph(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), Fork(), nn.Flatten()),
                                  torch.rand(1, 1, 6, 6), depth=2))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto("about:blank")
        page.evaluate("() => { window.Worker = undefined; delete window.DecompressionStream; }")
        page.evaluate(STASH_JS, list(bundle()))
        page.evaluate(KICKOFF_JS)
        shown = page.evaluate(RENDER_JS.replace("""await shown('[data-nbviz-ready="true"]')""", "0"), state)
        assert shown["drawn"] == 7  # input, conv, the fork's conv1, down and add (elkjs's to lay out), flatten, output
        root = "document.querySelector('.nbviz-model-graph')"
        page.wait_for_function(f"() => {root}.textContent.includes('layout failed')")
        hook = f"{root}.nbviz"
        assert page.evaluate(f"() => {hook}.provisional") and page.evaluate(f"() => {hook}.layoutEngine") == ""
    finally:
        page.close()


# The view_layout the page's stand-in model holds, with its binary chunks as byte lists (what a page can return).
SENT_LAYOUT_JS = """() => {
  const v = window.__mg.get('view_layout');
  const bytes = (c) => Array.from(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  return { ...v, boxes: { ...v.boxes, chunks: v.boxes.chunks.map(bytes) } };
}"""


def test_exported_picture_uses_the_view_layout(browser):
    """The layout on screen goes back to Python (``view_layout``), and the SVG / PNG draw the view's boxes."""
    torch.manual_seed(0)
    w = ModelGraph(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Sequential(Fork(), Fork()), nn.Flatten()),
                   torch.rand(1, 1, 6, 6), depth=2)
    headless = w.to_svg()
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto("about:blank")
        page.evaluate(STASH_JS, list(bundle()))
        page.evaluate(KICKOFF_JS)
        page.evaluate(RENDER_JS, wire_state(w))
        sent = page.evaluate(SENT_LAYOUT_JS)
        hook = "document.querySelector('.nbviz-model-graph').nbviz"
        drawn = page.evaluate(f"() => {hook}.visibleIds()")
    finally:
        page.close()
    w.set_state({"view_layout": {**sent, "boxes": {**sent["boxes"], "chunks": [bytes(c) for c in
                                                                             sent["boxes"]["chunks"]]}}})
    assert not w.error and sorted(sent["expanded"]) == sorted(w.expanded)
    assert set(drawn) <= set(w.view_layout["ids"]) and "frame:1" in w.view_layout["ids"]
    svg = w.to_svg()
    assert svg != headless and f'height="{sent["height"]:.0f}"' in svg
    # As wide as the view's layout, or wider where an edge's shape label runs past its right edge.
    assert int(svg.split('width="', 1)[1].split('"', 1)[0]) >= round(sent["width"])
    boxes = dict(zip(w.view_layout["ids"], w.view_layout["boxes"].tolist(), strict=True))
    for node_id in drawn:  # every node where elkjs put it
        x, y, bw, bh = boxes[node_id]
        assert f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{bh:.1f}"' in svg, node_id
    assert w.to_png()[:8] == b"\x89PNG\r\n\x1a\n"
