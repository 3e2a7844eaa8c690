"""Static pictures made from the same state the browser renders (same layout rule, same colour tables)."""

from __future__ import annotations

import base64
import functools
import io
import json
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

#: Free margin in GL units around the points; mirrors js/src/embedding_explorer/normalize.ts.
PADDING = 0.05


def normalize_points(points: Any) -> tuple[np.ndarray, float, float]:
    """(N, 2) positions in the live view's GL space, and the half width and height of their box there.

    The rule of ``normalizePoints`` in js/src/embedding_explorer/normalize.ts: the points as the browser gets them
    (float32), centred, the longer side of their box spanning 2 * (1 - PADDING) GL units (a box of one point is
    not scaled); a point with a non-finite coordinate is NaN (not drawn) and does not count for the box. Returned
    as float32, as the view holds them.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    x, y = pts[:, 0].astype(np.float64), pts[:, 1].astype(np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return np.full(pts.shape, np.nan, dtype=np.float32), 0.0, 0.0
    everywhere = bool(ok.all())  # the usual case: no masked copies of millions of points
    fx, fy = (x, y) if everywhere else (x[ok], y[ok])
    lo = np.array([fx.min(), fy.min()])
    hi = np.array([fx.max(), fy.max()])
    ext = hi - lo
    span = float(ext.max())
    scale = 2 * (1 - PADDING) / span if span > 0 else 1.0
    mid = (lo + hi) / 2
    gl = np.empty(pts.shape, dtype=np.float32)
    gl[:, 0] = (x - mid[0]) * scale
    gl[:, 1] = (y - mid[1]) * scale
    if not everywhere:
        gl[~ok] = np.nan
    return gl, float(ext[0] * scale / 2), float(ext[1] * scale / 2)


def fit_distance(half_width: float, half_height: float, aspect: float, margin: float = 0.0,
                 height: float = 0.0) -> float:
    """The camera distance that fits a centred box of these half extents, plus PADDING, into a canvas of aspect
    width / height (the view shows GL y in [-d, d]); with a ``margin`` (px) and the canvas ``height``, the outermost
    points also keep that far from every edge. ``fitDistance`` in normalize.ts."""
    hw = max(half_width, 1e-6) + PADDING
    hh = max(half_height, 1e-6) + PADDING
    d = max(hw / max(aspect, 1e-6), hh)
    width = aspect * height
    if margin > 0 and width > 2 * margin and height > 2 * margin:
        d = max(d, max(half_width, 0.0) * height / (width - 2 * margin),
                max(half_height, 0.0) * height / (height - 2 * margin))
    return d if np.isfinite(d) and d > 0 else 1.0


def fit_margin(point_size: float, thumbnail_size: float = 0.0) -> float:
    """The margin (px) the view's fit keeps around the points: their radius, half a thumbnail when they show, a gap
    (``fitMargin`` in normalize.ts)."""
    return point_size / 2 + thumbnail_size / 2 + 6


def fit_to_canvas(points: np.ndarray, width: int, height: int, margin: float = 0.0) -> np.ndarray:
    """Pixel positions (x right, y down) of 2-D points as the live view first shows them (NaN: not drawn).

    :func:`normalize_points`, then the camera of :func:`fit_distance` (regl-scatterplot's: GL y in [-d, d] fills
    the canvas height).
    """
    gl, half_w, half_h = normalize_points(points)
    if len(gl) == 0:
        return np.zeros((0, 2))
    px_per_gl = height / (2 * fit_distance(half_w, half_h, width / height, margin, height))
    # Column by column in place: the same numbers as width / 2 + x * k and height / 2 - y * k, without
    # temporaries the size of the data.
    out = gl.astype(np.float64)
    out *= px_per_gl
    out[:, 0] += width / 2
    np.subtract(height / 2, out[:, 1], out=out[:, 1])
    return out


def rasterize_points(
    points: np.ndarray,
    colors: np.ndarray,
    width: int = 640,
    height: int = 400,
    radius: float = 1.5,
    background: tuple[int, int, int, int] = (255, 255, 255, 255),
    *,
    only: Any = None,
    out: np.ndarray | None = None,
    ring: float | None = None,
    margin: float = 0.0,
) -> np.ndarray:
    """Draw points as small discs into an (height, width, 4) uint8 image, later points on top like WebGL, placed
    as the view fits them (``margin``: see :func:`fit_distance`).

    ``only``: the indices of the points drawn, in drawing order (positions are still fitted on all points, as
    the live camera is); ``out``: an image to draw into; ``ring``: draw only the pixels farther than ``ring``
    from the centre (an outline).
    """
    img = out if out is not None else np.empty((height, width, 4), dtype=np.uint8)
    if out is None:
        img[:] = background
    if len(points) == 0:
        return img
    px = fit_to_canvas(points, width, height, margin)
    colors = np.asarray(colors, dtype=np.uint8)
    order = np.arange(len(px)) if only is None else np.asarray(only, dtype=np.int64)
    if colors.ndim == 2 and len(colors) == len(points) and only is not None:
        colors = colors[order]
    if colors.ndim == 2 and len(colors) == 1:
        colors = colors[0]
    r = int(np.ceil(radius))
    # Discs are drawn into a frame padded by r, so no offset needs its own bounds test.
    pw, ph = width + 2 * r, height + 2 * r
    with np.errstate(invalid="ignore"):
        cx = np.round(px[order, 0]) + r
        cy = np.round(px[order, 1]) + r
    # A point the view does not draw (NaN) or whose disc misses the picture is left out.
    keep = np.flatnonzero((cx >= 0) & (cx < pw) & (cy >= 0) & (cy < ph))
    centre = cy[keep].astype(np.int64) * pw + cx[keep].astype(np.int64)
    # Points on the same pixel have the same disc: only the last one drawn shows. Keep it (in drawing order),
    # which turns millions of points into at most one per pixel before the discs are stamped.
    last = np.full(pw * ph, -1, dtype=np.int64)
    last[centre] = np.arange(len(centre))
    shown = np.sort(last[last >= 0])
    centre, keep = centre[shown], keep[shown]
    paint = colors[keep] if colors.ndim == 2 else colors
    frame = np.empty((ph, pw, 4), dtype=np.uint8)
    frame[r:r + height, r:r + width] = img
    flat = frame.reshape(-1, 4)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            d2 = dx * dx + dy * dy
            if d2 > radius * radius + 0.5 or (ring is not None and d2 <= ring * ring):
                continue
            flat[centre + dy * pw + dx] = paint
    img[:] = frame[r:r + height, r:r + width]
    return img


def to_png(image: np.ndarray) -> bytes:
    """Encode an RGBA/RGB uint8 image as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def scale_png(png: bytes, width: int | None) -> bytes:
    """A PNG resized to ``width`` pixels (the height keeps the aspect; None: as it is), nearest neighbour: every
    pixel keeps a colour the picture had, so a scaled picture still shows the view's colours."""
    from PIL import Image

    if width is None:
        return png
    img = Image.open(io.BytesIO(png))
    if img.width == width:
        return png
    height = max(1, round(img.height * width / img.width))
    buf = io.BytesIO()
    img.resize((width, height), Image.Resampling.NEAREST).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


# -- the picture a notebook keeps of a view (nbviz.widgets.base.PictureOutput) -------------------------------
#: A PNG text chunk put right after the 33 bytes of signature + IHDR (33 = 11 * 3, so its base64 starts on a
#: whole group and reads the same in every picture). Its 30 bytes = 10 * 3: base64 without padding.
_MARK_CHUNK = (lambda body: len(body[4:]).to_bytes(4, "big") + body
               + zlib.crc32(body).to_bytes(4, "big"))(b"tEXtSoftware\x00nbviz-pic")
#: What the ``src`` of a marked picture contains wherever it is drawn as a data URI (JupyterLab, nbconvert's
#: HTML). The widgets' CSS (js/src/lib/static_picture.css) hides the picture beside a live view by it.
STATIC_PNG_MARK = base64.b64encode(_MARK_CHUNK).decode("ascii")


def mark_static_png(png: bytes) -> bytes:
    """``png`` with the nbviz picture mark (a text chunk, ignored by every PNG reader) after its header."""
    if png[12:16] != b"IHDR" or png[33:33 + len(_MARK_CHUNK)] == _MARK_CHUNK:
        return png
    return png[:33] + _MARK_CHUNK + png[33:]


@functools.cache
def export_font(size: int) -> Any:
    """Pillow's built-in font at ``size`` px (no font file needed), made once."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def fit_text(draw: Any, text: str, width: int, font: Any) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def legend_panel(names: list[str], colors: np.ndarray, title: str, height: int, hidden: Any = (),
                 width: int = 170) -> np.ndarray:
    """(height, width, 4) RGBA: the category legend of a scatter, a swatch and the name per row, as many rows
    as fit (then "+ k more"); hidden categories greyed and struck through, as in the live legend."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    draw = ImageDraw.Draw(img)
    font, row, y = export_font(12), 16, 4
    if title:
        draw.text((6, y), fit_text(draw, title, width - 12, font), fill=(40, 40, 40, 255), font=font)
        y += row + 2
    colors = np.asarray(colors if names else np.zeros((1, 4)), dtype=np.uint8).reshape(-1, 4)
    hidden = set(hidden)
    fit = max(0, (height - y - 4) // row)
    shown = len(names) if len(names) <= fit else max(fit - 1, 0)
    for k, name in enumerate(names[:shown]):
        rgba = tuple(int(c) for c in colors[k % len(colors)])
        faded = k in hidden
        draw.rectangle((8, y + 2, 18, y + 12), fill=(220, 220, 220, 255) if faded else rgba, outline=rgba)
        text = fit_text(draw, str(name), width - 32, font)
        draw.text((24, y), text, fill=(160, 160, 160, 255) if faded else (30, 30, 30, 255), font=font)
        if faded:
            draw.line((24, y + 8, 24 + draw.textlength(text, font=font), y + 8), fill=(120, 120, 120, 255))
        y += row
    if shown < len(names):
        draw.text((8, y), f"+ {len(names) - shown} more", fill=(90, 90, 90, 255), font=font)
    return np.asarray(img)


def colorbar_panel(lut: np.ndarray, low: float, high: float, title: str, height: int,
                   width: int = 90) -> np.ndarray:
    """(height, width, 4) RGBA: a vertical colour bar of a 256-entry lookup table, ``high`` on top."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = export_font(12)
    top = 22 if title else 8
    if title:
        draw.text((6, 4), fit_text(draw, title, width - 12, font), fill=(40, 40, 40, 255), font=font)
    bar_h = max(height - top - 10, 2)
    idx = np.clip(np.round(np.linspace(255, 0, bar_h)).astype(int), 0, 255)
    bar = np.repeat(np.asarray(lut, dtype=np.uint8)[idx][:, None], 14, axis=1)
    img.paste(Image.fromarray(bar, "RGBA"), (8, top))
    for value, y in ((high, top), (low, top + bar_h - 12)):
        draw.text((26, y), f"{value:.3g}", fill=(30, 30, 30, 255), font=font)
    return np.asarray(img)


def text_panel(lines: list[str], width: int) -> np.ndarray:
    """(rows * 16 + 8, width, 4) RGBA: lines of text (a summary table), each cut to the width."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (width, 16 * len(lines) + 8), (255, 255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = export_font(12)
    for k, line in enumerate(lines):
        draw.text((8, 4 + 16 * k), fit_text(draw, line, width - 16, font), fill=(30, 30, 30, 255), font=font)
    return np.asarray(img)


def side_by_side(images: list[np.ndarray], gap: int = 8,
                 background: tuple[int, int, int, int] = (255, 255, 255, 255)) -> np.ndarray:
    """RGBA images placed left to right, top-aligned, on ``background``, ``gap`` pixels apart."""
    images = [np.asarray(i, dtype=np.uint8) for i in images]
    images = [np.dstack([i, np.full(i.shape[:2], 255, np.uint8)]) if i.shape[2] == 3 else i for i in images]
    height = max(i.shape[0] for i in images)
    width = sum(i.shape[1] for i in images) + gap * (len(images) - 1)
    out = np.empty((height, width, 4), dtype=np.uint8)
    out[:] = background
    x = 0
    for i in images:
        out[: i.shape[0], x: x + i.shape[1]] = i
        x += i.shape[1] + gap
    return out


def stacked(images: list[np.ndarray], gap: int = 8,
            background: tuple[int, int, int, int] = (255, 255, 255, 255)) -> np.ndarray:
    """RGBA images placed top to bottom, left-aligned (see :func:`side_by_side`)."""
    return side_by_side([np.asarray(i).swapaxes(0, 1) for i in images], gap, background).swapaxes(0, 1)


def from_png(png: bytes) -> np.ndarray:
    """RGBA uint8 pixels of PNG bytes."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


#: Characters that could end or re-mode a <script> block (``</script>``, ``<!--``) or break JS source (U+2028/9).
_SCRIPT_UNSAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                  0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_json(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """``value`` as JSON safe to paste inside any ``<script>`` element of an HTML page.

    The unsafe characters only occur inside JSON strings, where their ``\\uXXXX`` escapes decode to the same text,
    so ``JSON.parse`` (and a JS string literal, for a JSON-encoded string) give back exactly ``value``.
    ``default`` is :func:`json.dumps`'s, for values JSON has no type for.
    """
    return json.dumps(value, default=default).translate(_SCRIPT_UNSAFE)
