"""Image input: images as users have them checked and turned into uint8 arrays, or file paths read lazily.

Accepts batches (numpy arrays, torch tensors, channels first or last), lists of arrays / tensors / PIL images of
one shape, and lists of file paths (checked to exist now, read with Pillow on demand by :func:`load_image`).
:func:`check_images` is what :class:`~nbviz.data.Features` calls; widgets that take images use
:func:`load_image`. Bottom layer, it imports only :mod:`nbviz.checks`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checks import MAX_LISTED, as_numpy, check_length, is_tensor, list_rows, plural

__all__ = ["check_images", "load_image"]

#: Channel counts an image may have: grey, RGB, RGBA.
_CHANNELS = (1, 3, 4)
#: Slack for float images that should lie in [0, 1] but picked up rounding error (e.g. 1.0000001).
_FLOAT_IMAGE_TOL = 1e-6
_IMAGE_DTYPES = "uint8, integers in 0..255 or floats in [0, 1]"


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Images of any supported dtype as uint8, checking the value range."""
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        return arr
    if kind == "f":
        if not np.isfinite(arr).all():
            bad = np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))
            raise ValueError(
                f"images has NaN or inf values in {plural(len(bad), 'image')} ({list_rows(bad, 'images')})"
            )
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -_FLOAT_IMAGE_TOL or hi > 1 + _FLOAT_IMAGE_TOL:
            hint = (
                "; undo any mean/std normalisation first"
                if lo < 0
                else "; scale them into [0, 1] (e.g. divide by 255 for 8-bit pixel values)"
            )
            raise ValueError(
                f"images of dtype {arr.dtype} must hold values in [0, 1]; "
                f"found min {lo:g} and max {hi:g}{hint}"
            )
        return np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    if kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"images of dtype {arr.dtype} must hold values in 0..255; found min {lo} and max {hi}"
            )
        return arr.astype(np.uint8)
    raise TypeError(f"images must be {_IMAGE_DTYPES}; got dtype {arr.dtype}")


def _images_from_batch(arr: np.ndarray, n: int, channels_first: bool) -> np.ndarray:
    """A batch (N, H, W), (N, H, W, C) or (N, C, H, W) as uint8 (N, H, W) or (N, H, W, 3|4).

    ``channels_first`` says which layout wins when both could apply: torch's (N, C, H, W) for tensors, numpy's
    (N, H, W, C) for arrays.
    """
    expected = "(N, H, W), (N, H, W, C) or (N, C, H, W) with C in 1, 3, 4"
    if arr.ndim not in (3, 4):
        raise ValueError(f"images must be {expected}; got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"images must be {_IMAGE_DTYPES}; got dtype {arr.dtype}")
    if arr.dtype.kind == "b":
        raise TypeError(
            f"images must be {_IMAGE_DTYPES}; got dtype bool; convert masks with (mask * 255).astype('uint8')"
        )
    check_length(len(arr), n, "images")
    if arr.ndim == 4:
        first, last = arr.shape[1] in _CHANNELS, arr.shape[3] in _CHANNELS
        if channels_first and first or (not last and first):
            arr = arr.transpose(0, 2, 3, 1)
        elif not last:
            raise ValueError(f"images must be {expected}; got shape {arr.shape}, which has no channel axis")
    if arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"images must be at least 1x1 pixels; got shape {arr.shape}")
    out = _to_uint8(arr)
    if out.ndim == 4 and out.shape[3] == 1:
        out = out[..., 0]
    return np.ascontiguousarray(out)


def _pil_to_uint8(img: Any, where: str) -> np.ndarray:
    """A PIL image as uint8 (H, W), (H, W, 3) or (H, W, 4)."""
    mode = img.mode
    if mode in ("1", "L"):
        return np.array(img.convert("L"), dtype=np.uint8)
    if mode.startswith("I;16") or mode == "I":
        raw = np.array(img).astype(np.int64)
        if raw.size and (raw.min() < 0 or raw.max() > 65535):
            raise ValueError(f"{where} is a 32-bit integer image; convert it to 8 bits")
        if mode == "I" and (raw.size == 0 or raw.max() <= 255):
            return raw.astype(np.uint8)
        return ((raw + 128) // 257).astype(np.uint8)  # 16-bit to 8-bit, rounded
    if mode == "F":
        raise ValueError(f"{where} is a 32-bit float image (PIL mode 'F'); convert it to 8 bits")
    has_alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in img.info)
    return np.array(img.convert("RGBA" if has_alpha else "RGB"), dtype=np.uint8)


def load_image(path: Path, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return _pil_to_uint8(img, where)
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"could not read {where} ({str(path)!r}): {exc}") from exc


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _is_pil(x: Any) -> bool:
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(x, pil.Image)


def _check_paths(items: Sequence[Any], n: int) -> tuple[Path, ...]:
    check_length(len(items), n, "images")
    paths = []
    for i, item in enumerate(items):
        if not _is_path(item):
            raise TypeError(
                f"images[{i}] is a {type(item).__name__} but images[0] is a path; a list of images must "
                "be all file paths or all arrays"
            )
        paths.append(Path(item))
    # Only stat the files here: reading thousands of images would make construction slow.
    missing = [i for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        shown = ", ".join(f"images[{i}] {str(paths[i])!r}" for i in missing[:MAX_LISTED])
        more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        raise FileNotFoundError(
            f"images has {plural(len(missing), 'missing file')} ({shown}{more}); check the paths"
        )
    return tuple(paths)


def check_images(images: Any, n: int) -> np.ndarray | tuple[Path, ...]:
    """Images in memory as one uint8 array, or a tuple of file paths to read on demand."""
    if isinstance(images, (str, bytes, os.PathLike)):
        raise TypeError(
            f"images must be an array, a tensor or a list with one image per row; got a single "
            f"{type(images).__name__}; wrap file paths in a list"
        )
    if isinstance(images, pd.Series) or (isinstance(images, np.ndarray) and images.dtype.kind in "US"):
        images = list(images.tolist())
    if isinstance(images, (list, tuple)):
        if len(images) and _is_path(images[0]):
            return _check_paths(images, n)
        if len(images) and all(_is_pil(item) for item in images):
            images = [_pil_to_uint8(item, f"images[{i}]") for i, item in enumerate(images)]
        for i, item in enumerate(images):
            if _is_path(item) or not (isinstance(item, np.ndarray) or is_tensor(item) or _is_pil(item)):
                raise TypeError(
                    f"images[{i}] is a {type(item).__name__}; a list of images must hold only file paths, "
                    "numpy arrays, torch tensors or PIL images"
                )
        check_length(len(images), n, "images")
        from_torch = bool(len(images)) and is_tensor(images[0])
        parts = [as_numpy(item, f"images[{i}]") for i, item in enumerate(images)]
        for i, part in enumerate(parts):
            if part.shape != parts[0].shape:
                raise ValueError(
                    f"images[{i}] has shape {part.shape} but images[0] has shape {parts[0].shape}; "
                    "all images in a list must have the same shape (or give file paths instead)"
                )
        if parts and parts[0].ndim not in (2, 3):
            raise ValueError(
                f"each image in a list must be (H, W), (H, W, C) or (C, H, W); images[0] has shape "
                f"{parts[0].shape}"
            )
        return _images_from_batch(np.stack(parts), n, channels_first=from_torch)
    if not (isinstance(images, np.ndarray) or is_tensor(images)):
        raise TypeError(
            "images must be a numpy array, a torch tensor, or a list of file paths or arrays; got "
            f"{type(images).__name__}"
        )
    from_torch = is_tensor(images)
    arr = as_numpy(images, "images")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"images must be {_IMAGE_DTYPES}; got dtype {arr.dtype}")
    return _images_from_batch(arr, n, channels_first=from_torch)
