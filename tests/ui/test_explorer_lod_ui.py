"""EmbeddingExplorer's level of detail in Voila + Chromium: past `lod_points`, a wheel zoom draws a stratified sample
of about that many points and, once the camera rests, every point again: pixel for pixel what a view that never
sampled draws at the same camera, hidden classes and selection included."""

from __future__ import annotations

import numpy as np

from .harness import pixels, ready_root
from .test_embedding_explorer_ui import open_voila

N = 40_000
BUDGET = 4_000

TWO_VIEWS = f"""
import numpy as np, nbviz
rng = np.random.default_rng(0)
centres = rng.normal(size=(6, 2)) * 6
labels = rng.integers(0, 6, {N})
xy = (centres[labels] + rng.normal(size=({N}, 2))).astype("float32")
kw = dict(labels=labels, method="pca", point_size=3, height=360)
sampled = nbviz.EmbeddingExplorer(xy, **kw)
sampled.lod_points = {BUDGET}
exact = nbviz.EmbeddingExplorer(xy, **kw)
exact.lod_points = 0
for ex in (sampled, exact):
    ex.hidden_categories = [2]
    ex.selection = np.flatnonzero(labels == 4)[::7]
# The exact view follows the sampled one's camera (kernel-side link: the browser sets `view` on a pan or zoom).
sampled.observe(lambda change: setattr(exact, "view", list(change.new)), "view")
import ipywidgets
ipywidgets.VBox([sampled, exact])
"""


def _state(root) -> dict:
    return root.evaluate("el => ({lod: el.dataset.nbvizLod, drawn: el.nbviz.drawnPoints, n: el.nbviz.pointCount,"
                         " camera: el.nbviz.camera})")


def test_a_zoom_draws_the_sample_and_settles_to_every_point(page, voila):
    open_voila(page, voila, "lod_voila", [TWO_VIEWS])
    ready_root(page)
    roots = page.locator(".nbviz-embedding")
    roots.nth(1).wait_for(timeout=120_000)
    sampled, exact = roots.nth(0), roots.nth(1)
    # The first frame past the budget is the sample too; it settles to all shown points on its own.
    page.wait_for_function("el => el.dataset.nbvizLod === 'full'", arg=sampled.element_handle(), timeout=30_000)
    shown = _state(sampled)["drawn"]
    assert _state(exact)["drawn"] == shown < N  # class 2 hidden in both
    assert _state(exact)["lod"] is None  # lod_points = 0: never sampled

    box = sampled.locator("canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55)
    page.mouse.wheel(0, -300)
    page.wait_for_function("el => el.dataset.nbvizLod === 'sample'", arg=sampled.element_handle(), timeout=5_000)
    moving = _state(sampled)["drawn"]
    assert 0.6 * BUDGET < moving < 1.6 * BUDGET, moving
    page.mouse.wheel(0, -200)
    page.mouse.move(2, 2)  # off both plots: no hover ring
    page.wait_for_function("el => el.dataset.nbvizLod === 'full'", arg=sampled.element_handle(), timeout=10_000)
    assert _state(sampled)["drawn"] == shown
    # The exact view reaches the same camera through Python.
    page.wait_for_function(
        "([a, b]) => { const p = a.nbviz.camera, q = b.nbviz.camera;"
        " return p && q && p.every((v, i) => Math.abs(v - q[i]) < 1e-9); }",
        arg=[sampled.element_handle(), exact.element_handle()], timeout=20_000)
    page.wait_for_timeout(500)
    a = pixels(page, sampled.locator("canvas").first.bounding_box())
    b = pixels(page, exact.locator("canvas").first.bounding_box())
    assert a.shape == b.shape
    differ = np.any(np.abs(a.astype(int) - b.astype(int)) > 8, axis=-1).mean()
    assert differ < 0.002, f"{differ:.4f} of the settled pixels differ from a full draw"
    # And the zoom did change the picture (else the comparison proves nothing).
    assert _state(sampled)["camera"][2] < 0.9
    assert not page.page_errors


# Every change of an explorer's data-nbviz-lod, with the number of points its library holds or draws then.
LOD_TRAIL = """
window.nbvizLodTrail = [];
new MutationObserver((changes) => { for (const c of changes) window.nbvizLodTrail.push(
    [c.target.dataset.nbvizLod, c.target.nbviz ? c.target.nbviz.drawnPoints : -1]); })
  .observe(document, { subtree: true, attributes: true, attributeFilter: ["data-nbviz-lod"] });
"""

ONE_VIEW = f"""
import numpy as np, nbviz
rng = np.random.default_rng(1)
xy = rng.normal(size=({N}, 2)).astype("float32")
ex = nbviz.EmbeddingExplorer(xy, labels=rng.integers(0, 5, {N}), method="pca", height=300, lod_points={BUDGET})
ex
"""


def test_the_first_frame_is_the_sample_alone_and_every_point_follows(page, voila):
    """Past `lod_points` the first frame hands the library the sample alone (it would otherwise build rows and
    textures for all N first: seconds at 10M); the full set follows, sampled, then settles to every point."""
    page.add_init_script(LOD_TRAIL)
    open_voila(page, voila, "lod_preview_voila", [ONE_VIEW])
    root = ready_root(page)
    page.wait_for_function("el => el.dataset.nbvizLod === 'full'", arg=root.element_handle(), timeout=30_000)
    trail = page.evaluate("window.nbvizLodTrail")
    assert [state for state, _ in trail] == ["preview", "sample", "full"], trail
    (_, preview), (_, sample), (_, full) = trail
    assert preview == sample < N // 2 and full == N, trail  # the sample keeps sparse grid cells whole
    assert _state(root)["n"] == N and not page.page_errors
