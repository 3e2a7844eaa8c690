"""Projections of N-D features to 2-D."""

from __future__ import annotations

import numpy as np


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
