"""Features: the one container of embeddings, labels, images and metadata handed to the widgets.

Everything a widget needs about a set of N samples travels in a :class:`Features`: an (N, D) float32 embedding
matrix, optional labels (kept as given, plus small integer codes for colouring), optional images (in memory as
uint8, or file paths read lazily) and an optional metadata table. All inputs are checked once, here, so that
widgets and kernels can trust the shapes and dtypes; a bad input raises an error naming the parameter,
what was expected and what came.

:func:`as_numpy` is the one conversion from what users have (numpy arrays, torch tensors on any device, lists,
pandas objects) to numpy; widgets reuse it for their own array inputs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Features", "as_numpy", "check_class_names", "code_dtype", "encode_labels"]

#: Channel counts an image may have: grey, RGB, RGBA.
_CHANNELS = (1, 3, 4)
#: How many row indices an error lists before it says "and N more".
_MAX_LISTED = 10
#: Slack for float images that should lie in [0, 1] but picked up rounding error (e.g. 1.0000001).
_FLOAT_IMAGE_TOL = 1e-6


# ------------------------------------------------------------------------------------------------------------
# conversion helpers
# ------------------------------------------------------------------------------------------------------------


def _is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch when the user has not."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _tensor_to_numpy(t: Any, name: str) -> np.ndarray:
    """Detach a tensor, bring it to the CPU and view it as numpy (dtypes numpy lacks become float32)."""
    t = t.detach()
    if t.device.type == "meta":
        raise ValueError(
            f"{name} is a tensor on the 'meta' device, which holds no data; materialise it first"
        )
    if t.layout != sys.modules["torch"].strided:  # sparse tensors
        t = t.to_dense()
    t = t.cpu().resolve_conj().resolve_neg()
    try:
        return t.numpy()
    except TypeError:
        # bfloat16 and the float8 types have no numpy dtype; float32 holds them exactly.
        if t.is_floating_point():
            return t.float().numpy()
        raise TypeError(f"{name} has torch dtype {t.dtype}, which has no numpy equivalent") from None


def _ragged_error(parts: Sequence[Any], name: str) -> ValueError:
    """The error for a list whose items do not share one shape, naming the first item that differs."""
    shapes = []
    for item in parts:
        try:
            shapes.append(np.shape(item))
        except ValueError:
            shapes.append(None)
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            return ValueError(
                f"{name}[{i}] has shape {shape} but {name}[0] has shape {shapes[0]}; "
                f"all items of {name} must have the same shape"
            )
    return ValueError(f"{name} is a ragged nested list; all items of {name} must have the same shape")


def as_numpy(x: Any, name: str) -> np.ndarray:
    """Convert an array-like that users have to a numpy array.

    Parameters
    ----------
    x
        A numpy array (returned as is), a torch tensor on any device (detached and copied to the CPU;
        dtypes numpy lacks, such as bfloat16, become float32), a list or tuple (of numbers, strings, arrays
        or tensors of one shape), or anything else numpy can read: pandas Series/DataFrame/Index, PIL images,
        objects with ``__array__``.
    name
        The parameter's name, used in error messages.

    Returns
    -------
    numpy.ndarray
        The values as numpy. The result may share memory with ``x`` (numpy arrays, CPU tensors): copy it
        before writing to it.

    Raises
    ------
    TypeError
        If ``x`` is ``None``, a string, a dict or a set, or something numpy cannot read.
    ValueError
        If ``x`` is a list whose items have different shapes (the error names the first that differs), or a
        tensor on the ``meta`` device.
    """
    if isinstance(x, np.ndarray):
        return x
    if _is_tensor(x):
        return _tensor_to_numpy(x, name)
    if x is None or isinstance(x, (str, bytes, dict, set, frozenset)):
        raise TypeError(f"{name} must be a numpy array, torch tensor or list; got {type(x).__name__}")
    if isinstance(x, (list, tuple)):
        if any(_is_tensor(item) for item in x):
            parts = [
                _tensor_to_numpy(item, f"{name}[{i}]") if _is_tensor(item) else np.asarray(item)
                for i, item in enumerate(x)
            ]
            if any(p.shape != parts[0].shape for p in parts):
                raise _ragged_error(parts, name)
            return np.stack(parts)
        try:
            return np.asarray(x)
        except ValueError:
            raise _ragged_error(x, name) from None
    to_numpy = getattr(x, "to_numpy", None)
    if callable(to_numpy):
        return np.asarray(to_numpy())
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return np.asarray(x)
    raise TypeError(f"{name} must be a numpy array, torch tensor or list; got {type(x).__name__}")


def _list_rows(rows: np.ndarray, word: str = "rows") -> str:
    """``"rows 4, 17, 90"``, cut after the first few: ``"rows 0, 1, ..., 9 and 5 more"``."""
    rows = np.asarray(rows)
    shown = ", ".join(str(int(r)) for r in rows[:_MAX_LISTED])
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    if len(rows) == 1:
        word = word.rstrip("s")
    return f"{word} {shown}{more}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def code_dtype(k: int) -> np.dtype:
    """The smallest dtype the browser reads that holds codes 0..k-1 (uint8, uint16, else int32)."""
    if k <= 256:
        return np.dtype(np.uint8)
    if k <= 65536:
        return np.dtype(np.uint16)
    return np.dtype(np.int32)


def _check_length(count: int, n: int, what: str, unit: str = "entries") -> None:
    if count != n:
        raise ValueError(f"{what} has {count} {unit} but embeddings has {n} rows")


# ------------------------------------------------------------------------------------------------------------
# embeddings
# ------------------------------------------------------------------------------------------------------------


def _check_embeddings(embeddings: Any) -> np.ndarray:
    if embeddings is None or isinstance(embeddings, (str, bytes, dict)):
        raise TypeError(
            f"embeddings must be an (N, D) numpy array or torch tensor; got {type(embeddings).__name__}"
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
    with np.errstate(over="ignore"):  # float64 beyond the float32 range becomes inf, reported below
        out = np.ascontiguousarray(arr, dtype=np.float32)
    # A float64 row sum of float32 values cannot overflow, and NaN/inf propagate into it: one O(N) check.
    bad = np.flatnonzero(~np.isfinite(out.sum(axis=1, dtype=np.float64)))
    if len(bad):
        advice = "drop or impute them"
        if arr.dtype.kind == "f" and arr.dtype.itemsize > 4 and np.isfinite(arr[bad]).all():
            advice = "their values are finite but beyond the float32 range (+-3.4e38); rescale them"
        raise ValueError(
            f"embeddings has {_plural(len(bad), 'row')} with NaN or inf values ({_list_rows(bad)}); {advice}"
        )
    return out


# ------------------------------------------------------------------------------------------------------------
# labels
# ------------------------------------------------------------------------------------------------------------


def _labels_array(labels: Any, name: str = "labels") -> np.ndarray:
    """Labels as a numpy array of the original values (mixed types kept in an object array)."""
    if isinstance(labels, (str, bytes, dict, set, frozenset)) or np.isscalar(labels):
        raise TypeError(
            f"{name} must be a list, numpy array, torch tensor or pandas Series with one label per row; "
            f"got {type(labels).__name__}"
        )
    if isinstance(labels, (list, tuple)) and not any(_is_tensor(v) for v in labels):
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
        f"{name} must be {what}; found {values[rows[0]]} at row {rows[0]} ({_plural(len(rows), 'row')} "
        f"{why}: {_list_rows(rows)})"
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
        what = (f"integers in 0..{k - 1} to index {classes_name} ({_plural(k, 'name')})" if k is not None
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
            f"{name} has {_plural(len(absent), 'missing value')} (None or NaN) at {_list_rows(absent)}; "
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


def _check_labels(labels: Any, class_names: Any, n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    arr = _labels_1d(labels, "labels")
    _check_length(len(arr), n, "labels")
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


# ------------------------------------------------------------------------------------------------------------
# images
# ------------------------------------------------------------------------------------------------------------

_IMAGE_DTYPES = "uint8, integers in 0..255 or floats in [0, 1]"


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Images of any supported dtype as uint8, checking the value range."""
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        return arr
    if kind == "f":
        if not np.isfinite(arr).all():
            bad = np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))
            raise ValueError(
                f"images has NaN or inf values in {_plural(len(bad), 'image')} ({_list_rows(bad, 'images')})"
            )
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -_FLOAT_IMAGE_TOL or hi > 1 + _FLOAT_IMAGE_TOL:
            hint = (
                "; undo any mean/std normalisation first"
                if lo < 0
                else "; scale them into [0, 1] (e.g. divide by 255 for 8-bit pixel values)"
            )
            raise ValueError(
                f"images of dtype {arr.dtype} must hold values in [0, 1]; "
                f"found min {lo:g} and max {hi:g}{hint}"
            )
        return np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    if kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"images of dtype {arr.dtype} must hold values in 0..255; found min {lo} and max {hi}"
            )
        return arr.astype(np.uint8)
    raise TypeError(f"images must be {_IMAGE_DTYPES}; got dtype {arr.dtype}")


def _images_from_batch(arr: np.ndarray, n: int, channels_first: bool) -> np.ndarray:
    """A batch (N, H, W), (N, H, W, C) or (N, C, H, W) as uint8 (N, H, W) or (N, H, W, 3|4).

    ``channels_first`` says which layout wins when both could apply: torch's (N, C, H, W) for tensors, numpy's
    (N, H, W, C) for arrays.
    """
    expected = "(N, H, W), (N, H, W, C) or (N, C, H, W) with C in 1, 3, 4"
    if arr.ndim not in (3, 4):
        raise ValueError(f"images must be {expected}; got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"images must be {_IMAGE_DTYPES}; got dtype {arr.dtype}")
    if arr.dtype.kind == "b":
        raise TypeError(
            f"images must be {_IMAGE_DTYPES}; got dtype bool; convert masks with (mask * 255).astype('uint8')"
        )
    _check_length(len(arr), n, "images")
    if arr.ndim == 4:
        first, last = arr.shape[1] in _CHANNELS, arr.shape[3] in _CHANNELS
        if channels_first and first or (not last and first):
            arr = arr.transpose(0, 2, 3, 1)
        elif not last:
            raise ValueError(f"images must be {expected}; got shape {arr.shape}, which has no channel axis")
    if arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"images must be at least 1x1 pixels; got shape {arr.shape}")
    out = _to_uint8(arr)
    if out.ndim == 4 and out.shape[3] == 1:
        out = out[..., 0]
    return np.ascontiguousarray(out)


def _pil_to_uint8(img: Any, where: str) -> np.ndarray:
    """A PIL image as uint8 (H, W), (H, W, 3) or (H, W, 4)."""
    mode = img.mode
    if mode in ("1", "L"):
        return np.array(img.convert("L"), dtype=np.uint8)
    if mode.startswith("I;16") or mode == "I":
        raw = np.array(img).astype(np.int64)
        if raw.size and (raw.min() < 0 or raw.max() > 65535):
            raise ValueError(f"{where} is a 32-bit integer image; convert it to 8 bits")
        if mode == "I" and (raw.size == 0 or raw.max() <= 255):
            return raw.astype(np.uint8)
        return ((raw + 128) // 257).astype(np.uint8)  # 16-bit to 8-bit, rounded
    if mode == "F":
        raise ValueError(f"{where} is a 32-bit float image (PIL mode 'F'); convert it to 8 bits")
    has_alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in img.info)
    return np.array(img.convert("RGBA" if has_alpha else "RGB"), dtype=np.uint8)


def _load_image(path: Path, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return _pil_to_uint8(img, where)
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"could not read {where} ({str(path)!r}): {exc}") from exc


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _is_pil(x: Any) -> bool:
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(x, pil.Image)


def _check_paths(items: Sequence[Any], n: int) -> tuple[Path, ...]:
    _check_length(len(items), n, "images")
    paths = []
    for i, item in enumerate(items):
        if not _is_path(item):
            raise TypeError(
                f"images[{i}] is a {type(item).__name__} but images[0] is a path; a list of images must "
                "be all file paths or all arrays"
            )
        paths.append(Path(item))
    # Only stat the files here: reading thousands of images would make construction slow.
    missing = [i for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        shown = ", ".join(f"images[{i}] {str(paths[i])!r}" for i in missing[:_MAX_LISTED])
        more = f" and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
        raise FileNotFoundError(
            f"images has {_plural(len(missing), 'missing file')} ({shown}{more}); check the paths"
        )
    return tuple(paths)


def _check_images(images: Any, n: int) -> np.ndarray | tuple[Path, ...]:
    """Images in memory as one uint8 array, or a tuple of file paths to read on demand."""
    if isinstance(images, (str, bytes, os.PathLike)):
        raise TypeError(
            f"images must be an array, a tensor or a list with one image per row; got a single "
            f"{type(images).__name__}; wrap file paths in a list"
        )
    if isinstance(images, pd.Series) or (isinstance(images, np.ndarray) and images.dtype.kind in "US"):
        images = list(images.tolist())
    if isinstance(images, (list, tuple)):
        if len(images) and _is_path(images[0]):
            return _check_paths(images, n)
        if len(images) and all(_is_pil(item) for item in images):
            images = [_pil_to_uint8(item, f"images[{i}]") for i, item in enumerate(images)]
        for i, item in enumerate(images):
            if _is_path(item) or not (isinstance(item, np.ndarray) or _is_tensor(item) or _is_pil(item)):
                raise TypeError(
                    f"images[{i}] is a {type(item).__name__}; a list of images must hold only file paths, "
                    "numpy arrays, torch tensors or PIL images"
                )
        _check_length(len(images), n, "images")
        from_torch = bool(len(images)) and _is_tensor(images[0])
        parts = [as_numpy(item, f"images[{i}]") for i, item in enumerate(images)]
        for i, part in enumerate(parts):
            if part.shape != parts[0].shape:
                raise ValueError(
                    f"images[{i}] has shape {part.shape} but images[0] has shape {parts[0].shape}; "
                    "all images in a list must have the same shape (or give file paths instead)"
                )
        if parts and parts[0].ndim not in (2, 3):
            raise ValueError(
                f"each image in a list must be (H, W), (H, W, C) or (C, H, W); images[0] has shape "
                f"{parts[0].shape}"
            )
        return _images_from_batch(np.stack(parts), n, channels_first=from_torch)
    if not (isinstance(images, np.ndarray) or _is_tensor(images)):
        raise TypeError(
            "images must be a numpy array, a torch tensor, or a list of file paths or arrays; got "
            f"{type(images).__name__}"
        )
    from_torch = _is_tensor(images)
    arr = as_numpy(images, "images")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"images must be {_IMAGE_DTYPES}; got dtype {arr.dtype}")
    return _images_from_batch(arr, n, channels_first=from_torch)


# ------------------------------------------------------------------------------------------------------------
# metadata
# ------------------------------------------------------------------------------------------------------------


def _check_metadata(metadata: Any, n: int) -> pd.DataFrame:
    if isinstance(metadata, pd.DataFrame):
        _check_length(len(metadata), n, "metadata", unit="rows")
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
        elif isinstance(column, np.ndarray) or _is_tensor(column):
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
        _check_length(len(values), n, where)
        columns[key] = values
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


# ------------------------------------------------------------------------------------------------------------
# Features
# ------------------------------------------------------------------------------------------------------------


class Features:
    """Embeddings of N samples with their labels, images and metadata, checked and aligned row by row.

    Parameters
    ----------
    embeddings
        (N, D) numpy array or torch tensor (any device, any real dtype; tensors are detached). Stored as
        float32, C-contiguous. N >= 1 and D >= 1; rows with NaN or inf are an error.
    labels
        Optional, one label per row: a list, numpy array, torch tensor or pandas Series of ints, strings or
        other hashable values. Missing values (None, NaN) are an error.
    images
        Optional, one image per row, one of:

        - a uint8 array (N, H, W) or (N, H, W, C) with C in 1, 3, 4; integer arrays with values in 0..255
          and float arrays with values in [0, 1] are converted to uint8. An (N, C, H, W) array is transposed
          when its last axis cannot be the channel axis;
        - a torch tensor (N, C, H, W) (converted to channels-last) or (N, H, W, C) when the last axis is in
          1, 3, 4 and axis 1 is not, or (N, H, W);
        - a list of arrays, tensors or PIL images of one shape;
        - a list of file paths (str or :class:`pathlib.Path`, or a pandas Series of them). Files are checked
          to exist now and read with Pillow only when an image is asked for.

        A single channel is stored as (H, W).
    metadata
        Optional pandas DataFrame with N rows, or dict of columns of length N. Stored as a DataFrame with a
        fresh :class:`pandas.RangeIndex`.
    class_names
        Optional list of names for integer labels: ``class_names[k]`` names label ``k``. The labels must
        then be integers in ``0..len(class_names) - 1``; their codes are the labels themselves and
        :attr:`label_names` is ``class_names`` (classes absent from the data included, so colours match
        across datasets).

    Raises
    ------
    TypeError
        If an argument has the wrong type or dtype; the message names the parameter, what was expected and
        what came.
    ValueError
        If shapes, lengths or values do not fit (lengths mismatching N, NaN/inf rows, images out of range,
        labels out of range of ``class_names``).
    FileNotFoundError
        If image paths do not exist (the message lists them).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> d = load_digits()
    >>> f = Features(d.data, labels=d.target, images=d.images / 16.0)
    >>> f.n, f.dim, f.label_names[:3], f.image(0).shape
    (1797, 64, ['0', '1', '2'], (8, 8))
    """

    _embeddings: np.ndarray
    _labels: np.ndarray | None
    _label_codes: np.ndarray | None
    _label_names: list[str] | None
    _image_array: np.ndarray | None
    _image_paths: tuple[Path, ...] | None
    _metadata: pd.DataFrame | None

    def __init__(
        self,
        embeddings: Any,
        labels: Any = None,
        images: Any = None,
        metadata: pd.DataFrame | dict[Any, Any] | None = None,
        class_names: Sequence[Any] | None = None,
    ) -> None:
        emb = _check_embeddings(embeddings)
        n = emb.shape[0]
        if labels is None:
            if class_names is not None:
                raise ValueError(
                    "class_names was given without labels; pass labels (ints indexing class_names)"
                )
            label_values = codes = names = None
        else:
            label_values, codes, names = _check_labels(labels, class_names, n)
        image_array: np.ndarray | None = None
        image_paths: tuple[Path, ...] | None = None
        if images is not None:
            checked = _check_images(images, n)
            if isinstance(checked, tuple):
                image_paths = checked
            else:
                image_array = checked
        table = None if metadata is None else _check_metadata(metadata, n)
        self._embeddings = emb
        self._labels = label_values
        self._label_codes = codes
        self._label_names = names
        self._image_array = image_array
        self._image_paths = image_paths
        self._metadata = table

    # -- attributes ------------------------------------------------------------------------------------------

    @property
    def embeddings(self) -> np.ndarray:
        """(N, D) float32, C-contiguous."""
        return self._embeddings

    @property
    def labels(self) -> np.ndarray | None:
        """The labels as given, one per row, as a numpy array; ``None`` without labels."""
        return self._labels

    @property
    def label_codes(self) -> np.ndarray | None:
        """Integer code of each row's label, indexing :attr:`label_names` (uint8, uint16 or int32)."""
        return self._label_codes

    @property
    def label_names(self) -> list[str] | None:
        """Name of each label code: the sorted unique labels as text, or ``class_names`` when given."""
        return None if self._label_names is None else list(self._label_names)

    @property
    def metadata(self) -> pd.DataFrame | None:
        """Metadata with one row per sample and a :class:`pandas.RangeIndex`; ``None`` without metadata."""
        return self._metadata

    @property
    def image_paths(self) -> list[Path] | None:
        """The image files when images were given as paths; ``None`` otherwise."""
        return None if self._image_paths is None else list(self._image_paths)

    @property
    def n(self) -> int:
        """Number of samples N."""
        return int(self._embeddings.shape[0])

    @property
    def dim(self) -> int:
        """Embedding dimension D."""
        return int(self._embeddings.shape[1])

    @property
    def n_images(self) -> int:
        """Number of images: N when images were given, 0 otherwise."""
        if self._image_array is not None:
            return len(self._image_array)
        if self._image_paths is not None:
            return len(self._image_paths)
        return 0

    def __len__(self) -> int:
        return self.n

    # -- images ----------------------------------------------------------------------------------------------

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as uint8 (H, W), (H, W, 3) or (H, W, 4).

        Parameters
        ----------
        i
            Row index, ``-N <= i < N``.

        Returns
        -------
        numpy.ndarray
            For images held in memory, a view into them (do not write to it); for paths, freshly read.
        """
        if self.n_images == 0:
            raise ValueError("this Features has no images; pass images= when constructing it")
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"i must be an int; got {type(i).__name__}")
        n = self.n_images
        if not -n <= i < n:
            raise IndexError(f"i must be in {-n}..{n - 1}; got {i}")
        i = int(i) % n
        if self._image_array is not None:
            return self._image_array[i]
        assert self._image_paths is not None
        return _load_image(self._image_paths[i], f"images[{i}]")

    def images_uint8(self, indices: Any) -> np.ndarray | list[np.ndarray]:
        """The uint8 images of several rows.

        Parameters
        ----------
        indices
            Row indices (list, numpy array or tensor of ints, or a boolean mask of length N).

        Returns
        -------
        numpy.ndarray or list of numpy.ndarray
            An array (k, H, W[, C]) when the images are held in memory (all one shape); a list of arrays when
            they are read from files (sizes may differ).
        """
        if self.n_images == 0:
            raise ValueError("this Features has no images; pass images= when constructing it")
        idx = self._check_indices(indices, "indices")
        if self._image_array is not None:
            return self._image_array[idx]
        return [self.image(int(i)) for i in idx]

    # -- selection -------------------------------------------------------------------------------------------

    def _check_indices(self, indices: Any, name: str) -> np.ndarray:
        """Indices as a 1-D int64 array of non-negative row numbers, with errors naming ``name``."""
        if isinstance(indices, slice):
            return np.arange(self.n, dtype=np.int64)[indices]
        if isinstance(indices, range):
            indices = list(indices)
        if isinstance(indices, (int, np.integer)) and not isinstance(indices, (bool, np.bool_)):
            indices = [indices]
        try:
            arr = as_numpy(indices, name)
        except TypeError:
            raise TypeError(
                f"{name} must be a list, array or tensor of row indices, or a boolean mask; got "
                f"{type(indices).__name__}"
            ) from None
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
        if arr.dtype.kind == "b":
            if len(arr) != self.n:
                raise ValueError(
                    f"{name} is a boolean mask of length {len(arr)} but embeddings has {self.n} rows"
                )
            return np.flatnonzero(arr)
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer row indices; got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        bad = np.flatnonzero((arr < -self.n) | (arr >= self.n))
        if len(bad):
            raise IndexError(f"{name} must be in {-self.n}..{self.n - 1}; {name}[{bad[0]}] is {arr[bad[0]]}")
        return arr % self.n

    @classmethod
    def from_model(
        cls,
        model: Any,
        data: Any,
        layer: Any = "layer3",
        pool: str | None = "avg",
        batch_size: int = 256,
        device: Any = None,
        labels: Any = None,
        images: Any = None,
        metadata: pd.DataFrame | dict[Any, Any] | None = None,
        progress: bool = True,
    ) -> Features | dict[str, Features]:
        """Features from the activations of one or several layers of a torch model.

        Runs :func:`nbviz.kernels.activations.extract`: forward hooks, ``torch.inference_mode()``, eval mode,
        batches with a progress bar; the model comes back unchanged (training flags, hooks, ``requires_grad``,
        gradients), also when its forward fails.

        Parameters
        ----------
        model
            A ``torch.nn.Module`` (a Lightning module too).
        data
            A tensor or numpy array (N, ...), a torch Dataset (items are tensors or ``(x, y, ...)``) or a
            DataLoader (batches of tensors or ``(x, y, ...)``).
        layer
            A dotted path ("layer3.1"), a list of child names (``["5", "7"]``), the submodule itself, or a list
            of several layers.
        pool
            (N, C, H, W) maps: "avg" (global average pool), "max" or "flatten"; (N, T, C) tokens: "avg",
            "max", "cls" (first token) or "flatten"; None is "flatten".
        batch_size
            Items per forward pass (a DataLoader keeps its own batches).
        device
            Where to run; None = the model's device.
        labels
            One label per item; when None and ``data`` yields ``(x, y)``, the ``y`` are the labels (gathered
            in the same pass, so a shuffling DataLoader stays aligned). Labels given here must be in the order
            ``data`` yields its items.
        images, metadata
            As for :class:`Features`, one per item.
        progress
            Show a ``tqdm`` progress bar.

        Returns
        -------
        Features or dict of str to Features
            One :class:`Features`; for several layers a dict layer path -> :class:`Features`, all sharing the
            same labels, images and metadata.

        Raises
        ------
        ValueError
            Unknown layer (the message lists the closest names), a ``pool`` that does not fit the layer, or
            labels/images/metadata whose length is not N.
        RuntimeError
            When the model's forward fails (the message names the batch and the submodule).

        Examples
        --------
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> Features.from_model(net, torch.randn(10, 4), layer="1", progress=False).embeddings.shape
        (10, 8)
        """
        from .kernels.activations import extract

        feats, targets = extract(model, data, layer, pool=pool, batch_size=batch_size, device=device,
                                 progress=progress, return_targets=True)
        if labels is None:
            labels = targets

        def make(embeddings: np.ndarray) -> Features:
            return cls(embeddings, labels=labels, images=images, metadata=metadata)

        if isinstance(feats, dict):
            return {path: make(f) for path, f in feats.items()}
        return make(feats)

    def subset(self, indices: Any) -> Features:
        """The rows ``indices`` of everything, still aligned.

        Parameters
        ----------
        indices
            Row indices (list, numpy array, tensor, range or slice; repeats allowed) or a boolean mask of
            length N.

        Returns
        -------
        Features
            A new container with those rows. Labels keep their codes and :attr:`label_names` (also names
            absent from the subset), so colours stay the same; metadata gets a fresh RangeIndex.
        """
        idx = self._check_indices(indices, "indices")
        if len(idx) == 0:
            raise ValueError("indices selects no rows; a Features needs at least 1 row")
        out = object.__new__(Features)
        out._embeddings = np.ascontiguousarray(self._embeddings[idx])
        out._labels = None if self._labels is None else self._labels[idx]
        out._label_codes = None if self._label_codes is None else self._label_codes[idx]
        out._label_names = None if self._label_names is None else list(self._label_names)
        out._image_array = None if self._image_array is None else self._image_array[idx]
        out._image_paths = None if self._image_paths is None else tuple(self._image_paths[i] for i in idx)
        out._metadata = None if self._metadata is None else self._metadata.iloc[idx].reset_index(drop=True)
        return out

    def __repr__(self) -> str:
        parts = [f"n={self.n}", f"dim={self.dim}"]
        if self._label_names is not None:
            k = len(self._label_names)
            parts.append(f"labels={k} class{'' if k == 1 else 'es'}")
        if self._image_array is not None:
            shape = "x".join(str(s) for s in self._image_array.shape[1:])
            parts.append(f"images={shape} uint8")
        elif self._image_paths is not None:
            parts.append(f"images={_plural(len(self._image_paths), 'file')}")
        if self._metadata is not None:
            cols = [str(c) for c in self._metadata.columns]
            shown = ", ".join(cols[:5]) + (f", ... ({len(cols)} columns)" if len(cols) > 5 else "")
            parts.append(f"metadata=[{shown}]")
        return f"Features({', '.join(parts)})"
