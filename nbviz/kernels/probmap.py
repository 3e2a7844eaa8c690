"""Class-probability maps of a classifier over a grid of its input domain, recorded while it trains.

:class:`ProbMapRecorder` fixes the domain once, evaluates a model on the grid whenever it is asked to, and keeps
each map as ``uint8`` probabilities (C bytes per cell per frame) with the true epoch number and the metrics passed
in. The pure functions below (:func:`interpolate`, :func:`timeline`, :func:`colorize`, :func:`class_luts`) are the
Python twins of ``js/src/prob_map_player/`` and make the static exports look like the live view.

Frames are stored in image order: row 0 is the top of the map (largest y), column 0 its left (smallest x).

Background recording: evaluating the grid costs far more than a training epoch of a small model (40,000 grid
points against ~1,000 training points), so by default ``record`` only snapshots the model (its tensors cloned into
a worker-owned copy; a scikit-learn estimator pickled) and a worker thread does the inference and quantisation.
Frames are the same as when recorded synchronously; reading them (``frames``, ``len``, exports) waits for the
queue, and a failure in the worker is raised by the next ``record`` or ``wait``. ``record`` may be called from
several threads: the calls run one at a time, and one whose epoch is not after the last is refused.
"""

from __future__ import annotations

import collections
import copy
import math
import pickle
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..data import check_class_names, encode_labels

OUTPUTS = ("auto", "logits", "probs")
MODES = ("region", "boundary", "class", "entropy")
INTERPOLATIONS = ("linear", "geometric")
#: Added to uint8 probabilities (0..255) before the geometric blend, so a class at 0 in one frame can still grow.
GEOMETRIC_EPS = 0.5
#: Colour of the low end of the region scale (a class barely ahead) and of the boundary scale (a tie).
REGION_LOW = (242, 242, 242)
BOUNDARY_LOW = (25, 25, 25)
#: Tolerance on row sums for output="probs" (and to recognise probabilities with output="auto").
SUM_TOL = 1e-3
#: Default cap on the bytes of model snapshots waiting for the background worker.
QUEUE_BYTES = 256 * 2**20
#: Seconds an idle worker waits for the next snapshot before its thread ends.
WORKER_LINGER_S = 1.0
#: Share of the time the worker may evaluate while ``record`` calls come less than WORKER_IDLE_S apart (a fast
#: training loop). Its Python glue needs the GIL, and each time it takes it the training loop waits: on
#: benchmarks/probmap.py a worker running flat out slowed the loop by 25-30 %. The rest waits for a slower loop (a
#: call every half second or more), for a caller that stopped recording, or for one in ``wait``, which evaluates
#: the queue itself. This share, not a lower OS priority, keeps the worker off the training loop's cores: a
#: lower-priority thread that holds the GIL when it is preempted stalls the loop (priority inversion). The worker
#: runs torch with the process's one thread setting, shared with the training; it is not changed here.
WORKER_SHARE = 0.1
WORKER_IDLE_S = 0.5


# -- helpers -----------------------------------------------------------------------------------------------
def _as_array(value: Any, name: str, dtype: Any = np.float64) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor, any device
        value = value.detach().cpu().numpy()
    elif hasattr(value, "to_numpy"):  # pandas
        value = value.to_numpy()
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of numbers, got {type(value).__name__}: {exc}") from None


def _check_points(X: Any, name: str) -> np.ndarray:
    arr = _as_array(X, name)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 2:
        raise ValueError(f"{name} must be a 2-D array (N, D) with N >= 1 and D >= 2, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


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


def quantize(probs: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] to uint8 (0..255), rounding to nearest: the error is at most 1/510."""
    return np.rint(np.clip(probs, 0.0, 1.0) * 255.0).astype(np.uint8)


# -- planes for D > 2 -----------------------------------------------------------------------------------------
class Plane:
    """A 2-D plane in the input space: ``origin + a * u + b * v``, or two features with the others fixed."""

    def __init__(self, origin: np.ndarray, basis: np.ndarray, kind: str, features: tuple[int, int] | None = None):
        self.origin, self.basis, self.kind, self.features = origin, basis, kind, features

    def to_input(self, ab: np.ndarray) -> np.ndarray:
        """(M, 2) plane coordinates to (M, D) inputs."""
        if self.features is not None:
            out = np.repeat(self.origin[None, :], len(ab), axis=0)
            out[:, list(self.features)] = ab
            return out
        return self.origin[None, :] + ab @ self.basis

    def project(self, X: np.ndarray) -> np.ndarray:
        """(N, D) inputs to (N, 2) plane coordinates (orthogonal projection)."""
        if self.features is not None:
            return X[:, list(self.features)]
        return (X - self.origin[None, :]) @ self.basis.T


def make_plane(X: np.ndarray, plane: Any, fixed: Any = None) -> Plane | None:
    """The plane for ``plane`` = None (D = 2) | "pca" | (i, j) features | (a, b, c) sample indices."""
    n, d = X.shape
    if plane is None:
        if d != 2:
            raise ValueError(
                f"X has D = {d} features: pass plane='pca', plane=(i, j) (two features, the others fixed at "
                "`fixed`) or plane=(a, b, c) (three sample indices) to choose the 2-D plane to map"
            )
        return None
    if isinstance(plane, str):
        if plane != "pca":
            raise ValueError(f"plane must be None, 'pca', (i, j) or (a, b, c), got {plane!r}")
        mean = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
        if len(s) < 2 or s[1] <= 1e-12 * max(s[0], 1e-300):
            raise ValueError("plane='pca' needs X to vary in at least two directions; X is (nearly) collinear")
        return Plane(mean, vt[:2], "pca")
    idx = tuple(int(i) for i in plane) if isinstance(plane, (tuple, list, np.ndarray)) else ()
    if len(idx) == 2:
        i, j = idx
        if not (0 <= i < d and 0 <= j < d) or i == j:
            raise ValueError(f"plane=(i, j) must name two different features in 0..{d - 1}, got {tuple(plane)}")
        origin = X.mean(axis=0) if fixed is None else _as_array(fixed, "fixed").reshape(-1)
        if origin.shape != (d,):
            raise ValueError(f"fixed must hold one value per feature, shape ({d},), got {origin.shape}")
        return Plane(origin.astype(np.float64), np.eye(d)[[i, j]], "features", (i, j))
    if len(idx) == 3:
        if not all(0 <= i < n for i in idx):
            raise ValueError(f"plane=(a, b, c) must be three sample indices in 0..{n - 1}, got {tuple(plane)}")
        a, b, c = (X[i] for i in idx)
        u = b - a
        nu = np.linalg.norm(u)
        w = c - a - (c - a) @ u / max(nu**2, 1e-300) * u
        nw = np.linalg.norm(w)
        scale = max(nu, np.linalg.norm(c - a), 1e-300)
        if nu <= 1e-9 * scale or nw <= 1e-9 * scale:
            raise ValueError(f"plane={tuple(plane)}: the three samples are collinear (or repeated) and span no plane")
        return Plane(a.copy(), np.stack([u / nu, w / nw]), "samples")
    raise ValueError(f"plane must be None, 'pca', (i, j) features or (a, b, c) sample indices, got {plane!r}")


# -- background recording helpers ---------------------------------------------------------------------------
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


class _Job(NamedTuple):
    epoch: int
    metrics: dict[str, float]
    model: Callable[[], Any] | None  # returns the snapshot's model, on the worker; None: metrics only
    nbytes: int


def _stored(name: str, doc: str) -> property:
    def get(self: ProbMapRecorder) -> Any:
        self.wait()
        return getattr(self, name)

    return property(get, doc=doc)


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but a callable needs no torch
        return None
    return torch


def _tensors(module: Any) -> list[Any]:
    return [*module.parameters(), *module.buffers()]


def has_forward_hooks(module: Any) -> bool:
    """Whether a forward hook could run: a hook may act outside the module, so it must run on the caller's
    thread, on the model itself."""
    from torch.nn.modules import module as torch_module

    if torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())


class _TorchReplica:
    """A worker-owned deep copy of a torch module, made once; a snapshot clones the module's parameters and
    buffers, which the worker copies into the replica. The replica only runs in eval mode, so the module's
    training flags need no snapshot (synchronous recording evaluates in eval mode too)."""

    def __init__(self, model: Any, tensors: list[Any], torch: Any) -> None:
        self.torch = torch
        self.source = weakref.ref(model)
        self.layout = self._layout(tensors)
        self.nbytes = sum(t.numel() * t.element_size() for t in tensors)
        self.module = copy.deepcopy(model)  # the copy is the worker's: setting its flags leaves ``model`` alone
        for m in self.module.modules():
            m.training = False  # as handed_back does, per module (a subclass's train() may do more)
        self.module.requires_grad_(False)

    @staticmethod
    def _layout(tensors: list[Any]) -> list[tuple]:
        return [(t.shape, t.dtype, t.device) for t in tensors]

    def serves(self, model: Any, tensors: list[Any]) -> bool:
        """Whether ``model`` (with its ``tensors``) is the module copied, with the same parameters and buffers."""
        return self.source() is model and self._layout(tensors) == self.layout

    def snapshot(self, tensors: list[Any]) -> Callable[[], Any]:
        with self.torch.no_grad():
            tensors = [t.detach().clone() for t in tensors]

        def load() -> Any:
            with self.torch.no_grad():
                for dst, src in zip(_tensors(self.module), tensors, strict=True):
                    dst.copy_(src)
            return self.module

        return load


# -- the recorder ---------------------------------------------------------------------------------------------
class ProbMapRecorder:
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
        self.X = _check_points(X, "X")
        n, d = self.X.shape
        classes = None if class_names is None else check_class_names(class_names, "class_names")
        self.y, names = (None, classes) if y is None else _codes(y, n, "y", classes)
        self.X_test = None if X_test is None else _check_points(X_test, "X_test")
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
        self._queue: collections.deque[_Job] = collections.deque()
        self._queued_bytes = 0
        self._worker: threading.Thread | None = None
        self._busy = False  # the first queued job is being evaluated (by the worker or a waiting caller)
        self._evaluator: int | None = None  # the thread evaluating it
        self._helpers = 0  # callers evaluating queued jobs themselves (wait, back-pressure): the worker pauses
        self._last_call = 0.0  # time.monotonic() of the last record call (see WORKER_SHARE)
        self._unrest = threading.Event()  # set while callers help: the worker stops resting
        self._error: BaseException | None = None
        self._queued_frames = 0
        self._replica: _TorchReplica | None = None
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
            self._enqueue(_Job(epoch, values, take_snapshot(), nbytes))
        elif take:
            self.wait()  # frames are stored in epoch order: the queue goes first
            self._store(epoch, values, self._frame(model, epoch), last=True)
        elif self._queue:
            self._enqueue(_Job(epoch, values, None, 0))  # metrics stay in order behind queued frames
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

    # -- background recording -----------------------------------------------------------------------------
    def _snapshot(self, model: Any) -> tuple[int, Callable[[], Callable[[], Any]]] | None:
        """(bytes, take) for a model the worker can evaluate later: ``take()`` snapshots it now and returns the
        worker's loader of that snapshot. None: evaluate ``model`` in place."""
        torch = _torch()
        if torch is not None and isinstance(model, torch.nn.Module):
            if has_forward_hooks(model):
                return None
            tensors = _tensors(model)
            replica = self._replica
            if replica is None or not replica.serves(model, tensors):
                if self._uncopyable is not None and self._uncopyable() is model:
                    return None
                try:
                    replica = _TorchReplica(model, tensors, torch)
                except Exception:  # noqa: BLE001 - a module that cannot be copied is evaluated in place
                    self._uncopyable = weakref.ref(model)  # and not copied again at every record
                    return None
                self._replica = replica
            return replica.nbytes, lambda: replica.snapshot(tensors)
        if hasattr(model, "predict_proba") and hasattr(model, "get_params"):  # a scikit-learn estimator
            try:
                data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - what cannot be pickled is evaluated in place
                return None
            return len(data), lambda: lambda: pickle.loads(data)  # noqa: S301 - our own bytes, this process
        return None

    def _enqueue(self, job: _Job) -> None:
        with self._cond:  # with the job, so that a failure dropping it also moves the last epoch back
            self._last_epoch = job.epoch
            self._queue.append(job)
            self._queued_bytes += job.nbytes
            self._queued_frames += job.model is not None
            self._start_worker()
            self._cond.notify_all()

    def _start_worker(self) -> None:
        """(Holding the lock.) A worker for the queued jobs, if none runs."""
        if self._worker is None and self._queue:
            self._worker = threading.Thread(target=self._work, name="nbviz-probmap", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._queue and not self._busy and not self._helpers,
                                           WORKER_LINGER_S):
                    self._worker = None  # idle, or paused for a helping caller, which starts a new one if needed
                    return
                self._busy = True
            start = time.monotonic()
            self._evaluate_first()
            self._rest(start, time.monotonic())

    def _rest(self, start: float, end: float) -> None:
        """Pause after a job of ``end - start`` seconds so the worker keeps to WORKER_SHARE of the time while a
        fast training loop records (see WORKER_SHARE). Not woken by each record call (that would cost the loop a
        GIL hand-over every epoch); a helping caller ends the rest."""
        until = end + (end - start) * (1 / WORKER_SHARE - 1)
        while not self._helpers and self._queue:
            now = time.monotonic()
            if now >= until or now - self._last_call >= WORKER_IDLE_S:
                return
            self._unrest.wait(min(until - now, WORKER_IDLE_S))

    def _help(self, done: Callable[[], bool], timeout: float | None = None) -> bool:
        """Evaluate queued jobs on the caller's thread until ``done()`` (or a failure): the worker may run at
        the lowest priority and would be slow to drain on a busy machine. False after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._helpers += 1
            self._unrest.set()
        try:
            while True:
                with self._cond:
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    if not self._cond.wait_for(lambda: done() or self._error is not None or not self._busy, left):
                        return False
                    if done() or self._error is not None or not self._queue:
                        return True
                    self._busy = True  # the first job is ours; one in evaluation was stored before it
                self._evaluate_first()
        finally:
            with self._cond:
                self._helpers -= 1
                if not self._helpers:
                    self._unrest.clear()
                self._start_worker()  # what a timed-out caller leaves is the worker's again
                self._cond.notify_all()

    def _evaluate_first(self) -> None:
        """Evaluate and store the first queued job (marked busy by the caller), then drop it from the queue."""
        job = self._queue[0]
        self._evaluator = threading.get_ident()
        try:
            self._store(job.epoch, job.metrics, None if job.model is None else self._frame(job.model(), job.epoch))
        except Exception as exc:  # noqa: BLE001 - kept for the caller's next record() / wait()
            self._evaluator = None
            self._fail(exc, job.epoch)
            return
        except BaseException:  # an interrupted waiting caller: the job stays queued, for the worker
            self._evaluator = None
            with self._cond:
                self._busy = False
                self._cond.notify_all()
            raise
        self._evaluator = None
        with self._cond:
            self._queue.popleft()
            self._queued_bytes -= job.nbytes
            self._queued_frames -= job.model is not None
            self._busy = False
            self._cond.notify_all()

    def _fail(self, exc: BaseException, epoch: int) -> None:
        with self._cond:
            dropped = len(self._queue) - 1
            self._queue.clear()
            self._queued_bytes = self._queued_frames = 0
            self._busy = False
            self._last_epoch = self._metric_epochs[-1] if self._metric_epochs else None
            self._error = exc
            self._cond.notify_all()
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(f"nbviz: raised by the background recording of epoch {epoch}; it and the {dropped} "
                         "call(s) queued after it were dropped")
        for fn in list(self._listeners):
            try:
                fn(self)
            except Exception:  # noqa: BLE001 - the recording error is the one to report
                pass

    def _raise_failure(self) -> None:
        with self._cond:
            exc, self._error = self._error, None
        if exc is not None:
            raise exc

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
        return _Frame(quantize(grid).reshape(*self.shape, -1), pts, test)

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
        raw, kind = _run_model(model, x, self.batch_size, epoch)
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


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _run_model(model: Any, x: np.ndarray, batch_size: int, epoch: int) -> tuple[np.ndarray, str]:
    """Raw outputs of ``model`` on ``x`` in batches, and "probs" when the model said so (predict_proba). A failure
    of the model is raised as a RuntimeError naming ``epoch`` (and the submodule of a torch module)."""
    torch = _torch()
    is_torch = torch is not None and isinstance(model, torch.nn.Module)
    if not (is_torch or hasattr(model, "predict_proba") or callable(model)):
        raise TypeError(
            f"model must be a torch.nn.Module, a scikit-learn classifier with predict_proba, or a callable; "
            f"got {type(model).__name__}"
        )
    try:
        if is_torch:
            return _run_torch(model, x, batch_size, torch), "raw"
        if hasattr(model, "predict_proba"):
            return np.concatenate([_to_numpy(model.predict_proba(x[i : i + batch_size]))
                                   for i in range(0, len(x), batch_size)]), "probs"
        return np.concatenate([_to_numpy(model(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]), "raw"
    except Exception as exc:
        if is_torch:
            from .torch_utils import failed_at  # torch is imported only for torch models

            raise RuntimeError(f"the model's forward failed at epoch {epoch}{failed_at(exc, model)}: "
                               f"{type(exc).__name__}: {exc}") from exc
        call = "predict_proba" if hasattr(model, "predict_proba") else "call"
        raise RuntimeError(f"the model's {call} failed at epoch {epoch}: {type(exc).__name__}: {exc}") from exc


def _to_numpy(out: Any) -> np.ndarray:
    if hasattr(out, "detach"):
        out = out.detach().float().cpu().numpy()
    return np.asarray(out, dtype=np.float64)


def _run_torch(model: Any, x: np.ndarray, batch_size: int, torch: Any) -> np.ndarray:
    from .torch_utils import handed_back, model_device, model_dtype  # torch is imported only for torch models

    device, dtype = model_device(model), model_dtype(model)
    outs = []
    # Eval mode per module, restored per module (a BatchNorm frozen inside a training model stays frozen).
    with handed_back(model), torch.inference_mode():
        for i in range(0, len(x), batch_size):
            batch = torch.from_numpy(x[i : i + batch_size]).to(device=device, dtype=dtype)
            outs.append(_to_numpy(model(batch)))
    return np.concatenate(outs)


# -- playback and colour: the browser's twins (js/src/prob_map_player/) ---------------------------------------
def interpolate(a: np.ndarray, b: np.ndarray, f: float, kind: str = "linear") -> np.ndarray:
    """Blend two uint8 probability frames at ``f`` in [0, 1]; float probabilities in [0, 1] come out.

    "linear" mixes the probabilities; "geometric" mixes their logarithms (then renormalises over the classes),
    which keeps a confident class confident through the blend. Class ids are never blended.
    """
    if kind not in INTERPOLATIONS:
        raise ValueError(f"interpolation_type must be one of {INTERPOLATIONS}, got {kind!r}")
    a32, b32 = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if kind == "linear":
        return ((1 - f) * a32 + f * b32) / 255.0
    g = np.exp((1 - f) * np.log(a32 + GEOMETRIC_EPS) + f * np.log(b32 + GEOMETRIC_EPS))
    return g / g.sum(axis=-1, keepdims=True)


def timeline(epochs: Sequence[int], interpolation: int) -> list[tuple[int, float, float]]:
    """The playback steps ``(frame index, blend fraction, epoch)``: each recorded frame once, ``interpolation``
    blended steps between neighbours, epochs interpolated between the true (possibly uneven) epoch numbers."""
    if isinstance(interpolation, bool) or not isinstance(interpolation, (int, np.integer)) or interpolation < 0:
        raise ValueError(f"interpolation must be an int >= 0 (blended frames between recorded ones), "
                         f"got {interpolation!r}")
    steps = []
    for i, e in enumerate(epochs):
        steps.append((i, 0.0, float(e)))
        if i + 1 < len(epochs):
            for k in range(1, interpolation + 1):
                f = k / (interpolation + 1)
                steps.append((i, f, e + f * (epochs[i + 1] - e)))
    return steps


def frame_at(epochs: Sequence[int], epoch: float) -> tuple[int, float]:
    """What a map shows at ``epoch`` (possibly between recorded epochs): ``(frame index, blend fraction)``, the
    last frame recorded at or before ``epoch`` (the first one before any) blended towards the next. Compare mode
    uses it to place each recorder on the shared slider; twin of ``frameAt`` in playback.ts."""
    if not len(epochs):
        raise ValueError("epochs must hold at least one recorded epoch")
    j = int(np.searchsorted(np.asarray(epochs, dtype=np.float64), epoch + 1e-9, side="right")) - 1
    if j < 0 or j + 1 >= len(epochs):
        return max(j, 0), 0.0
    f = (epoch - epochs[j]) / (epochs[j + 1] - epochs[j])
    return j, (f if f > 1e-9 else 0.0)


def blend_lut(low: Sequence[int], high: Sequence[int], n: int = 256) -> np.ndarray:
    """(n, 4) uint8 RGBA ramp from ``low`` to ``high`` RGB."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    rgb = np.asarray(low, dtype=np.float64)[None, :3] * (1 - t) + np.asarray(high, dtype=np.float64)[None, :3] * t
    return np.concatenate([np.rint(rgb), np.full((n, 1), 255.0)], axis=1).astype(np.uint8)


def class_luts(palette: np.ndarray, low: Sequence[int]) -> np.ndarray:
    """(C, 256, 4) one quantitative scale per class, from ``low`` to the class's colour."""
    return np.stack([blend_lut(low, row[:3]) for row in np.asarray(palette)])


def _lut_index(v: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(v * 255.0), 0, 255).astype(np.intp)


def colorize(
    probs: np.ndarray,
    mode: str,
    luts: dict[str, np.ndarray],
    target: int = 0,
    boundary_line: bool = True,
    line_rgba: Sequence[int] = (0, 0, 0, 255),
) -> np.ndarray:
    """RGBA image (rows, columns, 4) of a probability map (rows, columns, C) in one of :data:`MODES`.

    ``luts`` holds "region" and "boundary" (C, 256, 4) and "class" and "entropy" (256, 4) tables. The scales are
    fixed (never rescaled per frame): region by how far the winning class is above chance, boundary by the margin
    between the top two classes, class by the probability of ``target``, entropy normalised by log C.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    p = np.asarray(probs, dtype=np.float32)
    c = p.shape[-1]
    if mode == "class":
        if not 0 <= target < c:
            raise ValueError(f"target class must be in 0..{c - 1}, got {target}")
        return luts["class"][_lut_index(p[..., target])]
    if mode == "entropy":
        h = -(p * np.log(np.maximum(p, 1e-12))).sum(axis=-1) / math.log(c)
        return luts["entropy"][_lut_index(h)]
    k = p.argmax(axis=-1)
    top = np.take_along_axis(p, k[..., None], axis=-1)[..., 0]
    if mode == "region":
        return luts["region"][k, _lut_index((top - 1.0 / c) / (1.0 - 1.0 / c))]
    second = np.sort(p, axis=-1)[..., -2]
    img = luts["boundary"][k, _lut_index(top - second)]
    if boundary_line:
        img[flip_mask(k)] = line_rgba
    return img


def flip_mask(k: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Cells whose winning class differs from the cell to the right or below (``previous`` None: the boundary
    line), or from the same cell in ``previous`` (the pixel-flip overlay)."""
    if previous is not None:
        return k != previous
    out = np.zeros(k.shape, dtype=bool)
    out[:, :-1] |= k[:, :-1] != k[:, 1:]
    out[:-1, :] |= k[:-1, :] != k[1:, :]
    return out
