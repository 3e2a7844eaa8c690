"""Images for the browser: PNG encoding with crisp upscaling of tiny images, and texture atlases."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

#: Largest atlas side in pixels (also TensorBoard's sprite limit, and safe for every WebGL texture).
ATLAS_MAX_PX = 8192


def to_uint8_image(img: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 1|3|4), uint8 or float in [0, 1] -> uint8 (H, W) or (H, W, 3|4)."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"image must be (H, W) or (H, W, 1|3|4), got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if np.issubdtype(a.dtype, np.floating):
        return np.round(np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer) and a.min(initial=0) >= 0 and a.max(initial=0) <= 255:
        return a.astype(np.uint8)
    raise ValueError(f"image dtype {a.dtype} is not uint8, 0..255 integers or floats in [0, 1]")


def _resized(img: np.ndarray, size: int | None) -> Image.Image:
    pil = Image.fromarray(to_uint8_image(img))
    if size is None:
        return pil
    w, h = pil.size
    scale = size / max(w, h)
    if scale == 1:
        return pil
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Nearest when enlarging keeps tiny images (8x8 digits) crisp; Lanczos when shrinking avoids aliasing.
    return pil.resize(new, Image.NEAREST if scale > 1 else Image.LANCZOS)


def encode_png(img: np.ndarray, size: int | None = None) -> bytes:
    """PNG bytes of an image, optionally resized so its longer side is ``size`` pixels."""
    buf = io.BytesIO()
    _resized(img, size).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def atlas(images: list[np.ndarray], size: int) -> tuple[bytes, int]:
    """Pack images into one RGBA PNG of ``size`` x ``size`` cells, row-major, ``ceil(sqrt(n))`` columns.

    Each image is fitted into its cell keeping its aspect ratio, centred on transparent padding.
    Returns (png_bytes, columns).
    """
    n = len(images)
    if size < 1:
        raise ValueError(f"size must be >= 1 pixel, got {size}")
    columns = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / columns))
    if columns * size > ATLAS_MAX_PX:
        fit = (ATLAS_MAX_PX // size) ** 2
        raise ValueError(f"{n} images of {size}px do not fit a {ATLAS_MAX_PX}px atlas; at most {fit} fit")
    sheet = Image.new("RGBA", (columns * size, rows * size), (0, 0, 0, 0))
    for k, img in enumerate(images):
        cell = _resized(img, size).convert("RGBA")
        x = (k % columns) * size + (size - cell.size[0]) // 2
        y = (k // columns) * size + (size - cell.size[1]) // 2
        sheet.paste(cell, (x, y))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", compress_level=1)
    return buf.getvalue(), columns
