"""Large arrays stream to a live view in pieces (nbviz/widgets/streams.py); headless runs get them whole."""

import comm
import ipywidgets
import numpy as np
import pytest

import nbviz
from nbviz.widgets import streams
from nbviz.widgets.arrays import array_from_json, array_to_json


class RecordingComm:
    """Stands in for the kernel's comm: keeps the comm-open data and every message sent."""

    def __init__(self, data=None, buffers=None, **_):
        self.comm_id = f"c{id(self)}"
        self.opened = {"data": data, "buffers": list(buffers or [])}
        self.sent = []

    def on_msg(self, _fn):
        pass

    def send(self, data=None, metadata=None, buffers=None):
        self.sent.append((data, list(buffers or [])))

    def close(self, *_, **__):
        pass


@pytest.fixture(autouse=True)
def no_view_yet():
    streams._attached.clear()
    yield
    streams._attached.clear()


@pytest.fixture
def recording(monkeypatch):
    monkeypatch.setattr(comm, "create_comm", RecordingComm)
    monkeypatch.setattr(streams, "STREAM_BYTES", 1000)
    monkeypatch.setattr(streams, "PIECE_BYTES", 1500)


@pytest.fixture
def live(monkeypatch, recording):
    monkeypatch.setattr(ipywidgets.Widget, "_control_comm", object(), raising=False)


def points(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2)).astype("float32")


def fetch(widget, placeholder):
    """The pieces of a placeholder, asked for as the view does; returns the wire value rebuilt."""
    parts = []
    for i in range(placeholder["pieces"]):
        widget._dispatch_request(widget, {"type": "stream", "id": i, "stream": placeholder["stream"], "index": i}, [])
        (reply, buffers), = widget.comm.sent[-1:]
        assert reply["content"]["id"] == i and "error" not in reply["content"], reply
        parts.append(bytes(buffers[0]))
    assert sum(map(len, parts)) == placeholder["nbytes"]
    wire = {k: v for k, v in placeholder.items() if k not in ("stream", "pieces", "nbytes")}
    return {**wire, "chunks": parts}


def test_headless_run_sends_large_arrays_whole(recording, monkeypatch):
    monkeypatch.setattr(ipywidgets.Widget, "_control_comm", None, raising=False)
    ex = nbviz.EmbeddingExplorer(points(2000))
    state = ex.comm.opened["data"]["state"]
    assert "stream" not in state["points"]
    assert sum(len(b) for b in ex.comm.opened["buffers"]) >= 2000 * 4


def test_live_view_gets_a_placeholder_and_its_pieces_rebuild_the_array(live):
    pts = points(2000)
    ex = nbviz.EmbeddingExplorer(pts, labels=np.arange(2000) % 3)
    opened = ex.comm.opened["data"]["state"]
    ph = opened["points"]
    # 2000 points x 2 x uint16 = 8000 bytes > 1000: a placeholder in 6 pieces of <= 1500 bytes, no bytes inline.
    assert ph["chunks"] == [] and ph["nbytes"] == 8000 and ph["pieces"] == 6 and ph["dtype"] == "uint16"
    sent_palettes = [d["state"]["palette"] for d, _ in ex.comm.sent if "palette" in d.get("state", {})]
    assert sent_palettes and "stream" not in sent_palettes[-1]  # small arrays travel inline
    assert not any(p[0] == "points" for p in ex.comm.opened["data"]["buffer_paths"])
    rebuilt = array_from_json(fetch(ex, ph))
    np.testing.assert_array_equal(rebuilt, array_from_json(ex.get_state("points")["points"]))
    assert np.abs(rebuilt - pts).max() < np.ptp(pts) / 60000
    # get_state itself (embedding, a reloaded page's request_states, exports) keeps every byte.
    assert "stream" not in ex.get_state()["points"]


def test_a_new_value_streams_anew_and_the_old_stream_is_gone(live):
    ex = nbviz.EmbeddingExplorer(points(2000))
    old = ex.comm.opened["data"]["state"]["points"]
    ex.points = points(3000, seed=1)
    update = next(d for d, _ in reversed(ex.comm.sent) if d.get("method") == "update" and "points" in d["state"])
    new = update["state"]["points"]
    assert new["stream"] != old["stream"] and new["nbytes"] == 12000
    np.testing.assert_array_equal(array_from_json(fetch(ex, new)), array_from_json(ex.get_state("points")["points"]))
    ex._dispatch_request(ex, {"type": "stream", "id": 7, "stream": old["stream"], "index": 0}, [])
    reply, buffers = ex.comm.sent[-1]
    assert reply["content"]["gone"] is True and not buffers and ex.error == ""  # a race, not an error


def test_a_bad_piece_index_is_named(live):
    ex = nbviz.EmbeddingExplorer(points(2000))
    ph = ex.comm.opened["data"]["state"]["points"]
    ex._dispatch_request(ex, {"type": "stream", "id": 1, "stream": ph["stream"], "index": 99}, [])
    reply = next(d for d, _ in reversed(ex.comm.sent) if d.get("method") == "custom")
    assert "stream piece index must be an int in [0, 6), got 99" in reply["content"]["error"]
    assert "stream piece index" in ex.error  # the banner says it too


def test_closing_drops_the_pieces(live):
    ex = nbviz.EmbeddingExplorer(points(2000))
    assert ex._stream_table()
    ex.close()
    assert "_streams" not in vars(ex)


def test_lists_of_arrays_stream_item_by_item(monkeypatch):
    monkeypatch.setattr(streams, "STREAM_BYTES", 100)
    big, small = array_to_json(np.arange(100, dtype="float32")), array_to_json(np.arange(5, dtype="float32"))
    table: dict = {}
    out = streams._defer([big, small], table)
    assert out[1] is small and out[0]["pieces"] == 1 and out[0]["nbytes"] == 400
    assert bytes(table[out[0]["stream"]][0]) == np.arange(100, dtype="float32").tobytes()


def test_a_view_attaching_turns_streaming_on(recording, monkeypatch):
    monkeypatch.setattr(ipywidgets.Widget, "_control_comm", None, raising=False)
    first = nbviz.EmbeddingExplorer(points(2000))
    assert "stream" not in first.comm.opened["data"]["state"]["points"]  # no browser known yet: whole
    first._dispatch_request(first, {"type": "attach", "id": 1}, [])
    assert first.comm.sent[-1][0]["content"] == {"type": "attach", "id": 1}
    assert "stream" in nbviz.EmbeddingExplorer(points(2000)).comm.opened["data"]["state"]["points"]


def test_widgets_whose_view_does_not_read_streams_send_whole(live):
    class Plain(nbviz.EmbeddingExplorer):
        _streams_arrays = False

    assert "stream" not in Plain(points(2000)).comm.opened["data"]["state"]["points"]


def test_the_pieces_follow_the_placeholder_unasked(live):
    ex = nbviz.EmbeddingExplorer(points(2000))
    ph = ex.comm.opened["data"]["state"]["points"]

    def pushed(stream):
        return [(d["content"]["index"], bytes(b[0])) for d, b in ex.comm.sent
                if d.get("method") == "custom" and d["content"].get("type") == "stream-piece"
                and d["content"]["stream"] == stream]

    got = pushed(ph["stream"])
    assert [i for i, _ in got] == list(range(ph["pieces"]))
    wire = {**ph, "chunks": [b for _, b in got]}
    np.testing.assert_array_equal(array_from_json(wire), array_from_json(ex.get_state("points")["points"]))
    # An update: its message first, then its pieces.
    ex.points = points(2000, seed=4)
    kinds = [(d.get("method"), d.get("state", {}).get("points", {}).get("stream") if d.get("method") == "update"
              else d.get("content", {}).get("stream")) for d, _ in ex.comm.sent]
    new = next(s for m, s in kinds if m == "update" and s is not None)
    first_piece = kinds.index(("custom", new))
    assert kinds.index(("update", new)) < first_piece and len(pushed(new)) == 6
