"""What every nbviz widget shares: its bundle, error reporting into the view, and a static PNG fallback."""

from __future__ import annotations

import base64
import contextlib
import logging
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import traitlets as t

from .arrays import array_from_json, array_serialization, array_to_json

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger("nbviz")


def Array(**kwargs: Any) -> t.Any:  # noqa: N802 - reads like a trait type
    """A synced numpy-array trait that travels as binary (see :mod:`nbviz.widgets.arrays`)."""
    return t.Any(None, allow_none=True, **kwargs).tag(sync=True, **array_serialization)


def ArrayList(**kwargs: Any) -> t.List:  # noqa: N802 - reads like a trait type
    """A synced list of numpy arrays, each travelling as binary."""
    return t.List(t.Any(), default_value=[], **kwargs).tag(
        sync=True,
        to_json=lambda v, _w: [array_to_json(a) for a in v],
        from_json=lambda v, _w: [array_from_json(a) for a in v],
    )


def bundle_path(name: str, suffix: str = ".js") -> Path:
    """The built front-end file for a widget, or a clear error when the front end was never built."""
    path = STATIC / f"{name}{suffix}"
    if not path.exists():
        raise FileNotFoundError(
            f"nbviz's front end is not built ({path} is missing); run `npm --prefix js ci && "
            "npm --prefix js run build` in the nbviz checkout, or install nbviz from a wheel"
        )
    return path


class NbvizWidget(anywidget.AnyWidget):
    """Base class: subclasses name their bundle with ``_bundle`` and may draw a PNG with ``_static_png``."""

    _bundle: ClassVar[str] = ""

    #: Shown as a banner in the view: errors raised while handling the browser's messages land here
    #: instead of the kernel log, where nobody would see them.
    error = t.Unicode("").tag(sync=True)
    error_details = t.Unicode("").tag(sync=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # anywidget reads _esm/_css when the class is made; a missing bundle is reported when one is built.
        # Only the class that names the bundle: ipywidgets' add_traits makes subclasses whose traits must stay.
        if cls.__dict__.get("_bundle"):
            for attr, suffix in (("_esm", ".js"), ("_css", ".css")):
                if (STATIC / f"{cls._bundle}{suffix}").exists():
                    setattr(cls, attr, STATIC / f"{cls._bundle}{suffix}")
        super().__init_subclass__(**kwargs)

    def __init__(self, **kwargs: Any) -> None:
        if self._bundle:
            bundle_path(self._bundle)
        super().__init__(**kwargs)
        self.on_msg(self._dispatch_request)

    # -- errors -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def reporting_errors(self, resync: tuple[str, ...] = ()) -> Iterator[None]:
        """Show any exception raised inside in the widget (and log it) rather than losing it."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - every error must reach the user
            self.error = f"{type(exc).__name__}: {exc}"
            self.error_details = traceback.format_exc()
            log.error("nbviz %s: %s", type(self).__name__, self.error, exc_info=True)
            if resync:
                # The browser already shows its rejected value: send ours back so both sides agree again.
                self.send_state(list(resync))

    def set_state(self, sync_data: dict) -> None:
        with self.reporting_errors(resync=tuple(k for k in sync_data if k in self.keys)):
            super().set_state(sync_data)

    # -- requests from the browser (js/src/lib/requests.ts) ----------------------------------------------
    def _request_handlers(self) -> dict[str, Callable[[dict], tuple[dict, list]]]:
        """Handlers by request type: ``handler(content) -> (reply fields, reply buffers)``."""
        return {}

    def _dispatch_request(self, _widget: Any, content: dict, buffers: list) -> None:
        # Registered in __init__. ipywidgets would log a handler's exception and drop it: here the browser gets
        # an {error} reply for the request and the banner shows it.
        kind, req_id = content.get("type"), content.get("id")
        with self.reporting_errors():
            try:
                handler = self._request_handlers().get(kind)
                if handler is None:
                    raise ValueError(f"unknown request type {kind!r}; known: {sorted(self._request_handlers())}")
                reply, out = handler(content)
            except Exception as exc:
                self.send({"type": kind, "id": req_id, "error": f"{type(exc).__name__}: {exc}"})
                raise
            self.send({"type": kind, "id": req_id, **reply}, out)

    # -- static fallback ----------------------------------------------------------------------------------
    def _static_png(self) -> bytes | None:
        """A PNG of what the view shows, for places where widgets cannot run (GitHub, nbviewer, nbconvert)."""
        return None

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        try:
            png = self._static_png()
        except Exception:  # noqa: BLE001 - a failed picture must never stop the live widget
            log.warning("nbviz: static PNG fallback failed", exc_info=True)
            png = None
        if png:
            data = {**data, "image/png": base64.b64encode(png).decode("ascii")}
        return data, metadata
