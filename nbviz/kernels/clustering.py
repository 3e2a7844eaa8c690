"""Hierarchical clusters of N-D features (colour by cluster)."""

from __future__ import annotations

import numpy as np

from ..checks import as_matrix


def _relabel_by_size(codes: np.ndarray, k: int) -> np.ndarray:
    """Codes renumbered so cluster 0 is the largest (ties: the smaller old code first), as int32."""
    sizes = np.bincount(codes, minlength=k)
    rank = np.empty(k, dtype=np.int32)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(k, dtype=np.int32)
    return rank[codes]


def hierarchical_clusters(x: np.ndarray, k: int, random_state: int = 0, max_exact: int = 20_000) -> np.ndarray:
    """Ward agglomerative clustering of ``x`` into ``k`` clusters.

    Up to ``max_exact`` rows this is exactly scikit-learn's ``AgglomerativeClustering(n_clusters=k,
    linkage="ward")``. Above it, Ward runs on a random subsample of ``max_exact`` rows (drawn with
    ``random_state``) and then every row, sampled or not, joins the cluster whose centroid (the mean of its
    sampled members) is nearest in Euclidean distance: Ward's time and memory grow with N^2 (about 1.6 GB of
    pairwise distances at 20,000 rows).

    Parameters
    ----------
    x
        (N, D) features, numpy array or torch tensor, finite.
    k
        Number of clusters, ``2 <= k <= N`` (and ``k <= max_exact`` when subsampling).
    random_state
        Seed of the subsample.
    max_exact
        Largest N clustered exactly.

    Returns
    -------
    numpy.ndarray
        int32 (N,) cluster codes ``0..k-1``, renumbered so that cluster 0 is the largest (equal sizes: in the
        order scikit-learn numbered them).

    Raises
    ------
    ValueError
        If ``k`` or ``max_exact`` is out of range, or ``x`` is not a finite 2-D array.
    """
    from sklearn.cluster import AgglomerativeClustering

    x = as_matrix(x)
    n = len(x)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 2 <= k <= n:
        raise ValueError(f"k must be an int between 2 and N = {n}, got {k!r}")
    if isinstance(max_exact, (bool, np.bool_)) or not isinstance(max_exact, (int, np.integer)) or max_exact < 2:
        raise ValueError(f"max_exact must be an int >= 2, got {max_exact!r}")
    k = int(k)
    if n <= max_exact:
        codes = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x)
        return _relabel_by_size(codes, k)
    if k > max_exact:
        raise ValueError(f"k must be at most max_exact = {max_exact} when N = {n} > max_exact, got {k}")
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, size=int(max_exact), replace=False))
    xs = x[sample]
    sub = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(xs)
    centroids = np.zeros((k, x.shape[1]), dtype=np.float64)
    np.add.at(centroids, sub, xs)
    centroids = (centroids / np.bincount(sub, minlength=k)[:, None]).astype(np.float32)
    # Nearest centroid per row from |c|^2 - 2 x.c (|x|^2 is the same for every centroid of a row), in blocks
    # so the (rows, k) products stay small whatever N is.
    c_sq = (centroids.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
    codes = np.empty(n, dtype=np.int64)
    step = 65_536
    for start in range(0, n, step):
        codes[start:start + step] = np.argmin(c_sq - 2.0 * (x[start:start + step] @ centroids.T), axis=1)
    return _relabel_by_size(codes, k)
