"""Progress of work done in a known number of steps: a ``tqdm.auto`` bar (:func:`.progress.progress_bar`) and, for a
widget, a ``report(fraction, status)`` callback (a progress state in [0, 1] and what runs now).

Both appear only once the work has run ``delay`` seconds (0.5 s: quick work shows nothing), also in the middle of a
long step (a timer shows them then), and both are cleared when the work ends, failed or not: the bar hidden (no
stale progress text in a saved notebook) and ``report(-1.0, "")`` (idle), which the widgets' ``progress`` traits
mean by -1. The bar is made only then: a notebook bar is four ipywidgets, which quick work (a small ModelGraph's
capture) would otherwise send to the page, and Voila load, for nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .progress import progress_bar

#: ``report(fraction, status)``: fraction in [0, 1] while working, -1.0 (and status "") once idle again.
Report = Callable[[float, str], None]
#: Seconds of work before any progress shows (as ``GradCamViewer``'s batches: tqdm's ``delay``).
DELAY_S = 0.5


class Steps:
    """A context manager over ``total`` steps; :meth:`step` starts the next one (the one before is then done).

    Parameters
    ----------
    total
        Number of steps.
    desc
        The bar's title, e.g. "nbviz compare".
    report
        Called with (fraction done, status) once the work has run ``delay`` s and at each step after; with
        (-1.0, "") at the end if it was called before.
    delay
        Seconds before the bar and ``report`` show anything (None: :data:`DELAY_S`).
    disable
        No bar (``report`` is still called).
    """

    def __init__(self, total: int, desc: str, *, report: Report | None = None, delay: float | None = None,
                 disable: bool = False, unit: str = "step") -> None:
        self.total = max(int(total), 1)
        self._report = report
        self._delay = DELAY_S if delay is None else float(delay)
        self._bar_args = {"desc": desc, "unit": unit, "disable": disable}
        self._bar: Any = None
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._done, self._begun, self._status = 0, False, ""
        self._shown = self._ended = False
        # A step may run long without a call here: the timer shows the bar and the state in its middle.
        self._timer = threading.Timer(self._delay, self._show)
        self._timer.daemon = True
        self._timer.start()

    @property
    def shown(self) -> bool:
        """Whether the progress has shown (the work ran past ``delay``)."""
        return self._shown

    @property
    def bar(self) -> Any:
        """The tqdm bar, once shown (None before)."""
        return self._bar

    def step(self, status: str) -> None:
        """Start the next step; ``status`` says what it does (e.g. "kNN graph of 'a'")."""
        with self._lock:
            if self._begun and self._done < self.total:
                self._done += 1
            self._begun, self._status = True, status
            if not self._shown and time.monotonic() - self._t0 >= self._delay:
                self._shown = True
            self._publish()

    def _show(self) -> None:
        with self._lock:
            if self._ended or self._shown:
                return
            self._shown = True
            self._publish()

    def _publish(self) -> None:
        if not self._shown:
            return
        if self._bar is None:  # made now, on the work's cell (a timer's output goes to the running cell too)
            self._bar = progress_bar(self.total, delay=0, **self._bar_args)
        self._bar.n = self._done
        self._bar.set_postfix_str(self._status, refresh=True)
        if self._report is not None:
            self._report(self._done / self.total, self._status)

    def close(self) -> None:
        """End the work: the bar is hidden and the state idle (-1.0, "") if it was shown."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self._timer.cancel()
            try:
                if self._bar is not None:
                    self._bar.close()
            finally:
                if self._shown and self._report is not None:
                    self._report(-1.0, "")
        # The timer's thread holds this object (and so ``report``'s widget) until it ends: let it end now (outside
        # the lock its _show may be waiting for), so a closed widget is freed at once.
        if threading.current_thread() is not self._timer:
            self._timer.join(1.0)

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()
