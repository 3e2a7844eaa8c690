"""Images for the browser: PNG encoding with crisp upscaling of tiny images, and texture atlases."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

#: Largest atlas side in pixels (also TensorBoard's sprite limit, and safe for every WebGL texture).
ATLAS_MAX_PX = 8192


def to_uint8_image(img: Any) -> np.ndarray:
    """An image as uint8 for encoding.

    Parameters
    ----------
    img
        (H, W) or (H, W, 1|3|4) numpy array (or CPU tensor / PIL image): uint8; integers in 0..255; floats in
        [0, 1] (within 1e-4); or booleans (False -> 0, True -> 255).

    Returns
    -------
    numpy.ndarray
        uint8 (H, W) for grayscale (a single channel is dropped), (H, W, 3) or (H, W, 4) otherwise. A uint8
        input comes back as is (no copy).

    Raises
    ------
    ValueError
        Wrong shape, an empty image, integers outside 0..255, floats outside [0, 1] or NaN.
    TypeError
        A dtype that is not a number.
    """
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"image must be (H, W) or (H, W, 1|3|4), got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"image must have at least 1x1 pixels, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(a.dtype, np.floating):
        lo, hi = float(np.min(a)), float(np.max(a))
        # A little slack for rounding in the user's normalisation (1.0000001 is 1).
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1e-4 or hi > 1.0 + 1e-4:
            raise ValueError(f"a float image must hold values in [0, 1], got values from {lo} to {hi}")
        return np.round(np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"an integer image must hold values in 0..255, got values from {lo} to {hi}")
        return a.astype(np.uint8)
    raise TypeError(f"image dtype must be uint8, integer, float or bool, got {a.dtype}")


def _check_size(size: Any, name: str = "size") -> int:
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{name} must be an int >= 1 (pixels), got {size!r}")
    return int(size)


def _resized(img: Any, size: int | None) -> Image.Image:
    """The image as PIL, its longer side scaled to ``size`` (None: as is)."""
    pil = Image.fromarray(to_uint8_image(img))
    if size is None:
        return pil
    w, h = pil.size
    scale = size / max(w, h)
    if scale == 1:
        return pil
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Nearest when enlarging keeps tiny images (8x8 digits) crisp; Lanczos when shrinking avoids aliasing.
    return pil.resize(new, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)


def encode_png(img: np.ndarray, size: int | None = None) -> bytes:
    """PNG bytes of an image.

    Parameters
    ----------
    img
        See :func:`to_uint8_image`.
    size
        When given, the image is resized so its longer side is ``size`` pixels (aspect ratio kept): with
        nearest-neighbour sampling when enlarging, so each source pixel stays a sharp block, and Lanczos when
        shrinking.

    Returns
    -------
    bytes
        A PNG: grayscale (mode L), RGB or RGBA, as the input.
    """
    if size is not None:
        size = _check_size(size)
    buf = io.BytesIO()
    _resized(img, size).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def atlas(images: Sequence[np.ndarray] | np.ndarray, size: int) -> tuple[bytes, int]:
    """Pack images into one RGBA PNG of ``size`` x ``size`` cells.

    Image k goes in row ``k // columns``, column ``k % columns`` with ``columns = ceil(sqrt(n))`` (and
    ``ceil(n / columns)`` rows), fitted into its cell keeping its aspect ratio (longer side = ``size``,
    enlarged with nearest-neighbour sampling, shrunk with Lanczos) and centred on transparent padding;
    grayscale images become opaque gray RGBA. Unused cells are transparent. An empty list gives one
    transparent cell.

    Parameters
    ----------
    images
        Images as for :func:`to_uint8_image`; sizes may differ.
    size
        Cell side in pixels.

    Returns
    -------
    (bytes, int)
        The PNG and the number of columns.

    Raises
    ------
    ValueError
        If the atlas would be wider than :data:`ATLAS_MAX_PX` pixels (the message says how many images of
        this size fit), or ``size`` is not a positive int.
    """
    size = _check_size(size)
    n = len(images)
    columns = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / columns))
    if columns * size > ATLAS_MAX_PX:
        fit = (ATLAS_MAX_PX // size) ** 2
        raise ValueError(
            f"{n} images of {size}px need a {columns * size}px wide atlas, over the {ATLAS_MAX_PX}px limit; "
            f"at most {fit} fit at this size"
        )
    sheet = Image.new("RGBA", (columns * size, rows * size), (0, 0, 0, 0))
    for k, img in enumerate(images):
        cell = _resized(img, size).convert("RGBA")
        x = (k % columns) * size + (size - cell.size[0]) // 2
        y = (k // columns) * size + (size - cell.size[1]) // 2
        sheet.paste(cell, (x, y))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", compress_level=1)
    return buf.getvalue(), columns
