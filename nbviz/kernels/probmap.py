"""Class-probability maps of a classifier: the grid's plane.

What lives here is pure and needs no model: :func:`make_plane` (the 2-D plane mapped when the inputs have D > 2) and
:func:`check_points`. How frames are quantised, blended and coloured is :mod:`nbviz.display` (the browser's twin,
so the static exports look like the live view). The recorder that
evaluates a model on the grid while it trains is :class:`nbviz.kernels.recorder.ProbMapRecorder` (its background
worker in :mod:`nbviz.kernels.recorder_worker`); running the user's model is :mod:`nbviz.kernels.model_runner`.

Frames are stored in image order: row 0 is the top of the map (largest y), column 0 its left (smallest x).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import as_matrix, as_numpy


# -- helpers -----------------------------------------------------------------------------------------------
def check_points(X: Any, name: str) -> np.ndarray:
    """``X`` (array, tensor, DataFrame) as an (N, D) float64 array with N >= 1, D >= 2 and finite values."""
    arr = as_matrix(X, name, dtype=np.float64)
    if arr.shape[1] < 2:
        raise ValueError(f"{name} must be (N, D) with D >= 2 (a classifier's input plane), got shape {arr.shape}")
    return arr


# -- planes for D > 2 -----------------------------------------------------------------------------------------
class Plane:
    """A 2-D plane in the input space: ``origin + a * u + b * v``, or two features with the others fixed."""

    def __init__(self, origin: np.ndarray, basis: np.ndarray, kind: str, features: tuple[int, int] | None = None):
        self.origin, self.basis, self.kind, self.features = origin, basis, kind, features

    def to_input(self, ab: np.ndarray) -> np.ndarray:
        """(M, 2) plane coordinates to (M, D) inputs."""
        if self.features is not None:
            out = np.repeat(self.origin[None, :], len(ab), axis=0)
            out[:, list(self.features)] = ab
            return out
        return self.origin[None, :] + ab @ self.basis

    def project(self, X: np.ndarray) -> np.ndarray:
        """(N, D) inputs to (N, 2) plane coordinates (orthogonal projection)."""
        if self.features is not None:
            return X[:, list(self.features)]
        return (X - self.origin[None, :]) @ self.basis.T


def make_plane(X: np.ndarray, plane: Any, fixed: Any = None) -> Plane | None:
    """The plane for ``plane`` = None (D = 2) | "pca" | (i, j) features | (a, b, c) sample indices."""
    n, d = X.shape
    if plane is None:
        if d != 2:
            raise ValueError(
                f"X has D = {d} features: pass plane='pca', plane=(i, j) (two features, the others fixed at "
                "`fixed`) or plane=(a, b, c) (three sample indices) to choose the 2-D plane to map"
            )
        return None
    if isinstance(plane, str):
        if plane != "pca":
            raise ValueError(f"plane must be None, 'pca', (i, j) or (a, b, c), got {plane!r}")
        mean = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
        if len(s) < 2 or s[1] <= 1e-12 * max(s[0], 1e-300):
            raise ValueError("plane='pca' needs X to vary in at least two directions; X is (nearly) collinear")
        return Plane(mean, vt[:2], "pca")
    idx = tuple(int(i) for i in plane) if isinstance(plane, (tuple, list, np.ndarray)) else ()
    if len(idx) == 2:
        i, j = idx
        if not (0 <= i < d and 0 <= j < d) or i == j:
            raise ValueError(f"plane=(i, j) must name two different features in 0..{d - 1}, got {tuple(plane)}")
        origin = X.mean(axis=0) if fixed is None else np.asarray(as_numpy(fixed, "fixed"), dtype=np.float64).reshape(-1)
        if origin.shape != (d,):
            raise ValueError(f"fixed must hold one value per feature, shape ({d},), got {origin.shape}")
        return Plane(origin.astype(np.float64), np.eye(d)[[i, j]], "features", (i, j))
    if len(idx) == 3:
        if not all(0 <= i < n for i in idx):
            raise ValueError(f"plane=(a, b, c) must be three sample indices in 0..{n - 1}, got {tuple(plane)}")
        a, b, c = (X[i] for i in idx)
        u = b - a
        nu = np.linalg.norm(u)
        w = c - a - (c - a) @ u / max(nu**2, 1e-300) * u
        nw = np.linalg.norm(w)
        scale = max(nu, np.linalg.norm(c - a), 1e-300)
        if nu <= 1e-9 * scale or nw <= 1e-9 * scale:
            raise ValueError(f"plane={tuple(plane)}: the three samples are collinear (or repeated) and span no plane")
        return Plane(a.copy(), np.stack([u / nu, w / nw]), "samples")
    raise ValueError(f"plane must be None, 'pca', (i, j) features or (a, b, c) sample indices, got {plane!r}")
