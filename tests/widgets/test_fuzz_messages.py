"""Fuzzed browser -> kernel messages for every widget: random JSON of right and wrong shapes, as requests
(``_dispatch_request``) and as trait changes (``set_state``).

The kernel never raises (a failure lands in the ``error`` trait and, for a request, in an ``{error}`` reply with the
request's id), never answers a request with another item's data (index -1 is not the last item, "3" and 3.5 are not
3), and the widget's state stays valid, so a good message after bad ones still works.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import nbviz
from nbviz import EmbeddingExplorer
from nbviz.display import MODES, quantize_heatmap
from nbviz.widgets.gradcam_viewer import GradCamViewer
from nbviz.widgets.model_graph import ModelGraph

from .small_models import cnn

MESSAGES = 300  # per widget, half requests, half trait changes
N = 24


# -- random JSON --------------------------------------------------------------------------------------------------
def scalar(rng: random.Random, n: int) -> Any:
    """A JSON scalar near the interesting edges of an index into n items, or of another type."""
    return rng.choice([
        rng.randint(0, n - 1), rng.randint(0, n - 1), -1, n, n - 1, 0, 10**9, -10**9, 2**53,
        str(rng.randint(0, n - 1)), rng.randint(0, n - 1) + 0.5, float(rng.randint(0, n - 1)), True, False, None,
        "", "x" * rng.randint(1, 40), math.inf, -0.0,
    ])


def value(rng: random.Random, n: int, depth: int = 0) -> Any:
    """Any JSON value: mostly scalars, sometimes lists (of indices or of anything) and dicts."""
    r = rng.random()
    if depth < 2 and r < 0.2:
        return [scalar(rng, n) if rng.random() < 0.7 else value(rng, n, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 2 and r < 0.27:
        return {rng.choice(["dtype", "shape", "chunks", "a", "index"]): value(rng, n, depth + 1)
                for _ in range(rng.randint(0, 3))}
    if r < 0.32:
        return [rng.randint(0, n - 1) for _ in range(rng.randint(0, 5))]  # a valid-looking list of indices
    return scalar(rng, n)


def encoded(rng: random.Random, n: int) -> Any:
    """An array as the browser encodes it (js/src/lib/codecs.ts), well or badly formed."""
    k = rng.randint(0, 4)
    dtype = rng.choice(["uint32", "uint32", "int32", "float32", "float64", "bogus"])
    data = np.array([rng.choice([rng.randint(0, n - 1), -1, n, 10**6]) for _ in range(k)])
    try:
        raw = data.astype(dtype).tobytes()
    except TypeError:
        raw = b"\x00" * 4 * k
    if rng.random() < 0.3:
        raw = raw[:-1] if raw else b"\x01"
    return {"dtype": dtype, "shape": rng.choice([[k], [k, 1], [], [k + 1]]), "chunks": [memoryview(raw)]}


# -- widgets and their messages ----------------------------------------------------------------------------------
def explorer() -> Any:
    rng = np.random.default_rng(0)
    labels = np.array(["a", "b", "c"])[np.arange(N) % 3]
    return EmbeddingExplorer(rng.normal(size=(N, 2)), labels=labels, images=rng.random((N, 8, 8)),
                             metadata={"m": np.arange(N)}, method=None, nside=2)


def viewer() -> Any:
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    return GradCamViewer(cnn(), x, labels=[0, 1, 2, 0], layer="2", classes=["a", "b", "c"])


def graph() -> Any:
    return ModelGraph(cnn(), torch.rand(1, 1, 8, 8))


def player() -> Any:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 2))
    rec = nbviz.ProbMapRecorder(x, (x[:, 0] > 0).astype(int), resolution=6, background=False)
    for e in (0, 2, 5):
        rec.record(lambda z, e=e: np.stack([z[:, 0], -z[:, 0]], 1) * (1 + e), e)
    return nbviz.ProbMapPlayer(rec, chart=False)


def components() -> Any:
    x = np.random.default_rng(0).normal(size=(N, 5))
    return EmbeddingExplorer(x, labels=np.arange(N) % 3, images=np.random.default_rng(1).random((N, 8, 8)),
                             method="pca").components(3).view()


#: widget -> (maker, request types and their fields, traits the browser writes (and read-only ones it must not))
WIDGETS: dict[str, tuple[Callable[[], Any], dict[str, list[str]], list[str]]] = {
    "EmbeddingExplorer": (explorer, {"neighbors": ["index"], "item": ["index"], "thumbnails": ["indices", "size"],
                                     "assign": ["indices", "label"]},
                          ["layout_index", "active_label", "selection", "hidden_categories", "focus", "view",
                           "hovered", "point_size", "height"]),
    "GradCamViewer": (viewer, {}, ["index", "target", "layer", "compare_layer", "colormap", "sign", "normalization",
                                   "sort_by", "opacity", "threshold", "show_confusion", "size", "method"]),
    "ModelGraph": (graph, {"details": ["path"]}, ["selected", "expanded", "height", "mode"]),
    "ProbMapPlayer": (player, {"frames": ["run", "start"]},
                      ["epoch", "playing", "fps", "loop", "mode", "interpolation_type", "target_class",
                       "boundary_line", "show_train", "show_test", "show_flips", "interpolation", "size"]),
    "ComponentsView": (components, {"images": ["indices", "size"]},
                       ["active", "walk_component", "walk_step", "corr_cell", "picked"]),
}


def is_index(v: Any, n: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n


def check_reply(name: str, w: Any, request: dict, reply: dict) -> None:
    """A reply without ``error`` answers exactly what was asked, with the data of that item."""
    kind = request.get("type")
    assert reply.get("id") == request.get("id"), (request, reply)
    if "error" in reply:
        assert reply.get("type") == kind, (request, reply)
        return
    if name == "EmbeddingExplorer":
        n = len(w.features)
        if kind in ("neighbors", "item"):
            assert is_index(request.get("index"), n) and reply["index"] == request["index"], (request, reply)
            if kind == "item":
                assert reply["label"] == str(w.features.labels[request["index"]])
                assert reply["metadata"] == {"m": str(request["index"])}
            else:
                assert reply["indices"][0] == request["index"]
        elif kind in ("thumbnails", "assign"):
            assert isinstance(request.get("indices"), list) and all(is_index(i, n) for i in request["indices"])
            if kind == "thumbnails":
                assert reply["indices"] == request["indices"][: len(reply["indices"])]
    elif name == "ComponentsView":
        n = len(w._features)
        assert all(is_index(i, n) for i in request.get("indices")) and reply["indices"] == request["indices"]
    elif name == "ModelGraph":
        assert isinstance(request.get("path"), str) and reply["path"] == request["path"]
    elif name == "ProbMapPlayer":
        assert reply["run"] == request.get("run", 0) == 0 and reply["start"] == request.get("start", 0)
    else:
        pytest.fail(f"{name} answered a request it has no handler for: {request}")


def check_state(name: str, w: Any) -> None:
    """What the widget shows stays consistent whatever the browser sent."""
    if name == "EmbeddingExplorer":
        n = len(w.features)
        assert -1 <= w.focus < n and -1 <= w.hovered < n
        assert all(0 <= c < max(len(w.category_names), 1) for c in w.hidden_categories)
        assert w.selection.dtype == np.uint32 and (len(w.selection) == 0 or int(w.selection.max()) < n)
        assert w.view == [] or (len(w.view) == 3 and all(map(math.isfinite, w.view)) and w.view[2] > 0)
        assert 0.5 <= w.point_size <= 200 and w.height >= 50
    elif name == "GradCamViewer":
        assert 0 <= w.index < 4 and -1 <= w.target < 3 and w.method == "gradcam"
        assert w.layer in w.layers and (w.compare_layer == "" or w.compare_layer in w.layers)
        assert 0 <= w.opacity <= 1 and 0 <= w.threshold <= 1 and w.colormap in w.colormaps
        # The map shown is the map of the shown image, layer and target (no stale map after a failed change).
        expected = int(w.predictions[w.index]) if w.target < 0 else w.target
        assert w.shown_target == expected
        np.testing.assert_array_equal(w.heatmap, quantize_heatmap(w.maps(w.index))[0])
    elif name == "ModelGraph":
        assert w.mode == "modules"
        known = {g["path"] for g in w.groups} | {f["id"] for f in w.folds}
        assert set(w.expanded) <= known
    elif name == "ProbMapPlayer":
        assert w.epochs[0] <= w.epoch <= w.epochs[-1] and 0 <= w.target_class < w.n_classes
        assert w.mode in MODES and w.fps > 0 and w.interpolation >= 0 and w.size >= 64
    elif name == "ComponentsView":
        comps = {c["index"] for c in w.columns} | {0}
        assert w.active == [] or (len(w.active) == 2 and set(w.active) <= comps)
        assert w.walk_component in comps and 0 <= w.walk_step < w.walk_steps and -1 <= w.picked < N


def good(rng: random.Random, field: str, n: int) -> Any:
    """A valid value of a request field (so that the oracles also see answers)."""
    return {"index": lambda: rng.randint(0, n - 1), "indices": lambda: [rng.randint(0, n - 1) for _ in range(3)],
            "size": lambda: rng.choice([8, 16, 32]), "label": lambda: "cat", "path": lambda: rng.choice(["", "0", "2"]),
            "run": lambda: 0, "start": lambda: rng.randint(0, 3)}[field]()


def request(rng: random.Random, types: dict[str, list[str]], n: int) -> Any:
    if rng.random() < 0.05:
        return rng.choice([[1, 2], "neighbors", 3, None])  # not even a dict
    kind = rng.choice([*types, "nope", None, 3]) if rng.random() < 0.15 or not types else rng.choice(list(types))
    msg: dict = {"type": kind, "id": rng.choice([rng.randint(0, 10**6), "abc", None])}
    for field in types.get(kind, []) if isinstance(kind, str) else []:
        if rng.random() < 0.9:
            msg[field] = good(rng, field, n) if rng.random() < 0.6 else value(rng, n) if field != "label" \
                else rng.choice(["../x", "", 3, None, "a b"])
    if rng.random() < 0.1:
        msg["extra"] = value(rng, n)
    return msg


def trait_value(rng: random.Random, w: Any, trait: str, n: int) -> Any:
    if trait == "selection":
        return encoded(rng, n) if rng.random() < 0.7 else value(rng, n)
    if rng.random() < 0.4:  # a plausible value of the right kind
        current = getattr(w, trait)
        if isinstance(current, str):
            return rng.choice([current, "zz", "", "2", "0", "region", "entropy", "RdBu_r", "positive", "batch"])
        if isinstance(current, list):
            return rng.choice([[], [rng.randint(0, 3)], [rng.randint(0, 3), rng.randint(0, 3)], ["0"], ["2"]])
        if isinstance(current, bool):
            return not current
        if isinstance(current, (int, float)):
            return type(current)(rng.randint(-3, n + 3))
    return value(rng, n)


@pytest.mark.parametrize("name", list(WIDGETS))
def test_fuzzed_messages_never_escape_and_never_answer_for_another_item(name):
    make, types, traits = WIDGETS[name]
    w = make()
    rng = random.Random(f"nbviz-{name}")
    n = {"EmbeddingExplorer": N, "ComponentsView": N, "GradCamViewer": 4, "ProbMapPlayer": 6}.get(name, 8)
    replies: list[tuple[dict, list]] = []
    w.send = lambda content, buffers=None: replies.append((content, buffers or []))
    sent = answered = accepted = 0
    for k in range(MESSAGES):
        w.error = ""
        replies.clear()
        if k % 2 == 0:
            msg = request(rng, types, n)
            w._dispatch_request(w, msg, [])  # must not raise
            if isinstance(msg, dict):
                assert len(replies) == 1, f"{msg} got {len(replies)} replies"
                check_reply(name, w, msg, replies[0][0])
                assert ("error" in replies[0][0]) == bool(w.error), (msg, replies[0][0], w.error)
                answered += "error" not in replies[0][0]
            else:
                assert w.error, f"{msg!r} was taken for a request"
        else:
            trait = rng.choice(traits)
            w.set_state({trait: trait_value(rng, w, trait, n)})  # must not raise
            accepted += not w.error
        sent += 1
        check_state(name, w)
    print(f"{name}: {sent} fuzzed messages, {answered} requests answered, {accepted} trait changes taken")
    # The oracles above saw good messages too, not only refusals.
    assert accepted >= 10 and (answered >= 10 or not types)
    # Still answers a good request after all that.
    w.error = ""
    replies.clear()
    good = {"EmbeddingExplorer": {"type": "item", "index": 3}, "ComponentsView": {"type": "images", "indices": [3]},
            "ModelGraph": {"type": "details", "path": "2"}, "ProbMapPlayer": {"type": "frames", "start": 0}}
    if name in good:
        w._dispatch_request(w, {**good[name], "id": "last"}, [])
        assert "error" not in replies[-1][0] and not w.error, replies[-1][0]
    w.close()
