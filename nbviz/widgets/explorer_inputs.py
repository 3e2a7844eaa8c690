"""The EmbeddingExplorer's inputs checked: the feature sets (the same items in each), a given layout, point size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..checks import as_numpy
from ..data import Features

__all__ = ["METHODS", "as_features", "auto_point_size", "check_method", "check_same_items", "check_xy", "feature_sets",
           "with_items"]

METHODS = ("auto", "umap", "tsne", "pca", "aligned_umap", None)


def auto_point_size(n: int) -> float:
    """Bigger points for few, smaller for many, so both a 100-point and a 1M-point plot read well."""
    return float(np.clip(2.0 + 1.25 * (6.0 - np.log10(max(n, 1))), 1.5, 7.0))


def as_features(value: Any, name: str) -> Features:
    if isinstance(value, Features):
        return value
    try:
        return Features(as_numpy(value, name))
    except (TypeError, ValueError) as exc:  # Features speaks of "embeddings": say which argument they came from
        if name in str(exc):
            raise
        raise type(exc)(f"{name}: {exc}") from None


def with_items(embeddings: np.ndarray, items: Features, **override: Any) -> Features:
    """Features of ``embeddings`` carrying the labels, images and metadata of ``items`` (or ``override``)."""
    images = items.image_paths or (items.images_uint8(np.arange(len(items))) if items.n_images else None)
    parts = {"labels": items.labels, "images": images, "metadata": items.metadata, **override}
    return Features(embeddings, **{k: v for k, v in parts.items() if v is not None})


def check_same_items(names: list[str], sets: list[Features]) -> None:
    """Refuse feature sets that do not describe the same items in the same order, naming the sets."""
    first = names[0]
    for name, s in zip(names[1:], sets[1:], strict=True):
        if len(s) != len(sets[0]):
            raise ValueError(f"data: all feature sets must describe the same N items; {first!r} has {len(sets[0])} "
                             f"and {name!r} has {len(s)}")
        for what, mine, theirs in (("labels", sets[0].labels, s.labels),
                                   ("image files", sets[0].image_paths, s.image_paths)):
            if mine is not None and theirs is not None:
                differ = np.flatnonzero(np.asarray(mine, dtype=object) != np.asarray(theirs, dtype=object))
                if len(differ):
                    raise ValueError(f"data: feature sets {first!r} and {name!r} have different {what} (first at "
                                     f"row {differ[0]}), so they are not the same items in the same order")


def check_xy(xy: Any, names: list[str], n: int, method: str | None) -> list[np.ndarray]:
    """The given layout(s) as float32 (N, 2) arrays, one per set (or one for all)."""
    if method not in ("auto", None):
        raise ValueError(f"xy is a layout computed elsewhere, so method must be left at 'auto'; got method={method!r}")
    if isinstance(xy, Mapping):
        missing = [k for k in names if k not in xy]
        if missing or len(xy) != len(names):
            raise ValueError(f"xy must have the keys of data {names}; got {list(xy)}")
        parts = [(f"xy[{k!r}]", xy[k]) for k in names]
    else:
        parts = [("xy", xy)]
    out = []
    for name, value in parts:
        arr = as_numpy(value, name)
        if arr.ndim != 2 or arr.shape != (n, 2) or arr.dtype.kind not in "iuf":
            raise ValueError(f"{name} must be an (N, 2) array of numbers with N = {n}; got shape {arr.shape} "
                             f"dtype {arr.dtype}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} has NaN or inf positions; every item needs a place")
        out.append(np.ascontiguousarray(arr, dtype=np.float32))
    return out


def feature_sets(data: Any, labels: Any, images: Any, metadata: Any) -> tuple[list[Features], list[str]]:
    extra = {k: v for k, v in (("labels", labels), ("images", images), ("metadata", metadata)) if v is not None}
    if isinstance(data, Mapping):
        if len(data) < 1:
            raise ValueError("data must hold at least one feature set, got an empty dict")
        names = [str(k) for k in data]
        sets = [as_features(v, f"data[{k!r}]") for k, v in data.items()]
        check_same_items(names, sets)
    else:
        names, sets = [""], [as_features(data, "data")]
    if extra:
        # Labels, images and metadata given here win over those carried by the Features.
        sets[0] = with_items(sets[0].embeddings, sets[0], **extra)
    return sets, names

def check_method(method: str | None, sets: list[Features]) -> str | None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        method = None if all(s.dim == 2 for s in sets) else "umap" if len(sets) == 1 else "aligned_umap"
    n = len(sets[0])
    if method is None:
        bad = [i for i, s in enumerate(sets) if s.dim != 2]
        if bad:
            raise ValueError(f"method=None draws the data as it is, so it must be (N, 2); "
                             f"got dim {sets[bad[0]].dim}; pass method='pca', 'umap' or 'tsne' to project it")
    elif n < 3:
        raise ValueError(f"data must have at least 3 rows to be projected, got {n}")
    if method == "aligned_umap" and len(sets) < 2:
        raise ValueError("method='aligned_umap' needs a dict of at least two feature sets, e.g. "
                         "{'layer2': f2, 'layer3': f3}")
    return method
