"""Row blocks of large (N, D) matrices: the one way nbviz reads features that may not fit in memory.

Features can be memory-mapped (a ``.npy`` file, an ``np.memmap``, the cache behind :meth:`Features.from_parquet`,
an Arrow IPC file). Any whole-array numpy expression on them (``np.isfinite(x)``, ``x - x.mean(0)``, a dtype
conversion) allocates an N x D temporary in anonymous memory, so the passes over such data go through
:func:`row_blocks` instead: each block is a view of a few MB, its temporaries are freed before the next one, and
the page cache (not the process) holds the data. This module sits at the bottom layer and imports nothing from nbviz.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["BLOCK_BYTES", "LARGE_BYTES", "block_rows", "check_finite", "is_large", "is_mapped", "nonfinite_rows",
           "row_blocks"]

#: Bytes of one block of rows (as float64, the widest a pass converts to): large enough for BLAS to run at full
#: speed, small enough that a few temporaries of this size are nothing next to the 2 GB budget of a 10M-row view.
BLOCK_BYTES = 32 << 20

#: Above this many bytes a matrix is read in blocks even when it is in memory (its whole-array temporaries would
#: cost as much again).
LARGE_BYTES = 256 << 20


def is_mapped(a: Any) -> bool:
    """Whether ``a``'s memory comes from a memory-mapped file (np.memmap, np.load(mmap_mode=...), mmap.mmap)."""
    seen = 0
    while a is not None and seen < 32:  # the .base chain of views is short; the bound guards odd objects
        if isinstance(a, (np.memmap, mmap.mmap)):
            return True
        a = getattr(a, "base", None) if isinstance(a, np.ndarray) else getattr(a, "obj", None)
        seen += 1
    return False


def is_large(a: np.ndarray) -> bool:
    """Whether passes over ``a`` should go by blocks: mapped, or larger than :data:`LARGE_BYTES` as float32."""
    return is_mapped(a) or a.shape[0] * int(np.prod(a.shape[1:], dtype=np.int64)) * 4 > LARGE_BYTES


def block_rows(n_cols: int, itemsize: int = 8, budget: int | None = None) -> int:
    """Rows per block so that one block of ``n_cols`` columns of ``itemsize`` bytes fits ``budget`` (default
    :data:`BLOCK_BYTES`, read when called)."""
    return max(1, (BLOCK_BYTES if budget is None else budget) // max(1, n_cols * itemsize))


def row_blocks(n: int, n_cols: int, itemsize: int = 8, budget: int | None = None) -> Iterator[slice]:
    """Slices covering rows 0..n-1 in order, each a block of at most ``budget`` bytes."""
    step = block_rows(n_cols, itemsize, budget)
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def nonfinite_rows(a: np.ndarray) -> np.ndarray:
    """Indices (int64) of the rows of ``a`` (N, ...) holding NaN or inf, reading ``a`` in blocks.

    A block whose min and max are finite has neither (both propagate NaN, and an inf is one of them): two
    vectorised passes without temporaries, the usual case. Only other blocks are summed by rows: a float64 row sum
    of float32 values cannot overflow and NaN/inf propagate into it.
    """
    if a.dtype.kind not in "fc":
        return np.zeros(0, dtype=np.int64)
    bad = []
    for rows in row_blocks(a.shape[0], int(np.prod(a.shape[1:], dtype=np.int64))):
        block = a[rows].reshape(rows.stop - rows.start, -1)
        if block.size == 0 or a.dtype.kind == "f" and np.isfinite(block.min()) and np.isfinite(block.max()):
            continue
        bad.append(rows.start + np.flatnonzero(~np.isfinite(block.sum(axis=1, dtype=np.float64))))
    return np.concatenate(bad).astype(np.int64) if bad else np.zeros(0, dtype=np.int64)


def check_finite(a: np.ndarray, name: str) -> None:
    """Raise ValueError naming ``name`` and the first rows of ``a`` with NaN or inf (read in blocks)."""
    bad = nonfinite_rows(a)
    if len(bad):
        shown = ", ".join(str(r) for r in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        rows = f"rows {shown} hold" if len(bad) > 1 else f"row {shown} holds"
        raise ValueError(f"{name} must be finite; {rows} NaN or inf")
