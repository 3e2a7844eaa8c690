"""Statistics that relate principal components to data and compare feature spaces.

Split from :mod:`nbviz.kernels.components` (which fits and reads the components themselves): these measures
take scores, features or layouts as plain arrays and need no solver.

- :func:`component_correlations`: components vs one-vs-rest labels and numeric metadata.
- :func:`distribution_shift`: per component, mean shift in reference std units and the two-sample KS statistic.
- :func:`neighborhood_agreement`: per item, Jaccard of its k nearest neighbours in two N-D spaces (exact kNN,
  or an approximate index for large N).
- :func:`trustworthiness`, :func:`knn_recall`: how faithful a 2-D layout is to the N-D space.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..checks import as_matrix
from ..labels import encode_labels
from .components import is_int
from .knn_graph import KnnGraph, knn_graph
from .neighbors import NeighborIndex, knn_all

# ------------------------------------------------------------------------------------------------------------
# relating components to data
# ------------------------------------------------------------------------------------------------------------


def _standardise(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns centred and scaled to unit norm; the columns' std (0 where constant)."""
    c = a - a.mean(axis=0)
    norm = np.sqrt((c ** 2).sum(axis=0))
    return c / np.where(norm > 0, norm, 1.0), norm


def component_correlations(scores: Any, labels: Any = None, metadata: pd.DataFrame | None = None
                           ) -> tuple[np.ndarray, list[str], list[str]]:
    """Pearson correlation of each component with each label (one-vs-rest) and each numeric metadata column.

    Parameters
    ----------
    scores
        (N, n) coordinates on the components.
    labels
        N labels (at least two distinct values), or None; one column per label, in the order of
        :func:`nbviz.data.encode_labels` (numbers numerically: 2 before 10).
    metadata
        A DataFrame of N rows, or None; non-numeric columns are left out. A constant column's correlations
        are NaN (undefined).

    Returns
    -------
    matrix, columns, kinds
        float64 (n, C) correlations; the C column names ("label 3" style names are the label values themselves,
        metadata columns their names); per column "label" or "metadata".

    Raises
    ------
    ValueError
        A single label class; nothing to correlate with; lengths that are not N.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (N, n_components), got shape {s.shape}")
    cols: list[np.ndarray] = []
    names: list[str] = []
    kinds: list[str] = []
    if labels is not None:
        codes, classes = encode_labels(labels, "labels")
        if len(codes) != len(s):
            raise ValueError(f"labels has {len(codes)} entries but scores has {len(s)} rows")
        assert classes is not None  # the sorted coding names its codes
        if len(classes) < 2:
            raise ValueError(f"labels has a single class ({classes[0]!r}); one-vs-rest correlation needs at least "
                             "two classes")
        for k, c in enumerate(classes):
            cols.append((codes == k).astype(np.float64))
            names.append(c)
            kinds.append("label")
    if metadata is not None:
        if len(metadata) != len(s):
            raise ValueError(f"metadata has {len(metadata)} rows but scores has {len(s)} rows")
        for name in metadata.columns:
            col = metadata[name]
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                cols.append(col.to_numpy(dtype=np.float64))
                names.append(str(name))
                kinds.append("metadata")
    if not cols:
        raise ValueError("nothing to correlate the components with: pass labels or metadata with numeric columns")
    zs, _ = _standardise(s)
    zc, norm = _standardise(np.stack(cols, axis=1))
    matrix = zs.T @ zc
    matrix[:, norm == 0] = np.nan
    return np.clip(matrix, -1.0, 1.0), names, kinds


def distribution_shift(reference: Any, other: Any) -> pd.DataFrame:
    """Per component, how the distribution of ``other`` differs from ``reference``.

    Parameters
    ----------
    reference, other
        (N_ref, n) and (N_other, n) scores on the same components (fitted on the reference).

    Returns
    -------
    pandas.DataFrame
        One row per component: ``mean_shift`` ((mean_other - mean_ref) / std_ref), ``ks`` (two-sample
        Kolmogorov-Smirnov statistic), ``p_value``; sorted as the components are.
    """
    from scipy.stats import ks_2samp

    a, b = np.asarray(reference, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"reference and other must be 2-D with the same number of components, got shapes "
                         f"{a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 1:
        raise ValueError(f"reference needs at least 2 rows and other at least 1, got {len(a)} and {len(b)}")
    std = a.std(axis=0, ddof=1)
    shift = (b.mean(axis=0) - a.mean(axis=0)) / np.where(std > 0, std, np.nan)
    tests = [ks_2samp(a[:, j], b[:, j]) for j in range(a.shape[1])]
    return pd.DataFrame({"component": np.arange(a.shape[1]), "mean_shift": shift,
                         "ks": [float(r.statistic) for r in tests],  # pyright: ignore[reportAttributeAccessIssue] - scipy's result stub
                         "p_value": [float(r.pvalue) for r in tests]})  # pyright: ignore[reportAttributeAccessIssue] - as above


# ------------------------------------------------------------------------------------------------------------
# comparing spaces
# ------------------------------------------------------------------------------------------------------------


def _same_items(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if len(a) != len(b):
        raise ValueError(f"{names[0]} has N = {len(a)} items but {names[1]} has N = {len(b)}; a same-items "
                         "comparison needs the same items in both, row by row")


def _jaccard(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Row-wise |A & B| / |A | B| of two (N, k) index sets (each row without repeats)."""
    k = ia.shape[1]
    both = np.sort(np.concatenate([ia, ib], axis=1), axis=1)
    inter = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    return inter / (2 * k - inter)


def neighborhood_agreement(a: Any, b: Any, k: int = 10, metric: str = "euclidean",
                           names: tuple[str, str] = ("a", "b"), *, exact: bool | None = None,
                           target_recall: float = 0.95, random_state: int = 0, return_graphs: bool = False
                           ) -> np.ndarray | tuple[np.ndarray, tuple[KnnGraph, KnnGraph]]:
    """Per item, the Jaccard index of its ``k`` nearest neighbours in space ``a`` and in space ``b``.

    Parameters
    ----------
    a, b
        (N, D_a) and (N, D_b) features of the same N items (row i is item i in both).
    k
        Neighbours per item, ``1 <= k <= N - 1``.
    metric
        "euclidean" or "cosine" (both spaces).
    names
        What to call ``a`` and ``b`` in error messages.
    exact, target_recall, random_state
        How the neighbours are found in each space (:func:`nbviz.kernels.knn_graph.knn_graph`): exactly
        (True), with an approximate index tuned to ``target_recall`` (False), or by size (None: approximate
        from :data:`nbviz.kernels.knn_graph.APPROX_MIN_ITEMS` items on).
    return_graphs
        Also return the two :class:`~nbviz.kernels.knn_graph.KnnGraph`, whose ``exact`` and ``recall`` say
        how the neighbours were found.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, (KnnGraph, KnnGraph))
        float64 (N,) in [0, 1]: 1 where the two neighbourhoods are the same.
    """
    xa, xb = as_matrix(a, names[0]), as_matrix(b, names[1])
    _same_items(xa, xb, names)
    options = {"exact": exact, "target_recall": target_recall, "random_state": random_state}
    graphs = knn_graph(xa, k, metric, **options), knn_graph(xb, k, metric, **options)
    jaccard = _jaccard(graphs[0].indices, graphs[1].indices)
    return (jaccard, graphs) if return_graphs else jaccard


def _layout_knn(layout: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    """Exact k nearest (Euclidean, self excluded) in a low-dimensional layout for ``rows``, by a k-d tree."""
    from scipy.spatial import cKDTree  # pyright: ignore[reportAttributeAccessIssue] - exported, not in scipy's __all__ stubs

    _, idx = cKDTree(layout).query(layout[rows], k=k + 1, workers=-1)
    # Drop the row itself; with duplicates it may not come first, so remove it wherever it is.
    keep = idx != rows[:, None]
    keep[keep.sum(axis=1) > k, -1] = False
    return idx[keep].reshape(len(rows), k)


def _sample_rows(n: int, sample: int | None, random_state: int) -> np.ndarray:
    if sample is None or sample >= n:
        return np.arange(n)
    if not is_int(sample) or sample < 1:
        raise ValueError(f"sample must be a positive int or None, got {sample!r}")
    return np.sort(np.random.default_rng(random_state).choice(n, size=int(sample), replace=False))


def _check_faithfulness(x: Any, layout: Any, k: Any) -> tuple[np.ndarray, np.ndarray, int]:
    xs, ls = as_matrix(x, "x"), as_matrix(layout, "layout")
    _same_items(xs, ls, ("x", "layout"))
    n = len(xs)
    if not is_int(k) or not 1 <= k < n / 2:
        raise ValueError(f"k must be an int from 1 to below N / 2 = {n / 2:g}, got {k!r}")
    return xs, ls, int(k)


def trustworthiness(x: Any, layout: Any, k: int = 10, sample: int | None = 5000, random_state: int = 0) -> float:
    """Trustworthiness of a layout (Venna & Kaski): how far its k nearest neighbours are neighbours in ``x``.

    1 when every layout neighbour is among the k nearest in the N-D space; it falls as layout neighbours rank
    further away there. Computed on all N rows when N <= ``sample`` (then equal to
    ``sklearn.manifold.trustworthiness`` with the Euclidean metric), else on a random ``sample`` of rows
    (ranks still among all N items).

    Parameters
    ----------
    x
        (N, D) features.
    layout
        (N, 2) (or any low dimension) positions of the same items.
    k
        Neighbours, ``1 <= k < N / 2``.
    sample, random_state
        Rows measured when N is large, and the seed that draws them.

    Returns
    -------
    float
    """
    xs, ls, k = _check_faithfulness(x, layout, k)
    n = len(xs)
    rows = _sample_rows(n, sample, random_state)
    near = _layout_knn(ls, k, rows)
    sq = np.einsum("ij,ij->i", xs, xs, dtype=np.float64)
    penalty = 0.0
    block = max(1, min(len(rows), (64 << 20) // (8 * n)))
    for start in range(0, len(rows), block):
        r = rows[start:start + block]
        xr = xs[r].astype(np.float64)
        dist = sq[r, None] - 2.0 * (xr @ xs.T.astype(np.float64)) + sq[None]
        dist[np.arange(len(r)), r] = np.inf
        d_near = np.take_along_axis(dist, near[start:start + block], axis=1)
        # 1-based rank of each layout neighbour among the others in x: 1 + how many are strictly closer.
        ranks = 1 + (dist[:, None, :] < d_near[:, :, None]).sum(axis=2)
        penalty += float(np.clip(ranks - k, 0, None).sum())
    m = len(rows)
    return 1.0 - penalty * 2.0 / (m * k * (2.0 * n - 3.0 * k - 1.0))


def knn_recall(x: Any, layout: Any, k: int = 10, sample: int | None = 5000, random_state: int = 0) -> float:
    """Share of each item's k nearest neighbours in ``x`` that are also among its k nearest in the layout.

    Averaged over all rows (or a random ``sample`` of them when N is larger). 1 is a perfect layout; a random
    one scores about k / N.
    """
    xs, ls, k = _check_faithfulness(x, layout, k)
    rows = _sample_rows(len(xs), sample, random_state)
    index = NeighborIndex(xs)
    true = np.stack([index.query(int(i), k)[0] for i in rows]) if len(rows) < len(xs) else knn_all(xs, k)[0]
    near = _layout_knn(ls, k, rows)
    both = np.sort(np.concatenate([true, near], axis=1), axis=1)
    return float((both[:, 1:] == both[:, :-1]).sum() / (len(rows) * k))
