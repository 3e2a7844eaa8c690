"""nbviz in marimo (``marimo run`` + headless Chromium): every object nbviz shows is one anywidget view, so it
renders in marimo and its clicks reach the Python traits (read back through the probe files).

One app, one server and one page (one kernel) for the whole file: each widget is a named cell, found in the page
by ``[data-cell-name=...]`` (Playwright's CSS pierces marimo's shadow roots). ``marimo edit`` gets one small app
of its own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from .harness import (
    PROBE_MODULE,
    NetworkGuard,
    guarded_page,
    pixels,
    ready_root,
    save_screenshot,
    start_marimo,
    wait_for_json,
)
from .test_embedding_explorer_ui import click_point
from .test_gradcam_ui import DIGITS
from .test_model_graph_ui import click_node
from .test_prob_map_ui import PLAYER

# marimo's messages for an output it cannot show, and for a cell that raised.
UNSUPPORTED = ("Jupyter widgets are not supported", "Error")

EXPLORER = """
import nbviz
from sklearn.datasets import load_digits
d = load_digits()
ex = nbviz.EmbeddingExplorer(d.data, labels=d.target, method="pca", height=300)
nbviz_probe(ex, "focus", "error")
ex
"""

GRAPH = """
import torch, torch.nn as nn, nbviz
model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, 3))
g = nbviz.ModelGraph(model, torch.rand(1, 1, 8, 8))
nbviz_probe(g, "node_ids", "node_paths", "selected", "error")
g
"""

PANEL = """
import numpy as np, nbviz
from nbviz.widgets.panel import Panel
rng = np.random.default_rng(7)
pts = rng.normal(size=(300, 2)).astype("float32")
a = nbviz.EmbeddingExplorer(pts, labels=rng.integers(0, 3, 300), height=260)
b = nbviz.EmbeddingExplorer(pts[:, ::-1].copy(), labels=rng.integers(0, 3, 300), height=260)
nbviz_probe(b, "focus", "error")
Panel([a, b], direction="row", titles=["a", "b"])
"""

SKETCH = """
from nbviz.widgets.sketch_input import SketchInput
pad = SketchInput(8, 8, scale=24)
nbviz_probe(pad, "pixels", "error")
pad
"""

# The composites: Python objects whose view is a Panel (ipywidgets boxes before, which marimo cannot show).
COMPONENTS = """
import nbviz
from sklearn.datasets import load_digits
d = load_digits()
ex = nbviz.EmbeddingExplorer(d.data, labels=d.target, images=d.images / 16.0, method="pca", height=260, nside=1)
nbviz_probe(ex, "focus", "error")
ex.components(4, m=4)
"""

COMPARE = """
import nbviz
from sklearn.datasets import load_digits
d = load_digits()
cmp = nbviz.EmbeddingExplorer.compare({"pixels": d.data, "half": d.data[:, ::2]}, labels=d.target, k=5,
                                      height=260, nside=1)
nbviz_probe(cmp.explorers[1], "focus", "error")
cmp
"""

SKETCHPAD = """
import torch, torch.nn as nn, nbviz
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 10))
sp = nbviz.GradCamViewer.sketchpad(model, "0", (1, 8, 8), size=160)
nbviz_probe(sp.viewer, "computations", "error")
sp
"""

CELLS = {"explorer": EXPLORER, "gradcam": DIGITS, "probmap": PLAYER, "graph": GRAPH, "panel": PANEL,
         "sketch": SKETCH, "components": COMPONENTS, "compare": COMPARE, "sketchpad": SKETCHPAD}
# The last cell: its output shows once every cell above has run (marimo runs independent cells in file order).
# Until then the kernel is busy and answers no clicks: a user sees the hourglass.
DONE = '@app.cell\ndef done():\n    "all cells ran"\n    return\n'


def marimo_cell(name: str, source: str, probe: Path) -> str:
    """A marimo cell named ``name`` showing what the notebook code ``source`` ends with. The code runs in a
    function, so cells share no names (marimo forbids one name defined in two cells); its ``nbviz_probe`` writes
    to ``probe/name`` and ``FOLDER`` is that folder."""
    folder = repr(str(probe / name))
    lines = textwrap.dedent(source.replace("FOLDER", folder)).strip().splitlines()
    lines[-1] = "return " + lines[-1]
    body = ["import functools, _nbviz_probe",
            f"nbviz_probe = functools.partial(_nbviz_probe.nbviz_probe, folder={folder})", *lines]
    code = textwrap.indent("\n".join(body), " " * 8)
    return f"@app.cell\ndef {name}():\n    def _show():\n{code}\n    _show()\n    return\n"


def write_app(path: Path, probe: Path, sources: dict[str, str] = CELLS) -> Path:
    """The marimo app file of ``sources`` (cell name: notebook code), and the probe module beside it (marimo
    imports from the app's folder)."""
    (path.parent / "_nbviz_probe.py").write_text(PROBE_MODULE)
    cells = "\n\n".join([*(marimo_cell(name, src, probe) for name, src in sources.items()), DONE])
    path.write_text(f'import marimo\n\napp = marimo.App(width="full")\n\n\n{cells}\n\nif __name__ == "__main__":\n'
                    f"    app.run()\n")
    return path


def serve(root: Path, sources: dict[str, str], mode: str):
    root.mkdir()
    server = start_marimo(root, write_app(root / "nbviz_app.py", root / "probe", sources), mode)
    server.probe = root / "probe"  # type: ignore[attr-defined]
    yield server
    server.stop()


def wait_app_ran(page) -> None:
    page.locator('[data-cell-name="done"] .output-area').get_by_text("all cells ran").wait_for(timeout=240_000)


@pytest.fixture(scope="module")
def marimo_app(ui_root):
    yield from serve(ui_root / "marimo", CELLS, "run")


@pytest.fixture(scope="module")
def shared_page(browser, marimo_app):
    """One page on the app for every test (each page opens a kernel that runs the whole app); its requests may
    only go to 127.0.0.1."""
    guard = NetworkGuard()
    context, page = guarded_page(browser, guard)
    page.goto(marimo_app.url, timeout=120_000)
    wait_app_ran(page)
    yield page
    context.close()
    assert not guard.blocked, f"requests tried to leave the machine: {guard.blocked}"


@pytest.fixture
def app_page(request, shared_page):
    """The shared page, with a screenshot when the test fails."""
    yield shared_page
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        save_screenshot(shared_page, f"marimo_{request.node.name}")


def cell_root(page, cell: str, selector: str, timeout: float = 120_000):
    return ready_root(page, f'[data-cell-name="{cell}"] {selector}', timeout=timeout)


def cell_text(page, cell: str) -> str:
    """The visible text of a cell's output, shadow roots included (innerText stops at them)."""
    # marimo: the cell's .output-area; Notebook 7 (test_notebook7_ui): the tagged output area itself.
    where = f'[data-cell-name="{cell}"] .output-area, .jp-OutputArea[data-cell-name="{cell}"]'
    return page.locator(where).first.evaluate(
        """cell => { const out = [];
        const walk = (root) => {
          const it = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
          for (let n = it.currentNode; n; n = it.nextNode()) {
            if (n.nodeType === Node.TEXT_NODE) { const p = n.parentElement;
              if (p && p.checkVisibility() && n.textContent.trim()) out.push(n.textContent.trim()); }
            else if (n.shadowRoot) walk(n.shadowRoot); } };
        walk(cell); return out.join('\\n'); }""")


def assert_shown(page, cell: str) -> None:
    """The cell shows no marimo error and no nbviz error banner."""
    text = cell_text(page, cell)
    for bad in UNSUPPORTED:
        assert bad not in text, f"cell {cell!r} shows {bad!r}:\n{text[:2000]}"
    assert page.locator(f'[data-cell-name="{cell}"] .nbviz-error:visible').count() == 0, text[:2000]


def composite_root(page, cell: str, selector: str):
    """A composite's view root: the app has run, so it is drawn in seconds or not at all (marimo shows a
    mimebundle it cannot render, e.g. an ipywidgets box, as tabs of its static picture and a "?")."""
    try:
        return cell_root(page, cell, selector, timeout=15_000)
    except Exception as exc:  # noqa: BLE001 - replaced by what the cell shows instead
        raise AssertionError(f"cell {cell!r} shows no {selector} view; its text: {cell_text(page, cell)!r}") from exc


def clickable_point(root) -> int:
    """A point of an EmbeddingExplorer view far from any other and clear of the overlays at its edges (buttons,
    legend): a click there can only hit it."""
    xy = np.asarray(root.evaluate(
        "el => Array.from({length: el.nbviz.pointCount}, (_, i) => el.nbviz.screenPosition(i))"), dtype=float)
    box = root.locator("canvas").first.bounding_box()
    inside = ((xy[:, 0] > 0.25 * box["width"]) & (xy[:, 0] < 0.7 * box["width"])
              & (xy[:, 1] > 0.2 * box["height"]) & (xy[:, 1] < 0.8 * box["height"]))
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    gap = np.where(inside, d.min(axis=1), -1)
    assert gap.max() > 6, "no point stands clear of the others in the view's middle"
    return int(gap.argmax())


def drag(page, box: dict, path: list[tuple[float, float]]) -> None:
    """Press at the first point of ``path`` (fractions of ``box``), move through the rest, release."""
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in path]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def test_explorer_click_sets_focus(app_page, marimo_app):
    probe = marimo_app.probe / "explorer"
    root = cell_root(app_page, "explorer", ".nbviz-embedding")
    assert wait_for_json(probe / "focus.json", page=app_page) == -1
    target = clickable_point(root)
    click_point(app_page, root, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1, page=app_page) == target
    assert wait_for_json(probe / "error.json", page=app_page) == ""
    assert_shown(app_page, "explorer")


def test_gradcam_image_and_class_clicks(app_page, marimo_app):
    probe = marimo_app.probe / "gradcam"
    root = cell_root(app_page, "gradcam", ".nbviz-gradcam")
    wait_for_json(probe / "index.json", lambda v: v == 0, page=app_page)
    calls = wait_for_json(probe / "computations.json", lambda v: v >= 1, page=app_page)
    root.locator('.nbviz-gc-cell[data-index="5"]').click()
    wait_for_json(probe / "index.json", lambda v: v == 5, page=app_page)
    root.locator('.nbviz-gc-cell.nbviz-gc-selected[data-index="5"]').wait_for(timeout=10_000)
    app_page.wait_for_timeout(300)  # the top classes of image 5 reach the view
    # Another class re-targets: a request to the kernel (a custom message) and its answer.
    shown = wait_for_json(probe / "shown_target.json", page=app_page)
    other = root.locator(f'.nbviz-gc-class[data-class]:not([data-class="{shown}"])').first
    cls = int(other.get_attribute("data-class"))
    other.click()
    wait_for_json(probe / "target.json", lambda v: v == cls, page=app_page)
    wait_for_json(probe / "shown_target.json", lambda v: v == cls, page=app_page)
    assert wait_for_json(probe / "computations.json", page=app_page) > calls
    assert wait_for_json(probe / "error.json", page=app_page) == ""
    assert_shown(app_page, "gradcam")


def test_probmap_slider_sets_epoch(app_page, marimo_app):
    probe = marimo_app.probe / "probmap"
    root = cell_root(app_page, "probmap", ".nbviz-pm")
    assert wait_for_json(probe / "epoch.json", page=app_page) == 9
    box = root.locator(".nbviz-pm-slider").bounding_box()
    app_page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    assert wait_for_json(probe / "epoch.json", lambda v: v == 0, page=app_page) == 0
    assert "epoch 0" in root.locator(".nbviz-pm-epoch").inner_text()
    assert wait_for_json(probe / "error.json", page=app_page) == ""
    assert_shown(app_page, "probmap")


def test_model_graph_click_selects(app_page, marimo_app):
    probe = marimo_app.probe / "graph"
    root = cell_root(app_page, "graph", ".nbviz-model-graph")
    paths = wait_for_json(probe / "node_paths.json", page=app_page)
    click_node(app_page, root, wait_for_json(probe / "node_ids.json", page=app_page)[paths.index("3")])
    assert wait_for_json(probe / "selected.json", lambda v: v == "3", page=app_page) == "3"
    assert wait_for_json(probe / "error.json", page=app_page) == ""
    assert_shown(app_page, "graph")


def check_panel(page, probe: Path) -> None:
    """Both explorers of the PANEL cell render, and a click in the second sets its focus."""
    cell_root(page, "panel", ".nbviz-panel")
    roots = page.locator('[data-cell-name="panel"] .nbviz-embedding[data-nbviz-ready="true"]')
    roots.nth(1).wait_for(timeout=60_000)
    assert roots.count() == 2
    assert page.locator('[data-cell-name="panel"] .nbviz-panel-title').all_inner_texts() == ["a", "b"]
    second = roots.nth(1)
    second.scroll_into_view_if_needed()
    assert wait_for_json(probe / "focus.json", page=page) == -1
    target = clickable_point(second)
    click_point(page, second, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1, page=page) == target
    assert_shown(page, "panel")


def test_panel_of_two_explorers(app_page, marimo_app):
    check_panel(app_page, marimo_app.probe / "panel")


def test_sketch_input_drag_inks_pixels(app_page, marimo_app):
    probe = marimo_app.probe / "sketch"
    root = cell_root(app_page, "sketch", ".nbviz-sketch")
    assert np.max(wait_for_json(probe / "pixels.json", page=app_page)) == 0
    canvas = root.locator("canvas")
    box = canvas.bounding_box()
    drag(app_page, box, [(0.2, 0.2), (0.8, 0.5), (0.3, 0.8)])
    ink = np.asarray(wait_for_json(probe / "pixels.json", lambda v: np.max(v) > 0, page=app_page))
    assert ink.shape == (8, 8) and (ink > 0).sum() >= 3
    # The view paints the inked pixels that came back from Python: dark where Python has full ink.
    app_page.wait_for_timeout(300)
    shot = pixels(app_page, clip=box).mean(axis=-1)
    scale = box["width"] / 8
    y, x = np.unravel_index(ink.argmax(), ink.shape)
    assert shot[int((y + 0.5) * scale), int((x + 0.5) * scale)] < 128
    assert wait_for_json(probe / "error.json", page=app_page) == ""
    assert_shown(app_page, "sketch")


@pytest.fixture(scope="module")
def marimo_edit(ui_root):
    yield from serve(ui_root / "marimo-edit", {"panel": PANEL}, "edit")


def test_marimo_edit_mode_panel(page, marimo_edit):
    """``marimo edit`` (the notebook editor, its own page and kernel): the same Panel renders and answers."""
    page.goto(marimo_edit.url, timeout=120_000)
    wait_app_ran(page)
    check_panel(page, marimo_edit.probe / "panel")
    assert not page.page_errors


# -- composites ------------------------------------------------------------------------------------------
def test_components_render_and_image_click_focuses(app_page, marimo_app):
    probe = marimo_app.probe / "components"
    root = composite_root(app_page, "components", ".nbviz-components")
    item = root.locator('.nbviz-cv-column[data-component="0"] .nbviz-cv-high .nbviz-cv-item').first
    target = int(item.get_attribute("data-index"))
    assert wait_for_json(probe / "focus.json", page=app_page) == -1
    item.click()
    assert wait_for_json(probe / "focus.json", lambda v: v == target, page=app_page) == target
    assert_shown(app_page, "components")


def test_compare_renders_and_click_in_second_focuses(app_page, marimo_app):
    probe = marimo_app.probe / "compare"
    composite_root(app_page, "compare", ".nbviz-embedding")
    roots = app_page.locator('[data-cell-name="compare"] .nbviz-embedding[data-nbviz-ready="true"]')
    roots.nth(1).wait_for(timeout=15_000)
    second = roots.nth(1)
    second.scroll_into_view_if_needed()
    target = clickable_point(second)
    click_point(app_page, second, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1, page=app_page) == target
    assert_shown(app_page, "compare")


def test_sketchpad_renders_and_drawing_updates_the_viewer(app_page, marimo_app):
    probe = marimo_app.probe / "sketchpad"
    composite_root(app_page, "sketchpad", ".nbviz-gradcam")
    pad = composite_root(app_page, "sketchpad", ".nbviz-sketch")
    calls = wait_for_json(probe / "computations.json", page=app_page)
    drag(app_page, pad.locator("canvas").bounding_box(), [(0.3, 0.2), (0.5, 0.8), (0.7, 0.2)])
    wait_for_json(probe / "computations.json", lambda v: v > calls, page=app_page)
    assert wait_for_json(probe / "error.json", page=app_page) == ""
    assert_shown(app_page, "sketchpad")


def test_no_cell_shows_an_error_after_the_clicks(app_page, marimo_app):
    for cell in CELLS:
        assert_shown(app_page, cell)
    assert not app_page.page_errors
