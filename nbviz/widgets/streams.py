"""Large arrays reach a live view in pieces, with progress, instead of in one message.

A trait's wire value (``arrays.py``: ``{dtype, shape, chunks}``) above :data:`STREAM_BYTES` leaves in the widget's
update (or comm-open) message as a placeholder, ``{..., "stream": id, "pieces": n, "nbytes": b, "chunks": []}``;
right after it, the pieces follow one message each (``{"type": "stream-piece", "key": trait, "stream": id,
"index": i}``), and the view shows how much has arrived (``js/src/lib/streams.ts``). anywidget hands a model no
message before its code has loaded and run ``initialize``, where the view starts collecting; whatever a view still
lacks (a second view made later, a host that dropped a message) it asks for, one request a piece (``{"type":
"stream", "stream": id, "index": i}``).

Only once a browser is known to be attached to this kernel: an nbviz view said so (every view sends an ``attach``
request when it is made) or a widget manager opened ipywidgets' control comm (a reloaded JupyterLab page, Voila
after its first run). A headless run (nbconvert, papermill) never is, and the widget state it saves into the
notebook must hold every byte, so it gets the single message as before; so does ``get_state()`` itself (embedding,
``request_states`` from a reloaded page, nbviz's own exports). The kernel cannot hear a view while a cell runs, so
the first view of a session gets its arrays whole; every later value streams.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import ipywidgets

from .cells import call_at_cell_end

#: An array whose bytes exceed this streams (positions of about a million points and more).
STREAM_BYTES = 4 * 1024 * 1024
#: Bytes per streamed piece: one request and one message each.
PIECE_BYTES = 4 * 1024 * 1024

_ids = itertools.count(1)
_attached = threading.Event()


def live_view() -> bool:
    """Whether a browser is known to be attached to this kernel (see the module's docstring)."""
    return _attached.is_set() or getattr(ipywidgets.Widget, "_control_comm", None) is not None


def _is_wire_array(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("chunks"), list) and "dtype" in value


class StreamedState:
    """Mixin for a widget: ``open`` and ``send_state`` send large arrays as placeholders (while a live view is
    attached), and ``_stream_piece`` answers the view's requests for their pieces. Only widgets whose front end
    reads its model through ``withStreams`` (streams.ts) set ``_streams_arrays``."""

    _streams_arrays: ClassVar[bool] = False

    def _stream_table(self) -> dict[str, dict[int, list[memoryview]]]:
        """Pieces of the streams each trait sent last, by stream id: a newer value of the trait drops the older."""
        return vars(self).setdefault("_streams", {})

    @contextlib.contextmanager
    def _streaming(self) -> Iterator[None]:
        vars(self)["_streaming_now"] = self._streams_arrays and live_view()
        try:
            yield
        finally:
            vars(self)["_streaming_now"] = False
        if not vars(self).get("_pushing"):
            return
        # After the message that holds the placeholders, so the view learns of a stream before its pieces; and
        # while a cell makes the widget, once its view is shown (then the bar counts them) or the cell ends.
        from IPython.core.getipython import get_ipython

        if get_ipython() is not None and vars(self).get("_shown") is None:
            call_at_cell_end(self)
        else:
            self._push_pieces()

    def _push_pieces(self) -> None:
        pushing: list[tuple[str, int, list[memoryview]]] = vars(self).get("_pushing", [])
        while pushing:
            name, stream, pieces = pushing.pop(0)
            if stream not in self._stream_table().get(name, {}):
                continue  # a later value of the trait replaced it before it went out (both in one cell)
            for index, piece in enumerate(pieces):
                self.send({"type": "stream-piece", "key": name, "stream": stream, "index": index},  # type: ignore[attr-defined]
                          [piece])

    def _view_shown(self) -> None:
        vars(self)["_shown"] = True
        self._push_pieces()
        super()._view_shown()  # type: ignore[misc]

    def _cell_ended(self) -> None:
        self._push_pieces()
        super()._cell_ended()  # type: ignore[misc]

    def open(self) -> None:
        with self._streaming():
            super().open()  # type: ignore[misc]

    def send_state(self, key: Any = None) -> None:
        with self._streaming():
            super().send_state(key)  # type: ignore[misc]

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict:
        state = super().get_state(key, drop_defaults)  # type: ignore[misc]
        if vars(self).get("_streaming_now"):
            table = self._stream_table()
            for name, value in state.items():
                streams: dict[int, list[memoryview]] = {}
                state[name] = _defer(value, streams)
                if streams:
                    table[name] = streams
                    vars(self).setdefault("_pushing", []).extend((name, *item) for item in streams.items())
                else:
                    table.pop(name, None)
        return state

    def _stream_handlers(self) -> dict[str, Any]:
        return {"attach": self._stream_attach, "stream": self._stream_piece}

    def _stream_attach(self, _content: dict) -> tuple[dict, list]:
        """Request handler ``attach``: a view exists in a browser, so later large values can stream."""
        _attached.set()
        return {}, []

    def _stream_piece(self, content: dict) -> tuple[dict, list]:
        """Request handler ``stream``: piece ``index`` of stream ``stream``."""
        stream, index = content.get("stream"), content.get("index")
        for streams in self._stream_table().values():
            pieces = streams.get(stream)  # type: ignore[arg-type]
            if pieces is not None:
                if not isinstance(index, int) or not 0 <= index < len(pieces):
                    raise ValueError(f"stream piece index must be an int in [0, {len(pieces)}), got {index!r}")
                return {"stream": stream, "index": index}, [pieces[index]]
        # Not an error: a newer value replaced the trait's stream while the view was fetching it, and the view
        # fetches that one once its update arrives.
        return {"stream": stream, "index": index, "gone": True}, []

    def close(self) -> None:
        vars(self).pop("_streams", None)
        vars(self).pop("_pushing", None)
        super().close()  # type: ignore[misc]


def _defer(value: Any, streams: dict[int, list[memoryview]]) -> Any:
    """``value`` with each wire array over :data:`STREAM_BYTES` (itself, or in a list) made a placeholder whose
    pieces go into ``streams``."""
    if isinstance(value, list):
        return [_defer(v, streams) for v in value]
    if not _is_wire_array(value):
        return value
    chunks = [memoryview(c).cast("B") for c in value["chunks"]]
    nbytes = sum(len(c) for c in chunks)
    if nbytes <= STREAM_BYTES:
        return value
    step = max(1, PIECE_BYTES)
    pieces = [c[i : i + step] for c in chunks for i in range(0, len(c), step)]
    stream = next(_ids)
    streams[stream] = pieces
    return {**value, "chunks": [], "stream": stream, "pieces": len(pieces), "nbytes": nbytes}
