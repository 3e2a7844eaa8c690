"""EmbeddingExplorer: projections of N-D features drawn with WebGL, talking back to Python.

Traits and messages follow ``js/src/embedding_explorer/protocol.ts``; both sides change together.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import traitlets as t

from ..colors import categorical_palette, colormap_lut
from ..data import Features, as_numpy, encode_labels
from ..export import colorbar_panel, legend_panel, rasterize_points, side_by_side, to_png
from ..kernels import images as image_kernels
from ..kernels.clustering import hierarchical_clusters
from ..kernels.neighbors import NeighborIndex, knn_all
from ..kernels.progress import progress_bar
from ..kernels.projection import CACHE, aligned_umap, check_projection, content_key, pca, project
from ..labelling import LabelStore, check_label, copy_file, write_new_file
from .arrays import array_to_json
from .base import (
    Array,
    ArrayList,
    NbvizWidget,
    TraitValueError,
    check_number,
    request_index,
    request_indices,
    validate_number,
)
from .compare import compare
from .html_page import NO_KERNEL, HtmlPage, SavesView

METHODS = ("auto", "umap", "tsne", "pca", "aligned_umap", None)
#: ``color_by`` names of the built-in colourings; a metadata column of any name is ``COLUMN_PREFIX + name``.
BUILTIN_COLORINGS = ("label", "cluster", "value")
COLUMN_PREFIX = "column:"
#: Pixel size of images sent for the neighbour grid and the tooltip (small images are upscaled crisply).
PANEL_IMAGE_PX = 96
#: Most items whose neighbours, images and thumbnails a saved HTML page holds (``save("x.html")``): the page grows
#: by about one small PNG per item; above it the page paints the same and neighbours need a running kernel.
HTML_NEIGHBOR_LIMIT = 10_000


def _auto_point_size(n: int) -> float:
    """Bigger points for few, smaller for many, so both a 100-point and a 1M-point plot read well."""
    return float(np.clip(2.0 + 1.25 * (6.0 - np.log10(max(n, 1))), 1.5, 7.0))


def _as_features(value: Any, name: str) -> Features:
    if isinstance(value, Features):
        return value
    try:
        return Features(as_numpy(value, name))
    except (TypeError, ValueError) as exc:  # Features speaks of "embeddings": say which argument they came from
        if name in str(exc):
            raise
        raise type(exc)(f"{name}: {exc}") from None


def _with_items(embeddings: np.ndarray, items: Features, **override: Any) -> Features:
    """Features of ``embeddings`` carrying the labels, images and metadata of ``items`` (or ``override``)."""
    images = items.image_paths or (items.images_uint8(np.arange(len(items))) if items.n_images else None)
    parts = {"labels": items.labels, "images": images, "metadata": items.metadata, **override}
    return Features(embeddings, **{k: v for k, v in parts.items() if v is not None})


class EmbeddingExplorer(SavesView, NbvizWidget):
    """Explore a 2-D projection of N-D features: pan, zoom, hover, click for neighbours, lasso, label.

    Parameters
    ----------
    data
        (N, D) array or tensor, :class:`nbviz.Features`, or ``{name: features}`` for aligned views of the same
        N items (a layer sweep, two models); with ``method=None`` the data is already 2-D.
    labels, images, metadata
        Per-item labels, images and metadata (see :class:`nbviz.Features`); they override those of ``data``.
    method
        "umap" | "tsne" | "pca" | "aligned_umap" | None (draw as is) | "auto" (None for 2-D data, else "umap").
        PCA is drawn at once; the slow methods run in the background with progress, and the points then move to
        their new places. Results are cached by content and parameters.
    method_kwargs
        Passed to umap-learn / openTSNE / PCA (n_neighbors, min_dist, metric, perplexity, random_state, ...).
    clusters
        Colour by this many hierarchical (Ward) clusters of the N-D features.
    colors
        Per-point numbers: colour by value through ``colormap``, with a colour bar.
    color_by
        "label" | "cluster" | "value" | "column:NAME" (metadata column NAME; a bare NAME also works when it is
        no built-in name) | None (value, cluster or label, the first given); see :meth:`color_by`.
    nside
        The neighbour grid is nside x nside: the clicked item first, then its nearest neighbours in N-D.
    metric
        Neighbour metric in the N-D space: "euclidean" | "cosine".
    thumbnails, thumbnail_size, max_thumbnails
        Draw up to ``max_thumbnails`` images at point positions, chosen among the points in view.
    label_dir
        Folder where labelled images are copied to ``label_dir/<label>/`` with an annotations CSV.
    background
        Run slow projections in a background thread (``False``: compute before returning).
    """

    _bundle = "embedding_explorer"
    #: What the notebook's picture shows (see ``_picture``): a change redraws it.
    _picture_traits = ("points", "categories", "category_names", "palette", "values", "colormap", "value_range",
                       "color_mode", "color_title", "hidden_categories", "selection", "focus", "point_size")

    points = Array(help="(N, 2) float32 positions shown now")
    layouts = ArrayList(help="aligned layouts, each (N, 2) float32; empty for one layout")
    layout_names = t.List(t.Unicode()).tag(sync=True)
    layout_index = t.Int(0).tag(sync=True)

    color_mode = t.Enum(["category", "value"], default_value="category").tag(sync=True)
    categories = Array(help="(N,) uint8/uint16 category codes, or None")
    category_names = t.List(t.Unicode()).tag(sync=True)
    palette = Array(help="(K, 4) uint8 RGBA, one row per category")
    color_title = t.Unicode("").tag(sync=True)
    values = Array(help="(N,) float32 in [0, 1] for colour by value")
    colormap = Array(help="(256, 4) uint8 RGBA lookup table")
    value_range = t.List(t.Float(), default_value=[0.0, 1.0]).tag(sync=True)
    hidden_categories = t.List(t.Int()).tag(sync=True)

    focus = t.Int(-1, help="index of the focused point, -1 for none").tag(sync=True)
    selection = Array(help="(M,) uint32 selected indices")
    view = t.List(t.Float(), help="camera [x, y, distance] in the plot's normalised space (points span [-1, 1]); "
                  "[] fits the data. Set by panning and zooming; linked views share it").tag(sync=True)
    hovered = t.Int(-1, help="point under the pointer, -1 for none (set by the browser; linked views ring it)"
                    ).tag(sync=True)

    point_size = t.Float(3.0).tag(sync=True)
    height = t.Int(480).tag(sync=True)
    nside = t.Int(3).tag(sync=True)
    has_images = t.Bool(False).tag(sync=True)
    thumbnails = t.Bool(False).tag(sync=True)
    thumbnail_size = t.Int(32).tag(sync=True)
    max_thumbnails = t.Int(500).tag(sync=True)

    label_options = t.List(t.Unicode()).tag(sync=True)
    active_label = t.Unicode("").tag(sync=True)
    annotation_counts = t.Dict().tag(sync=True)

    progress = t.Float(-1.0).tag(sync=True)
    status = t.Unicode("").tag(sync=True)

    # Bounds of the traits Python and the browser may set (bad values raise / are re-synced, see base.py).
    _check_height = validate_number("height", low=50, high=10_000)
    _check_point_size = validate_number("point_size", low=0.5, high=200)
    _check_nside = validate_number("nside", low=1, high=16)
    _check_thumbnail_size = validate_number("thumbnail_size", low=4, high=512)
    _check_max_thumbnails = validate_number("max_thumbnails", low=0, high=100_000)

    def __init__(
        self,
        data: Any,
        labels: Any = None,
        images: Any = None,
        metadata: Any = None,
        *,
        method: str | None = "auto",
        method_kwargs: Mapping[str, Any] | None = None,
        clusters: int | None = None,
        colors: Any = None,
        color_by: str | None = None,
        colormap: str = "viridis",
        nside: int = 3,
        metric: str = "euclidean",
        thumbnails: bool = False,
        thumbnail_size: int = 32,
        max_thumbnails: int = 500,
        label_dir: str | os.PathLike | None = None,
        height: int = 480,
        point_size: float | None = None,
        background: bool = True,
        **kwargs: Any,
    ) -> None:
        sets, names = self._feature_sets(data, labels, images, metadata)
        base = sets[0]
        n = len(base)
        method = self._check_method(method, sets)
        if method_kwargs is not None and not isinstance(method_kwargs, Mapping):
            raise TypeError(f"method_kwargs must be a dict of keyword arguments for the projection (or None), got "
                            f"{type(method_kwargs).__name__} {method_kwargs!r}"[:200])
        params = check_projection(method, n, dict(method_kwargs or {})) if method is not None else {}
        if not isinstance(nside, (int, np.integer)) or nside < 1:
            raise ValueError(f"nside must be an int >= 1 (the neighbour grid is nside x nside), got {nside!r}")
        if metric not in ("euclidean", "cosine"):
            raise ValueError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")
        if not isinstance(height, (int, np.integer)) or height < 50:
            raise ValueError(f"height must be an int of at least 50 pixels, got {height!r}")
        for name, value, low in (("thumbnail_size", thumbnail_size, 4), ("max_thumbnails", max_thumbnails, 0)):
            if not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")

        self.features = base
        self._sets, self._metric = sets, metric
        self._method, self._params = method, params
        self._colors_raw = None if colors is None else self._check_colors(colors, n)
        self._clusters = None if clusters is None else self._check_clusters(clusters, n)
        colormap_lut(colormap)  # a bad name is reported now, not when colouring by value
        self._colormap_name = colormap
        coloring = self._coloring(color_by)  # checked before anything is made (label_dir, the widget)
        self._indexes: dict[int, NeighborIndex] = {}
        self._labels = LabelStore(label_dir)
        self._worker: threading.Thread | None = None

        first = [self._first_layout(s) for s in sets]
        super().__init__(
            points=first[0],
            layouts=first if len(sets) > 1 else [],
            layout_names=names if len(sets) > 1 else [],
            height=int(height),
            point_size=point_size if point_size is not None else _auto_point_size(n),
            nside=int(nside),
            has_images=bool(base.n_images),
            thumbnails=bool(thumbnails) and bool(base.n_images),
            thumbnail_size=int(thumbnail_size),
            max_thumbnails=int(max_thumbnails),
            selection=np.zeros(0, dtype=np.uint32),
            label_options=self._labels.existing_labels(),
            **kwargs,
        )
        self._apply_coloring(coloring)
        if self._needs_projection():
            self._start_projection(background)
        if n > 50_000 and nside > 1:
            # Build the neighbour index now, off the kernel's thread, so the first click is answered fast.
            threading.Thread(target=self._neighbor_index, args=(0,), daemon=True).start()

    # -- input -------------------------------------------------------------------------------------------
    @staticmethod
    def _feature_sets(data: Any, labels: Any, images: Any, metadata: Any) -> tuple[list[Features], list[str]]:
        extra = {k: v for k, v in (("labels", labels), ("images", images), ("metadata", metadata)) if v is not None}
        if isinstance(data, Mapping):
            if len(data) < 1:
                raise ValueError("data must hold at least one feature set, got an empty dict")
            names = [str(k) for k in data]
            sets = [_as_features(v, f"data[{k!r}]") for k, v in data.items()]
            sizes = {name: len(s) for name, s in zip(names, sets, strict=True)}
            if len(set(sizes.values())) > 1:
                raise ValueError(f"data: all feature sets must describe the same N items; got sizes {sizes}")
        else:
            names, sets = [""], [_as_features(data, "data")]
        if extra:
            # Labels, images and metadata given here win over those carried by the Features.
            sets[0] = _with_items(sets[0].embeddings, sets[0], **extra)
        return sets, names

    @staticmethod
    def _check_method(method: str | None, sets: list[Features]) -> str | None:
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if method == "auto":
            method = None if all(s.dim == 2 for s in sets) else "umap"
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

    @staticmethod
    def _check_colors(colors: Any, n: int) -> np.ndarray:
        values = np.asarray(as_numpy(colors, "colors"), dtype=np.float64).reshape(-1)
        if len(values) != n:
            raise ValueError(f"colors has {len(values)} entries but data has {n} rows")
        if n and not np.isfinite(values).any():
            raise ValueError("colors must hold at least one finite number (NaN / inf points are drawn as the "
                             "lowest colour), got none")
        return values

    @staticmethod
    def _check_clusters(k: Any, n: int) -> int:
        if not isinstance(k, (int, np.integer)) or not 2 <= k <= n:
            raise ValueError(f"clusters must be an int between 2 and N = {n}, got {k!r}")
        return int(k)

    # -- projection --------------------------------------------------------------------------------------
    def _first_layout(self, features: Features) -> np.ndarray:
        """What is drawn at once: the data itself when 2-D, a cached result, else PCA."""
        emb = features.embeddings
        if self._method is None or emb.shape[1] == 2 and self._method == "pca":
            return np.ascontiguousarray(emb, dtype=np.float32)
        if self._method in ("pca", "umap", "tsne"):
            cached = CACHE.get(self._cache_key(features))
            if cached is not None:
                return cached
        return pca(emb, 2)

    def _cache_key(self, features: Features) -> str:
        return content_key(features.embeddings, method=self._method, **self._params)

    def _needs_projection(self) -> bool:
        if self._method in (None, "pca"):
            return False
        if self._method == "aligned_umap":
            return True
        return CACHE.get(self._cache_key(self._sets[0])) is None or len(self._sets) > 1

    def _start_projection(self, background: bool) -> None:
        # Made here, on the caller's thread, so the bar shows in the cell that built the widget.
        bar = progress_bar(100, desc=f"nbviz {self._method}")
        if background:
            self._worker = threading.Thread(target=self._project_all, args=(bar,), name="nbviz-projection",
                                            daemon=True)
            self._worker.start()
        else:
            self._project_all(bar)
            if self.error:
                raise RuntimeError(self.error)

    def _report(self, fraction: float, status: str) -> None:
        self.progress, self.status = float(fraction), status

    def _project_all(self, bar: Any) -> None:
        def progress(fraction: float, status: str) -> None:
            self._report(fraction, status)
            bar.n = int(round(100 * fraction))
            bar.set_postfix_str(status, refresh=True)

        with self.reporting_errors():
            try:
                if self._method == "aligned_umap":
                    key = content_key(*[s.embeddings for s in self._sets], method="aligned_umap", **self._params)
                    layouts = CACHE.get_or_compute(
                        key, lambda: aligned_umap([s.embeddings for s in self._sets], self._params, progress))
                else:
                    layouts = []
                    for s in self._sets:
                        key = self._cache_key(s)
                        layouts.append(CACHE.get_or_compute(
                            key, lambda s=s: project(s.embeddings, self._method, self._params, progress)))
                self._show_layouts([np.ascontiguousarray(a, dtype=np.float32) for a in layouts])
            finally:
                bar.close()
                self._report(-1.0, "")

    def _show_layouts(self, layouts: list[np.ndarray]) -> None:
        with self.hold_sync():
            if len(layouts) > 1:
                self.layouts = layouts
            self.points = layouts[min(self.layout_index, len(layouts) - 1)]

    def wait(self, timeout: float | None = None) -> EmbeddingExplorer:
        """Block until a background projection has finished (returns the widget, for chaining)."""
        if self._worker is not None:
            self._worker.join(timeout)
            if not self._worker.is_alive():
                self.refresh_picture()  # now, while this cell runs: a headless run records it
        return self

    @t.observe("layout_index")
    def _on_layout_index(self, change: dict) -> None:
        if self.layouts:
            self.points = self.layouts[change["new"]]

    @t.validate("layout_index")
    def _check_layout_index(self, proposal: dict) -> int:
        value, count = proposal["value"], max(len(self.layouts), 1)
        if not 0 <= value < count:
            raise t.TraitError(f"layout_index must be in 0..{count - 1}, got {value}")
        return value

    @property
    def embedding(self) -> np.ndarray:
        """(N, 2) float32 positions as displayed."""
        return self.points

    # -- colour ------------------------------------------------------------------------------------------
    def color_by(self, by: str | None = None) -> EmbeddingExplorer:
        """Colour points by a built-in colouring or a metadata column; returns the widget.

        Built-in colourings and metadata columns are separate namespaces:

        - ``"label"`` (the labels), ``"cluster"`` (the ``clusters`` given), ``"value"`` (the ``colors`` given);
        - ``"column:NAME"``: the metadata column NAME, whatever it is called (e.g. ``"column:label"`` when the
          metadata has a ``label`` column besides the labels). A bare column name works too when it is none of
          the built-in names above; a bare built-in name always means the built-in;
        - ``None``: the first of value, cluster, label that was given (nothing when none was).

        A numeric column with more than 12 distinct values is coloured by value, any other by category.
        """
        self._apply_coloring(self._coloring(by))
        return self

    def _coloring(self, by: object) -> tuple[str, Any]:
        """Check ``by`` (see :meth:`color_by`): ("builtin", name), ("column", the column's key) or ("none", None)."""
        f = self.features
        given = {"label": f.labels is not None, "cluster": self._clusters is not None,
                 "value": self._colors_raw is not None}
        builtins = [name for name in BUILTIN_COLORINGS if given[name]]
        columns = {} if f.metadata is None else {str(c): c for c in f.metadata.columns}
        options = builtins + [COLUMN_PREFIX + c for c in columns]
        if by is None:
            first = next((o for o in ("value", "cluster", "label") if given[o]), None)
            return ("none", None) if first is None else ("builtin", first)
        if isinstance(by, str):
            if by in BUILTIN_COLORINGS:
                if given[by]:
                    return "builtin", by
            elif by.startswith(COLUMN_PREFIX) and by[len(COLUMN_PREFIX):] in columns:
                return "column", columns[by[len(COLUMN_PREFIX):]]
            elif by in columns:  # a bare column name that is no built-in name
                return "column", columns[by]
        hint = ""
        if by in BUILTIN_COLORINGS:
            needs = {"label": "labels", "cluster": "clusters=k", "value": "colors"}[str(by)]
            hint = f"; color_by={by!r} needs {needs}"
            if by in columns:
                hint += f" (for the metadata column {by!r} pass color_by='{COLUMN_PREFIX}{by}')"
        raise ValueError(f"color_by must be one of {options or ['(nothing to colour by)']}, got {by!r}{hint}")

    def _apply_coloring(self, coloring: tuple[str, Any]) -> None:
        f = self.features
        kind, key = coloring
        with self.hold_sync():
            if kind == "none":
                self._set_categories(None, [], "")
            elif kind == "column":
                column, title = f.metadata[key], str(key)
                if pd.api.types.is_numeric_dtype(column) and column.nunique() > 12:
                    self._set_values(column.to_numpy(dtype=np.float64), title)
                else:
                    # Coded as labels are (numbers in numeric order); missing values get a category of their own.
                    codes, names = encode_labels(column, f"metadata[{title!r}]", missing="(missing)")
                    self._set_categories(codes, list(names or []), title)
            elif key == "label":
                self._set_categories(f.label_codes, list(f.label_names), "label")
            elif key == "cluster":
                codes = hierarchical_clusters(f.embeddings, self._clusters)
                self._set_categories(codes, [f"cluster {i}" for i in range(self._clusters)], "cluster")
            else:
                self._set_values(self._colors_raw, "value")
        self._color_source = coloring

    def _set_categories(self, codes: np.ndarray | None, names: list[str], title: str) -> None:
        k = max(len(names), 1)
        dtype = np.uint8 if k <= 256 else np.uint16
        self.categories = None if codes is None else np.asarray(codes).astype(dtype)
        self.category_names = [str(n) for n in names]
        self.palette = categorical_palette(k)
        self.hidden_categories = []
        self.color_title, self.color_mode = title, "category"

    def _set_values(self, raw: np.ndarray, title: str) -> None:
        finite = raw[np.isfinite(raw)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        self.values = ((raw - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)
        self.colormap = colormap_lut(self._colormap_name)
        self.value_range = [lo, hi]
        self.color_title, self.color_mode = title, "value"

    def _point_colors(self) -> np.ndarray:
        if self.color_mode == "value":
            v = np.nan_to_num(np.asarray(self.values), nan=0.0)
            return np.asarray(self.colormap)[np.clip((v * 255).round().astype(int), 0, 255)]
        pal = np.asarray(self.palette)
        return pal[np.asarray(self.categories)] if self.categories is not None else pal[0]

    # -- focus, selection, neighbours --------------------------------------------------------------------
    @t.validate("focus", "hovered")
    def _check_focus(self, proposal: dict) -> int:
        value = proposal["value"]
        n = len(self.features)
        if not -1 <= value < n:
            raise TraitValueError(f"{proposal['trait'].name} must be -1 (none) or a point index in 0..{n - 1}, "
                                  f"got {value}")
        return value

    @t.validate("hidden_categories")
    def _check_hidden(self, proposal: dict) -> list[int]:
        k = max(len(self.category_names), 1)
        bad = [c for c in proposal["value"] if not 0 <= c < k]
        if bad:
            raise TraitValueError(f"hidden_categories must list category indices in 0..{k - 1} (of "
                                  f"{self.category_names or ['one category']}), got {bad[0]}")
        return sorted(set(proposal["value"]))

    @t.validate("view")
    def _check_view(self, proposal: dict) -> list[float]:
        value = list(proposal["value"])
        if value and (len(value) != 3 or not all(np.isfinite(value)) or value[2] <= 0):
            raise t.TraitError(f"view must be [] (fit the data) or [x, y, distance] with distance > 0, got {value}")
        return value

    @t.validate("selection")
    def _check_selection(self, proposal: dict) -> np.ndarray:
        return self._indices(proposal["value"], "selection")

    def _indices(self, value: Any, name: str) -> np.ndarray:
        """Sorted unique point indices (uint32) from indices or a boolean mask; a TraitValueError naming ``name``."""
        try:
            idx = np.zeros(0, dtype=np.int64) if value is None else np.asarray(as_numpy(value, name))
        except (TypeError, ValueError) as exc:
            raise TraitValueError(str(exc)) from None
        if idx.ndim > 1:
            raise TraitValueError(f"{name} must be 1-D (point indices or a boolean mask), got shape {idx.shape}")
        idx = idx.reshape(-1)
        n = len(self.features)
        if idx.dtype == bool:
            if len(idx) != n:
                raise TraitValueError(f"{name} as a boolean mask needs {n} entries, got {len(idx)}")
            idx = np.flatnonzero(idx)
        if len(idx) and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= n):
            raise TraitValueError(f"{name} must hold point indices in 0..{n - 1} (or a boolean mask), got "
                                  f"{np.asarray(idx).reshape(-1)[:5].tolist()}{'...' if len(idx) > 5 else ''}")
        return np.unique(idx).astype(np.uint32)

    @property
    def shown_features(self) -> Features:
        """The feature set shown now: the one at ``layout_index`` for aligned sets (a layer sweep)."""
        return self._sets[self.layout_index if len(self._sets) > 1 else 0]

    def components(self, n: int = 10, **kwargs: Any) -> Any:
        """Principal-component probing of the shown features: a :class:`ComponentsProbe` (scree chart, the items
        at both ends of each component, correlations), linked to this explorer. ``kwargs``: m, fit_on, steps,
        solver, power_iterations, random_state."""
        from .components_view import ComponentsProbe

        return ComponentsProbe(self, n, **kwargs)

    #: ``EmbeddingExplorer.compare({"a": f1, "b": f2}, ...)``: two feature sets side by side (same items) or two
    #: dataset splits in one space fitted on ``fit_on`` (different items); see :func:`nbviz.widgets.compare.compare`.
    compare = staticmethod(compare)

    def neighbors(self, i: int, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest items to item ``i`` in the N-D space of the shown feature set (``i`` excluded).

        ``k`` defaults to nside * nside - 1, the neighbours the grid shows. Returns (indices, distances).
        """
        n = len(self.features)
        i = check_number(i, "i", low=0, high=n - 1, integer=True)
        k = min(self.nside * self.nside - 1, n - 1) if k is None else check_number(k, "k", low=1, high=n - 1,
                                                                                    integer=True)
        if k == 0:  # a 1 x 1 grid (nside=1) shows the clicked item alone
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return self._neighbor_index(self.layout_index if len(self._sets) > 1 else 0).query(i, k)

    def _neighbor_index(self, s: int) -> NeighborIndex:
        if s not in self._indexes:
            self._indexes[s] = NeighborIndex(self._sets[s].embeddings, self._metric)
        return self._indexes[s]

    # -- labelling ---------------------------------------------------------------------------------------
    @t.validate("active_label")
    def _check_active_label(self, proposal: dict) -> str:
        try:
            return proposal["value"] and check_label(proposal["value"])
        except (TypeError, ValueError) as exc:
            raise TraitValueError(f"active_label: {exc}") from None

    def annotate(self, indices: Any, label: str) -> int:
        """Assign ``label`` to items (copying their images into ``label_dir/<label>/`` when it is set)."""
        idx = self._indices(indices, "indices")
        count = self._labels.assign(idx, label, self._write_item if self.features.n_images else None)
        with self.hold_sync():
            self.annotation_counts = self._labels.counts()
            if label not in self.label_options:
                self.label_options = [*self.label_options, label]
        return count

    def _write_item(self, i: int, folder: Path) -> Path | None:
        paths = self.features.image_paths
        if paths is not None:
            src = Path(paths[i])
            return write_new_file(folder, f"{i:06d}", src.suffix.lower(), copy_file(src))
        png = image_kernels.encode_png(self.features.image(i))
        return write_new_file(folder, f"{i:06d}", ".png", lambda dst: dst.write_bytes(png))

    @property
    def annotations(self) -> pd.DataFrame:
        """The labels assigned so far: columns index, label, time."""
        return self._labels.frame()

    # -- export ------------------------------------------------------------------------------------------
    def export_projector(self, logdir: str | os.PathLike, sprite_size: int = 32, *,
                         overwrite: bool = False) -> Path:
        """Write TensorBoard projector files (tensors, metadata TSV, sprite) for the shown feature set.

        Files already in ``logdir`` are replaced only with ``overwrite=True``; see
        :func:`nbviz.integrations.tensorboard.export_projector`.
        """
        from ..integrations.tensorboard import export_projector

        shown = self._sets[self.layout_index if len(self._sets) > 1 else 0]
        return export_projector(_with_items(shown.embeddings, self.features), logdir, sprite_size=sprite_size,
                                overwrite=overwrite)

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

    def to_png(self, width: int = 800, height: int | None = None, *, legend: bool = True) -> bytes:
        """A PNG of the layout as first shown (camera fitted to the data), with the live view's colours, hidden
        categories left out, the selection on top of dimmed other points, the focused point ringed and, with
        ``legend``, the class legend or the colour bar to the right of the ``width`` x ``height`` plot."""
        width = check_number(width, "width", low=1, high=10_000, integer=True)
        height = self.height if height is None else check_number(height, "height", low=1, high=10_000, integer=True)
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
        # Positions fitted on every point (as the live camera is), drawn for the visible ones only.
        img = rasterize_points(points, colors, width=width, height=height, radius=radius, only=order)
        if 0 <= self.focus < len(points):
            ring = np.full((1, 4), (20, 20, 20, 255), dtype=np.uint8)
            for r in (radius + 3, radius + 4):
                rasterize_points(points, ring, width=width, height=height, radius=r, only=[self.focus],
                                 out=img, ring=r - 1)
        if not legend:
            return img
        if self.color_mode == "value" and self.values is not None:
            lo, hi = self.value_range
            return side_by_side([img, colorbar_panel(self.colormap, lo, hi, self.color_title, height)])
        if self.category_names:
            panel = legend_panel(list(self.category_names), self.palette, self.color_title, height,
                                 self.hidden_categories)
            return side_by_side([img, panel])
        return img

    def _static_png(self) -> bytes | None:
        return self.to_png(640, min(self.height, 480))

    # -- browser requests --------------------------------------------------------------------------------
    def _request_handlers(self) -> dict:
        return {"neighbors": self._reply_neighbors, "thumbnails": self._reply_thumbnails,
                "item": self._reply_item, "assign": self._reply_assign}

    def _images_png(self, indices: list[int], size: int) -> list[bytes]:
        return [image_kernels.encode_png(self.features.image(i), size) for i in indices]

    def _reply_neighbors(self, content: dict) -> tuple[dict, list]:
        i = request_index(content, "index", len(self.features))
        reply = self._neighbors_reply(i, *self.neighbors(i))
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
