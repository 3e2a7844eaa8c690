"""Loops of many small torch operations, spread over worker threads that each run one intra-op thread.

torch parallelises every operation over all cores with OpenMP, and each one ends at a barrier that waits for the
slowest thread. When the cores are also busy with other work (a shared machine, another kernel), that wait is a
scheduler time slice per operation: a loop of a few thousand small operations then runs 3-10x slower than on one
core (benchmarks/README.md, "Principal components"). Worker threads that each take a share of the loop, each
operation single-threaded inside, never wait for one another; on an idle machine they are as fast or faster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_users = 0
_saved = 1


def thread_count() -> int:
    """How many workers to use: torch's intra-op thread count (one inside a :func:`parallel_map`)."""
    import torch

    return max(1, torch.get_num_threads())


@contextmanager
def _one_intra_op_thread() -> Any:
    """torch runs one intra-op thread while any caller is inside (the setting is process-wide: counted, so
    that overlapping callers restore it once, to what it was)."""
    import torch

    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                torch.set_num_threads(_saved)


def parallel_map(fn: Callable[[Any], T], items: Iterable[Any], workers: int | None = None) -> list[T]:
    """``[fn(item) for item in items]``, on ``workers`` threads (default :func:`thread_count`), each running
    torch with one intra-op thread; items are handed out in order as workers free up."""
    items = list(items)
    workers = thread_count() if workers is None else workers
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with _one_intra_op_thread(), ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(fn, items))
