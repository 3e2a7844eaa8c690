"""Principal-component probing of an EmbeddingExplorer: scree chart, extremes per component, walk, correlations.

``ex.components(n=10)`` returns a :class:`ComponentsProbe`. It holds the math results (plain numbers and index
arrays, see :mod:`nbviz.kernels.components`) and, when displayed, a view: :class:`ComponentsView` (the
``components_view`` bundle, one anywidget view) with one column per component, a slider walking along a component
and a correlation heatmap; ``probe.scree_figure()`` adds a bqplot scree chart for Jupyter dashboards. Clicks
there write the explorer's public traits (``points``, ``focus``) and call its public ``color_by``; the explorer
itself is not changed in any other way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets as t

from ..checks import as_numpy
from ..colors import FOCUS, SERIES
from ..data import Features
from ..export import export_font, fit_text, stacked, text_panel, to_png
from ..kernels import images as image_kernels
from ..kernels.component_stats import component_correlations
from ..kernels.components import Components, extremes, principal_components, walk
from ..kernels.progress_steps import Report, Steps
from .base import Array, CompositeOutput, NbvizWidget, TraitValueError, check_number, request_indices
from .explorer_colors import COLUMN_PREFIX

#: Pixel size of the images shown in the columns and the walk.
IMAGE_PX = 64


def shown_features(source: Any) -> Features:
    """The feature set an explorer shows now (the one at ``layout_index`` in a sweep), or ``source`` as Features."""
    if isinstance(source, Features):
        return source
    features = getattr(source, "features", None)
    if features is None:
        return Features(as_numpy(source, "source"))
    shown = source.shown_features
    if shown is not features:
        return Features(shown.embeddings, labels=features.labels, metadata=features.metadata) \
            if shown.labels is None and features.labels is not None else shown
    return features


def item_text(features: Features, i: int) -> str:
    """What stands for item ``i`` when there are no images: its label, else its metadata, else its index."""
    if features.labels is not None:
        return str(features.labels[i])
    if features.metadata is not None:
        return ", ".join(f"{k}={v}" for k, v in features.metadata.iloc[i].items())
    return f"#{i}"


class ComponentsView(NbvizWidget):
    """Front end of a probe: columns of extremes, a walk along one component, a correlation heatmap.

    Traits are set by :class:`ComponentsProbe`; ``active``, ``walk_component``, ``walk_step`` and ``corr_cell``
    are set by either side (the browser writes them on clicks and slider moves).
    """

    _bundle = "components_view"
    _picture_traits = ("columns", "title", "summary")

    title = t.Unicode("").tag(sync=True)
    #: One dict per component: index, title ("PC1 · 23.4%"), percent, low, high (indices), low_text, high_text.
    columns = t.List(t.Dict()).tag(sync=True)
    has_images = t.Bool(False).tag(sync=True)
    image_size = t.Int(IMAGE_PX).tag(sync=True)
    #: The two components shown as the explorer's axes, [i, j]; [] before any click.
    active = t.List(t.Int()).tag(sync=True)
    walk_component = t.Int(0).tag(sync=True)
    walk_step = t.Int(0).tag(sync=True)
    walk_steps = t.Int(9).tag(sync=True)
    walk_positions = t.List(t.Float()).tag(sync=True)
    #: Items nearest to the current walk position (nearest first) and their text.
    walk_indices = t.List(t.Int()).tag(sync=True)
    walk_text = t.List(t.Unicode()).tag(sync=True)
    correlations = Array(help="(n_components, C) float32 correlations; NaN where undefined")
    corr_columns = t.List(t.Unicode()).tag(sync=True)
    corr_kinds = t.List(t.Unicode()).tag(sync=True)
    #: The heatmap cell last clicked, [component, column]; [] for none.
    corr_cell = t.List(t.Int()).tag(sync=True)
    #: The item last clicked in a column, the walk or a table (the explorer focuses it); -1 for none.
    picked = t.Int(-1).tag(sync=True)
    #: Free-form rows of a summary table: [{"name": ..., "value": ...}] (faithfulness, shift per component).
    summary = t.List(t.Dict()).tag(sync=True)
    #: Long work for this view (past 0.5 s): the fraction done, -1 when idle; and what it does now.
    progress = t.Float(-1.0).tag(sync=True)
    status = t.Unicode("").tag(sync=True)

    def __init__(self, features: Features, **kwargs: Any) -> None:
        self._features = features
        super().__init__(has_images=bool(features.n_images), **kwargs)

    def show_progress(self, fraction: float, status: str) -> None:
        """The progress state (a :data:`nbviz.kernels.progress_steps.Report`): (-1.0, "") is idle."""
        with self.hold_sync():
            self.progress, self.status = float(fraction), status

    # -- what the browser may set ---------------------------------------------------------------------------
    def _components(self) -> set[int]:
        return {0} | {c.get("index", 0) for c in self.columns}

    @t.validate("active", "corr_cell", "walk_component", "walk_step", "picked")
    def _check_pick(self, proposal: dict) -> Any:
        name, value = proposal["trait"].name, proposal["value"]
        comps = sorted(self._components())
        ok = {"active": lambda v: v == [] or len(v) == 2 and all(c in comps for c in v),
              "corr_cell": lambda v: v == [] or len(v) == 2 and v[0] in comps and 0 <= v[1] < len(self.corr_columns),
              "walk_component": lambda v: v in comps,
              "walk_step": lambda v: 0 <= v < max(self.walk_steps, 1),
              "picked": lambda v: -1 <= v < len(self._features)}[name]
        if not ok(value):
            expected = {"active": f"[] or two component indices among {comps}",
                        "corr_cell": f"[] or [component among {comps}, column in 0..{len(self.corr_columns) - 1}]",
                        "walk_component": f"a component index among {comps}",
                        "walk_step": f"a step in 0..{max(self.walk_steps, 1) - 1}",
                        "picked": f"-1 (none) or an item index in 0..{len(self._features) - 1}"}[name]
            raise TraitValueError(f"{name} must be {expected}, got {value!r}")
        return value

    def _request_handlers(self) -> dict:
        return {"images": self._reply_images}

    def _reply_images(self, content: dict) -> tuple[dict, list]:
        indices = request_indices(content, "indices", len(self._features))
        size = check_number(content.get("size", self.image_size), "request field 'size'", low=4, high=512,
                            integer=True)
        return {"indices": indices}, [image_kernels.encode_png(self._features.image(i), size) for i in indices]

    def _static_png(self) -> bytes | None:
        parts = []
        if any(c.get("percent", 0) > 0 for c in self.columns):
            parts.append(scree_picture([c["percent"] for c in self.columns], self.title or "principal components",
                                       [c.get("title", "") for c in self.columns]))
        lines = ([] if parts or not self.title else [self.title]) + \
            [f"{row.get('name', '')}: {row.get('value', '')}" for row in self.summary]
        if lines:
            parts.append(text_panel(lines, 480))
        return to_png(stacked(parts)) if parts else None


def scree_picture(percent: list[float], title: str, names: list[str] | None = None, width: int = 480,
                  height: int = 200) -> np.ndarray:
    """RGBA scree chart (Pillow, cheap for every redraw): bars of % variance per component, the cumulative %
    as a line, ``names`` under the bars when they fit."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = export_font(11)
    draw.text((8, 4), fit_text(draw, title, width - 16, font), fill=(30, 30, 30, 255), font=font)
    left, top, bottom = 36, 24, height - 20
    span = (width - left - 8) / max(len(percent), 1)
    y = lambda v: bottom - (bottom - top) * min(max(v, 0.0), 100.0) / 100  # noqa: E731
    for tick in (0, 50, 100):
        draw.line((left - 3, y(tick), width - 8, y(tick)), fill=(225, 225, 225, 255))
        draw.text((left - 6, y(tick)), f"{tick}%", fill=(90, 90, 90, 255), font=font, anchor="rm")
    total, line = 0.0, []
    for k, p in enumerate(percent):
        x0 = left + k * span
        draw.rectangle((x0 + span * 0.15, y(p), x0 + span * 0.85, bottom), fill=(76, 120, 168, 255))
        total += p
        line.append((x0 + span / 2, y(total)))
        label = (names[k].split(" ")[0] if names and names[k] else f"PC{k + 1}")
        if draw.textlength(label, font=font) < span:
            draw.text((x0 + span / 2, bottom + 3), label, fill=(60, 60, 60, 255), font=font, anchor="mt")
    draw.line(line, fill=(228, 87, 86, 255), width=2)
    for cx, cy in line:
        draw.ellipse((cx - 2.5, cy - 2.5, cx + 2.5, cy + 2.5), fill=(228, 87, 86, 255))
    return np.asarray(img)


def scree_figure(percent: np.ndarray, on_click: Any) -> Any:
    """A bqplot scree chart: bars of % variance per component and the cumulative % as a line.

    ``on_click(i)`` is called with the component index when a bar is clicked (selected).
    """
    # Names, not bq.X: pyright takes some of bqplot's star-imported names for modules.
    from bqplot import Axis, Bars, Figure, LinearScale, Lines, OrdinalScale, Tooltip

    x = np.arange(1, len(percent) + 1)
    sx, sy = OrdinalScale(), LinearScale(min=0.0, max=100.0)
    bars = Bars(x=x, y=percent, scales={"x": sx, "y": sy}, colors=[SERIES[0]], padding=0.2,
                interactions={"click": "select"}, selected_style={"fill": FOCUS},
                tooltip=Tooltip(fields=["x", "y"], labels=["PC", "% variance"], formats=["", ".1f"]))
    line = Lines(x=x, y=np.cumsum(percent), scales={"x": sx, "y": sy}, colors=[SERIES[1]], marker="circle",
                 labels=["cumulative %"])
    axes = [Axis(scale=sx, label="component"), Axis(scale=sy, side="left", label="% variance")]

    def selected(change: dict) -> None:
        sel = change["new"]
        if sel is not None and len(sel):
            on_click(int(sel[0]))

    bars.observe(selected, names="selected")
    fig = Figure(marks=[bars, line], axes=axes, title="Explained variance", fig_margin={
        "top": 40, "bottom": 40, "left": 50, "right": 10}, layout={"height": "260px", "width": "100%"})
    fig.add_class("nbviz-scree")
    return fig


def _explorer_report(explorer: Any) -> Report | None:
    """A report into the explorer's progress state (its public ``progress`` and ``status`` traits, which its view
    shows), unless it has work of its own under way (progress >= 0)."""
    if explorer is None or not hasattr(explorer, "progress") or explorer.progress >= 0:
        return None

    def report(fraction: float, status: str) -> None:
        with explorer.hold_sync():
            explorer.progress, explorer.status = float(fraction), status

    return report


class ComponentsProbe(CompositeOutput):
    """The first ``n`` principal components of what an EmbeddingExplorer shows, with a view to probe them.

    Parameters
    ----------
    explorer
        An :class:`~nbviz.EmbeddingExplorer` (its shown feature set is used), a :class:`~nbviz.Features` or an
        (N, D) array (then there is no scatter to drive).
    n
        Number of components, ``1 <= n <= min(N, D)``.
    m
        Items shown at each end of a component.
    fit_on
        Features (or an (M, D) array) to fit the components on instead; the explorer's items are then
        projected on them (fit on one dataset, apply to another).
    steps
        Positions of the walk along a component.
    **kwargs
        Passed to :func:`nbviz.kernels.components.principal_components` (solver, power_iterations, ...).

    Attributes
    ----------
    pca : Components
        Components, variances, mean and scores (of the explorer's items).
    """

    def __init__(self, explorer: Any, n: int = 10, *, m: int = 8, fit_on: Any = None, steps: int = 9,
                 **kwargs: Any) -> None:
        # An explorer is the one widget passed here (the others are data): tested by its base class, so this module
        # need not import the explorer's, which imports it.
        self.explorer: Any = explorer if isinstance(explorer, NbvizWidget) else None
        self.features = shown_features(explorer)
        steps = check_number(steps, "steps", low=2, high=1000, integer=True)
        base = self.features.embeddings if fit_on is None else \
            fit_on.embeddings if isinstance(fit_on, Features) else as_numpy(fit_on, "fit_on")
        if fit_on is not None and (base.ndim != 2 or base.shape[1] != self.features.dim):
            raise ValueError(f"fit_on must be (M, {self.features.dim}) features in the explorer's space, got "
                             f"shape {base.shape}")
        # Past 0.5 s: a tqdm bar, and the explorer's own progress line says what runs.
        with Steps(1 if fit_on is None else 2, "nbviz components", report=_explorer_report(self.explorer)) as work:
            work.step(f"PCA: {n} components of {base.shape[0]:,} x {base.shape[1]:,}")
            self.pca: Components = principal_components(base, n, **kwargs)
            if fit_on is None:
                scores = self.pca.scores
            else:
                work.step(f"projecting {len(self.features):,} items")
                scores = self.pca.transform(self.features.embeddings, "the explorer's features")
        self.scores = scores
        if not isinstance(m, (int, np.integer)) or not 1 <= m <= len(scores):
            raise ValueError(f"m must be an int from 1 to N = {len(scores)}, got {m!r}")
        self.m = int(m)
        self._steps = steps
        self._walks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._view: ComponentsView | None = None

    # -- numbers ---------------------------------------------------------------------------------------------
    @property
    def explained_variance_ratio(self) -> list[float]:
        """Share of the total variance along each component, as plain floats."""
        return [float(v) for v in self.pca.explained_variance_ratio]

    @property
    def n(self) -> int:
        return self.pca.n_components

    def extremes(self, i: int, m: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """(low_indices, high_indices): the ``m`` items at each end of component ``i`` (lowest / highest first)."""
        return extremes(self.scores, i, m)

    def walk(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions along component ``i`` and the items nearest each (steps, m)."""
        if i not in self._walks:
            self._walks[i] = walk(self.scores[:, : self.n], i, steps=self._steps, m=min(self.m, len(self.scores)))
        return self._walks[i]

    def correlations(self) -> tuple[np.ndarray, list[str], list[str]]:
        """Correlation of each component with each label (one-vs-rest) and numeric metadata column."""
        return component_correlations(self.scores, self.features.labels, self.features.metadata)

    # -- acting on the explorer ---------------------------------------------------------------------------
    def show_axes(self, i: int, j: int | None = None) -> None:
        """Draw the explorer's points at (PC i, PC j) (j defaults to the next component, or the previous)."""
        n = self.n
        if not isinstance(i, (int, np.integer)) or not 0 <= i < n:
            raise ValueError(f"i must be a component index in 0..{n - 1}, got {i!r}")
        if j is None:
            j = i + 1 if i + 1 < n else max(i - 1, 0)
        if not isinstance(j, (int, np.integer)) or not 0 <= j < n:
            raise ValueError(f"j must be a component index in 0..{n - 1}, got {j!r}")
        if self._view is not None and self._view.active != [int(i), int(j)]:
            self._view.active = [int(i), int(j)]
        if self.explorer is not None:
            self.explorer.points = np.ascontiguousarray(self.scores[:, [i, j]], dtype=np.float32)

    def color_by_cell(self, i: int, column: int) -> None:
        """Colour the explorer by the label or metadata column of heatmap column ``column`` (its selection and hidden
        classes stay) and show PC ``i`` with the next on its axes."""
        _, names, kinds = self.correlations()
        column = check_number(column, "column", low=0, high=len(names) - 1, integer=True)
        if self.explorer is not None:
            # "column:": a metadata column called e.g. "cluster" must not pick the built-in colouring.
            # Colouring only: the user's selection and hidden classes stay as they were.
            self.explorer.color_by("label" if kinds[column] == "label" else COLUMN_PREFIX + names[column])
        self.show_axes(i)

    # -- view ------------------------------------------------------------------------------------------------
    def _columns(self) -> list[dict]:
        cols = []
        for i, ratio in enumerate(self.explained_variance_ratio):
            low, high = self.extremes(i, self.m)
            cols.append({"index": i, "title": f"PC{i + 1} · {100 * ratio:.1f}%", "percent": 100 * ratio,
                         "low": low.tolist(), "high": high.tolist(),
                         "low_text": [item_text(self.features, int(k)) for k in low],
                         "high_text": [item_text(self.features, int(k)) for k in high]})
        return cols

    def view(self) -> ComponentsView:
        """The components view (one anywidget view: it renders in marimo and Colab as in Jupyter), made once."""
        if self._view is not None:
            return self._view
        view = ComponentsView(self.features, title=f"{self.n} principal components", columns=self._columns(),
                              walk_steps=int(self._steps))
        try:
            matrix, names, kinds = self.correlations()
        except ValueError:
            matrix, names, kinds = None, [], []
        with view.hold_sync():
            view.correlations = None if matrix is None else matrix.astype(np.float32)
            view.corr_columns, view.corr_kinds = names, kinds
        self._view = view
        view.observe(lambda c: self._on_active(c["new"]), names="active")
        view.observe(lambda c: self._on_walk(), names=["walk_component", "walk_step"])
        view.observe(lambda c: self._on_cell(c["new"]), names="corr_cell")
        view.observe(lambda c: self._on_picked(c["new"]), names="picked")
        self._on_walk(focus=False)
        return view

    def scree_figure(self) -> Any:
        """A bqplot scree chart for Jupyter dashboards (a companion: the view draws its own percentages); a click
        on a bar shows that component's axes in the explorer. Closed with the view."""
        fig = scree_figure(100 * np.asarray(self.explained_variance_ratio), self.show_axes)
        self.view().own(fig)
        return fig

    def _on_active(self, value: list[int]) -> None:
        if len(value) == 2:  # a failure undoes the change (NbvizWidget.notify_change) and is reported
            self.show_axes(*value)

    def _on_walk(self, focus: bool = True) -> None:
        view = self._view
        assert view is not None
        i = view.walk_component
        positions, idx = self.walk(i)
        step = int(np.clip(view.walk_step, 0, len(positions) - 1))
        items = [int(k) for k in idx[step]]
        with view.hold_sync():
            view.walk_positions = [float(p) for p in positions]
            view.walk_indices = items
            view.walk_text = [item_text(self.features, k) for k in items]
        if self.explorer is not None and focus:
            self.explorer.focus = items[0]

    def _on_picked(self, i: int) -> None:
        if self.explorer is not None and i >= 0:
            self.explorer.focus = int(i)

    def _on_cell(self, value: list[int]) -> None:
        if len(value) == 2:
            self.color_by_cell(*value)

    def close(self) -> None:
        """Close the probe's view (and scree charts made for it); the explorer stays."""
        if self._view is not None:
            self._view.close()
        self._view = None

    def __repr__(self) -> str:
        pct = ", ".join(f"{100 * r:.1f}%" for r in self.explained_variance_ratio[:5])
        return f"ComponentsProbe(n={self.n}, N={len(self.scores)}, variance=[{pct}{', ...' if self.n > 5 else ''}])"
