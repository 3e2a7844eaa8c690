"""Where the explorer puts its points: data -> GL space (``nbviz.export.normalize_points``, which the PNG uses) and
the camera distance that fits them (``fit_distance``), against ``normalizePoints`` and ``fitDistance`` in
js/src/embedding_explorer/normalize.ts, which the live view uses. Inputs are the float32 values the browser gets."""

from __future__ import annotations

import numpy as np

from nbviz.export import fit_distance, normalize_points
from tests.mirror import number

NAN, INF = float("nan"), float("inf")

POINTS = {
    "wider than tall": [[0, 0], [10, 5], [2, 3]],
    "taller than wide": [[0, 0], [1, 4], [0.5, -2]],
    "one point": [[1e6, -3]],
    "all equal": [[5, 5], [5, 5]],
    "non-finite points are left out": [[0, 0], [NAN, 1], [2, 0], [INF, 5], [1, -INF], [0.5, 1]],
    "nothing finite": [[NAN, NAN], [NAN, 1]],
    "empty": [],
    "float64 narrowed as on the wire": [[0.1, 0.2], [1 / 3, 1e-8], [-2 / 3, 0.7]],
    "far from the origin": [[1e4 + 0.5, 1e4], [1e4 + 1.5, 1e4 + 0.25]],
    "random": np.random.default_rng(7).normal(size=(12, 2)).tolist(),
}

#: (half width, half height, aspect, margin px, canvas height px)
DISTANCES = [(0.95, 0.3, 2.0, 0, 0), (0.3, 0.95, 2.0, 0, 0), (0.95, 0.95, 0.5, 0, 0), (0.0, 0.0, 1.0, 0, 0),
             (1.0, 1.0, 0.0, 0, 0), (0.0, 0.95, 0.02, 0, 0), (NAN, 1.0, 1.0, 0, 0), (INF, 1.0, 1.0, 0, 0),
             (0.5, 0.2, NAN, 0, 0), (0.95, 0.475, 1.6, 0, 0),
             # with a margin: a point's radius and half a thumbnail kept from every edge
             (0.95, 0.475, 1.6, 9.5, 480), (0.3, 0.95, 2.0, 22, 400), (0.95, 0.95, 1.0, 250, 400),
             (0.95, 0.2, 3.0, 30, 120), (0.0, 0.0, 1.0, 10, 300)]


def cases() -> dict:
    points = []
    for name, pts in POINTS.items():
        wire = np.asarray(pts, dtype=np.float32).reshape(-1, 2)  # what the browser gets
        gl, half_w, half_h = normalize_points(pts)
        points.append({"name": name, "xy": [number(v) for v in wire.ravel().tolist()],
                       "x": [number(v) for v in gl[:, 0].tolist()], "y": [number(v) for v in gl[:, 1].tolist()],
                       "half_width": half_w, "half_height": half_h})
    distances = [[number(hw), number(hh), number(a), m, h, fit_distance(hw, hh, a, m, h)]
                 for hw, hh, a, m, h in DISTANCES]
    return {"points": points, "distances": distances}
