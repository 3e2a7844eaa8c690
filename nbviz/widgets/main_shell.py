"""Messages from nbviz's views are served on the kernel's main thread, where cells run.

JupyterLab >= 4.4 and Notebook >= 7.4 send comm messages to a kernel subshell (their ``commsOverSubshells``
setting, one subshell per comm target by default) whose thread runs beside the cell. A click would then run nbviz
on a model or a widget that the running cell, a timer or another view's click is using at that moment: a Grad-CAM
pass restoring flags and removing hooks under another one, a cache cleared while it is read. ipykernel asks each
comm where its incoming messages go (``_reply_subshell_for``); nbviz's comms answer "the main shell", so a click
waits for the running cell, as in every front end without subshells (VS Code, Colab, Notebook < 7.4, Voila).
"""

from __future__ import annotations

from typing import Any


def serve_on_main_shell(comm: Any) -> None:
    """Route the comm's incoming messages to the kernel's main shell (a no-op outside ipykernel 7's comms)."""
    route = getattr(comm, "_reply_subshell_for", None)
    if route is None or getattr(route, "nbviz_main_shell", False):
        return

    def main_shell(data: Any, default: str | None) -> None:
        route(data, default)  # ipykernel's own bookkeeping (the subshells awaiting replies) stays in step
        return None

    main_shell.nbviz_main_shell = True  # type: ignore[attr-defined]
    comm._reply_subshell_for = main_shell
