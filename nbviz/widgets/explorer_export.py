"""The EmbeddingExplorer's static artefacts: the standalone HTML page (``save("x.html")``) and the PNG picture.

The page holds, besides the widget's state, the replies a running kernel would give (each item's neighbours,
image, tooltip and the thumbnails) for at most :data:`HTML_NEIGHBOR_LIMIT` items, built from the same reply
methods as the live requests (:mod:`nbviz.widgets.explorer_requests`). The picture (``to_png`` and the notebook's
static fallback) is drawn from the same colour traits the browser reads. :class:`ExportsView` is a mixin of
:class:`~nbviz.widgets.embedding_explorer.EmbeddingExplorer`; it lives here to keep that module short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..export import colorbar_panel, fit_margin, legend_panel, rasterize_points, side_by_side, to_png
from ..kernels import images as image_kernels
from ..kernels.neighbors import knn_all
from .arrays import array_to_json
from .base import WidgetMixin, check_number, check_png_width
from .explorer_requests import PANEL_IMAGE_PX
from .html_page import NO_KERNEL, HtmlPage

if TYPE_CHECKING:
    from collections.abc import Callable

    import traitlets as t

    from ..data import Features

#: Most items whose neighbours, images and thumbnails a saved HTML page holds (``save("x.html")``): the page grows
#: by about one small PNG per item; above it the page paints the same and neighbours need a running kernel.
HTML_NEIGHBOR_LIMIT = 10_000
#: Plot width of ``to_png()`` when none is given.
PNG_WIDTH = 800


class ExportsView(WidgetMixin):
    """``to_html`` and ``to_png`` (a mixin of ``EmbeddingExplorer``: it uses the widget's traits, feature sets
    and reply methods)."""

    # What this mixin uses of the EmbeddingExplorer (annotations only: the values are the widget's traits and state).
    categories: t.Any
    category_names: t.List[str]
    color_mode: t.Enum[str]
    color_title: t.Unicode[str, str | bytes]
    colormap_lut: t.Any
    features: Features
    focus: t.Int[int, int]
    has_images: t.Bool[bool, bool | int]
    height: t.Int[int, int]
    hidden_categories: t.List[int]
    layouts: t.List
    nside: t.Int[int, int]
    palette: t.Any
    point_size: t.Float[float, int | float]
    points: t.Any
    selection: t.Any
    thumbnail_size: t.Int[int, int]
    thumbnails: t.Bool[bool, bool | int]
    value_range: t.List[float]
    values: t.Any
    _metric: str
    _sets: list[Features]
    wait: Callable[..., Any]
    _item_reply: Callable[[int], dict]
    _neighbors_reply: Callable[[int, np.ndarray, np.ndarray], dict]
    _point_colors: Callable[[], np.ndarray]

    def to_html(self, title: str | None = None) -> str:
        """A standalone HTML page of the view that runs offline with no kernel: what ``save("x.html")`` writes.

        The page holds the layout (after waiting for a projection still running), colours, legend, selection and
        aligned layouts. With at most :data:`HTML_NEIGHBOR_LIMIT` items it also holds each item's nearest
        neighbours (the ``nside`` x ``nside`` grid), image (longer side at most 96 px) and tooltip text, and,
        when thumbnails are on, every thumbnail, so clicking and hovering work as in the notebook; the page
        grows with them (about N x the size of one small PNG). Above the limit it paints the same and a click
        says that neighbours need a running kernel. Labelling always needs the kernel.
        """
        self.wait()
        page = HtmlPage(self, self._bundle)
        n, multi = len(self.features), len(self._sets) > 1
        held = n <= HTML_NEIGHBOR_LIMIT
        missing = None if held else (f"this page holds neighbours, images and thumbnails of at most "
                                     f"{HTML_NEIGHBOR_LIMIT:,} items and the view has {n:,}: {NO_KERNEL}")
        page.reply_table("neighbors", "index", state=["layout_index"] if multi else (), missing=missing)
        page.reply_table("item", "index", missing=missing)
        page.reply_table("thumbnails", "size", missing=missing)
        if multi:  # Python moves the points when the slider picks another layout
            layouts = {(s,): {"points": array_to_json(a)} for s, a in enumerate(self.layouts)}
            page.add_reaction(["layout_index"], layouts)
        if held:
            self._page_items(page, multi)
        return page.html(title or "nbviz EmbeddingExplorer")

    def _page_items(self, page: HtmlPage, multi: bool) -> None:
        """Neighbours, images, tooltips and thumbnails of every item, as replies in a saved page."""
        n = len(self.features)
        images = []
        if self.has_images:
            for i in range(n):
                img = self.features.image(i)
                # Small images stay small: the view upscales them crisply (image-rendering: pixelated).
                size = PANEL_IMAGE_PX if max(img.shape[:2]) > PANEL_IMAGE_PX else None
                images.append(page.blob(image_kernels.encode_png(img, size)))
        k = min(self.nside * self.nside - 1, n - 1)
        for s, shown in enumerate(self._sets if multi else self._sets[:1]):
            idx, dist = knn_all(shown.embeddings, k, self._metric) if k > 0 else \
                (np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.float32))
            for i in range(n):
                reply = self._neighbors_reply(i, idx[i], dist[i])
                page.add_reply("neighbors", [s, i] if multi else [i], reply,
                               [images[j] for j in reply["indices"]] if images else [])
        for i in range(n):
            page.add_reply("item", [i], self._item_reply(i), [images[i]] if images else [])
        if self.thumbnails and self.has_images:
            try:
                png, columns = image_kernels.atlas([self.features.image(i) for i in range(n)], self.thumbnail_size)
            except ValueError:  # too many for one atlas image: thumbnails then need the kernel
                return
            page.add_reply("thumbnails", [self.thumbnail_size],
                           {"indices": list(range(n)), "size": self.thumbnail_size, "columns": columns}, [png])

    def to_png(self, width: int | None = None, height: int | None = None, *, legend: bool = True) -> bytes:
        """A PNG of the layout as first shown (camera fitted to the data), with the live view's colours, hidden
        categories left out, the selection on top of dimmed other points, the focused point ringed and, with
        ``legend``, the class legend or the colour bar to the right of the ``width`` (None: 800) x ``height``
        (None: the view's) plot."""
        width = check_png_width(width) or PNG_WIDTH
        height = self.height if height is None else int(check_number(height, "height", low=1, high=10_000,
                                                                     integer=True))
        return to_png(self._picture(width, height, legend))

    def _picture(self, width: int, height: int, legend: bool) -> np.ndarray:
        points = np.asarray(self.points)
        colors = np.broadcast_to(self._point_colors(), (len(points), 4)).copy()
        order = np.arange(len(points))
        if self.color_mode == "category" and self.categories is not None and self.hidden_categories:
            order = order[~np.isin(np.asarray(self.categories), self.hidden_categories)]
        selection = np.asarray(self.selection if self.selection is not None else [], dtype=np.int64)
        if len(selection):
            colors[:, :3] = (colors[:, :3] * 0.25 + 255 * 0.75).astype(np.uint8)  # the rest fades, as live
            colors[selection] = np.broadcast_to(self._point_colors(), (len(points), 4))[selection]
            picked = np.isin(order, selection)
            order = np.concatenate([order[~picked], order[picked]])  # drawn last: on top
        radius = max(self.point_size / 2, 1.0)
        margin = fit_margin(self.point_size, self.thumbnail_size if self.thumbnails else 0)
        # Positions fitted on every point (as the live camera is), drawn for the visible ones only.
        img = rasterize_points(points, colors, width=width, height=height, radius=radius, only=order, margin=margin)
        if 0 <= self.focus < len(points):
            ring = np.full((1, 4), (20, 20, 20, 255), dtype=np.uint8)
            for r in (radius + 3, radius + 4):
                rasterize_points(points, ring, width=width, height=height, radius=r, only=[self.focus],
                                 out=img, ring=r - 1, margin=margin)
        if not legend:
            return img
        if self.color_mode == "value" and self.values is not None:
            lo, hi = self.value_range
            return side_by_side([img, colorbar_panel(self.colormap_lut, lo, hi, self.color_title, height)])
        if self.category_names:
            panel = legend_panel(list(self.category_names), self.palette, self.color_title, height,
                                 self.hidden_categories)
            return side_by_side([img, panel])
        return img

    def _static_png(self) -> bytes | None:
        return self.to_png(640, min(self.height, 480))
