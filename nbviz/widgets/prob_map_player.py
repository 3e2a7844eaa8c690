"""ProbMapPlayer: plays back the class-probability maps of :class:`~nbviz.kernels.probmap.ProbMapRecorder` s.

Frames travel once, as binary uint8, in custom messages (``{"type": "frames", "run", "start", "count"}`` + one
buffer per map and per prediction array): pushed as they are stored, so a player shown before the training loop
plays along, and pulled by a view that opens later (request ``frames``). ``run`` is the recorder's panel (always 0
with one recorder; compare mode shows several recorders on one domain, side by side under one slider). Everything
else (mode, interpolation, colour scales, overlays) is done in the browser from the traits below, so switching
views never calls the model again. Traits follow ``js/src/prob_map_player/protocol.ts``; both sides change together.

A recorder that evaluates in the background calls the player from its worker thread: a lock keeps each update
whole, and ipykernel sends comm messages from any thread (it hands them to its IOPub thread), so frames reach the
view while the training loop holds the kernel's main thread.
"""

from __future__ import annotations

import math
import shutil
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import traitlets as t

from ..colors import categorical_palette, colormap_lut
from ..data import code_dtype
from ..export import colorbar_panel, legend_panel, side_by_side, stacked, text_panel, to_png
from ..files import check_target, write_atomic
from ..kernels.probmap import (
    BOUNDARY_LOW,
    INTERPOLATIONS,
    MODES,
    REGION_LOW,
    ProbMapRecorder,
    Stored,
    class_luts,
    colorize,
    flip_mask,
    frame_at,
    interpolate,
    timeline,
)
from .arrays import array_to_json
from .base import Array, NbvizWidget, call_at_cell_end, check_number, request_index, validate_number
from .html_page import HtmlPage

#: Largest reply to a ``frames`` request; a view asks again for the rest.
REPLY_BYTES = 8 * 2**20
#: The recorded frames are also kept in the ``stored_frames`` trait (what a saved notebook, an HTML export or a view
#: without a kernel paints from). Re-sending that trait sends every frame, so it is re-sent when their number has
#: doubled and PERSIST_S after the last new frame (longer for big recordings: PERSIST_S per PERSIST_BYTES); the
#: frames in between reach open views as pushes.
PERSIST_S, PERSIST_BYTES = 2.0, 32 * 2**20
EXPORT_SUFFIXES = (".gif", ".mp4", ".png", ".html")
#: Transparent pixels between the panels of a compare-mode PNG.
PANEL_GAP = 8


def _runs(rec: Any) -> tuple[list[str], list[ProbMapRecorder]]:
    """Panel names and recorders: one recorder (name ""), or a dict / list of them to compare."""
    if isinstance(rec, ProbMapRecorder):
        return [""], [rec]
    if isinstance(rec, dict):
        names, recs = [str(k) for k in rec], list(rec.values())
    elif isinstance(rec, (list, tuple)):
        names, recs = [f"run {k}" for k in range(len(rec))], list(rec)
    else:
        raise TypeError(f"rec must be a nbviz.ProbMapRecorder, or a dict / list of them to compare, "
                        f"got {type(rec).__name__}")
    if not recs:
        raise ValueError("rec must hold at least one nbviz.ProbMapRecorder to compare, got an empty "
                         f"{type(rec).__name__}")
    for name, r in zip(names, recs, strict=True):
        if not isinstance(r, ProbMapRecorder):
            raise TypeError(f"rec[{name!r}] must be a nbviz.ProbMapRecorder, got {type(r).__name__}")
    if len(set(names)) != len(names):
        raise ValueError(f"rec's keys must give distinct names, got {names}")
    return names, recs


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None) == (b is None) and (a is None or (a.shape == b.shape and np.array_equal(a, b)))


def _check_domain(names: list[str], recs: list[ProbMapRecorder]) -> None:
    """Compare mode: every recorder maps the grid of the first, over the same points and classes."""
    ref = recs[0]
    for name, r in zip(names[1:], recs[1:], strict=True):
        diffs = []
        if r.shape != ref.shape:
            diffs.append(f"grid {r.shape[0]} x {r.shape[1]}, not {ref.shape[0]} x {ref.shape[1]}")
        elif (r.xlim, r.ylim) != (ref.xlim, ref.ylim):
            diffs.append(f"xlim {r.xlim} / ylim {r.ylim}, not {ref.xlim} / {ref.ylim}")
        elif not np.array_equal(r.grid_inputs, ref.grid_inputs):
            diffs.append("another plane through the input space")
        for what, a, b in (("training points X", r.X, ref.X), ("labels y", r.y, ref.y),
                           ("test points X_test", r.X_test, ref.X_test), ("test labels y_test", r.y_test, ref.y_test)):
            if not _same(a, b):
                diffs.append(f"other {what}")
        if r.class_names and ref.class_names and r.class_names != ref.class_names:
            diffs.append(f"class names {r.class_names}, not {ref.class_names}")
        if diffs:
            raise ValueError(f"rec[{name!r}] does not share the domain of rec[{names[0]!r}]: {'; '.join(diffs)}. "
                             "Compare needs recorders made with the same X, y, plane, grid and limits")


def _check_fps(fps: Any) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)) or not 0 < fps < math.inf:
        raise ValueError(f"fps must be a number > 0 (playback frames per second), got {fps!r}")
    return float(fps)


def _wire_codes(codes: np.ndarray | None) -> np.ndarray | None:
    """The recorder's class codes (already coded by :func:`nbviz.data.encode_labels`) in the browser's dtype."""
    return None if codes is None else codes.astype(code_dtype(int(codes.max(initial=0)) + 1))


def _has_metrics(stored: list[Stored]) -> bool:
    """Whether any recorder was given a metric (``metric_epochs`` lists every record call, metric or not)."""
    return any(st.metrics for st in stored)


def _pad(values: Sequence[float], width: int) -> np.ndarray:
    """Values padded to ``width`` by repeating the last (bqplot lines of one mark share a length)."""
    v = np.asarray(values, dtype=np.float64)
    return np.concatenate([v, np.full(width - len(v), v[-1])])


class ProbMapPlayer(NbvizWidget):
    """Play back class-probability maps recorded during training: scrub, play, switch views, compare, export.

    Parameters
    ----------
    rec
        The :class:`~nbviz.ProbMapRecorder`, or several to compare: a dict ``{name: recorder}`` or a list (panels
        named "run 0", "run 1", ...), all made on the same domain (same X, y, plane, grid and limits) with the same
        classes. Each recorder gets a map; one slider runs over the union of their epochs and each map shows its
        last frame at or before the slider's epoch, blended towards its next. Recorders may still be empty:
        frames then appear as they are recorded.
    mode
        "region" (one hue per class, brightness by its probability), "boundary" (dark where the top two classes
        are close, with a crisp boundary line), "class" (the probability of ``target_class``), "entropy".
    interpolation
        Blended frames shown between two recorded ones (0: none); blending is done in the browser.
    interpolation_type
        "linear" or "geometric" blend of the probabilities.
    classes
        Class names (default: those of the recorder, else "0", "1", ...). Rendered as text.
    class_colormap, entropy_colormap
        matplotlib colormap names for the "class" and "entropy" modes.
    size
        Width of each map in CSS pixels.
    chart
        Show the bqplot metrics chart under the maps (when the recorders have metrics), one line per recorder and
        metric.
    """

    _bundle = "prob_map_player"
    _picture_traits = ("epoch", "n_frames", "n_classes", "mode", "target_class", "interpolation_type",
                       "boundary_line", "show_train", "show_flips")

    n_frames = t.Int(0).tag(sync=True)
    grid_shape = t.List(t.Int(), default_value=[0, 0]).tag(sync=True)
    n_classes = t.Int(0).tag(sync=True)
    epochs = t.List(t.Int()).tag(sync=True)
    run_names = t.List(t.Unicode(), default_value=[""]).tag(sync=True)
    run_epochs = t.List(t.List(t.Int()), default_value=[[]]).tag(sync=True)
    epoch = t.Int(0).tag(sync=True)
    playing = t.Bool(False).tag(sync=True)
    fps = t.Float(10.0).tag(sync=True)
    loop = t.Bool(True).tag(sync=True)

    mode = t.Enum(list(MODES), default_value="region").tag(sync=True)
    interpolation = t.Int(4).tag(sync=True)
    interpolation_type = t.Enum(list(INTERPOLATIONS), default_value="linear").tag(sync=True)
    target_class = t.Int(0).tag(sync=True)
    boundary_line = t.Bool(True).tag(sync=True)
    show_train = t.Bool(True).tag(sync=True)
    show_test = t.Bool(True).tag(sync=True)
    show_flips = t.Bool(False).tag(sync=True)
    size = t.Int(420).tag(sync=True)

    class_names = t.List(t.Unicode()).tag(sync=True)
    palette = Array(help="(C, 4) uint8 RGBA class colours")
    region_luts = Array(help="(C, 256, 4) uint8: region scale per class")
    boundary_luts = Array(help="(C, 256, 4) uint8: boundary scale per class")
    class_lut = Array(help="(256, 4) uint8: 'class' mode scale")
    entropy_lut = Array(help="(256, 4) uint8: 'entropy' mode scale")

    xlim = t.List(t.Float()).tag(sync=True)
    ylim = t.List(t.Float()).tag(sync=True)
    points = Array(help="(N, 2) float32 training points in plane coordinates")
    point_classes = Array(help="(N,) uint8/uint16 labels, or None")
    test_points = Array(help="(M, 2) float32 test points, or None")
    test_classes = Array(help="(M,) uint8/uint16 test labels, or None")

    status = t.Unicode("").tag(sync=True)
    stored_frames = t.List(t.Dict(), help="per recorder, its frames as one frames message (protocol.ts) whose "
                           "buffers travel in the state: the persisted copy the view paints from without a kernel"
                           ).tag(sync=True)

    _check_size = validate_number("size", low=64, high=4096)

    def __init__(
        self,
        rec: ProbMapRecorder | dict[Any, ProbMapRecorder] | Sequence[ProbMapRecorder],
        mode: str = "region",
        interpolation: int = 4,
        interpolation_type: str = "linear",
        classes: Sequence[str] | None = None,
        *,
        class_colormap: str = "viridis",
        entropy_colormap: str = "magma",
        size: int = 420,
        fps: float = 10.0,
        chart: bool = True,
        **kwargs: Any,
    ) -> None:
        names, recs = _runs(rec)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if interpolation_type not in INTERPOLATIONS:
            raise ValueError(f"interpolation_type must be one of {INTERPOLATIONS}, got {interpolation_type!r}")
        timeline([], interpolation)  # validates interpolation
        if not isinstance(size, (int, np.integer)) or size < 64:
            raise ValueError(f"size must be an int of at least 64 CSS pixels, got {size!r}")
        _check_fps(fps)
        _check_domain(names, recs)
        self.recs, self.rec = recs, recs[0]  # rec: the shared domain (the only recorder outside compare mode)
        self._classes = None if classes is None else [str(c) for c in classes]
        self._cmaps = (colormap_lut(class_colormap, param="class_colormap"),
                       colormap_lut(entropy_colormap, param="entropy_colormap"))
        self._lock = threading.RLock()
        self._sent = [0] * len(recs)
        self._persisted, self._persist_timer = 0, None
        self._latest: int | None = None  # the newest epoch the view was moved to
        self._chart, self._chart_wanted = None, chart
        rec0 = recs[0]
        super().__init__(
            mode=mode, interpolation=int(interpolation), interpolation_type=interpolation_type, size=int(size),
            fps=float(fps), grid_shape=list(rec0.shape), xlim=list(rec0.xlim), ylim=list(rec0.ylim),
            points=rec0.points.astype(np.float32), point_classes=_wire_codes(rec0.y),
            test_points=None if rec0.test_points is None else rec0.test_points.astype(np.float32),
            test_classes=_wire_codes(rec0.y_test), run_names=names, run_epochs=[[] for _ in recs], **kwargs,
        )
        # A weak reference: a recorder kept by a training script must not keep closed players alive. Listening
        # starts before the first sync, so no frame stored in between is missed.
        ref = weakref.ref(self)

        def on_record(_rec: ProbMapRecorder) -> None:
            player = ref()
            if player is None:
                _rec.remove_listener(on_record)
            else:
                with player.reporting_errors():  # a failing view must not stop the recording
                    player._sync_frames()

        self._listener = on_record
        for r in recs:
            r.add_listener(on_record)
        self._sync_frames(initial=True)

    @t.validate("fps")
    def _valid_fps(self, proposal: dict) -> float:
        try:
            return _check_fps(proposal["value"])
        except ValueError as exc:
            raise t.TraitError(str(exc)) from None

    # -- frames -----------------------------------------------------------------------------------------
    def _stored(self) -> list[Stored]:
        return [r.stored() for r in self.recs]

    def _sync_frames(self, initial: bool = False) -> None:
        """Bring traits up to date with what the recorders have stored, push the frames no view has been
        sent yet and keep ``stored_frames`` (see PERSIST_S). Frames still queued in a recorder's worker come later,
        through the listener."""
        with self._lock:
            stored = self._stored()
            self._check_classes(stored)
            total = sum(len(st.frames) for st in stored)
            if initial and total:
                self._persist(stored)  # frames stored before the player was made go in its first state only
            union = sorted(set().union(*(st.epochs for st in stored)))
            with self.hold_sync():
                self.run_epochs = [list(st.epochs) for st in stored]
                self.epochs = union
                self.n_frames = sum(len(st.frames) for st in stored)
                if union and (self._latest is None or self.epoch == self._latest):
                    # Follow the newest frame while the user watches the latest one.
                    self.epoch = self._latest = union[-1]
                self.status = "" if union else "waiting for the first recorded epoch"
                failed = [f"{name + ': ' if name else ''}recording failed: {st.error}"
                          for name, st in zip(self.run_names, stored, strict=True) if st.error]
                if failed:
                    self.error = "; ".join(failed)
            for run, st in enumerate(stored):
                if len(st.frames) > self._sent[run]:
                    content, buffers = self._frame_message(self._sent[run], len(st.frames), run, st)
                    self.send({"type": "frames", **content}, buffers)
                    self._sent[run] = len(st.frames)
            if total >= 2 * self._persisted and total > self._persisted:
                self._persist(stored)
            elif total > self._persisted:
                self._schedule_persist(stored)
            if self._chart is not None:
                self._update_chart(stored)
            elif self._chart_wanted and _has_metrics(stored):
                # Made at the first metric: bqplot widgets nobody shows would still be in the saved widget
                # state, and an HTML export would fetch bqplot's front end from the CDN for them.
                self._chart = self._make_chart()
                self.own(self._chart)

    def _persist(self, stored: list[Stored]) -> None:
        """Every stored frame into ``stored_frames`` (open views take the ones they lack from it)."""
        entries = []
        for run, st in enumerate(stored):
            content, buffers = self._frame_message(0, len(st.frames), run, st)
            entries.append({"type": "frames", **content, "buffers": buffers})
        self.stored_frames = entries
        self._sent = [len(st.frames) for st in stored]
        self._persisted = sum(self._sent)

    def _schedule_persist(self, stored: list[Stored]) -> None:
        nbytes = sum(f.nbytes for st in stored for f in st.frames)
        if self._persist_timer is not None:
            self._persist_timer.cancel()
        self._persist_timer = threading.Timer(PERSIST_S * max(1.0, nbytes / PERSIST_BYTES), self._persist_pending)
        self._persist_timer.daemon = True
        self._persist_timer.start()
        call_at_cell_end(self)

    def _persist_pending(self) -> None:
        with self._lock:
            timer, self._persist_timer = self._persist_timer, None
            if timer is not None:
                timer.cancel()
            stored = self._stored()
            if sum(len(st.frames) for st in stored) > self._persisted:
                with self.reporting_errors():
                    self._persist(stored)

    def _cell_ended(self) -> None:
        if self._persist_timer is not None:
            self._persist_pending()
        super()._cell_ended()

    def _check_classes(self, stored: list[Stored]) -> None:
        known = [(name, st.n_classes) for name, st in zip(self.run_names, stored, strict=True) if st.n_classes]
        for name, c in known[1:]:
            if c != known[0][1]:
                raise ValueError(f"rec[{name!r}] outputs {c} classes and rec[{known[0][0]!r}] {known[0][1]}: "
                                 "compared recorders need the same classes")
        if known and not self.n_classes:
            self._set_colours(known[0][1])

    def _set_colours(self, c: int) -> None:
        names = self._classes or self.rec.class_names or [str(i) for i in range(c)]
        if len(names) != c:
            raise ValueError(f"classes must name the {c} classes of the model, got {len(names)} names")
        palette = categorical_palette(c)
        with self.hold_sync():
            self.class_names = list(names)
            self.palette = palette
            self.region_luts = class_luts(palette, REGION_LOW)
            self.boundary_luts = class_luts(palette, BOUNDARY_LOW)
            self.class_lut, self.entropy_lut = self._cmaps
            self.n_classes = c

    def _frame_message(self, start: int, stop: int, run: int = 0, st: Stored | None = None) -> tuple[dict, list]:
        st = st or self.recs[run].stored()
        buffers: list = []
        map_chunks = 1
        for i in range(start, stop):
            # A map in chunks of at most CHUNK_BYTES (arrays.py's rule): a big grid stays under message limits.
            chunks = array_to_json(st.frames[i])["chunks"]
            map_chunks = len(chunks)
            buffers += chunks
            buffers.append(memoryview(st.point_preds[i]).cast("B"))
            if st.test_preds:
                buffers.append(memoryview(st.test_preds[i]).cast("B"))
        pred_dtype = st.point_preds[start].dtype.name if stop > start else "uint8"
        return {"run": run, "start": start, "count": stop - start, "pred_dtype": pred_dtype,
                "map_chunks": map_chunks}, buffers

    def _request_handlers(self) -> dict:
        return {"frames": self._reply_frames}

    def _reply_frames(self, content: dict) -> tuple[dict, list]:
        run = request_index(content, "run", len(self.recs), default=0)
        st = self.recs[run].stored()
        start = request_index(content, "start", len(st.frames) + 1, default=0)  # == len: nothing new yet
        per = max(self.rec.cells * (st.n_classes or 1), 1)
        stop = min(len(st.frames), start + max(1, REPLY_BYTES // per))
        return self._frame_message(start, stop, run, st)

    @t.validate("epoch")
    def _check_epoch(self, proposal: dict) -> int:
        e = int(proposal["value"])
        if not self.epochs or self.epochs[0] <= e <= self.epochs[-1]:
            return e
        if any(r.pending for r in self.recs):  # the epoch may be queued in a worker: wait for it
            for r in self.recs:
                r.wait()
            if self.epochs[0] <= e <= self.epochs[-1]:
                return e
        raise t.TraitError(f"epoch must be in {self.epochs[0]}..{self.epochs[-1]} (recorded), got {e}")

    @t.validate("target_class")
    def _check_target(self, proposal: dict) -> int:
        k = int(proposal["value"])
        if self.n_classes and not 0 <= k < self.n_classes:
            raise t.TraitError(f"target_class must be a class index in 0..{self.n_classes - 1}, got {k}")
        return k

    @t.validate("interpolation")
    def _check_interpolation(self, proposal: dict) -> int:
        try:
            timeline([], proposal["value"])
            # Blended frames per step: more than a few hundred only makes exports huge.
            return check_number(proposal["value"], "interpolation", low=0, high=240, integer=True)
        except ValueError as exc:
            raise t.TraitError(str(exc)) from None

    # -- metrics chart (bqplot) ---------------------------------------------------------------------------
    @property
    def chart(self) -> Any:
        """The bqplot Figure of the recorded metrics shown under the map (None without ``chart=True`` or before
        a metric is recorded)."""
        return self._chart

    def _make_chart(self) -> Any:
        import bqplot as bq

        xs, ys, unit = bq.LinearScale(), bq.LinearScale(), bq.LinearScale(min=0.0, max=1.0)
        self._lines = bq.Lines(scales={"x": xs, "y": ys}, display_legend=True, stroke_width=2)
        self._marker = bq.Lines(x=[0, 0], y=[0, 1], scales={"x": xs, "y": unit}, colors=["#e6007e"],
                                stroke_width=2)
        # Invisible full-height bars, one per recorded epoch: a click anywhere above an epoch jumps to it.
        self._hits = bq.Bars(x=[0], y=[1], scales={"x": xs, "y": unit}, opacities=[0.0], padding=0.0,
                             interactions={"click": "select"}, selected_style={}, unselected_style={})
        self._hits.observe(self._on_chart_click, names="selected")
        fig = bq.Figure(marks=[self._hits, self._lines, self._marker],
                        axes=[bq.Axis(scale=xs, label="epoch", tick_format="d"),
                              bq.Axis(scale=ys, side="left", tick_format=".3g", label="metric")],
                        fig_margin={"top": 10, "bottom": 40, "left": 50, "right": 10},
                        legend_location="top-right", animation_duration=0)
        fig.layout.height = "180px"
        fig.layout.width = f"{max(self.size, 320)}px"
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
        if self.epochs:
            with self._hits.hold_sync():
                self._hits.x = np.asarray(self.epochs, dtype=np.float64)
                self._hits.y = np.ones(len(self.epochs))
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
        if bundle is None or self._chart is None or not _has_metrics(self._stored()):
            return bundle
        import ipywidgets as w

        box = getattr(self, "_box", None)
        if box is None:
            box = self._box = w.VBox([self, self._chart])
            self.own(box)
        box_bundle = box._repr_mimebundle_(**kwargs)
        key = "application/vnd.jupyter.widget-view+json"
        box_data = box_bundle[0] if isinstance(box_bundle, tuple) else box_bundle
        if not box_data or key not in box_data:
            return bundle
        data, metadata = bundle
        return {**data, key: box_data[key]}, metadata

    # -- static pictures and export -----------------------------------------------------------------------
    def _luts(self) -> dict[str, np.ndarray]:
        return {"region": self.region_luts, "boundary": self.boundary_luts, "class": self.class_lut,
                "entropy": self.entropy_lut}

    def _require_frames(self) -> list[Stored]:
        """Every recorder's frames, once those still queued in a background worker are stored (which raises the
        worker's failure, if any); an error when a recorder has none."""
        stored = [r.wait().stored() for r in self.recs]
        for name, st in zip(self.run_names, stored, strict=True):
            if not st.frames:
                which = f"rec[{name!r}]" if name else "the recorder"
                raise ValueError(f"{which} has no frames yet: call rec.record(model, epoch) at least once")
        return stored

    def frame_index(self, epoch: int | None = None, run: int = 0) -> int:
        """Index of the recorded frame nearest to ``epoch`` (default: the shown epoch) in recorder ``run``."""
        epochs = self._require_frames()[self._check_run(run)].epochs
        e = self.epoch if epoch is None else check_number(epoch, "epoch")
        return int(np.abs(np.asarray(epochs) - e).argmin())

    def render_rgba(self, i: int, f: float = 0.0, mode: str | None = None, run: int = 0) -> np.ndarray:
        """The map of recorder ``run`` between its frames ``i`` and ``i + 1`` at blend ``f`` as RGBA, as the
        browser draws it."""
        st = self._require_frames()[self._check_run(run)]
        i = check_number(i, "i", low=0, high=len(st.frames) - 1, integer=True)
        f = check_number(f, "f", low=0, high=1)
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} (or None: the shown mode), got {mode!r}")
        return self._render(st, i, f, mode)

    def _check_run(self, run: Any) -> int:
        return check_number(run, "run", low=0, high=len(self.recs) - 1, integer=True)

    def _render(self, st: Stored, i: int, f: float = 0.0, mode: str | None = None) -> np.ndarray:
        frames = st.frames
        if f > 0 and i + 1 < len(frames):
            probs = interpolate(frames[i], frames[i + 1], f, self.interpolation_type)
        else:
            probs = frames[i].astype(np.float32) / 255.0
        img = colorize(probs, mode or self.mode, self._luts(), self.target_class, self.boundary_line)
        if self.show_flips and i > 0 and f == 0:
            img[flip_mask(frames[i].argmax(-1), frames[i - 1].argmax(-1))] = (230, 0, 126, 255)
        return img

    def to_png(self, width: int = 420) -> bytes:
        """PNG of the shown epoch with the training points, one map per recorder side by side (nearest-pixel
        upscale, no matplotlib). Waits for frames still queued in a recorder."""
        width = check_number(width, "width", low=1, high=10_000, integer=True)
        self._require_frames()
        return self._png(width)

    def _png(self, width: int) -> bytes:
        return to_png(self._maps_image(width))

    def _maps_image(self, width: int) -> np.ndarray:
        rows, cols = self.rec.shape
        height = max(1, round(width * rows / cols))
        yi = np.minimum(np.arange(height) * rows // height, rows - 1)
        xi = np.minimum(np.arange(width) * cols // width, cols - 1)
        panels = []
        for st in self._stored():
            if not st.frames or not self.n_classes:
                img = np.full((height, width, 4), 236, dtype=np.uint8)  # a placeholder until the first frame
                img[..., 3] = 255
            else:
                i, f = frame_at(st.epochs, self.epoch)
                img = self._render(st, i, f)[yi][:, xi].copy()
                if self.show_train and len(self.rec.points) <= 20000:
                    self._draw_points(img, st.point_preds[i + 1 if f >= 0.5 else i])
            panels += [img, np.zeros((height, PANEL_GAP, 4), dtype=np.uint8)]
        return np.concatenate(panels[:-1], axis=1)

    def _draw_points(self, img: np.ndarray, preds: np.ndarray) -> None:
        """Training points as discs in their class colour with a dark ring; misclassified ones hollow."""
        rec = self.rec
        h, w = img.shape[:2]
        px = np.rint((rec.points[:, 0] - rec.xlim[0]) / (rec.xlim[1] - rec.xlim[0]) * (w - 1)).astype(int)
        py = np.rint((rec.ylim[1] - rec.points[:, 1]) / (rec.ylim[1] - rec.ylim[0]) * (h - 1)).astype(int)
        codes = rec.y if rec.y is not None else preds.astype(np.int64)
        colours = self.palette[codes % len(self.palette)]
        wrong = preds != codes
        for dy in range(-3, 4):
            for dx in range(-3, 4):
                d2 = dx * dx + dy * dy
                if d2 > 10:
                    continue
                x, y = px + dx, py + dy
                ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
                if d2 > 4:
                    img[y[ok], x[ok]] = (0, 0, 0, 255)
                else:
                    fill = ok & ~wrong
                    img[y[fill], x[fill]] = colours[fill]

    def _static_png(self) -> bytes | None:
        # What is stored now: a notebook output must not wait for a recorder's queue. With the epoch shown and,
        # as the live view, the class legend (region / boundary) or the scale of the "class" / "entropy" mode.
        maps = self._maps_image(min(self.size, 480))
        height = max(maps.shape[0], 120)
        title = f"epoch {self.epoch}" if self.epochs else "no frames yet"
        if self.mode in ("class", "entropy") and self.n_classes:
            lut, what = ((self.class_lut, f"p({self.class_names[self.target_class]})") if self.mode == "class"
                         else (self.entropy_lut, "entropy"))
            key = colorbar_panel(lut, 0.0, 1.0, what, height)
            return to_png(side_by_side([maps, stacked([text_panel([title], key.shape[1]), key])]))
        return to_png(side_by_side([maps, legend_panel(list(self.class_names), self.palette, title, height)]))

    def save(
        self,
        path: str | Path,
        fps: float = 20,
        title: str | None = None,
        dpi: int = 100,
        *,
        epochs: Sequence[int] | None = None,
        figsize: tuple[float, float] | None = None,
        dark: bool = False,
        margin: float = 0.08,
        overwrite: bool = False,
    ) -> Path:
        """Export to ``.gif`` / ``.mp4`` (every playback step, with interpolation), ``.png`` (the shown epoch,
        or a small-multiples grid of ``epochs``: one row per recorder in compare mode) or ``.html`` (standalone,
        offline, the live player). In compare mode every frame shows the recorders side by side.

        GIF frame delays are ``1000 / fps`` ms rounded to the 10 ms GIF clock, at least 20 ms. MP4 needs ffmpeg.
        Frames still queued in a recorder's background worker are waited for.

        ``~`` is expanded and the folder must exist. An existing file is replaced only with ``overwrite=True``
        (FileExistsError otherwise); a symbolic link at ``path`` is always refused; the file appears complete
        or not at all (see :mod:`nbviz.files`). Returns the path written.
        """
        path = check_target(path, EXPORT_SUFFIXES, overwrite=overwrite)
        suffix = path.suffix.lower()
        if not (isinstance(fps, (int, float)) and 0 < fps <= 100):
            raise ValueError(f"fps must be a number in (0, 100], got {fps!r}")
        self._require_frames()
        if suffix == ".html":
            page = self.to_html(title=title)
            return write_atomic(path, lambda tmp: tmp.write_text(page, encoding="utf-8"), overwrite=overwrite)
        if suffix == ".mp4" and shutil.which("ffmpeg") is None:
            raise RuntimeError("saving .mp4 needs ffmpeg on PATH, which was not found; install ffmpeg "
                               "(e.g. conda install ffmpeg / apt install ffmpeg) or save a .gif instead")
        fig = _Figure(self, title=title, dpi=dpi, figsize=figsize, dark=dark, margin=margin)
        writers = {".png": lambda tmp: fig.save_png(tmp, epochs), ".gif": lambda tmp: fig.save_gif(tmp, fps),
                   ".mp4": lambda tmp: fig.save_mp4(tmp, fps)}
        return write_atomic(path, writers[suffix], overwrite=overwrite)

    def to_html(self, title: str | None = None) -> str:
        """A standalone offline HTML page running the live player on the recorded frames (no kernel): what
        ``save("x.html")`` writes."""
        stored = self._require_frames()
        page = HtmlPage(self, self._bundle)
        # The view asks each recorder (run) for its frames: every frame is the reply.
        page.reply_table("frames", "run", default=0)
        for run, st in enumerate(stored):
            content, buffers = self._frame_message(0, len(st.frames), run, st)
            page.add_reply("frames", [run], {"type": "frames", **content}, buffers)
        return page.html(title or "nbviz ProbMapPlayer")

    def close(self) -> None:
        timer = getattr(self, "_persist_timer", None)
        if timer is not None:
            timer.cancel()
        listener = getattr(self, "_listener", None)
        for rec in getattr(self, "recs", []):
            if listener is not None:
                rec.remove_listener(listener)
        super().close()


class _Figure:
    """One matplotlib figure (Agg, no pyplot) redrawn per exported frame: a map per recorder, the points, a title.
    Made after the recorders' queues are drained (``_require_frames``)."""

    def __init__(self, player: ProbMapPlayer, *, title: str | None, dpi: int, figsize: Any, dark: bool,
                 margin: float) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.p, self.rec, self.title, self.dark = player, player.rec, title, dark
        self.stored, self.names = player._stored(), list(player.run_names)
        n = len(self.stored)
        fg, bg = ("#e8e8e8", "#111111") if dark else ("#222222", "#ffffff")
        self.fg = fg
        self.fig = Figure(figsize=figsize or (5.0 * n, 5.0), dpi=dpi, facecolor=bg)
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=margin / n, right=1 - margin / n, bottom=margin, top=1 - margin * 1.2,
                                 wspace=0.15)
        self.axes = [self._axes(self.fig.add_subplot(1, n, k + 1)) for k in range(n)]
        self.images = [ax.imshow(player._render(st, 0), extent=(*self.rec.xlim, *self.rec.ylim), aspect="auto",
                                 interpolation="bilinear") for ax, st in zip(self.axes, self.stored, strict=True)]
        self.points = [self._scatter(ax) for ax in self.axes]
        if n == 1:
            self.label = self.axes[0].set_title("", color=fg)
        else:  # panel titles name the recorders; the epoch goes above them all
            for ax, name in zip(self.axes, self.names, strict=True):
                ax.set_title(name, color=fg, fontsize=9)
            self.label = self.fig.suptitle("", color=fg)

    def _axes(self, ax: Any) -> Any:
        ax.set_facecolor(self.fig.get_facecolor())
        ax.tick_params(colors=self.fg, labelsize=7)
        for spine in ax.spines.values():
            spine.set_color(self.fg)
        return ax

    def _scatter(self, ax: Any) -> Any:
        if not self.p.show_train:
            return None
        pts = self.rec.points
        return ax.scatter(pts[:, 0], pts[:, 1], s=14, linewidths=0.8, edgecolors="black")

    def _style_points(self, scatter: Any, preds: np.ndarray) -> None:
        if scatter is None:
            return
        rec, palette = self.rec, self.p.palette / 255.0
        codes = rec.y if rec.y is not None else preds.astype(np.int64)
        face = palette[codes % len(palette)].copy()
        face[preds != codes, 3] = 0.0  # misclassified: hollow
        scatter.set_facecolors(face)

    def _caption(self, epoch: float) -> str:
        text = f"epoch {epoch:g}" if float(epoch).is_integer() else f"epoch {epoch:.1f}"
        return f"{self.title}, {text}" if self.title else text

    def show(self, epoch: float) -> np.ndarray:
        """Draw every recorder at ``epoch`` (between recorded epochs: blended, as the browser does)."""
        for st, image, points in zip(self.stored, self.images, self.points, strict=True):
            i, f = frame_at(st.epochs, epoch)
            image.set_data(self.p._render(st, i, f))
            self._style_points(points, st.point_preds[i + 1 if f >= 0.5 else i])
        self.label.set_text(self._caption(epoch))
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())

    def steps(self) -> list[float]:
        """The epoch of every playback step over the union of the recorders' epochs."""
        return [e for _, _, e in timeline(self.p.epochs, self.p.interpolation)]

    def save_png(self, path: Path, epochs: Sequence[int] | None) -> None:
        if epochs is None:
            self.show(self.p.epoch)
            self.fig.savefig(path, facecolor=self.fig.get_facecolor())
            return
        if not len(epochs):
            raise ValueError("epochs must list at least one epoch for a small-multiples PNG")
        # One recorder: up to 4 maps a row. Compare mode: a row per recorder, a column per epoch.
        cells = [(run, e) for run in range(len(self.stored)) for e in epochs]
        cols = min(len(epochs), 4) if len(self.stored) == 1 else len(epochs)
        rows = -(-len(cells) // cols)
        w, h = self.fig.get_size_inches()
        w /= len(self.stored)
        self.fig.clear()
        self.fig.set_size_inches(w * cols / 2, h * rows / 2)
        for n, (run, e) in enumerate(cells):
            st = self.stored[run]
            i = int(np.abs(np.asarray(st.epochs) - e).argmin())  # the nearest recorded frame
            ax = self._axes(self.fig.add_subplot(rows, cols, n + 1))
            ax.imshow(self.p._render(st, i), extent=(*self.rec.xlim, *self.rec.ylim), aspect="auto")
            self._style_points(self._scatter(ax), st.point_preds[i])
            name = f"{self.names[run]}, " if self.names[run] else ""
            ax.set_title(f"{name}epoch {st.epochs[i]}", color=self.fg, fontsize=8)
        if self.title:
            self.fig.suptitle(self.title, color=self.fg)
        self.fig.savefig(path, facecolor=self.fig.get_facecolor())

    def save_gif(self, path: Path, fps: float) -> None:
        from PIL import Image

        # GIF delays count in 10 ms; below 20 ms browsers slow frames down to 100 ms.
        delay = max(20, int(round(100.0 / fps)) * 10)
        frames = [Image.fromarray(self.show(e)).convert("RGB") for e in self.steps()]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=delay, loop=0, optimize=False)

    def save_mp4(self, path: Path, fps: float) -> None:
        from matplotlib.animation import FFMpegWriter

        writer = FFMpegWriter(fps=fps)
        with writer.saving(self.fig, str(path), self.fig.dpi):
            for e in self.steps():
                self.show(e)
                writer.grab_frame(facecolor=self.fig.get_facecolor())


__all__ = ["ProbMapPlayer"]
