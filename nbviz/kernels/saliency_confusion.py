"""The saliency confusion matrix: for each image, the signed maps of its predicted and its true class, split into
positive and negative evidence (2 x 2), so a wrong prediction shows what spoke for the wrong class and against the
right one. Built on :func:`~nbviz.kernels.attribution.attribute`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .attribution import attribute, check_targets


@dataclass
class SaliencyConfusion:
    """The saliency confusion matrix of a batch: positive and negative evidence for the predicted and true class.

    Attributes
    ----------
    maps
        (N, 2, 2, H, W) float32 >= 0: ``[:, 0]`` the predicted class, ``[:, 1]`` the true class; ``[:, :, 0]``
        positive evidence, ``[:, :, 1]`` negative evidence (as a magnitude).
    classes
        (N, 2) int64: predicted and true class.
    probabilities
        (N, 2) float32: the model's probability of each.
    """

    maps: np.ndarray
    classes: np.ndarray
    probabilities: np.ndarray

    @property
    def wrong(self) -> np.ndarray:
        """(N,) bool: where prediction and truth differ."""
        return self.classes[:, 0] != self.classes[:, 1]


def saliency_confusion(model: nn.Module, layer: Any, x: Any, true: Any, *, method: str = "gradcam",
                       **kwargs: Any) -> SaliencyConfusion:
    """The 2 x 2 saliency confusion matrix per image (see :class:`SaliencyConfusion`).

    Parameters
    ----------
    model, layer, x
        See :func:`attribute`.
    true
        The true class of each image (an int or N ints).
    method
        The attribution method; maps are signed, then split into their positive and negative parts.
    **kwargs
        Passed to :func:`attribute` (proc_x, reshape, batch_size, precision, ...).
    """
    pred = attribute(model, x, layer, None, method=method, signed=True, **kwargs)
    n = len(pred.maps)
    truth = check_targets(true, n, pred.logits.shape[1])
    if truth is None:
        raise ValueError("true must be the true class of each image (an int or N ints), got None")
    same = bool((truth == pred.targets).all())
    real = pred if same else attribute(model, x, layer, truth, method=method, signed=True, **kwargs)
    signed = torch.stack([pred.maps, real.maps], dim=1)  # (N, 2, H, W)
    maps = torch.stack([signed.clamp(min=0), (-signed).clamp(min=0)], dim=2)
    probs = pred.probabilities
    classes = torch.stack([pred.targets, truth], dim=1)
    return SaliencyConfusion(maps.numpy(), classes.numpy(), probs.gather(1, classes).numpy().astype(np.float32))
