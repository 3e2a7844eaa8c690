"""ModelGraph's visibility rule: which nodes and edges are drawn for a set of open groups (closed groups and folded
runs of identical blocks as single nodes), as ``nbviz.kernels.graph_view.visible`` gives them and
js/src/model_graph/visible.ts ``visibleGraph`` must draw them. The graph is a small real model captured in modules
mode (fx's names: the same every run), sent the way the widget sends it."""

from __future__ import annotations

import torch
from torch import nn

from nbviz.kernels import graph as G
from nbviz.kernels import graph_view as GV


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.bn(self.conv(x)))  # ops inside a group: drawn in it, or as it


class Net(nn.Module):
    """Nested groups, a fold (body.0..body.2), ops at the top level, and a group (head) of modules only."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.body = nn.Sequential(Block(), Block(), Block())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x))) * 2


FOLD = "body.0..body.2"
NODE_KEYS = ("id", "path", "type", "kind", "params", "shape")
#: Open sets besides those of each collapse depth: a fold opened, a member opened while its fold is not (the run
#: then shows each block), inner groups open inside a closed one, names that are no group.
OPEN_SETS = [
    ["body", FOLD],
    ["body", "body.1"],
    ["body", FOLD, "body.2"],
    ["body.0", FOLD],
    ["no.such.group"],
]


def graph_data(g: G.Graph) -> dict:
    """The captured graph as the ModelGraph widget sends it (its node_* traits, edge_index, groups, folds), under the
    names of the view's ``GraphData``."""
    index = {n["id"]: i for i, n in enumerate(g.nodes)}
    return {"ids": [n["id"] for n in g.nodes], "paths": [n["path"] for n in g.nodes],
            "types": [n["type"] for n in g.nodes], "shapes": [n["shape"] for n in g.nodes],
            "kinds": [n["kind"] for n in g.nodes], "labels": [n.get("label", "") for n in g.nodes],
            "params": [n["params"] for n in g.nodes],
            "edges": [i for e in g.edges for i in (index[e["source"]], index[e["target"]])],
            "groups": list(g.groups.values()), "folds": g.folds}


def cases() -> dict:
    g = G.capture(Net(), torch.zeros(1, 3, 8, 8))
    assert [f["id"] for f in g.folds] == [FOLD], g.folds
    deepest = max(grp["depth"] for grp in g.groups.values())
    # Depth 1 opens nothing (the top-level groups have depth 1), as depth 0 does.
    open_sets = [GV.initial_expanded(g, d) for d in range(1, deepest + 2)] + OPEN_SETS
    views = []
    for expanded in open_sets:
        nodes, edges = GV.visible(g, expanded)
        views.append({"expanded": expanded,
                      # One line of text per node and edge keeps the file small and readable.
                      "nodes": [" | ".join(str(n[k]) for k in NODE_KEYS) for n in nodes],
                      "edges": [f"{e['source']} -> {e['target']} | {e['shape']}" for e in edges]})
    return {"graph": graph_data(g), "views": views}
