"""EmbeddingExplorer: a WebGL scatter of projected features that talks back to Python."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets as t

from ..colors import categorical_palette
from ..data import Features, as_numpy
from ..export import rasterize_points, to_png
from ..kernels.projection import pca
from .base import Array, NbvizWidget


def _auto_point_size(n: int) -> float:
    """Bigger points for few, smaller for many, so both a 100-point and a 1M-point plot read well."""
    return float(np.clip(2.0 + 1.25 * (6.0 - np.log10(max(n, 1))), 1.5, 7.0))


class EmbeddingExplorer(NbvizWidget):
    """Explore a 2-D layout of N-D features: pan, zoom, hover, and click a point to focus it.

    Parameters
    ----------
    data
        (N, 2) points to draw as they are, (N, D) features projected by PCA, or :class:`nbviz.Features`.
    labels
        Optional per-point labels (overrides the labels of ``data`` when it is a ``Features``).
    height
        Height of the view in pixels.
    point_size
        Point size in pixels; chosen from N when omitted.
    """

    _bundle = "embedding_explorer"

    points = Array(help="(N, 2) float32 positions as drawn")
    categories = Array(help="(N,) uint8/uint16 category codes, or None")
    category_names = t.List(t.Unicode()).tag(sync=True)
    palette = Array(help="(K, 4) uint8 RGBA, one row per category")
    focus = t.Int(-1, help="index of the focused point, -1 for none").tag(sync=True)
    point_size = t.Float(3.0).tag(sync=True)
    height = t.Int(480).tag(sync=True)

    def __init__(
        self,
        data: Any,
        labels: Any = None,
        *,
        height: int = 480,
        point_size: float | None = None,
        **kwargs: Any,
    ) -> None:
        features = data if isinstance(data, Features) else Features(as_numpy(data, "data"), labels=labels)
        if labels is not None and isinstance(data, Features):
            features = Features(features.embeddings, labels=labels, images=None, metadata=features.metadata)
        if len(features) < 1:
            raise ValueError("data must have at least 1 row")
        if not isinstance(height, (int, np.integer)) or height < 50:
            raise ValueError(f"height must be an int of at least 50 pixels, got {height!r}")
        self.features = features
        emb = features.embeddings
        points = emb if emb.shape[1] == 2 else pca(emb, 2)
        has_labels = features.labels is not None
        super().__init__(
            points=np.ascontiguousarray(points, dtype=np.float32),
            categories=features.label_codes if has_labels else None,
            category_names=list(features.label_names) if has_labels else [],
            palette=categorical_palette(len(features.label_names) if has_labels else 1),
            height=int(height),
            point_size=float(point_size) if point_size is not None else _auto_point_size(len(features)),
            **kwargs,
        )

    @property
    def embedding(self) -> np.ndarray:
        """(N, 2) float32 positions as displayed."""
        return self.points

    @t.validate("focus")
    def _check_focus(self, proposal: dict) -> int:
        value = proposal["value"]
        n = len(self.features)
        if not -1 <= value < n:
            raise t.TraitError(f"focus must be -1 (none) or a point index in 0..{n - 1}, got {value}")
        return value

    def _point_colors(self) -> np.ndarray:
        pal = np.asarray(self.palette)
        return pal[np.asarray(self.categories)] if self.categories is not None else pal[0]

    def _static_png(self) -> bytes | None:
        img = rasterize_points(self.points, self._point_colors(), width=640, height=min(self.height, 480),
                               radius=max(self.point_size / 2, 1.0))
        return to_png(img)
