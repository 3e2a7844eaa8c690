"""Requests from the browser and Python's replies: the message ``createRequester(...).request(type, payload)`` sends
(js/src/lib/requests.ts), what ``NbvizWidget._dispatch_request`` (nbviz/widgets/base.py) answers to it — the reply
fields and buffers, or ``{type, id, error}`` — and what the request's promise then gives: the reply, or an error with
Python's message. The handlers are stand-ins built on the request parsers every widget uses (``request_index``,
``request_indices``)."""

from __future__ import annotations

import base64
import logging
from typing import Any

from nbviz.widgets.base import NbvizWidget, request_index, request_indices

N = 4  # items the stand-in widget has
ID = 1  # a fresh requester numbers its first request 1


class StandIn(NbvizWidget):
    """A widget with two request types, answered the way the real ones are (fields + PNG-like buffers)."""

    def _request_handlers(self) -> dict:
        return {"images": self._images, "item": self._item, "fails": self._fails}

    def _images(self, content: dict) -> tuple[dict, list]:
        indices = request_indices(content, "indices", N)
        return {"indices": indices}, [bytes([i]) * (i + 1) for i in indices]

    def _item(self, content: dict) -> tuple[dict, list]:
        i = request_index(content, "index", N)
        return {"index": i, "label": f"item {i}", "distances": [0.0, 0.5]}, []

    def _fails(self, content: dict) -> tuple[dict, list]:
        raise RuntimeError("the model is on another device")


#: (name, request type, payload) as the browser code calls ``request(type, payload)``.
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("images", "images", {"indices": [0, 2]}),
    ("no buffers", "item", {"index": 3}),
    ("empty list", "images", {"indices": []}),
    ("payload cannot change type or id", "item", {"index": 1, "type": "images", "id": 99}),
    ("index out of range", "item", {"index": 4}),
    ("negative index is not the last item", "item", {"index": -1}),
    ("index as text", "item", {"index": "3"}),
    ("fractional index", "item", {"index": 3.5}),
    ("boolean index", "item", {"index": True}),
    ("missing field", "item", {}),
    ("bad index in a list", "images", {"indices": [1, 9]}),
    ("unknown type", "nope", {"index": 0}),
    ("handler fails", "fails", {}),
]


def _reply(widget: StandIn, content: dict) -> tuple[dict, list[str]]:
    sent: list[tuple[dict, list]] = []
    widget.send = lambda msg, buffers=None: sent.append((msg, list(buffers or [])))  # type: ignore[method-assign]
    widget._dispatch_request(widget, content, [])
    assert len(sent) == 1, f"{content} got {len(sent)} replies"
    msg, buffers = sent[0]
    return msg, [base64.b64encode(bytes(b)).decode("ascii") for b in buffers]


def cases() -> dict:
    log = logging.getLogger("nbviz")
    was, log.disabled = log.disabled, True  # failing requests are logged: expected here
    widget = StandIn()
    try:
        out = []
        for name, kind, payload in CALLS:
            request = {**payload, "type": kind, "id": ID}  # what the browser must send for request(kind, payload)
            reply, buffers = _reply(widget, request)
            # Python's own verdict (the banner's text), not read from the reply: the reply must carry it.
            outcome = {"error": widget.error} if widget.error else {"ok": True}
            widget.error = ""
            out.append({"name": name, "type": kind, "payload": payload, "request": request,
                        "reply": reply, "buffers": buffers, "outcome": outcome})
    finally:
        widget.close()
        log.disabled = was
    return {"calls": out}
