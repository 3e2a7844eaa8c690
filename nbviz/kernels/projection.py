"""Projections of N-D features to 2-D: PCA, UMAP, openTSNE t-SNE, AlignedUMAP; cached by content."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

METHODS = ("pca", "umap", "tsne", "aligned_umap")
Progress = Callable[[float, str], None]

# Parameters passed through to each library, with nbviz's defaults (reproducible layouts unless asked).
_ACCEPTED: dict[str, dict[str, Any]] = {
    "pca": {"random_state": 0},
    "umap": {
        "n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean", "random_state": 0, "spread": 1.0,
        "n_epochs": None, "init": "spectral", "densmap": False, "low_memory": True, "learning_rate": 1.0,
        "set_op_mix_ratio": 1.0, "local_connectivity": 1.0, "repulsion_strength": 1.0, "negative_sample_rate": 5,
    },
    "tsne": {
        "perplexity": 30.0, "metric": "euclidean", "random_state": 0, "n_iter": 500, "learning_rate": "auto",
        "early_exaggeration": "auto", "early_exaggeration_iter": 250, "initialization": "pca",
        "exaggeration": None, "dof": 1, "neighbors": "auto", "negative_gradient_method": "auto", "n_jobs": 1,
        "theta": 0.5,
    },
    "aligned_umap": {
        "n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean", "random_state": 0, "n_epochs": 200,
        "alignment_regularisation": 0.01, "alignment_window_size": 3, "spread": 1.0, "learning_rate": 1.0,
        "init": "spectral", "set_op_mix_ratio": 1.0, "local_connectivity": 1.0, "repulsion_strength": 1.0,
        "negative_sample_rate": 5,
    },
}


def pca(x: np.ndarray, n_components: int = 2, random_state: int = 0) -> np.ndarray:
    """Project ``x`` (N, D) onto its first ``n_components`` principal components, as float32.

    Uses scikit-learn's randomized solver when the data is large, which is exact enough for display and keeps
    the first picture fast. Components beyond D (or N) come back as zeros so the result is always (N, n).
    """
    from sklearn.decomposition import PCA

    x = np.asarray(x, dtype=np.float32)
    n, d = x.shape
    k = min(n_components, d, n)
    out = np.zeros((n, n_components), dtype=np.float32)
    if k == 0:
        return out
    solver = "randomized" if n * d > 2_000_000 and k < min(n, d) // 2 else "full"
    out[:, :k] = PCA(n_components=k, svd_solver=solver, random_state=random_state).fit_transform(x)
    return out


def check_projection(method: str, n: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate a projection's parameters for N items before any work; returns them with nbviz's defaults."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if n < 3:
        raise ValueError(f"a projection needs at least 3 items, got N = {n}")
    accepted = _ACCEPTED[method]
    params = dict(params or {})
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"unknown {method} parameter(s) {unknown}; accepted: {sorted(accepted)}")
    full = {**accepted, **params}
    if method in ("umap", "aligned_umap"):
        k = full["n_neighbors"]
        if not isinstance(k, (int, np.integer)) or not 2 <= k <= n - 1:
            raise ValueError(f"n_neighbors must be an int from 2 to N - 1 = {n - 1} for N = {n}, got {k!r}")
    if method == "tsne":
        p = full["perplexity"]
        bound = (n - 1) / 3
        if not isinstance(p, (int, float, np.number)) or not 0 < p < bound:
            raise ValueError(f"perplexity must be above 0 and below (N - 1) / 3 = {bound:.1f} for N = {n}, got {p!r}")
    return full


def _noop(fraction: float, status: str) -> None:
    pass


def project(x: np.ndarray, method: str, params: dict[str, Any] | None = None,
            progress: Progress | None = None) -> np.ndarray:
    """Project ``x`` (N, D) to (N, 2) float32 with "pca", "umap" or "tsne"; ``progress(fraction, status)``."""
    report = progress or _noop
    x = np.ascontiguousarray(x, dtype=np.float32)
    full = check_projection(method, len(x), params)
    if method == "aligned_umap":
        raise ValueError("method='aligned_umap' projects several feature sets: use aligned_umap(xs)")
    report(0.0, f"{method}: starting")
    if method == "pca":
        out = pca(x, 2, full["random_state"])
    elif method == "umap":
        import umap

        report(0.05, "UMAP: building the neighbour graph and optimising the layout")
        out = umap.UMAP(n_components=2, **full).fit_transform(x)
    else:
        out = _tsne(x, full, report)
    report(1.0, f"{method}: done")
    return np.ascontiguousarray(out, dtype=np.float32)


def _tsne(x: np.ndarray, full: dict[str, Any], report: Progress) -> np.ndarray:
    import openTSNE

    total = full["early_exaggeration_iter"] + full["n_iter"]
    done = [0]
    every = 25

    def callback(iteration: int, error: float, embedding: Any) -> bool:
        done[0] += every
        report(min(0.05 + 0.95 * done[0] / total, 0.99), f"t-SNE: iteration {done[0]} of {total}")
        return False

    report(0.02, "t-SNE: finding neighbours")
    tsne = openTSNE.TSNE(n_components=2, callbacks=callback, callbacks_every_iters=every, **full)
    return np.asarray(tsne.fit(x))


def aligned_umap(xs: list[np.ndarray], params: dict[str, Any] | None = None,
                 progress: Progress | None = None) -> list[np.ndarray]:
    """AlignedUMAP layouts of several feature sets of the same N items (e.g. a layer sweep), one per set."""
    report = progress or _noop
    if len(xs) < 2:
        raise ValueError(f"aligned_umap needs at least 2 feature sets, got {len(xs)}")
    sizes = [len(x) for x in xs]
    if len(set(sizes)) > 1:
        bad = next(i for i, s in enumerate(sizes) if s != sizes[0])
        raise ValueError(f"feature set {bad} has {sizes[bad]} items but set 0 has {sizes[0]}; all must be equal")
    full = check_projection("aligned_umap", sizes[0], params)
    import umap

    report(0.05, f"AlignedUMAP: {len(xs)} sets of {sizes[0]} items")
    identity = {i: i for i in range(sizes[0])}
    mapper = umap.AlignedUMAP(n_components=2, **full).fit(
        [np.ascontiguousarray(x, dtype=np.float32) for x in xs], relations=[identity] * (len(xs) - 1))
    report(1.0, "AlignedUMAP: done")
    return [np.ascontiguousarray(e, dtype=np.float32) for e in mapper.embeddings_]


def content_key(*arrays: np.ndarray, **params: Any) -> str:
    """A hash of the arrays' bytes, dtypes and shapes and of the parameters: equal inputs, equal key."""
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    h.update(repr(sorted(params.items())).encode())
    return h.hexdigest()


class ProjectionCache:
    """A small thread-safe LRU of finished layouts; entries are read-only arrays (or lists of them)."""

    def __init__(self, max_entries: int = 16) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        for a in value if isinstance(value, list) else [value]:
            a.setflags(write=False)
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value


CACHE = ProjectionCache()


def project_cached(x: np.ndarray, method: str, params: dict[str, Any] | None = None,
                   progress: Progress | None = None) -> np.ndarray:
    """:func:`project`, answered from :data:`CACHE` when the same data and parameters were projected before."""
    full = check_projection(method, len(x), params)
    return CACHE.get_or_compute(content_key(x, method=method, **full), lambda: project(x, method, full, progress))
