"""Large arrays stream to a live view in pieces (nbviz/widgets/streams.py, js/src/lib/streams.ts): in JupyterLab
the explorer shows how much has arrived, then draws every point where a view sent the array whole draws it."""

from __future__ import annotations

import numpy as np

from .test_embedding_explorer_ui import lab_execute, open_lab

N = 20_000

# Thresholds lowered so 20k points (80 kB of positions) stream in 5 pieces; each piece is served 0.3 s late, so the
# progress bar is there to see. `whole` gets the same points in one message (a threshold above its size).
STREAMED = f"""
import time, ipywidgets, numpy as np, nbviz
from nbviz.widgets import streams
rng = np.random.default_rng(3)
labels = rng.integers(0, 5, {N})
xy = (rng.normal(size=(5, 2))[labels] * 4 + rng.normal(size=({N}, 2))).astype("float32")
streams.STREAM_BYTES, streams.PIECE_BYTES = 1 << 30, 16_000
whole = nbviz.EmbeddingExplorer(xy, labels=labels, height=300)
streams.STREAM_BYTES = 20_000
ex = nbviz.EmbeddingExplorer(xy, labels=labels, height=300)
served = []
def slow_piece(content, serve=ex._stream_piece):
    time.sleep(0.3)
    served.append(content["index"])
    return serve(content)
ex._stream_piece = slow_piece
ipywidgets.VBox([ex, whole])
"""


def test_a_large_array_arrives_in_pieces_with_progress_and_draws_like_a_whole_one(page, lab):
    open_lab(page, lab, "stream_lab", [STREAMED])
    # The kernel cannot hear a view while a cell runs: the first run's views get their arrays whole and tell the
    # kernel they are there; the second run streams.
    page.locator('.nbviz-embedding[data-nbviz-ready="true"]').nth(1).wait_for(timeout=120_000)
    lab_execute(page, "assert streams.live_view() and served == [], served")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Queried afresh each time: the first run's views are still on the page until the cell runs again.
    page.wait_for_function("() => [...document.querySelectorAll('.nbviz-embedding .nbviz-progress-text')]"
                           ".some(el => /^Receiving points: 0\\.\\d+ of 0\\.1 MB$/.test(el.textContent))",
                           timeout=60_000)
    roots = page.locator(".nbviz-embedding")
    streamed, whole = roots.nth(0), roots.nth(1)
    page.wait_for_function("([a, b]) => a.nbviz.pointCount === b.nbviz.pointCount && a.dataset.nbvizReady === 'true'",
                           arg=[streamed.element_handle(), whole.element_handle()], timeout=60_000)
    assert streamed.evaluate("el => el.nbviz.pointCount") == N
    assert streamed.locator(".nbviz-progress").is_hidden()  # back to the trait's (idle) progress
    # The kernel served each of the 5 pieces (a few in flight at once, so in any order).
    lab_execute(page, "assert sorted(served) == [0, 1, 2, 3, 4], served")
    # Same points on screen as the view that got them in one message.
    for i in (0, 1234, N - 1):
        a = streamed.evaluate("(el, i) => el.nbviz.screenPosition(i)", i)
        b = whole.evaluate("(el, i) => el.nbviz.screenPosition(i)", i)
        np.testing.assert_allclose(a, b, atol=0.5)
    # A new value from Python streams anew and the view moves to it.
    lab_execute(page, "ex.points = xy[::-1].copy()")  # point 7 goes where point N - 8 was
    page.wait_for_function(
        "([a, b]) => { const p = a.nbviz.screenPosition(7), q = b.nbviz.screenPosition(7);"
        " return p && q && Math.hypot(p[0] - q[0], p[1] - q[1]) > 0.5; }",
        arg=[streamed.element_handle(), whole.element_handle()], timeout=30_000)
    assert not page.page_errors
