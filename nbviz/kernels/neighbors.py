"""Nearest neighbours in the N-D feature space (the click-to-neighbours grid, agreement scores).

Distances are first computed for all items with one float32 matrix product (``|x|^2 - 2 x.q + |q|^2`` for the
Euclidean metric, ``1 - x.q`` on unit rows for the cosine one). The few candidates that can be among the k nearest
are then re-measured in float64, so the distances returned are accurate and exact ties (duplicate points) are
broken by index, whatever rounding the fast pass made.

:func:`knn_all` finds the exact neighbours of every item at once; :mod:`nbviz.kernels.knn_graph` builds on it (and
on :class:`Search`) an inverted-file index for large N.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..checks import as_matrix
from . import faiss_ivf
from ._parallel import parallel_map, thread_count

if TYPE_CHECKING:
    import torch  # for annotations; the functions import it when they run

METRICS = ("euclidean", "cosine")

#: Candidates kept beyond k before the exact re-measure; enough that the check below almost never fails.
_SLACK = 32
#: From this many values (N x D) on, queries go through an index when faiss is installed: an exact scan of 2^28
#: float32 (1 GB; 2.1M items of 128 features) takes ~50 ms on two cores (benchmarks/knn.py: 23 ms at 1M x 128, 117
#: ms at 10M), a third of the click budget; past it the scan nears the budget when other work shares the cores.
INDEX_MIN_VALUES = 1 << 28
#: Recall@k the query index is tuned to (on a sample, by two standard errors); its distances are exact.
QUERY_RECALL = 0.99
#: Items whose exact neighbours tune the query index (one blocked brute-force pass over the data).
_QUERY_SAMPLE = 200
#: Largest k answered by the index; larger ones are a scan anyway.
_INDEX_MAX_K = 1024
_EPS32 = float(np.finfo(np.float32).eps)


def _check_metric(metric: object) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return str(metric)


def check_k(k: object, limit: int, n: int) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= limit:
        raise ValueError(f"k must be an int between 1 and {limit} (N = {n}), got {k!r}")
    return int(k)


def _row_sq(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x, dtype=np.float64).astype(np.float32)


def _select(
    approx: np.ndarray, k: int, tol: float, exact: Callable[[np.ndarray], np.ndarray], exclude: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest of one row of distances, exactly, with ties by index.

    ``approx`` holds fast (float32) distances in the units of ``exact`` (squared L2 or 1 - cos), off by at most
    ``tol``; ``exact(indices)`` re-measures a few in float64. Item ``exclude`` is never returned. ``approx``
    may be overwritten.
    """
    n = len(approx)
    if exclude is not None:
        approx[exclude] = np.inf
    m = min(n, k + _SLACK + (exclude is not None))
    cand = np.argpartition(approx, m - 1)[:m] if m < n else np.arange(n)
    if exclude is not None:
        cand = cand[cand != exclude]
    d = exact(cand)
    order = np.lexsort((cand, d))[:k]
    kth = d[order[-1]]
    # Every item left out has a fast distance >= the largest candidate's, so a true distance >= that - tol.
    # Only when that could reach the k-th exact distance (many near-ties) look again at all items that close.
    if m < n and float(approx[cand].max()) - tol <= kth:
        cand = np.flatnonzero(approx <= kth + tol)
        if exclude is not None:
            cand = cand[cand != exclude]
        d = exact(cand)
        order = np.lexsort((cand, d))[:k]
    return cand[order].astype(np.int64), d[order]


class Neighbors(NamedTuple):
    """The k nearest items, nearest first. Read the fields by name: scikit-learn and faiss return (distances,
    indices), the other order, so positional unpacking is easy to get wrong across libraries."""

    #: int64 (k,) item indices.
    indices: np.ndarray
    #: float32 (k,) distances in the index's metric.
    distances: np.ndarray


class NeighborIndex:
    """kNN over (N, D) features: exact (one matrix-vector product and a partial sort per query), or through a
    FAISS index for large N (see ``approximate``).

    Parameters
    ----------
    x
        (N, D) features: numpy array or torch tensor of real numbers, finite. Converted to C-contiguous
        float32; when ``x`` already is that and the metric is Euclidean, the index shares its memory (do not
        modify ``x`` afterwards).
    metric
        "euclidean" (true L2 distance) or "cosine" (1 - cosine similarity; a zero vector is at cosine
        distance 1 from everything).
    approximate
        False: every query scans all items (exact). True: queries search a FAISS IVF index built at the first
        query (:mod:`nbviz.kernels.faiss_ivf`; needs the ``faiss`` extra): candidates from the cells nearest the
        query, re-measured exactly, with the number of cells tuned so that recall@10 on a sample is at least
        :data:`QUERY_RECALL` (``recall`` says what was measured). None: the index from
        :data:`INDEX_MIN_VALUES` N x D values on when faiss is installed (else exact, with a warning once).

    Attributes
    ----------
    recall, probes
        Recall@10 of the query index measured on a sample of items (1.0 while queries are exact), and the cells
        each query searches.
    build_error
        The exception a background build (``build(wait=False)``) raised, else None.

    Raises
    ------
    ValueError
        If ``metric`` is not one of :data:`METRICS`, or ``x`` is not 2-D or holds NaN/inf.
    TypeError
        If ``x`` does not hold real numbers.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(1000, 16)).astype("float32")
    >>> nn = NeighborIndex(x).query(0, 5)
    >>> nn.indices.dtype, nn.distances.dtype, nn.indices.shape
    (dtype('int64'), dtype('float32'), (5,))
    """

    def __init__(self, x: np.ndarray, metric: str = "euclidean", approximate: bool | None = None) -> None:
        self.metric = _check_metric(metric)
        if approximate not in (None, True, False):
            raise ValueError(f"approximate must be True, False or None (by size), got {approximate!r}")
        x = as_matrix(x)
        if metric == "cosine":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = x / np.where(norms > 0, norms, 1).astype(np.float32)
        self.x = x
        # Squared norms once, so a Euclidean query is |x|^2 - 2 x.q + |q|^2 from a single GEMV.
        self.sq = _row_sq(x)
        self._sq_max = float(self.sq.max())
        # One reusable output buffer for the GEMV: a fresh 4 MB array per query costs more in page faults
        # than the arithmetic on it. The lock keeps concurrent queries (widget threads) from sharing it.
        self._buf = np.empty(len(x), dtype=np.float32)
        self._lock = threading.Lock()
        self.recall, self.probes = 1.0, 0
        self._ivf: faiss_ivf.IvfIndex | None = None
        self._builder: threading.Thread | None = None
        self.build_error: Exception | None = None
        if approximate is None:
            approximate = x.size >= INDEX_MIN_VALUES and len(x) > _INDEX_MAX_K and faiss_ivf.load_faiss() is not None
        elif approximate and faiss_ivf.load_faiss() is None:
            raise ImportError(f"approximate=True needs faiss: {faiss_ivf.INSTALL_HINT}")
        self.approximate = bool(approximate)
        self._build_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.x)

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return int(self.x.shape[1])

    def _tol(self, qq: float) -> float:
        # A bound on the float32 error of the fast distances: the dot product accumulates up to D roundings
        # of |x||q| <= (|x|^2 + |q|^2) / 2; the norms and sums add a few more.
        d = self.x.shape[1]
        scale = 2.0 if self.metric == "cosine" else self._sq_max + qq
        return (d + 8) * _EPS32 * scale

    def _exact(self, q64: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        if self.metric == "cosine":
            return lambda idx: 1.0 - self.x[idx].astype(np.float64) @ q64
        return lambda idx: ((self.x[idx].astype(np.float64) - q64) ** 2).sum(axis=1)

    @property
    def exact(self) -> bool:
        """Whether queries are exact (no index)."""
        return not self.approximate

    def build(self, wait: bool = True) -> NeighborIndex:
        """Build the query index now (else the first query does), when ``approximate``; returns self.

        With ``wait=False`` it is built on a background thread (minutes at 10M items), and queries scan all items
        (exact) until it is ready; if that build fails, queries stay exact and ``build_error`` holds the error.
        """
        if not self.approximate or self._ivf is not None:
            return self
        if wait:
            self._build()
            return self
        with self._lock:
            if self._builder is None:
                self._builder = threading.Thread(target=self._build_in_background, daemon=True,
                                                 name="nbviz-neighbor-index")
                self._builder.start()
        return self

    def _build(self) -> None:
        with self._build_lock:
            if self._ivf is None:
                cosine, n = self.metric == "cosine", len(self.x)
                ivf = faiss_ivf.IvfIndex(self.x, cosine)
                sample = np.sort(np.random.default_rng(0).choice(n, size=min(n, _QUERY_SAMPLE), replace=False))
                true = faiss_ivf.exact_sample(self.x, sample, 10, cosine, exclude=True)
                tuned = faiss_ivf.tune_probes(ivf, sample, true, QUERY_RECALL, exclude=True)
                if tuned is None:  # the build fails; queries stay exact (see build)
                    raise RuntimeError(f"no number of probed cells reached recall@10 >= {QUERY_RECALL}")
                self.probes, self.recall = tuned
                self._ivf = ivf

    def _build_in_background(self) -> None:
        try:
            self._build()
        except Exception as exc:  # noqa: BLE001 - kept for the caller; queries stay exact
            self.build_error = exc

    def _search(self, q: np.ndarray, k: int, exclude: int | None) -> Neighbors:
        if self.approximate and k <= _INDEX_MAX_K:
            if self._builder is None:  # no background build: build (or wait for) the index now
                self.build()
            ivf = self._ivf
            if ivf is not None:
                ids, dist = ivf.search(q[None], k, self.probes, None if exclude is None else np.array([exclude]),
                                       slack=_SLACK)
                if ids[0, -1] >= 0:  # else too few candidates in the cells searched: scan
                    return self._finish(ids[0], dist[0])
        qq = float(q.astype(np.float64) @ q.astype(np.float64))
        with self._lock:
            d = np.dot(self.x, q, out=self._buf)
            if self.metric == "cosine":
                np.subtract(1.0, d, out=d)
            else:
                d *= -2.0
                d += self.sq
                d += qq
            idx, dist = _select(d, k, self._tol(qq), self._exact(q.astype(np.float64)), exclude)
        return self._finish(idx, dist)

    def _finish(self, idx: np.ndarray, dist: np.ndarray) -> Neighbors:
        """Squared L2 / 1 - cos in float64 to the distances returned."""
        if self.metric == "cosine":
            dist = np.clip(dist, 0.0, 2.0)
        else:
            dist = np.sqrt(np.maximum(dist, 0.0))
        return Neighbors(idx.astype(np.int64), dist.astype(np.float32))

    def query(self, i: int, k: int) -> Neighbors:
        """The ``k`` nearest other items of item ``i``.

        Parameters
        ----------
        i
            Item index, ``0 <= i < N``.
        k
            How many neighbours, ``1 <= k <= N - 1``. Item ``i`` itself is never among them; its duplicates
            are (at distance 0).

        Returns
        -------
        Neighbors
            ``indices`` int64 (k,) and ``distances`` float32 (k,), nearest first, ties broken by the smaller index.
        """
        n = len(self.x)
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
            raise ValueError(f"i must be an item index in 0..{n - 1}, got {i!r}")
        k = check_k(k, n - 1, n)
        return self._search(self.x[int(i)], k, exclude=int(i))

    def query_vector(self, v: np.ndarray, k: int) -> Neighbors:
        """The ``k`` nearest items to an arbitrary vector ``v``.

        Parameters
        ----------
        v
            Vector of length D (any shape with D elements), finite.
        k
            How many neighbours, ``1 <= k <= N``.

        Returns
        -------
        Neighbors
            ``indices`` int64 (k,) and ``distances`` float32 (k,), nearest first, ties broken by the smaller index.
        """
        q = np.asarray(v, dtype=np.float32).reshape(-1)
        if len(q) != self.dim:
            raise ValueError(f"v must have length D = {self.dim}, got {len(q)} values")
        if not np.isfinite(q).all():
            raise ValueError("v must be finite, got NaN or inf")
        k = check_k(k, len(self.x), len(self.x))
        if self.metric == "cosine":
            norm = float(np.linalg.norm(q))
            q = q / np.float32(norm if norm > 0 else 1.0)
        return self._search(np.ascontiguousarray(q), k, exclude=None)


def block_size(block: object, n: int, max_block_bytes: int) -> int:
    if block is None:  # one block in flight per worker thread
        return max(1, min(n, max_block_bytes // (4 * n * thread_count())))
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a positive int, got {block!r}")
    return int(block)


#: Columns per chunk of a long row of distances: the row's m smallest lie in its m chunks of smallest minimum.
_CHUNK = 32


def _smallest(dist: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Values and column positions of the ``m`` smallest of each row of a float32 torch ``dist`` (unordered).

    torch.topk (a partial selection) rather than np.argpartition; on long rows first over the chunk minima, then
    over the m chunks they pick (each of those holds an element <= anything outside them, so the m smallest are
    there): one reduction pass instead of a selection over every element, 3-4x faster on rows of 100,000.
    """
    import torch

    b, width = dist.shape
    if width < 16 * m * _CHUNK:
        return torch.topk(dist, m, dim=1, largest=False, sorted=False)
    full = width // _CHUNK * _CHUNK
    mins = dist[:, :full].view(b, -1, _CHUNK).amin(dim=2)
    if full < width:
        mins = torch.cat([mins, dist[:, full:].amin(dim=1, keepdim=True)], dim=1)
    _, chunks = torch.topk(mins, m, dim=1, largest=False, sorted=False)
    pos = (chunks[:, :, None] * _CHUNK + torch.arange(_CHUNK)).view(b, -1)
    past_end = pos >= width  # the short last chunk
    vals = dist.gather(1, pos.clamp_(max=width - 1))
    vals[past_end] = float("inf")
    vals, j = torch.topk(vals, m, dim=1, largest=False, sorted=False)
    return vals, pos.gather(1, j)


class Search:
    """Fast float32 distances from some items to candidate items, then their exact k nearest among those.

    Shared by the exact all-pairs search (the candidates are all items) and the approximate one (the items of
    the cells an item's cell probes).
    """

    def __init__(self, index: NeighborIndex, k: int, slack: int = _SLACK) -> None:
        import torch

        self.index, self.k, self.slack = index, k, slack
        self.cosine = index.metric == "cosine"
        self.xt = torch.from_numpy(index.x)
        self.sq_t = torch.from_numpy(index.sq)
        self.tol = (index.dim + 8) * _EPS32 * (2.0 if self.cosine else 2 * index._sq_max)

    def distances(self, q_ids: np.ndarray | slice, c_ids: np.ndarray | None, out: torch.Tensor | None = None
                  ) -> torch.Tensor:
        """(len(q_ids), C) float32 torch distances from items ``q_ids`` to items ``c_ids`` (None: all)."""
        import torch

        xq, sq_q = self.xt[q_ids], self.sq_t[q_ids]
        xc, sq_c = (self.xt, self.sq_t) if c_ids is None else (self.xt[c_ids], self.sq_t[c_ids])
        shape = (len(xq), len(xc))
        dist = torch.empty(shape, dtype=torch.float32) if out is None else out[:shape[0], :shape[1]]
        if self.cosine:
            torch.mm(xq, xc.T, out=dist)
            dist.neg_().add_(1.0)
        else:
            torch.addmm(sq_c[None], xq, xc.T, alpha=-2.0, out=dist)
            dist.add_(sq_q[:, None])
        return dist

    def _measure(self, q64: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact float64 distances from the rows of ``q64`` to items ``ids`` (rows x c), in row chunks of
        about 16 MB."""
        x = self.index.x
        out = np.empty(ids.shape, dtype=np.float64)
        rows = max(1, (16 << 20) // (8 * ids.shape[1] * x.shape[1]))
        for s in range(0, len(ids), rows):
            other = x[ids[s:s + rows]].astype(np.float64)  # (rows, c, D)
            q = q64[s:s + rows, None]
            out[s:s + rows] = 1.0 - (other @ q.transpose(0, 2, 1))[..., 0] if self.cosine else \
                ((other - q) ** 2).sum(axis=2)
        return out

    def nearest(self, q_ids: np.ndarray | slice, c_ids: np.ndarray | None, dist: torch.Tensor, self_pos: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """The exact k nearest of each item ``q_ids[r]`` among the candidates ``c_ids`` (sorted; None: all items),
        given ``dist`` from :meth:`distances` with each item's own entry (``self_pos[r]``) already set to inf.

        Returns int64 (len(q_ids), k) item indices and float64 squared-L2 / cosine distances, nearest first, ties
        by index: the fast distances pick k + slack candidates, re-measured in float64; rows where an item left
        out could tie or beat the k-th are redone over all candidates.
        """
        k, width = self.k, dist.shape[1]
        m = min(width - 1, k + self.slack)
        vals, pos_t = _smallest(dist, m)
        pos = pos_t.numpy()
        ids = pos if c_ids is None else c_ids[pos]
        q64 = self.index.x[q_ids].astype(np.float64)
        exact = self._measure(q64, ids)
        order = np.lexsort((ids, exact), axis=1)[:, :k]
        top_i = np.take_along_axis(ids, order, axis=1)
        top_d = np.take_along_axis(exact, order, axis=1)
        if m < width - 1:
            dist_np = dist.numpy()
            approx_max = vals.max(dim=1).values.numpy()
            all_ids = np.arange(width) if c_ids is None else c_ids
            for row in np.flatnonzero(approx_max - self.tol <= top_d[:, -1]):
                def measure(p: np.ndarray, q: np.ndarray = q64[row]) -> np.ndarray:
                    return self._measure(q[None], all_ids[p][None])[0]

                found, top_d[row] = _select(dist_np[row].copy(), k, self.tol, measure, exclude=int(self_pos[row]))
                top_i[row] = all_ids[found]
        return top_i, top_d

    def finish(self, dist: np.ndarray) -> np.ndarray:
        """float64 squared-L2 / cosine distances to float32 L2 / cosine distances."""
        out = np.clip(dist, 0.0, 2.0) if self.cosine else np.sqrt(np.maximum(dist, 0.0))
        return out.astype(np.float32)


def knn_all(
    x: np.ndarray, k: int, metric: str = "euclidean", block: int | None = None, max_block_bytes: int = 256 << 20
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other items of every item, exactly, in row blocks of bounded memory.

    Parameters
    ----------
    x
        (N, D) features (as for :class:`NeighborIndex`). Meant for moderate N: the work is N^2 D (see
        :func:`knn_graph` for large N).
    k
        Neighbours per item, ``1 <= k <= N - 1``.
    metric
        "euclidean" or "cosine".
    block
        Rows per block; by default as many as keep the blocks of distances in flight (one per worker thread)
        under ``max_block_bytes``.
    max_block_bytes
        Memory budget of the (block, N) float32 distance blocks.

    Returns
    -------
    indices, distances
        int64 (N, k) and float32 (N, k): row i holds the neighbours of item i (never i itself), nearest
        first, ties broken by index; the same as :meth:`NeighborIndex.query` for every i.
    """
    index = NeighborIndex(x, metric)
    n = len(index)
    search = Search(index, check_k(k, n - 1, n))
    return exact_rows(search, np.arange(n), block_size(block, n, max_block_bytes))


def exact_rows(search: Search, rows: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest of the items ``rows`` among all items, ``block`` rows at a time on worker threads (one
    reused buffer each)."""
    import torch

    n = len(search.index)
    out_i = np.empty((len(rows), search.k), dtype=np.int64)
    out_d = np.empty((len(rows), search.k), dtype=np.float64)
    local = threading.local()

    def task(start: int) -> None:
        if not hasattr(local, "buf"):
            local.buf = torch.empty(min(block, len(rows)), n, dtype=torch.float32)
        q = rows[start:start + block]
        # Contiguous rows are a view, not a copy (the whole-data search).
        q_ids = slice(int(q[0]), int(q[-1]) + 1) if q[-1] - q[0] == len(q) - 1 else q
        dist = search.distances(q_ids, None, local.buf)
        dist[torch.arange(len(q)), torch.from_numpy(q)] = float("inf")
        out_i[start:start + len(q)], out_d[start:start + len(q)] = search.nearest(q_ids, None, dist, q)

    parallel_map(task, range(0, len(rows), block))
    return out_i, search.finish(out_d)
