"""Class-probability maps of a classifier over a grid of its input domain, recorded while it trains.

:class:`ProbMapRecorder` fixes the domain once, evaluates a model on the grid whenever it is asked to, and keeps
each map as ``uint8`` probabilities (C bytes per cell per frame) with the true epoch number and the metrics passed
in. The pure functions below (:func:`interpolate`, :func:`timeline`, :func:`colorize`, :func:`class_luts`) are the
Python twins of ``js/src/prob_map_player/`` and make the static exports look like the live view.

Frames are stored in image order: row 0 is the top of the map (largest y), column 0 its left (smallest x).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

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


def _codes(y: Any, n: int, name: str) -> tuple[np.ndarray, list[str] | None]:
    """Integer class codes for labels ``y`` (ints kept as they are; other labels coded in sorted order)."""
    arr = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the points, got {arr.shape}")
    if arr.dtype.kind in "iub":
        if n and arr.min() < 0:
            raise ValueError(f"{name} must hold class indices >= 0, got {int(arr.min())}")
        return arr.astype(np.int64), None
    names, codes = np.unique(arr.astype(str), return_inverse=True)
    return codes.astype(np.int64), [str(s) for s in names]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


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


# -- the recorder ---------------------------------------------------------------------------------------------
class ProbMapRecorder:
    """Record class-probability maps of a classifier over a fixed grid while it trains.

    Parameters
    ----------
    X
        (N, 2) or (N, D) training inputs (array, tensor, DataFrame): they set the domain and are drawn as points.
    y
        (N,) labels of ``X`` (class indices, or any labels coded in sorted order), for the overlay.
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
        Optional test points and labels, drawn as a separate overlay.
    class_names
        Names of the classes (default: the labels of ``y`` when they are not integers, else "0", "1", ...).
    batch_size
        Grid points per model call.
    max_bytes
        Memory budget for all frames; recording past it raises an error that says how much is needed.
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
        batch_size: int = 65536,
        max_bytes: int = 2 * 2**30,
    ) -> None:
        self.X = _check_points(X, "X")
        n, d = self.X.shape
        self.y, names = (None, None) if y is None else _codes(y, n, "y")
        self.X_test = None if X_test is None else _check_points(X_test, "X_test")
        if self.X_test is not None and self.X_test.shape[1] != d:
            raise ValueError(f"X_test must have D = {d} features like X, got shape {self.X_test.shape}")
        self.y_test = None
        if y_test is not None:
            if self.X_test is None:
                raise ValueError("y_test was given without X_test")
            self.y_test, _ = _codes(y_test, len(self.X_test), "y_test")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        for pname, value in (("every", every), ("batch_size", batch_size), ("max_bytes", max_bytes)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{pname} must be an int >= 1, got {value!r}")
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
        self.class_names: list[str] | None = list(class_names) if class_names is not None else names
        # Checked now, with the fewest classes (2): a grid that cannot hold even one frame is refused at once.
        if self.cells * 2 > self.max_bytes:
            raise ValueError(
                f"a {len(self.ys)} x {len(self.xs)} grid needs {_mb(self.cells * 2)} per frame with 2 classes, "
                f"over max_bytes = {_mb(self.max_bytes)}; lower resolution or raise step"
            )
        self.frames: list[np.ndarray] = []
        self.epochs: list[int] = []
        self.point_preds: list[np.ndarray] = []
        self.test_preds: list[np.ndarray] = []
        self.metric_epochs: list[int] = []
        self.metrics: dict[str, list[float]] = {}
        self.n_classes: int | None = None
        self._grid_inputs: np.ndarray | None = None
        self._calls = 0
        self._listeners: list[Callable[[ProbMapRecorder], None]] = []

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
    def __len__(self) -> int:
        return len(self.frames)

    @property
    def nbytes(self) -> int:
        """Bytes held by all frames."""
        return sum(f.nbytes for f in self.frames)

    def probs(self, i: int) -> np.ndarray:
        """Frame ``i`` as float32 probabilities (rows, columns, C)."""
        return self.frames[i].astype(np.float32) / 255.0

    def add_listener(self, fn: Callable[[ProbMapRecorder], None]) -> None:
        """Call ``fn(recorder)`` after every recorded frame (the player uses it to show frames live)."""
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
            Whether a frame was recorded.
        """
        epoch = self._calls if epoch is None else epoch
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise TypeError(f"epoch must be an int, got {type(epoch).__name__}")
        epoch = int(epoch)
        if self.metric_epochs and epoch <= self.metric_epochs[-1]:
            raise ValueError(
                f"epoch {epoch} is not after the last recorded epoch {self.metric_epochs[-1]}: epochs must increase"
            )
        values = {}
        for name, value in metrics.items():
            v = float(value.item() if hasattr(value, "item") else value)
            values[name] = v
        self._calls += 1
        take = force or epoch % self.every == 0
        if take:
            self._check_budget(epoch)
            grid, pts, test = self._evaluate(model, epoch)
            self.frames.append(quantize(grid).reshape(*self.shape, -1))
            self.epochs.append(epoch)
            self.point_preds.append(pts)
            if test is not None:
                self.test_preds.append(test)
        # Metrics after the frame, so a failed evaluation leaves the recorder as it was.
        self.metric_epochs.append(epoch)
        for name in set(self.metrics) | set(values):
            series = self.metrics.setdefault(name, [math.nan] * (len(self.metric_epochs) - 1))
            series.append(values.get(name, math.nan))
        if take:
            for fn in list(self._listeners):
                fn(self)
        return take

    def _check_budget(self, epoch: int) -> None:
        per = self.cells * (self.n_classes or 2)
        need = per * (len(self.frames) + 1)
        if need > self.max_bytes:
            raise MemoryError(
                f"recording epoch {epoch} would take the frames to {_mb(need)} ({_mb(per)} per frame), over "
                f"max_bytes = {_mb(self.max_bytes)}; raise max_bytes, record less often (every=) or lower resolution"
            )

    def _evaluate(self, model: Any, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        inputs = [self.grid_inputs, self.X.astype(np.float32)]
        if self.X_test is not None:
            inputs.append(self.X_test.astype(np.float32))
        sizes = [len(a) for a in inputs]
        probs = self._probabilities(model, np.concatenate(inputs), epoch)
        c = probs.shape[1]
        if self.n_classes is None:
            if c < 2:
                raise ValueError(f"model output at epoch {epoch} has {c} class column(s); expected at least 2")
            self.n_classes = c
            self._check_budget(epoch)
        elif c != self.n_classes:
            raise ValueError(f"model output at epoch {epoch} has {c} classes; earlier frames had {self.n_classes}")
        for name, codes in (("y", self.y), ("y_test", self.y_test)):
            if codes is not None and len(codes) and codes.max() >= c:
                raise ValueError(f"{name} holds class {int(codes.max())} but the model outputs only {c} classes")
        parts = np.split(probs, np.cumsum(sizes)[:-1])
        preds = [p.argmax(axis=1).astype(np.uint8 if c <= 256 else np.uint16) for p in parts[1:]]
        return parts[0], preds[0], (preds[1] if len(preds) > 1 else None)

    def _probabilities(self, model: Any, x: np.ndarray, epoch: int) -> np.ndarray:
        raw, kind = _run_model(model, x, self.batch_size)
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
        sums = raw.sum(axis=1)
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


def _run_model(model: Any, x: np.ndarray, batch_size: int) -> tuple[np.ndarray, str]:
    """Raw outputs of ``model`` on ``x`` in batches, and "probs" when the model said so (predict_proba)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but a callable needs no torch
        torch = None
    if torch is not None and isinstance(model, torch.nn.Module):
        return _run_torch(model, x, batch_size, torch), "raw"
    if hasattr(model, "predict_proba"):
        return np.concatenate([_to_numpy(model.predict_proba(x[i : i + batch_size]))
                               for i in range(0, len(x), batch_size)]), "probs"
    if callable(model):
        return np.concatenate([_to_numpy(model(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]), "raw"
    raise TypeError(
        f"model must be a torch.nn.Module, a scikit-learn classifier with predict_proba, or a callable; "
        f"got {type(model).__name__}"
    )


def _to_numpy(out: Any) -> np.ndarray:
    if hasattr(out, "detach"):
        out = out.detach().float().cpu().numpy()
    return np.asarray(out, dtype=np.float64)


def _run_torch(model: Any, x: np.ndarray, batch_size: int, torch: Any) -> np.ndarray:
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.dtype.is_floating_point else torch.float32
    was_training = model.training
    outs = []
    try:
        model.eval()
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                batch = torch.from_numpy(x[i : i + batch_size]).to(device=device, dtype=dtype)
                outs.append(_to_numpy(model(batch)))
    finally:
        model.train(was_training)
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
