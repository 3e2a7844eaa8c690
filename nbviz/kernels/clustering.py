"""Hierarchical clusters of N-D features (colour by cluster)."""

from __future__ import annotations

import numpy as np


def hierarchical_clusters(x: np.ndarray, k: int, random_state: int = 0, max_exact: int = 20_000) -> np.ndarray:
    """Ward agglomerative clustering of ``x`` (N, D) into ``k`` clusters; int32 codes, 0 = largest cluster.

    Above ``max_exact`` rows Ward runs on a random subsample of that many rows and every row then joins the
    cluster with the nearest centroid (Ward's memory grows with N^2).
    """
    from sklearn.cluster import AgglomerativeClustering

    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    if not isinstance(k, (int, np.integer)) or not 2 <= k <= n:
        raise ValueError(f"k must be an int between 2 and N = {n}, got {k!r}")
    if n <= max_exact:
        codes = AgglomerativeClustering(n_clusters=int(k), linkage="ward").fit_predict(x)
    else:
        rng = np.random.default_rng(random_state)
        sample = rng.choice(n, size=max_exact, replace=False)
        sub = AgglomerativeClustering(n_clusters=int(k), linkage="ward").fit_predict(x[sample])
        centroids = np.stack([x[sample][sub == c].mean(axis=0) for c in range(k)])
        # Nearest centroid for every row: |c|^2 - 2 x.c (|x|^2 is the same for all centroids of a row).
        codes = np.argmin((centroids * centroids).sum(axis=1) - 2.0 * (x @ centroids.T), axis=1)
    # Relabel by size so colours are stable: cluster 0 is the largest.
    sizes = np.bincount(codes, minlength=k)
    rank = np.empty(k, dtype=np.int32)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(k, dtype=np.int32)
    return rank[codes]
