"""ProbMapPlayer: plays back the class-probability maps of :class:`~nbviz.kernels.recorder.ProbMapRecorder` s.

Frames travel once, as binary uint8, in custom messages (``{"type": "frames", "run", "start", "count"}`` + one
buffer per map and per prediction array): pushed as they are stored, so a player shown before the training loop
plays along, and pulled by a view that opens later (request ``frames``). ``run`` is the recorder's panel (always 0
with one recorder; compare mode shows several recorders on one domain, side by side under one slider). Everything
else (mode, interpolation, colour scales, overlays) is done in the browser from the traits below, so switching
views never calls the model again. Traits follow ``js/src/prob_map_player/protocol.ts``; both sides change together.

A recorder that evaluates in the background calls the player from its worker thread: a lock keeps each update
whole, and ipykernel sends comm messages from any thread (it hands them to its IOPub thread), so frames reach the
view while the training loop holds the kernel's main thread.

This module holds the widget's traits, the frame syncing and persisting, and the observers; two mixins add the rest:
:class:`~nbviz.widgets.probmap_chart.ProbMapChart` (the bqplot metrics chart under the maps) and
:class:`~nbviz.widgets.probmap_export.ProbMapExport` (static pictures, ``to_png``, ``to_html``, ``save``).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets as t

from ..checks import code_dtype
from ..colors import categorical_palette, colormap_lut
from ..display import BOUNDARY_LOW, INTERPOLATIONS, MODES, REGION_LOW, class_luts, timeline
from ..kernels.recorder import ProbMapRecorder, Stored
from .arrays import array_to_json
from .base import Array, NbvizWidget, call_at_cell_end, check_number, request_index, validate_number
from .probmap_chart import ProbMapChart, has_metrics
from .probmap_export import ProbMapExport

#: Largest reply to a ``frames`` request; a view asks again for the rest.
REPLY_BYTES = 8 * 2**20
#: The recorded frames are also kept in the ``stored_frames`` trait (what a saved notebook, an HTML export or a view
#: without a kernel paints from). Re-sending that trait sends every frame, so it is re-sent when their number has
#: doubled and PERSIST_S after the last new frame (longer for big recordings: PERSIST_S per PERSIST_BYTES); the
#: frames in between reach open views as pushes.
PERSIST_S, PERSIST_BYTES = 2.0, 32 * 2**20


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
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and np.array_equal(a, b)


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


class ProbMapPlayer(ProbMapChart, ProbMapExport, NbvizWidget):
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
            elif self._chart_wanted and has_metrics(stored):
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
            buffers.append(memoryview(st.point_preds[i]).cast("B"))  # pyright: ignore[reportArgumentType] - numpy stubs: __buffer__ is 3.12+
            if st.test_preds:
                buffers.append(memoryview(st.test_preds[i]).cast("B"))  # pyright: ignore[reportArgumentType] - as above
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

    def close(self) -> None:
        timer = getattr(self, "_persist_timer", None)
        if timer is not None:
            timer.cancel()
        listener = getattr(self, "_listener", None)
        for rec in getattr(self, "recs", []):
            if listener is not None:
                rec.remove_listener(listener)
        super().close()


__all__ = ["ProbMapPlayer"]
