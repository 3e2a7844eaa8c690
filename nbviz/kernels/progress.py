"""Progress bars for long work: ``tqdm.auto``, but a finished notebook bar is hidden rather than closed.

tqdm's ``leave=False`` closes the bar's widget model when the work ends. Its output stays in the cell, so Voila, a
saved notebook or an exported page later asks for a model that is gone and shows "Error displaying widget: model
not found". Hiding the bar (the model stays) shows nothing instead, and leaves no stale progress text behind.
"""

from __future__ import annotations

from typing import Any


def progress_bar(total: int | None = None, *, desc: str, disable: bool = False, tqdm_class: Any = None,
                 **kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar (or ``tqdm_class``) that disappears when closed without closing its widget."""
    if tqdm_class is None:
        from tqdm.auto import tqdm as tqdm_class
    bar = tqdm_class(total=total, desc=desc, disable=disable, leave=True, **kwargs)
    container = getattr(bar, "container", None)  # set by tqdm.notebook: an ipywidgets HBox
    if container is None:
        if not disable:
            bar.leave = False  # a terminal bar: erase it, as leave=False does
        return bar
    close = bar.close

    def hide_then_close() -> None:
        close()
        container.layout.display = "none"

    bar.close = hide_then_close
    return bar
