"""The picture a notebook keeps of every nbviz view: shown after the view, redrawn when the view changes.

See ``nbviz.widgets.base.PictureOutput``; tests/test_exported_html.py runs the same in a real kernel (nbclient)
and opens the HTML export in Chromium.
"""

from __future__ import annotations

import base64
import io
import sys
import threading
import time
import types

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import nbviz
from nbviz.export import STATIC_PNG_MARK, mark_static_png, to_png
from nbviz.widgets.base import PICTURE_DELAY_S, STATIC

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shown(monkeypatch):
    """What IPython's display / update_display were given: [(kind, data, kwargs)]."""
    import IPython.display

    calls: list[tuple[str, dict, dict]] = []
    monkeypatch.setattr(IPython.display, "display", lambda data, **kw: calls.append(("display", data, kw)))
    monkeypatch.setattr(IPython.display, "update_display", lambda data, **kw: calls.append(("update", data, kw)))
    return calls


def pixels(data: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGBA"))


def settle(calls: list, count: int = 1, timeout: float = 10.0) -> list:
    """The update_display calls once ``count`` arrived (the picture is redrawn on a timer)."""
    deadline = time.monotonic() + timeout
    while sum(c[0] == "update" for c in calls) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(PICTURE_DELAY_S + 0.1)  # and no more than that
    return [c for c in calls if c[0] == "update"]


def digits_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def clusters(n: int = 60, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(3 * c, 1, (n, d)) for c in range(3)]).astype(np.float32)
    return x, np.repeat(["ant", "bee", "cat"], n)


def recorder(epochs: int = 2) -> nbviz.ProbMapRecorder:
    p = np.random.default_rng(1).normal(size=(40, 2))
    rec = nbviz.ProbMapRecorder(p, (p[:, 0] > 0).astype(int), resolution=12, background=False)
    for e in range(epochs):
        rec.record(lambda z, e=e: np.stack([z[:, 0] * (e + 1), -z[:, 0] + e], 1), e)
    return rec


VIEWS = {
    "explorer": lambda: nbviz.EmbeddingExplorer(*clusters(), method="pca"),
    "gradcam": lambda: nbviz.GradCamViewer(digits_cnn(), torch.rand(4, 1, 8, 8), layer="2"),
    "probmap": lambda: nbviz.ProbMapPlayer(recorder()),
    "graph": lambda: nbviz.ModelGraph(nn.Sequential(digits_cnn()[:2], digits_cnn()[2:]), torch.rand(1, 1, 8, 8)),
    "components": lambda: nbviz.EmbeddingExplorer(*clusters(), method="pca").components(3),
    "compare": lambda: nbviz.EmbeddingExplorer.compare({"a": clusters()[0], "b": clusters()[0][:, ::-1]},
                                                       labels=clusters()[1]),
    "sketchpad": lambda: nbviz.GradCamViewer.sketchpad(digits_cnn(), "2", shape=(1, 8, 8)),
}


def test_the_mark_is_in_every_picture_and_the_css_hides_marked_pictures_beside_a_view():
    for size in [(1, 1), (5, 7), (480, 640)]:
        png = mark_static_png(to_png(np.zeros((*size, 4), np.uint8)))
        assert mark_static_png(png) == png  # marked once
        assert STATIC_PNG_MARK in base64.b64encode(png).decode()
        assert Image.open(io.BytesIO(png)).size == size[::-1]
    rule = f'.jp-OutputArea-child:has(.nbviz-root)+.jp-OutputArea-child:has(img[src*={STATIC_PNG_MARK}])'
    for bundle in ("embedding_explorer", "gradcam_viewer", "prob_map_player", "model_graph", "components_view",
                   "panel", "sketch_input"):
        css = "".join((STATIC / f"{bundle}.css").read_text(encoding="utf-8").split()).replace('"', "")
        assert rule in css, f"{bundle}.css does not hide the picture"


@pytest.mark.parametrize("name", list(VIEWS))
def test_a_view_is_shown_with_its_picture_after_it(name, shown):
    obj = VIEWS[name]()
    obj._ipython_display_()
    (k1, view, kw1), (k2, picture, kw2) = shown
    assert WIDGET_MIME in view and "image/png" not in view, "the view's own output must not hold the picture"
    assert kw1.get("raw") and "display_id" not in kw1
    assert set(picture) == {"image/png"} and kw2.get("display_id") and kw2.get("raw")
    assert STATIC_PNG_MARK in picture["image/png"] and pixels(picture).std() > 5
    # Hosts that only ask for a bundle (marimo) get the view and the picture in one.
    data, _ = obj._repr_mimebundle_()
    assert WIDGET_MIME in data and data["image/png"] == picture["image/png"]


def test_explorer_picture_follows_recolour_selection_and_hidden_categories_once_per_burst(shown):
    x, y = clusters()
    ex = nbviz.EmbeddingExplorer(x, labels=y, metadata={"size": np.arange(len(x), dtype=float)}, method="pca")
    ex._ipython_display_()
    display_id = shown[1][2]["display_id"]
    first = pixels(shown[1][1])
    ex.color_by("column:size")  # sets five traits
    ex.selection = np.arange(10)
    updates = settle(shown)
    assert len(updates) == 1 and updates[0][2] == {"display_id": display_id, "raw": True}
    recoloured = pixels(updates[0][1])
    assert not np.array_equal(first, recoloured)
    shown.clear()
    ex.color_by("label")
    ex.hidden_categories = [1]
    hidden = pixels(settle(shown)[0][1])
    # The hidden class's points are gone, its legend entry greyed.
    bee = tuple(np.asarray(ex.palette)[1])
    assert (first == bee).all(-1).sum() > 500 and (hidden == bee).all(-1).sum() < 60  # the swatch's outline


def test_a_change_from_another_thread_updates_the_picture(shown):
    ex = VIEWS["explorer"]()
    ex._ipython_display_()
    shown.clear()
    worker = threading.Thread(target=lambda: setattr(ex, "points", np.asarray(ex.points)[:, ::-1].copy()))
    worker.start()
    worker.join()
    assert len(settle(shown)) == 1
    shown.clear()
    ex.focus = 3
    ex.refresh_picture()  # now, not after the delay
    assert [c[0] for c in shown] == ["update"]
    assert settle(shown, timeout=0) == [shown[0]]  # the pending redraw was the one done


def test_explorer_picture_carries_the_legend_or_the_colour_bar():
    x, y = clusters()
    ex = nbviz.EmbeddingExplorer(x, labels=y, method="pca", height=300)
    img = pixels({"image/png": base64.b64encode(ex._static_png()).decode()})
    plot_w = 640
    assert img.shape[1] > plot_w + 100  # a legend to the right of the plot
    legend = img[:, plot_w:]
    for rgba in np.asarray(ex.palette)[:3]:
        assert (legend == rgba).all(-1).sum() >= 50, "a class swatch is missing from the legend"
    assert (legend[..., :3].max(-1) < 90).sum() > 30, "the legend has no names"
    ex2 = nbviz.EmbeddingExplorer(x, colors=np.arange(len(x)), method="pca", height=300)
    bar = pixels({"image/png": base64.b64encode(ex2._static_png()).decode()})[:, plot_w:]
    lut = np.asarray(ex2.colormap_lut)
    for rgba in (lut[0], lut[255]):
        assert (bar == rgba).all(-1).sum() >= 10, "the colour bar misses an end of the colormap"


def test_other_views_redraw_on_their_changes(shown):
    viewer = VIEWS["gradcam"]()
    player = VIEWS["probmap"]()
    graph = VIEWS["graph"]()
    for obj, change in ((viewer, lambda: setattr(viewer, "index", 2)),
                        (player, lambda: setattr(player, "epoch", 0)),
                        (graph, lambda: setattr(graph, "expanded", []))):
        shown.clear()
        obj._ipython_display_()
        before = shown[1][1]["image/png"]
        change()
        updates = settle(shown)
        assert len(updates) == 1 and updates[0][1]["image/png"] != before, type(obj).__name__


@pytest.mark.parametrize("host", ["vscode", "colab"])
def test_where_the_css_cannot_hide_a_picture_the_view_carries_it(host, shown, monkeypatch):
    # VS Code draws PNGs from blob URLs and Colab lays outputs out its own way: a separate picture would show
    # under the live view there, so the view's own output holds it (one output, as marimo's bundle).
    if host == "vscode":
        monkeypatch.setenv("VSCODE_PID", "4242")
    else:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    VIEWS["explorer"]()._ipython_display_()
    ((_, data, kwargs),) = shown
    assert WIDGET_MIME in data and "image/png" in data and kwargs.get("raw")


def test_composites_follow_their_parts_and_carry_colab_metadata(shown, monkeypatch):
    x, y = clusters()
    cmp = VIEWS["compare"]()
    cmp._ipython_display_()
    composite = pixels(shown[1][1])
    single = pixels({"image/png": base64.b64encode(cmp.explorers[0]._static_png()).decode()})
    assert composite.shape[1] > 2 * single.shape[1] and composite.shape[0] > single.shape[0]  # side by side + summary
    shown.clear()
    cmp.explorers[0].selection = np.arange(20)  # linked: both explorers change, one redraw
    assert len(settle(shown)) == 1
    pad = VIEWS["sketchpad"]()
    shown.clear()
    pad._ipython_display_()
    shown.clear()
    pad.draw(40, 40)
    assert len(settle(shown)) == 1
    # In Colab the composite's output carries anywidget's metadata, as every anywidget view's does.
    colab = types.ModuleType("google.colab.output")
    colab.enable_custom_widget_manager = lambda: None
    colab._widgets = types.SimpleNamespace(_installed_url="https://colab.example/manager.js")
    monkeypatch.setitem(sys.modules, "google.colab.output", colab)
    _, metadata = pad._repr_mimebundle_()
    assert metadata[WIDGET_MIME]["colab"]["custom_widget_manager"]["url"] == "https://colab.example/manager.js"


def test_probmap_frames_live_in_the_state_without_resending_them_per_epoch():
    p = np.random.default_rng(1).normal(size=(40, 2))
    rec = nbviz.ProbMapRecorder(p, (p[:, 0] > 0).astype(int), resolution=12, background=False)
    player = nbviz.ProbMapPlayer(rec, chart=False)
    sent: list[int] = []
    player.observe(lambda c: sent.append(len(c["new"][0]["buffers"]) // 2), names="stored_frames")
    for e in range(6):
        rec.record(lambda z, e=e: np.stack([z[:, 0] * (e + 1), -z[:, 0]], 1), e)
    # Re-sent when the count doubles (1, 2, 4 frames), not on every epoch; the rest when recording goes quiet
    # or the cell ends.
    assert sent == [1, 2, 4]
    player._cell_ended()
    assert sent == [1, 2, 4, 6]
    state = player.get_state()["stored_frames"][0]
    assert state["count"] == 6 and state["map_chunks"] == 1
    maps = state["buffers"][0::2]
    for k, frame in enumerate(rec.frames):
        np.testing.assert_array_equal(np.frombuffer(maps[k], np.uint8).reshape(frame.shape), frame)
    # A player made after the recording has them in its first state.
    late = nbviz.ProbMapPlayer(rec, chart=False)
    assert late.stored_frames[0]["count"] == 6


def test_big_maps_travel_in_chunks(monkeypatch):
    from nbviz.widgets import arrays

    monkeypatch.setattr(arrays, "CHUNK_BYTES", 100)
    monkeypatch.setattr(arrays.array_to_json, "__defaults__", (None, 100))
    player = nbviz.ProbMapPlayer(recorder(1), chart=False)
    content, buffers = player._frame_message(0, 1)
    assert content["map_chunks"] == -(-12 * 12 * 2 // 100) and all(len(b) <= 100 for b in buffers)
    assert b"".join(bytes(b) for b in buffers[:content["map_chunks"]]) == player.recs[0].frames[0].tobytes()


def test_static_pictures_are_cheap(capsys):
    """Every redraw pays this, and the first show of a view in a fresh kernel too."""
    times = {}
    for name, make in VIEWS.items():
        obj = make()
        obj._static_png()  # the first call may import Pillow's font
        start = time.perf_counter()
        obj._static_png()
        times[name] = time.perf_counter() - start
    with capsys.disabled():
        print("\n_static_png seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in times.items()))
    assert max(times.values()) < 1.0, times  # measured ~0.01-0.03 s alone, ~0.13 s for compare's five


@pytest.mark.parametrize("env", [{"SERVER_SOFTWARE": "voila/0.5.8"}, {"VOILA_BASE_URL": "/"}])
def test_voila_pages_skip_the_picture_nobody_sees_but_save_still_draws(monkeypatch, env):
    ex = nbviz.EmbeddingExplorer(np.random.default_rng(0).normal(size=(300, 2)))
    assert "image/png" in ex._repr_mimebundle_()[0]  # a notebook keeps it
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    data = ex._repr_mimebundle_()[0]
    assert WIDGET_MIME in data and "image/png" not in data
    assert ex.to_png()[:8] == b"\x89PNG\r\n\x1a\n"  # asked for, it is drawn
