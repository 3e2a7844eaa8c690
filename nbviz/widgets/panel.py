"""Panel: nbviz views in a row or a column, as one anywidget view.

Composites (``ex.components()``, ``EmbeddingExplorer.compare()``, the sketchpad) are Panels rather than ipywidgets
boxes: anywidget's widget composition draws the children inside one view, so they render where only anywidget views
do (marimo), carry anywidget's Colab metadata, and have one static picture made of their children's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from ..export import from_png, side_by_side, stacked, text_panel, to_png
from .base import NbvizWidget


def _refs(children: Sequence[Any], _widget: Any) -> list[str]:
    # anywidget's wire form of a child widget: the view resolves it with host.getWidget.
    return [f"anywidget:{child.model_id}" for child in children]


def _titled(image: np.ndarray, title: str) -> np.ndarray:
    return stacked([text_panel([title], image.shape[1]), image], gap=0) if title else image


class Panel(NbvizWidget):
    """Views laid out in a ``"row"`` (wrapping when narrow, or a grid of ``columns`` a row) or a ``"column"``,
    with optional titles.

    Parameters
    ----------
    children
        anywidget views (every nbviz widget is one).
    direction
        ``"row"`` or ``"column"``.
    titles
        One title per child, or none.
    columns
        ``"row"`` only: 0 lets the views wrap freely (each at least 560 px wide); ``n >= 1`` makes a grid of up to
        ``n`` views a row (fewer where the output is too narrow for ``n`` views of 320 px).
    """

    _bundle = "panel"
    _picture_traits = ("children", "direction", "titles", "columns")

    children = t.List(t.Instance(anywidget.AnyWidget)).tag(sync=True, to_json=_refs)
    direction = t.Enum(("row", "column"), default_value="column").tag(sync=True)
    titles = t.List(t.Unicode()).tag(sync=True)
    columns = t.Int(0).tag(sync=True)

    def __init__(self, children: Sequence[Any], direction: str = "column", titles: Sequence[str] | None = None,
                 columns: int = 0, **kwargs: Any) -> None:
        children = list(children)
        for i, child in enumerate(children):
            if not isinstance(child, anywidget.AnyWidget):
                raise TypeError(f"children[{i}] must be an anywidget view (any nbviz widget), got "
                                f"{type(child).__name__}")
        if direction not in ("row", "column"):
            raise ValueError(f"direction must be 'row' or 'column', got {direction!r}")
        titles = [str(x) for x in (titles or [])]
        if titles and len(titles) != len(children):
            raise ValueError(f"titles must have one entry per child ({len(children)}), got {len(titles)}")
        if isinstance(columns, bool) or not isinstance(columns, (int, np.integer)) or columns < 0:
            raise ValueError(f"columns must be an int >= 0 (0: views wrap freely), got {columns!r}")
        super().__init__(children=children, direction=direction, titles=titles, columns=int(columns), **kwargs)
        self.follow_pictures(*(c for c in children if isinstance(c, NbvizWidget)))  # a child's change redraws

    def _static_png(self) -> bytes | None:
        """The children's pictures placed as the view places them, each under its title."""
        titles = self.titles or [""] * len(self.children)
        pictures = [(c._static_png(), title) for c, title in zip(self.children, titles, strict=True)
                    if isinstance(c, NbvizWidget)]
        images = [_titled(from_png(png), title) for png, title in pictures if png]
        if not images:
            return None
        if self.direction == "row" and self.columns:
            n = self.columns
            return to_png(stacked([side_by_side(images[i:i + n]) for i in range(0, len(images), n)]))
        return to_png((side_by_side if self.direction == "row" else stacked)(images))
