"""The checks of a :class:`~nbviz.Features`' own inputs: the embedding matrix and the metadata table.

Each returns the stored form (float32 C-contiguous embeddings; a DataFrame with a fresh RangeIndex) or raises an
error naming the parameter, what was expected and what came.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .blockwise import is_mapped, nonfinite_rows
from .checks import as_numpy, check_length, is_tensor, list_rows, plural
from .columnar import mapped_float32, open_npy

__all__ = ["check_embeddings", "check_metadata"]


# ------------------------------------------------------------------------------------------------------------
# embeddings
# ------------------------------------------------------------------------------------------------------------


def check_embeddings(embeddings: Any) -> np.ndarray:
    if isinstance(embeddings, (str, os.PathLike)) and os.fspath(embeddings).endswith(".npy"):
        embeddings = open_npy(embeddings)
    if embeddings is None or isinstance(embeddings, (str, bytes, dict, os.PathLike)):
        raise TypeError(
            f"embeddings must be an (N, D) numpy array or torch tensor, or the path of a .npy file; "
            f"got {type(embeddings).__name__}"
        )
    arr = as_numpy(embeddings, "embeddings")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                "embeddings must hold real numbers; got an object array that does not convert to float"
            ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"embeddings must hold real numbers (bool, int or float); got dtype {arr.dtype}")
    if arr.ndim == 1:
        raise ValueError(
            f"embeddings must be 2-D (N, D); got 1-D shape {arr.shape}; reshape with x.reshape(-1, 1) "
            "for one feature per row, or x.reshape(1, -1) for a single row"
        )
    if arr.ndim != 2:
        raise ValueError(
            f"embeddings must be 2-D (N, D); got {arr.ndim}-D shape {arr.shape}; flatten the trailing "
            "dimensions with x.reshape(len(x), -1)"
        )
    n, d = arr.shape
    if n < 1 or d < 1:
        raise ValueError(f"embeddings must have at least 1 row and 1 column; got shape {arr.shape}")
    if is_mapped(arr) and not (arr.dtype == np.float32 and arr.flags.c_contiguous):
        arr = mapped_float32(arr, "embeddings")  # converted block by block into a mapped cache, not into memory
    with np.errstate(over="ignore"):  # float64 beyond the float32 range becomes inf, reported below
        out = np.ascontiguousarray(arr, dtype=np.float32)  # a view, no copy, of float32 C-contiguous input
    bad = nonfinite_rows(out)  # by blocks of rows: no N-sized temporaries for large or mapped input
    if len(bad):
        advice = "drop or impute them"
        if arr.dtype.kind == "f" and arr.dtype.itemsize > 4 and np.isfinite(arr[bad]).all():
            advice = "their values are finite but beyond the float32 range (+-3.4e38); rescale them"
        raise ValueError(
            f"embeddings has {plural(len(bad), 'row')} with NaN or inf values ({list_rows(bad)}); {advice}"
        )
    return out


# ------------------------------------------------------------------------------------------------------------
# metadata
# ------------------------------------------------------------------------------------------------------------


def check_metadata(metadata: Any, n: int) -> pd.DataFrame:
    if isinstance(metadata, pd.DataFrame):
        check_length(len(metadata), n, "metadata", unit="rows")
        dupes = metadata.columns[metadata.columns.duplicated()].unique().tolist()
        if dupes:
            raise ValueError(f"metadata has duplicate column names {dupes}; rename them")
        return metadata.reset_index(drop=True)
    if not isinstance(metadata, dict):
        raise TypeError(
            f"metadata must be a pandas DataFrame or a dict of columns; got {type(metadata).__name__}"
        )
    columns: dict[Any, Any] = {}
    for key, column in metadata.items():
        where = f"metadata column {key!r}"
        if isinstance(column, pd.Series):
            # .to_numpy() drops the Series' own index, which would otherwise re-align the rows.
            values: Any = column.to_numpy()
        elif isinstance(column, np.ndarray) or is_tensor(column):
            values = as_numpy(column, where)
        elif isinstance(column, (list, tuple, pd.Index, pd.Categorical)):
            values = column
        else:
            raise TypeError(
                f"{where} must be a list, numpy array, torch tensor or pandas Series with one value per row; "
                f"got {type(column).__name__}"
            )
        if isinstance(values, np.ndarray) and values.ndim != 1:
            raise ValueError(f"{where} must be 1-D with one value per row; got shape {values.shape}")
        check_length(len(values), n, where)
        columns[key] = values
    return pd.DataFrame(columns, index=pd.RangeIndex(n))
