"""Work a widget defers to the end of the running cell (a picture redrawn, frames copied into a trait, streamed
pieces sent), done on the kernel's thread while the cell still counts as running."""

from __future__ import annotations

import functools
import weakref
from typing import Any

#: Objects with work to finish when the running cell ends (see :func:`call_at_cell_end`).
_CELL_END: weakref.WeakSet = weakref.WeakSet()


def _cells_end(*_args: Any) -> None:
    for owner in list(_CELL_END):
        _CELL_END.discard(owner)
        owner._cell_ended()


@functools.cache
def _watch_cells() -> None:
    from IPython.core.getipython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.events.register("post_run_cell", _cells_end)


def call_at_cell_end(owner: Any) -> None:
    """Call ``owner._cell_ended()`` when the running cell ends, on the kernel's thread. What a change defers (a
    picture redrawn, frames copied into a trait) is then sent while that cell still counts as running: a headless
    run (nbclient, papermill) records only what arrives while a cell runs."""
    _CELL_END.add(owner)
    _watch_cells()
