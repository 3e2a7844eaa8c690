"""The GradCamViewer's standalone offline HTML page (``to_html``, what ``save("x.html")`` writes).

Making the page precomputes, at the shown layer (and the compared one), each image's maps for its top classes and
records the traits the viewer sets for every (image, class) the page offers, so the page answers clicks with no
kernel (:class:`~nbviz.widgets.html_page.HtmlPage` reactions). :class:`GradCamPage` is a mixin of
:class:`~nbviz.widgets.gradcam_viewer.GradCamViewer`: it uses the viewer's batch cache (``_batch``,
``_attribute``, ``_singles``) and its traits; it lives here to keep the viewer module short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import WidgetMixin
from .html_page import HtmlPage, state_json

if TYPE_CHECKING:
    from collections import OrderedDict
    from collections.abc import Callable

    import torch
    import traitlets as t

    from ..kernels.attribution import Attribution


class GradCamPage(WidgetMixin):
    """``to_html`` (a mixin of ``GradCamViewer``: see the module)."""

    # What this mixin uses of the GradCamViewer (annotations only: the values are the widget's traits and state).
    compare_layer: t.Unicode[str, str | bytes]
    layer: t.Unicode[str, str | bytes]
    _method: str
    _singles: OrderedDict[tuple, np.ndarray]
    _topk: int
    _x: torch.Tensor
    _attribute: Callable[[torch.Tensor, str, Any], Attribution]
    _batch: Callable[[str], Attribution]

    def to_html(self, title: str | None = None) -> str:
        """A standalone HTML page of the viewer that runs offline with no kernel: what ``save("x.html")`` writes.

        The page holds, at the shown layer (and the compared one), the map of every image for its predicted
        class and for each of its ``topk`` classes, so clicking images and classes works as in the notebook;
        display settings (colormap, opacity, sign, threshold, normalisation, sorting) work as well. A class
        outside an image's top ``topk`` falls back to its predicted class; picking another layer or the
        confusion view needs a running kernel (the layer pickers offer the saved layers only). Making the page
        costs ``topk - 1`` batched passes per layer.
        """
        layers = [self.layer] + ([self.compare_layer] if self.compare_layer else [])
        probs = self._batch(self.layer).probabilities.numpy()
        order = np.argsort(-probs, axis=1, kind="stable")[:, : self._topk]
        for layer in layers:  # one batched pass per rank fills the cache maps() reads
            for rank in range(1, order.shape[1]):
                maps = self._attribute(self._x, layer, order[:, rank]).maps
                for i, c in enumerate(order[:, rank]):
                    self._singles[(layer, self._method, i, int(c))] = maps[i].numpy()
        start = (self.index, self.target)
        views = [(i, c) for i in range(len(self._x)) for c in dict.fromkeys([-1, *map(int, order[i])])]
        views += [] if start in views else [start]
        # What Python sets for each (index, target) the page offers: the traits that change between them.
        snapshots, changed = {}, set()

        def note(change: dict) -> None:
            changed.add(change["name"])

        self.observe(note)
        try:
            with self.hold_sync():
                for i, c in views:
                    with self.hold_trait_notifications():
                        self.target, self.index = c, i
                    snapshots[(i, c)] = state_json(self)
        finally:
            self.unobserve(note)
            with self.hold_sync(), self.hold_trait_notifications():
                self.target, self.index = start[1], start[0]
        derived = sorted(changed - {"index", "target", "computations"})
        page = HtmlPage(self, self._bundle)
        page.state["layers"] = layers if self.layer else []  # the pickers offer what the page holds
        table = {view: {k: snap[k] for k in derived} for view, snap in snapshots.items()}
        page.add_reaction(["index", "target"], table, fallback={"target": -1})
        page.kernel_traits = ["layer", "compare_layer", "show_confusion"]
        return page.html(title or "nbviz GradCamViewer")
