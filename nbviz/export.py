"""Static pictures made from the same state the browser renders (same layout rule, same colour tables)."""

from __future__ import annotations

import io

import numpy as np

#: Free margin in GL units around the points; mirrors js/src/embedding_explorer/normalize.ts.
PADDING = 0.05


def fit_to_canvas(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel positions (x right, y down) of 2-D points as the live view first shows them.

    The same rule as the browser: the longer data side spans 2 * (1 - PADDING) GL units, and the camera fits
    that box plus PADDING into the canvas keeping the aspect ratio.
    """
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 0:
        return np.zeros((0, 2))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    ext = hi - lo
    span = float(ext.max())
    scale = 2 * (1 - PADDING) / span if span > 0 else 1.0
    gl = (pts - (lo + hi) / 2) * scale
    half_w, half_h = ext * scale / 2 + PADDING
    d = max(half_w / (width / height), half_h)
    px_per_gl = height / (2 * d)
    return np.stack([width / 2 + gl[:, 0] * px_per_gl, height / 2 - gl[:, 1] * px_per_gl], axis=1)


def rasterize_points(
    points: np.ndarray,
    colors: np.ndarray,
    width: int = 640,
    height: int = 400,
    radius: float = 1.5,
    background: tuple[int, int, int, int] = (255, 255, 255, 255),
) -> np.ndarray:
    """Draw points as small discs into an (height, width, 4) uint8 image, later points on top like WebGL."""
    img = np.empty((height, width, 4), dtype=np.uint8)
    img[:] = background
    if len(points) == 0:
        return img
    xy = np.round(fit_to_canvas(points, width, height)).astype(np.int64)
    colors = np.asarray(colors, dtype=np.uint8)
    r = int(np.ceil(radius))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > radius * radius + 0.5:
                continue
            x, y = xy[:, 0] + dx, xy[:, 1] + dy
            inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
            img[y[inside], x[inside]] = colors[inside] if colors.ndim == 2 else colors
    return img


def to_png(image: np.ndarray) -> bytes:
    """Encode an RGBA/RGB uint8 image as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()
