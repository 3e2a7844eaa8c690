"""The binary wire format of arrays: what ``nbviz.widgets.arrays.array_to_json`` sends for each input (dtype, shape,
chunks as base64) and the values it stands for, read by ``decodeArray`` and written again, byte for byte, by
``encodeArray`` (js/src/lib/codecs.ts); and messages that both sides must refuse."""

from __future__ import annotations

import base64

import numpy as np

from nbviz.widgets.arrays import CHUNK_BYTES, array_from_json, array_to_json, codes_to_json, positions_to_json
from tests.mirror import number

NAN, INF = float("nan"), float("inf")

#: name: (input array, chunk_bytes)
ARRAYS = {
    "float32 specials": (np.array([0.0, -0.0, 1.5, -2.25, 3.4028235e38, 1e-45, NAN, INF, -INF], np.float32),
                         CHUNK_BYTES),
    "float64 narrowed": (np.array([[0.1, -2.5], [1e10, 3.0], [1e300, 1e-300]]), CHUNK_BYTES),  # 1e300 -> inf
    "float16 widened": (np.array([0.1, 65504, -1, NAN], np.float16), CHUNK_BYTES),
    "bool widened": (np.array([True, False, True]), CHUNK_BYTES),
    "int8": (np.array([-128, -1, 0, 127], np.int8), CHUNK_BYTES),
    "uint8": (np.arange(10, dtype=np.uint8), CHUNK_BYTES),
    "int16 3-D": (np.arange(-12, 12, dtype=np.int16).reshape(2, 3, 4), CHUNK_BYTES),
    "uint16 big-endian": (np.arange(5, dtype=">u2") * 1000, CHUNK_BYTES),
    "int32 extremes": (np.array([-(2**31), -1, 0, 2**31 - 1], np.int32), CHUNK_BYTES),
    "uint32 extremes": (np.array([0, 2**32 - 1, 16909060], np.uint32), CHUNK_BYTES),
    "float32 big-endian": (np.array([1.5, -2.0, NAN], ">f4"), CHUNK_BYTES),
    "Fortran order": (np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)), CHUNK_BYTES),
    "transposed view": (np.arange(6, dtype=np.uint8).reshape(2, 3).T, CHUNK_BYTES),
    "0-D": (np.array(7, np.int32), CHUNK_BYTES),
    "0-D float32 scalar": (np.float32(1.5), CHUNK_BYTES),
    "empty": (np.zeros(0, np.float32), CHUNK_BYTES),
    "empty 2-D": (np.zeros((0, 2), np.float32), 8),
    "chunked": (np.arange(-15, 15, dtype=np.int32).reshape(10, 3), 40),
    "chunk cut to whole elements": (np.arange(5, dtype=np.float32), 10),  # 10 bytes -> chunks of 8
    "chunk smaller than an element": (np.arange(3, dtype=np.uint32), 2),  # one element per chunk
    "uint8 odd chunks": (np.arange(7, dtype=np.uint8), 3),
}

#: Positions as the explorer sends them (uint16 per axis within the bounds): name -> (N, 2) input.
POSITIONS = {
    "random": np.random.default_rng(3).normal(size=(40, 2)).astype(np.float32),
    "missing points and an infinite one": np.array([[0, 1], [NAN, 2], [3, INF], [-1, -4], [NAN, NAN]], np.float32),
    "one point": np.array([[5.5, -2.0]], np.float32),
    "a flat axis": np.array([[0, 7], [1, 7], [2, 7]], np.float32),
    "far from the origin, float64": np.array([[1e6 + 0.25, -3e5], [1e6 + 1.75, -3e5 + 2.0]]),
    "empty": np.zeros((0, 2), np.float32),
}

#: Category codes as the explorer sends them (two to a byte below 16): name -> (N,) uint8 input.
CODES = {
    "odd length": np.array([0, 15, 3, 7, 1, 14, 9], np.uint8),
    "even length": np.array([5, 10, 15, 0], np.uint8),
    "one code": np.array([12], np.uint8),
    "empty": np.zeros(0, np.uint8),
    "chunked": np.arange(2000, dtype=np.uint8) % 16,
}

#: Messages neither side may read (the browser never sends them; a corrupt saved state might hold them).
REJECTED = {
    "missing chunks": {"dtype": "uint8", "shape": [1]},
    "too few bytes": {"dtype": "float32", "shape": [2], "chunks": [b"abc"]},
    "too many bytes": {"dtype": "uint8", "shape": [2], "chunks": [b"abc"]},
    "float64 is not a wire dtype": {"dtype": "float64", "shape": [2], "chunks": [bytes(8)]},
    "int64 is not a wire dtype": {"dtype": "int64", "shape": [1], "chunks": [bytes(8)]},
    "unknown dtype": {"dtype": "float128x", "shape": [1], "chunks": [bytes(4)]},
    "shape not a list": {"dtype": "uint8", "shape": "3", "chunks": [bytes(3)]},
    "negative dimension": {"dtype": "uint8", "shape": [0, -1], "chunks": []},
    "fractional dimension": {"dtype": "uint8", "shape": [1.5], "chunks": [bytes(1)]},
    "positions bounds of the wrong length": {"dtype": "uint16", "shape": [1, 2], "chunks": [bytes(4)],
                                             "bounds": [0, 1]},
    "positions that are not uint16": {"dtype": "uint8", "shape": [1, 2], "chunks": [bytes(2)], "bounds": [0, 1, 0, 1]},
    "packed codes too short": {"dtype": "uint8", "shape": [5], "chunks": [bytes(2)], "packed": 4},
    "packed codes too long": {"dtype": "uint8", "shape": [2], "chunks": [bytes(2)], "packed": 4},
    "packed but not 4 bits": {"dtype": "uint8", "shape": [2], "chunks": [bytes(1)], "packed": 2},
    "packed but uint16": {"dtype": "uint16", "shape": [2], "chunks": [bytes(2)], "packed": 4},
    "packed but 2-D": {"dtype": "uint8", "shape": [1, 2], "chunks": [bytes(1)], "packed": 4},
}


def _b64(chunks: list) -> list[str]:
    return [base64.b64encode(bytes(c)).decode("ascii") for c in chunks]


def cases() -> dict:
    arrays = []
    for name, (arr, chunk_bytes) in ARRAYS.items():
        with np.errstate(over="ignore"):  # 1e300 becomes inf in float32, as it should
            wire = array_to_json(arr, None, chunk_bytes)
        assert wire is not None
        back = array_from_json(wire)
        assert back is not None
        arrays.append({"name": name, "input_dtype": np.asarray(arr).dtype.str, "chunk_bytes": chunk_bytes,
                       "wire": {**wire, "chunks": _b64(wire["chunks"])},
                       "values": [number(v) for v in back.ravel().tolist()]})
    rejected = []
    for name, msg in REJECTED.items():
        try:
            array_from_json(msg)
        except (TypeError, ValueError) as exc:
            rejected.append({"name": name, "wire": {**msg, "chunks": _b64(msg.get("chunks", []))}
                             if "chunks" in msg else msg, "python_error": str(exc)})
        else:
            raise AssertionError(f"array_from_json accepted {name!r}: {msg}")
    positions = []
    for name, arr in POSITIONS.items():
        wire = positions_to_json(arr)
        assert wire is not None and "bounds" in wire
        back = array_from_json(wire)
        assert back is not None
        positions.append({"name": name, "wire": {**wire, "chunks": _b64(wire["chunks"])},
                          "values": [number(v) for v in back.ravel().tolist()]})
    codes = []
    for name, arr in CODES.items():
        wire = codes_to_json(arr, None, 300)
        assert wire is not None and wire.get("packed") == 4
        back = array_from_json(wire)
        assert back is not None and np.array_equal(back, arr)
        codes.append({"name": name, "wire": {**wire, "chunks": _b64(wire["chunks"])}, "values": arr.tolist()})
    return {"arrays": arrays, "rejected": rejected, "positions": positions, "codes": codes}
