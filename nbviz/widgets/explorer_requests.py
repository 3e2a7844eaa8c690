"""The EmbeddingExplorer's answers to its browser's requests: neighbours, an item's tooltip, thumbnails, labelling.

Each handler turns a request's fields into a reply and its image buffers (see ``js/src/embedding_explorer/
protocol.ts``); the reply fields of ``neighbors`` and ``item`` are built by the same methods a saved HTML page uses
(:mod:`nbviz.widgets.explorer_export`). :class:`AnswersRequests` is a mixin of
:class:`~nbviz.widgets.embedding_explorer.EmbeddingExplorer`; it lives here to keep that module short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..kernels import images as image_kernels
from .base import WidgetMixin, check_number, request_index, request_indices

if TYPE_CHECKING:
    from collections.abc import Callable

    import traitlets as t

    from ..data import Features

#: Pixel size of images sent for the neighbour grid and the tooltip (small images are upscaled crisply).
PANEL_IMAGE_PX = 96


class AnswersRequests(WidgetMixin):
    """The explorer's request handlers (a mixin of ``EmbeddingExplorer``: it uses the widget's ``features``,
    ``neighbors``, ``annotate`` and image traits)."""

    # What this mixin uses of the EmbeddingExplorer (annotations only: the values are the widget's traits and state).
    features: Features
    has_images: t.Bool[bool, bool | int]
    max_thumbnails: t.Int[int, int]
    thumbnail_size: t.Int[int, int]
    layouts: t.List
    layout_index: t.Int[int, int]
    annotate: Callable[..., int]
    neighbors: Callable[..., tuple[np.ndarray, np.ndarray]]

    def _request_handlers(self) -> dict:
        return {"neighbors": self._reply_neighbors, "thumbnails": self._reply_thumbnails,
                "item": self._reply_item, "assign": self._reply_assign}

    def _images_png(self, indices: list[int], size: int) -> list[bytes]:
        return [image_kernels.encode_png(self.features.image(i), size) for i in indices]

    def _reply_neighbors(self, content: dict) -> tuple[dict, list]:
        i = request_index(content, "index", len(self.features))
        # The layout the view shows when it asked: its slider may have moved before the trait change arrives.
        layout = request_index(content, "layout", max(len(self.layouts), 1), default=self.layout_index)
        reply = self._neighbors_reply(i, *self.neighbors(i, layout=layout))
        return reply, self._images_png(reply["indices"], PANEL_IMAGE_PX) if self.has_images else []

    def _neighbors_reply(self, i: int, idx: np.ndarray, dist: np.ndarray) -> dict:
        """The fields of a ``neighbors`` reply (the live one and a saved page's)."""
        indices = [i, *map(int, idx)]
        labels = self.features.labels
        return {"index": i, "indices": indices, "distances": [0.0, *map(float, dist)],
                "labels": [] if labels is None else [str(labels[j]) for j in indices]}

    def _reply_thumbnails(self, content: dict) -> tuple[dict, list]:
        indices = request_indices(content, "indices", len(self.features))[: max(self.max_thumbnails, 1)]
        size = check_number(content.get("size", self.thumbnail_size), "request field 'size'", low=4, high=512,
                            integer=True)
        png, columns = image_kernels.atlas([self.features.image(i) for i in indices], size)
        return {"indices": indices, "size": size, "columns": columns}, [png]

    def _reply_item(self, content: dict) -> tuple[dict, list]:
        i = request_index(content, "index", len(self.features))
        return self._item_reply(i), self._images_png([i], PANEL_IMAGE_PX) if self.has_images else []

    def _item_reply(self, i: int) -> dict:
        """The fields of an ``item`` reply (the live one and a saved page's)."""
        f = self.features
        meta = {} if f.metadata is None else {str(k): str(v) for k, v in f.metadata.iloc[i].items()}
        return {"index": i, "label": "" if f.labels is None else str(f.labels[i]), "metadata": meta}

    def _reply_assign(self, content: dict) -> tuple[dict, list]:
        indices = request_indices(content, "indices", len(self.features))
        count = self.annotate(indices, content.get("label"))
        return {"label": content["label"], "count": count}, []
