"""Exact nearest neighbours in the N-D feature space (the click-to-neighbours grid, agreement scores)."""

from __future__ import annotations

import numpy as np

METRICS = ("euclidean", "cosine")


class NeighborIndex:
    """Exact kNN over (N, D) features; one query costs one matrix-vector product and a partial sort.

    Parameters
    ----------
    x
        (N, D) features (converted to float32).
    metric
        "euclidean" (true L2 distance) or "cosine" (1 - cosine similarity).
    """

    def __init__(self, x: np.ndarray, metric: str = "euclidean") -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"x must be 2-D (N, D), got shape {x.shape}")
        self.metric = metric
        if metric == "cosine":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = x / np.where(norms > 0, norms, 1)
        self.x = x
        # Squared norms once, so a query is |x|^2 - 2 x.q + |q|^2 from a single GEMV.
        self.sq = np.einsum("ij,ij->i", x, x, dtype=np.float64).astype(np.float32)

    def __len__(self) -> int:
        return len(self.x)

    def _distances(self, q: np.ndarray) -> np.ndarray:
        dots = self.x @ q
        if self.metric == "cosine":
            return 1.0 - dots
        d2 = self.sq - 2.0 * dots + float(q @ q)
        return np.sqrt(np.maximum(d2, 0.0))

    def _top(self, d: np.ndarray, k: int, exclude: int | None) -> tuple[np.ndarray, np.ndarray]:
        n = len(d)
        limit = n - (exclude is not None)
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= limit:
            raise ValueError(f"k must be an int between 1 and {limit} (N = {n}), got {k!r}")
        if exclude is not None:
            d[exclude] = np.inf
        # Partition with slack, then sort exactly (distance, then index for ties).
        m = min(n, k + 32)
        cand = np.argpartition(d, m - 1)[:m] if m < n else np.arange(n)
        order = np.lexsort((cand, d[cand]))[:k]
        idx = cand[order]
        return idx.astype(np.int64), d[idx].astype(np.float32)

    def query(self, i: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest other items of item ``i``: (indices, distances), nearest first, ties by index."""
        n = len(self.x)
        if not isinstance(i, (int, np.integer)) or not 0 <= i < n:
            raise ValueError(f"i must be an item index in 0..{n - 1}, got {i!r}")
        d = self._distances(self.x[i])
        if self.metric == "euclidean":
            d[i] = 0.0  # exact, whatever rounding gave
        return self._top(d, k, exclude=int(i))

    def query_vector(self, v: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest items to an arbitrary vector ``v`` of length D."""
        q = np.asarray(v, dtype=np.float32).reshape(-1)
        if len(q) != self.x.shape[1]:
            raise ValueError(f"v must have length D = {self.x.shape[1]}, got {len(q)}")
        if self.metric == "cosine":
            q = q / (np.linalg.norm(q) or 1.0)
        return self._top(self._distances(q), k, exclude=None)


def knn_all(x: np.ndarray, k: int, metric: str = "euclidean", block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """k nearest other items of every item: (indices (N, k), distances (N, k)), computed in row blocks."""
    index = NeighborIndex(x, metric)
    n = len(index)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= n - 1:
        raise ValueError(f"k must be an int between 1 and {n - 1} (N = {n}), got {k!r}")
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        rows = index.x[start:start + block]
        dots = rows @ index.x.T
        if metric == "cosine":
            d = 1.0 - dots
        else:
            d = np.sqrt(np.maximum(index.sq[start:start + block, None] - 2 * dots + index.sq[None], 0.0))
        r = np.arange(len(rows))
        d[r, start + r] = np.inf
        cand = np.argpartition(d, k, axis=1)[:, : k + 1] if k + 1 < n else np.argsort(d, axis=1)
        cd = np.take_along_axis(d, cand, axis=1)
        order = np.lexsort((cand, cd), axis=1)[:, :k]
        out_i[start:start + block] = np.take_along_axis(cand, order, axis=1)
        out_d[start:start + block] = np.take_along_axis(cd, order, axis=1)
    return out_i, out_d
