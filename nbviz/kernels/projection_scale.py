"""Projections of features too large to hold twice in memory: PCA by row blocks, UMAP / t-SNE fitted on a sample.

- :func:`pca_blocks`: the D x D covariance accumulated over row blocks in float64, its top eigenvectors, then the
  data projected block by block. Memory is O(D^2 + block + N * k) whatever N is, so a memory-mapped (N, D) input is
  read from the page cache and never copied whole. Exact (not randomized); used for large or mapped inputs up to
  :data:`COV_MAX_DIM` features. Beyond that the components are fitted on a sample of rows that fits
  :data:`SAMPLE_BYTES`.
- :func:`fit_on_sample`: UMAP and openTSNE fitted on a random sample of :data:`FIT_SAMPLE` items, and the others
  placed with the fitted model's ``transform``, in blocks. :func:`sampling_note` says so in words, for the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..blockwise import check_finite, is_large, row_blocks
from ..checks import as_matrix, as_numpy

__all__ = ["COV_MAX_DIM", "FIT_SAMPLE", "SAMPLE_BYTES", "as_features_matrix", "covariance", "fit_on_sample",
           "pca_blocks", "project_blocks", "sample_rows", "sampling_note", "sign_fix"]

#: Default of the ``fit_sample`` parameter of UMAP and t-SNE: items beyond it are placed by ``transform``.
FIT_SAMPLE = 100_000
#: Up to this many features PCA of large input goes through the D x D covariance (128 MB in float64 at 4096).
COV_MAX_DIM = 4096
#: Bytes of the row sample PCA is fitted on when D > COV_MAX_DIM and the input is large.
SAMPLE_BYTES = 512 << 20
#: Items per ``transform`` call when placing the items outside the sample.
TRANSFORM_BLOCK = 50_000

Progress = Callable[[float, str], None]


def as_features_matrix(x: Any, name: str = "x", check: bool = True) -> np.ndarray:
    """``x`` as finite float32 (N, D), C-contiguous: :func:`nbviz.checks.as_matrix`, except that a large or
    memory-mapped array is checked in row blocks and kept as it is when already float32 C-contiguous (as_matrix's
    whole-array ``isfinite`` would allocate N x D bytes). ``check=False`` leaves the finiteness of such an array to a
    later pass of the caller."""
    if not (isinstance(x, np.ndarray) and is_large(x)):
        return as_matrix(x, name, min_rows=0)
    a = as_numpy(x, name)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (N, D) with N >= 0 and D >= 1, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if check:
        check_finite(a, name)
    return a


def sample_rows(n: int, size: int, seed: int | None) -> np.ndarray:
    """``size`` distinct row indices of 0..n-1, sorted (reads of a mapped file go forwards), from ``seed``."""
    rng = np.random.default_rng(0 if seed is None else seed)
    return np.sort(rng.choice(n, size=min(size, n), replace=False)).astype(np.int64)


def sign_fix(vt: np.ndarray) -> np.ndarray:
    """Each row's largest-magnitude coefficient positive (as :mod:`.components`): the same sign on every run."""
    pivot = np.abs(vt).argmax(axis=1)
    return vt * np.sign(vt[np.arange(len(vt)), pivot])[:, None]


def pca_blocks(x: np.ndarray, n_components: int = 2, random_state: int = 0) -> tuple[np.ndarray, str]:
    """PCA scores of ``x`` (N, D) (float32, finite, e.g. memory-mapped) read in row blocks.

    Returns
    -------
    scores, note
        (N, n_components) float32 (columns beyond min(N, D) are zeros) and :func:`sampling_note`'s words when the
        components were fitted on a sample ("" otherwise).
    """
    n, d = x.shape
    k = min(n_components, d, n)
    out = np.zeros((n, n_components), dtype=np.float32)
    if k == 0:
        return out, ""
    note = ""
    if d <= COV_MAX_DIM:
        mean, cov = covariance(x)
        evals, evecs = np.linalg.eigh(cov)
        vt = evecs[:, np.argsort(evals)[::-1][:k]].T
    else:
        from sklearn.decomposition import PCA

        rows = sample_rows(n, max(k + 1, SAMPLE_BYTES // (4 * d)), random_state)
        fit = PCA(n_components=k, svd_solver="randomized", random_state=random_state).fit(x[rows])
        mean, vt = np.asarray(fit.mean_, dtype=np.float64), np.asarray(fit.components_, dtype=np.float64)
        if len(rows) < n:
            note = f"PCA fitted on a random sample of {len(rows):,} of {n:,} points"
    out[:, :k] = project_blocks(x, mean, sign_fix(vt))
    return out, note


def project_blocks(x: np.ndarray, mean: np.ndarray, vt: np.ndarray) -> np.ndarray:
    """(x - mean) @ vt.T as (N, k) float32, by row blocks of ``x`` (N, D) (no centred copy of ``x``)."""
    v32 = np.ascontiguousarray(vt.T, dtype=np.float32)
    shift = np.asarray(mean, dtype=np.float32) @ v32
    out = np.empty((x.shape[0], v32.shape[1]), dtype=np.float32)
    for rows in row_blocks(x.shape[0], x.shape[1], 4):
        np.subtract(x[rows] @ v32, shift, out=out[rows])
    return out


def covariance(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), covariance (D, D) with ddof 1), both float64, from one pass over ``x`` (N, D) in row blocks.

    The blocks are shifted by the first row before the sums (no cancellation when the mean is large next to the
    spread) and summed in float64; C = (S - N d d^T) / (N - 1) with d the mean of the shifted rows.
    """
    import torch

    n, d = x.shape
    x0 = np.asarray(x[0], dtype=np.float64)
    total, gram = torch.zeros(d, dtype=torch.float64), torch.zeros((d, d), dtype=torch.float64)
    for rows in row_blocks(n, d, 8):
        block = torch.from_numpy(np.asarray(x[rows], dtype=np.float64))
        block -= torch.from_numpy(x0)
        total += block.sum(dim=0)
        # torch's BLAS, not numpy's: on the 2-CPU benchmark machine numpy's bundled OpenBLAS ran this float64
        # X.T @ X at 0.3 GFLOP/s, torch at 8 (benchmarks/README.md, out-of-core section).
        gram.addmm_(block.T, block)
    total, gram = total.numpy(), gram.numpy()
    if not np.isfinite(gram).all():
        check_finite(x, "x")
    delta = total / n
    return x0 + delta, (gram - n * np.outer(delta, delta)) / max(n - 1, 1)


def sampling_note(method: str, n: int, params: dict[str, Any] | None = None, dim: int | None = None) -> str:
    """Words for the view when a projection of ``n`` items is fitted on a sample ("" when all items are fitted).

    Parameters
    ----------
    method
        "umap" or "tsne" (sampled above ``params["fit_sample"]`` items), or "pca" (sampled only above
        :data:`COV_MAX_DIM` features with a large ``n``, when ``dim`` is given).
    n
        Number of items.
    params
        The projection's full parameters (:func:`~nbviz.kernels.projection.check_projection`).
    dim
        Number of features D (for PCA).
    """
    name = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}.get(method, method)
    if method == "pca":
        if dim is None or dim <= COV_MAX_DIM or n * dim * 4 <= SAMPLE_BYTES:
            return ""
        size = SAMPLE_BYTES // (4 * dim)
        return f"PCA fitted on a random sample of {size:,} of {n:,} points" if size < n else ""
    size = (params or {}).get("fit_sample", FIT_SAMPLE)
    if size is None or n <= size:
        return ""
    return f"{name} fitted on a random sample of {size:,} of {n:,} points; the others placed by transform"


def fit_on_sample(x: np.ndarray, size: int, seed: int | None, fit: Callable[[np.ndarray, Progress], Any],
                  transform: Callable[[Any, np.ndarray | None], np.ndarray], report: Progress, name: str) -> np.ndarray:
    """A 2-D layout of all of ``x``: ``model = fit(x[sample], progress)`` on ``size`` random rows, then
    ``transform(model, rows)`` for the other rows in blocks of :data:`TRANSFORM_BLOCK`, and the sample's own layout
    ``transform(model, None)``. The fit reports fractions 0..0.6 and the transforms 0.6..1 (exclusive)."""
    n = len(x)
    idx = sample_rows(n, size, seed)
    model = fit(np.ascontiguousarray(x[idx], dtype=np.float32), lambda f, s: report(0.6 * f, s))
    out = np.empty((n, 2), dtype=np.float32)
    rest = np.ones(n, dtype=bool)
    rest[idx] = False
    others = np.flatnonzero(rest)
    del rest
    for start in range(0, len(others), TRANSFORM_BLOCK):
        rows = others[start:start + TRANSFORM_BLOCK]
        report(0.6 + 0.39 * start / len(others), f"{name}: placing items {start:,} of {len(others):,} by transform")
        out[rows] = transform(model, np.ascontiguousarray(x[rows], dtype=np.float32))
    out[idx] = transform(model, None)  # last: openTSNE's transform re-centres the fitted layout in place
    return out
