"""The bqplot metrics chart under a :class:`~nbviz.widgets.prob_map_player.ProbMapPlayer`'s maps.

:class:`ProbMapChart` is a mixin of the player: it draws one line per recorder and metric, a marker at the shown
epoch and invisible bars that turn a click into an epoch, and shows the chart with the map as one output. It reads
the player's traits (``epoch``, ``epochs``, ``run_names``, ``size``, ``playing``) and its ``_stored()`` frames; the
player makes the chart at the first recorded metric (see :func:`has_metrics`) and updates it from ``_sync_frames``.
Kept apart from the player so the widget file holds only its state and frame syncing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..colors import FOCUS
from ..kernels.recorder import Stored
from .base import WidgetMixin

if TYPE_CHECKING:
    from collections.abc import Callable

    import traitlets as t


def has_metrics(stored: list[Stored]) -> bool:
    """Whether any recorder was given a metric (``metric_epochs`` lists every record call, metric or not)."""
    return any(st.metrics for st in stored)


#: Line colours of the chart, in order (matplotlib's tab10, so series read as in matplotlib plots).
CHART_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf")


def chart_legend(labels: Sequence[str]) -> str:
    """The chart's legend as HTML (a swatch and the name per line, names escaped), beside the curves, never on them."""
    import html

    items = [f'<span style="margin-right:12px;white-space:nowrap"><span style="display:inline-block;width:14px;'
             f'height:3px;vertical-align:middle;margin-right:4px;background:{CHART_COLORS[k % len(CHART_COLORS)]}">'
             f'</span>{html.escape(label)}</span>' for k, label in enumerate(labels)]
    return f'<div class="nbviz-pm-chart-legend" style="font-size:12px">{"".join(items)}</div>'


def _pad(values: Sequence[float], width: int) -> np.ndarray:
    """Values padded to ``width`` by repeating the last (bqplot lines of one mark share a length)."""
    v = np.asarray(values, dtype=np.float64)
    return np.concatenate([v, np.full(width - len(v), v[-1])])


class ProbMapChart(WidgetMixin):
    """The metrics chart of :class:`~nbviz.widgets.prob_map_player.ProbMapPlayer` (a mixin: see the module)."""

    # What this mixin uses of the ProbMapPlayer (annotations only: the values are the widget's traits and state).
    epochs: t.List[int]
    run_names: t.List[str]
    size: t.Int[int, int]
    _chart: Any
    _stored: Callable[[], list[Stored]]

    @property
    def chart(self) -> Any:
        """The bqplot Figure of the recorded metrics shown under the map (None without ``chart=True`` or before
        a metric is recorded)."""
        return self._chart

    def _make_chart(self) -> Any:
        # Names, not bq.X: pyright takes some of bqplot's star-imported names for modules.
        from bqplot import Axis, Bars, Figure, LinearScale, Lines

        # The x scale is pinned to the recorded epochs: left free, the hit bars' widths would pad it far beyond.
        xs, ys, unit = LinearScale(min=0.0, max=1.0, allow_padding=False), LinearScale(), LinearScale(min=0.0, max=1.0)
        self._xs = xs
        # The legend is HTML under the chart (bqplot's own sits over the curves).
        self._lines = Lines(scales={"x": xs, "y": ys}, colors=list(CHART_COLORS), stroke_width=2)
        self._marker = Lines(x=[0, 0], y=[0, 1], scales={"x": xs, "y": unit}, colors=[FOCUS],
                             stroke_width=2)
        # Invisible full-height bars, one per recorded epoch: a click anywhere above an epoch jumps to it.
        self._hits = Bars(x=[0], y=[1], scales={"x": xs, "y": unit}, opacities=[0.0], padding=0.0,
                          interactions={"click": "select"}, selected_style={}, unselected_style={})
        self._hits.observe(self._on_chart_click, names="selected")
        fig = Figure(marks=[self._hits, self._lines, self._marker],
                     axes=[Axis(scale=xs, label="epoch", tick_format="d", label_offset="32px"),
                           Axis(scale=ys, side="left", tick_format=".3g", label="metric", label_offset="50px")],
                     fig_margin={"top": 10, "bottom": 42, "left": 64, "right": 14}, animation_duration=0)
        fig.layout.height = "180px"
        fig.layout.width = f"{max(self.size, 320)}px"
        import ipywidgets as w

        self._legend = w.HTML(layout=w.Layout(margin="0 0 0 64px"))
        self._chart_box = w.VBox([fig, self._legend])
        self.own(self._legend, self._chart_box)
        self.observe(lambda _c: self._move_marker(), names="epoch")
        self._update_chart(self._stored())
        return fig

    def _update_chart(self, stored: list[Stored]) -> None:
        # One line per recorder and metric; in compare mode labelled "name: metric".
        lines = [(f"{name}: {m}" if name else m, st.metric_epochs, st.metrics[m])
                 for name, st in zip(self.run_names, stored, strict=True) for m in sorted(st.metrics)]
        if lines:
            # At least 2 points: bqplot squeezes arrays, and (L, 1) would read as one line of L points.
            width = max(2, *(len(x) for _, x, _ in lines))
            with self._lines.hold_sync():
                self._lines.x = np.stack([_pad(x, width) for _, x, _ in lines])
                self._lines.y = np.stack([_pad(y, width) for _, _, y in lines])
                self._lines.labels = [label for label, _, _ in lines]
            self._legend.value = chart_legend([label for label, _, _ in lines])
        if self.epochs:
            with self._hits.hold_sync():
                self._hits.x = np.asarray(self.epochs, dtype=np.float64)
                self._hits.y = np.ones(len(self.epochs))
            with self._xs.hold_sync():
                self._xs.min, self._xs.max = float(min(self.epochs)), float(max(self.epochs))
        # One frame has no curve to draw: the chart waits for a second one.
        shown = None if len(self.epochs) > 1 else "none"
        self._chart_box.layout.display = shown
        self._move_marker()

    def _move_marker(self) -> None:
        self._marker.x = [self.epoch, self.epoch]

    def _on_chart_click(self, change: dict) -> None:
        sel = change["new"]
        if sel is None or len(sel) == 0:
            return
        i = int(sel[0])
        if 0 <= i < len(self.epochs):
            with self.reporting_errors():
                self.playing = False
                self.epoch = self.epochs[i]
        self._hits.selected = None

    def _view_bundle(self, **kwargs: Any) -> tuple[dict, dict] | None:
        # The map and the chart under it show as one output; the text stays the player's own.
        bundle = super()._view_bundle(**kwargs)
        if bundle is None or self._chart is None or not has_metrics(self._stored()):
            return bundle
        import ipywidgets as w

        box = getattr(self, "_box", None)
        if box is None:
            box = self._box = w.VBox([self, self._chart_box])
            self.own(box)
        box_bundle = box._repr_mimebundle_(**kwargs)
        key = "application/vnd.jupyter.widget-view+json"
        box_data = box_bundle[0] if isinstance(box_bundle, tuple) else box_bundle
        if not box_data or key not in box_data:
            return bundle
        data, metadata = bundle
        return {**data, key: box_data[key]}, metadata


__all__ = ["ProbMapChart", "has_metrics"]
