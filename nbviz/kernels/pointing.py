"""The pointing game (Zhang et al., "Top-down neural attention by excitation backprop", 2016): does a saliency map's
maximum fall on the object? The accuracy over a set of images with ground-truth boxes scores how well an
attribution method (and layer) localises evidence."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..checks import as_matrix, as_numpy

__all__ = ["Pointing", "pointing_game"]


class Pointing(NamedTuple):
    """What :func:`pointing_game` returns."""

    #: (N,) bool: whether image i's maximum lies in its box (grown by the tolerance).
    hits: np.ndarray
    #: (N, 2) int64 (x, y) pixel of each map's maximum (the first, in row-major order, on ties).
    points: np.ndarray

    @property
    def accuracy(self) -> float:
        """Share of hits."""
        return float(self.hits.mean()) if len(self.hits) else float("nan")


def pointing_game(maps: Any, boxes: Any, tolerance: float = 0.0) -> Pointing:
    """Score saliency maps against ground-truth boxes.

    Parameters
    ----------
    maps
        (N, H, W) saliency maps (array or tensor), larger = more evidence; at the images' size.
    boxes
        (N, 4) boxes (x0, y0, x1, y1) in pixels, x1 and y1 exclusive.
    tolerance
        Pixels the box is grown by on every side (the original game used 15 px at 224 px; 0 is strict).

    Raises
    ------
    ValueError
        Shapes that do not fit (named), a negative or non-finite tolerance, NaN in the maps.
    """
    m = as_numpy(maps, "maps")
    if m.ndim != 3 or m.shape[0] < 1 or m.shape[1] < 1 or m.shape[2] < 1:
        raise ValueError(f"maps must be (N, H, W) with N, H, W >= 1, got shape {m.shape}")
    if m.dtype.kind not in "biuf" or not np.isfinite(m).all():
        raise ValueError("maps must hold finite numbers")
    b = as_matrix(boxes, "boxes").astype(np.float64)
    if b.shape != (len(m), 4):
        raise ValueError(f"boxes must be (N, 4) (x0, y0, x1, y1) with N = {len(m)} (one per map), got {b.shape}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < float("inf"):
        raise ValueError(f"tolerance must be a number of pixels >= 0, got {tolerance!r}")
    flat = m.reshape(len(m), -1).argmax(axis=1)
    ys, xs = np.divmod(flat, m.shape[2])
    t = float(tolerance)
    hits = (xs >= b[:, 0] - t) & (xs < b[:, 2] + t) & (ys >= b[:, 1] - t) & (ys < b[:, 3] + t)
    return Pointing(hits, np.stack([xs, ys], axis=1).astype(np.int64))
