"""Principal components for probing a feature space: fitting them and reading them.

- :func:`principal_components`: truncated PCA (randomized block Krylov iteration, in torch on the device the
  data is on; exact for small problems) -> :class:`Components` (components, explained variance
  ratio, scores), which also projects other data (fit on one split, apply to another).
- :func:`extremes`, :func:`walk`: the items at both ends of a component; the items nearest to positions along it.

The statistics that relate components to labels and metadata, compare two datasets on the same components, or
compare two spaces / a layout with its space live in :mod:`nbviz.kernels.component_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..blockwise import is_large
from ..checks import as_matrix
from ._parallel import parallel_map, thread_count
from .neighbors import NeighborIndex
from .projection_scale import COV_MAX_DIM, as_features_matrix, covariance, project_blocks, sign_fix

#: Above this many matrix entries (N * D) the randomized solver is used; below, an exact SVD.
EXACT_MAX_ENTRIES = 4_000_000


def is_int(v: Any) -> bool:
    """True for a Python or numpy integer (not a bool)."""
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
    return torch.from_numpy(as_matrix(x, name))


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
    yt: Any = None if qt is None else torch.empty(qt.shape[0], num, dtype=torch.float32, device=t.device)

    def task(first: int) -> tuple[Any, Any, Any]:
        f64, f32 = {"dtype": torch.float64, "device": t.device}, {"dtype": torch.float32, "device": t.device}
        s: Any = None  # each made below when asked for
        q: Any = None
        zt: Any = None
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
        d = self.components.shape[1]
        if isinstance(x, np.ndarray) and is_large(x):  # large or memory-mapped: read in row blocks
            a = as_features_matrix(x, name)
            if a.shape[1] != d:
                raise ValueError(f"{name} has D = {a.shape[1]} features but the components were fitted on D = {d}")
            return project_blocks(a, self.mean, self.components)
        t = _as_matrix(x, name)
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

    blocked = isinstance(x, np.ndarray) and x.ndim == 2 and is_large(x) and x.shape[1] <= COV_MAX_DIM
    # A torch tensor, or the mapped array itself when it is read in blocks (the branches below tell them apart).
    t: Any = _as_matrix(x, "x", check_finite=False) if not blocked else as_features_matrix(x, "x", check=False)
    num, dim = t.shape
    if not is_int(n) or not 1 <= n <= min(num, dim):
        raise ValueError(f"n must be an int from 1 to min(N, D) = {min(num, dim)} (N = {num}, D = {dim}), got {n!r}")
    if solver not in ("auto", "exact", "randomized"):
        raise ValueError(f"solver must be 'auto', 'exact' or 'randomized', got {solver!r}")
    for name, value in (("oversample", oversample), ("power_iterations", power_iterations)):
        if not is_int(value) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    n = int(n)
    if blocked:
        return _by_covariance(t, n)
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


def _by_covariance(x: np.ndarray, n: int) -> Components:
    """Exact components of a large or memory-mapped ``x`` from its D x D covariance (one pass in row blocks), and
    the scores by a second: O(D^2 + N n) memory, where the Krylov basis would hold (n + oversample) x (steps + 1)
    floats per item (gigabytes at 10M items)."""
    mean, cov = covariance(x)
    col_var = np.diag(cov).clip(min=0.0)
    varying = int((col_var > 1e-12 * col_var.max()).sum()) if col_var.max() > 0 else 0
    if varying == 0:
        raise ValueError("x has zero variance: every feature is constant, so there are no principal components")
    if n > varying:
        raise ValueError(f"n = {n} is more than the {varying} features of x that vary (the others are constant); "
                         f"ask for n <= {varying}")
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:n]
    vt = sign_fix(evecs[:, order].T)
    variance = evals[order].clip(min=0.0)
    return Components(components=vt.astype(np.float32), explained_variance=variance,
                      explained_variance_ratio=variance / col_var.sum(), mean=mean.astype(np.float32),
                      scores=project_blocks(x, mean, vt))


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
    if not is_int(i) or not 0 <= i < s.shape[1]:
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
    if not is_int(m) or not 1 <= m <= len(s):
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
    if not is_int(steps) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    if not is_int(m) or not 1 <= m <= len(s):
        raise ValueError(f"m must be an int from 1 to N = {len(s)}, got {m!r}")
    low, high = np.percentile(s[:, i], [lo, hi])
    positions = np.linspace(low, high, int(steps))
    index = NeighborIndex(s)
    target = np.zeros(s.shape[1], dtype=np.float32)
    out = np.empty((int(steps), int(m)), dtype=np.int64)
    for k, p in enumerate(positions):
        target[i] = p
        out[k] = index.query_vector(target, int(m))[0]
    return positions, out
