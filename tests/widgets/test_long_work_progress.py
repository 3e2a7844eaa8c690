"""Long work shows progress: a tqdm bar and a widget progress state, only past the delay, both gone afterwards
(compare(), components(), ModelGraph's capture; nbviz.kernels.progress_steps)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn
from tqdm.notebook import tqdm as notebook_tqdm

import nbviz
import nbviz.kernels.graph as G
import nbviz.kernels.progress_steps as P
import nbviz.widgets.compare as C
import nbviz.widgets.components_view as CV
from nbviz.kernels.progress import progress_bar

#: The tests' delay (the library's is 0.5 s) and how long a slowed step sleeps past it.
DELAY, SLOW = 0.05, 0.2


@pytest.fixture
def bars(monkeypatch):
    """Notebook bars (ipywidgets), as in Jupyter, with a short delay; the bars made are listed."""
    made = []

    def make(total, **kwargs):
        made.append(progress_bar(total, tqdm_class=notebook_tqdm, **kwargs))
        return made[-1]

    monkeypatch.setattr(P, "progress_bar", make)
    monkeypatch.setattr(P, "DELAY_S", DELAY)
    return made


def slowed(fn, seconds=SLOW):
    def run(*args, **kwargs):
        time.sleep(seconds)
        return fn(*args, **kwargs)
    return run


def watch(widget, name="progress"):
    seen = []
    widget.observe(lambda c: seen.append(c["new"]), names=name)
    return seen


def assert_shown_then_gone(bar):
    assert bar.displayed, "slow work showed no bar"
    assert bar.container.layout.display == "none", "the finished bar still shows"
    assert bar.container.comm is not None  # hidden, not closed: a saved notebook's output still finds its model


def test_steps_show_nothing_for_quick_work_and_clear_after_slow_work(bars):
    reports = []
    with P.Steps(2, "quick", report=lambda f, s: reports.append((f, s))) as work:
        work.step("a")
        work.step("b")
    assert bars == [] and reports == [] and not work.shown  # not even a hidden bar: no widgets sent for nothing
    with P.Steps(2, "slow", report=lambda f, s: reports.append((f, s))) as work:
        work.step("a")
        time.sleep(SLOW)  # one long step: the timer shows the progress in its middle
        assert work.shown and reports == [(0.0, "a")] and bars[0].displayed
        work.step("b")
    assert_shown_then_gone(bars[0])
    assert bars[0].n == 1 and bars[0].postfix == "b"
    assert reports == [(0.0, "a"), (0.5, "b"), (-1.0, "")]


def test_failed_work_clears_its_progress(bars):
    reports = []
    with pytest.raises(RuntimeError, match="boom"), P.Steps(3, "fails", report=lambda f, s: reports.append(f)) as w:
        w.step("a")
        time.sleep(SLOW)
        raise RuntimeError("boom")
    assert_shown_then_gone(bars[0])
    assert reports[-1] == -1.0


def test_model_graph_capture_progress(bars, monkeypatch):
    model, x = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), torch.rand(1, 4)
    quick = nbviz.ModelGraph(model, x)
    assert bars == [] and quick.progress == -1.0 and quick.status == ""
    monkeypatch.setattr(G, "capture_modules", slowed(G.capture_modules))
    seen = []
    real_report = nbviz.ModelGraph._report
    monkeypatch.setattr(nbviz.ModelGraph, "_report", lambda self, f, s: seen.append((f, s)) or real_report(self, f, s))
    graph = nbviz.ModelGraph(model, x)
    assert_shown_then_gone(bars[-1])
    assert seen[0] == (0.0, "torch.fx trace and shapes") and seen[-1] == (-1.0, "")
    assert graph.progress == -1.0 and graph.status == "" and len(graph.nodes) == 5


def features(n=120, d=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_compare_progress(bars, monkeypatch):
    a, b = features(), features(seed=1)
    monkeypatch.setattr(P, "DELAY_S", 10.0)  # quick work: under the delay
    quick = nbviz.EmbeddingExplorer.compare({"a": a, "b": b})
    assert bars == []
    monkeypatch.setattr(P, "DELAY_S", DELAY)
    monkeypatch.setattr(C, "neighborhood_agreement", slowed(C.neighborhood_agreement))
    cmp = nbviz.EmbeddingExplorer.compare({"a": a, "b": b, "c": features(seed=2)})
    assert_shown_then_gone(bars[-1])
    assert bars[-1].total == 3 + 2 * 3 and bars[-1].n == bars[-1].total - 1  # the last step ends with the bar
    monkeypatch.setattr(C, "principal_components", slowed(C.principal_components))
    datasets = nbviz.EmbeddingExplorer.compare({"a": a, "b": features(80, seed=3)})
    assert datasets.mode == "datasets"
    assert_shown_then_gone(bars[-1])
    for c in (quick, cmp, datasets):
        assert c.panel.progress == -1.0 and c.panel.status == ""
        c.close()


def test_a_later_layout_reports_on_the_panel_and_returns_to_idle(bars, monkeypatch):
    cmp = nbviz.EmbeddingExplorer.compare({"a": features(), "b": features(seed=1)})
    seen, status = watch(cmp.panel), watch(cmp.panel, "status")
    monkeypatch.setattr(C, "faithfulness", slowed(C.faithfulness))
    made = len(bars)
    cmp.explorers[0].points = np.ascontiguousarray(features()[:, :2])  # as a projection ending does
    assert len(bars) == made + 1 and bars[-1].disable  # no bar: it would land in whatever cell runs by then
    assert seen[0] >= 0.0 and seen[-1] == -1.0 and "faithfulness" in status[0] and status[-1] == ""
    cmp.close()


def test_components_progress_on_the_explorer(bars, monkeypatch):
    ex = nbviz.EmbeddingExplorer(features(), method="pca")
    monkeypatch.setattr(P, "DELAY_S", 10.0)
    probe = ex.components(3)
    assert bars == [] and ex.progress == -1.0
    monkeypatch.setattr(P, "DELAY_S", DELAY)
    seen, status = watch(ex), watch(ex, "status")
    monkeypatch.setattr(CV, "principal_components", slowed(CV.principal_components))
    probe = ex.components(3, fit_on=features(seed=4))
    assert_shown_then_gone(bars[-1])
    assert seen[0] == 0.0 and seen[-1] == -1.0 and status[0].startswith("PCA: 3 components of 120 x 6")
    assert ex.progress == -1.0 and ex.status == "" and probe.n == 3
    ex.progress = 0.3  # the explorer's own work under way: left alone
    seen.clear()
    ex.components(2)
    assert seen == [] and ex.progress == 0.3
    ex.close()
