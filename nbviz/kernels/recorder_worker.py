"""The background worker of :class:`~nbviz.kernels.recorder.ProbMapRecorder`: model snapshots, the queue, back-pressure.

Evaluating the grid costs far more than a training epoch of a small model (40,000 grid points against ~1,000
training points), so ``record`` only snapshots the model (its tensors cloned into a worker-owned copy; a
scikit-learn estimator pickled) and a worker thread does the inference and quantisation, keeping to a share of the
time while the training loop runs. :class:`BackgroundRecording` is the recorder's base class that holds this
machinery; it works on the recorder's state (set up in its ``__init__``: the lock ``_cond``, ``_queue``,
``_queued_bytes``, ``_queued_frames``, ``_worker``, ``_busy``, ``_evaluator``, ``_helpers``, ``_last_call``,
``_unrest``, ``_error``, ``_replica``, ``_uncopyable``), stores frames through its ``_store`` and ``_frame``, and
on a failure moves its ``_last_epoch`` back and tells its ``_listeners``. Split out of the recorder to keep the
threading apart from the domain, the frames and the evaluation.
"""

from __future__ import annotations

import pickle
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .model_runner import TorchReplica, has_forward_hooks, module_tensors, optional_torch

if TYPE_CHECKING:
    from collections import deque

#: Default cap on the bytes of model snapshots waiting for the background worker.
QUEUE_BYTES = 256 * 2**20
#: Seconds an idle worker waits for the next snapshot before its thread ends.
WORKER_LINGER_S = 1.0
#: Share of the time the worker may evaluate while ``record`` calls come less than WORKER_IDLE_S apart (a fast
#: training loop). Its Python glue needs the GIL, and each time it takes it the training loop waits: on
#: benchmarks/probmap.py a worker running flat out slowed the loop by 25-30 %. The rest waits for a slower loop (a
#: call every half second or more), for a caller that stopped recording, or for one in ``wait``, which evaluates
#: the queue itself. This share, not a lower OS priority, keeps the worker off the training loop's cores: a
#: lower-priority thread that holds the GIL when it is preempted stalls the loop (priority inversion). The worker
#: runs torch with the process's one thread setting, shared with the training; it is not changed here.
WORKER_SHARE = 0.1
WORKER_IDLE_S = 0.5


class Job(NamedTuple):
    epoch: int
    metrics: dict[str, float]
    model: Callable[[], Any] | None  # returns the snapshot's model, on the worker; None: metrics only
    nbytes: int


class BackgroundRecording:
    """The background half of :class:`~nbviz.kernels.recorder.ProbMapRecorder` (see the module docstring)."""

    # What this half uses of the ProbMapRecorder (annotations only: its __init__ and methods provide them).
    _cond: threading.Condition
    _queue: deque[Job]
    _last_call: float
    _unrest: threading.Event
    _metric_epochs: list[int]
    _listeners: list[Callable[[Any], None]]
    _store: Callable[..., None]
    _frame: Callable[[Any, int], Any]

    def _snapshot(self, model: Any) -> tuple[int, Callable[[], Callable[[], Any]]] | None:
        """(bytes, take) for a model the worker can evaluate later: ``take()`` snapshots it now and returns the
        worker's loader of that snapshot. None: evaluate ``model`` in place."""
        torch = optional_torch()
        if torch is not None and isinstance(model, torch.nn.Module):
            if has_forward_hooks(model):
                return None
            tensors = module_tensors(model)
            replica = self._replica
            if replica is None or not replica.serves(model, tensors):
                if self._uncopyable is not None and self._uncopyable() is model:
                    return None
                try:
                    replica = TorchReplica(model, tensors, torch)
                except Exception:  # noqa: BLE001 - a module that cannot be copied is evaluated in place
                    self._uncopyable = weakref.ref(model)  # and not copied again at every record
                    return None
                self._replica = replica
            return replica.nbytes, lambda: replica.snapshot(tensors)
        if hasattr(model, "predict_proba") and hasattr(model, "get_params"):  # a scikit-learn estimator
            try:
                data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - what cannot be pickled is evaluated in place
                return None
            return len(data), lambda: lambda: pickle.loads(data)  # noqa: S301 - our own bytes, this process
        return None

    def _enqueue(self, job: Job) -> None:
        with self._cond:  # with the job, so that a failure dropping it also moves the last epoch back
            self._last_epoch = job.epoch
            self._queue.append(job)
            self._queued_bytes += job.nbytes
            self._queued_frames += job.model is not None
            self._start_worker()
            self._cond.notify_all()

    def _start_worker(self) -> None:
        """(Holding the lock.) A worker for the queued jobs, if none runs."""
        if self._worker is None and self._queue:
            self._worker = threading.Thread(target=self._work, name="nbviz-probmap", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._queue and not self._busy and not self._helpers,
                                           WORKER_LINGER_S):
                    self._worker = None  # idle, or paused for a helping caller, which starts a new one if needed
                    return
                self._busy = True
            start = time.monotonic()
            self._evaluate_first()
            self._rest(start, time.monotonic())

    def _rest(self, start: float, end: float) -> None:
        """Pause after a job of ``end - start`` seconds so the worker keeps to WORKER_SHARE of the time while a
        fast training loop records (see WORKER_SHARE). Not woken by each record call (that would cost the loop a
        GIL hand-over every epoch); a helping caller ends the rest."""
        until = end + (end - start) * (1 / WORKER_SHARE - 1)
        while not self._helpers and self._queue:
            now = time.monotonic()
            if now >= until or now - self._last_call >= WORKER_IDLE_S:
                return
            self._unrest.wait(min(until - now, WORKER_IDLE_S))

    def _help(self, done: Callable[[], bool], timeout: float | None = None) -> bool:
        """Evaluate queued jobs on the caller's thread until ``done()`` (or a failure): the worker may run at
        the lowest priority and would be slow to drain on a busy machine. False after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._helpers += 1
            self._unrest.set()
        try:
            while True:
                with self._cond:
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    if not self._cond.wait_for(lambda: done() or self._error is not None or not self._busy, left):
                        return False
                    if done() or self._error is not None or not self._queue:
                        return True
                    self._busy = True  # the first job is ours; one in evaluation was stored before it
                self._evaluate_first()
        finally:
            with self._cond:
                self._helpers -= 1
                if not self._helpers:
                    self._unrest.clear()
                self._start_worker()  # what a timed-out caller leaves is the worker's again
                self._cond.notify_all()

    def _evaluate_first(self) -> None:
        """Evaluate and store the first queued job (marked busy by the caller), then drop it from the queue."""
        job = self._queue[0]
        self._evaluator = threading.get_ident()
        try:
            self._store(job.epoch, job.metrics, None if job.model is None else self._frame(job.model(), job.epoch))
        except Exception as exc:  # noqa: BLE001 - kept for the caller's next record() / wait()
            self._evaluator = None
            self._fail(exc, job.epoch)
            return
        except BaseException:  # an interrupted waiting caller: the job stays queued, for the worker
            self._evaluator = None
            with self._cond:
                self._busy = False
                self._cond.notify_all()
            raise
        self._evaluator = None
        with self._cond:
            self._queue.popleft()
            self._queued_bytes -= job.nbytes
            self._queued_frames -= job.model is not None
            self._busy = False
            self._cond.notify_all()

    def _fail(self, exc: BaseException, epoch: int) -> None:
        with self._cond:
            dropped = len(self._queue) - 1
            self._queue.clear()
            self._queued_bytes = self._queued_frames = 0
            self._busy = False
            self._last_epoch = self._metric_epochs[-1] if self._metric_epochs else None
            self._error = exc
            self._cond.notify_all()
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(  # pyright: ignore[reportAttributeAccessIssue] - 3.11+, guarded by hasattr
                f"nbviz: raised by the background recording of epoch {epoch}; it and the {dropped} "
                "call(s) queued after it were dropped")
        for fn in list(self._listeners):
            try:
                fn(self)
            except Exception:  # noqa: BLE001 - the recording error is the one to report
                pass

    def _raise_failure(self) -> None:
        with self._cond:
            exc, self._error = self._error, None
        if exc is not None:
            raise exc
