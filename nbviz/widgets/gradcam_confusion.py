"""The saliency confusion matrix of a :class:`~nbviz.widgets.gradcam_viewer.GradCamViewer`: for one image, the maps
of its predicted and its true class, split into positive and negative evidence (2 x 2). :class:`ConfusionView` is
what ``viewer.confusion(i)`` returns (a PNG in the notebook); :class:`ShowsConfusion` is a mixin of the viewer that
builds it from the viewer's cached maps, labels and images (``maps``, ``_batch``, ``label_codes``, ``_images``).
Kept apart so the viewer module holds its state, kernel calls and the main view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..colors import colormap_lut, is_diverging
from ..display import colorize_heatmap, composite
from ..export import scale_png, to_png
from .base import WidgetMixin, check_png_width

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch
    import traitlets as t

    from ..kernels.attribution import Attribution


@dataclass
class ConfusionView:
    """The saliency confusion matrix of one image: rows predicted / true class, columns positive / negative.

    Attributes
    ----------
    maps
        (2, 2, H, W) float32 >= 0.
    classes, names, probabilities
        Predicted and true class: index, name, the model's probability.
    image
        (H, W, 3) uint8 image the maps explain.
    """

    maps: np.ndarray
    classes: np.ndarray
    names: list[str]
    probabilities: np.ndarray
    image: np.ndarray

    @property
    def wrong(self) -> bool:
        return bool(self.classes[0] != self.classes[1])

    def to_png(self, width: int | None = None, *, colormap: str = "inferno", opacity: float = 0.6) -> bytes:
        """The four maps over the image, 2 x 2 (shared scale, so magnitudes compare), as PNG bytes, ``width`` pixels
        wide when given (nearest neighbour)."""
        width = check_png_width(width)
        peak = float(self.maps.max()) or 1.0
        lut = colormap_lut(colormap)
        tiles = [[composite(self.image, colorize_heatmap(self.maps[r, c], lut, sign="positive", opacity=opacity,
                                                 normalization="batch", batch_peak=peak,
                                                 diverging=is_diverging(colormap))) for c in range(2)]
                 for r in range(2)]
        png = to_png(np.concatenate([np.concatenate(row, axis=1) for row in tiles], axis=0))
        return scale_png(png, width)

    def _repr_png_(self) -> bytes:
        return self.to_png()


class ShowsConfusion(WidgetMixin):
    """``confusion`` and the confusion view's maps (a mixin of ``GradCamViewer``: see the module)."""

    # What this mixin uses of the GradCamViewer (annotations only: the values are the widget's traits and state).
    class_names: t.List[str]
    label_codes: t.Any
    layer: t.Unicode[str, str | bytes]
    _images: np.ndarray
    _x: torch.Tensor
    maps: Callable[..., np.ndarray]
    _batch: Callable[[str], Attribution]

    def _confusion_view(self, i: int) -> ConfusionView:
        true = int(self.label_codes[i])
        pred = int(self._batch(self.layer).targets[i])
        signed = np.stack([self.maps(i, target=pred), self.maps(i, target=true)])
        maps = np.stack([np.maximum(signed, 0), np.maximum(-signed, 0)], axis=1).astype(np.float32)
        probs = self._batch(self.layer).probabilities[i].numpy()
        classes = np.array([pred, true])
        return ConfusionView(maps, classes, [self.class_names[c] for c in classes],
                             probs[classes].astype(np.float32), self._images[i])

    def confusion(self, i: int | None = None) -> ConfusionView:
        """The 2 x 2 saliency confusion matrix of image ``i`` (default: the shown one), shown in the view too.

        Rows: the predicted and the true class; columns: positive and negative evidence. Needs ``labels``.
        """
        i = self.index if i is None else i
        if not isinstance(i, (int, np.integer)) or not 0 <= i < len(self._x):
            raise ValueError(f"i must be an image index in 0..{len(self._x) - 1}, got {i!r}")
        if self.label_codes[i] < 0:
            raise ValueError("confusion needs the true class: pass labels= when making the viewer")
        with self.hold_sync():
            self.index = int(i)
            self.show_confusion = True
        return self._confusion_view(int(i))
