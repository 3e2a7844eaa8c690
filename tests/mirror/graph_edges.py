"""ModelGraph's edge routes: the path the view draws for an edge (js/src/model_graph/draw.ts ``edgePath``) and the one
the PNG / SVG export draws (``nbviz.widgets.model_graph_export.edge_path``): a curve between layers, a route on the
right of the boxes for an edge that skips layers (a residual connection)."""

from __future__ import annotations

from nbviz.widgets.model_graph_export import BOX_H, GAP_Y, edge_path, label_at

STEP = BOX_H + GAP_Y


def _chain(n: int, x: float = 0.0, w: float = 120.0) -> list[tuple[float, float, float, float]]:
    return [(x, i * STEP, w, BOX_H) for i in range(n)]


def cases() -> dict:
    chain = _chain(4)
    wide = [*chain[:2], (-40.0, 2 * STEP, 260.0, BOX_H), chain[3]]  # a wide box in the way
    beside = [*_chain(3), (200.0, STEP, 100.0, BOX_H)]  # a box in the middle layer, but off the straight path
    branch = [(0.0, 0.0, 120.0, BOX_H), (-80.0, STEP, 100.0, BOX_H), (80.0, STEP, 100.0, BOX_H),
              (0.0, 2 * STEP, 120.0, BOX_H)]
    scenes = {"next layer": (chain, 0, 1), "residual over two boxes": (chain, 0, 3), "past a wide box": (wide, 0, 3),
              "a box off the path": (beside, 0, 2), "branches join": (branch, 1, 3)}
    out = []
    for name, (boxes, s, t) in scenes.items():
        path = edge_path(boxes[s], boxes[t], boxes)
        out.append({"name": name, "boxes": [list(b) for b in boxes], "source": s, "target": t,
                    "path": [list(p) for p in path], "label": list(label_at(path))})
    return {"scenes": out}
