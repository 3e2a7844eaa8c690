"""A background thread's trait changes wait for the view's message being handled (``NbvizWidget.state_lock``).

traitlets applies a message's changes in a batch by swapping the instance's ``notify_change`` for a collector
(``hold_trait_notifications``): a projection finishing on its thread in the middle would have its change land in
that batch. An observer that takes a while keeps the message's handling open long enough to see the order.
"""

from __future__ import annotations

import threading
import time

import numpy as np

import nbviz

HANDLING_S = 0.4


def explorer_with_a_slow_focus() -> tuple[nbviz.EmbeddingExplorer, list]:
    rng = np.random.default_rng(0)
    ex = nbviz.EmbeddingExplorer(rng.normal(size=(200, 2)).astype(np.float32), labels=np.arange(200) % 3)
    events: list = []

    def slow(_change) -> None:
        events.append(("message starts", time.monotonic()))
        time.sleep(HANDLING_S)
        events.append(("message ends", time.monotonic()))

    ex.observe(slow, "focus")
    ex.observe(lambda _c: events.append(("points set", time.monotonic())), "points")
    return ex, events


def update(state: dict) -> dict:
    return {"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []}


def in_a_moment(fn) -> threading.Thread:
    th = threading.Thread(target=lambda: (time.sleep(HANDLING_S / 4), fn()))
    th.start()
    return th


def test_a_projection_finishing_while_a_message_is_handled_sets_its_points_after_it() -> None:
    ex, events = explorer_with_a_slow_focus()
    layout = np.random.default_rng(1).normal(size=(200, 2)).astype(np.float32)
    th = in_a_moment(lambda: ex._show_layouts([layout]))
    ex._handle_msg(update({"focus": 5}))
    th.join(10)
    assert [name for name, _ in events] == ["message starts", "message ends", "points set"]
    assert ex.focus == 5 and ex.error == ""
    np.testing.assert_array_equal(ex.points, layout)


def test_a_progress_step_meanwhile_is_skipped_and_the_last_one_waits() -> None:
    ex, _ = explorer_with_a_slow_focus()
    steps = [in_a_moment(lambda: ex._report(0.5, "halfway"))]
    ex._handle_msg(update({"focus": 5}))
    steps[0].join(10)
    assert (ex.progress, ex.status) == (-1.0, "")  # skipped: the next step would come soon
    steps.append(in_a_moment(lambda: ex._report(-1.0, "done", wait=True)))
    ex._handle_msg(update({"focus": 6}))
    steps[1].join(10)
    assert ex.status == "done"  # the last one waited for the message instead
