"""Widgets are freed after close(): nothing global (anywidget's file watcher, ipywidgets' registry of open widgets,
a recorder's listeners) keeps a closed widget, or the user's model and data, alive; RSS stays flat over many."""

from __future__ import annotations

import gc
import os
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import nbviz
from nbviz import EmbeddingExplorer
from nbviz.kernels.attribution import grad_cam
from nbviz.widgets.gradcam_viewer import GradCamViewer
from nbviz.widgets.model_graph import ModelGraph

#: Widgets of each kind made and closed for the RSS check, and grad_cam calls.
ROUNDS, GRAD_CAM_CALLS = 200, 500
#: Largest RSS growth allowed over those rounds, as a share of the RSS after warming up.
RSS_GROWTH = 0.05


def rss() -> int:
    """Resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))


def recorder() -> nbviz.ProbMapRecorder:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    rec = nbviz.ProbMapRecorder(x, (x[:, 0] > 0).astype(int), resolution=8)
    rec.record(lambda z: np.stack([z[:, 0], -z[:, 0]], 1), 0, loss=1.0)
    return rec


# Each maker returns (widgets to close, objects of the user's that must be freed with them).
def make_explorer() -> tuple[list[Any], list[Any]]:
    # 20k points: ~0.5 MiB a widget, so 200 leaked ones would show well above the RSS bound.
    x = np.random.default_rng(0).normal(size=(20_000, 2)).astype(np.float32)
    return [EmbeddingExplorer(x, labels=np.arange(20_000) % 3, method=None)], [x]


def make_gradcam() -> tuple[list[Any], list[Any]]:
    model, x = cnn(), torch.rand(4, 1, 8, 8)
    return [GradCamViewer(model, x, layer="2")], [model, x]


def make_graph() -> tuple[list[Any], list[Any]]:
    model = cnn()
    return [ModelGraph(model, torch.rand(1, 1, 8, 8))], [model]


def make_player(chart: bool = True) -> tuple[list[Any], list[Any]]:
    rec = recorder()
    player = nbviz.ProbMapPlayer(rec, chart=chart)
    player._repr_mimebundle_()  # builds the box that shows the metrics chart under the map
    return [player], [rec]


def make_components() -> tuple[list[Any], list[Any]]:
    x = np.random.default_rng(0).normal(size=(60, 6)).astype(np.float32)
    ex = EmbeddingExplorer(x, method="pca")
    probe = ex.components(3)
    probe.view()
    return [ex, probe], [x, probe]


def make_comparison() -> tuple[list[Any], list[Any]]:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    comparison = EmbeddingExplorer.compare({"a": a, "b": b})
    comparison.view()
    return [comparison], [comparison, *comparison.explorers]


MAKERS: dict[str, Callable[[], tuple[list[Any], list[Any]]]] = {
    "EmbeddingExplorer": make_explorer, "GradCamViewer": make_gradcam, "ModelGraph": make_graph,
    "ProbMapPlayer": make_player, "ComponentsProbe": make_components, "compare": make_comparison,
}


def make_and_close(maker: Callable[[], tuple[list[Any], list[Any]]]) -> list[weakref.ref]:
    widgets, owned = maker()
    refs = [weakref.ref(o) for o in [*widgets, *owned]]
    for w in widgets:
        w.close()
    return refs


@pytest.mark.parametrize("kind", list(MAKERS))
def test_closed_widget_and_the_users_objects_are_freed(kind):
    refs = make_and_close(MAKERS[kind])
    gc.collect()
    alive = [type(r()).__name__ for r in refs if r() is not None]
    assert not alive, f"still alive after close() and gc: {alive}"


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS read from /proc (Linux)")
@pytest.mark.parametrize("kind", ["EmbeddingExplorer", "GradCamViewer", "ModelGraph", "ProbMapPlayer"])
def test_rss_is_flat_over_many_widgets(kind):
    # The chart's bqplot widgets are slow to make; test_closed_widget... checks they are freed.
    maker = (lambda: make_player(chart=False)) if kind == "ProbMapPlayer" else MAKERS[kind]
    for _ in range(10):  # warm up: caches, lazily imported modules, allocator pools
        make_and_close(maker)
    gc.collect()
    before = rss()
    for _ in range(ROUNDS):
        make_and_close(maker)
    gc.collect()
    growth = (rss() - before) / before
    print(f"{kind}: RSS {before / 2**20:.0f} MiB, +{100 * growth:.2f}% over {ROUNDS} widgets made and closed")
    assert growth < RSS_GROWTH


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS read from /proc (Linux)")
def test_rss_is_flat_over_many_grad_cam_calls():
    model, x = cnn(), torch.rand(1, 1, 8, 8)
    for _ in range(20):
        grad_cam(model, "2", x)
    gc.collect()
    before = rss()
    for _ in range(GRAD_CAM_CALLS):
        grad_cam(model, "2", x)
    gc.collect()
    growth = (rss() - before) / before
    print(f"grad_cam: RSS {before / 2**20:.0f} MiB, +{100 * growth:.2f}% over {GRAD_CAM_CALLS} calls")
    assert growth < RSS_GROWTH


def test_a_failed_constructor_keeps_nothing_alive():
    # The comm opens in ipywidgets' __init__, before the layer is checked: the half-made viewer must be closed.
    model = cnn()
    ref = weakref.ref(model)
    with pytest.raises(ValueError, match="layer"):
        GradCamViewer(model, torch.rand(2, 1, 8, 8), layer="no.such.layer")
    del model
    gc.collect()
    assert ref() is None
