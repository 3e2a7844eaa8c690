"""ModelGraph: a model's architecture as a collapsible graph in the browser, that picks layers for the other widgets.

The whole captured graph is sent once (strings as lists, numbers as binary arrays); which groups are open is the
``expanded`` trait, and the browser works out the drawn graph itself (``js/src/model_graph/visible.ts`` mirrors
:func:`nbviz.kernels.graph.visible`), so opening a group needs no round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import traitlets as t
from torch import nn

from ..kernels import attribution as attr
from ..kernels import graph as G
from ..kernels.activations import resolve_layer
from .base import Array, NbvizWidget

#: Characters of a module's repr sent to the details panel.
REPR_CHARS = 4000


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

    mode = t.Unicode("modules").tag(sync=True)
    fallback = t.Unicode("", help="why the capture fell back to forward hooks ('' when it did not)").tag(sync=True)
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

    def __init__(self, model: nn.Module, example_input: Any, mode: str = "modules", depth: int = 2, *,
                 height: int = 480, **kwargs: Any) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
            raise ValueError(f"depth must be an int >= 0 (levels of modules shown open), got {depth!r}")
        G.check_mode(mode)
        x = G.prepare_input(model, example_input)  # its errors before anything is sent
        self._model = model
        self._links: list[Any] = []
        # The comm opens before the capture: the browser loads the bundle and starts elkjs's worker meanwhile.
        super().__init__(mode=mode, height=int(height), **kwargs)
        try:
            self._graph = g = G.capture(model, x, mode)
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
            self.expanded = G.initial_expanded(g, int(depth))

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
        return G.visible(self._graph, self.expanded)

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

    @t.validate("expanded")
    def _check_expanded(self, proposal: dict) -> list[str]:
        known = list(self._graph.groups) + [f["id"] for f in self._graph.folds]
        bad = [p for p in proposal["value"] if p not in known]
        if bad:
            raise t.TraitError(f"expanded must list groups of the graph; {bad[0]!r} is not one; closest: "
                               f"{G.closest_paths(bad[0], known)}")
        return list(dict.fromkeys(proposal["value"]))

    @t.observe("selected")
    def _on_selected(self, change: dict) -> None:
        path = change["new"]
        if not path or not self._links:
            return
        with self.reporting_errors():
            if path in self.unusable:
                raise ValueError(self.unusable[path])
            for target in self._links:
                if callable(target) and not hasattr(target, "layer"):
                    target(path)
                else:
                    target.layer = path
            self.error = ""

    def expand(self, *paths: str) -> ModelGraph:
        """Open groups (or folded runs); returns the widget."""
        self.expanded = [*self.expanded, *paths]
        return self

    def collapse(self, *paths: str) -> ModelGraph:
        """Close groups (and every group inside them); returns the widget."""
        self.expanded = [p for p in self.expanded if not any(p == c or p.startswith(c + ".") for c in paths)]
        return self

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
            reasons = {p: attr.spatial_reason(p, s) for p, s in self._graph.module_shapes.items() if p}
            self.unusable = {**self.unusable, **{p: f"not usable for Grad-CAM: {r}" for p, r in reasons.items() if r}}
        elif not (callable(target) or hasattr(target, "layer")):
            raise TypeError(f"link() takes a GradCamViewer, an object with a `layer` attribute or a callable taking "
                            f"a layer path; got {type(target).__name__}")
        self._links.append(target)
        return self

    # -- details (js/src/model_graph/details.ts asks) ---------------------------------------------------------
    def details(self, path: str) -> dict:
        """Type, parameters (name, shape, count) and repr of the module at ``path``."""
        module = resolve_layer(self._model, path)[1]
        params = [{"name": n, "shape": list(p.shape), "count": int(p.numel()), "trainable": bool(p.requires_grad)}
                  for n, p in module.named_parameters()]
        text = repr(module)
        return {"path": path, "type": type(module).__name__, "params": params[:200],
                "total": sum(p["count"] for p in params), "more": max(len(params) - 200, 0),
                "repr": text if len(text) <= REPR_CHARS else text[:REPR_CHARS] + "\n...",
                "shape": list(self._graph.module_shapes.get(path, ())), "unusable": self.unusable.get(path, "")}

    def _request_handlers(self) -> dict[str, Callable[[dict], tuple[dict, list]]]:
        return {"details": lambda content: (self.details(str(content.get("path", ""))), [])}

    # -- export ----------------------------------------------------------------------------------------------
    def to_dot(self, full: bool = False) -> str:
        """The graph as drawn now (``full``: every captured node) in graphviz's DOT language."""
        nodes, edges = (self._graph.nodes, self._graph.edges) if full else self.visible()
        return G.to_dot(nodes, edges, type(self._model).__name__)

    def to_png(self) -> bytes:
        """The graph as drawn now, laid out in layers, as PNG bytes (matplotlib; no graphviz needed)."""
        import io

        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyBboxPatch

        nodes, edges = self.visible()
        at = G.layered_layout(nodes, edges)
        cols = max((i for _, i in at.values()), default=0) + 1
        rows = max((k for k, _ in at.values()), default=0) + 1
        fig = Figure(figsize=(min(2.2 * cols, 30), min(0.7 * rows, 60)), dpi=80)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(-0.6, cols - 0.4)
        ax.set_ylim(rows - 0.5, -0.5)
        ax.axis("off")
        for e in edges:
            (k1, i1), (k2, i2) = at[e["source"]], at[e["target"]]
            ax.plot([i1, i2], [k1 + 0.25, k2 - 0.25], color="#888", lw=0.8)
        for n in nodes:
            k, i = at[n["id"]]
            closed = n["kind"] in ("group", "fold")
            ax.add_patch(FancyBboxPatch((i - 0.45, k - 0.25), 0.9, 0.5, boxstyle="round,pad=0.02",
                                        fc="#dde8f5" if closed else "#f4f4f4", ec="#666", lw=0.8))
            ax.text(i, k, G.node_label(n)[:60], ha="center", va="center", fontsize=7, family="monospace")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    def save(self, path: str | Path) -> Path:
        """Write the graph as drawn now to ``.svg``, ``.png`` or ``.dot`` (no graphviz binary needed)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".dot":
            path.write_text(self.to_dot())
        elif suffix == ".svg":
            path.write_text(G.to_svg(*self.visible()))
        elif suffix == ".png":
            path.write_bytes(self.to_png())
        else:
            raise ValueError(f"path must end in .svg, .png or .dot, got {path.name!r}")
        return path

    def _static_png(self) -> bytes | None:
        return self.to_png()
