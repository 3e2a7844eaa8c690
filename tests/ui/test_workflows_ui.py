"""The origins' workflows end to end in Voila + Chromium: an image folder and a checkpoint to an explorer with
neighbour images and labelled copies named after their sources; a layout computed elsewhere drawn as given, with
aligned sets behind a slider."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from nbviz.export import fit_to_canvas

from .harness import ready_root, wait_for_json
from .test_embedding_explorer_ui import click_point, open_voila

FOLDER_AND_CHECKPOINT = """
import numpy as np, torch, torch.nn as nn, nbviz
from pathlib import Path
from PIL import Image
from sklearn.datasets import load_digits
d = load_digits()
root = Path({root!r})
for i in range(120):
    folder = root / "images" / f"digit{{d.target[i]}}"
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray((d.images[i] * 16).clip(0, 255).astype("uint8")).resize((16, 16)).save(folder / f"scan{{i}}.png")

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.projection_head = nn.Linear(32, 4)
    def forward(self, x):
        return self.projection_head(self.backbone(x))

torch.manual_seed(0)
torch.save(Net().state_dict(), root / "ssl.pt")
f = nbviz.Features.from_checkpoint(root / "ssl.pt", Net, data=nbviz.ImageFolder(root / "images", mode="L"),
                                   progress=False)
ex = nbviz.EmbeddingExplorer(f, method="pca", nside=2, point_size=6, height=420, label_dir=root / "labels")
ex.selection = [5, 17]
np.save(root / "embeddings.npy", f.embeddings)
nbviz_probe(ex, "focus", "error")
ex
"""


def test_a_folder_and_a_checkpoint_reach_the_explorer_and_labels_keep_file_names(page, voila, tmp_path):
    probe = open_voila(page, voila, "folder_ckpt_voila", [FOLDER_AND_CHECKPOINT.format(root=str(tmp_path))])
    root = ready_root(page)
    assert wait_for_json(probe / "error.json") == ""
    embeddings = np.load(tmp_path / "embeddings.npy")
    assert embeddings.shape == (120, 32)
    # The listing is by path: digit0/scan0.png, digit0/scan10.png ... and the legend shows the subfolder names.
    legend = root.locator(".nbviz-legend li").all_text_contents()
    assert any("digit0" in t for t in legend) and any("digit9" in t for t in legend)
    target = 5
    click_point(page, root, target)
    assert wait_for_json(probe / "focus.json", lambda v: v != -1) == target
    panel = root.locator(f'.nbviz-neighbors[data-for="{target}"]')
    panel.wait_for(timeout=20_000)
    assert panel.locator("img").evaluate_all("imgs => imgs.length === 4 && imgs.every(i => i.naturalWidth > 0)")
    # Label the selection from the view: each copy keeps its source's file name, and the CSV records the source.
    root.locator(".nbviz-label-input").fill("keep")
    root.locator(".nbviz-label-selection").click()
    root.locator(".nbviz-label-status").filter(has_text="labelled 2 as keep").wait_for(timeout=20_000)
    rows = list(csv.DictReader((tmp_path / "labels" / "annotations.csv").open()))
    assert [r["index"] for r in rows] == ["5", "17"] and all(r["label"] == "keep" for r in rows)
    for r in rows:
        source, copy = Path(r["source"]), tmp_path / "labels" / r["file"]
        assert source.parent.parent == tmp_path / "images" and copy.name == source.name
        assert copy.read_bytes() == source.read_bytes()
    assert not page.page_errors


GIVEN_LAYOUTS = """
import numpy as np, nbviz
from sklearn.datasets import load_digits
d = load_digits()
x = d.data[:200]
t = np.linspace(0, 1, 200)
line = np.stack([t, 2 * t + 0.1 * np.sin(20 * t)], 1)
ring = np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t)], 1)
np.save({path!r}, np.stack([line, ring]))
ex = nbviz.EmbeddingExplorer({{"line": x, "ring": x ** 2}}, labels=d.target[:200], xy={{"line": line, "ring": ring}},
                             point_size=4, height=420)
nbviz_probe(ex, "layout_index", "error")
ex
"""


def _screen_positions(root, n: int) -> np.ndarray:
    return np.array(root.evaluate("(el, n) => Array.from({length: n}, (_, i) => el.nbviz.screenPosition(i))", n))


def test_a_given_layout_is_drawn_as_given_and_the_slider_switches_sets(page, voila, tmp_path):
    path = tmp_path / "layouts.npy"
    probe = open_voila(page, voila, "given_layout_voila", [GIVEN_LAYOUTS.format(path=str(path))])
    root = ready_root(page)
    layouts = np.load(path)
    box = root.locator("canvas").first.bounding_box()
    w, h = round(box["width"]), round(box["height"])
    for index in (0, 1):
        if index:
            root.locator(".nbviz-layout-slider").fill("1")
            assert wait_for_json(probe / "layout_index.json", lambda v: v == 1) == 1
            page.wait_for_timeout(1200)  # the animation between layouts
        assert root.locator(".nbviz-layout-name").inner_text() == ("line", "ring")[index]
        drawn = _screen_positions(root, 200)
        expected = fit_to_canvas(layouts[index], w, h)
        # The same picture up to the view's own margin: an affine fit leaves under a pixel.
        a = np.c_[expected, np.ones(200)]
        coef, *_ = np.linalg.lstsq(a, drawn, rcond=None)
        assert np.abs(a @ coef - drawn).max() < 1.0
        assert coef[0, 0] > 0 and coef[1, 1] > 0  # not mirrored
    assert wait_for_json(probe / "error.json") == ""
    assert not page.page_errors
