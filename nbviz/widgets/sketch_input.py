"""SketchInput: a drawing pad whose pixels are an input for a model (the sketchpad's pad).

The browser sends the pointer's path; the pixels are inked here (one rule, :meth:`SketchInput.draw`) and sent back
as a binary trait the view paints, so a saved notebook shows the last drawing and no ipycanvas is needed (marimo
renders anywidget views only).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import traitlets as t

from .base import Array, NbvizWidget, check_number

#: At most this many points in one stroke message (a frame's worth of pointer moves is far less).
MAX_POINTS = 2000


class SketchInput(NbvizWidget):
    """A ``height`` x ``width`` pad of ink values in [0, ``ink``], drawn ``scale`` CSS px per pixel.

    ``on_draw(fn)`` calls ``fn()`` after each stroke batch and after ``clear()``.
    """

    _bundle = "sketch_input"
    _picture_traits = ("pixels",)

    pixels = Array(read_only=True, help="(H, W) uint8 ink levels (0 blank .. 255 full ink), as painted")
    scale = t.Int(24, read_only=True, help="CSS px per pixel").tag(sync=True)

    def __init__(self, height: int, width: int, *, ink: float = 1.0, brush: float = 0.8, scale: int = 24) -> None:
        h = check_number(height, "height", low=1, high=4096, integer=True)
        w = check_number(width, "width", low=1, high=4096, integer=True)
        self.ink = check_number(ink, "ink", low=1e-12)
        self.brush = check_number(brush, "brush", low=1e-3)
        scale = check_number(scale, "scale", low=1, high=256, integer=True)
        super().__init__()
        self.set_trait("scale", scale)
        self.values = np.zeros((h, w), dtype=np.float32)
        self._listeners: list[Callable[[], object]] = []
        self._publish()

    def on_draw(self, fn: Callable[[], object]) -> None:
        """Call ``fn()`` whenever the drawing changes."""
        self._listeners.append(fn)

    def draw(self, x: float, y: float) -> None:
        """Ink a disc at pad position (x, y) in CSS px (the brush's radius in pixels, soft edge)."""
        self._ink(x, y)
        self._changed()

    def clear(self) -> None:
        """Blank the pad."""
        self.values[:] = 0
        self._changed()

    def _ink(self, x: float, y: float) -> None:
        gy, gx = np.mgrid[: self.values.shape[0], : self.values.shape[1]]
        d = np.hypot(gx + 0.5 - x / self.scale, gy + 0.5 - y / self.scale)
        stroke = np.clip(1.5 - d / self.brush, 0, 1) * self.ink
        np.maximum(self.values, stroke.astype(np.float32), out=self.values)

    def _changed(self) -> None:
        self._publish()
        for fn in list(self._listeners):
            fn()

    def _publish(self) -> None:
        level = np.round(255 * np.clip(self.values / self.ink, 0, 1)).astype(np.uint8)
        self.set_trait("pixels", level)

    # -- browser requests ---------------------------------------------------------------------------------
    def _request_handlers(self) -> dict[str, Callable[[dict], tuple[dict, list]]]:
        return {"stroke": self._on_stroke, "clear": self._on_clear}

    def _on_stroke(self, content: dict) -> tuple[dict, list]:
        points = content.get("points")
        if not isinstance(points, list) or not 0 < len(points) <= MAX_POINTS:
            raise ValueError(f"points must be a list of 1..{MAX_POINTS} [x, y] pairs, got {type(points).__name__}")
        pairs = []
        for p in points:
            if not (isinstance(p, list) and len(p) == 2):
                raise ValueError(f"each point must be [x, y], got {p!r}"[:200])
            pairs.append((check_number(p[0], "x"), check_number(p[1], "y")))
        for x, y in pairs:
            self._ink(x, y)
        self._changed()
        return {}, []

    def _on_clear(self, _content: dict) -> tuple[dict, list]:
        self.clear()
        return {}, []

    def _static_png(self) -> bytes | None:
        from PIL import Image

        grey = 255 - self.pixels
        img = Image.fromarray(grey).resize((grey.shape[1] * self.scale, grey.shape[0] * self.scale), Image.NEAREST)  # pyright: ignore[reportAttributeAccessIssue] - Pillow's alias of Resampling.NEAREST
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()

