"""A notebook executed headlessly keeps a true picture of every view, and its HTML export shows them offline.

One notebook with every nbviz view (the explorer projecting with t-SNE in the background, GradCam, ProbMap,
ModelGraph, ``components()``, ``compare()``, the sketchpad) is executed with nbclient (storing widget state, as
papermill and ``nbconvert --execute`` do), exported with nbconvert's HTMLExporter and opened in headless Chromium
with every request that is not a local file blocked (the widget CDN unreachable).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from nbviz.export import STATIC_PNG_MARK, mark_static_png
from nbviz.widgets.base import STATIC

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

SETUP = """
import numpy as np, torch, nbviz
from torch import nn
from pathlib import Path
out = Path({out!r})
rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(c * 3, 1, (60, 8)) for c in range(3)]).astype(np.float32)
y = np.repeat(["a", "b", "c"], 60)
torch.manual_seed(0)
cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
images = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
P = rng.normal(size=(40, 2))
rec = nbviz.ProbMapRecorder(P, (P[:, 0] > 0).astype(int), resolution=12, background=False)
for epoch in range(2):
    rec.record(lambda z, e=epoch: np.stack([z[:, 0] * (e + 1), -z[:, 0]], 1), epoch)
"""

VIEWS = {
    "explorer": "ex = nbviz.EmbeddingExplorer(X, labels=y, method='tsne', background=True)\nex",
    "explorer_wait": (
        # Not ex.wait() (which redraws at once): the redraw timed from the projection's thread must reach the output.
        "import time\n"
        "while ex._worker.is_alive(): time.sleep(0.05)\n"
        "time.sleep(1.0)\n"
        "assert '_picture_timer' not in ex.__dict__  # redrawn by its timer, before this cell ends\n"
        "(out / 'final.png').write_bytes(ex._static_png())\n"
        "(out / 'pca.png').write_bytes(nbviz.EmbeddingExplorer(X, labels=y, method='pca')._static_png())\n"
        "None"
    ),
    "gradcam": "g = nbviz.GradCamViewer(cnn, images, layer='2', classes=['p', 'q', 'r'])\ng",
    "probmap": "nbviz.ProbMapPlayer(rec)",
    "graph": "nbviz.ModelGraph(cnn, images[:1])",
    "components": "ex.components(3)",
    "compare": "nbviz.EmbeddingExplorer.compare({'one': X, 'two': X + rng.normal(0, 0.5, X.shape)}, labels=y)",
    "sketchpad": "nbviz.GradCamViewer.sketchpad(cnn, '2', shape=(1, 8, 8))",
}
# The last cell changes a view shown earlier: its picture is redrawn when the cell ends, while it still runs.
LAST = "g.index = 2\n(out / 'gradcam.png').write_bytes(g._static_png())\nNone"


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[nbformat.NotebookNode, Path]:
    from nbclient import NotebookClient

    out = tmp_path_factory.mktemp("executed")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP.format(out=str(out)))]
    nb.cells += [nbformat.v4.new_code_cell(src, metadata={"view": name}) for name, src in VIEWS.items()]
    nb.cells.append(nbformat.v4.new_code_cell(LAST))
    NotebookClient(nb, timeout=240, kernel_name="python3", store_widget_state=True).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, "\n".join(e["evalue"] for e in errors)
    return nb, out


def widget_cells(nb: nbformat.NotebookNode) -> dict[str, list]:
    return {c.metadata["view"]: c.outputs for c in nb.cells if c.metadata.get("view") in VIEWS
            and any(WIDGET_MIME in o.get("data", {}) for o in c.outputs)}


def test_every_view_is_followed_by_its_picture_and_carries_none_itself(executed):
    nb, _ = executed
    cells = widget_cells(nb)
    assert set(cells) == set(VIEWS) - {"explorer_wait"}
    for name, outputs in cells.items():
        # The last widget output is the view (the explorer's first is its progress bar); its picture follows.
        at = max(i for i, o in enumerate(outputs) if WIDGET_MIME in o.get("data", {}))
        assert "image/png" not in outputs[at]["data"], f"{name}: the view's own output holds a picture (shown twice)"
        picture = outputs[at + 1]["data"]
        assert STATIC_PNG_MARK in picture.get("image/png", ""), f"{name}: no marked picture after the view"
    assert "colab" not in json.dumps(nb.cells[1].outputs)  # Colab's metadata only in Colab


def test_saved_explorer_picture_is_the_background_projection(executed):
    nb, out = executed
    outputs = widget_cells(nb)["explorer"]
    saved = base64.b64decode(next(o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})))
    final, pca = (out / "final.png").read_bytes(), (out / "pca.png").read_bytes()
    assert final != pca
    # Updated by display id when the t-SNE layout arrived: the output shows it, not the PCA drawn at first.
    assert saved == mark_static_png(final)


def test_a_change_in_the_last_cell_is_in_the_saved_picture(executed):
    nb, out = executed
    outputs = widget_cells(nb)["gradcam"]
    saved = base64.b64decode(next(o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})))
    assert saved == mark_static_png((out / "gradcam.png").read_bytes())


def test_saved_state_holds_the_probmap_frames(executed):
    nb, _ = executed
    models = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (player,) = [m for m in models.values() if "stored_frames" in m["state"]]
    (copy,) = player["state"]["stored_frames"]
    assert copy["count"] == 2 and copy["map_chunks"] == 1
    buffers = [b for b in player["buffers"] if b["path"][0] == "stored_frames"]
    assert len(buffers) == 2 * 2  # a map and the points' predictions per frame, in the state itself
    assert len(base64.b64decode(buffers[0]["data"])) == 12 * 12 * 2


def test_html_export_shows_a_picture_of_every_view_offline(executed, tmp_path, browser):
    from nbconvert import HTMLExporter

    nb, _ = executed
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {})
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page_path = tmp_path / "export.html"
    page_path.write_text(html, encoding="utf-8")
    css = "\n".join((STATIC / f"{name}.css").read_text(encoding="utf-8") for name in ("embedding_explorer",))
    blocked: list[str] = []

    def guard(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page = browser.new_page()
    try:
        page.route("**/*", guard)
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        shown = page.evaluate(PICTURES_JS)
        # Online, the widget manager renders each view (a .nbviz-root) and injects the widgets' CSS: the
        # picture beside a rendered view is hidden, so it is not shown twice.
        page.add_style_tag(content=css)
        hidden = page.evaluate(ONLINE_JS)
    finally:
        page.close()
    assert any("jsdelivr" in u or "unpkg" in u for u in blocked), "the export did not try to load the widget CDN"
    assert len(shown) == len(VIEWS) - 1, shown
    for item in shown:
        assert item["visible"] and item["width"] > 16, f"view {item['index']}: its picture is not shown offline"
        assert item["spread"] > 10, f"view {item['index']}: its picture is blank"
    assert hidden == {"pictures": len(shown), "hidden": len(shown), "others_shown": True}


# For every widget output: the next output's marked picture, whether it is visible and how varied its pixels are.
PICTURES_JS = """
() => {
  const mark = MARK;
  const views = [...document.querySelectorAll('.jp-OutputArea-child')]
    .filter((c) => c.querySelector('script[type="application/vnd.jupyter.widget-view+json"]'))
    .filter((c) => !(c.nextElementSibling && c.nextElementSibling.querySelector(
      'script[type="application/vnd.jupyter.widget-view+json"]')));  // a progress bar before its view
  return views.map((c, index) => {
    const img = c.nextElementSibling && c.nextElementSibling.querySelector('img');
    if (!img || !img.src.includes(mark)) return { index, visible: false, width: 0, spread: 0 };
    const box = img.getBoundingClientRect();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let lo = 255, hi = 0;
    for (let i = 0; i < px.length; i += 4) {
      const v = (px[i] + px[i + 1] + px[i + 2]) / 3;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const style = getComputedStyle(c.nextElementSibling);
    return { index, visible: style.display !== 'none' && box.width > 0 && box.height > 0,
             width: img.naturalWidth, spread: hi - lo };
  });
}
""".replace("MARK", json.dumps(STATIC_PNG_MARK))

# Stand in for the widget manager: put a rendered root in every view's output, then count the pictures hidden.
ONLINE_JS = """
() => {
  const mark = MARK;
  const pictures = [...document.querySelectorAll('img')].filter((img) => img.src.includes(mark));
  const other = document.createElement('div');
  other.className = 'jp-OutputArea-child';
  other.innerHTML = '<div class="jp-RenderedImage jp-OutputArea-output">'
    + '<img src="data:image/png;base64,iVBORw0KGgo="></div>';
  document.querySelector('.jp-OutputArea-child').after(other);  // a user's own image after a widget output
  for (const s of document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')) {
    const root = document.createElement('div');
    root.className = 'nbviz-root';
    s.parentElement.append(root);
  }
  const hidden = pictures.filter((img) => getComputedStyle(img.closest('.jp-OutputArea-child')).display === 'none');
  return { pictures: pictures.length, hidden: hidden.length,
           others_shown: getComputedStyle(other).display !== 'none' };
}
""".replace("MARK", json.dumps(STATIC_PNG_MARK))


def test_picture_pixels_are_drawn(executed):
    nb, _ = executed
    for name, outputs in widget_cells(nb).items():
        png = next(o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {}))
        img = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB"))
        assert img.std() > 5, f"{name}: blank picture"
