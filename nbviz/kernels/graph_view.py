"""A captured :class:`~nbviz.kernels.graph.Graph` as it is drawn: the groups open at a collapse depth, the nodes and
edges shown for a set of open groups (closed groups and folded runs as single nodes), the layered layout static
pictures fall back to when no view has laid the graph out, node labels and DOT (a ``graphviz.Digraph``); also the
closest group names for error messages. Nothing here touches a model: capture is in :mod:`.graph`; the pictures
are drawn in :mod:`nbviz.widgets.model_graph_export`.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import Any

from .graph import Graph, node_chain


# -- the graph as seen -----------------------------------------------------------------------------------------
def initial_expanded(graph: Graph, depth: int) -> list[str]:
    """Groups open at ``depth``: those fewer than ``depth`` levels down (0: every group closed)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be an int >= 0 (0: every module collapsed), got {depth!r}")
    return [p for p, g in graph.groups.items() if g["depth"] < depth]


def visible(graph: Graph, expanded: list[str] | set[str]) -> tuple[list[dict], list[dict]]:
    """Nodes and edges drawn when the groups in ``expanded`` are open (mirrors js/src/model_graph/visible.ts).

    A node inside a closed group is drawn as that group (``kind`` "group"); closed groups in a run of identical
    siblings are drawn as one fold node (``kind`` "fold") unless the fold's id is expanded.
    """
    open_ = set(expanded)
    fold_of = {m: f for f in graph.folds if f["id"] not in open_ for m in f["members"]}
    shown: dict[str, dict] = {}
    where: dict[str, str] = {}
    for n in graph.nodes:
        closed = next((p for p in node_chain(n) if p not in open_), None)
        if closed is None:
            where[n["id"]] = n["id"]
            shown.setdefault(n["id"], n)
        elif closed in fold_of and all(m not in open_ for m in fold_of[closed]["members"]):
            f = fold_of[closed]
            where[n["id"]] = f["id"]
            shown.setdefault(f["id"], {"id": f["id"], "path": f["members"][0], "type": f["label"], "kind": "fold",
                                       "params": sum(graph.groups[m]["params"] for m in f["members"]),
                                       "shape": graph.groups[f["members"][-1]]["shape"]})
        else:
            g = graph.groups[closed]
            where[n["id"]] = closed
            shown.setdefault(closed, {"id": closed, "path": closed, "type": g["type"], "kind": "group",
                                      "params": g["params"], "shape": g["shape"]})
    edges: dict[tuple[str, str], dict] = {}
    for e in graph.edges:
        s, t = where.get(e["source"]), where.get(e["target"])
        if s is not None and t is not None and s != t:
            edges.setdefault((s, t), {"source": s, "target": t, "shape": e["shape"]})
    return list(shown.values()), list(edges.values())


def layered_layout(nodes: list[dict], edges: list[dict]) -> dict[str, tuple[int, int]]:
    """(layer, position) of each node: longest-path layers, each layer ordered by its parents' mean position."""
    ids = [n["id"] for n in nodes]
    preds: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        preds[e["target"]].append(e["source"])
    layer: dict[str, int] = {}
    for nid in ids:  # captured nodes come in execution order, so sources come first (cycles cannot occur)
        layer[nid] = 1 + max((layer.get(p, -1) for p in preds[nid]), default=-1)
    rows: dict[int, list[str]] = defaultdict(list)
    pos: dict[str, float] = {}
    for nid in sorted(ids, key=lambda i: layer[i]):
        ps = [pos[p] for p in preds[nid] if p in pos]
        rows[layer[nid]].append(nid)
        pos[nid] = sum(ps) / len(ps) if ps else len(rows[layer[nid]])
    out = {}
    for k, row in rows.items():
        for i, nid in enumerate(sorted(row, key=lambda n: pos[n])):
            out[nid] = (k, i)
    return out


# -- export ----------------------------------------------------------------------------------------------------
def _dot_text(text: str) -> Any:
    """``text`` as a DOT string of its own: backslashes kept, new lines as DOT's line breaks, never read as an
    HTML-like label (a type name like ``<lambda>`` would be)."""
    from graphviz import nohtml

    return nohtml(text.replace("\\", "\\\\").replace("\n", "\\n"))


def node_label(n: dict) -> str:
    name = n.get("label") or (n["path"].rsplit(".", 1)[-1] if n["kind"] in ("module", "group") else "")
    head = f"{name}: {n['type']}" if name else n["type"]
    return head + (f"\n{n['shape']}" if n.get("shape") else "")


def to_dot(nodes: list[dict], edges: list[dict], name: str = "model") -> Any:
    """The graph as a ``graphviz.Digraph`` (``.source`` is the DOT text; graphviz quotes names and labels, so any
    module name is safe), in torchviz's node style."""
    from graphviz import Digraph

    dot = Digraph(_dot_text(name), node_attr={"shape": "box", "fontname": "monospace", "fontsize": "10"})
    for n in nodes:
        dot.node(_dot_text(n["id"]), _dot_text(node_label(n)))
    for e in edges:
        label = {"label": _dot_text(e["shape"])} if e["shape"] else {}
        dot.edge(_dot_text(e["source"]), _dot_text(e["target"]), **label)
    return dot


def closest_paths(path: str, known: list[str]) -> list[str]:
    """Up to 5 names in ``known`` closest to ``path``."""
    return difflib.get_close_matches(path, known, n=5, cutoff=0.4)
