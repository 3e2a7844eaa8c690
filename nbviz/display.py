"""The display rule: how a value becomes a colour, once for Python and once for the browser.

The live views colour in the browser (``js/src/lib/display.ts``); the static pictures (``to_png``, the fallback
picture, GIF/MP4, saved HTML) colour here, so a picture matches its view when both follow one rule. Shared fixtures
(``tests/mirror/display.py``, checked by ``js/tests/mirror_display.test.ts``) make a change to either copy that the
other does not follow fail a test.

- **Lookup tables.** A value v in [0, 1] takes entry ``floor(v * n)`` (clamped to 0..n-1) of an n-entry table:
  matplotlib's rule, so equal-width bins. Non-finite values are missing: :data:`MISSING_RGBA`.
- **Attribution heatmaps** (GradCamViewer): :func:`quantize_heatmap` (int16 on the wire), :func:`colorize_heatmap`
  (normalisation, sign, threshold, opacity), :func:`composite` over the image.
- **Probability maps** (ProbMapPlayer): :func:`quantize_probabilities` (the uint8 frames store), the playback blend
  (:func:`interpolate`, :func:`timeline`, :func:`frame_at`) and :func:`colorize_probabilities` in one of :data:`MODES`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Entries of a colormap's lookup table (colors.colormap_lut).
LUT_SIZE = 256
#: Colour of a missing value (NaN, inf): the same grey in every view.
MISSING_RGBA = (160, 160, 160, 255)


def lut_index(v: np.ndarray | float, size: int = LUT_SIZE) -> np.ndarray:
    """Entry of an n-entry lookup table for values in [0, 1]: ``clamp(floor(v * n), 0, n - 1)``; NaN -> 0 (callers
    that show missing values test for them first, :func:`value_colors`)."""
    scaled = np.floor(np.asarray(v, dtype=np.float64) * size)
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0, size - 1).astype(np.intp)


def value_colors(values: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(N, 4) uint8 colour of each value in [0, 1] through ``lut`` (n, 4); non-finite values get MISSING_RGBA."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    table = np.asarray(lut, dtype=np.uint8)
    out = table[lut_index(v, len(table))]
    out[~np.isfinite(v)] = MISSING_RGBA
    return out


# -- attribution heatmaps (js/src/lib/display.ts: colorizeHeatmap) ---------------------------------------------
QMAX = 32767


def quantize_heatmap(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Raw map values as int16 and a scale, ``values ~= q * scale`` (scale 0 for an all-zero map)."""
    v = np.asarray(values, dtype=np.float32)
    peak = float(np.abs(v).max()) if v.size else 0.0
    if not np.isfinite(peak) or peak == 0:
        return np.zeros(v.shape, dtype=np.int16), 0.0
    return np.round(v / peak * QMAX).astype(np.int16), peak / QMAX


def dequantize_heatmap(q: np.ndarray, scale: float) -> np.ndarray:
    """The values the browser paints from a quantised map: ``q * scale`` in doubles, stored as float32 (dequantize
    in display.ts), so a picture colours the very numbers its view colours."""
    return (np.asarray(q, dtype=np.float64) * scale).astype(np.float32)


def colorize_heatmap(values: np.ndarray, lut: np.ndarray, *, sign: str = "both", threshold: float = 0.0,
                     opacity: float = 0.5, normalization: str = "image", batch_peak: float = 0.0,
                     diverging: bool = False) -> np.ndarray:
    """RGBA (H, W, 4) uint8 heatmap of raw values, as the browser draws it.

    Values are divided by the map's largest magnitude ("image"), the batch's ("batch", ``batch_peak``) or
    min-max scaled ("minmax", sign ignored). "both" puts zero in the middle of the colormap; "positive" /
    "negative" show one sign's magnitude: on the matching half of a ``diverging`` colormap (zero stays its
    neutral middle, never the other sign's end), on the whole of a sequential one. A pixel's alpha grows with
    its magnitude, up to ``opacity`` at the peak, so zero attribution leaves the image as it is; magnitudes below
    ``threshold`` (0..1) are transparent.
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
            half = 0.5 + 0.5 * mag if sign == "positive" else 0.5 - 0.5 * mag
            pos = half if diverging else mag
    out = np.asarray(lut, dtype=np.uint8)[lut_index(pos)].copy()
    alpha = np.where(mag >= threshold, np.floor(255 * opacity * mag + 0.5), 0)
    out[..., 3] = alpha.astype(np.uint8)
    return out


def composite(base: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """Alpha-blend an RGBA overlay over an RGB image of the same size."""
    a = overlay[..., 3:4].astype(np.float64) / 255
    return np.round(base.astype(np.float64) * (1 - a) + overlay[..., :3] * a).astype(np.uint8)


# -- probability maps (js/src/lib/display.ts: colorizeProbabilities; js/src/prob_map_player/playback.ts) ---------
MODES = ("region", "boundary", "class", "entropy")
INTERPOLATIONS = ("linear", "geometric")
#: Added to uint8 probabilities (0..255) before the geometric blend, so a class at 0 in one frame can still grow.
GEOMETRIC_EPS = 0.5
#: Colour of the low end of the region scale (a class barely ahead) and of the boundary scale (a tie).
REGION_LOW = (242, 242, 242)
BOUNDARY_LOW = (25, 25, 25)


def quantize_probabilities(probs: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] to uint8 (0..255), rounding to nearest: the error is at most 1/510."""
    return np.rint(np.clip(probs, 0.0, 1.0) * 255.0).astype(np.uint8)


def interpolate(a: np.ndarray, b: np.ndarray, f: float, kind: str = "linear") -> np.ndarray:
    """Blend two uint8 probability frames at ``f`` in [0, 1]; float probabilities in [0, 1] come out.

    "linear" mixes the probabilities; "geometric" mixes their logarithms (then renormalises over the classes),
    which keeps a confident class confident through the blend. Class ids are never blended.
    """
    if kind not in INTERPOLATIONS:
        raise ValueError(f"interpolation_type must be one of {INTERPOLATIONS}, got {kind!r}")
    # In doubles, stored as float32, as the browser's blend() does; a recorded frame (f = 0) is shown as stored.
    # Frames are uint8, so each blend is computed once per (a, b) pair in a 256 x 256 table and looked up: the same
    # numbers as computing every cell, several times faster.
    a8, b8 = np.asarray(a, dtype=np.uint8), np.asarray(b, dtype=np.uint8)
    levels = np.arange(256, dtype=np.float64)
    if f <= 0:
        return (levels / 255.0).astype(np.float32)[a8]
    pair = a8.astype(np.intp) * 256 + b8
    if kind == "linear":
        return (((1 - f) * levels[:, None] + f * levels[None, :]) / 255.0).astype(np.float32).ravel()[pair]
    logs = np.log(levels + GEOMETRIC_EPS)
    g = np.exp((1 - f) * logs[:, None] + f * logs[None, :]).ravel()[pair]
    return (g.astype(np.float32) / g.sum(axis=-1, keepdims=True)).astype(np.float32)


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


def colorize_probabilities(
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
    # The scales are computed in doubles, as the browser does; float32 -> float64 is exact, so only the values a
    # mode needs are widened (argmax and sort give the same answers either way).
    p = np.asarray(probs)
    c = p.shape[-1]
    if mode == "class":
        if not 0 <= target < c:
            raise ValueError(f"target class must be in 0..{c - 1}, got {target}")
        return luts["class"][lut_index(p[..., target])]
    if mode == "entropy":
        p64 = p.astype(np.float64)
        h = -(p64 * np.log(np.maximum(p64, 1e-12))).sum(axis=-1) / math.log(c)
        return luts["entropy"][lut_index(h)]
    k = p.argmax(axis=-1)
    top = np.take_along_axis(p, k[..., None], axis=-1)[..., 0].astype(np.float64)
    if mode == "region":
        return luts["region"][k, lut_index((top - 1.0 / c) / (1.0 - 1.0 / c))]
    second = np.sort(p, axis=-1)[..., -2].astype(np.float64)
    img = luts["boundary"][k, lut_index(top - second)]
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
