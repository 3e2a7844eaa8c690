"""Static pictures made from the same state the browser renders (same layout rule, same colour tables)."""

from __future__ import annotations

import io

import numpy as np

#: Fraction of the shorter side left empty around the points; js/src/lib/layout.ts uses the same value.
PADDING = 0.05


def fit_to_canvas(points: np.ndarray, width: int, height: int, padding: float = PADDING) -> np.ndarray:
    """Pixel positions (x right, y down) of 2-D points fitted into a canvas, keeping their aspect ratio."""
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 0:
        return np.zeros((0, 2))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = (lo + hi) / 2
    extent = float(max(hi[0] - lo[0], hi[1] - lo[1])) or 1.0
    scale = min(width, height) * (1 - 2 * padding) / extent
    px = (pts[:, 0] - center[0]) * scale + width / 2
    py = height / 2 - (pts[:, 1] - center[1]) * scale
    return np.stack([px, py], axis=1)


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
