"""Labelling in the EmbeddingExplorer: assigning labels to items and copying their images into ``label_dir``.

The store of labels and the safe file writing are :mod:`nbviz.labelling`'s; here is the glue that picks what
to write for an item (its image file copied, or its array encoded as PNG). :class:`LabelsItems` is a mixin of
:class:`~nbviz.widgets.embedding_explorer.EmbeddingExplorer`, which holds the label traits and validates them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..kernels import images as image_kernels
from ..labelling import copy_file, same_file_contents, write_new_file
from .base import WidgetMixin

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from ..data import Features
    from ..labelling import LabelStore


class LabelsItems(WidgetMixin):
    """Labelling (a mixin of ``EmbeddingExplorer``: it uses the widget's ``features``, its ``LabelStore`` and the
    ``label_options`` / ``annotation_counts`` traits)."""

    # What this mixin uses of the EmbeddingExplorer (annotations only: the values are the widget's traits and state).
    features: Features
    _labels: LabelStore
    _indices: Callable[[Any, str], np.ndarray]

    def annotate(self, indices: Any, label: str) -> int:
        """Assign ``label`` to items (copying their images into ``label_dir/<label>/`` when it is set)."""
        idx = self._indices(indices, "indices")
        paths = self.features.image_paths
        count = self._labels.assign(idx, label, self._write_item if self.features.n_images else None,
                                    source=None if paths is None else lambda i: paths[i])
        with self.hold_sync():
            self.annotation_counts = self._labels.counts()
            if label not in self.label_options:
                self.label_options = [*self.label_options, label]
        return count

    def _write_item(self, i: int, folder: Path) -> Path | None:
        paths = self.features.image_paths
        if paths is not None:
            # The copy keeps the source's name; a different file of that name (cat/1.png, dog/1.png) gets the item
            # index too; an identical one means the item was labelled before, and nothing is written.
            src = Path(paths[i])
            taken = folder / src.name
            if taken.exists() or taken.is_symlink():
                if same_file_contents(taken, src):
                    return None
                return write_new_file(folder, f"{src.stem}-{i:06d}", src.suffix, copy_file(src))
            return write_new_file(folder, src.stem, src.suffix, copy_file(src))
        png = image_kernels.encode_png(self.features.image(i))
        return write_new_file(folder, f"{i:06d}", ".png", lambda dst: dst.write_bytes(png))

    @property
    def annotations(self) -> pd.DataFrame:
        """The labels assigned so far: columns index, label, time."""
        return self._labels.frame()
