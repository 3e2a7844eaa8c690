"""Projections of N-D features to 2-D: PCA, UMAP, openTSNE t-SNE, AlignedUMAP; cached by content.

Parameters are checked by :func:`check_projection` before any work, so a bad ``n_neighbors`` or ``perplexity``
fails at once with the bound in the message instead of minutes later inside a library. The libraries are called
with the data as one float32 C-contiguous array (converted once, not copied when it already is one), so running
through nbviz costs no more than calling them directly.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ..blockwise import is_large
from ..checks import as_matrix
from .projection_scale import FIT_SAMPLE, as_features_matrix, fit_on_sample, pca_blocks, sampling_note

METHODS = ("pca", "umap", "tsne")
#: What :func:`check_projection` validates: :data:`METHODS` and the several-set ``"aligned_umap"``.
CHECKED_METHODS = (*METHODS, "aligned_umap")
Progress = Callable[[float, str], None]

_UMAP_COMMON: dict[str, Any] = {
    "n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean", "random_state": 0, "spread": 1.0,
    "n_epochs": None, "init": "spectral", "learning_rate": 1.0, "set_op_mix_ratio": 1.0, "local_connectivity": 1.0,
    "repulsion_strength": 1.0, "negative_sample_rate": 5,
}

# Parameters passed through to each library, with nbviz's defaults: reproducible layouts unless asked
# (a UMAP random_state makes umap-learn run single-threaded; pass random_state=None for speed).
_ACCEPTED: dict[str, dict[str, Any]] = {
    "pca": {"random_state": 0},
    "umap": {**_UMAP_COMMON, "densmap": False, "low_memory": True, "n_jobs": None},
    "tsne": {
        "perplexity": 30.0, "metric": "euclidean", "random_state": 0, "n_iter": 500, "learning_rate": "auto",
        "early_exaggeration": "auto", "early_exaggeration_iter": 250, "initialization": "pca",
        "exaggeration": None, "dof": 1, "neighbors": "auto", "negative_gradient_method": "auto", "n_jobs": 1,
        "theta": 0.5,
    },
    "aligned_umap": {
        **_UMAP_COMMON, "n_epochs": 200, "low_memory": False, "alignment_regularisation": 0.01,
        "alignment_window_size": 3,
    },
}
# nbviz's own parameters, not passed to the library: ``fit_sample`` items (a random sample) are fitted, the others
# placed by the fitted model's transform (None: fit all). See :func:`~.projection_scale.sampling_note`.
_OWN: dict[str, dict[str, Any]] = {"umap": {"fit_sample": FIT_SAMPLE}, "tsne": {"fit_sample": FIT_SAMPLE}}
__all__ = ["CACHE", "CHECKED_METHODS", "METHODS", "ProjectionCache", "aligned_umap", "check_projection", "content_key",
           "pca", "project", "project_cached", "sampling_note"]


def pca(x: np.ndarray, n_components: int = 2, random_state: int = 0) -> np.ndarray:
    """Project ``x`` (N, D) onto its first ``n_components`` principal components, as float32.

    Uses scikit-learn's randomized solver when the data is large, which is exact enough for display and keeps
    the first picture fast. Components beyond D (or N) come back as zeros so the result is always (N, n).

    Parameters
    ----------
    x
        (N, D) features.
    n_components
        Number of output columns.
    random_state
        Seed of the randomized solver.

    Returns
    -------
    numpy.ndarray
        (N, n_components) float32.
    """
    from sklearn.decomposition import PCA

    if isinstance(x, np.ndarray) and is_large(x):
        # Large or memory-mapped: covariance by row blocks (scikit-learn would centre a full copy).
        return pca_blocks(as_features_matrix(x, check=False), n_components, random_state)[0]
    x = as_matrix(x, min_rows=0)
    n, d = x.shape
    k = min(n_components, d, n)
    out = np.zeros((n, n_components), dtype=np.float32)
    if k == 0:
        return out
    solver = "randomized" if n * d > 2_000_000 and k < min(n, d) // 2 else "full"
    out[:, :k] = PCA(n_components=k, svd_solver=solver, random_state=random_state).fit_transform(x)
    return out


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_projection(method: str, n: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate a projection of N items before any work; return its full parameters with nbviz's defaults.

    Parameters
    ----------
    method
        One of :data:`CHECKED_METHODS`: "pca", "umap", "tsne" or "aligned_umap".
    n
        Number of items N (at least 3).
    params
        Keyword arguments for the library: scikit-learn PCA (``random_state``), ``umap.UMAP``,
        ``openTSNE.TSNE`` or ``umap.AlignedUMAP``. Unknown names are an error listing the accepted ones. UMAP and
        t-SNE also take nbviz's ``fit_sample`` (default 100,000; None: all): above it, a random sample is fitted
        and the other items placed by ``transform`` (:func:`sampling_note` words it for the view).

    Returns
    -------
    dict
        ``params`` over the defaults of that method.

    Raises
    ------
    ValueError
        Unknown method or parameter name; N < 3; UMAP ``n_neighbors`` outside 2..N-1; t-SNE ``perplexity``
        not in (0, (N - 1) / 3); a seed, epoch or iteration count that is not a non-negative int.
    """
    if method not in CHECKED_METHODS:
        raise ValueError(f"method must be one of {CHECKED_METHODS}, got {method!r}")
    if not _is_int(n) or n < 3:
        raise ValueError(f"a projection needs at least 3 items, got N = {n!r}")
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"params must be a dict of {method} parameters or None, got {type(params).__name__}")
    accepted = {**_ACCEPTED[method], **_OWN.get(method, {})}
    params = dict(params or {})
    unknown = sorted(set(params) - set(accepted), key=str)
    if unknown:
        raise ValueError(f"unknown {method} parameter(s) {unknown}; accepted: {sorted(accepted)}")
    full = {**accepted, **params}
    seed = full["random_state"]
    if seed is not None and not (_is_int(seed) and seed >= 0):
        raise ValueError(f"random_state must be a non-negative int or None, got {seed!r}")
    if method in ("umap", "aligned_umap"):
        k = full["n_neighbors"]
        if not _is_int(k) or not 2 <= k <= n - 1:
            raise ValueError(f"n_neighbors must be an int from 2 to N - 1 = {n - 1} for N = {n}, got {k!r}")
        epochs = full["n_epochs"]
        if epochs is not None and not (_is_int(epochs) and epochs >= 0):
            raise ValueError(f"n_epochs must be a non-negative int or None, got {epochs!r}")
        md = full["min_dist"]
        if isinstance(md, bool) or not isinstance(md, (int, float, np.number)) or not 0 <= md <= full["spread"]:
            raise ValueError(f"min_dist must be a number from 0 to spread = {full['spread']!r}, "
                             f"got {full['min_dist']!r}")
    if method in _OWN:
        low = full["n_neighbors"] + 2 if method == "umap" else int(3 * full["perplexity"]) + 2
        size = full["fit_sample"]
        if size is not None and not (_is_int(size) and size >= low):
            raise ValueError(f"fit_sample must be None (fit all items) or an int >= {low} (the neighbours each fitted "
                             f"item needs), got {size!r}")
    if method == "tsne":
        p = full["perplexity"]
        bound = (n - 1) / 3
        if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or not 0 < p < bound:
            raise ValueError(f"perplexity must be above 0 and below (N - 1) / 3 = {bound:.1f} for N = {n}, got {p!r}")
        for name in ("n_iter", "early_exaggeration_iter"):
            if not _is_int(full[name]) or full[name] < 0:
                raise ValueError(f"{name} must be a non-negative int, got {full[name]!r}")
    return full


def _noop(fraction: float, status: str) -> None:
    pass


def _umap_kwargs(full: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: v for k, v in full.items() if k not in _OWN["umap"]}
    if kwargs.get("n_jobs", 0) is None:
        # umap-learn is single-threaded with a seed anyway; saying so avoids its warning about it.
        kwargs["n_jobs"] = 1 if kwargs["random_state"] is not None else -1
    return kwargs


_UMAP_CLASS: list[type] = []


def _reporting_umap() -> type:
    """``umap.UMAP`` that says when the neighbour graph is done and the layout optimisation starts.

    umap-learn has no progress callback; ``_fit_embed_data`` is its documented hook for subclasses and is
    called once, between the two stages.
    """
    if not _UMAP_CLASS:
        import umap

        class ReportingUMAP(umap.UMAP):  # type: ignore[misc]
            nbviz_report: Progress = staticmethod(_noop)

            def _fit_embed_data(self, X: Any, n_epochs: Any, init: Any, random_state: Any, **kwargs: Any) -> Any:
                self.nbviz_report(0.5, f"UMAP: optimising the layout ({n_epochs} epochs)")
                return super()._fit_embed_data(X, n_epochs, init, random_state, **kwargs)

        _UMAP_CLASS.append(ReportingUMAP)
    return _UMAP_CLASS[0]


def project(x: np.ndarray, method: str, params: dict[str, Any] | None = None,
            progress: Progress | None = None) -> np.ndarray:
    """Project ``x`` to 2-D with scikit-learn PCA, ``umap.UMAP`` or ``openTSNE.TSNE``.

    Parameters
    ----------
    x
        (N, D) features (numpy array or torch tensor), finite, N >= 3.
    method
        "pca", "umap" or "tsne" (see :data:`METHODS`).
    params
        Library keyword arguments; checked by :func:`check_projection` before any work.
    progress
        ``progress(fraction, status)``, called with 0.0 first, 1.0 last and non-decreasing fractions between:
        real iteration counts for t-SNE (through openTSNE's callbacks), stages for UMAP (neighbour graph,
        layout optimisation). It is called on the thread that runs ``project``.

    Returns
    -------
    numpy.ndarray
        (N, 2) float32, C-contiguous, a fresh writable array.
    """
    report = progress or _noop
    if method == "aligned_umap":
        raise ValueError("method='aligned_umap' projects several feature sets: use aligned_umap(xs)")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = as_features_matrix(x, check=method != "pca")  # PCA checks finiteness in its own pass
    full = check_projection(method, len(x), params)
    if method == "pca":
        report(0.0, "PCA: computing the principal components")
        out = pca(x, 2, full["random_state"])
    elif full["fit_sample"] is not None and len(x) > full["fit_sample"]:
        fit, transform = (_umap_fit, _umap_transform) if method == "umap" else (_tsne_fit, _tsne_transform)
        out = fit_on_sample(x, full["fit_sample"], full["random_state"], lambda xs, rep: fit(xs, full, rep),
                            transform, report, _NAMES[method])
    else:
        out = _umap_transform(_umap_fit(x, full, report), None) if method == "umap" else \
            _tsne_transform(_tsne_fit(x, full, report), None)
    report(1.0, f"{_NAMES[method]}: done")
    return np.ascontiguousarray(out, dtype=np.float32)


_NAMES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}


def _umap_fit(x: np.ndarray, full: dict[str, Any], report: Progress) -> Any:
    report(0.0, "UMAP: building the neighbour graph")
    mapper = _reporting_umap()(n_components=2, **_umap_kwargs(full))
    mapper.nbviz_report = report
    return mapper.fit(x)


def _umap_transform(mapper: Any, rows: np.ndarray | None) -> np.ndarray:
    return np.asarray(mapper.embedding_ if rows is None else mapper.transform(rows))


def _tsne_transform(embedding: Any, rows: np.ndarray | None) -> np.ndarray:
    if rows is None:
        return np.asarray(embedding)
    # The partial embeddings inherit the fit's callbacks, which would report the fit's progress again.
    embedding.gradient_descent_params["callbacks"] = None
    return np.asarray(embedding.transform(rows))


class _TSNEProgress:
    """openTSNE callback: maps (phase, iteration) to the fraction of all iterations done."""

    def __init__(self, report: Progress, phases: list[int], start: float) -> None:
        self.report, self.phases, self.start = report, phases, start
        self.phase = -1
        self.total = max(1, sum(phases))

    def optimization_about_to_start(self) -> None:
        self.phase += 1
        if self.phase == 0:
            self.report(self.start, "t-SNE: optimising the layout")

    def __call__(self, iteration: int, error: float, embedding: Any) -> bool:
        done = sum(self.phases[:max(self.phase, 0)]) + iteration
        fraction = self.start + (0.99 - self.start) * min(done / self.total, 1.0)
        self.report(fraction, f"t-SNE: iteration {done} of {self.total}, KL divergence {error:.3f}")
        return False  # never stop early


def _tsne_fit(x: np.ndarray, full: dict[str, Any], report: Progress) -> Any:
    import openTSNE

    report(0.0, "t-SNE: finding neighbours and affinities")
    phases = [full["early_exaggeration_iter"], full["n_iter"]]
    # About 50 reports in all: each one makes openTSNE evaluate the KL divergence, which is not free.
    every = max(1, sum(phases) // 50)
    callback = _TSNEProgress(report, phases, start=0.1)
    kwargs = {k: v for k, v in full.items() if k not in _OWN["tsne"]}
    return openTSNE.TSNE(n_components=2, callbacks=[callback], callbacks_every_iters=every, **kwargs).fit(x)


def aligned_umap(xs: list[np.ndarray], params: dict[str, Any] | None = None,
                 progress: Progress | None = None) -> list[np.ndarray]:
    """AlignedUMAP layouts of several feature sets of the same N items (e.g. a layer sweep), one per set.

    Consecutive sets are related by identity (item i is item i in every set), so the layouts move as little
    as the data allows from one set to the next.

    Parameters
    ----------
    xs
        At least 2 arrays (N, D_s): the same N, each its own D_s.
    params
        ``umap.AlignedUMAP`` keyword arguments (``check_projection("aligned_umap", ...)``).
    progress
        ``progress(fraction, status)`` at the start (0.0) and end (1.0).

    Returns
    -------
    list of numpy.ndarray
        One (N, 2) float32 layout per set.
    """
    report = progress or _noop
    if not isinstance(xs, (list, tuple)) or len(xs) < 2:
        got = f"{len(xs)} set(s)" if isinstance(xs, (list, tuple)) else type(xs).__name__
        raise ValueError(f"xs must be a list of at least 2 feature sets, got {got}")
    arrays = [as_matrix(x, f"xs[{i}]", min_rows=0) for i, x in enumerate(xs)]
    sizes = [len(a) for a in arrays]
    for i, s in enumerate(sizes):
        if s != sizes[0]:
            raise ValueError(f"feature set {i} has {s} items but set 0 has {sizes[0]}; all must be equal")
    full = check_projection("aligned_umap", sizes[0], params)
    import umap

    report(0.0, f"AlignedUMAP: {len(arrays)} sets of {sizes[0]} items")
    identity = {i: i for i in range(sizes[0])}
    mapper = umap.AlignedUMAP(n_components=2, **full).fit(arrays, relations=[identity] * (len(arrays) - 1))
    report(1.0, "AlignedUMAP: done")
    return [np.ascontiguousarray(e, dtype=np.float32) for e in mapper.embeddings_]


def _feed(h: Any, value: Any) -> None:
    """Hash a parameter value: arrays by content (their repr would elide the middle), the rest by repr."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        h.update(f"ndarray{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B") if a.dtype.kind != "O" else repr(a.tolist()).encode())  # pyright: ignore[reportArgumentType] - numpy stubs: __buffer__ is 3.12+
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}(".encode())
        for v in value:
            _feed(h, v)
        h.update(b")")
    elif isinstance(value, dict):
        h.update(f"dict{len(value)}(".encode())
        for k in sorted(value, key=repr):
            h.update(repr(k).encode())
            _feed(h, value[k])
        h.update(b")")
    else:
        h.update(f"{type(value).__name__}:{value!r};".encode())


def content_key(*arrays: np.ndarray, **params: Any) -> str:
    """A hash of the arrays' bytes, dtypes and shapes and of the parameters: equal inputs, equal key.

    BLAKE2b over the raw bytes (about 1 GB/s); array-valued parameters (e.g. a UMAP ``init``) are hashed by
    content too. Parameter order does not matter.

    Parameters
    ----------
    *arrays
        numpy arrays or torch tensors.
    **params
        Anything else the result depends on.

    Returns
    -------
    str
        40 hex digits.
    """
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        _feed(h, a if isinstance(a, np.ndarray) or hasattr(a, "detach") else np.asarray(a))
    for name in sorted(params):
        h.update(f"|{name}=".encode())
        _feed(h, params[name])
    return h.hexdigest()


class ProjectionCache:
    """A thread-safe in-memory LRU of finished layouts.

    Values are stored and returned as read-only arrays (or lists of them): a hit returns the very same object,
    without a copy; call ``.copy()`` to modify one.

    Parameters
    ----------
    max_entries
        How many results are kept; the least recently used goes first.
    """

    def __init__(self, max_entries: int = 16) -> None:
        if not _is_int(max_entries) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive int, got {max_entries!r}")
        self.max_entries = int(max_entries)
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[str, threading.Lock] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: str) -> Any:
        """The cached value of ``key`` (marked as recently used), or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: str, value: Any) -> Any:
        """Store ``value`` (made read-only) under ``key``; returns it."""
        for a in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(a, np.ndarray):
                a.setflags(write=False)
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """The cached value of ``key``, else ``compute()`` stored under it.

        Concurrent callers with the same key compute once: the others wait and get the stored value. When
        ``compute`` raises, nothing is stored and the error propagates.
        """
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            try:
                found = self.get(key)
                if found is not None:
                    return found
                return self.put(key, compute())
            finally:
                with self._lock:
                    if self._pending.get(key) is pending:
                        del self._pending[key]


CACHE = ProjectionCache()


def project_cached(x: np.ndarray, method: str, params: dict[str, Any] | None = None,
                   progress: Progress | None = None) -> np.ndarray:
    """:func:`project`, answered from :data:`CACHE` when the same data and parameters were projected before.

    The key is ``content_key(x, method=method, **full_params)`` (defaults filled in, so ``{}`` and the
    explicit defaults share an entry). On a hit ``progress`` is called once with (1.0, "... cached").

    Returns
    -------
    numpy.ndarray
        (N, 2) float32, **read-only**, shared with the cache (copy it to modify).
    """
    a = as_features_matrix(x)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    full = check_projection(method, len(a), params)
    key = content_key(a, method=method, **full)
    found = CACHE.get(key)
    if found is not None:
        if progress is not None:
            progress(1.0, f"{_NAMES[method]}: cached")
        return found
    return CACHE.get_or_compute(key, lambda: project(a, method, full, progress))
