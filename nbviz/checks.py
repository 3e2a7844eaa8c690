"""Input checks shared by every nbviz module: one conversion to numpy and the pieces of clear error messages.

:func:`as_numpy` is the one conversion from what users have (numpy arrays, torch tensors on any device, lists,
pandas objects) to numpy; :class:`~nbviz.data.Features`, the kernels and the widgets all use it for their array
inputs. Next to it live the small helpers their errors share (listing row numbers, plurals, length checks) and
:func:`code_dtype`, the dtype of category codes as the browser reads them. This module sits at the bottom layer,
below ``data.py``, and imports nothing from nbviz.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .blockwise import nonfinite_rows

__all__ = ["MAX_LISTED", "as_numpy", "check_length", "code_dtype", "is_tensor", "list_rows", "plural"]

#: How many row indices an error lists before it says "and N more".
MAX_LISTED = 10


def is_tensor(x: Any) -> bool:
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
    if is_tensor(x):
        return _tensor_to_numpy(x, name)
    if x is None or isinstance(x, (str, bytes, dict, set, frozenset)):
        raise TypeError(f"{name} must be a numpy array, torch tensor or list; got {type(x).__name__}")
    if isinstance(x, (list, tuple)):
        if any(is_tensor(item) for item in x):
            parts = [
                _tensor_to_numpy(item, f"{name}[{i}]") if is_tensor(item) else np.asarray(item)
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


def as_matrix(x: Any, name: str = "x", *, dtype: Any = np.float32, min_rows: int = 1) -> np.ndarray:
    """``x`` as a finite, C-contiguous (N, D) array of real numbers of ``dtype``: the one conversion of features and
    points for the kernels. Reads what :func:`as_numpy` reads (tensors on any device and of any dtype, bfloat16
    too; lists; pandas); no copy when ``x`` already is such an array.

    Raises TypeError when ``x`` holds no real numbers, ValueError when it is not 2-D with N >= ``min_rows`` and
    D >= 1, or holds NaN or inf (naming the first such row).
    """
    a = as_numpy(x, name)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] < min_rows or a.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (N, D) with N >= {min_rows} and D >= 1, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=dtype)
    bad = nonfinite_rows(a)  # by blocks: no N x D mask (1.3 GB at 10M x 128), mapped features stay mapped
    if len(bad):
        raise ValueError(f"{name} must be finite; row {int(bad[0])} holds NaN or inf")
    return a


def list_rows(rows: np.ndarray, word: str = "rows") -> str:
    """``"rows 4, 17, 90"``, cut after the first few: ``"rows 0, 1, ..., 9 and 5 more"``."""
    rows = np.asarray(rows)
    shown = ", ".join(str(int(r)) for r in rows[:MAX_LISTED])
    more = f" and {len(rows) - MAX_LISTED} more" if len(rows) > MAX_LISTED else ""
    if len(rows) == 1:
        word = word.rstrip("s")
    return f"{word} {shown}{more}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def code_dtype(k: int) -> np.dtype:
    """The smallest dtype the browser reads that holds codes 0..k-1 (uint8, uint16, else int32)."""
    if k <= 256:
        return np.dtype(np.uint8)
    if k <= 65536:
        return np.dtype(np.uint16)
    return np.dtype(np.int32)


def check_length(count: int, n: int, what: str, unit: str = "entries") -> None:
    if count != n:
        raise ValueError(f"{what} has {count} {unit} but embeddings has {n} rows")
