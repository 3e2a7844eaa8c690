"""ProbMapPlayer in a real browser (Voila + headless Chromium): slider, modes, interpolation, chart clicks, and
compare mode fed by background recording."""

from __future__ import annotations

import numpy as np

from .harness import ready_root, wait_for_json, write_notebook

PLAYER = """
import json, pathlib, numpy as np, nbviz
rng = np.random.default_rng(0)
X = rng.normal(size=(80, 2))
W = np.array([[2.0, -1.0, 0.2], [0.5, 1.5, -2.0]])
y = (X @ W).argmax(1)
calls = [0]
def model_at(e):
    def f(x):
        calls[0] += 1
        return (x @ W) * (0.2 + e) + np.array([0.0, 0.5, -0.5]) * e
    return f
rec = nbviz.ProbMapRecorder(X, y, resolution=48)
for e in (0, 3, 9):
    rec.record(model_at(e), e, loss=1 / (e + 1), acc=e / 10)
p = nbviz.ProbMapPlayer(rec, interpolation=3, size=300, class_colormap="gray", classes=["a", "<b>b</b>", "c"])
nbviz_probe(p, "epoch", "mode", "error")
out = pathlib.Path(FOLDER)
p.observe(lambda c: (out / "calls_at_mode.json").write_text(json.dumps([calls[0], len(rec)])), "mode")
(out / "calls_before.json").write_text(json.dumps([calls[0], len(rec)]))
p
"""


def open_player(page, voila, name: str, cells: tuple[str, ...] = (PLAYER,)):
    probe = voila.root / f"{name}_probe"
    write_notebook(voila.root / f"{name}.ipynb", [c.replace("FOLDER", repr(str(probe))) for c in cells],
                   probe_folder=probe)
    page.goto(f"{voila.url}/voila/render/{name}.ipynb", timeout=120_000)
    root = ready_root(page, ".nbviz-pm")
    return probe, root


def map_pixels(root, panel: int = 0) -> np.ndarray:
    """A map canvas' own pixels (rows, cols, 4), exactly as drawn; ``panel``: which map in compare mode."""
    data, shape = root.evaluate(
        "(el, k) => { const c = el.querySelectorAll('.nbviz-pm-map')[k];"
        " return [Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data), [c.height, c.width]]; }",
        panel)
    return np.asarray(data, dtype=np.int16).reshape(shape[0], shape[1], 4)


def test_slider_mode_interpolation_and_chart(page, voila):
    probe, root = open_player(page, voila, "probmap")
    assert wait_for_json(probe / "epoch.json") == 9
    steps = root.evaluate("(el) => el.nbviz.steps.length")
    assert steps == 9  # 3 recorded frames, 3 blended steps in each of the 2 gaps, none duplicated
    last = map_pixels(root)

    # The metrics chart: its epoch axis spans the recorded epochs, its legend sits under it as text.
    legend = page.locator(".nbviz-pm-chart-legend")
    legend.wait_for(timeout=30_000)
    assert legend.locator(":scope > span").all_text_contents() == ["acc", "loss"]
    page.locator(".bqplot .tick text").first.wait_for(state="attached", timeout=30_000)
    ticks = page.evaluate("() => [...document.querySelectorAll('.bqplot g.axis')]"
                          ".filter(a => a.textContent.includes('epoch'))"
                          ".flatMap(a => [...a.querySelectorAll('.tick text')].map(t => t.textContent))")
    epochs = [int(t) for t in ticks if t.strip()]
    assert epochs and min(epochs) >= 0 and max(epochs) <= 9, ticks

    # Dragging the slider to the start shows epoch 0 in Python and other pixels.
    slider = root.locator(".nbviz-pm-slider")
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    assert wait_for_json(probe / "epoch.json", lambda v: v == 0) == 0
    page.wait_for_timeout(100)
    first = map_pixels(root)
    assert np.abs(first - last).max() > 30
    assert "epoch 0" in root.locator(".nbviz-pm-epoch").inner_text()

    # Keyboard steps go through interpolated frames, labelled with interpolated true epochs.
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert root.locator(".nbviz-pm-epoch").inner_text() == "epoch 1.5"
    # A drag released between recorded frames settles on the nearest recorded epoch.
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.28, box["y"] + box["height"] / 2, steps=5)
    assert "." in root.locator(".nbviz-pm-epoch").inner_text()  # an interpolated step while dragging
    page.mouse.up()
    page.wait_for_function("() => /^epoch \\d+$/.test(document.querySelector('.nbviz-pm-epoch').textContent)")
    assert root.locator(".nbviz-pm-epoch").inner_text() in ("epoch 0", "epoch 3")
    slider.focus()
    page.keyboard.press("Home")

    # Switching mode changes colours in the browser, and the model is not called again.
    region = map_pixels(root)
    requests_before = root.evaluate("(el) => el.nbviz.requests")
    root.locator(".nbviz-pm-mode").select_option("entropy")
    assert wait_for_json(probe / "mode.json", lambda v: v == "entropy") == "entropy"
    page.wait_for_timeout(100)
    assert np.abs(map_pixels(root) - region).max() > 30
    assert wait_for_json(probe / "calls_at_mode.json") == wait_for_json(probe / "calls_before.json")
    assert root.evaluate("(el) => el.nbviz.requests") == requests_before

    # "class" mode on a grey scale: an interpolated frame lies between its two recorded neighbours.
    root.locator(".nbviz-pm-mode").select_option("class")
    frames = []
    for k in (0, 2, 4):  # epoch 0, the middle blend (f = 0.5), epoch 3
        root.evaluate("(el, k) => el.nbviz.setStep(k)", k)
        frames.append(map_pixels(root)[..., 0])
    a, mid, b = frames
    assert (mid >= np.minimum(a, b) - 1).all() and (mid <= np.maximum(a, b) + 1).all()
    changed = np.abs(a - b) > 10
    assert changed.any() and (np.abs(mid - (a + b) / 2)[changed] <= 2).all()

    # Class names are text, never HTML.
    assert "<b>b</b>" in root.locator(".nbviz-pm-legend").inner_text()
    assert root.locator(".nbviz-pm-legend b").count() == 0

    # Clicking the metrics chart over an epoch jumps there.
    bars = page.locator(".bqplot .bar")
    bars.first.wait_for(state="attached", timeout=30_000)
    assert bars.count() == 3
    bar = bars.nth(1).bounding_box()
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    assert wait_for_json(probe / "epoch.json", lambda v: v == 3) == 3
    page.wait_for_timeout(200)
    assert root.locator(".nbviz-pm-epoch").inner_text() == "epoch 3"
    assert not page.page_errors
    assert wait_for_json(probe / "error.json") == ""


ONE_FRAME = """
import numpy as np, nbviz
X = np.random.default_rng(0).normal(size=(50, 2))
y = (X[:, 0] > 0).astype(int)
rec = nbviz.ProbMapRecorder(X, y, resolution=32)
rec.record(lambda x: np.stack([-x[:, 0], x[:, 0]], 1), 0, loss=0.7)
p = nbviz.ProbMapPlayer(rec, size=240)
nbviz_probe(p, "epoch", "error")
p
"""


def test_one_frame_shows_no_playback_controls_and_no_empty_chart(page, voila):
    probe, root = open_player(page, voila, "probmap_one", (ONE_FRAME,))
    assert wait_for_json(probe / "epoch.json") == 0
    assert root.locator(".nbviz-pm-epoch").inner_text() == "epoch 0"
    for part in (".nbviz-pm-play", ".nbviz-pm-slider", ".nbviz-pm-speed"):
        assert not root.locator(part).is_visible(), part
    assert root.locator(".nbviz-pm-mode").is_visible()
    page.wait_for_timeout(500)
    assert page.locator(".bqplot").count() == 0 or not page.locator(".bqplot").first.is_visible()
    assert not page.page_errors


COMPARE = """
import numpy as np, torch, nbviz
rng = np.random.default_rng(0)
X = rng.normal(size=(80, 2)).astype("float32")
W = np.array([[2.0, -1.0, 0.2], [0.5, 1.5, -2.0]], dtype="float32")
y = (X @ W).argmax(1)
recs = {name: nbviz.ProbMapRecorder(X, y, resolution=48) for name in ("seed 0", "seed 1")}
p = nbviz.ProbMapPlayer(recs, interpolation=2, size=200, class_colormap="gray")
nbviz_probe(p, "epoch", "mode", "error", "n_frames")
p
"""
# Recorded after the player is shown, by torch modules: in the background, so frames reach the view from the
# recorders' worker threads (or are pulled by a view that opens later).
TRAIN = """
for name, sign, epochs in (("seed 0", 1.0, (0, 3, 9)), ("seed 1", -1.0, (0, 6, 9))):
    model = torch.nn.Linear(2, 3)
    for e in epochs:
        with torch.no_grad():
            model.weight.copy_(torch.from_numpy(sign * W.T * (0.2 + 0.4 * e)))
            model.bias.zero_()
        recs[name].record(model, e, loss=1 / (e + 1))
"""


def test_compare_mode_panels_share_the_slider(page, voila):
    probe, root = open_player(page, voila, "probmap_compare", (COMPARE, TRAIN))
    assert wait_for_json(probe / "n_frames.json", lambda v: v == 6) == 6
    page.wait_for_function("(el) => el.nbviz.panelFrames.join() === '3,3'", arg=root.element_handle(),
                           timeout=30_000)
    assert root.locator(".nbviz-pm-map").count() == 2
    assert root.locator(".nbviz-pm-title").all_inner_texts() == ["seed 0", "seed 1"]
    # One slider over the union of the epochs [0, 3, 6, 9], two blended steps in each gap.
    assert root.evaluate("(el) => el.nbviz.steps.map((s) => s.epoch)") == list(range(10))
    assert wait_for_json(probe / "epoch.json", lambda v: v == 9) == 9
    a_end, b_end = map_pixels(root, 0), map_pixels(root, 1)
    assert np.abs(a_end - b_end).max() > 100  # the second model predicts the opposite: other colours

    # Dragging the slider to the start moves both maps, and Python's epoch.
    slider = root.locator(".nbviz-pm-slider")
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    assert wait_for_json(probe / "epoch.json", lambda v: v == 0) == 0
    page.wait_for_timeout(100)
    assert np.abs(map_pixels(root, 0) - a_end).max() > 30
    assert np.abs(map_pixels(root, 1) - b_end).max() > 30
    assert root.locator(".nbviz-pm-epoch").inner_text() == "epoch 0"

    # Each map shows its last frame at or before the epoch, blended towards its next ("class" mode, grey scale):
    # at epoch 3 the first recorder shows its frame of epoch 3, the second half-way between its epochs 0 and 6.
    root.locator(".nbviz-pm-mode").select_option("class")
    assert wait_for_json(probe / "mode.json", lambda v: v == "class") == "class"
    shots = {}
    for k in (0, 3, 6):
        root.evaluate("(el, k) => el.nbviz.setStep(k)", k)
        shots[k] = (map_pixels(root, 0)[..., 0], map_pixels(root, 1)[..., 0])
    b0, b3, b6 = shots[0][1], shots[3][1], shots[6][1]
    changed = np.abs(b0 - b6) > 10
    assert changed.any() and (np.abs(b3 - (b0 + b6) / 2)[changed] <= 2).all()
    assert np.abs(shots[3][0] - shots[0][0]).max() > 30  # the first recorder has a frame of its own at 3

    # A mode switch recolours both maps.
    root.locator(".nbviz-pm-mode").select_option("entropy")
    assert wait_for_json(probe / "mode.json", lambda v: v == "entropy") == "entropy"
    page.wait_for_timeout(100)
    assert np.abs(map_pixels(root, 0)[..., 0] - shots[6][0]).max() > 30
    assert np.abs(map_pixels(root, 1)[..., 0] - shots[6][1]).max() > 30
    assert not page.page_errors
    assert wait_for_json(probe / "error.json") == ""
