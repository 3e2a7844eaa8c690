"""ModelGraph's node text: what the view writes in a box (js/src/model_graph/draw.ts ``nodeLines``, ``fmtCount``,
with the names ``visible.ts`` gives) and what the PNG / SVG export writes (``nbviz.widgets.model_graph_export``)."""

from __future__ import annotations

import torch
from torch import nn

from nbviz.kernels import graph as G
from nbviz.kernels import graph_view as GV
from nbviz.widgets.model_graph_export import fmt_count, text_lines

COUNTS = [0, 7, 999, 1000, 1049, 1050, 1250, 2080, 999_949, 999_950, 1_000_000, 2_250_000, 123_456_789,
          1_000_000_000, 7_350_000_000]


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn(self.conv(x))


def _graph() -> tuple[dict, G.Graph]:
    """A small CNN captured in modules mode (its ids are fx's names: the same every run), as the view gets it."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Sequential(Block(), Block(), Block()), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 300))
    g = G.capture(model, torch.zeros(1, 3, 10, 10))
    index = {n["id"]: i for i, n in enumerate(g.nodes)}
    data = {"ids": [n["id"] for n in g.nodes], "paths": [n["path"] for n in g.nodes],
            "types": [n["type"] for n in g.nodes], "shapes": [n["shape"] for n in g.nodes],
            "kinds": [n["kind"] for n in g.nodes], "labels": [n.get("label", "") for n in g.nodes],
            "params": [n["params"] for n in g.nodes],
            "edges": [i for e in g.edges for i in (index[e["source"]], index[e["target"]])],
            "groups": list(g.groups.values()), "folds": g.folds}
    return data, g


def cases() -> dict:
    data, g = _graph()
    views = []
    for expanded in ([], ["1"], ["1", "1.0..1.2"], ["1", "1.0..1.2", "1.1"]):
        nodes, _ = GV.visible(g, expanded)
        views.append({"expanded": expanded, "lines": {n["id"]: list(text_lines(n)) for n in nodes}})
    return {"counts": [[n, fmt_count(n)] for n in COUNTS], "graph": data, "views": views}
