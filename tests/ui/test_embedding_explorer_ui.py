"""EmbeddingExplorer in a real browser: Voila and JupyterLab, clicks and pixels asserted against Python traits."""

from __future__ import annotations

import numpy as np
import pytest

from nbviz.export import fit_margin, fit_to_canvas

from .harness import (
    around,
    color_fraction,
    pixels,
    ready_root,
    run_all_cells,
    screen_point,
    wait_for_json,
    write_notebook,
)

FOCUS_RGB = (0xE6, 0x00, 0x7E)  # --nbviz-focus default

SCATTER = """
import numpy as np, nbviz
rng = np.random.default_rng(7)
pts = rng.normal(size=(400, 2)).astype("float32")
labels = np.array(["alpha", "beta", "gamma", "delta"])[rng.integers(0, 4, 400)]
ex = nbviz.EmbeddingExplorer(pts, labels=labels, point_size=6)
nbviz_probe(ex, "focus", "error")
ex
"""


def scatter_points() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(400, 2)).astype("float32")


def isolated_index() -> int:
    """The point of the SCATTER data farthest from its nearest neighbour: a click there can only hit it."""
    pts = scatter_points()
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return int(d.min(axis=1).argmax())


def open_voila(page, voila, name: str, cells: list[str]):
    probe = voila.root / f"{name}_probe"
    write_notebook(voila.root / f"{name}.ipynb", cells, probe_folder=probe)
    page.goto(f"{voila.url}/voila/render/{name}.ipynb", timeout=120_000)
    return probe


def open_lab(page, lab, name: str, cells: list[str]):
    """Open a notebook in JupyterLab and run all its cells, as a user pressing Run All would."""
    probe = lab.root / f"{name}_probe"
    write_notebook(lab.root / f"{name}.ipynb", cells, probe_folder=probe)
    # A workspace per test, so JupyterLab restores no tabs from an earlier test.
    page.goto(f"{lab.url}/lab/workspaces/{name}/tree/{name}.ipynb", timeout=120_000)
    run_all_cells(page, f"{name}.ipynb")
    return probe


def lab_execute(page, code: str) -> None:
    """Run code in the open notebook's kernel (as a new cell would)."""
    page.evaluate(
        "async (code) => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;"
        " const f = k.requestExecute({code}); const r = await f.done;"
        " if (r.content.status !== 'ok') throw new Error(JSON.stringify(r.content)); }",
        code,
    )


def click_point(page, root, index: int) -> None:
    x, y = screen_point(page, root, index)
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def test_voila_click_sets_focus(page, voila):
    probe = open_voila(page, voila, "click_voila", [SCATTER])
    root = ready_root(page)
    assert wait_for_json(probe / "focus.json") == -1
    target = isolated_index()
    click_point(page, root, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1) == target
    # The static PNG's layout rule (nbviz.export) puts points exactly where the live view first draws them.
    box = root.locator("canvas").first.bounding_box()
    expected = fit_to_canvas(scatter_points(), round(box["width"]), round(box["height"]), fit_margin(6))
    for i in (0, 17, 123, target):
        got = root.evaluate("(el, i) => el.nbviz.screenPosition(i)", i)
        np.testing.assert_allclose(got, expected[i], atol=1.5)
    # The legend shows every label as text.
    legend = root.locator(".nbviz-legend").inner_text()
    for name in ("alpha", "beta", "gamma", "delta"):
        assert name in legend
    assert not page.page_errors


def test_lab_click_sets_focus(page, lab):
    probe = open_lab(page, lab, "click_lab", [SCATTER])
    root = ready_root(page)
    assert wait_for_json(probe / "focus.json") == -1
    target = isolated_index()
    click_point(page, root, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1) == target


def test_lab_focus_from_python_highlights_point(page, lab):
    open_lab(page, lab, "focus_lab", [SCATTER])
    root = ready_root(page)
    target = isolated_index()
    x, y = screen_point(page, root, target)
    before = pixels(page, around(x, y, 16))
    assert color_fraction(before, FOCUS_RGB) == 0.0
    lab_execute(page, f"ex.focus = {target}")
    page.wait_for_timeout(300)
    after = pixels(page, around(x, y, 16))
    assert color_fraction(after, FOCUS_RGB) > 0.03, "no focus ring drawn around the point"
    # Clearing focus from Python removes the ring again.
    lab_execute(page, "ex.focus = -1")
    page.wait_for_timeout(300)
    assert color_fraction(pixels(page, around(x, y, 16)), FOCUS_RGB) == 0.0


def test_error_in_observer_is_shown_in_the_view(page, voila):
    cells = [SCATTER.replace("ex\n", "") + "\n"
             "def explode(change):\n    raise RuntimeError('boom from an observer')\n"
             "ex.observe(explode, 'focus')\nex"]
    probe = open_voila(page, voila, "error_voila", cells)
    root = ready_root(page)
    click_point(page, root, isolated_index())
    assert "boom from an observer" in wait_for_json(probe / "error.json", lambda v: bool(v))
    banner = root.locator(".nbviz-error")
    banner.wait_for(state="visible", timeout=10_000)
    assert "boom from an observer" in banner.inner_text()


def test_html_in_labels_is_text(page, voila):
    cells = [
        "import numpy as np, nbviz\n"
        "pts = np.random.default_rng(0).normal(size=(50, 2))\n"
        "labels = ['<img src=x onerror=\"window.__pwned=1\">'] * 25 + ['<b>bold</b>'] * 25\n"
        "nbviz.EmbeddingExplorer(pts, labels=labels)"
    ]
    open_voila(page, voila, "xss_voila", cells)
    root = ready_root(page)
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__pwned") is None
    assert root.locator(".nbviz-legend img").count() == 0
    assert '<b>bold</b>' in root.locator(".nbviz-legend").inner_text()


@pytest.mark.slow
def test_one_million_points_render(page, voila):
    cells = [
        "import numpy as np, nbviz\n"
        "rng = np.random.default_rng(1)\n"
        "pts = rng.normal(size=(1_000_000, 2)).astype('float32')\n"
        "ex = nbviz.EmbeddingExplorer(pts, labels=rng.integers(0, 10, 1_000_000))\nex"
    ]
    open_voila(page, voila, "million_voila", cells)
    root = ready_root(page, timeout=240_000)
    assert root.evaluate("el => el.nbviz.pointCount") == 1_000_000
    box = root.locator("canvas").first.bounding_box()
    img = pixels(page, box)
    background = img[2, 2]
    drawn = np.abs(img.astype(int) - background).max(axis=-1) > 30
    assert drawn.mean() > 0.05, "the million points left the canvas nearly empty"
    assert not page.page_errors


def test_network_guard_catches_external_requests(page, voila, guard, request):
    """The guard itself can fail: a page that reaches out is recorded (and the request never leaves)."""
    request.node.allow_external_requests = True
    page.goto(f"{voila.url}/", timeout=60_000)
    page.evaluate("() => fetch('http://example.com/x').catch(() => null)")
    page.wait_for_timeout(200)
    assert any("example.com" in url for url in guard.blocked)


def test_lab_dark_theme_follows(page, lab):
    """Switching JupyterLab to its dark theme turns the scatter's background and legend text dark/light."""
    open_lab(page, lab, "theme_lab", [SCATTER])
    root = ready_root(page)
    box = root.locator("canvas").first.bounding_box()
    corner = {"x": box["x"] + 2, "y": box["y"] + box["height"] - 12, "width": 8, "height": 8}
    assert pixels(page, corner).mean() > 200  # light theme: near-white background
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(800)
    assert pixels(page, corner).mean() < 80, "the scatter background did not follow the dark theme"
    legend_color = root.locator(".nbviz-legend").evaluate("el => getComputedStyle(el).color")
    r, g, b = (int(v) for v in legend_color[legend_color.index("(") + 1:].split(",")[:3])
    assert min(r, g, b) > 150, f"legend text is not light on dark: {legend_color}"
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
