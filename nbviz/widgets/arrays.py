"""Binary array transport between Python and the browser.

An array travels as ``{"dtype": str, "shape": [int, ...], "chunks": [memoryview, ...]}``. ipywidgets lifts every
``memoryview`` out of the JSON and sends it as a raw binary buffer, so no number is ever written as text. Large
arrays are split into chunks of at most :data:`CHUNK_BYTES`, each cut on an element boundary, so no single buffer
comes near the 10 MB websocket default and the browser can decode them into one typed array without a copy per
element. ``js/src/lib/codecs.ts`` mirrors this module; tests/mirror/codecs.py holds what this side sends and refuses,
and vitest checks that the browser reads and writes the same bytes.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import traitlets as t

#: Largest buffer a single chunk carries (4 MiB): well under the 10 MB websocket message default.
CHUNK_BYTES = 4 * 1024 * 1024

#: dtypes the browser can view as typed arrays; float64 is narrowed to float32 (WebGL draws float32 anyway).
WIRE_DTYPES = ("float32", "int8", "uint8", "int16", "uint16", "int32", "uint32")
_NARROWED = {"float64": "float32", "float16": "float32", "bool": "uint8"}


def wire_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype an array of ``dtype`` travels as, or a ``TypeError`` naming what is supported."""
    name = np.dtype(dtype).name
    name = _NARROWED.get(name, name)
    if name not in WIRE_DTYPES:
        raise TypeError(
            f"array dtype {np.dtype(dtype).name!r} cannot be sent to the browser; expected one of "
            f"{', '.join(WIRE_DTYPES + tuple(_NARROWED))}"
        )
    return np.dtype(name)


@overload
def array_to_json(value: None, widget: Any = None, chunk_bytes: int = CHUNK_BYTES) -> None: ...
@overload
def array_to_json(value: np.ndarray, widget: Any = None, chunk_bytes: int = CHUNK_BYTES) -> dict: ...
@overload
def array_to_json(value: Any, widget: Any = None, chunk_bytes: int = CHUNK_BYTES) -> dict | None: ...


def array_to_json(value: Any, widget: Any = None, chunk_bytes: int = CHUNK_BYTES) -> dict | None:
    """Serialise an array-like to the wire format (``None`` stays ``None``)."""
    if value is None:
        return None
    arr = np.asarray(value)
    # astype + order="C" (not ascontiguousarray, which would turn a 0-D array into 1-D).
    arr = arr.astype(wire_dtype(arr.dtype), order="C", copy=False)
    # Little-endian on the wire: typed arrays in every browser are little-endian.
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    flat = memoryview(arr.reshape(-1)).cast("B")  # pyright: ignore[reportArgumentType] - numpy stubs give 3.12+ only __buffer__
    step = max(arr.itemsize, chunk_bytes - chunk_bytes % arr.itemsize)
    chunks = [flat[i : i + step] for i in range(0, len(flat), step)]
    return {"dtype": arr.dtype.name, "shape": list(arr.shape), "chunks": chunks}


def array_from_json(value: dict | None, widget: Any = None) -> np.ndarray | None:
    """Rebuild an array from the wire format, as sent by Python or by the browser."""
    if value is None:
        return None
    for key in ("dtype", "shape", "chunks"):
        if key not in value:
            raise ValueError(f"array message is missing {key!r}; expected keys dtype, shape, chunks")
    # Only the wire's own dtypes and a list of whole dimensions, as decodeArray in codecs.ts: a "float64" message
    # must not be read as float32 pairs, nor "3" as the shape (3,).
    if value["dtype"] not in WIRE_DTYPES:
        raise TypeError(f"array message dtype {value['dtype']!r} is not one of {', '.join(WIRE_DTYPES)}")
    dtype = np.dtype(value["dtype"])
    shape_in = value["shape"]
    if not isinstance(shape_in, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape_in):
        raise ValueError(f"array message shape must be a list of ints >= 0, got {shape_in!r}"[:300])
    shape = tuple(shape_in)
    data = b"".join(bytes(c) for c in value["chunks"])
    if "packed" in value:
        return unpack_codes(data, value, shape)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"array message holds {len(data)} bytes; shape {shape} of {dtype} needs {expected}")
    arr = np.frombuffer(data, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False).reshape(shape)
    return arr if "bounds" not in value else dequantize_positions(arr, value["bounds"])


array_serialization = {"to_json": array_to_json, "from_json": array_from_json}

# -- positions: (N, 2) as uint16 per axis within the data's bounds (4 bytes a point instead of 8) -----------------
#: The code of a missing (NaN or infinite) coordinate; finite values take 0 .. QUANT_STEPS.
QUANT_MISSING = 65535
QUANT_STEPS = 65534


def positions_to_json(value: Any, widget: Any = None, chunk_bytes: int = CHUNK_BYTES) -> dict | None:
    """(N, 2) positions as uint16 codes within each axis' finite range plus the ``bounds`` [x0, x1, y0, y1]: an
    error of at most half a step, span / 131068 (1/30 px with the data 4096 px across); NaN and inf travel as
    QUANT_MISSING. What is not (N, 2) numbers goes as :func:`array_to_json` sends it. ``decodeArray`` (codecs.ts)
    and :func:`array_from_json` turn it back into float32 positions."""
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype.kind != "f":
        return array_to_json(arr, widget, chunk_bytes)
    bounds: list[float] = []
    codes = np.full(arr.shape, QUANT_MISSING, dtype=np.uint16)
    for axis in (0, 1):
        col = arr[:, axis].astype(np.float64)
        ok = np.isfinite(col)
        every = bool(ok.all())  # the usual case: no masked copies of millions of values
        v = col if every else col[ok]
        lo, hi = (float(v.min()), float(v.max())) if len(v) else (0.0, 0.0)
        bounds += [lo, hi]
        if hi > lo:  # in place, in the order (v - lo) / (hi - lo) * steps + 0.5 that decodeArray's tests pin
            v -= lo
            v /= hi - lo
            v *= QUANT_STEPS
            v += 0.5
            np.floor(v, out=v)
        else:
            v = np.zeros_like(v)
        if every:
            codes[:, axis] = v
        else:
            codes[ok, axis] = v.astype(np.uint16)
    return {**array_to_json(codes, widget, chunk_bytes), "bounds": bounds}


def dequantize_positions(codes: np.ndarray, bounds: Any) -> np.ndarray:
    """float32 (N, 2) positions of uint16 codes (``positions_to_json``); QUANT_MISSING is NaN."""
    if (codes.dtype != np.uint16 or codes.ndim != 2 or codes.shape[1] != 2 or not isinstance(bounds, list)
            or len(bounds) != 4 or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)):
        raise ValueError("positions message must be (N, 2) uint16 with bounds [x0, x1, y0, y1]")
    out = np.empty(codes.shape, dtype=np.float32)
    for axis in (0, 1):
        lo, hi = float(bounds[2 * axis]), float(bounds[2 * axis + 1])
        q = codes[:, axis].astype(np.float64)
        out[:, axis] = np.where(codes[:, axis] == QUANT_MISSING, np.nan, lo + q * ((hi - lo) / QUANT_STEPS))
    return out


positions_serialization = {"to_json": positions_to_json, "from_json": array_from_json}


# -- category codes: with fewer than 16 categories, two to a byte ----------------------------------------------
def codes_to_json(value: Any, widget: Any = None, chunk_bytes: int = CHUNK_BYTES) -> dict | None:
    """(N,) uint8 codes all below 16 go two to a byte, low nibble first (``packed: 4``; half a byte a point, the
    usual case of a classifier's few classes); anything else as :func:`array_to_json` sends it."""
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype != np.uint8 or arr.ndim != 1 or (arr.size and int(arr.max()) >= 16):
        return array_to_json(arr, widget, chunk_bytes)
    even = arr if arr.size % 2 == 0 else np.append(arr, np.uint8(0))
    packed = even[0::2] | (even[1::2] << 4)
    return {**array_to_json(packed, widget, chunk_bytes), "shape": [int(arr.size)], "packed": 4}


def unpack_codes(data: bytes, value: dict, shape: tuple) -> np.ndarray:
    """The (N,) uint8 codes of a ``packed: 4`` message (:func:`codes_to_json`)."""
    if value["packed"] != 4 or isinstance(value["packed"], bool) or value["dtype"] != "uint8" or len(shape) != 1:
        raise ValueError("packed array message must be 1-D uint8 with packed = 4")
    n = shape[0]
    if len(data) != (n + 1) // 2:
        raise ValueError(f"packed array message holds {len(data)} bytes; {n} codes need {(n + 1) // 2}")
    b = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(2 * len(b), dtype=np.uint8)
    out[0::2], out[1::2] = b & 15, b >> 4
    return out[:n]


codes_serialization = {"to_json": codes_to_json, "from_json": array_from_json}


# -- trait types -------------------------------------------------------------------------------------------------
class _ArrayValue(t.Any):
    """``t.Any`` holding arrays. Setting an array always notifies, as before, but without traitlets' ``old == new``,
    which compares element by element only to find the truth value ambiguous (``None == array`` alone takes half
    a second at 10M points)."""

    def set(self, obj: Any, value: Any) -> None:
        values = obj._trait_values
        if not isinstance(value, np.ndarray) and not isinstance(values.get(self.name), np.ndarray):
            return super().set(obj, value)
        new = self._validate(obj, value)
        old = values.get(self.name, self.default_value)
        values[self.name] = new
        obj._notify_trait(self.name, old, new)


def Array(**kwargs: Any) -> t.Any:  # noqa: N802 - reads like a trait type
    """A synced numpy-array trait that travels as binary (see :mod:`nbviz.widgets.arrays`)."""
    return _ArrayValue(None, allow_none=True, **kwargs).tag(sync=True, **array_serialization)


def Positions(**kwargs: Any) -> t.Any:  # noqa: N802 - reads like a trait type
    """A synced (N, 2) float array of positions, travelling as uint16 per axis within its bounds (see
    :func:`nbviz.widgets.arrays.positions_to_json`); Python keeps the exact values."""
    return _ArrayValue(None, allow_none=True, **kwargs).tag(sync=True, **positions_serialization)


def Codes(**kwargs: Any) -> t.Any:  # noqa: N802 - reads like a trait type
    """A synced (N,) array of category codes, packed two to a byte when below 16 (:func:`codes_to_json`)."""
    return _ArrayValue(None, allow_none=True, **kwargs).tag(sync=True, **codes_serialization)


def ArrayList(positions: bool = False, **kwargs: Any) -> t.List:  # noqa: N802 - reads like a trait type
    """A synced list of numpy arrays, each travelling as binary (as positions with ``positions=True``)."""
    encode = positions_to_json if positions else array_to_json
    return t.List(t.Any(), default_value=[], **kwargs).tag(
        sync=True,
        to_json=lambda v, _w: [encode(a) for a in v],
        from_json=lambda v, _w: [array_from_json(a) for a in v],
    )
