"""Record class-probability maps of a classifier over a grid of its input domain while it trains.

:class:`ProbMapRecorder` fixes the domain once, evaluates a model on the grid whenever it is asked to, and keeps
each map as ``uint8`` probabilities (C bytes per cell per frame) with the true epoch number and the metrics passed
in. The grid's plane is in :mod:`nbviz.kernels.probmap`, quantisation and colour in :mod:`nbviz.display`;
running the model is :mod:`nbviz.kernels.model_runner`.

Background recording (the threading is in :mod:`nbviz.kernels.recorder_worker`): by default ``record`` only
snapshots the model and a worker thread does the inference and quantisation. Frames are the same as when recorded
synchronously; reading them (``frames``, ``len``, exports) waits for the queue, and a failure in the worker is
raised by the next ``record`` or ``wait``. ``record`` may be called from several threads: the calls run one at a
time, and one whose epoch is not after the last is refused.
"""

from __future__ import annotations

import collections
import math
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..display import quantize_probabilities
from ..labels import check_class_names, encode_labels
from .model_runner import TorchReplica, run_model
from .probmap import check_points, make_plane
from .recorder_worker import QUEUE_BYTES, BackgroundRecording, Job

OUTPUTS = ("auto", "logits", "probs")
#: Tolerance on row sums for output="probs" (and to recognise probabilities with output="auto").
SUM_TOL = 1e-3


def _codes(y: Any, n: int, name: str, classes: list[str] | None, classes_name: str = "class_names"
           ) -> tuple[np.ndarray, list[str] | None]:
    """Class codes of labels ``y``: numbers are indices into the model's output columns, names are looked up in
    ``classes`` (or, without them, coded in sorted order); see :func:`nbviz.data.encode_labels`."""
    codes, names = encode_labels(y, name, classes, indices=True, classes_name=classes_name)
    if codes.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the points, got {codes.shape}")
    return codes.astype(np.int64), names


def _metric(name: str, value: Any) -> float:
    """A metric given to ``record`` as a float: a number (a one-element tensor or array is fine). NaN and inf are
    kept: a missing value (no loss before the first step) or a diverged run is what the chart should show."""
    try:
        v = value.item() if hasattr(value, "item") else value
    except (ValueError, RuntimeError):  # more than one element
        v = value
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"metric {name} must be a number, got {type(value).__name__} {value!r}"[:200])
    return float(v)


def _rows(ufunc: np.ufunc, z: np.ndarray) -> np.ndarray:
    """``ufunc`` (maximum, add) reduced over each row of (M, C) ``z``. Column by column for few classes: numpy's
    reduction over a short last axis is several times slower, and this runs on every recorded grid."""
    if z.shape[1] > 32:
        return ufunc.reduce(z, axis=1)
    out = z[:, 0].copy()
    for j in range(1, z.shape[1]):
        ufunc(out, z[:, j], out=out)
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    e = z - _rows(np.maximum, z)[:, None]
    np.exp(e, out=e)
    e /= _rows(np.add, e)[:, None]
    return e


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


class Stored(NamedTuple):
    """What a recorder has stored at one moment (:meth:`ProbMapRecorder.stored`); lists are copies."""

    frames: list[np.ndarray]
    epochs: list[int]
    point_preds: list[np.ndarray]
    test_preds: list[np.ndarray]
    metric_epochs: list[int]
    metrics: dict[str, list[float]]
    n_classes: int | None
    error: str  # a failed background evaluation not raised yet ("" if none)


class _Frame(NamedTuple):
    map: np.ndarray
    preds: np.ndarray
    test_preds: np.ndarray | None


def _stored(name: str, doc: str) -> property:
    def get(self: ProbMapRecorder) -> Any:
        self.wait()
        return getattr(self, name)

    return property(get, doc=doc)


class ProbMapRecorder(BackgroundRecording):
    """Record class-probability maps of a classifier over a fixed grid while it trains.

    Parameters
    ----------
    X
        (N, 2) or (N, D) training inputs (array, tensor, DataFrame): they set the domain and are drawn as points.
    y
        (N,) labels of ``X``, for the overlay: class indices (ints, or whole floats: 2.0 is class 2), i.e. columns
        of the model's output, or class names (looked up in ``class_names``; without it, class k is the k-th
        name in sorted order). Coded by :func:`nbviz.data.encode_labels`, as in every widget.
    resolution
        Points per axis of a square grid (>= 2). Ignored when ``step`` is given.
    step
        Grid step in input (plane) units instead of ``resolution``; the grid then has as many points per axis as
        the extent needs.
    padding
        Share of the data extent added on each side of the domain (when ``xlim`` / ``ylim`` are not given).
    xlim, ylim
        (low, high) of the domain along each plane axis; default: the data extent with ``padding``.
    every
        Record every ``every``-th epoch (``epoch % every == 0``); other calls only keep their metrics.
    plane
        For D > 2: ``"pca"`` (plane of the first two principal components of X), ``(i, j)`` (features i and j
        vary, the others are held at ``fixed``), or ``(a, b, c)`` (the plane through samples a, b and c).
    fixed
        (D,) values of the features held still with ``plane=(i, j)``; default: the mean of X.
    output
        What the model returns: ``"logits"`` (softmax / sigmoid applied), ``"probs"`` (rows must sum to 1), or
        ``"auto"`` (probabilities when every row is in [0, 1] and sums to 1, otherwise logits).
    X_test, y_test
        Optional test points and labels (coded as ``y``, with its names), drawn as a separate overlay.
    class_names
        Names of the classes, one per output column of the model (default: the sorted names in ``y`` when they
        are not numbers, else "0", "1", ...). A name count that differs from the model's columns is refused at
        the first recorded frame.
    batch_size
        Grid points per model call. The default keeps a small network's activations in the CPU's caches (a
        40,000-point grid through an MLP 2-64-64-7: 25 % faster than one call) and is still few calls on a GPU.
    max_bytes
        Memory budget for all frames; recording past it raises an error that says how much is needed.
    background
        Evaluate the grid in a worker thread: ``record`` snapshots the model and returns. Used for torch modules
        without forward hooks (their parameters and buffers are cloned into a copy of the module made once, as
        large as the module and on its device; other attributes are not followed, so a forward that reads
        attributes changed during training needs ``background=False``) and for scikit-learn estimators (pickled);
        other callables, and hooked modules (a hook may act outside the module), are always evaluated before
        ``record`` returns. ``False``: every model is. In a fast training loop the worker keeps to a tenth of the
        time (see ``WORKER_SHARE``) and the rest is evaluated when the loop stops or by :meth:`wait`.
    queue_bytes
        Cap on the bytes of snapshots waiting for the worker (on the model's device). A ``record`` that would pass
        it waits for the worker (back-pressure); a snapshot larger than the cap is evaluated in place.
    """

    def __init__(
        self,
        X: Any,
        y: Any = None,
        *,
        resolution: int = 200,
        step: float | None = None,
        padding: float = 0.1,
        xlim: Sequence[float] | None = None,
        ylim: Sequence[float] | None = None,
        every: int = 1,
        plane: Any = None,
        fixed: Any = None,
        output: str = "auto",
        X_test: Any = None,  # noqa: N803 - the usual name
        y_test: Any = None,
        class_names: Sequence[str] | None = None,
        batch_size: int = 4096,
        max_bytes: int = 2 * 2**30,
        background: bool = True,
        queue_bytes: int = QUEUE_BYTES,
    ) -> None:
        self.X = check_points(X, "X")
        n, d = self.X.shape
        classes = None if class_names is None else check_class_names(class_names, "class_names")
        self.y, names = (None, classes) if y is None else _codes(y, n, "y", classes)
        self.X_test = None if X_test is None else check_points(X_test, "X_test")
        if self.X_test is not None and self.X_test.shape[1] != d:
            raise ValueError(f"X_test must have D = {d} features like X, got shape {self.X_test.shape}")
        self.y_test = None
        if y_test is not None:
            if self.X_test is None:
                raise ValueError("y_test was given without X_test")
            # Coded with y's names, so a name has one code in both overlays.
            self.y_test, test_names = _codes(y_test, len(self.X_test), "y_test", names,
                                             "class_names" if classes is not None else "the labels of y")
            names = names if y is not None else test_names
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        for pname, value in (("every", every), ("batch_size", batch_size), ("max_bytes", max_bytes),
                             ("queue_bytes", queue_bytes)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{pname} must be an int >= 1, got {value!r}")
        if not isinstance(background, bool):
            raise TypeError(f"background must be True or False, got {background!r}")
        if not (isinstance(padding, (int, float)) and math.isfinite(padding) and padding >= 0):
            raise ValueError(f"padding must be a number >= 0 (a share of the data extent), got {padding!r}")
        self.output, self.every, self.batch_size, self.max_bytes = output, int(every), int(batch_size), int(max_bytes)
        self.plane = make_plane(self.X, plane, fixed)
        self.points = self.X if self.plane is None else self.plane.project(self.X)
        self.test_points = None
        if self.X_test is not None:
            self.test_points = self.X_test if self.plane is None else self.plane.project(self.X_test)
        self.xlim = self._limit(xlim, "xlim", self.points[:, 0], padding)
        self.ylim = self._limit(ylim, "ylim", self.points[:, 1], padding)
        self.xs, self.ys = self._axes(resolution, step)
        self.class_names: list[str] | None = names
        self._names_from = "class_names" if classes is not None else "the labels of y"
        # Checked now, with the fewest classes (2): a grid that cannot hold even one frame is refused at once.
        if self.cells * 2 > self.max_bytes:
            raise ValueError(
                f"a {len(self.ys)} x {len(self.xs)} grid needs {_mb(self.cells * 2)} per frame with 2 classes, "
                f"over max_bytes = {_mb(self.max_bytes)}; lower resolution or raise step"
            )
        self.background, self.queue_bytes = background, int(queue_bytes)
        # What is stored; the public names (frames, epochs, ...) wait for the worker before they read these.
        self._frames: list[np.ndarray] = []
        self._epochs: list[int] = []
        self._point_preds: list[np.ndarray] = []
        self._test_preds: list[np.ndarray] = []
        self._metric_epochs: list[int] = []
        self._metrics: dict[str, list[float]] = {}
        self._n_classes: int | None = None
        self._grid_inputs: np.ndarray | None = None
        self._inputs: tuple[np.ndarray, list[int]] | None = None
        self._calls = 0
        self._last_epoch: int | None = None  # the last epoch passed to record, stored or still queued
        # One record call at a time: the epoch check, the evaluation (or queueing) and the new last epoch are one
        # step, so concurrent callers store frames in epoch order or are refused.
        self._recording = threading.RLock()
        self._listeners: list[Callable[[ProbMapRecorder], None]] = []
        # Background recording: jobs in order (the one being evaluated stays first until it is stored).
        self._cond = threading.Condition()
        self._queue: collections.deque[Job] = collections.deque()
        self._queued_bytes = 0
        self._worker: threading.Thread | None = None
        self._busy = False  # the first queued job is being evaluated (by the worker or a waiting caller)
        self._evaluator: int | None = None  # the thread evaluating it
        self._helpers = 0  # callers evaluating queued jobs themselves (wait, back-pressure): the worker pauses
        self._last_call = 0.0  # time.monotonic() of the last record call (see WORKER_SHARE)
        self._unrest = threading.Event()  # set while callers help: the worker stops resting
        self._error: BaseException | None = None
        self._queued_frames = 0
        self._replica: TorchReplica | None = None
        self._uncopyable: weakref.ref | None = None  # the module deepcopy failed on

    # -- domain ---------------------------------------------------------------------------------------------
    @staticmethod
    def _limit(lim: Any, name: str, values: np.ndarray, padding: float) -> tuple[float, float]:
        if lim is None:
            lo, hi = float(values.min()), float(values.max())
            pad = (hi - lo) * padding
            lo, hi = lo - pad, hi + pad
        else:
            try:
                lo, hi = (float(v) for v in lim)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be (low, high), got {lim!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            raise ValueError(
                f"{name} = ({lo:g}, {hi:g}) has zero or negative extent: the points do not vary along this axis; "
                f"pass {name}=(low, high) or use padding"
            )
        return lo, hi

    def _axes(self, resolution: Any, step: Any) -> tuple[np.ndarray, np.ndarray]:
        if step is not None:
            if not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
                raise ValueError(f"step must be a number > 0 in input units, got {step!r}")
            counts = [int(math.floor((hi - lo) / step + 1e-9)) + 1 for lo, hi in (self.xlim, self.ylim)]
            if min(counts) < 2:
                raise ValueError(f"step = {step:g} is larger than the domain: the grid would have {counts} points")
            xs = self.xlim[0] + step * np.arange(counts[0])
            ys = self.ylim[0] + step * np.arange(counts[1])
        else:
            if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
                raise ValueError(f"resolution must be an int >= 2 (points per axis), got {resolution!r}")
            xs = np.linspace(*self.xlim, int(resolution))
            ys = np.linspace(*self.ylim, int(resolution))
        return xs, ys[::-1].copy()  # image order: row 0 is the top

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of every frame."""
        return len(self.ys), len(self.xs)

    @property
    def cells(self) -> int:
        return len(self.ys) * len(self.xs)

    @property
    def grid(self) -> np.ndarray:
        """(rows * columns, 2) plane coordinates of the grid, row-major in image order."""
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)

    @property
    def grid_inputs(self) -> np.ndarray:
        """(rows * columns, D) model inputs of the grid: the plane's points mapped back to the input space."""
        if self._grid_inputs is None:
            g = self.grid
            self._grid_inputs = (g if self.plane is None else self.plane.to_input(g)).astype(np.float32)
        return self._grid_inputs

    # -- frames ---------------------------------------------------------------------------------------------
    # Each waits for the queued snapshots first, and raises the failure of one (see ``wait``).
    frames = _stored("_frames", "(rows, columns, C) uint8 maps, one per recorded epoch.")
    epochs = _stored("_epochs", "True epoch number of each frame.")
    point_preds = _stored("_point_preds", "Predicted class of each training point, one array per frame.")
    test_preds = _stored("_test_preds", "Predicted class of each test point, one array per frame (or none).")
    metric_epochs = _stored("_metric_epochs", "Epoch of every record call, recorded or not.")
    metrics = _stored("_metrics", "Metric name -> values at ``metric_epochs`` (NaN where not given).")
    n_classes = _stored("_n_classes", "Classes of the model's output (None before the first frame).")

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def nbytes(self) -> int:
        """Bytes held by all frames."""
        return sum(f.nbytes for f in self.frames)

    def probs(self, i: int) -> np.ndarray:
        """Frame ``i`` as float32 probabilities (rows, columns, C); negative ``i`` counts from the end."""
        frames = self.frames
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"i must be an int frame index, got {type(i).__name__}")
        n = len(frames)
        if not -n <= i < n:
            held = f"{n} frames (i in 0..{n - 1}, or -{n}..-1 from the end)" if n else "no frames yet"
            raise IndexError(f"frame index {i} is out of range: the recorder holds {held}")
        return frames[i].astype(np.float32) / 255.0

    @property
    def pending(self) -> int:
        """Frames queued for the background worker and not stored yet."""
        with self._cond:
            return self._queued_frames

    def stored(self) -> Stored:
        """What is stored now, without waiting for queued frames: the live player reads this (the frames still
        queued reach it through its listener)."""
        with self._cond:
            return Stored(list(self._frames), list(self._epochs), list(self._point_preds), list(self._test_preds),
                          list(self._metric_epochs), {k: list(v) for k, v in self._metrics.items()},
                          self._n_classes, "" if self._error is None else f"{type(self._error).__name__}: "
                          f"{self._error}")

    def wait(self, timeout: float | None = None) -> ProbMapRecorder:
        """Block until every queued frame is evaluated and stored (returns the recorder, for chaining).

        The caller evaluates the queued frames itself, at its own priority, while the worker pauses. Raises the
        error of a failed background evaluation (once), and ``TimeoutError`` after ``timeout`` seconds (checked
        between frames). Called by a listener while a frame is being stored, it returns at once.
        """
        if self._queue and self._evaluator != threading.get_ident() and not self._help(lambda: not self._queue,
                                                                                        timeout):
            raise TimeoutError(f"{self.pending} frames still queued after {timeout} s")
        self._raise_failure()
        return self

    def add_listener(self, fn: Callable[[ProbMapRecorder], None]) -> None:
        """Call ``fn(recorder)`` after every stored frame (the player uses it to show frames live), and after a
        failed background evaluation. With ``background`` it is called on the worker's thread."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[ProbMapRecorder], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def record(self, model: Any, epoch: int | None = None, *, force: bool = False, **metrics: float) -> bool:
        """Evaluate ``model`` on the grid and keep the map if ``epoch`` is one to record.

        Parameters
        ----------
        model
            A torch module (evaluated in eval mode under ``torch.inference_mode()`` on its own device, its mode
            restored afterwards), a scikit-learn classifier (``predict_proba``), or any callable taking a float32
            (M, D) numpy array and returning (M, C) probabilities or logits (or (M,) / (M, 1) for two classes).
        epoch
            The true epoch number; default: the number of earlier calls. Recorded when ``epoch % every == 0``.
        force
            Record even when ``epoch`` is not a multiple of ``every`` (e.g. the last epoch).
        **metrics
            Numbers to chart under the map (loss, accuracy, ...); kept for every call, recorded or not.

        Returns
        -------
        bool
            Whether a frame was recorded (with ``background``: queued; it is stored by the worker).

        With ``background`` a failure of the worker (NaN output, wrong shape, ...) is raised here at the next call
        (or by :meth:`wait`); that epoch and the calls queued after it are dropped, as if a synchronous failure
        had stopped the loop there, and recording may go on from the last stored epoch. A failure of the model
        itself comes as a RuntimeError naming the epoch (and, for a torch module, the submodule).

        Thread-safe: concurrent calls run one at a time; a call whose epoch is not after the last one recorded
        (another thread got there first) raises ValueError.
        """
        with self._recording:
            return self._record(model, epoch, force, metrics)

    def _record(self, model: Any, epoch: int | None, force: bool, metrics: dict[str, Any]) -> bool:
        self._raise_failure()
        self._last_call = time.monotonic()
        epoch = self._calls if epoch is None else epoch
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise TypeError(f"epoch must be an int, got {type(epoch).__name__}")
        epoch = int(epoch)
        with self._cond:  # a failed background job may move it back
            last = self._last_epoch
        if last is not None and epoch <= last:
            raise ValueError(f"epoch {epoch} is not after the last recorded epoch {last}: epochs must increase")
        values = {name: _metric(name, v) for name, v in metrics.items()}
        take = force or epoch % self.every == 0
        if take:
            self._check_budget(epoch, queued=self.pending)
        self._calls += 1
        snapshot = self._snapshot(model) if take and self.background else None
        if snapshot is not None and snapshot[0] <= self.queue_bytes:
            nbytes, take_snapshot = snapshot

            def fits() -> bool:
                return not self._queue or self._queued_bytes + nbytes <= self.queue_bytes

            with self._cond:
                full = not fits()
            if full:  # back-pressure: until the snapshot fits under queue_bytes, the caller evaluates queued ones
                self._help(fits)
                self._raise_failure()
            self._enqueue(Job(epoch, values, take_snapshot(), nbytes))
        elif take:
            self.wait()  # frames are stored in epoch order: the queue goes first
            self._store(epoch, values, self._frame(model, epoch), last=True)
        elif self._queue:
            self._enqueue(Job(epoch, values, None, 0))  # metrics stay in order behind queued frames
        else:
            self._store(epoch, values, None, last=True)
        return take

    def _check_budget(self, epoch: int, queued: int = 0) -> None:
        per = self.cells * (self._n_classes or 2)
        need = per * (len(self._frames) + queued + 1)
        if need > self.max_bytes:
            raise MemoryError(
                f"recording epoch {epoch} would take the frames to {_mb(need)} ({_mb(per)} per frame), over "
                f"max_bytes = {_mb(self.max_bytes)}; raise max_bytes, record less often (every=) or lower resolution"
            )

    # -- evaluation ----------------------------------------------------------------------------------------
    def _store(self, epoch: int, values: dict[str, float], frame: _Frame | None, last: bool = False) -> None:
        """Store one record call (``last``: a call made now, not a queued one: it becomes the last epoch)."""
        with self._cond:
            if last:
                self._last_epoch = epoch
            if frame is not None:
                self._frames.append(frame.map)
                self._epochs.append(epoch)
                self._point_preds.append(frame.preds)
                if frame.test_preds is not None:
                    self._test_preds.append(frame.test_preds)
            self._metric_epochs.append(epoch)
            for name in set(self._metrics) | set(values):
                series = self._metrics.setdefault(name, [math.nan] * (len(self._metric_epochs) - 1))
                series.append(values.get(name, math.nan))
        if frame is not None:
            for fn in list(self._listeners):
                fn(self)

    def _frame(self, model: Any, epoch: int) -> _Frame:
        self._check_budget(epoch)
        grid, pts, test = self._evaluate(model, epoch)
        return _Frame(quantize_probabilities(grid).reshape(*self.shape, -1), pts, test)

    def _evaluate(self, model: Any, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if self._inputs is None:  # the grid, then the training and test points: one model call for all
            inputs = [self.grid_inputs, self.X.astype(np.float32)]
            if self.X_test is not None:
                inputs.append(self.X_test.astype(np.float32))
            self._inputs = np.concatenate(inputs), [len(a) for a in inputs]
        x, sizes = self._inputs
        probs = self._probabilities(model, x, epoch)
        c = probs.shape[1]
        if self._n_classes is None:
            if c < 2:
                raise ValueError(f"model output at epoch {epoch} has {c} class column(s); expected at least 2")
            if self.class_names is not None and len(self.class_names) != c:
                raise ValueError(
                    f"class_names (from {self._names_from}) has {len(self.class_names)} names but the model "
                    f"outputs {c} classes at epoch {epoch}; give one name per output column"
                )
            self._n_classes = c
            try:
                self._check_budget(epoch)
            except MemoryError:
                self._n_classes = None
                raise
        elif c != self._n_classes:
            raise ValueError(f"model output at epoch {epoch} has {c} classes; earlier frames had {self._n_classes}")
        for name, codes in (("y", self.y), ("y_test", self.y_test)):
            if codes is not None and len(codes) and codes.max() >= c:
                raise ValueError(f"{name} holds class {int(codes.max())} but the model outputs only {c} classes")
        parts = np.split(probs, np.cumsum(sizes)[:-1])
        preds = [p.argmax(axis=1).astype(np.uint8 if c <= 256 else np.uint16) for p in parts[1:]]
        return parts[0], preds[0], (preds[1] if len(preds) > 1 else None)

    def _probabilities(self, model: Any, x: np.ndarray, epoch: int) -> np.ndarray:
        raw, kind = run_model(model, x, self.batch_size, epoch)
        if raw.ndim == 1:
            raw = raw[:, None]
        if raw.ndim != 2 or raw.shape[0] != len(x):
            raise ValueError(
                f"model output at epoch {epoch} has shape {raw.shape}; expected ({len(x)}, C): one row per input "
                f"({self.cells} grid points + {len(x) - self.cells} data points)"
            )
        if not np.isfinite(raw).all():
            bad = int((~np.isfinite(raw)).any(axis=1).sum())
            raise ValueError(f"model output at epoch {epoch} holds NaN or infinite values in {bad} of {len(x)} rows")
        output = "probs" if kind == "probs" and self.output == "auto" else self.output
        if raw.shape[1] == 1:  # one column: the probability (or logit) of class 1
            if output == "auto":
                output = "probs" if ((raw >= 0) & (raw <= 1)).all() else "logits"
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0])) if output == "logits" else raw[:, 0]
            if output == "probs" and ((p1 < 0) | (p1 > 1)).any():
                raise ValueError(f"model output at epoch {epoch} is a single column outside [0, 1] with "
                                 "output='probs'")
            return np.stack([1.0 - p1, p1], axis=1)
        sums = _rows(np.add, raw)
        is_probs = bool(((raw >= -SUM_TOL) & (raw <= 1 + SUM_TOL)).all() and (np.abs(sums - 1) <= SUM_TOL).all())
        if output == "probs" and not is_probs:
            worst = float(np.abs(sums - 1).max())
            raise ValueError(
                f"model output at epoch {epoch} is not probabilities (rows must be in [0, 1] and sum to 1; worst "
                f"row sum is off by {worst:.3g}) with output='probs'; use output='logits' or 'auto'"
            )
        if output == "logits" or (output == "auto" and not is_probs):
            return _softmax(raw)
        return np.clip(raw, 0.0, 1.0)
