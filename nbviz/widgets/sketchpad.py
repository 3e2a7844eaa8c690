"""The sketchpad: draw an input with the mouse beside a one-image :class:`~nbviz.widgets.gradcam_viewer.GradCamViewer`
that follows the drawing (``GradCamViewer.sketchpad(...)`` makes one). :class:`Sketchpad` is a composite of a
:class:`~nbviz.widgets.sketch_input.SketchInput` and the viewer in one :class:`~nbviz.widgets.panel.Panel` view; it
feeds the pad's pixels to the viewer and holds no model logic, so it lives apart from the viewer module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .base import CompositeOutput
from .panel import Panel
from .sketch_input import SketchInput


class Sketchpad(CompositeOutput):
    """A drawing pad (:class:`~nbviz.widgets.sketch_input.SketchInput`) beside a one-image ``GradCamViewer``
    that follows what is drawn: one anywidget view (a Panel), so it works in marimo as in Jupyter."""

    def __init__(self, make_viewer: Callable[[torch.Tensor], Any], shape: tuple[int, int, int], *, ink: float,
                 brush: float, scale: int) -> None:
        # ``make_viewer(batch)`` builds the viewer (GradCamViewer.sketchpad passes its class bound to the model), so
        # this module does not import the viewer's, which makes sketchpads.
        if not isinstance(shape, (tuple, list)) or len(shape) != 3 or not all(
                isinstance(s, (int, np.integer)) and s >= 1 for s in shape):
            raise ValueError(f"shape must be (C, H, W) of the model's input, got {shape!r}")
        self.shape = tuple(int(s) for s in shape)
        c, h, wd = self.shape
        self.pad = SketchInput(h, wd, ink=ink, brush=brush, scale=scale)
        try:
            self.viewer = make_viewer(self._batch())
        except BaseException:
            self.pad.close()
            raise
        self.pad.on_draw(lambda: self.viewer.set_images(self._batch()))
        self.widget = Panel([self.pad, self.viewer], "row")
        self.viewer.own(self.pad, self.widget)  # closed with the viewer

    @property
    def pixels(self) -> np.ndarray:
        """(H, W) float32 ink values in [0, ink]: what the model is given (every channel the same)."""
        return self.pad.values

    def _batch(self) -> torch.Tensor:
        c, _, _ = self.shape
        return torch.from_numpy(np.repeat(self.pad.values[None, None], c, axis=1).copy())

    def draw(self, x: float, y: float) -> None:
        """Ink a disc at pad position (x, y) in CSS px, then update the viewer."""
        self.pad.draw(x, y)

    def clear(self) -> None:
        """Blank the pad (the viewer follows)."""
        self.pad.clear()

    def view(self) -> Panel:
        """The pad beside the viewer."""
        return self.widget

    def close(self) -> None:
        """Close the viewer and the pad."""
        self.viewer.close()
