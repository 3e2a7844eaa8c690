"""``save("x.html")`` for every widget: one self-contained file with no external reference, holding what the view
asks Python for (neighbours, other classes' maps, module details, frames); ``save`` refuses bad paths clearly."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import nbviz
from nbviz.widgets import explorer_export
from nbviz.widgets.embedding_explorer import EmbeddingExplorer
from nbviz.widgets.gradcam_viewer import GradCamViewer
from nbviz.widgets.html_page import NO_KERNEL
from nbviz.widgets.model_graph import ModelGraph

#: A reference that would make the browser fetch something: src/href/url()/import of a URL, or a CDN host.
EXTERNAL = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//)|(?:url\(\s*["']?\s*(?:https?:)?//)"""
                      r"""|(?:\bimport\s*\(?\s*["'](?:https?:)?//)|jsdelivr|unpkg\.com|cdnjs|esm\.sh""", re.I)


def explorer(n: int = 60) -> EmbeddingExplorer:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    images = (rng.random((n, 8, 8)) * 255).astype(np.uint8)
    return EmbeddingExplorer(x, labels=rng.integers(0, 3, n), images=images, method="pca", nside=3)


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))


def viewer() -> GradCamViewer:
    return GradCamViewer(cnn(), torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(2)), layer="2",
                         classes=list("abcd"), topk=3)


def graph() -> ModelGraph:
    return ModelGraph(cnn(), torch.rand(1, 1, 8, 8), depth=0)


def player() -> nbviz.ProbMapPlayer:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2))
    rec = nbviz.ProbMapRecorder(x, (x[:, 0] > 0).astype(int), resolution=8)
    for e in (0, 1):
        rec.record(lambda z, e=e: np.stack([z[:, 0] * e, -z[:, 0]], 1), e)
    return nbviz.ProbMapPlayer(rec, chart=False)


MAKERS = {"explorer": explorer, "gradcam": viewer, "graph": graph, "probmap": player}


def page_data(page: str) -> dict:
    blob = re.search(r'<script type="application/json" id="nbviz-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(blob)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_save_html_writes_one_self_contained_page(name, tmp_path):
    widget = MAKERS[name]()
    path = widget.save(tmp_path / "x.html")
    assert path == tmp_path / "x.html" and sorted(p.name for p in tmp_path.iterdir()) == ["x.html"]
    page = path.read_text(encoding="utf-8")
    assert EXTERNAL.search(page) is None, EXTERNAL.search(page).group(0)
    # Its own two scripts only; the bundle, the stand-in model and the data are inline.
    assert page.count("<script") == 2 and "<link" not in page
    data = page_data(page)
    assert data["state"] and set(data) == {"state", "blobs", "replies", "reactions", "kernel_traits"}
    widget.close()


def test_explorer_page_holds_neighbours_images_and_tooltips():
    ex = explorer()
    data = page_data(ex.to_html())
    neighbors = data["replies"]["neighbors"]["table"]
    assert len(neighbors) == 60 and len(data["replies"]["item"]["table"]) == 60
    reply = neighbors["7"]
    idx, dist = ex.neighbors(7)
    assert reply["content"]["indices"] == [7, *idx.tolist()] and len(reply["buffers"]) == 9
    np.testing.assert_allclose(reply["content"]["distances"][1:], dist, rtol=1e-5)
    # Each item's image is stored once, shared by every reply showing it.
    assert len(data["blobs"]) < 60 + 20
    assert "missing" not in data["replies"]["neighbors"]


def test_explorer_page_holds_thumbnails_and_the_neighbours_of_each_aligned_layout():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    images = (rng.random((40, 6, 6)) * 255).astype(np.uint8)
    ex = EmbeddingExplorer({"a": a, "b": b}, images=images, method="pca", nside=2, thumbnails=True)
    data = page_data(ex.to_html())
    neighbors = data["replies"]["neighbors"]
    assert neighbors["state"] == ["layout_index"] and len(neighbors["table"]) == 80
    assert neighbors["table"]["1|5"]["content"]["indices"][1:] == ex._neighbor_index(1).query(5, 3)[0].tolist()
    (reaction,) = data["reactions"]  # the slider: Python puts that layout's points in `points`
    assert reaction["on"] == ["layout_index"] and set(reaction["table"]) == {"0", "1"}
    thumbs = data["replies"]["thumbnails"]["table"][str(ex.thumbnail_size)]
    assert thumbs["content"]["indices"] == list(range(40)) and len(thumbs["buffers"]) == 1


def test_explorer_page_above_the_limit_paints_and_says_neighbours_need_a_kernel(monkeypatch):
    monkeypatch.setattr(explorer_export, "HTML_NEIGHBOR_LIMIT", 50)
    data = page_data(explorer().to_html())
    assert data["state"]["points"] is not None
    for kind in ("neighbors", "item", "thumbnails"):
        assert data["replies"][kind]["table"] == {}
        assert NO_KERNEL in data["replies"][kind]["missing"] and "50" in data["replies"][kind]["missing"]


def test_gradcam_page_holds_the_top_k_maps_of_every_image_and_leaves_the_view_as_it_was():
    v = viewer()
    v.index = 2
    calls, shown = v.computations, v.get_state(["heatmap", "top_classes", "shown_target"])
    data = page_data(v.to_html())
    assert v.computations == calls + 2  # one batched pass per extra rank (topk=3), not one per image and class
    assert (v.index, v.target) == (2, -1) and v.get_state(["heatmap", "top_classes", "shown_target"]) == shown
    (reaction,) = data["reactions"]
    assert reaction["on"] == ["index", "target"] and reaction["fallback"] == {"target": -1}
    for i in range(5):
        top = [c["index"] for c in reaction["table"][f"{i}|-1"]["top_classes"]]
        assert len(top) == 3 and all(f"{i}|{c}" in reaction["table"] for c in top)
    c = top[1]  # another class than the predicted one shows its own map, as Python draws it
    v.index, v.target = 4, c
    entry = reaction["table"][f"4|{c}"]
    assert entry["shown_target"] == c == v.shown_target
    saved = b"".join(base64.b64decode(data["blobs"][ref["$blob"]]) for ref in entry["heatmap"]["chunks"])
    assert saved == np.asarray(v.heatmap).tobytes() and entry["heatmap"]["shape"] == list(v.heatmap.shape)
    assert data["state"]["layers"] == ["2"] and "layer" in data["kernel_traits"]


def test_gradcam_page_of_a_method_without_layer():
    v = GradCamViewer(cnn(), torch.rand(3, 1, 8, 8), method="saliency", topk=2)
    data = page_data(v.to_html())
    assert data["state"]["layers"] == [] and len(data["reactions"][0]["table"]) >= 3


def test_graph_page_holds_the_details_of_every_module():
    g = graph()
    details = page_data(g.to_html())["replies"]["details"]
    assert details["key"] == "path"
    assert {"", "0", "2", "6"} <= set(details["table"])
    assert details["table"]["0"]["content"]["type"] == "Conv2d"


def test_probmap_page_holds_every_frame():
    p = player()
    frames = page_data(p.to_html())["replies"]["frames"]
    assert frames["key"] == "run" and frames["table"]["0"]["content"]["count"] == 2


@pytest.mark.parametrize("name", ["explorer", "gradcam", "graph"])
def test_save_png_is_to_png(name, tmp_path):
    widget = MAKERS[name]()
    assert widget.save(tmp_path / "x.PNG").read_bytes() == widget.to_png()


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_save_refuses_bad_paths_naming_them(name, tmp_path):
    widget = MAKERS[name]()
    with pytest.raises(ValueError, match=r"must end in one of .*\.html.*'x\.htm'"):
        widget.save(tmp_path / "x.htm")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        widget.save(tmp_path / "nowhere" / "x.html")
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        widget.save(tmp_path)
    with pytest.raises(TypeError, match="path must be a str"):
        widget.save(3)
    existing = tmp_path / "x.html"
    existing.write_text("keep")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        widget.save(existing)
    assert existing.read_text() == "keep"
    assert widget.save(Path(existing), overwrite=True).read_text(encoding="utf-8").startswith("<!doctype html>")
