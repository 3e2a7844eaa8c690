"""What every nbviz widget shares: its bundle, error reporting into the view, and a static PNG fallback."""

from __future__ import annotations

import base64
import contextlib
import difflib
import functools
import inspect
import logging
import os
import threading
import traceback
import uuid
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeGuard, cast

import anywidget
import numpy as np
import traitlets as t

from ..export import mark_static_png, scale_png
from ..files import save_by_suffix

# The array trait types live with their wire format; widgets take them from here with the rest of the base.
from .arrays import Array, ArrayList, Codes, Positions  # noqa: F401
from .cells import call_at_cell_end  # noqa: F401 - widgets take it from here with the rest of the base
from .hosts import pictures_unseen, separate_pictures_hidden
from .main_shell import serve_on_main_shell
from .streams import StreamedState

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger("nbviz")


def bundle_path(name: str, suffix: str = ".js") -> Path:
    """The built front-end file for a widget, or a clear error when the front end was never built."""
    path = STATIC / f"{name}{suffix}"
    if not path.exists():
        raise FileNotFoundError(
            f"nbviz's front end is not built ({path} is missing); run `npm --prefix js ci && "
            "npm --prefix js run build` in the nbviz checkout, or install nbviz from a wheel"
        )
    return path


def bundle_source(path: Path) -> str | Path:
    """What a widget class gives anywidget as ``_esm``/``_css``: the file's text, read once per class.

    A ``Path`` would make anywidget connect every instance to the file's change signal, a class-level object that
    then keeps every widget (and the user's model and data) alive after ``close()``. Hot reload keeps the path,
    only when asked for with ``ANYWIDGET_HMR=1``.
    """
    if os.environ.get("ANYWIDGET_HMR") == "1":
        return path
    text = path.read_text(encoding="utf-8")
    # A one-line text ending like "x.js" would be taken for a file name by anywidget; a newline says contents.
    return text if text.endswith("\n") else text + "\n"


class TraitValueError(t.TraitError, ValueError):
    """A bad value for a trait: a ``TraitError`` (so traitlets undoes the change and the browser is re-synced)
    that callers can also catch as the ``ValueError`` every other bad input raises."""


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 integer: bool = False) -> Any:
    """``value`` as a Python int (``integer``) or finite float in [low, high], else an error naming ``name``.

    TypeError for what is not a number (bools, strings, None, arrays), ValueError for NaN, infinity or out of range.
    """
    kind = "an int" if integer else "a finite number"
    bounds = (f" in [{low}, {high}]" if low is not None and high is not None else f" >= {low}" if low is not None
              else f" <= {high}" if high is not None else "")
    types = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, types):
        raise TypeError(f"{name} must be {kind}{bounds}, got {type(value).__name__} {value!r}"[:300])
    number = int(value) if integer else float(value)
    if not (np.isfinite(number) and (low is None or number >= low) and (high is None or number <= high)):
        raise ValueError(f"{name} must be {kind}{bounds}, got {value!r}")
    return number


def validate_number(*names: str, low: float | None = None, high: float | None = None) -> Any:
    """A trait validator for class bodies, ``_check_size = validate_number("size", low=16)``: the bounds of
    :func:`check_number` for values set from Python or by the browser."""

    @t.validate(*names)
    def check(self: Any, proposal: dict) -> Any:
        trait = proposal["trait"]
        try:
            return check_number(proposal["value"], trait.name, low=low, high=high, integer=isinstance(trait, t.Int))
        except (TypeError, ValueError) as exc:
            raise TraitValueError(str(exc)) from None

    return check


def check_png_width(width: Any) -> int | None:
    """``to_png``'s ``width``: pixels, 1..10,000, or None (the picture's own width)."""
    return None if width is None else int(check_number(width, "width", low=1, high=10_000, integer=True))


def _is_index(value: Any, n: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n


def request_index(content: Any, key: str, n: int, default: int | None = None) -> int:
    """``content[key]`` of a browser request (``default`` when absent) as an item index in 0..n-1: an int, never
    wrapped around (-1 is not the last item) nor converted ("3", 3.5)."""
    value = content.get(key, default) if isinstance(content, dict) else None
    if not _is_index(value, n):
        raise ValueError(f"request field {key!r} must be an index in 0..{n - 1}, got {value!r}"[:300])
    return value


def request_indices(content: Any, key: str, n: int) -> list[int]:
    """``content[key]`` of a browser request as a list of item indices (see :func:`request_index`)."""
    values = content.get(key) if isinstance(content, dict) else None
    bad = [v for v in values if not _is_index(v, n)] if isinstance(values, list) else None
    if bad is None or bad:
        got = f"{bad[0]!r} among them" if bad else f"{type(values).__name__} {values!r}"
        raise ValueError(f"request field {key!r} must be a list of indices in 0..{n - 1}, got {got}"[:300])
    return cast("list[int]", values)  # each one checked above


def widget_tree(widget: Any, seen: set[int] | None = None) -> Iterator[Any]:
    """An ipywidget and the widgets inside its traits (children, marks, scales, axes, layout...), each once.

    Another nbviz widget found inside is not entered unless it is the one passed: it owns its own companions, and
    a link or a box may point at a widget that lives on.
    """
    import ipywidgets

    seen = set() if seen is None else seen
    stack = [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, (list, tuple, set)):
            stack.extend(w)
        elif isinstance(w, dict):
            stack.extend(w.values())
        elif isinstance(w, ipywidgets.Widget) and id(w) not in seen and (w is widget or not isinstance(w, NbvizWidget)):
            seen.add(id(w))
            stack.extend(w.trait_values().values())
            yield w


def close_tree(widget: Any, seen: set[int] | None = None) -> None:
    """Close an ipywidget and the widgets inside its traits (see :func:`widget_tree`)."""
    for w in widget_tree(widget, seen):
        w.close()


STATE_WAIT_S = 5.0  # the longest a background thread waits for a view's message to be handled (from_thread)
#: Seconds a burst of changes (a recolour sets five traits) is gathered before the picture is redrawn once.
PICTURE_DELAY_S = 0.3
_PICTURE_LOCK = threading.Lock()
class PictureOutput:
    """Displays an object as its live view and, in the output after it, a PNG of what the view shows.

    The PNG is what stays where no widget runs: GitHub, nbviewer, an HTML export opened offline, a notebook
    reopened without its kernel. It is its own output with a display id, so that a change that alters the view
    (a projection finished, a recolour, a selection, another epoch) redraws it with ``update_display`` without
    re-rendering the live view; the widgets' CSS hides it beside a live view (js/src/lib/static_picture.css finds
    it by :data:`nbviz.export.STATIC_PNG_MARK`). Hosts that only ask for ``_repr_mimebundle_`` (marimo) get the
    view and the PNG in one bundle.

    Subclasses give ``_view_bundle`` and ``_static_png``, and call ``_picture_stale`` when the view changes.
    """

    def _view_bundle(self, **kwargs: Any) -> tuple[dict, dict] | None:
        raise NotImplementedError

    def _static_png(self) -> bytes | None:
        """A PNG of what the view shows, for places where widgets cannot run (GitHub, nbviewer, nbconvert)."""
        return None

    def _view_shown(self) -> None:
        """The live view is on its way, its picture not yet drawn (streamed pieces go now: see streams.py)."""

    # -- the export contract, the same for every view: to_png(width=None) and save(path) by suffix ------------
    def to_png(self, width: int | None = None) -> bytes:
        """What the view shows now, as PNG bytes: its own size (None) or ``width`` pixels wide (nearest neighbour: every
        pixel keeps a colour the view draws). Widgets with more to say override it, ``width`` first."""
        width = check_png_width(width)
        png = self._static_png()
        if png is None:
            raise RuntimeError(f"this {type(self).__name__} has nothing to draw yet")
        return scale_png(png, width)

    def _writers(self) -> dict[str, Callable[[], bytes | str]]:
        writers: dict[str, Callable[[], bytes | str]] = {".png": self.to_png}
        to_html = getattr(self, "to_html", None)
        if callable(to_html):
            writers[".html"] = cast("Callable[[], str]", to_html)
        return writers

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the view to a file chosen by ``path``'s suffix: ``.png`` the picture (:meth:`to_png`), ``.html`` one
        self-contained page that runs offline with no kernel (where the view has ``to_html``); some views add more
        (ModelGraph ``.svg`` / ``.dot``, ProbMapPlayer ``.gif`` / ``.mp4``).

        ``~`` is expanded and the folder must exist. An existing file is replaced only with ``overwrite=True``
        (FileExistsError otherwise); a symbolic link at ``path`` is always refused; the file appears complete
        or not at all (see :mod:`nbviz.files`). Returns the path written.
        """
        return save_by_suffix(path, self._writers(), overwrite=overwrite)

    def _picture_data(self) -> dict:
        if pictures_unseen():
            return {}
        try:
            png = self._static_png()
        except Exception:  # noqa: BLE001 - a failed picture must never stop the live widget
            log.warning("nbviz: static PNG fallback failed", exc_info=True)
            png = None
        return {"image/png": base64.b64encode(mark_static_png(png)).decode("ascii")} if png else {}

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        bundle = self._view_bundle(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        return {**data, **self._picture_data()}, metadata

    def _ipython_display_(self, **kwargs: Any) -> None:
        from IPython.display import display

        if not separate_pictures_hidden():
            bundle = self._repr_mimebundle_()
            if bundle is not None:
                display(bundle[0], metadata=bundle[1], raw=True)
            return
        bundle = self._view_bundle()
        if bundle is None:
            return
        display(bundle[0], metadata=bundle[1], raw=True)
        self._view_shown()
        display_id = uuid.uuid4().hex
        # An empty text output holds the place while there is nothing to draw yet (a player before its frames).
        display(self._picture_data() or {"text/plain": ""}, raw=True, display_id=display_id)
        with _PICTURE_LOCK:
            self.__dict__.setdefault("_picture_ids", []).append(display_id)

    def follow_pictures(self, *members: PictureOutput) -> None:
        """Redraw this object's picture whenever one of ``members`` (shown inside its view) changes."""
        for member in members:
            member.__dict__.setdefault("_picture_followers", weakref.WeakSet()).add(self)

    def _picture_stale(self, _change: Any = None) -> None:
        """The view changed: redraw the picture in the notebook in a moment (a burst of changes redraws once).

        A timer thread redraws it: the kernel's thread may be busy with the user's loop for long, and ipykernel
        publishes from any thread (a message sent from another thread gets the running cell's parent, so a headless
        run records it while a cell runs; see :meth:`refresh_picture`)."""
        for follower in list(self.__dict__.get("_picture_followers", ())):
            follower._picture_stale()
        with _PICTURE_LOCK:
            if not self.__dict__.get("_picture_ids") or self.__dict__.get("_picture_timer") is not None:
                return
            timer = threading.Timer(PICTURE_DELAY_S, self.refresh_picture)
            timer.daemon = True
            self.__dict__["_picture_timer"] = timer
        call_at_cell_end(self)
        timer.start()

    def _cell_ended(self) -> None:
        if self.__dict__.get("_picture_timer") is not None:
            self.refresh_picture()

    def refresh_picture(self) -> None:
        """Redraw, now, the picture under every output of this object: what a saved notebook keeps.

        Changes redraw it by themselves shortly after; call this before the notebook is saved by a script that
        ends right after a change (``EmbeddingExplorer.wait`` does it when a projection ends)."""
        with _PICTURE_LOCK:
            timer = self.__dict__.pop("_picture_timer", None)
            ids = list(self.__dict__.get("_picture_ids", ()))
        if timer is not None:
            timer.cancel()
        if not ids:
            return
        from IPython.display import update_display

        data = self._picture_data() or {"text/plain": ""}
        for display_id in ids:
            update_display(data, display_id=display_id, raw=True)


class CompositeOutput(PictureOutput):
    """A Python object shown as a view made of widgets (``ex.components()``, ``compare()``, the sketchpad): its
    view is the one nbviz widget ``view()`` returns (a Panel, say), and so is its picture, redrawn when the view's
    changes."""

    def view(self) -> NbvizWidget:
        raise NotImplementedError

    def _view_bundle(self, **kwargs: Any) -> tuple[dict, dict] | None:
        return self.view()._view_bundle(**kwargs)

    def _static_png(self) -> bytes | None:
        view = self.view()
        self.follow_pictures(view)
        return view._static_png()


def _closing_on_failure(init: Callable[..., None]) -> Callable[..., None]:
    """A constructor that closes the half-made widget when it fails: its comm opened in ipywidgets' __init__ and
    the global registry of open widgets would otherwise keep it, and the model and data it holds, for good."""

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except BaseException:
            if getattr(self, "comm", None) is not None:
                self.close()
            raise

    return __init__


class NbvizWidget(StreamedState, PictureOutput, anywidget.AnyWidget):
    """Base class: subclasses name their bundle with ``_bundle`` and may draw a PNG with ``_static_png``, redrawn
    in the notebook when a trait of ``_picture_traits`` changes (see :class:`PictureOutput`)."""

    _bundle: ClassVar[str] = ""
    _picture_traits: ClassVar[tuple[str, ...]] = ()

    #: Shown as a banner in the view: errors raised while handling the browser's messages land here
    #: instead of the kernel log, where nobody would see them.
    error = t.Unicode("").tag(sync=True)
    error_details = t.Unicode("").tag(sync=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # anywidget reads _esm/_css when the class is made; a missing bundle is reported when one is built.
        # Only the class that names the bundle: ipywidgets' add_traits makes subclasses whose traits must stay.
        if cls.__dict__.get("_bundle"):
            for attr, suffix in (("_esm", ".js"), ("_css", ".css")):
                path = STATIC / f"{cls._bundle}{suffix}"
                if path.exists():
                    setattr(cls, attr, bundle_source(path))
        if "__init__" in cls.__dict__:
            cls.__init__ = _closing_on_failure(cls.__dict__["__init__"])  # type: ignore[method-assign]
        super().__init_subclass__(**kwargs)

    def __init__(self, **kwargs: Any) -> None:
        self._check_kwargs(kwargs)
        if self._bundle:
            bundle_path(self._bundle)
        # numpy scalars are what users have (x.shape[0], arr.mean()): Int / Float traits take them as numbers.
        traits = self.traits()
        for k, v in kwargs.items():
            if isinstance(v, np.integer) and isinstance(traits[k], (t.Int, t.Float)) or \
                    isinstance(v, np.floating) and isinstance(traits[k], t.Float):
                kwargs[k] = v.item()
        super().__init__(**kwargs)
        self.on_msg(self._dispatch_request)
        if self._picture_traits:
            self.observe(self._picture_stale, names=list(self._picture_traits))

    def _check_kwargs(self, kwargs: dict[str, Any]) -> None:
        """A misspelt keyword argument is a TypeError (traitlets would ignore it): only traits pass through."""
        unknown = [k for k in kwargs if not self.has_trait(k)]
        if unknown:
            known = [*inspect.signature(type(self).__init__).parameters, *self.trait_names()]
            known = [k for k in dict.fromkeys(known) if not k.startswith("_") and k not in ("self", "kwargs")]
            close = difflib.get_close_matches(unknown[0], known, n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}{hint}")

    # -- threads ------------------------------------------------------------------------------------------
    def state_lock(self) -> threading.RLock:
        """Held while a view's message is handled (traitlets batches its changes by swapping the instance's
        ``notify_change``: another thread's change meanwhile would land in that batch); see :meth:`from_thread`."""
        return vars(self).setdefault("_state_lock", threading.RLock())

    def _handle_msg(self, msg: dict) -> None:
        with self.state_lock():
            super()._handle_msg(msg)

    def from_thread(self, apply: Callable[[], None], wait: bool = True) -> None:
        """Run ``apply`` (trait changes from a background thread) under :meth:`state_lock`, waiting at most
        STATE_WAIT_S (a handler holding it may wait for that thread), or with ``wait=False`` not at all (skipped)."""
        lock = self.state_lock()
        held = lock.acquire(timeout=STATE_WAIT_S) if wait else lock.acquire(blocking=False)
        if held or wait:
            try:
                apply()
            finally:
                if held:
                    lock.release()

    # -- lifetime -----------------------------------------------------------------------------------------
    def open(self) -> None:
        super().open()
        serve_on_main_shell(self.comm)

    def own(self, *widgets: Any) -> None:
        """Companion widgets made for this one (a chart, a box, a link): closed with it. ipywidgets keeps every
        open widget in a global registry, so a companion left open would keep this widget (and the user's model
        and data its callbacks reach) alive."""
        vars(self).setdefault("_companions", []).extend(widgets)
        for widget in widgets:  # a chart's click runs this widget's code too: on the main thread, as its own
            for w in widget_tree(widget):
                serve_on_main_shell(w.comm)

    def close(self) -> None:
        # vars(self), not self.__dict__: the same dict, which pyright takes for a read-only mapping on a HasTraits
        companions = vars(self).pop("_companions", [])
        timer = vars(self).pop("_picture_timer", None)
        if timer is not None:
            timer.cancel()
        super().close()
        seen: set[int] = {id(self)}
        for widget in companions:
            close_tree(widget, seen)

    # -- failed changes are undone --------------------------------------------------------------------------
    def notify_change(self, change: Any) -> None:
        """Run the observers of a change; when one fails, put the old value back (running the observers again
        so what they derive matches it) and raise. A browser's change then ends in the banner (``set_state``)."""
        try:
            super().notify_change(change)
        except Exception:
            name = change.get("name")
            rolling = vars(self).setdefault("_rolling_back", set())
            if change.get("type") != "change" or name in rolling or change.get("old") is t.Undefined:
                raise
            rolling.add(name)
            try:
                self.set_trait(name, change["old"])
            except Exception:  # noqa: BLE001 - the old value's observers failed too: keep it, report the first error
                log.warning("nbviz %s: restoring %s failed", type(self).__name__, name, exc_info=True)
            finally:
                rolling.discard(name)
            raise

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
        keys = tuple(k for k in sync_data if k in self.keys)
        with self.reporting_errors(resync=keys):
            # ipywidgets sets the browser's values with set_trait, which read-only traits do not stop.
            owned = [k for k in keys if self.traits()[k].read_only]
            super().set_state({k: v for k, v in sync_data.items() if k not in owned})
            if owned:
                raise TraitValueError(f"{owned[0]} is read-only: Python sets it, the browser cannot")

    # -- requests from the browser (js/src/lib/requests.ts) ----------------------------------------------
    def _request_handlers(self) -> dict[str, Callable[[dict], tuple[dict, list]]]:
        """Handlers by request type: ``handler(content) -> (reply fields, reply buffers)``."""
        return {}

    def _dispatch_request(self, _widget: Any, content: dict, buffers: list) -> None:
        # Registered in __init__. ipywidgets would log a handler's exception and drop it: here the browser gets
        # an {error} reply for the request and the banner shows it.
        with self.reporting_errors():
            if not isinstance(content, dict):  # no id to answer to: the banner says it
                raise TypeError(f"a request must be a JSON object with type and id, got {type(content).__name__}")
            kind: Any = content.get("type")
            req_id = content.get("id")
            try:
                handlers = {**self._stream_handlers(), **self._request_handlers()}
                handler = handlers.get(kind)
                if handler is None:
                    raise ValueError(f"unknown request type {kind!r}; known: {sorted(handlers)}")
                reply, out = handler(content)
            except Exception as exc:
                self.send({"type": kind, "id": req_id, "error": f"{type(exc).__name__}: {exc}"})
                raise
            self.send({"type": kind, "id": req_id, **reply}, out)

    # -- static picture (PictureOutput) ------------------------------------------------------------------
    def _view_bundle(self, **kwargs: Any) -> tuple[dict, dict] | None:
        return anywidget.AnyWidget._repr_mimebundle_(self, **kwargs)


# The base of a mixin that holds part of a widget class's methods (explorer_export, probmap_chart, ...): to a type
# checker an NbvizWidget, so the widget machinery it calls is known; at run time object, so the widget's MRO is
# unchanged. The traits of the one widget a mixin serves are annotated in the mixin, without a value.
if TYPE_CHECKING:
    WidgetMixin = NbvizWidget
else:
    WidgetMixin = object
