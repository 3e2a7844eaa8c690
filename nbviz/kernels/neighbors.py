"""Exact nearest neighbours in the N-D feature space (the click-to-neighbours grid, agreement scores).

Distances are first computed for all items with one float32 matrix product (``|x|^2 - 2 x.q + |q|^2`` for the
Euclidean metric, ``1 - x.q`` on unit rows for the cosine one). The few candidates that can be among the k nearest
are then re-measured in float64, so the distances returned are accurate and exact ties (duplicate points) are
broken by index, whatever rounding the fast pass made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

METRICS = ("euclidean", "cosine")

#: Candidates kept beyond k before the exact re-measure; enough that the check below almost never fails.
_SLACK = 32
_EPS32 = float(np.finfo(np.float32).eps)


def _check_metric(metric: object) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return str(metric)


def _check_features(x: object, name: str = "x") -> np.ndarray:
    """``x`` as a C-contiguous float32 (N, D) array (no copy when it already is one), or a clear error."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor, on any device
        x = x.detach().cpu().numpy()  # type: ignore[attr-defined]
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (N, D) with N >= 1 and D >= 1, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
        raise ValueError(f"{name} must be finite; row {bad} holds NaN or inf")
    return a


def _check_k(k: object, limit: int, n: int) -> int:
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


class NeighborIndex:
    """Exact kNN over (N, D) features; one query costs one matrix-vector product and a partial sort.

    Parameters
    ----------
    x
        (N, D) features: numpy array or torch tensor of real numbers, finite. Converted to C-contiguous
        float32; when ``x`` already is that and the metric is Euclidean, the index shares its memory (do not
        modify ``x`` afterwards).
    metric
        "euclidean" (true L2 distance) or "cosine" (1 - cosine similarity; a zero vector is at cosine
        distance 1 from everything).

    Raises
    ------
    ValueError
        If ``metric`` is not one of :data:`METRICS`, or ``x`` is not 2-D or holds NaN/inf.
    TypeError
        If ``x`` does not hold real numbers.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(1000, 16)).astype("float32")
    >>> idx, dist = NeighborIndex(x).query(0, 5)
    >>> idx.dtype, dist.dtype, idx.shape
    (dtype('int64'), dtype('float32'), (5,))
    """

    def __init__(self, x: np.ndarray, metric: str = "euclidean") -> None:
        self.metric = _check_metric(metric)
        x = _check_features(x)
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

    def _search(self, q: np.ndarray, k: int, exclude: int | None) -> tuple[np.ndarray, np.ndarray]:
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
        if self.metric == "cosine":
            dist = np.clip(dist, 0.0, 2.0)
        else:
            dist = np.sqrt(np.maximum(dist, 0.0))
        return idx, dist.astype(np.float32)

    def query(self, i: int, k: int) -> tuple[np.ndarray, np.ndarray]:
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
        indices, distances
            int64 (k,) and float32 (k,), nearest first, ties broken by the smaller index.
        """
        n = len(self.x)
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
            raise ValueError(f"i must be an item index in 0..{n - 1}, got {i!r}")
        k = _check_k(k, n - 1, n)
        return self._search(self.x[int(i)], k, exclude=int(i))

    def query_vector(self, v: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest items to an arbitrary vector ``v``.

        Parameters
        ----------
        v
            Vector of length D (any shape with D elements), finite.
        k
            How many neighbours, ``1 <= k <= N``.

        Returns
        -------
        indices, distances
            int64 (k,) and float32 (k,), nearest first, ties broken by the smaller index.
        """
        q = np.asarray(v, dtype=np.float32).reshape(-1)
        if len(q) != self.dim:
            raise ValueError(f"v must have length D = {self.dim}, got {len(q)} values")
        if not np.isfinite(q).all():
            raise ValueError("v must be finite, got NaN or inf")
        k = _check_k(k, len(self.x), len(self.x))
        if self.metric == "cosine":
            norm = float(np.linalg.norm(q))
            q = q / np.float32(norm if norm > 0 else 1.0)
        return self._search(np.ascontiguousarray(q), k, exclude=None)


def knn_all(
    x: np.ndarray, k: int, metric: str = "euclidean", block: int | None = None, max_block_bytes: int = 256 << 20
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other items of every item, exactly, in row blocks of bounded memory.

    Parameters
    ----------
    x
        (N, D) features (as for :class:`NeighborIndex`). Meant for moderate N: the work is N^2 D.
    k
        Neighbours per item, ``1 <= k <= N - 1``.
    metric
        "euclidean" or "cosine".
    block
        Rows per block; by default as many as keep one block of distances under ``max_block_bytes``.
    max_block_bytes
        Memory budget of one (block, N) float32 distance block.

    Returns
    -------
    indices, distances
        int64 (N, k) and float32 (N, k): row i holds the neighbours of item i (never i itself), nearest
        first, ties broken by index; the same as :meth:`NeighborIndex.query` for every i.
    """
    index = NeighborIndex(x, metric)
    n, d = index.x.shape
    k = _check_k(k, n - 1, n)
    if block is None:
        block = max(1, min(n, max_block_bytes // (4 * n)))
    elif isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a positive int, got {block!r}")
    import torch

    cosine = metric == "cosine"
    tol = (d + 8) * _EPS32 * (2.0 if cosine else 2 * index._sq_max)
    m = min(n - 1, k + _SLACK)
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k), dtype=np.float64)
    xt = torch.from_numpy(index.x)
    sq_t = torch.from_numpy(index.sq)
    buf = torch.empty(min(block, n), n, dtype=torch.float32)
    for start in range(0, n, block):
        rows = index.x[start:start + block]
        b = len(rows)
        dist_t = buf[:b]
        # Fast float32 distances in torch (both cores): 1 - x.q, or |x|^2 - 2 x.q + |q|^2.
        if cosine:
            torch.mm(xt[start:start + b], xt.T, out=dist_t)
            dist_t.neg_().add_(1.0)
        else:
            torch.addmm(sq_t[None], xt[start:start + b], xt.T, alpha=-2.0, out=dist_t)
            dist_t.add_(sq_t[start:start + b, None])
        r = torch.arange(b)
        dist_t[r, start + r] = float("inf")
        # torch.topk (a partial selection, multi-threaded) instead of np.argpartition: the m smallest per row.
        vals, cand_t = torch.topk(dist_t, m, dim=1, largest=False, sorted=False)
        cand = cand_t.numpy()
        approx_max = vals.max(dim=1).values.numpy()
        dist = dist_t.numpy()
        # Exact float64 distances of the candidates, one candidate column at a time (memory ~ block x D).
        exact = np.empty(cand.shape, dtype=np.float64)
        q64 = rows.astype(np.float64)
        for j in range(cand.shape[1]):
            other = index.x[cand[:, j]].astype(np.float64)
            exact[:, j] = 1.0 - np.einsum("ij,ij->i", other, q64) if cosine else ((other - q64) ** 2).sum(axis=1)
        order = np.lexsort((cand, exact), axis=1)[:, :k]
        top_i = np.take_along_axis(cand, order, axis=1)
        top_d = np.take_along_axis(exact, order, axis=1)
        # Rows where an item outside the candidates could tie or beat the k-th: redo them one by one.
        if m < n - 1:
            for row in np.flatnonzero(approx_max - tol <= top_d[:, -1]):
                q = q64[row]
                exact_fn = (lambda idx, q=q: 1.0 - index.x[idx].astype(np.float64) @ q) if cosine else \
                    (lambda idx, q=q: ((index.x[idx].astype(np.float64) - q) ** 2).sum(axis=1))
                top_i[row], top_d[row] = _select(dist[row].copy(), k, tol, exact_fn, exclude=start + int(row))
        out_i[start:start + b] = top_i
        out_d[start:start + b] = top_d
    out_d = np.clip(out_d, 0.0, 2.0) if cosine else np.sqrt(np.maximum(out_d, 0.0))
    return out_i, out_d.astype(np.float32)
