"""Class-probability maps of a classifier: the grid's plane, quantisation, and the browser's playback and colour.

What lives here is pure and needs no model: :func:`make_plane` (the 2-D plane mapped when the inputs have D > 2),
:func:`check_points`, :func:`quantize` (probabilities to the ``uint8`` that frames store), and the Python twins of
``js/src/prob_map_player/`` (:func:`interpolate`, :func:`timeline`, :func:`frame_at`, :func:`class_luts`,
:func:`colorize`, :func:`flip_mask`), which make the static exports look like the live view. The recorder that
evaluates a model on the grid while it trains is :class:`nbviz.kernels.recorder.ProbMapRecorder` (its background
worker in :mod:`nbviz.kernels.recorder_worker`); running the user's model is :mod:`nbviz.kernels.model_runner`.

Frames are stored in image order: row 0 is the top of the map (largest y), column 0 its left (smallest x).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

MODES = ("region", "boundary", "class", "entropy")
INTERPOLATIONS = ("linear", "geometric")
#: Added to uint8 probabilities (0..255) before the geometric blend, so a class at 0 in one frame can still grow.
GEOMETRIC_EPS = 0.5
#: Colour of the low end of the region scale (a class barely ahead) and of the boundary scale (a tie).
REGION_LOW = (242, 242, 242)
BOUNDARY_LOW = (25, 25, 25)


# -- helpers -----------------------------------------------------------------------------------------------
def _as_array(value: Any, name: str, dtype: Any = np.float64) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor, any device
        value = value.detach().cpu().numpy()
    elif hasattr(value, "to_numpy"):  # pandas
        value = value.to_numpy()
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of numbers, got {type(value).__name__}: {exc}") from None


def check_points(X: Any, name: str) -> np.ndarray:
    """``X`` (array, tensor, DataFrame) as an (N, D) float64 array with N >= 1, D >= 2 and finite values."""
    arr = _as_array(X, name)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 2:
        raise ValueError(f"{name} must be a 2-D array (N, D) with N >= 1 and D >= 2, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def quantize(probs: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] to uint8 (0..255), rounding to nearest: the error is at most 1/510."""
    return np.rint(np.clip(probs, 0.0, 1.0) * 255.0).astype(np.uint8)


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
        origin = X.mean(axis=0) if fixed is None else _as_array(fixed, "fixed").reshape(-1)
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


# -- playback and colour: the browser's twins (js/src/prob_map_player/) ---------------------------------------
def interpolate(a: np.ndarray, b: np.ndarray, f: float, kind: str = "linear") -> np.ndarray:
    """Blend two uint8 probability frames at ``f`` in [0, 1]; float probabilities in [0, 1] come out.

    "linear" mixes the probabilities; "geometric" mixes their logarithms (then renormalises over the classes),
    which keeps a confident class confident through the blend. Class ids are never blended.
    """
    if kind not in INTERPOLATIONS:
        raise ValueError(f"interpolation_type must be one of {INTERPOLATIONS}, got {kind!r}")
    a32, b32 = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if kind == "linear":
        return ((1 - f) * a32 + f * b32) / 255.0
    g = np.exp((1 - f) * np.log(a32 + GEOMETRIC_EPS) + f * np.log(b32 + GEOMETRIC_EPS))
    return g / g.sum(axis=-1, keepdims=True)


def timeline(epochs: Sequence[int], interpolation: int) -> list[tuple[int, float, float]]:
    """The playback steps ``(frame index, blend fraction, epoch)``: each recorded frame once, ``interpolation``
    blended steps between neighbours, epochs interpolated between the true (possibly uneven) epoch numbers."""
    if isinstance(interpolation, bool) or not isinstance(interpolation, (int, np.integer)) or interpolation < 0:
        raise ValueError(f"interpolation must be an int >= 0 (blended frames between recorded ones), "
                         f"got {interpolation!r}")
    steps = []
    for i, e in enumerate(epochs):
        steps.append((i, 0.0, float(e)))
        if i + 1 < len(epochs):
            for k in range(1, interpolation + 1):
                f = k / (interpolation + 1)
                steps.append((i, f, e + f * (epochs[i + 1] - e)))
    return steps


def frame_at(epochs: Sequence[int], epoch: float) -> tuple[int, float]:
    """What a map shows at ``epoch`` (possibly between recorded epochs): ``(frame index, blend fraction)``, the
    last frame recorded at or before ``epoch`` (the first one before any) blended towards the next. Compare mode
    uses it to place each recorder on the shared slider; twin of ``frameAt`` in playback.ts."""
    if not len(epochs):
        raise ValueError("epochs must hold at least one recorded epoch")
    j = int(np.searchsorted(np.asarray(epochs, dtype=np.float64), epoch + 1e-9, side="right")) - 1
    if j < 0 or j + 1 >= len(epochs):
        return max(j, 0), 0.0
    f = (epoch - epochs[j]) / (epochs[j + 1] - epochs[j])
    return j, (f if f > 1e-9 else 0.0)


def blend_lut(low: Sequence[int], high: Sequence[int], n: int = 256) -> np.ndarray:
    """(n, 4) uint8 RGBA ramp from ``low`` to ``high`` RGB."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    rgb = np.asarray(low, dtype=np.float64)[None, :3] * (1 - t) + np.asarray(high, dtype=np.float64)[None, :3] * t
    return np.concatenate([np.rint(rgb), np.full((n, 1), 255.0)], axis=1).astype(np.uint8)


def class_luts(palette: np.ndarray, low: Sequence[int]) -> np.ndarray:
    """(C, 256, 4) one quantitative scale per class, from ``low`` to the class's colour."""
    return np.stack([blend_lut(low, row[:3]) for row in np.asarray(palette)])


def _lut_index(v: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(v * 255.0), 0, 255).astype(np.intp)


def colorize(
    probs: np.ndarray,
    mode: str,
    luts: dict[str, np.ndarray],
    target: int = 0,
    boundary_line: bool = True,
    line_rgba: Sequence[int] = (0, 0, 0, 255),
) -> np.ndarray:
    """RGBA image (rows, columns, 4) of a probability map (rows, columns, C) in one of :data:`MODES`.

    ``luts`` holds "region" and "boundary" (C, 256, 4) and "class" and "entropy" (256, 4) tables. The scales are
    fixed (never rescaled per frame): region by how far the winning class is above chance, boundary by the margin
    between the top two classes, class by the probability of ``target``, entropy normalised by log C.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    p = np.asarray(probs, dtype=np.float32)
    c = p.shape[-1]
    if mode == "class":
        if not 0 <= target < c:
            raise ValueError(f"target class must be in 0..{c - 1}, got {target}")
        return luts["class"][_lut_index(p[..., target])]
    if mode == "entropy":
        h = -(p * np.log(np.maximum(p, 1e-12))).sum(axis=-1) / math.log(c)
        return luts["entropy"][_lut_index(h)]
    k = p.argmax(axis=-1)
    top = np.take_along_axis(p, k[..., None], axis=-1)[..., 0]
    if mode == "region":
        return luts["region"][k, _lut_index((top - 1.0 / c) / (1.0 - 1.0 / c))]
    second = np.sort(p, axis=-1)[..., -2]
    img = luts["boundary"][k, _lut_index(top - second)]
    if boundary_line:
        img[flip_mask(k)] = line_rgba
    return img


def flip_mask(k: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Cells whose winning class differs from the cell to the right or below (``previous`` None: the boundary
    line), or from the same cell in ``previous`` (the pixel-flip overlay)."""
    if previous is not None:
        return k != previous
    out = np.zeros(k.shape, dtype=bool)
    out[:, :-1] |= k[:, :-1] != k[:, 1:]
    out[:-1, :] |= k[:-1, :] != k[1:, :]
    return out
