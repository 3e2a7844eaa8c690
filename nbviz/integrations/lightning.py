"""PyTorch Lightning adapter: record a probability map at the end of training epochs.

Lightning is imported only when the callback is made, from ``lightning`` or ``pytorch_lightning``, whichever is
installed; nbviz itself does not depend on it.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

from ..kernels.recorder import ProbMapRecorder


def _callback_base() -> type:
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(name).Callback
        except ImportError:
            continue
    return object  # duck-typed: any trainer that calls on_train_epoch_end(trainer, module) works


def _number(value: Any) -> float | None:
    try:
        v = float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _make_class(base: type) -> type:
    class ProbMapCallback(base):  # type: ignore[misc, valid-type]
        """Record ``rec`` from the LightningModule every ``every_n_epochs`` epochs, with the logged metrics; at
        the end of training, wait for the frames the recorder still evaluates in the background.

        Parameters
        ----------
        rec
            The :class:`nbviz.ProbMapRecorder` to record into (its own ``every`` applies too).
        every_n_epochs
            Record at the end of every n-th training epoch (epochs counted from 0, as Lightning does).
        """

        def __init__(self, rec: ProbMapRecorder, every_n_epochs: int = 1) -> None:
            if not isinstance(rec, ProbMapRecorder):
                raise TypeError(f"rec must be a nbviz.ProbMapRecorder, got {type(rec).__name__}")
            if isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, int) or every_n_epochs < 1:
                raise ValueError(f"every_n_epochs must be an int >= 1, got {every_n_epochs!r}")
            super().__init__()
            self.rec, self.every_n_epochs = rec, every_n_epochs

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            epoch = int(trainer.current_epoch)
            last = epoch + 1 >= int(getattr(trainer, "max_epochs", 0) or 0) > 0
            if epoch % self.every_n_epochs and not last:
                return
            if getattr(trainer, "sanity_checking", False):
                return
            metrics = {k: v for k, v in ((str(k), _number(v)) for k, v in
                                         dict(getattr(trainer, "callback_metrics", {}) or {}).items())
                       if v is not None}
            # Only the global-zero process records: the map is the same on every rank.
            if getattr(trainer, "is_global_zero", True):
                self.rec.record(pl_module, epoch, force=last, **metrics)

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            # Frames recorded in the background are all stored when fit() returns, and a failure of the
            # recorder's worker is raised inside fit(), where it belongs.
            if getattr(trainer, "is_global_zero", True):
                self.rec.wait()

    return ProbMapCallback


ProbMapCallback = _make_class(_callback_base())

__all__ = ["ProbMapCallback"]
