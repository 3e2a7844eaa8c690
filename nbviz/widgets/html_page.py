"""Standalone HTML pages: one file that runs a widget's view offline, with no kernel and no request.

A page holds the widget's CSS and ESM bundle, its synced state, and what Python would answer while the page is
open: replies to the view's requests (a table per request type) and the traits Python sets when the view changes
one (``reactions``). ``js/src/lib/standalone.ts`` (built into ``nbviz/static/standalone.js``, inlined too) is the
stand-in for the Jupyter widget model that serves them; what the page does not hold, it answers at once with
"needs a running kernel". Binary values (arrays, PNGs) are base64 blobs, each distinct value stored once.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..export import script_json
from .base import NbvizWidget, bundle_path

#: The words the view shows for what needs Python (js/src/lib/requests.ts NO_KERNEL).
NO_KERNEL = "needs a running kernel"


def state_json(widget: NbvizWidget, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """The widget's synced traits (``keys``, default all but ``_``-prefixed ones) as sent to a browser."""
    state = widget.get_state(None if keys is None else list(keys))
    return {k: v for k, v in state.items() if keys is not None or not k.startswith("_")}


class HtmlPage:
    """The data of one standalone page of ``widget`` (its front end: ``nbviz/static/<bundle>.js``); :meth:`html`
    writes the page.

    ``state`` starts as the widget's synced state and may be edited (a picker narrowed to what the page holds).
    """

    def __init__(self, widget: NbvizWidget, bundle: str) -> None:
        self.bundle = bundle
        self._blobs: list[str] = []
        self._blob_ids: dict[bytes, int] = {}
        self.state: dict[str, Any] = self.encode(state_json(widget))
        self.replies: dict[str, dict[str, Any]] = {}
        self.reactions: list[dict[str, Any]] = []
        self.kernel_traits: list[str] = []

    def blob(self, data: bytes | bytearray | memoryview) -> int:
        """The index of ``data`` among the page's blobs (equal bytes are stored once)."""
        raw = bytes(data)
        digest = hashlib.sha256(raw).digest()
        if digest not in self._blob_ids:
            self._blob_ids[digest] = len(self._blobs)
            self._blobs.append(base64.b64encode(raw).decode("ascii"))
        return self._blob_ids[digest]

    def encode(self, value: Any) -> Any:
        """``value`` (JSON with binary parts, as ``get_state`` gives) with every binary part a blob reference."""
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {"$blob": self.blob(value)}
        if isinstance(value, dict):
            return {k: self.encode(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.encode(v) for v in value]
        return value

    def reply_table(self, kind: str, key: str | None, *, default: Any = None, missing: str | None = None,
                    state: Sequence[str] = ()) -> None:
        """Declare the replies to requests of type ``kind``: looked up by the request field ``key`` (None: one
        reply for every request), prefixed by the values of the traits ``state`` joined by "|" (replies that depend
        on what the view shows). ``missing`` is what the view says for a request the page has no reply to."""
        self.replies[kind] = {"key": key, "default": default, "state": list(state), "table": {},
                              **({"missing": missing} if missing else {})}

    def add_reply(self, kind: str, key: Sequence[Any], content: dict[str, Any],
                  buffers: Sequence[bytes | int] = ()) -> None:
        """The reply to a ``kind`` request whose key is ``key``: the values of the table's ``state`` traits, then
        the request field's value (``[]`` for a table of one reply). ``buffers``: bytes, or indices from
        :meth:`blob` (a value many replies share)."""
        self.replies[kind]["table"]["|".join(map(_key, key))] = {
            "content": self.encode(content), "buffers": [b if isinstance(b, int) else self.blob(b) for b in buffers]}

    def add_reaction(self, on: Sequence[str], table: dict[tuple, dict[str, Any]],
                     fallback: dict[str, Any] | None = None) -> None:
        """When the view changes a trait of ``on``: set the traits ``table[values of on]`` (state JSON, as
        :func:`state_json`); with no entry, apply ``fallback`` and look again; else say it needs a kernel."""
        self.reactions.append({"on": list(on),
                               "table": {"|".join(map(_key, k)): self.encode(v) for k, v in table.items()},
                               **({"fallback": fallback} if fallback else {})})

    def html(self, title: str) -> str:
        """The page: CSS, state and replies, the stand-in model and the widget's bundle, all inline."""
        data = {"state": self.state, "blobs": self._blobs, "replies": self.replies, "reactions": self.reactions,
                "kernel_traits": self.kernel_traits}
        name = self.bundle
        # JSON and scripts go through script_json, so no value (a class name) can end or re-mode a <script>
        # block; one pass, so text from users can never be taken for a placeholder.
        parts = {
            "__TITLE__": html.escape(title),
            "__CSS__": bundle_path(name, ".css").read_text(encoding="utf-8"),
            "__DATA__": script_json(data),
            "__JS__": script_json(bundle_path(name).read_text(encoding="utf-8")),
            "__STANDALONE__": script_json(bundle_path("standalone").read_text(encoding="utf-8")),
        }
        return re.sub("__(TITLE|CSS|DATA|JS|STANDALONE)__", lambda m: parts[m.group(0)], PAGE)


def _key(value: Any) -> str:
    """A table key part as the stand-in makes it (``String(value)`` in JS)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>__TITLE__</title>
<style>body { margin: 16px; font-family: system-ui, sans-serif; }</style>
<style>__CSS__</style></head>
<body><div id="nbviz-page"></div>
<script type="application/json" id="nbviz-data">__DATA__</script>
<script type="module">
// The widget's bundle and the stand-in for the Jupyter widget model (js/src/lib/standalone.ts) are both in this
// page: it runs from a file, offline, with no kernel.
const bundle = URL.createObjectURL(new Blob([__JS__], { type: 'text/javascript' }));
const standalone = URL.createObjectURL(new Blob([__STANDALONE__], { type: 'text/javascript' }));
const { mount } = await import(standalone);
const data = JSON.parse(document.getElementById('nbviz-data').textContent);
window.nbvizModel = await mount(data, bundle, document.getElementById('nbviz-page'));
</script></body></html>
"""

__all__ = ["NO_KERNEL", "HtmlPage", "state_json"]
