"""ModelGraph state without a browser: traits against the captured graph, links, details, export, bad input."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
import traitlets as t
from PIL import Image
from torch import nn

from nbviz.kernels import graph as G
from nbviz.widgets.gradcam_viewer import GradCamViewer
from nbviz.widgets.model_graph import ModelGraph


def cnn() -> nn.Module:
    torch.manual_seed(0)
    block = lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())  # noqa: E731
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Sequential(block(), block(), block()),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


X = torch.rand(1, 1, 8, 8)


@pytest.fixture
def g() -> ModelGraph:
    return ModelGraph(cnn(), X, depth=2)


def test_traits_mirror_the_captured_graph(g):
    assert g.node_ids == [n["id"] for n in g.nodes] and len(g.node_ids) == len(g.node_paths)
    assert np.asarray(g.edge_index).shape == (len(g.edges), 2)
    src, dst = np.asarray(g.edge_index).T
    pairs = [(g.node_ids[s], g.node_ids[d]) for s, d in zip(src, dst, strict=True)]
    assert pairs == [(e["source"], e["target"]) for e in g.edges]
    assert np.asarray(g.node_params).dtype == np.uint32
    assert int(np.asarray(g.node_params).sum()) == sum(p.numel() for p in g._model.parameters())
    assert g.expanded == ["1"]
    assert g.folds == [{"id": "1.0..1.2", "members": ["1.0", "1.1", "1.2"], "label": "Sequential x 3"}]
    assert [n["type"] for n in g.visible()[0] if n["kind"] == "fold"] == ["Sequential x 3"]


def test_selected_is_validated_with_closest_names(g):
    g.selected = "1.1.0"
    assert g.selected_module is g._model[1][1][0]
    with pytest.raises(t.TraitError, match=r"selected: layer '1.1.9' is not in the model; closest valid names"):
        g.selected = "1.1.9"
    assert g.selected == "1.1.0"
    g.selected = ""
    assert g.selected_module is None
    # From the browser, a bad value lands in the error banner instead.
    g.set_state({"selected": "nope"})
    assert "closest valid names" in g.error and g.selected == ""


def test_expand_collapse_and_unknown_group(g):
    g.expand("1.0..1.2", "1.1")
    ids = [n["id"] for n in g.visible()[0]]
    assert "1.0" in ids and "1.2" in ids and "1.1" not in ids
    g.collapse("1")
    assert g.expanded == []
    with pytest.raises(t.TraitError, match=r"'1.7' is not one; closest: \[.*'1.1'"):
        g.expanded = ["1.7"]


def test_link_gradcam_viewer_follows_and_refuses_non_spatial_layers(g):
    model = g._model
    viewer = GradCamViewer(model, torch.rand(2, 1, 8, 8), layer="0")
    g.link(viewer)
    assert set(g.unusable) >= {"2", "3", "4"} and "1.1.0" not in g.unusable
    assert "single pixel" in g.unusable["2"]
    g.selected = "1.1.0"
    assert viewer.layer == "1.1.0" and g.error == ""
    # A layer the viewer cannot use: selected in the graph (its details show), the viewer keeps its layer and
    # the view says why in a note (no error banner); from Python and from a click alike.
    g.selected = "4"
    assert viewer.layer == "1.1.0" and g.selected == "4" and "not usable for Grad-CAM" in g.refusal
    assert g.error == ""
    g.selected = "1.1.0"
    assert viewer.layer == "1.1.0" and g.error == "" and g.refusal == ""
    g.set_state({"selected": "4"})  # a click
    assert viewer.layer == "1.1.0" and g.selected == "4" and "not usable for Grad-CAM" in g.refusal
    assert g.error == ""
    g.selected = "0"
    assert viewer.layer == "0" and g.error == "" and g.refusal == ""


def test_link_callable_and_layer_object(g):
    seen = []

    class Builder:
        layer = "0"

    b = Builder()
    g.link(seen.append).link(b)
    g.selected = "1.2"
    assert seen == ["1.2"] and b.layer == "1.2"
    with pytest.raises(TypeError, match="link\\(\\) takes a GradCamViewer"):
        g.link(3)


def test_details_request(g):
    d = g.details("4")
    assert d["type"] == "Linear" and d["total"] == 36
    assert d["params"] == [{"name": "weight", "shape": [4, 8], "count": 32, "trainable": True},
                           {"name": "bias", "shape": [4], "count": 4, "trainable": True}]
    assert d["repr"].startswith("Linear(in_features=8") and d["shape"] == [1, 4]
    sent = []
    g.send = lambda content, buffers=None: sent.append(content)
    g._dispatch_request(g, {"type": "details", "id": 3, "path": "1.9"}, [])
    assert sent[-1]["id"] == 3 and "closest valid names" in sent[-1]["error"]


def test_exports(g, tmp_path):
    dot = g.to_dot().source
    nodes, edges = g.visible()
    assert dot.count(" -> ") == len(edges) and "Sequential x 3" in dot
    assert g.to_dot(full=True).source.count(" -> ") == len(g.edges)
    assert g.save(tmp_path / "m.svg").read_text().startswith("<svg")
    png = g.save(tmp_path / "m.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "m.dot").exists() is False and g.save(tmp_path / "m.dot").read_text() == dot
    with pytest.raises(ValueError, match=r"path must end in one of \('.svg', '.png', '.dot', '.html'\)"):
        g.save(tmp_path / "m.pdf")
    data, _ = g._repr_mimebundle_()
    assert base64.b64decode(data["image/png"])[:4] == b"\x89PNG"


def view_layout(expanded: list[str], boxes: dict[str, tuple], width: float, height: float) -> dict:
    """The ``view_layout`` message a view sends (js/src/model_graph/layout.ts layoutReport), as the kernel gets it."""
    data = np.array(list(boxes.values()), dtype="<f4").reshape(-1, 4)
    return {"expanded": expanded, "ids": list(boxes), "width": width, "height": height,
            "boxes": {"dtype": "float32", "shape": list(data.shape), "chunks": [memoryview(data.tobytes())]}}


def test_exports_draw_the_view_layout_while_it_matches(g):
    """The PNG and SVG draw the boxes the view sent for the groups open now; before that, or once ``expanded``
    changed in Python, the Python layout."""
    nodes, _ = g.visible()
    assert g.view_layout == {}
    headless_png = g.to_png()
    # A stand-in view: every node in one row, 100 apart; the open group's frame around the middle ones.
    boxes = {n["id"]: (10.0 + 100 * i, 40.0, 90.0, 34.0) for i, n in enumerate(nodes)}
    boxes["frame:1"] = (5.0, 5.0, 300.0, 80.0)
    width, height = 20.0 + 100 * len(nodes), 100.0
    g.set_state({"view_layout": view_layout(list(g.expanded), boxes, width, height)})
    assert not g.error and list(g.view_layout["ids"]) == list(boxes)
    svg = g.to_svg()
    assert f'width="{width:.0f}" height="{height:.0f}"' in svg
    for n in nodes:  # each node's box where the view put it
        x, y, w, h = boxes[n["id"]]
        assert f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}"' in svg
    assert '<rect x="5.0" y="5.0" width="300.0" height="80.0" fill="#eeeeee"' in svg and "\u25be 1" in svg
    png = g.to_png()
    assert png != headless_png
    assert Image.open(io.BytesIO(png)).size == (2 * round(width), 2 * round(height))  # as on a high-density screen
    assert Image.open(io.BytesIO(g.to_png(width=200))).size == (200, round(height * 200 / width))
    # Python opens a group: the boxes are for another graph, so the Python layout draws it.
    g.expand("1.0..1.2")
    assert f'width="{width:.0f}" height="{height:.0f}"' not in g.to_svg()
    with pytest.raises(ValueError, match="width must be an int from 16 to 16384"):
        g.to_png(width=3)
    g.set_state({"view_layout": {"ids": ["1"], "boxes": None}})  # a broken message: the banner says what is missing
    assert "view_layout must hold expanded, ids, boxes" in g.error


def test_autograd_mode(g):
    a = ModelGraph(cnn(), X, mode="autograd", depth=0)
    assert a.mode == "autograd" and len(a.nodes) == len(G.capture(cnn(), X, "autograd").nodes)
    assert a.expanded == [] and {n["kind"] for n in a.visible()[0]} <= {"group", "fold", "tensor", "grad_fn"}
    # DOT is torchviz's own picture of the same graph (every node: torchviz draws no groups)
    dot = a.to_dot()
    assert type(dot).__name__ == "Digraph" and "fillcolor=lightblue" in dot.source  # torchviz's parameter style
    assert sum(" -> " in line for line in dot.body) == len(a.edges)
    assert len({line.split()[0] for line in dot.body if " -> " not in line and "[label=" in line}) == len(a.nodes)
    assert type(g.to_dot()).__name__ == "Digraph" and "lightblue" not in g.to_dot().source  # modules: nbviz's


def open_graphs() -> set[str]:
    from ipywidgets.widgets.widget import _instances

    return {k for k, w in _instances.items() if isinstance(w, ModelGraph)}


def test_state_reaches_the_browser_after_the_comm_opens(monkeypatch):
    """The comm opens before the capture (the browser loads the bundle meanwhile); the graph follows in one update."""
    sent: list[dict] = []
    monkeypatch.setattr(ModelGraph, "_send", lambda self, msg, buffers=None: sent.append(msg))
    g = ModelGraph(cnn(), X, depth=2)
    updates = [m["state"] for m in sent if m.get("method") == "update" and "node_ids" in m["state"]]
    assert len(updates) == 1 and {"node_ids", "edge_index", "groups", "folds", "expanded"} <= set(updates[0])
    assert g.node_ids and g.expanded == ["1"]


def test_bad_input():
    with pytest.raises(ValueError, match="depth must be an int >= 0"):
        ModelGraph(cnn(), X, depth=-1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        ModelGraph("resnet", X)
    open_before = open_graphs()
    with pytest.raises(RuntimeError, match="failed in module '0'"):
        ModelGraph(cnn(), torch.rand(1, 3, 8, 8))
    assert open_graphs() == open_before  # the comm opened before the capture is closed again
    with pytest.raises(ValueError, match="mode must be one of"):
        ModelGraph(cnn(), X, mode="graphviz")
    empty = ModelGraph(nn.Sequential(nn.ReLU()), torch.rand(2, 3))
    assert empty.nodes[1]["params"] == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_model_on_gpu_input_on_cpu():
    m = cnn().cuda()
    assert ModelGraph(m, X).nodes[1]["shape"] == "(1, 8, 8, 8)"
