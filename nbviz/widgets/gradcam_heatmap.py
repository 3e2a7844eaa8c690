"""The Grad-CAM display rule, mirrored by ``js/src/gradcam_viewer/heatmap.ts``: how a raw attribution map travels
(:func:`quantize`, int16 with a scale) and how it is painted (:func:`colorize`: normalisation, sign, threshold,
opacity through a colormap's lookup table; :func:`composite` over the image). The viewer's static PNG and the
saliency confusion matrix draw with it, so they match the browser; both sides change together. It lives apart from
the viewer so the viewer and the confusion view can share it without importing each other.
"""

from __future__ import annotations

import numpy as np

QMAX = 32767


def quantize(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Raw map values as int16 and a scale, ``values ~= q * scale`` (scale 0 for an all-zero map)."""
    v = np.asarray(values, dtype=np.float32)
    peak = float(np.abs(v).max()) if v.size else 0.0
    if not np.isfinite(peak) or peak == 0:
        return np.zeros(v.shape, dtype=np.int16), 0.0
    return np.round(v / peak * QMAX).astype(np.int16), peak / QMAX


def colorize(values: np.ndarray, lut: np.ndarray, *, sign: str = "both", threshold: float = 0.0,
             opacity: float = 0.5, normalization: str = "image", batch_peak: float = 0.0) -> np.ndarray:
    """RGBA (H, W, 4) uint8 heatmap of raw values, as the browser draws it.

    Values are divided by the map's largest magnitude ("image"), the batch's ("batch", ``batch_peak``) or
    min-max scaled ("minmax", sign ignored). "both" puts zero in the middle of the colormap; "positive" /
    "negative" keep one sign's magnitude on the whole colormap. Pixels whose magnitude is below ``threshold``
    (0..1) are transparent; the others get alpha ``opacity``.
    """
    v = np.asarray(values, dtype=np.float64)
    if normalization == "minmax":
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
        s = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
        pos, mag = s, s
    else:
        peak = batch_peak if normalization == "batch" else (float(np.abs(v).max()) if v.size else 0.0)
        s = np.clip(v / peak, -1, 1) if peak > 0 else np.zeros_like(v)
        if sign == "both":
            pos, mag = (s + 1) / 2, np.abs(s)
        else:
            mag = np.maximum(s if sign == "positive" else -s, 0)
            pos = mag
    # floor(x + 0.5) rounds halves up, as Math.round does in the browser.
    idx = np.clip(np.floor(pos * 255 + 0.5), 0, 255).astype(np.int64)
    out = np.asarray(lut, dtype=np.uint8)[idx].copy()
    alpha = np.where(mag >= threshold, np.floor(255 * opacity + 0.5), 0)
    out[..., 3] = alpha.astype(np.uint8)
    return out


def composite(base: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """Alpha-blend an RGBA overlay over an RGB image of the same size."""
    a = overlay[..., 3:4].astype(np.float64) / 255
    return np.round(base.astype(np.float64) * (1 - a) + overlay[..., :3] * a).astype(np.uint8)
