"""EmbeddingExplorer: projections of N-D features drawn with WebGL, talking back to Python.

Traits and messages follow ``js/src/embedding_explorer/protocol.ts``; both sides change together.

This module holds the widget's traits, their checks, the input checks, the projection and neighbour queries.
What the class does besides lives in mixins next to it, to keep each file short: colouring in
:mod:`~nbviz.widgets.explorer_colors`, answers to the browser's requests in :mod:`~nbviz.widgets.explorer_requests`,
labelling to disk in :mod:`~nbviz.widgets.explorer_labels`, the HTML page and PNG in
:mod:`~nbviz.widgets.explorer_export`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import traitlets as t

from ..checks import as_numpy
from ..colors import colormap_lut
from ..data import Features
from ..kernels.neighbors import NeighborIndex, Neighbors
from ..kernels.progress import progress_bar
from ..kernels.projection import CACHE, aligned_umap, check_projection, content_key, pca, project
from ..kernels.projection_scale import sampling_note
from ..labelling import LabelStore, check_label
from .base import (
    Array,
    ArrayList,
    Codes,
    NbvizWidget,
    Positions,
    TraitValueError,
    check_number,
    validate_number,
)
from .compare import compare
from .explorer_colors import PointColors
from .explorer_export import ExportsView
from .explorer_inputs import auto_point_size, check_method, check_xy, feature_sets, with_items
from .explorer_labels import LabelsItems
from .explorer_requests import AnswersRequests

#: How the title line names each projection.
TITLES = {"pca": "PCA (PC1 × PC2)", "umap": "UMAP", "tsne": "t-SNE", "aligned_umap": "aligned UMAP"}


class EmbeddingExplorer(PointColors, AnswersRequests, LabelsItems, ExportsView, NbvizWidget):
    """Explore a 2-D projection of N-D features: pan, zoom, hover, click for neighbours, lasso, label.

    Parameters
    ----------
    data
        (N, D) array or tensor, :class:`nbviz.Features`, or ``{name: features}`` for aligned views of the same
        N items (a layer sweep, two models, checkpoints), projected with AlignedUMAP and a slider between them
        unless ``method=`` says otherwise; with ``method=None`` the data is already 2-D.
    labels, images, metadata
        Per-item labels, images and metadata (see :class:`nbviz.Features`); they override those of ``data``.
    method
        "umap" | "tsne" | "pca" | "aligned_umap" | None (draw as is) | "auto" (None for 2-D data, else "umap";
        "aligned_umap" for a dict of several sets).
        PCA is drawn at once; the slow methods run in the background with progress, and the points then move to
        their new places. Results are cached by content and parameters.
    method_kwargs
        Passed to umap-learn / openTSNE / PCA (n_neighbors, min_dist, metric, perplexity, random_state, ...).
    clusters
        Colour by this many hierarchical (Ward) clusters of the N-D features.
    colors
        Per-point numbers: colour by value through ``colormap``, with a colour bar titled ``colors_name``.
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
    xy
        A 2-D layout computed elsewhere, (N, 2) (for a dict of sets: a dict of them with the same keys, or one for
        all): drawn as it is, while neighbours, components and colouring use the N-D ``data``. Replaces
        ``method``, which must then be left at "auto" (or None).
    """

    _bundle = "embedding_explorer"
    _streams_arrays = True  # past a few MB, points and codes reach a live view in pieces (widgets/streams.py)
    #: What the notebook's picture shows (see ``_picture``): a change redraws it.
    _picture_traits = ("points", "categories", "category_names", "palette", "values", "colormap_lut", "value_range",
                       "color_mode", "color_title", "hidden_categories", "selection", "focus", "point_size")

    points = Positions(help="(N, 2) float32 positions shown now (uint16 per axis on the wire)")
    layouts = ArrayList(positions=True, help="aligned layouts, each (N, 2) float32; empty for one layout")
    layout_names = t.List(t.Unicode()).tag(sync=True)
    layout_index = t.Int(0).tag(sync=True)

    color_mode = t.Enum(["category", "value"], default_value="category").tag(sync=True)
    categories = Codes(help="(N,) uint8/uint16 category codes, or None (below 16: half a byte each on the wire)")
    category_names = t.List(t.Unicode()).tag(sync=True)
    palette = Array(help="(K, 4) uint8 RGBA, one row per category")
    color_title = t.Unicode("").tag(sync=True)
    color_options = t.List(t.Unicode(), help="what the points can be coloured by: label, cluster, value, "
                           "column:NAME (the view's colour-by menu)").tag(sync=True)
    color_source = t.Unicode("", help="what the points are coloured by, one of color_options ('' for nothing); "
                             "setting it (in Python or the view's menu) recolours").tag(sync=True)
    values = Array(help="(N,) float32 in [0, 1] for colour by value")
    colormap = t.Unicode("viridis", help="matplotlib colormap of colour by value; setting it recolours").tag(sync=True)
    colormap_lut = Array(help="(256, 4) uint8 RGBA lookup table of colormap, when colouring by value")
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
    lod_points = t.Int(500_000, help="past this many points a pan or zoom draws a stratified sample of about this "
                       "many, and all of them once the camera rests; 0 always draws all").tag(sync=True)

    label_options = t.List(t.Unicode()).tag(sync=True)
    active_label = t.Unicode("").tag(sync=True)
    annotation_counts = t.Dict().tag(sync=True)

    progress = t.Float(-1.0).tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    plot_title = t.Unicode("", help="what is plotted: the projection (or a given layout) and of what").tag(sync=True)

    # Bounds of the traits Python and the browser may set (bad values raise / are re-synced, see base.py).
    _check_height = validate_number("height", low=50, high=10_000)
    _check_point_size = validate_number("point_size", low=0.5, high=200)
    _check_nside = validate_number("nside", low=1, high=16)
    _check_thumbnail_size = validate_number("thumbnail_size", low=4, high=512)
    _check_max_thumbnails = validate_number("max_thumbnails", low=0, high=100_000)
    _check_lod_points = validate_number("lod_points", low=0, high=2**31 - 1)

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
        colors_name: str = "value",
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
        xy: Any = None,
        **kwargs: Any,
    ) -> None:
        sets, names = feature_sets(data, labels, images, metadata)
        base = sets[0]
        n = len(base)
        self._xy = None if xy is None else check_xy(xy, names, n, method)
        method = None if xy is not None else check_method(method, sets)
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
        if not isinstance(colors_name, str):
            raise TypeError(f"colors_name must be a str (the colour bar's title), got {type(colors_name).__name__}")
        self._colors_name = colors_name
        self._clusters = None if clusters is None else self._check_clusters(clusters, n)
        colormap_lut(colormap)  # a bad name is reported now, not when colouring by value
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
            point_size=point_size if point_size is not None else auto_point_size(n),
            nside=int(nside),
            has_images=bool(base.n_images),
            thumbnails=bool(thumbnails) and bool(base.n_images),
            thumbnail_size=int(thumbnail_size),
            max_thumbnails=int(max_thumbnails),
            selection=np.zeros(0, dtype=np.uint32),
            label_options=self._labels.existing_labels(),
            colormap=colormap,
            **kwargs,
        )
        self._apply_coloring(coloring)
        self._drawn = "pca" if self._needs_projection() else self._method
        self._retitle()
        if self._needs_projection():
            self._start_projection(background)
        if n > 50_000 and nside > 1:
            # Build the neighbour index now, off the kernel's thread, so the first click is answered fast.
            threading.Thread(target=self._neighbor_index, args=(0,), daemon=True).start()

    # -- projection --------------------------------------------------------------------------------------
    def _first_layout(self, features: Features) -> np.ndarray:
        """What is drawn at once: the layout given, the data itself when 2-D, a cached result, else PCA."""
        if self._xy is not None:
            return self._xy[min(self._sets.index(features), len(self._xy) - 1)]
        emb = features.embeddings
        if self._method is None or emb.shape[1] == 2 and self._method == "pca":
            return np.ascontiguousarray(emb, dtype=np.float32)
        if self._method in ("umap", "tsne"):  # PCA is never cached: no need to hash millions of rows for it
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

    def _report(self, fraction: float, status: str, wait: bool = False) -> None:
        def apply() -> None:
            self.progress, self.status = float(fraction), status

        self.from_thread(apply, wait)  # a progress step skipped while the lock is held: the next comes soon

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
                    method = self._method
                    assert method is not None  # _needs_projection: only a method projects
                    layouts = []
                    for s in self._sets:
                        key = self._cache_key(s)
                        layouts.append(CACHE.get_or_compute(
                            key, lambda s=s: project(s.embeddings, method, self._params, progress)))
                self._show_layouts([np.ascontiguousarray(a, dtype=np.float32) for a in layouts])
            finally:
                bar.close()
                self._report(-1.0, "", wait=True)

    def _show_layouts(self, layouts: list[np.ndarray]) -> None:
        self.from_thread(lambda: self._set_layouts(layouts))

    def _set_layouts(self, layouts: list[np.ndarray]) -> None:
        with self.hold_sync():
            if len(layouts) > 1:
                self.layouts = layouts
            self.points = layouts[min(self.layout_index, len(layouts) - 1)]
            self._drawn = self._method
            self._retitle()

    def _retitle(self) -> None:
        """``plot_title``: what the points show (the projection drawn now, or a given layout) and of what."""
        f = self._sets[self.layout_index if len(self._sets) > 1 else 0]
        note = ""
        if self._xy is not None:
            what = "a given layout (xy=)"
        elif self._drawn is None:
            self.plot_title = f"{f.n:,} points as given (2-D)"
            return
        else:
            what = TITLES[self._drawn]
            note = sampling_note(self._drawn, f.n, self._params, f.dim)
        self.plot_title = f"{what} of {f.dim}-D features · {f.n:,} points" + (f" · {note}" if note else "")

    def wait(self, timeout: float | None = None) -> EmbeddingExplorer:
        """Block until a background projection has finished (returns the widget, for chaining)."""
        if self._worker is not None:
            self._worker.join(timeout)
            if not self._worker.is_alive():
                self.refresh_picture()  # now, while this cell runs: a headless run records it
        return self

    @t.observe("color_source")
    def _on_color_source(self, change: dict) -> None:
        self._pick_coloring(change["new"])

    @t.observe("layout_index")
    def _on_layout_index(self, change: dict) -> None:
        if self.layouts:
            self.points = self.layouts[change["new"]]
        self._retitle()

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

    # -- focus, selection, neighbours --------------------------------------------------------------------
    @t.validate("colormap")
    def _check_colormap(self, proposal: dict) -> str:
        colormap_lut(proposal["value"])  # raises, naming colormap, for a name matplotlib does not know
        return proposal["value"]

    @t.observe("colormap")
    def _recolour(self, change: dict) -> None:
        if self.color_mode == "value":
            self.colormap_lut = colormap_lut(change["new"])

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

    #: ``EmbeddingExplorer.compare({"a": f1, "b": f2, ...})``: 2 to 6 feature sets side by side (same items) or
    #: dataset splits in one space fitted on ``fit_on`` (different items); see :func:`nbviz.widgets.compare.compare`,
    #: whose ``explorer_type`` is this class.
    compare = classmethod(compare)

    def neighbors(self, i: int, k: int | None = None, *, layout: int | None = None) -> Neighbors:
        """The ``k`` nearest items to item ``i`` in the N-D space of the shown feature set (``i`` excluded), or of
        set ``layout`` (an index into ``layout_names``) when given.

        ``k`` defaults to nside * nside - 1, the neighbours the grid shows. Returns a named tuple: ``.indices``
        (int64) and ``.distances`` (float32), nearest first.
        """
        n = len(self.features)
        i = check_number(i, "i", low=0, high=n - 1, integer=True)
        k = min(self.nside * self.nside - 1, n - 1) if k is None else int(check_number(k, "k", low=1, high=n - 1,
                                                                                        integer=True))
        if k == 0:  # a 1 x 1 grid (nside=1) shows the clicked item alone
            return Neighbors(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        s = self.layout_index if layout is None else check_number(layout, "layout", low=0, high=len(self._sets) - 1,
                                                                   integer=True)
        return self._neighbor_index(s if len(self._sets) > 1 else 0).query(i, k)

    def _neighbor_index(self, s: int) -> NeighborIndex:
        if s not in self._indexes:
            # Past a few million items a FAISS index is built in the background; clicks are exact meanwhile.
            self._indexes[s] = NeighborIndex(self._sets[s].embeddings, self._metric).build(wait=False)
        return self._indexes[s]

    # -- labelling (assigning and writing: explorer_labels.py) ------------------------------------------
    @t.validate("active_label")
    def _check_active_label(self, proposal: dict) -> str:
        try:
            return proposal["value"] and check_label(proposal["value"])
        except (TypeError, ValueError) as exc:
            raise TraitValueError(f"active_label: {exc}") from None

    # -- export (HTML page and PNG: explorer_export.py) --------------------------------------------------
    def export_projector(self, logdir: str | os.PathLike, sprite_size: int = 32, *, run: str | None = None,
                         overwrite: bool = False) -> Path:
        """Write TensorBoard projector files (tensors, metadata TSV, sprite) for the shown feature set, into
        ``logdir/run`` when a ``run`` name is given.

        Files already in ``logdir`` are replaced only with ``overwrite=True``; see
        :func:`nbviz.integrations.tensorboard.export_projector`.
        """
        from ..integrations.tensorboard import export_projector

        shown = self._sets[self.layout_index if len(self._sets) > 1 else 0]
        return export_projector(with_items(shown.embeddings, self.features), logdir, sprite_size=sprite_size,
                                run=run, overwrite=overwrite)

    def triplets(self, margin: float = 0.2, **kwargs: Any) -> Any:
        """The triplet-loss sample space of the shown features (their labels): a
        :class:`~nbviz.widgets.triplet_space.TripletSpace` drawn at this explorer's positions, with its metric.
        ``kwargs``: labels, metric, anchors, before, xy, max_anchors, seed, anchor, max_margin, title, height."""
        from .components_view import shown_features
        from .triplet_space import TripletSpace

        if self.points is not None and len(self.points) == len(self.features):
            kwargs.setdefault("xy", self.points)
        kwargs.setdefault("metric", self._metric)
        return TripletSpace(shown_features(self), margin=margin, **kwargs)
