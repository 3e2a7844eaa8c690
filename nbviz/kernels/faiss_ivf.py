"""Nearest-neighbour candidates from a FAISS inverted-file index, re-measured exactly (the optional ``faiss`` extra).

The index (``IndexIVFScalarQuantizer``, 8 bits per feature) holds a quarter of the data's bytes: at 10M x 128 that
is 1.3 GB beside a 5.1 GB (maybe memory-mapped) array, where a flat copy would double it. Its distances are coarse,
so it only proposes candidates; they are re-measured in float64 from the features themselves, which makes every
distance returned exact and breaks ties by index, as the exact search does. Recall is what the index loses:
how many cells are searched is chosen on a sample of items whose exact neighbours are computed.

Used by :class:`~nbviz.kernels.neighbors.NeighborIndex` for single queries on large N (and by
:func:`~nbviz.kernels.knn_graph.knn_graph` on request). Without faiss installed, :func:`load_faiss` says once how to
install it and returns None; queries then scan all items (exact, slower past ~2M items).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

INSTALL_HINT = 'pip install "nbviz[faiss]"'
#: Rows added to (or searched in) the index at a time: a 128 MB float32 block at D = 128, never the whole input.
_BLOCK = 1 << 18
#: faiss's k-means wants at least 39 training points per cell; 64 gives stabler cells at a small cost.
_TRAIN_PER_CELL = 64
_warned = False
_warn_lock = threading.Lock()


def load_faiss() -> Any | None:
    """The ``faiss`` module, or None when it is not installed (then a warning, once per process, says how)."""
    global _warned
    try:
        import faiss
    except ImportError:
        with _warn_lock:
            if not _warned:
                _warned = True
                warnings.warn(f"faiss is not installed, so large kNN searches use slower fallbacks; for the fast "
                              f"index run: {INSTALL_HINT}", RuntimeWarning, stacklevel=3)
        return None
    return faiss


def default_cells(n: int) -> int:
    """About sqrt(N) cells (the usual IVF balance of probe cost against cell size), each with enough training
    points."""
    return max(1, min(int(round(np.sqrt(n))), n // _TRAIN_PER_CELL))


class IvfIndex:
    """An IVF-SQ8 FAISS index over the rows of ``x``, built by adding blocks of rows.

    Parameters
    ----------
    x
        (N, D) C-contiguous float32 features (an ``np.memmap`` stays mapped: only a training sample and one block
        at a time are copied); unit rows when ``cosine``.
    cosine
        Inner-product search (on unit rows: the cosine metric) instead of L2.
    seed
        Seed of the training sample and of k-means.
    cells
        Cells of the inverted file; by default :func:`default_cells`.
    """

    def __init__(self, x: np.ndarray, cosine: bool, seed: int = 0, cells: int | None = None) -> None:
        faiss = load_faiss()
        if faiss is None:
            raise ImportError(f"IvfIndex needs faiss: {INSTALL_HINT}")
        n, d = x.shape
        self.x, self.cosine = x, cosine
        self.cells = default_cells(n) if cells is None else int(cells)
        metric = faiss.METRIC_INNER_PRODUCT if cosine else faiss.METRIC_L2
        quantizer = faiss.IndexFlatIP(d) if cosine else faiss.IndexFlatL2(d)
        index = faiss.IndexIVFScalarQuantizer(quantizer, d, self.cells, faiss.ScalarQuantizer.QT_8bit, metric)
        index.cp.seed = seed
        index.cp.niter = 10  # the cells only need to be good enough to group neighbours; candidates are re-measured
        rng = np.random.default_rng(seed)
        train = np.sort(rng.choice(n, size=min(n, _TRAIN_PER_CELL * self.cells), replace=False))
        index.train(np.ascontiguousarray(x[train], dtype=np.float32))
        for s in range(0, n, _BLOCK):
            index.add(np.ascontiguousarray(x[s:s + _BLOCK], dtype=np.float32))
        self.index, self.quantizer = index, quantizer  # the quantizer must outlive the index (SWIG ownership)
        self._lock = threading.Lock()

    def candidates(self, q: np.ndarray, m: int, probes: int) -> np.ndarray:
        """int64 (len(q), m) ids of the ``m`` nearest items to each row of ``q`` by the index's coarse distances,
        searching ``probes`` cells; -1 where the probed cells hold fewer than ``m`` items."""
        with self._lock:  # nprobe is state on the shared index
            self.index.nprobe = int(min(probes, self.cells))
            return np.concatenate([self.index.search(np.ascontiguousarray(q[s:s + _BLOCK]), m)[1]
                                   for s in range(0, len(q), _BLOCK)]) if len(q) else np.empty((0, m), np.int64)

    def search(self, q: np.ndarray, k: int, probes: int, exclude: np.ndarray | None = None, slack: int = 8
               ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest items to each row of ``q``: ``k + slack`` candidates from the index, re-measured.

        ``exclude[r]`` (an item id, or -1) is never returned for row r. Returns int64 ids and float64 squared-L2
        / 1 - cos distances (rows x k), nearest first, ties by index; -1 and inf where fewer than k were found.
        """
        m = k + slack + (exclude is not None)
        ids = self.candidates(q, m, probes)
        if exclude is not None:
            ids[ids == np.asarray(exclude)[:, None]] = -1
        dist = remeasure(self.x, self.cosine, q, ids)
        order = np.lexsort((np.where(ids < 0, np.iinfo(np.int64).max, ids), dist), axis=1)[:, :k]
        return np.take_along_axis(ids, order, axis=1), np.take_along_axis(dist, order, axis=1)


def remeasure(x: np.ndarray, cosine: bool, q: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """float64 squared-L2 (or 1 - cos) distances from rows of ``q`` to items ``ids`` of ``x`` (rows x c; id -1:
    inf), in chunks of about 16 MB."""
    out = np.full(ids.shape, np.inf)
    rows = max(1, (16 << 20) // (8 * max(1, ids.shape[1]) * x.shape[1]))
    for s in range(0, len(ids), rows):
        part = ids[s:s + rows]
        ok = part >= 0
        other = x[np.where(ok, part, 0)].astype(np.float64)  # (rows, c, D)
        q64 = q[s:s + rows, None].astype(np.float64)
        d = 1.0 - (other @ q64.transpose(0, 2, 1))[..., 0] if cosine else ((other - q64) ** 2).sum(axis=2)
        out[s:s + rows] = np.where(ok, d, np.inf)
    return out


def recall(found: np.ndarray, true: np.ndarray) -> float:
    """Share of the rows of ``true`` found in the same rows of ``found`` (recall@k; rows hold distinct ids)."""
    both = np.sort(np.concatenate([found, true], axis=1), axis=1)
    return float(((both[:, 1:] == both[:, :-1]) & (both[:, 1:] >= 0)).sum() / true.size)


def tune_probes(index: IvfIndex, sample: np.ndarray, true: np.ndarray, target: float, exclude: bool,
                max_probes: int | None = None) -> tuple[int, float] | None:
    """The fewest cells to search (doubling from 1) with which the recall on ``sample`` (items, with exact
    neighbours ``true``) exceeds ``target`` by two standard errors; with that recall. None when that takes more
    than ``max_probes`` cells (default: all)."""
    q, k = index.x[sample], true.shape[1]
    limit = index.cells if max_probes is None else max_probes
    probes = 1
    while True:
        got, _ = index.search(q, k, probes, sample if exclude else None)
        per_row = np.array([recall(got[r:r + 1], true[r:r + 1]) for r in range(len(sample))])
        low = per_row.mean() - 2 * per_row.std() / np.sqrt(len(sample))
        if low >= target or probes >= index.cells:
            return (probes, float(per_row.mean())) if probes <= limit else None
        probes = min(2 * probes, index.cells)
        if probes > limit:
            return None


def exact_sample(x: np.ndarray, sample: np.ndarray, k: int, cosine: bool, exclude: bool) -> np.ndarray:
    """Exact k nearest (other, when ``exclude``) items of the items ``sample``: faiss's blocked brute force (one
    pass over ``x``, no copy) proposes k + 8, re-measured in float64. For measuring recall."""
    faiss = load_faiss()
    if faiss is None:
        raise ImportError('exact_sample needs faiss: pip install "nbviz[faiss]"')
    metric = faiss.METRIC_INNER_PRODUCT if cosine else faiss.METRIC_L2
    q = np.ascontiguousarray(x[sample], dtype=np.float32)
    m = min(len(x), k + 8 + exclude)
    ids = faiss.knn(q, x, m, metric=metric)[1]
    if exclude:
        ids[ids == sample[:, None]] = -1
    dist = remeasure(x, cosine, q, ids)
    order = np.lexsort((np.where(ids < 0, np.iinfo(np.int64).max, ids), dist), axis=1)[:, :k]
    return np.take_along_axis(ids, order, axis=1)
