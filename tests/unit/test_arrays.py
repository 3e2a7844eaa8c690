import numpy as np
import pytest

from nbviz.widgets.arrays import CHUNK_BYTES, array_from_json, array_to_json

WIRE = ["float32", "int8", "uint8", "int16", "uint16", "int32", "uint32"]


@pytest.mark.parametrize("dtype", WIRE)
@pytest.mark.parametrize("shape", [(), (0,), (5,), (3, 4), (2, 3, 4), (0, 2)])
def test_round_trip(dtype, shape):
    rng = np.random.default_rng(0)
    a = (rng.normal(size=shape) * 100).astype(dtype)
    msg = array_to_json(a)
    assert msg["dtype"] == dtype and msg["shape"] == list(shape)
    assert all(isinstance(c, memoryview) for c in msg["chunks"])
    back = array_from_json(msg)
    assert back.dtype == np.dtype(dtype) and back.shape == shape
    np.testing.assert_array_equal(back, a)


def test_float64_is_narrowed_and_bool_widened():
    msg = array_to_json(np.array([1.5, np.pi]))
    assert msg["dtype"] == "float32"
    np.testing.assert_array_equal(array_from_json(msg), np.array([1.5, np.pi], dtype="float32"))
    assert array_to_json(np.array([True, False]))["dtype"] == "uint8"


def test_large_arrays_are_chunked_below_the_websocket_limit():
    a = np.arange(7_000_000, dtype="float32").reshape(-1, 2)  # 28 MB
    msg = array_to_json(a)
    sizes = [len(c) for c in msg["chunks"]]
    assert len(sizes) == 7 and max(sizes) <= CHUNK_BYTES < 10 * 1024 * 1024
    assert all(s % 4 == 0 for s in sizes)
    np.testing.assert_array_equal(array_from_json(msg), a)


def test_chunks_cut_on_element_boundaries():
    a = np.arange(10, dtype="int32")
    msg = array_to_json(a, chunk_bytes=10)  # 10 bytes is not a multiple of 4: cut at 8
    assert [len(c) for c in msg["chunks"]] == [8, 8, 8, 8, 8]
    np.testing.assert_array_equal(array_from_json(msg), a)


def test_big_endian_input_travels_little_endian():
    a = np.arange(4, dtype=">i4")
    msg = array_to_json(a)
    assert bytes(msg["chunks"][0])[:4] == b"\x00\x00\x00\x00" and bytes(msg["chunks"][0])[4:8] == b"\x01\x00\x00\x00"


def test_none_and_errors():
    assert array_to_json(None) is None and array_from_json(None) is None
    with pytest.raises(TypeError, match="complex128.*expected one of"):
        array_to_json(np.zeros(3, dtype=complex))
    with pytest.raises(TypeError, match="int64"):
        array_to_json(np.zeros(3, dtype="int64"))
    with pytest.raises(ValueError, match="missing 'chunks'"):
        array_from_json({"dtype": "uint8", "shape": [1]})
    with pytest.raises(ValueError, match="holds 3 bytes; shape \\(2,\\) of float32 needs 8"):
        array_from_json({"dtype": "float32", "shape": [2], "chunks": [b"abc"]})


def test_accepts_browser_buffers():
    # The browser sends bytes or memoryviews per chunk; both decode.
    a = np.array([1, 2, 3], dtype="uint16")
    raw = a.tobytes()
    back = array_from_json({"dtype": "uint16", "shape": [3], "chunks": [raw[:2], memoryview(raw[2:])]})
    np.testing.assert_array_equal(back, a)
