"""Label coding: labels as users give them turned into small integer codes and the names of those codes.

:func:`encode_labels` is the one label coder of every widget and kernel (legend, colours and the model's output
columns agree), :func:`check_class_names` checks lists of class names, and :func:`check_labels` checks the labels
of a :class:`~nbviz.data.Features`. Split out of ``data.py`` because kernels and widgets code labels without
building a :class:`~nbviz.data.Features`; bottom layer, it imports only :mod:`nbviz.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .checks import as_numpy, check_length, code_dtype, is_tensor, list_rows, plural

__all__ = ["check_class_names", "check_labels", "encode_labels"]


def _labels_array(labels: Any, name: str = "labels") -> np.ndarray:
    """Labels as a numpy array of the original values (mixed types kept in an object array)."""
    if isinstance(labels, (str, bytes, dict, set, frozenset)) or np.isscalar(labels):
        raise TypeError(
            f"{name} must be a list, numpy array, torch tensor or pandas Series with one label per row; "
            f"got {type(labels).__name__}"
        )
    if isinstance(labels, (list, tuple)) and not any(is_tensor(v) for v in labels):
        values = list(labels)
        try:
            arr = np.asarray(values)
        except ValueError:
            arr = None
        # numpy would turn [1, "a"] into strings and [(0, 1), (1, 0)] into a 2-D array: keep the values.
        mixed = (
            arr is not None
            and arr.dtype.kind in "US"
            and not all(isinstance(v, (str, bytes)) for v in values)
        )
        nested = arr is None or (arr.ndim != 1 and all(isinstance(v, tuple) for v in values))
        if mixed or nested:
            arr = np.empty(len(values), dtype=object)
            for i, v in enumerate(values):
                arr[i] = v
        assert arr is not None  # made above when numpy could not
        return arr
    try:
        return as_numpy(labels, name)
    except TypeError:
        raise TypeError(
            f"{name} must be a list, numpy array, torch tensor or pandas Series with one label per row; "
            f"got {type(labels).__name__}"
        ) from None


def _labels_1d(labels: Any, name: str) -> np.ndarray:
    arr = _labels_array(labels, name)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D with one label per row; got shape {arr.shape}; use {name}.ravel() for an "
            f"(N, 1) column, or {name}.argmax(1) for one-hot rows"
        )
    return arr


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Order for labels of mixed types: numbers first (numerically), then everything else by text."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _sorted_codes(arr: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    """Codes 0..K-1 and the K names of the sorted unique values (numbers numerically, text as text)."""
    if arr.dtype.kind in "iu" and arr.size:
        # Integer labels in a small range (class ids): one counting pass instead of np.unique's sort, seconds at
        # 10M points.
        low, high = int(arr.min()), int(arr.max())
        if high - low < max(1 << 16, arr.size):
            shifted = (arr.reshape(-1) - low).astype(np.intp, copy=False)
            present = np.flatnonzero(np.bincount(shifted, minlength=high - low + 1))
            code_of = np.zeros(high - low + 1, dtype=np.int64)
            code_of[present] = np.arange(len(present))
            return code_of[shifted], [str(arr.dtype.type(v + low)) for v in present]
    if arr.dtype.kind != "O":
        uniques, inverse = np.unique(arr, return_inverse=True)
        # str() of numpy scalars: float32 0.1 reads "0.1" (Python floats would show its float64 widening).
        return inverse.reshape(-1).astype(np.int64), [str(v) for v in uniques]
    values = arr.tolist()
    for i, v in enumerate(values):
        try:
            hash(v)
        except TypeError:
            raise TypeError(
                f"{name}[{i}] is a {type(v).__name__}, which cannot be a label; {name} must be ints, strings "
                "or other hashable values"
            ) from None
    uniques = list(dict.fromkeys(values))
    try:
        uniques.sort()
    except TypeError:
        uniques.sort(key=_sort_key)
    index = {v: i for i, v in enumerate(uniques)}
    return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values)), [str(v) for v in uniques]


def _index_error(name: str, rows: np.ndarray, values: np.ndarray, what: str, why: str) -> ValueError:
    return ValueError(
        f"{name} must be {what}; found {values[rows[0]]} at row {rows[0]} ({plural(len(rows), 'row')} "
        f"{why}: {list_rows(rows)})"
    )


def _class_indices(
    arr: np.ndarray, name: str, names: list[str] | None, classes_name: str
) -> tuple[np.ndarray, list[str] | None]:
    """Class-index coding: numbers are indices (whole floats too), text is looked up in ``names``."""
    if arr.dtype.kind not in "biufOUS":
        raise TypeError(f"{name} must hold class indices or class names; got dtype {arr.dtype}")
    if arr.dtype.kind in "OUS":
        values = arr.tolist() if arr.dtype.kind == "O" else [str(v) for v in arr.tolist()]
        numeric = np.fromiter((_is_number(v) or isinstance(v, (bool, np.bool_)) for v in values), dtype=bool,
                              count=len(values))
    else:
        values, numeric = [], np.ones(len(arr), dtype=bool)
    if not numeric.all():
        text = np.flatnonzero(~numeric)
        if names is None:
            if numeric.any():
                i, j = int(np.flatnonzero(numeric)[0]), int(text[0])
                raise ValueError(
                    f"{name} mixes class indices ({values[i]!r} at row {i}) and class names ({values[j]!r} at row "
                    f"{j}); give one kind, or pass {classes_name} to look the names up"
                )
            return _sorted_codes(arr, name)
        lookup = {n: k for k, n in enumerate(names)}
        codes = np.zeros(len(arr), dtype=np.int64)
        for i in text.tolist():
            k = lookup.get(str(values[i]))
            if k is None:
                raise ValueError(
                    f"{name}[{i}] = {values[i]!r} is neither a class index nor one of {classes_name} {names[:10]}"
                    + (" ..." if len(names) > 10 else "")
                )
            codes[i] = k
        rows = np.flatnonzero(numeric)
        nums = np.array([values[i] for i in rows.tolist()], dtype=np.float64 if len(rows) else np.int64)
    else:
        codes, rows = np.zeros(len(arr), dtype=np.int64), np.arange(len(arr))
        nums = np.array([values[i] for i in rows.tolist()]) if values else arr
    if nums.dtype.kind == "f" or nums.dtype.kind == "O":
        nums = nums.astype(np.float64)
        frac = np.flatnonzero(~np.isfinite(nums) | (nums != np.floor(nums)))
        if len(frac):
            raise _index_error(name, rows[frac], arr, "whole numbers to be class indices (2.0 is class 2)",
                               "not whole")
    ints = nums.astype(np.int64)
    k = None if names is None else len(names)
    bad = np.flatnonzero((ints < 0) | (ints >= (k if k is not None else np.iinfo(np.int64).max)))
    if len(bad):
        what = (f"integers in 0..{k - 1} to index {classes_name} ({plural(k, 'name')})" if k is not None
                else "class indices >= 0")
        raise _index_error(name, rows[bad], arr, what, "out of range")
    codes[rows] = ints
    return codes, names


def encode_labels(
    values: Any,
    name: str = "labels",
    classes: Sequence[Any] | None = None,
    *,
    indices: bool = False,
    missing: str | None = None,
    classes_name: str = "classes",
) -> tuple[np.ndarray, list[str] | None]:
    """Integer codes of labels: the one label coder of every widget (legend, colours and model columns agree).

    Two codings:

    - **Sorted** (``classes`` None, ``indices`` False; :class:`Features`, metadata colouring, components): code k
      is the k-th smallest distinct label. Numbers (bool, int, float) sort numerically (2 before 10), text as
      text, mixed object labels numbers first. Names are ``str`` of each value as given: a float label 2.0 is
      named "2.0" (not shortened to "2", so a name always equals ``str(label)``).
    - **Class index** (``classes`` given, or ``indices=True``; widgets whose labels index the model's output
      columns: the probability-map recorder, Grad-CAM): a number is the index of its class, so label 3 is
      column 3. Whole floats are indices too (2.0 is class 2), other floats are refused: a fraction cannot
      name a column. Text labels are looked up in ``classes``; without ``classes`` they get the sorted coding
      (then class k is the k-th name, as in scikit-learn's ``classes_``) and numbers mixed with text are
      refused. The names returned are ``classes`` (None for numeric indices without ``classes``: the model's
      columns then name the classes "0", "1", ...).

    Parameters
    ----------
    values
        N labels: list, numpy array, torch tensor (any device) or pandas Series.
    name
        The parameter's name, for error messages.
    classes
        Class names, one per class index (unique).
    indices
        Class-index coding without ``classes``.
    missing
        Sorted coding only: the name of a category for missing values (None, NaN), coded after all others.
        None: missing values are refused, naming their rows.
    classes_name
        The name of the ``classes`` parameter, for error messages.

    Returns
    -------
    codes, names
        (N,) codes in the smallest dtype that holds them (uint8, uint16 or int32, as the browser reads them),
        and the name of each code (or None, see above).

    Raises
    ------
    TypeError
        Not one label per row (a string, a dict), or an unhashable label.
    ValueError
        Not 1-D; missing values; an index out of range, negative or fractional; text not found in ``classes``.
        The message names the rows.
    """
    arr = _labels_1d(values, name)
    absent = np.flatnonzero(np.asarray(pd.isna(arr), dtype=bool)) if arr.dtype.kind in "fOmM" else np.arange(0)
    if len(absent) and (missing is None or classes is not None or indices):
        raise ValueError(
            f"{name} has {plural(len(absent), 'missing value')} (None or NaN) at {list_rows(absent)}; "
            "fill them with a label of their own (e.g. 'unlabelled') or drop those rows"
        )
    if classes is not None or indices:
        names = None if classes is None else check_class_names(classes, classes_name)
        codes, names = _class_indices(arr, name, names, classes_name)
        k = len(names) if names is not None else int(codes.max(initial=0)) + 1
        return codes.astype(code_dtype(k)), names
    if len(absent):
        present = np.ones(len(arr), dtype=bool)
        present[absent] = False
        sub, names = _sorted_codes(arr[present], name)
        codes = np.full(len(arr), len(names), dtype=np.int64)
        codes[present] = sub
        names = [*names, missing]
    else:
        codes, names = _sorted_codes(arr, name)
    return codes.astype(code_dtype(len(names))), names


def check_class_names(classes: Any, name: str = "classes") -> list[str]:
    """Class names as a list of unique strings; ``name`` is the parameter's name for the errors."""
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (Sequence, np.ndarray, pd.Index)):
        raise TypeError(f"{name} must be a list of names, one per class index; got {type(classes).__name__}")
    names = [str(c) for c in classes]
    if not names:
        raise ValueError(f"{name} must hold at least one name; got an empty list")
    seen: dict[str, int] = {}
    for i, text in enumerate(names):
        if text in seen:
            raise ValueError(f"{name} must be unique; {name}[{i}] repeats {text!r} ({name}[{seen[text]}])")
        seen[text] = i
    return names


def check_labels(labels: Any, class_names: Any, n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    arr = _labels_1d(labels, "labels")
    check_length(len(arr), n, "labels")
    if class_names is not None:
        names = check_class_names(class_names, "class_names")
        if arr.dtype.kind == "O" and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                         for v in arr.tolist()):
            arr = arr.astype(np.int64)
        # Features keeps labels as given: with class_names they must be ints, not names nor 2.0.
        if arr.dtype.kind not in "iub" and not pd.isna(arr).any():
            example = arr.reshape(-1)[0] if arr.size else None
            raise TypeError(
                f"labels must be integers indexing class_names when class_names is given; got dtype {arr.dtype} "
                f"(e.g. {example!r}); convert with labels.astype(int) or leave class_names out"
            )
        codes, _ = encode_labels(arr, "labels", names, classes_name="class_names")
        return arr, codes, names
    codes, names = encode_labels(arr, "labels")
    assert names is not None  # the sorted coding always names its codes
    return arr, codes, names
