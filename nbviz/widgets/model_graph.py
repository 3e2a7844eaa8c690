"""ModelGraph: a model's architecture as a collapsible graph in the browser, that picks layers for the other widgets.

The whole captured graph is sent once (strings as lists, numbers as binary arrays); which groups are open is the
``expanded`` trait, and the browser works out the drawn graph itself (``js/src/model_graph/visible.ts`` mirrors
:func:`nbviz.kernels.graph_view.visible`), so opening a group needs no round trip. Each layout the view puts on
screen comes back in ``view_layout``, so the PNG and SVG are drawn from the view's own boxes
(:mod:`.model_graph_export`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import traitlets as t
from torch import nn

from ..kernels import graph as G
from ..kernels import graph_view as GV
from ..kernels.activations import resolve_layer
from ..kernels.attribution_layers import spatial_reason
from ..kernels.progress_steps import Steps
from . import model_graph_export as GX
from .arrays import array_from_json, array_to_json
from .base import Array, NbvizWidget, validate_number
from .html_page import HtmlPage

#: Characters of a module's repr sent to the details panel.
REPR_CHARS = 4000


def _layout_to_json(value: dict, _widget: Any = None) -> dict:
    return {**value, "boxes": array_to_json(value["boxes"])} if value else {}


def _layout_from_json(value: dict | None, _widget: Any = None) -> dict:
    return {**value, "boxes": array_from_json(value.get("boxes"))} if value else {}


class ModelGraph(NbvizWidget):
    """A model's modules (or autograd graph) as a zoomable graph with collapsible groups, shapes on edges and
    parameters on click.

    Parameters
    ----------
    model
        A ``torch.nn.Module``; handed back unchanged.
    example_input
        A tensor (or tuple of tensors) the model takes, e.g. one batch of one; moved to the model's device.
    mode
        "modules" (dataflow between modules, torch.fx; forward hooks when tracing fails) or "autograd" (the
        backward graph as torchviz builds it; on CPU recorded on fake tensors where that is cheaper than a real
        forward, the same graph without computing or keeping activations).
    depth
        Levels of the module hierarchy shown open at first (0 or 1: the top-level modules, closed).
    height
        Height of the view in CSS px.
    """

    _bundle = "model_graph"
    _picture_traits = ("expanded", "node_ids", "view_layout")

    mode = t.Unicode("modules", read_only=True, help="set by the constructor").tag(sync=True)
    fallback = t.Unicode("", help="why the capture fell back to forward hooks ('' when it did not)").tag(sync=True)
    refusal = t.Unicode("", help="why the linked widgets did not take the selected layer ('' when they did): a "
                        "documented limit, shown as a note, not an error").tag(sync=True)
    node_ids = t.List(t.Unicode()).tag(sync=True)
    node_paths = t.List(t.Unicode()).tag(sync=True)
    node_types = t.List(t.Unicode()).tag(sync=True)
    node_shapes = t.List(t.Unicode()).tag(sync=True)
    node_kinds = t.List(t.Unicode()).tag(sync=True)
    node_labels = t.List(t.Unicode()).tag(sync=True)
    node_params = Array(help="(N,) uint32 parameter count per node")
    edge_index = Array(help="(E, 2) int32 source and target node index")
    groups = t.List(t.Dict(), help="collapsible modules: {path, type, params, shape, depth}").tag(sync=True)
    folds = t.List(t.Dict(), help="runs of identical blocks drawn as one node: {id, members, label}").tag(sync=True)
    expanded = t.List(t.Unicode(), help="open groups (paths) and unfolded runs (fold ids)").tag(sync=True)
    selected = t.Unicode("", help="module path of the clicked node, '' for none").tag(sync=True)
    unusable = t.Dict(help="path -> why a linked widget cannot use that layer").tag(sync=True)
    height = t.Int(480).tag(sync=True)
    progress = t.Float(-1.0, help="long work (the capture, past 0.5 s): the fraction done, -1 when idle").tag(sync=True)
    status = t.Unicode("", help="what the long work does now ('' when idle)").tag(sync=True)
    # Not echoed: the view that sent the boxes has them.
    view_layout = t.Dict(help="set by the view when a layout is on screen: {expanded (the open groups it is for), "
                         "ids, boxes ((N, 4) float32 x, y, w, h by id), width, height}; {} before").tag(
        sync=True, to_json=_layout_to_json, from_json=_layout_from_json, echo_update=False)

    _check_height = validate_number("height", low=50, high=10_000)

    def __init__(self, model: nn.Module, example_input: Any, mode: str = "modules", depth: int = 2, *,
                 height: int = 480, **kwargs: Any) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
            raise ValueError(f"depth must be an int >= 0 (levels of modules shown open), got {depth!r}")
        G.check_mode(mode)
        x = G.prepare_input(model, example_input)  # its errors before anything is sent
        self._model, self._x = model, x
        self._links: list[Any] = []
        # The comm opens before the capture: the browser loads the bundle and starts elkjs's worker meanwhile.
        super().__init__(height=height, **kwargs)
        self.set_trait("mode", mode)  # read-only: the capture is made once, in this mode
        try:
            # A tqdm bar and the progress state, past 0.5 s (a large model, or the first capture in a kernel).
            with Steps(2, f"nbviz ModelGraph ({mode})", report=self._report) as steps:
                self._graph = g = G.capture(model, x, mode, step=steps.step)
        except BaseException:
            self.close()
            raise
        index = {n["id"]: i for i, n in enumerate(g.nodes)}
        edges = np.array([[index[e["source"]], index[e["target"]]] for e in g.edges], dtype=np.int32).reshape(-1, 2)
        with self.hold_sync():
            self.fallback = g.fallback
            self.node_ids = [n["id"] for n in g.nodes]
            self.node_paths = [n["path"] for n in g.nodes]
            self.node_types = [n["type"] for n in g.nodes]
            self.node_shapes = [n["shape"] for n in g.nodes]
            self.node_kinds = [n["kind"] for n in g.nodes]
            self.node_labels = [n.get("label", "") for n in g.nodes]
            self.node_params = np.array([min(n["params"], 2**32 - 1) for n in g.nodes], dtype=np.uint32)
            self.edge_index = edges
            self.groups = list(g.groups.values())
            self.folds = g.folds
            self.expanded = GV.initial_expanded(g, int(depth))

    def _report(self, fraction: float, status: str) -> None:
        with self.hold_sync():
            self.progress, self.status = float(fraction), status

    # -- the graph as data -----------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[dict]:
        """The captured graph's nodes: ``{"id", "path", "type", "params", "shape", "kind"}``."""
        return [dict(n) for n in self._graph.nodes]

    @property
    def edges(self) -> list[dict]:
        """The captured graph's edges: ``{"source", "target", "shape"}``."""
        return [dict(e) for e in self._graph.edges]

    @property
    def selected_module(self) -> nn.Module | None:
        """The module at ``selected`` (None when nothing is selected)."""
        return resolve_layer(self._model, self.selected)[1] if self.selected else None

    def visible(self) -> tuple[list[dict], list[dict]]:
        """Nodes and edges as drawn now (closed groups and folded runs as single nodes)."""
        return GV.visible(self._graph, self.expanded)

    # -- state -----------------------------------------------------------------------------------------------
    @t.validate("selected")
    def _check_selected(self, proposal: dict) -> str:
        value = proposal["value"]
        if value:
            try:
                resolve_layer(self._model, value)
            except ValueError as exc:
                raise t.TraitError(f"selected: {exc}") from None
        return value

    @t.validate("view_layout")
    def _check_view_layout(self, proposal: dict) -> dict:
        value = proposal["value"]
        if not value:
            return {}
        missing = [k for k in ("expanded", "ids", "boxes", "width", "height") if k not in value]
        boxes = value.get("boxes")
        if missing or np.shape(boxes) != (len(value["ids"]), 4):
            raise t.TraitError(f"view_layout must hold expanded, ids, boxes ((len(ids), 4): x, y, w, h), width and "
                               f"height; got keys {sorted(value)} and boxes of shape {np.shape(boxes)}")
        return value

    @t.validate("expanded")
    def _check_expanded(self, proposal: dict) -> list[str]:
        known = list(self._graph.groups) + [f["id"] for f in self._graph.folds]
        bad = [p for p in proposal["value"] if p not in known]
        if bad:
            raise t.TraitError(f"expanded must list groups of the graph; {bad[0]!r} is not one; closest: "
                               f"{GV.closest_paths(bad[0], known)}")
        return list(dict.fromkeys(proposal["value"]))

    @t.observe("selected")
    def _on_selected(self, change: dict) -> None:
        path = change["new"]
        self.refusal = ""
        if not path or not self._links:
            return
        if path in self.unusable:
            # A documented refusal, not a failure: the graph keeps the selection (its details show), the linked
            # widgets keep their layer, and the view says why in a note (an error banner would cry wolf).
            self.refusal = f"{path!r} is {self.unusable[path]}; the linked widgets keep their layer"
            return
        # A failure in a linked widget undoes the selection (NbvizWidget.notify_change) and is reported.
        for target in self._links:
            if callable(target) and not hasattr(target, "layer"):
                target(path)
            else:
                target.layer = path
        self.error = ""

    def expand(self, *paths: str) -> ModelGraph:
        """Open groups (or folded runs); returns the widget."""
        self._check_paths(paths)
        self.expanded = [*self.expanded, *paths]
        return self

    def collapse(self, *paths: str) -> ModelGraph:
        """Close groups (and every group inside them); returns the widget."""
        self._check_paths(paths)
        self._check_expanded({"value": list(paths)})  # the same names expand() takes
        self.expanded = [p for p in self.expanded if not any(p == c or p.startswith(c + ".") for c in paths)]
        return self

    @staticmethod
    def _check_paths(paths: tuple) -> None:
        bad = [p for p in paths if not isinstance(p, str)]
        if bad:
            raise TypeError(f"paths must be group paths or fold ids (str), got {type(bad[0]).__name__} {bad[0]!r}")

    # -- links -----------------------------------------------------------------------------------------------
    def link(self, target: Any) -> ModelGraph:
        """Hand clicked layers to another widget; returns the graph.

        Parameters
        ----------
        target
            A ``GradCamViewer`` (its ``layer`` follows; layers whose output is not spatial are marked and refused),
            any object with a ``layer`` attribute (e.g. an ``EmbeddingExplorer`` builder), or a callable taking
            the layer path (e.g. ``lambda p: Features.from_model(model, data, layer=p)``).
        """
        from .gradcam_viewer import GradCamViewer

        if isinstance(target, GradCamViewer):
            reasons = {p: spatial_reason(p, s) for p, s in self._graph.module_shapes.items() if p}
            self.unusable = {**self.unusable, **{p: f"not usable for Grad-CAM: {r}" for p, r in reasons.items() if r}}
        elif not (callable(target) or hasattr(target, "layer")):
            raise TypeError(f"link() takes a GradCamViewer, an object with a `layer` attribute or a callable taking "
                            f"a layer path; got {type(target).__name__}")
        self._links.append(target)
        return self

    # -- details (js/src/model_graph/details.ts asks) ---------------------------------------------------------
    def details(self, path: str) -> dict:
        """Type, parameters (name, shape, count) and repr of the module at ``path``."""
        if not isinstance(path, str):
            raise TypeError(f"path must be a module path (str, '' for the model), got {type(path).__name__}")
        try:
            module = resolve_layer(self._model, path)[1]
        except ValueError as exc:
            raise ValueError(f"path {path!r}: {exc}") from None
        params = [{"name": n, "shape": list(p.shape), "count": int(p.numel()), "trainable": bool(p.requires_grad)}
                  for n, p in module.named_parameters()]
        text = repr(module)
        return {"path": path, "type": type(module).__name__, "params": params[:200],
                "total": sum(p["count"] for p in params), "more": max(len(params) - 200, 0),
                "repr": text if len(text) <= REPR_CHARS else text[:REPR_CHARS] + "\n...",
                "shape": list(self._graph.module_shapes.get(path, ())), "unusable": self.unusable.get(path, "")}

    def _request_handlers(self) -> dict[str, Callable[[dict], tuple[dict, list]]]:
        # details() answers a missing or non-str path with a TypeError naming it.
        return {"details": lambda content: (self.details(content.get("path")), [])}  # type: ignore[arg-type]

    # -- export ----------------------------------------------------------------------------------------------
    def to_dot(self, full: bool = False) -> Any:
        """The graph as a ``graphviz.Digraph`` (its ``.source`` is the DOT text; ``.render()`` needs graphviz's
        ``dot`` program).

        In autograd mode, torchviz's ``make_dot`` of the same graph (the forward runs again; torchviz draws no
        groups, so this is always every captured node). In modules mode, the graph as drawn now, or every captured
        node with ``full``.
        """
        if self.mode == "autograd":
            return G.autograd_dot(self._model, self._x)
        nodes, edges = (self._graph.nodes, self._graph.edges) if full else self.visible()
        return GV.to_dot(nodes, edges, type(self._model).__name__)

    def to_svg(self) -> str:
        """The graph as drawn now, as SVG text, with the view's layout (elkjs's boxes, sent back by the view once it
        has shown the graph with the groups open now); before a view has (headless), a Python layout in layers
        that looks like the view's only roughly."""
        return GX.to_svg(*GX.picture_of(self))

    def to_png(self, width: int | None = None) -> bytes:
        """The graph as drawn now, as PNG bytes, ``width`` pixels wide (None: twice the view's size at zoom 1, as on
        a high-density screen, at most 4000 x 8000). The boxes are the view's as in :meth:`to_svg` (a Python layout
        before a view has shown the graph); Pillow draws them, cheap enough for every redraw of the notebook's
        picture."""
        nodes, edges, placed = GX.picture_of(self)
        return GX.to_png_bytes(nodes, edges, placed, width)

    def _writers(self) -> dict[str, Callable[[], bytes | str]]:
        # The graph as drawn now; .svg/.png/.dot need no graphviz binary.
        return {".svg": self.to_svg, ".png": self.to_png, ".dot": lambda: self.to_dot().source,
                ".html": self.to_html}

    def to_html(self, title: str | None = None) -> str:
        """A standalone HTML page of the graph that runs offline with no kernel: what ``save("x.html")`` writes.

        Opening and closing groups works as in the notebook (the browser works out the drawn graph); the
        details panel of every module (type, parameters, repr) is in the page. Links to other widgets need the
        kernel.
        """
        page = HtmlPage(self, self._bundle)
        page.reply_table("details", "path")
        for path in dict.fromkeys(["", *self.node_paths, *(g["path"] for g in self.groups)]):
            try:
                page.add_reply("details", [path], self.details(path))
            except ValueError as exc:  # a node with no module (autograd): the same error as live
                page.add_reply("details", [path], {"error": f"{type(exc).__name__}: {exc}"})
        return page.html(title or f"nbviz ModelGraph: {type(self._model).__name__}")

    def _static_png(self) -> bytes | None:
        return self.to_png()
