"""Large arrays stream to a live view in pieces (nbviz/widgets/streams.py, js/src/lib/streams.ts): in JupyterLab
the explorer shows how much has arrived, asks for a piece that never came, and draws every point where a view
sent the array whole draws it."""

from __future__ import annotations

import numpy as np

from .test_embedding_explorer_ui import lab_execute, open_lab

N = 20_000

# Thresholds lowered so 20k points (80 kB of positions) stream in 5 pieces. `whole` gets the same points in one
# message (a threshold above its size). `served` records the pieces the view had to ask for.
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
def asked(content, serve=ex._stream_piece):
    served.append(content["index"])
    return serve(content)
ex._stream_piece = asked
ipywidgets.VBox([ex, whole])
"""

# The next value's pieces go out 0.3 s apart (the bar has time to show) and piece 2 is lost on the way.
SLOW_AND_LOSSY = """
def slow_send(content, buffers=None, send=type(ex).send.__get__(ex)):
    if content.get("type") == "stream-piece":
        time.sleep(0.3)
        if content["index"] == 2:
            return
    send(content, buffers)
ex.send = slow_send
ex.points = xy[::-1].copy()  # point 7 goes where point N - 8 was
"""

PROGRESS_TEXTS = """el => { window.__texts = [];
  new MutationObserver(() => window.__texts.push(el.textContent)).observe(el, {childList: true, characterData: true,
    subtree: true}); }"""


def test_a_large_array_arrives_in_pieces_with_progress_and_draws_like_a_whole_one(page, lab):
    open_lab(page, lab, "stream_lab", [STREAMED])
    # The kernel cannot hear a view while a cell runs: the first run's views get their arrays whole and tell the
    # kernel they are there; the second run streams.
    page.locator('.nbviz-embedding[data-nbviz-ready="true"]').nth(1).wait_for(timeout=120_000)
    lab_execute(page, "assert streams.live_view() and not ex._stream_table(), 'the first run streamed'")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    lab_execute(page, "assert ex._stream_table()['points'], 'points were sent whole'")
    roots = page.locator(".nbviz-embedding")
    streamed, whole = roots.nth(0), roots.nth(1)
    page.wait_for_function(
        "() => { const r = [...document.querySelectorAll('.nbviz-embedding')];"
        f" return r.length === 2 && r.every(e => e.dataset.nbvizReady === 'true' && e.nbviz.pointCount === {N}); }}",
        timeout=60_000)
    lab_execute(page, "assert served == [], served")  # every piece came unasked
    for i in (0, 1234, N - 1):
        a = streamed.evaluate("(el, i) => el.nbviz.screenPosition(i)", i)
        b = whole.evaluate("(el, i) => el.nbviz.screenPosition(i)", i)
        np.testing.assert_allclose(a, b, atol=0.5)
    # A new value from Python: its pieces trickle in (the bar counts them), one is lost and asked for.
    streamed.locator(".nbviz-progress-text").evaluate(PROGRESS_TEXTS)
    lab_execute(page, SLOW_AND_LOSSY)
    page.wait_for_function(
        "([a, b]) => { const p = a.nbviz.screenPosition(7), q = b.nbviz.screenPosition(7);"
        " return p && q && Math.hypot(p[0] - q[0], p[1] - q[1]) > 0.5; }",
        arg=[streamed.element_handle(), whole.element_handle()], timeout=30_000)
    lab_execute(page, "assert served == [2], served")
    texts = page.evaluate("window.__texts")
    partial = [t for t in texts if t.startswith("Receiving points: 0.0")]
    assert partial and all(t.endswith("of 0.1 MB") for t in partial), texts
    assert streamed.locator(".nbviz-progress").is_hidden()  # back to the trait's (idle) progress
    assert not page.page_errors
