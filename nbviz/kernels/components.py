"""Principal components for probing a feature space, and measures for comparing two of them.

- :func:`principal_components`: truncated PCA (randomized block Krylov iteration, in torch on the device the
  data is on; exact for small problems) -> :class:`Components` (components, explained variance
  ratio, scores), which also projects other data (fit on one split, apply to another).
- :func:`extremes`, :func:`walk`: the items at both ends of a component; the items nearest to positions along it.
- :func:`component_correlations`: components vs one-vs-rest labels and numeric metadata.
- :func:`distribution_shift`: per component, mean shift in reference std units and the two-sample KS statistic.
- :func:`neighborhood_agreement`: per item, Jaccard of its k nearest neighbours in two N-D spaces (exact kNN,
  or an approximate index for large N).
- :func:`trustworthiness`, :func:`knn_recall`: how faithful a 2-D layout is to the N-D space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data import encode_labels
from ._parallel import parallel_map, thread_count
from .neighbors import KnnGraph, NeighborIndex, _check_features, knn_all, knn_graph

#: Above this many matrix entries (N * D) the randomized solver is used; below, an exact SVD.
EXACT_MAX_ENTRIES = 4_000_000


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _as_matrix(x: Any, name: str, check_finite: bool = True) -> Any:
    """A torch float32 (N, D) tensor: CUDA tensors stay where they are; numpy input is shared, not copied.

    With ``check_finite=False`` the caller checks finiteness itself (:func:`_column_stats` does, in its pass).
    """
    import torch

    if isinstance(x, torch.Tensor):
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"{name} must be 2-D (N, D) with N >= 1 and D >= 1, got shape {tuple(x.shape)}")
        if x.is_floating_point() or x.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8):
            t = x.detach().to(torch.float32).contiguous()
            if check_finite and not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name} must be finite; it holds NaN or inf")
            return t
        raise TypeError(f"{name} must hold real numbers, got torch dtype {x.dtype}")
    if not check_finite:
        a = np.asarray(x)
        if a.dtype.kind in "biuf" and a.ndim == 2 and a.shape[0] >= 1 and a.shape[1] >= 1:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return torch.from_numpy(_check_features(x, name))


def _require_finite(t: Any, name: str) -> None:
    """Raise when ``t`` holds NaN or inf, naming the first such row."""
    import torch

    bad = ~torch.isfinite(t).all(dim=1)
    if bool(bad.any()):
        raise ValueError(f"{name} must be finite; row {int(bad.nonzero()[0, 0])} holds NaN or inf")


#: Bytes of one row block of a blocked pass: small enough to stay in cache between the products that use it.
_BLOCK_BYTES = 4 << 20


def _block_rows(t: Any) -> int:
    # On a GPU memory bandwidth is plentiful and every kernel launch costs: larger blocks.
    budget = _BLOCK_BYTES * (32 if t.is_cuda else 1)
    return max(1, min(t.shape[0], budget // (4 * t.shape[1])))


def _blocked_pass(t: Any, x0: Any = None, qt: Any = None, shift: Any = None, gram: bool = True
                  ) -> tuple[Any, Any, Any, Any]:
    """One pass over ``t`` in row blocks R, each used by all its products while it is in cache.

    With ``x0`` (D,) the blocks are shifted, R - x0, and their float64 column sums and sums of squares returned
    (BLAS matrix-vector products, float32 within a block). With ``qt`` (w, D) float32: Y.T = qt @ R.T - shift
    (w, N) and, with ``gram``, Y.T @ R (w, D). On a CPU worker threads share the blocks (:mod:`._parallel`).
    Returns (sums, sums of squares, Y.T, Y.T @ R), None where not asked for.
    """
    import torch

    num, dim = t.shape
    block, workers = _block_rows(t), 1 if t.is_cuda else thread_count()
    starts = range(0, num, block)
    # A few tasks a worker, handed out as workers free up: one slowed by other work on its core takes fewer.
    per_task = max(1, -(-len(starts) // (4 * workers)))
    yt = None if qt is None else torch.empty(qt.shape[0], num, dtype=torch.float32, device=t.device)

    def task(first: int) -> tuple[Any, Any, Any]:
        f64, f32 = {"dtype": torch.float64, "device": t.device}, {"dtype": torch.float32, "device": t.device}
        s = q = zt = None
        if x0 is not None:
            s, q = torch.zeros(dim, **f64), torch.zeros(dim, **f64)
            buf, ones = torch.empty(block, dim, **f32), torch.ones(block, **f32)
        if qt is not None and gram:
            zt = torch.zeros(qt.shape[0], dim, **f32)
        for start in starts[first:first + per_task]:
            rows = t[start:start + block]
            if x0 is not None:
                rows = torch.sub(rows, x0, out=buf[:len(rows)])
                s += ones[:len(rows)] @ rows
            if qt is not None:
                # In this transposed layout (Q.T, Y.T) MKL runs these skinny products ~1.3x faster than as
                # R @ Q and R.T @ Y.
                yb = torch.mm(qt, rows.T)
                if shift is not None:
                    yb -= shift
                yt[:, start:start + len(rows)] = yb
                if zt is not None:
                    zt.addmm_(yb, rows)
            if x0 is not None:
                rows.mul_(rows)
                q += ones[:len(rows)] @ rows
        return s, q, zt

    parts = parallel_map(task, range(0, len(starts), per_task), workers)

    def total(j: int) -> Any:
        return None if parts[0][j] is None else sum(part[j] for part in parts[1:]) + parts[0][j]

    return total(0), total(1), yt, total(2)


def _column_stats(t: Any, name: str = "x", probe: Any = None) -> tuple[Any, int, float, Any, Any]:
    """One blocked pass: float64 column means, how many columns vary, total variance (ddof 1); with a (D, w)
    float64 ``probe`` Q also (X_c @ Q).T (w, N) and X_c.T @ X_c @ Q (D, w, float64), from the same blocks (the
    first step of the randomized solver costs no pass of its own).

    Sums are taken of the data shifted by its first row, so a constant column is exactly 0 there (it varies iff
    its sum of squares is > 0) and there is no cancellation when the mean is large. Raises when ``t`` is not
    finite.
    """
    import torch

    num = t.shape[0]
    x0 = t[0].clone()
    qt = None if probe is None else probe.T.to(torch.float32).contiguous()
    s, q, yt, zt = _blocked_pass(t, x0, qt)
    if not bool(torch.isfinite(q).all()):
        _require_finite(t, name)
    delta = s / num  # mean - x0
    mean64 = x0.to(torch.float64) + delta
    col_var = torch.clamp(q - s * s / num, min=0.0) / max(num - 1, 1)
    varying = int((q > 0).sum())
    if probe is None:
        return mean64, varying, float(col_var.sum()), None, None
    # From the shifted data X_s = X - x0 to X_c = X_s - 1 delta.T: X_c.T X_c = X_s.T X_s - N delta delta.T.
    dq = delta @ probe
    yt -= dq.to(torch.float32)[:, None]
    return mean64, varying, float(col_var.sum()), yt, zt.T.to(torch.float64) - num * torch.outer(delta, dq)


@dataclass(frozen=True)
class Components:
    """A fitted truncated PCA.

    Attributes
    ----------
    components
        (n, D) float32, unit rows, orthogonal; each row's largest-magnitude coefficient is positive.
    explained_variance
        (n,) float64 variance of the data along each component (ddof = 1).
    explained_variance_ratio
        (n,) float64 share of the total variance along each component.
    mean
        (D,) float32 mean of the data the components were fitted on.
    scores
        (N, n) float32 coordinates of the fitted data on the components.
    """

    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    scores: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def transform(self, x: Any, name: str = "x") -> np.ndarray:
        """Coordinates (M, n) float32 of other items ``x`` (M, D) on these components (fit here, apply there)."""
        t = _as_matrix(x, name)
        d = self.components.shape[1]
        if t.shape[1] != d:
            raise ValueError(f"{name} has D = {t.shape[1]} features but the components were fitted on D = {d}")
        return _project(t, self.mean, self.components)


def _project(t: Any, mean: np.ndarray, comps: np.ndarray) -> np.ndarray:
    import torch

    v = torch.from_numpy(np.ascontiguousarray(comps.T)).to(t.device)
    shift = torch.from_numpy(mean).to(t.device) @ v
    return (t @ v - shift).cpu().numpy().astype(np.float32, copy=False)


def _orthonormal(y: Any) -> Any:
    import torch

    return torch.linalg.qr(y, mode="reduced").Q


def principal_components(x: Any, n: int = 10, *, solver: str = "auto", oversample: int = 10,
                         power_iterations: int = 3, random_state: int = 0) -> Components:
    """Fit the first ``n`` principal components of ``x``.

    Parameters
    ----------
    x
        (N, D) features: numpy array or torch tensor. A CUDA tensor is worked on where it is (the GPU).
    n
        Number of components, ``1 <= n <= min(N, D)`` and at most the number of features that vary.
    solver
        "exact" (SVD of the centred data), "randomized" (block Krylov: ``power_iterations`` products with
        X_c.T X_c of a random block of ``n + oversample`` columns, every iterate kept in the basis; the data is
        centred implicitly, never copied, and read ``power_iterations + 1`` times) or "auto" (exact when N * D
        is at most :data:`EXACT_MAX_ENTRIES`, randomized otherwise).
    oversample, power_iterations, random_state
        Randomized solver: columns per block beyond ``n``, Krylov steps, seed. With the defaults the explained
        variance ratios match an exact solver to 5e-4 or better on the spectra tried (flat, power-law,
        exponential), 1e-6 on the benchmark's (benchmarks/README.md).

    Returns
    -------
    Components

    Raises
    ------
    ValueError
        ``n`` out of range; all features constant (zero variance); a bad ``solver``; ``x`` not finite or 2-D.
    """
    import torch

    t = _as_matrix(x, "x", check_finite=False)
    num, dim = t.shape
    if not _is_int(n) or not 1 <= n <= min(num, dim):
        raise ValueError(f"n must be an int from 1 to min(N, D) = {min(num, dim)} (N = {num}, D = {dim}), got {n!r}")
    if solver not in ("auto", "exact", "randomized"):
        raise ValueError(f"solver must be 'auto', 'exact' or 'randomized', got {solver!r}")
    for name, value in (("oversample", oversample), ("power_iterations", power_iterations)):
        if not _is_int(value) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    n = int(n)
    small = num * dim <= EXACT_MAX_ENTRIES
    exact = solver == "exact" or (solver == "auto" and small)
    probe = None if exact else _random_block(dim, min(n + max(int(oversample), 0), num, dim), random_state, t.device)
    if small:
        _require_finite(t, "x")
        col_var, mean64 = torch.var_mean(t.to(torch.float64), dim=0, correction=1 if num > 1 else 0)
        scale = max(float(col_var.max()), 1e-300)
        varying = int((col_var > 1e-12 * scale).sum()) if float(col_var.max()) > 0 else 0
        total = float(col_var.sum())
    if not small or probe is not None:
        # One blocked pass for the statistics (an elementwise pass per statistic over a large x is slow on a
        # CPU), which also takes the randomized solver's first step.
        stats = _column_stats(t, "x", probe)
        if not small:
            mean64, varying, total = stats[:3]
    if varying == 0:
        raise ValueError("x has zero variance: every feature is constant, so there are no principal components")
    if n > varying:
        raise ValueError(f"n = {n} is more than the {varying} features of x that vary (the others are constant); "
                         f"ask for n <= {varying}")
    mean = mean64.to(torch.float32)
    if exact:
        centred = t.to(torch.float64) - mean64
        _, s, vt = torch.linalg.svd(centred, full_matrices=False)
        s, vt, scores = s[:n], vt[:n], None
    else:
        s, vt, scores = _block_krylov(t, mean, probe, stats[3], stats[4], n, max(int(power_iterations), 0))
    vt = vt.to(torch.float64)
    # Sign: the largest-magnitude coefficient of each component is positive (deterministic, as scikit-learn).
    pivot = vt.abs().argmax(dim=1)
    signs = torch.sign(vt[torch.arange(n, device=vt.device), pivot])
    vt = vt * signs[:, None]
    comps = vt.to(torch.float32).cpu().numpy()
    mean_np = mean.cpu().numpy()
    variance = (s.to(torch.float64) ** 2 / max(num - 1, 1)).cpu().numpy()
    if scores is None:
        scores_np = _project(t, mean_np, comps)
    else:
        scores_np = (scores * signs.to(scores.dtype)[None]).to(torch.float32).cpu().numpy()
    return Components(components=comps, explained_variance=variance, explained_variance_ratio=variance / total,
                      mean=mean_np, scores=scores_np)


def _random_block(dim: int, width: int, seed: int, device: Any) -> Any:
    import torch

    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    return _orthonormal(torch.randn(dim, width, generator=gen, dtype=torch.float64)).to(device)


def _fused_pass(t: Any, mean: Any, qt: Any) -> tuple[Any, Any]:
    """((X_c @ Q).T, X_c.T @ X_c @ Q) in one pass over ``t``, for ``qt`` = Q.T (w, D) float32.

    X_c.T Y = X.T Y - mean (1.T Y) with Y = X_c @ Q centred; returned in float64.
    """
    import torch

    _, _, yt, zt = _blocked_pass(t, qt=qt, shift=(qt @ mean)[:, None])
    return yt, zt.T.to(torch.float64) - torch.outer(mean.to(torch.float64), yt.sum(dim=1).to(torch.float64))


def _block_krylov(t: Any, mean: Any, q0: Any, y0: Any, z0: Any, n: int, steps: int) -> tuple[Any, Any, Any]:
    """Singular values, right vectors and scores of X_c = t - mean by randomized block Krylov iteration.

    The basis is [Q_0, Q_1, ..., Q_steps] with Q_{j+1} the orthonormalised part of X_c.T X_c Q_j new to the
    basis (Musco & Musco 2015): for the same passes over the data it converges much faster than subspace
    iteration, which keeps only the last iterate. ``y0 = (X_c Q_0).T`` and ``z0 = X_c.T X_c Q_0`` come from the
    statistics pass; each further step is one fused pass, the last block needs one product more. The small
    (D, w) matrices are orthonormalised in float64. Rayleigh-Ritz from B = X_c [Q_0 ...] = [Y_0 ...] through its
    Gram matrix B.T B = W S^2 W.T gives the singular values S, the right vectors basis @ W and the scores B @ W
    without another pass (B is kept transposed, (w, N) blocks, as the passes make it).
    """
    import torch

    limit = min(t.shape)
    width = q0.shape[1]
    basis, ys, z = [q0], [y0], z0
    for step in range(steps):
        room = limit - sum(b.shape[1] for b in basis)
        if room <= 0:
            break
        k = torch.cat(basis, dim=1)
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to the basis to rounding
            z = z - k @ (k.T @ z)
        qn = _orthonormal(z[:, :min(width, room)])
        basis.append(qn)
        qt = qn.T.to(torch.float32).contiguous()
        if step == steps - 1 or room <= width:
            ys.append(_blocked_pass(t, qt=qt, shift=(qt @ mean)[:, None], gram=False)[2])
            break
        y, z = _fused_pass(t, mean, qt)
        ys.append(y)
    bt = torch.cat(ys, dim=0)
    # Thin SVD of B through its Gram matrix in float64 (a float32 product on a GPU, where float64 is slow).
    if not bt.is_cuda:
        bt = bt.to(torch.float64)
    evals, w = torch.linalg.eigh((bt @ bt.T).to(torch.float64))
    order = torch.argsort(evals, descending=True)[:n]
    s = torch.sqrt(torch.clamp(evals[order], min=0.0))
    w = w[:, order]
    vt = (torch.cat(basis, dim=1) @ w).T  # (n, D)
    return s, vt, (w.T.to(bt.dtype) @ bt).T  # scores (N, n)


# ------------------------------------------------------------------------------------------------------------
# reading components
# ------------------------------------------------------------------------------------------------------------


def _check_scores(scores: Any, i: Any) -> tuple[np.ndarray, int]:
    s = np.asarray(scores)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (N, n_components), got shape {s.shape}")
    if not _is_int(i) or not 0 <= i < s.shape[1]:
        raise ValueError(f"i must be a component index in 0..{s.shape[1] - 1}, got {i!r}")
    return s, int(i)


def extremes(scores: Any, i: int, m: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` items at each end of component ``i``.

    Parameters
    ----------
    scores
        (N, n) coordinates on the components (:attr:`Components.scores`).
    i
        Component index.
    m
        Items per end, ``1 <= m <= N``.

    Returns
    -------
    low, high
        int64 (m,): the lowest scores first (most negative first) and the highest first; ties by index.
    """
    s, i = _check_scores(scores, i)
    if not _is_int(m) or not 1 <= m <= len(s):
        raise ValueError(f"m must be an int from 1 to N = {len(s)}, got {m!r}")
    col = s[:, i]
    return _ends(col, int(m)), _ends(-col, int(m))


def _ends(col: np.ndarray, m: int) -> np.ndarray:
    """Indices of the ``m`` smallest of ``col``, smallest first, ties by index (a partial sort, then a full one
    of the few items at most as large as the m-th)."""
    if m < len(col):
        kth = col[np.argpartition(col, m - 1)[m - 1]]
        cand = np.flatnonzero(col <= kth)
    else:
        cand = np.arange(len(col))
    return cand[np.lexsort((cand, col[cand]))[:m]].astype(np.int64)


def walk(scores: Any, i: int, steps: int = 9, m: int = 1, lo: float = 1.0, hi: float = 99.0
         ) -> tuple[np.ndarray, np.ndarray]:
    """Walk along component ``i``: the items nearest to evenly spaced points on its axis.

    The points run from the ``lo``-th to the ``hi``-th percentile of the scores on component ``i``, with every
    other component at 0 (the mean), so the items found vary along ``i`` and as little as possible otherwise.

    Returns
    -------
    positions, indices
        float64 (steps,) positions on the axis, int64 (steps, m) nearest items (Euclidean, in score space).
    """
    s, i = _check_scores(scores, i)
    if not _is_int(steps) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    if not _is_int(m) or not 1 <= m <= len(s):
        raise ValueError(f"m must be an int from 1 to N = {len(s)}, got {m!r}")
    positions = np.linspace(*np.percentile(s[:, i], [lo, hi]), int(steps))
    index = NeighborIndex(s)
    target = np.zeros(s.shape[1], dtype=np.float32)
    out = np.empty((int(steps), int(m)), dtype=np.int64)
    for k, p in enumerate(positions):
        target[i] = p
        out[k] = index.query_vector(target, int(m))[0]
    return positions, out


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
                         "ks": [float(r.statistic) for r in tests], "p_value": [float(r.pvalue) for r in tests]})


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
        How the neighbours are found in each space (:func:`nbviz.kernels.neighbors.knn_graph`): exactly
        (True), with an approximate index tuned to ``target_recall`` (False), or by size (None: approximate
        from :data:`nbviz.kernels.neighbors.APPROX_MIN_ITEMS` items on).
    return_graphs
        Also return the two :class:`~nbviz.kernels.neighbors.KnnGraph`, whose ``exact`` and ``recall`` say
        how the neighbours were found.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, (KnnGraph, KnnGraph))
        float64 (N,) in [0, 1]: 1 where the two neighbourhoods are the same.
    """
    xa, xb = _check_features(a, names[0]), _check_features(b, names[1])
    _same_items(xa, xb, names)
    options = {"exact": exact, "target_recall": target_recall, "random_state": random_state}
    graphs = knn_graph(xa, k, metric, **options), knn_graph(xb, k, metric, **options)
    jaccard = _jaccard(graphs[0].indices, graphs[1].indices)
    return (jaccard, graphs) if return_graphs else jaccard


def _layout_knn(layout: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    """Exact k nearest (Euclidean, self excluded) in a low-dimensional layout for ``rows``, by a k-d tree."""
    from scipy.spatial import cKDTree

    _, idx = cKDTree(layout).query(layout[rows], k=k + 1, workers=-1)
    # Drop the row itself; with duplicates it may not come first, so remove it wherever it is.
    keep = idx != rows[:, None]
    keep[keep.sum(axis=1) > k, -1] = False
    return idx[keep].reshape(len(rows), k)


def _sample_rows(n: int, sample: int | None, random_state: int) -> np.ndarray:
    if sample is None or sample >= n:
        return np.arange(n)
    if not _is_int(sample) or sample < 1:
        raise ValueError(f"sample must be a positive int or None, got {sample!r}")
    return np.sort(np.random.default_rng(random_state).choice(n, size=int(sample), replace=False))


def _check_faithfulness(x: Any, layout: Any, k: Any) -> tuple[np.ndarray, np.ndarray, int]:
    xs, ls = _check_features(x, "x"), _check_features(layout, "layout")
    _same_items(xs, ls, ("x", "layout"))
    n = len(xs)
    if not _is_int(k) or not 1 <= k < n / 2:
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
