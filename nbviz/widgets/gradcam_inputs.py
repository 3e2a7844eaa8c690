"""The GradCamViewer's input: images as users have them turned into one (N, C, H, W) batch, and shown as uint8."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..kernels import attribution as attr

__all__ = ["as_batch", "display_images", "first_in_channels"]


def first_in_channels(model: nn.Module) -> int | None:
    """The channels the model's first convolution takes (None without one): tells one (C, H, W) image from a batch
    of grey (H, W) images."""
    conv = next((m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)), None)
    return None if conv is None else int(conv.in_channels)


def as_batch(images: Any, in_channels: int | None = None) -> tuple[torch.Tensor, Any]:
    """(N, C, H, W) tensor of ``images`` and the labels a Dataset carried (or None)."""
    from torch.utils.data import Dataset

    if isinstance(images, (list, tuple)) and images and isinstance(images[0], (str, Path)):
        from ..image_input import load_image

        arrays = [load_image(Path(p), f"images[{i}]") for i, p in enumerate(images)]
        arrays = [a[..., :3] if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2) for a in arrays]
        sizes = {a.shape for a in arrays}
        if len(sizes) > 1:
            raise ValueError(f"images must all have the same size; got {sorted(sizes)[:4]} (resize them first)")
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255, None
    if isinstance(images, Dataset):
        items = [images[i] for i in range(len(images))]  # type: ignore[arg-type]
        xs = [it[0] if isinstance(it, (tuple, list)) else it for it in items]
        ys = [it[1] for it in items if isinstance(it, (tuple, list)) and len(it) > 1]
        x = torch.stack([torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor) else v for v in xs])
        labels = [int(y) if isinstance(y, (int, np.integer)) or torch.is_tensor(y) else y for y in ys]
        return attr.check_images(x, "images"), labels if len(ys) == len(xs) else None
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if isinstance(images, torch.Tensor) and images.ndim == 3:
        if in_channels in (None, images.shape[0]) and images.shape[0] in (1, 3, 4) or in_channels == images.shape[0]:
            images = images[None]  # one (C, H, W) image
        elif in_channels == 1:
            images = images[:, None]  # a batch of grey (H, W) images for a one-channel model
        else:
            raise ValueError(f"images must be (N, C, H, W) or one (C, H, W) image, got shape {tuple(images.shape)}, "
                             f"which fits neither a {in_channels}-channel model's image nor a batch; for one image "
                             "pass images[None], for a batch of grey images images[:, None]")
    return attr.check_images(images, "images"), None


def display_images(x: torch.Tensor, unproc_x: Callable | None) -> np.ndarray:
    """(N, H, W, 3) uint8 images in image space: ``unproc_x`` applied, else each image min-max scaled."""
    with torch.no_grad():
        shown = unproc_x(x) if unproc_x is not None else x
    a = shown.detach().float().cpu().numpy()
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ValueError(f"unproc_x must give (N, 1 | 3, H, W) images, got {a.shape}")
    if unproc_x is None or a.min() < -1e-3 or a.max() > 1 + 1e-3:
        lo = a.min(axis=(1, 2, 3), keepdims=True)
        hi = a.max(axis=(1, 2, 3), keepdims=True)
        a = (a - lo) / np.where(hi > lo, hi - lo, 1)
    u8 = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    return np.repeat(u8, 3, axis=3) if u8.shape[3] == 1 else u8
