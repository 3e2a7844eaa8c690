"""Bad inputs across the public API, table-driven: none is silent, none is obscure, nothing is left broken.

For each (callable, parameter) the table lists bad values (wrong type, None, NaN, inf, negative, zero, huge, wrong
shape or length, unknown name, misspelt keyword...). Each call must raise TypeError / ValueError / IndexError /
KeyError (a traitlets TraitError for a trait), with the parameter's name in the message and not from inside
numpy / torch / pandas; after a failed call on a widget, the widget still works and the trait kept its value.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
import traitlets
from torch import nn

import nbviz
from nbviz import EmbeddingExplorer, Features
from nbviz.kernels.attribution import grad_cam
from nbviz.kernels.components import principal_components
from nbviz.kernels.neighbors import NeighborIndex, knn_all
from nbviz.widgets.gradcam_viewer import GradCamViewer
from nbviz.widgets.model_graph import ModelGraph

from .small_models import cnn

MIN_CASES = 400
#: FileNotFoundError: a missing image file is named as such.
ALLOWED = (TypeError, ValueError, IndexError, KeyError, FileNotFoundError, traitlets.TraitError)
#: An error whose innermost frame is in one of these came out of a library unexplained.
FOREIGN = ("/numpy/", "/torch/", "/pandas/", "/PIL/", "/sklearn/", "/scipy/")
N, D = 30, 5

OBJ = SimpleNamespace()  # the shared objects, built once per module (see `objects`)


@dataclass
class Case:
    id: str
    call: Callable[[], Any]
    names: tuple[str, ...]  # one of them must appear in the message
    after: Callable[[], Any] | None = None  # a valid use of the same object, after the failed call


CASES: list[Case] = []


def add(id_: str, names: str | tuple[str, ...], call: Callable[[], Any], after: Callable[[], Any] | None = None):
    taken = {c.id for c in CASES}
    while id_ in taken:
        id_ += "'"
    CASES.append(Case(id_, call, (names,) if isinstance(names, str) else names, after))


def recorder() -> Any:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    rec = nbviz.ProbMapRecorder(x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 1), resolution=8, background=False)
    for e in (0, 1, 3):
        rec.record(lambda z, e=e: np.stack([z[:, 0], -z[:, 0], z[:, 1]], 1) * (1 + e), e, loss=1.0 / (e + 1))
    return rec


@pytest.fixture(scope="module", autouse=True)
def objects():
    rng = np.random.default_rng(0)
    OBJ.f5 = rng.normal(size=(N, D)).astype(np.float32)
    OBJ.x2 = rng.normal(size=(N, 2))
    OBJ.labels = np.arange(N) % 3
    OBJ.model, OBJ.x = cnn(), torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    OBJ.ex = EmbeddingExplorer(OBJ.f5, labels=OBJ.labels, method="pca", colors=np.linspace(0, 1, N))
    OBJ.viewer = GradCamViewer(OBJ.model, OBJ.x, labels=[0, 1, 2, 0], layer="2", classes=["a", "b", "c"])
    OBJ.graph = ModelGraph(OBJ.model, OBJ.x[:1])
    OBJ.rec = recorder()
    OBJ.player = nbviz.ProbMapPlayer(OBJ.rec, chart=False)
    OBJ.probe = OBJ.ex.components(3)
    OBJ.view = OBJ.probe.view()
    yield
    for w in (OBJ.ex, OBJ.viewer, OBJ.graph, OBJ.player, OBJ.view):
        w.close()


# -- valid uses, run after each failed call on an object ---------------------------------------------------------
USABLE = {
    "ex": lambda: (OBJ.ex.neighbors(1, 2), OBJ.ex.to_png(40, 40)),
    "viewer": lambda: OBJ.viewer.maps(0).shape == (8, 8) or pytest.fail("viewer map has the wrong shape"),
    "graph": lambda: OBJ.graph.visible(),
    "player": lambda: OBJ.player.render_rgba(0),
    "probe": lambda: OBJ.probe.extremes(0, 2),
    "view": lambda: OBJ.view.get_state(),
    "rec": lambda: OBJ.rec.stored(),
}


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is b or (a is not None and b is not None and np.array_equal(a, b))
    return a == b


def method_case(obj: str, method: str, names: str | tuple[str, ...], *args: Any, **kwargs: Any) -> None:
    shown = ", ".join([*(repr(a)[:20] for a in args), *(f"{k}={v!r:.20}" for k, v in kwargs.items())])
    add(f"{obj}.{method}({shown})", names, lambda: getattr(getattr(OBJ, obj), method)(*args, **kwargs), USABLE[obj])


def trait_case(obj: str, trait: str, value: Any, names: str | tuple[str, ...] | None = None) -> None:
    """Setting a trait from Python: refused, and the old value (and what derives from it) kept."""
    before: list[Any] = []

    def call() -> None:
        w = getattr(OBJ, obj)
        before[:] = [getattr(w, trait)]
        setattr(w, trait, value)

    def after() -> None:
        assert same(getattr(getattr(OBJ, obj), trait), before[0]), f"{obj}.{trait} changed by a refused value"
        USABLE[obj]()

    add(f"{obj}.{trait} = {value!r:.30}", names or trait, call, after)


def misspelt(name: str) -> list[str]:
    """Two misspellings of a keyword: a letter dropped, two letters swapped."""
    out = [name[:-1] if len(name) > 3 else name + "x"]
    if len(name) > 3:
        out.append(name[:1] + name[2] + name[1] + name[3:])
    return [m for m in out if m != name]


def constructor_cases(label: str, make: Callable[..., Any], table: dict[str, list[Any]],
                      params: list[str]) -> None:
    """``make(**{param: bad})`` for every bad value; ``make(**{misspelt param: value})`` for every parameter."""
    for param, bads in table.items():
        for bad in bads:
            add(f"{label}({param}={bad!r:.30})", param, lambda p=param, b=bad: make(**{p: b}))
    for param in params:
        for wrong in misspelt(param):
            if wrong not in params:
                add(f"{label}({wrong}=...)", wrong, lambda w=wrong: make(**{w: 1}))


# -- value families ---------------------------------------------------------------------------------------------
NAN, INF = math.nan, math.inf


def ints(low: int | None = 0, *, none_ok: bool = False) -> list[Any]:
    """Bad values for an int parameter whose smallest valid value is ``low``."""
    out: list[Any] = ["3", 2.5, NAN, INF, [1], np.ones(2)]
    if not none_ok:
        out.append(None)
    if low is not None:
        out += [low - 1, low - 10**6]
    return out


def floats(low: float | None = None, high: float | None = None, *, none_ok: bool = False) -> list[Any]:
    out: list[Any] = ["0.5", NAN, INF, -INF, [0.5]]
    if not none_ok:
        out.append(None)
    if low is not None:
        out.append(low - 1)
    if high is not None:
        out.append(high + 1e9)
    return out


def choices(*, none_ok: bool = False) -> list[Any]:
    out: list[Any] = ["not-a-choice", "", 3, ["x"]]
    if not none_ok:
        out.append(None)
    return out


def arrays(n: int) -> list[Any]:
    """Bad per-item arrays for n items: wrong length, wrong shape, wrong type."""
    return [np.zeros(n + 1), np.zeros(n - 1), np.zeros((n, 2, 2)), "abc", 3, {"a": 1}]


# -- EmbeddingExplorer --------------------------------------------------------------------------------------------
EXPLORER_PARAMS = ["data", "labels", "images", "metadata", "method", "method_kwargs", "clusters", "colors",
                   "colors_name", "color_by", "colormap", "nside", "metric", "thumbnails", "thumbnail_size",
                   "max_thumbnails", "label_dir", "height", "point_size", "background", "xy"]


def make_explorer(**kw: Any) -> Any:
    data = kw.pop("data", OBJ.x2)
    return EmbeddingExplorer(data, **{"method": None, **kw})


constructor_cases("EmbeddingExplorer", make_explorer, {
    "data": [None, "abc", 3, [], np.zeros((0, 2)), np.zeros(5), np.full((10, 2), np.nan), np.zeros((10, 2, 2)), {},
             {"a": np.zeros((10, 2)), "b": np.zeros((9, 2))}],
    "labels": [np.zeros(N + 1), np.zeros(N - 1), np.zeros((N, 2, 2)), 3],
    "images": [np.zeros((N + 1, 8, 8)), np.zeros((N - 1, 8, 8, 3)), "abc", 3, np.zeros((N, 8))],
    "metadata": [pd.DataFrame({"a": range(N + 1)}), "abc", 3, {"a": range(N - 1)}],
    "method": ["umapp", "", 3, ["pca"], "aligned_umap"],
    "method_kwargs": ["abc", 3, ["n_neighbors"]],
    "clusters": ints(2, none_ok=True) + [N + 1, 10**9],
    "colors": arrays(N)[:4] + [np.full(N, np.nan), np.full(N, np.inf)],
    "colors_name": [3, None],
    "color_by": ["nothing", 3, "value", "cluster"],
    "colormap": ["not-a-colormap", 3],
    "nside": ints(1) + [10**6],
    "metric": choices(),
    "thumbnail_size": ints(4) + [10**6],
    "max_thumbnails": ints(0) + [10**9],
    "height": ints(50) + [0, 10**9],
    "point_size": floats(0.5, 200, none_ok=True) + [0.0, "3"],
    "xy": [np.zeros((N, 3)), np.zeros((N + 1, 2)), np.full((N, 2), np.nan), "abc"],
}, EXPLORER_PARAMS)

for _value in (-2, N, 10**9, -10**9):
    trait_case("ex", "focus", _value)
    trait_case("ex", "hovered", _value)
for _value in ([99], [-1], [3], [0, 99]):
    trait_case("ex", "hidden_categories", _value)
for _value in ([-1], [N], [10**9], [1.5], "abc", [[1, 2]], np.ones(N + 1, dtype=bool)):
    trait_case("ex", "selection", _value)
for _value in ([1, 2], [NAN, 0, 1], [0, 0, -1], [0, 0, 0], [INF, 0, 1], [1, 2, 3, 4]):
    trait_case("ex", "view", _value)
for _value in (1, -1, 10**9):
    trait_case("ex", "layout_index", _value)
for _trait, _values in {"point_size": [-1.0, 0.0, NAN, INF, 1e9], "height": [-5, 0, 49, 10**9],
                        "nside": [0, -1, 10**6], "thumbnail_size": [0, 3, -1, 10**6],
                        "max_thumbnails": [-1, 10**9], "active_label": ["../x", "a/b", " "]}.items():
    for _value in _values:
        trait_case("ex", _trait, _value)
for _by in ("nothing", 3, "", "cluster", ["label"]):
    method_case("ex", "color_by", "color_by", _by)
for _i in (-1, N, 10**9, "3", 2.5, None, NAN):
    method_case("ex", "neighbors", "i", _i)
for _k in (0, -1, N, 10**9, "3", 2.5, NAN):
    method_case("ex", "neighbors", "k", 1, _k)
for _w in (0, -1, "800", 2.5, NAN, 10**9):
    method_case("ex", "to_png", "width", _w)
    method_case("ex", "to_png", "height", 100, _w)
for _idx in (-1, N, [N], "abc", [1.5], np.ones(N + 2, dtype=bool)):
    method_case("ex", "annotate", "indices", _idx, "cat")
for _label in (None, 3, "../etc", "", "a/b", "x" * 300):
    method_case("ex", "annotate", "label", [1], _label)

# ex.components(...) and the probe
for _n in (0, -1, "3", 2.5, None, 10**6, NAN):
    method_case("ex", "components", "n", _n)
for _kw, _values in {"m": [0, -1, "8", 10**6], "steps": [0, -1, "9", 10**6],
                     "solver": ["abc", 3], "power_iterations": [-1, "3"], "oversample": [-1, "x"]}.items():
    for _value in _values:
        method_case("ex", "components", _kw, 3, **{_kw: _value})
method_case("ex", "components", "fit_on", 3, fit_on=np.zeros((10, D + 1)))
method_case("ex", "components", "fit_on", 3, fit_on="abc")
method_case("ex", "components", "solverr", 3, solverr="auto")
for _i in (-1, 3, 10**6, "0", 2.5, None):
    method_case("probe", "show_axes", "i", _i)
    method_case("probe", "extremes", "i", _i)
for _j in (-1, 3, "1"):
    method_case("probe", "show_axes", "j", 0, _j)
for _m in (0, -1, "2", 10**6):
    method_case("probe", "extremes", "m", 0, _m)
for _col in (-1, 99, "0"):
    method_case("probe", "color_by_cell", "column", 0, _col)
for _trait, _values in {"active": [[0], [0, 99], [-1, 0]], "walk_component": [-1, 99],
                        "walk_step": [-1, 99], "corr_cell": [[0], [99, 0], [0, 99]],
                        "picked": [-2, N, 10**9]}.items():
    for _value in _values:
        trait_case("view", _trait, _value)

# EmbeddingExplorer.compare
COMPARE_PARAMS = ["sets", "images", "labels", "fit_on", "k", "exact_neighbors"]


def make_compare(**kw: Any) -> Any:
    sets = kw.pop("sets", {"a": OBJ.f5, "b": OBJ.f5[::-1].copy()})
    return EmbeddingExplorer.compare(sets, **kw)


constructor_cases("compare", make_compare, {
    "sets": [None, "abc", {}, {"a": np.zeros((N, D))}, [np.zeros((N, D))] * 2, {"a": np.zeros((N, D)), "b": "x"},
             {k: np.zeros((N, D)) for k in "abcdefg"}],  # 7 sets: 2 to 6 are compared
    "fit_on": ["zz", 3],
    "k": ints(1) + [N, 10**6],
    "labels": [np.zeros(N + 1), {"zz": np.zeros(N)}],
    "images": [np.zeros((N + 1, 8, 8)), {"zz": np.zeros((N, 8, 8))}],
    "exact_neighbors": ["yes", 3],
}, COMPARE_PARAMS)

# Features
FEATURES_PARAMS = ["embeddings", "labels", "images", "metadata", "class_names"]


def make_features(**kw: Any) -> Any:
    return Features(kw.pop("embeddings", OBJ.f5), **kw)


constructor_cases("Features", make_features, {
    "embeddings": [None, "abc", 3, [], np.zeros((0, D)), np.zeros(D), np.full((4, D), np.nan), np.zeros((4, 2, 2)),
                   np.full((4, D), np.inf)],
    "labels": [np.zeros(N + 1), np.zeros(N - 1), np.zeros((N, 2)), 3],
    "images": [np.zeros((N + 1, 8, 8)), np.zeros((N, 8)), "abc", 3, ["missing.png"] * N],
    "metadata": [pd.DataFrame({"a": range(N + 1)}), "abc", 3],
    "class_names": ["abc", 3, ["a"]],
}, FEATURES_PARAMS)

# -- GradCamViewer ----------------------------------------------------------------------------------------------
VIEWER_PARAMS = ["model", "images", "labels", "layer", "classes", "method", "precision", "proc_x", "unproc_x",
                 "topk", "colormap", "opacity", "sign", "threshold", "normalization", "reshape", "batch_size",
                 "size"]


def make_viewer(**kw: Any) -> Any:
    model, images = kw.pop("model", OBJ.model), kw.pop("images", OBJ.x)
    return GradCamViewer(model, images, **{"layer": "2", **kw})


constructor_cases("GradCamViewer", make_viewer, {
    "model": [None, "abc", 3, lambda x: x],
    "images": [None, "abc", 3, torch.rand(2, 4, 1, 8, 8), torch.rand(0, 1, 8, 8), torch.rand(4, 1)],
    "labels": [[0, 1], [0, 1, 2, 99], [0, 1, 2, -1], ["zz"] * 4, 3],
    "layer": ["zz", 99, "2.weight", ["zz"]],
    "classes": [["a"], "abc", 3, ["a", "b", "c", "d"]],
    "method": choices(),
    "precision": choices(),
    "proc_x": [5, "f", [1]],
    "unproc_x": [5, "f"],
    "reshape": [5, "f"],
    "topk": ints(1),
    "colormap": ["not-a-colormap", 3, None],
    "opacity": floats(0, 1) + [1.5],
    "sign": choices(),
    "threshold": floats(0, 1) + [2.0],
    "normalization": choices(),
    "batch_size": ints(1),
    "size": ints(16) + [0, 10**9],
}, VIEWER_PARAMS)

for _i in (-1, 4, 10**6, "0", 2.5, None):
    method_case("viewer", "maps", "i", _i)
    method_case("viewer", "confusion", "i", _i if _i is not None else -1)
for _layer in ("zz", 3, "2.weight", ["2"]):
    method_case("viewer", "maps", "layer", 0, _layer)
for _t in (3, 99, -3, "1", 2.5):
    method_case("viewer", "maps", "target", 0, None, _t)
for _s in (0, -1, "2", 2.5, 10**6):
    method_case("viewer", "to_png", "width", _s)
    method_case("viewer", "to_png", "scale", scale=_s)
for _images in (None, "abc", torch.rand(2, 8), torch.rand(0, 1, 8, 8)):
    method_case("viewer", "set_images", "images", _images)
for _labels in ([0], [9, 9, 9, 9], ["zz"] * 4):
    add(f"viewer.set_images(labels={_labels!r})", "labels", lambda v=_labels: OBJ.viewer.set_images(OBJ.x, v),
        USABLE["viewer"])
for _trait, _values in {"index": [-1, 4, 10**9], "target": [3, -3, 10**9], "layer": ["zz", "2.weight"],
                        "compare_layer": ["zz"], "colormap": ["zz"], "opacity": [-0.1, 1.5, NAN],
                        "threshold": [-1.0, 2.0, NAN], "sign": ["zz"], "normalization": ["zz"], "sort_by": ["zz"],
                        "size": [0, -5, 10**9], "method": ["saliency"]}.items():
    for _value in _values:
        trait_case("viewer", _trait, _value)

# grad_cam and the other kernels
GRAD_CAM_PARAMS = ["model", "layer", "x", "target", "signed", "proc_x"]


def call_grad_cam(**kw: Any) -> Any:
    return grad_cam(kw.pop("model", OBJ.model), kw.pop("layer", "2"), kw.pop("x", OBJ.x), **kw)


constructor_cases("grad_cam", call_grad_cam, {
    "model": [None, "abc", 3],
    "layer": ["zz", 99, None, "2.weight"],
    "x": [None, "abc", 3, torch.rand(8, 8), torch.rand(0, 1, 8, 8), np.full((2, 1, 8, 8), np.nan)],
    "target": [99, -1, "a", [0, 1], 2.5],
    "proc_x": [5, "f"],
}, [])


def call_pca(**kw: Any) -> Any:
    return principal_components(kw.pop("x", OBJ.f5), **{"n": 3, **kw})


constructor_cases("principal_components", call_pca, {
    "x": [None, "abc", 3, np.zeros(D), np.zeros((0, D)), np.full((10, D), np.nan), np.zeros((4, 2, 2))],
    "n": ints(1) + [10**6],
    "solver": choices(),
    "oversample": ints(0),
    "power_iterations": ints(0),
}, [])


def call_knn(**kw: Any) -> Any:
    return knn_all(kw.pop("x", OBJ.f5), **{"k": 3, **kw})


constructor_cases("knn_all", call_knn, {
    "x": [None, "abc", np.zeros(D), np.zeros((0, D)), np.full((10, D), np.nan)],
    "k": ints(1) + [N, 10**6],
    "metric": choices(),
}, [])


def call_index(**kw: Any) -> Any:
    index = NeighborIndex(kw.pop("x", OBJ.f5), kw.pop("metric", "euclidean"))
    return index.query(kw.pop("i", 0), kw.pop("k", 3))


constructor_cases("NeighborIndex", call_index, {
    "x": [None, "abc", np.zeros(D), np.full((10, D), np.nan)],
    "metric": choices(),
    "i": [-1, N, "0", 2.5],
    "k": [0, -1, N, "3"],
}, [])

# -- ModelGraph ---------------------------------------------------------------------------------------------------
GRAPH_PARAMS = ["model", "example_input", "mode", "depth", "height"]


def make_graph(**kw: Any) -> Any:
    return ModelGraph(kw.pop("model", OBJ.model), kw.pop("example_input", OBJ.x[:1]), **kw)


constructor_cases("ModelGraph", make_graph, {
    "model": [None, "abc", 3],
    "example_input": [None, "abc", 3],
    "mode": choices(),
    "depth": ints(0),
    "height": ints(50) + [0, 10**9],
}, GRAPH_PARAMS)

for _path in ("zz", 3, None, "2.weight"):
    method_case("graph", "details", "path", _path)
for _path in ("zz", 3):
    method_case("graph", "expand", ("expanded", "paths"), _path)
    method_case("graph", "collapse", ("expanded", "paths"), _path)
for _target in (5, "abc", None):
    method_case("graph", "link", "link", _target)
for _path in ("graph.txt", "graph", 3, None):
    method_case("graph", "save", "path", _path)
for _trait, _values in {"selected": ["zz", "2.weight"], "expanded": [["zz"], ["2", "zz"]],
                        "height": [-5, 0, 10**9], "mode": ["autograd"]}.items():
    for _value in _values:
        trait_case("graph", _trait, _value)

# -- ProbMapRecorder / ProbMapPlayer ---------------------------------------------------------------------------
PLAYER_PARAMS = ["rec", "mode", "interpolation", "interpolation_type", "classes", "class_colormap",
                 "entropy_colormap", "size", "fps", "chart"]


def make_player(**kw: Any) -> Any:
    return nbviz.ProbMapPlayer(kw.pop("rec", OBJ.rec), **{"chart": False, **kw})


constructor_cases("ProbMapPlayer", make_player, {
    "rec": [None, "abc", 3, [], {}, {"a": 5}],
    "mode": choices(),
    "interpolation": ints(0) + [10**6],
    "interpolation_type": choices(),
    "classes": [["a"], ["a", "b", "c", "d"]],
    "class_colormap": ["not-a-colormap", 3],
    "entropy_colormap": ["not-a-colormap", 3],
    "size": ints(64) + [0, 10**9],
}, PLAYER_PARAMS)

for _i in (-1, 3, 10**6, "0", 2.5, None):
    method_case("player", "render_rgba", "i", _i)
for _f in (-0.5, 2.0, NAN, "0.5"):
    method_case("player", "render_rgba", "f", 0, _f)
method_case("player", "render_rgba", "mode", 0, 0.0, "zz")
for _run in (-1, 1, "0", 2.5):
    method_case("player", "render_rgba", "run", 0, 0.0, None, _run)
    method_case("player", "frame_index", "run", None, _run)
for _e in ("x", NAN, [1]):
    method_case("player", "frame_index", "epoch", _e)
for _w in (0, -1, "420", 2.5, NAN, 10**9):
    method_case("player", "to_png", "width", _w)
for _path in ("player.txt", "player", 3, None):
    method_case("player", "save", "path", _path)
for _trait, _values in {"epoch": [99, -5, 10**9], "target_class": [3, -1, 99], "interpolation": [-1, 10**6],
                        "mode": ["zz"], "interpolation_type": ["zz"], "size": [0, 10, 10**9]}.items():
    for _value in _values:
        trait_case("player", _trait, _value)

RECORDER_PARAMS = ["X", "y", "resolution", "step", "padding", "xlim", "ylim", "every", "plane", "fixed", "output",
                   "X_test", "y_test", "class_names", "batch_size", "max_bytes", "background", "queue_bytes"]


def make_recorder(**kw: Any) -> Any:
    x = kw.pop("X", OBJ.x2)
    return nbviz.ProbMapRecorder(x, **{"resolution": 8, "background": False, **kw})


constructor_cases("ProbMapRecorder", make_recorder, {
    "X": [None, "abc", 3, np.zeros(5), np.zeros((0, 2)), np.full((10, 2), np.nan)],
    "y": [np.zeros(N + 1), np.zeros((N, 2)), "abc"],
    "resolution": ints(2) + [10**5],
    "padding": floats(0) + [-1.0],
    "xlim": [(1, 0), (0, NAN), "ab", (0,)],
    "ylim": [(1, 1), (0, INF), 3],
    "every": ints(1),
    "output": choices(),
    "batch_size": ints(1),
}, RECORDER_PARAMS)


def record(**kw: Any) -> Any:
    OBJ.epoch = getattr(OBJ, "epoch", 100) + 1  # a new epoch each call: a wrongly accepted call must not fail the next
    return OBJ.rec.record(kw.pop("model", lambda z: np.stack([z[:, 0], -z[:, 0], z[:, 1]], 1)),
                        kw.pop("epoch", OBJ.epoch), **kw)


for _kw, _values in {"loss": ["abc", None, [1.0], {}], "acc": ["x", b"1"], "epoch": ["x", 2.5, -1, 0]}.items():
    for _value in _values:
        add(f"rec.record({_kw}={_value!r:.20})", _kw, lambda k=_kw, v=_value: record(**{k: v}), USABLE["rec"])
for _model in (None, "abc", 3):
    add(f"rec.record(model={_model!r})", "model", lambda m=_model: record(model=m), USABLE["rec"])


# -- the checks ---------------------------------------------------------------------------------------------------
def test_there_are_enough_cases():
    print(f"\n{len(CASES)} bad-input cases")
    assert len(CASES) >= MIN_CASES
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_clearly(case: Case):
    try:
        case.call()
    except Exception as exc:  # noqa: BLE001 - the type is what is checked
        error = exc
    else:
        pytest.fail(f"silent: {case.id} raised nothing")
    text = f"{type(error).__name__}: {error}"
    assert isinstance(error, ALLOWED), f"obscure type: {text}"
    assert any(name in str(error) for name in case.names), f"the message does not name {case.names}: {text}"
    where = traceback.extract_tb(error.__traceback__)[-1].filename
    assert not any(lib in where for lib in FOREIGN), f"raised from inside {where}: {text}"
    if case.after is not None:
        case.after()


# -- a change whose observers fail is undone ---------------------------------------------------------------------
def boom(change: dict) -> None:
    raise RuntimeError("observer failed")


class Flaky(nn.Module):
    """A classifier whose forward fails on one-image batches while ``fail`` is set (a re-targeted map runs one)."""

    def __init__(self) -> None:
        super().__init__()
        self.net, self.fail = cnn(), False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fail and len(x) == 1:
            raise RuntimeError("forward failed")
        return self.net(x)


def test_failed_retarget_leaves_the_viewer_as_it_was():
    model = Flaky()
    v = GradCamViewer(model, OBJ.x, layer="net.2")
    heatmap, shown = v.heatmap.copy(), v.shown_target
    other = (int(v.predictions[0]) + 1) % 3
    model.fail = True
    with pytest.raises(RuntimeError, match="forward failed"):
        v.target = other
    assert v.target == -1 and v.shown_target == shown and np.array_equal(v.heatmap, heatmap)
    v.set_state({"target": other})  # the same from the browser: the banner says why
    assert "forward failed" in v.error and v.target == -1 and np.array_equal(v.heatmap, heatmap)
    model.fail = False
    v.target = other
    assert v.shown_target == other and not np.array_equal(v.heatmap, heatmap)
    v.close()


def test_failed_layout_switch_is_undone():
    ex = EmbeddingExplorer({"a": OBJ.x2, "b": OBJ.x2[::-1].copy()}, method=None)
    ex.observe(boom, "points")
    with pytest.raises(RuntimeError, match="observer failed"):
        ex.layout_index = 1
    assert ex.layout_index == 0 and np.array_equal(ex.points, ex.layouts[0])
    ex.set_state({"layout_index": 1})
    assert "observer failed" in ex.error and ex.layout_index == 0 and np.array_equal(ex.points, ex.layouts[0])
    ex.close()


def test_failed_link_undoes_the_graph_selection():
    g = ModelGraph(OBJ.model, OBJ.x[:1])
    seen: list[str] = []

    def follow(path: str) -> None:
        if path == "4":
            raise ValueError("the linked widget cannot use layer 4")
        seen.append(path)

    g.link(follow)
    g.selected = "2"
    with pytest.raises(ValueError, match="cannot use layer 4"):
        g.selected = "4"
    assert g.selected == "2" and seen[-1] == "2"  # the restored selection is handed to the link again
    g.set_state({"selected": "4"})
    assert g.selected == "2" and "cannot use layer 4" in g.error
    g.close()


def test_failed_epoch_change_is_undone_and_the_chart_follows():
    p = nbviz.ProbMapPlayer(OBJ.rec)
    marker = p.chart.marks[2]
    assert p.epoch == 3 and list(marker.x) == [3, 3]
    p.observe(boom, "epoch")
    with pytest.raises(RuntimeError, match="observer failed"):
        p.epoch = 1
    assert p.epoch == 3 and list(marker.x) == [3, 3]  # the marker moved and came back with the epoch
    p.close()


def test_failed_component_pick_is_undone():
    ex = EmbeddingExplorer(OBJ.f5, method="pca")
    probe = ex.components(3)
    view = probe.view()
    probe.show_axes(0, 1)
    points = ex.points.copy()
    ex.observe(boom, "points")
    with pytest.raises(RuntimeError, match="observer failed"):
        view.active = [1, 2]
    assert view.active == [0, 1] and np.array_equal(ex.points, points)
    view.set_state({"active": [1, 2]})  # a click on a column
    assert "observer failed" in view.error and view.active == [0, 1] and np.array_equal(ex.points, points)
    probe.close()
    ex.close()
