"""ProbMapPlayer state, messages and exports without a browser."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import sys
import time

import numpy as np
import pytest
import traitlets
from PIL import Image

import nbviz
from nbviz.display import colorize_probabilities, interpolate, timeline
from nbviz.widgets.arrays import array_from_json
from nbviz.widgets.probmap_export import _Figure

W = np.array([[1.5, -2.0, 0.5], [0.3, 1.0, -1.2]])


def model_at(epoch):
    """A 3-class logistic model that sharpens with the epoch, so frames differ."""
    return lambda x: (x @ W) * (1 + epoch)


@pytest.fixture
def rec():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X @ W).argmax(1)
    r = nbviz.ProbMapRecorder(X, y, resolution=24, X_test=rng.normal(size=(10, 2)), y_test=np.zeros(10, int))
    for e in (0, 2, 7):
        r.record(model_at(e), e, loss=1.0 / (e + 1), acc=e / 10)
    return r


def test_state_is_binary_and_colour_tables_come_from_python(rec):
    p = nbviz.ProbMapPlayer(rec, classes=["a", "b", "<c>"])
    state = p.get_state()
    assert isinstance(state["region_luts"]["chunks"][0], memoryview)
    assert array_from_json(state["region_luts"]).shape == (3, 256, 4)
    assert array_from_json(state["class_lut"]).shape == (256, 4)
    assert p.class_names == ["a", "b", "<c>"]
    assert p.epochs == [0, 2, 7] and p.epoch == 7 and p.n_frames == 3 and p.grid_shape == [24, 24]
    np.testing.assert_array_equal(array_from_json(state["points"]), rec.points.astype("float32"))
    # Frames go as binary buffers, C bytes per cell: in messages, and all of them in the persisted copy.
    assert not any(k for k in state if "frame" in k and k not in ("n_frames", "stored_frames"))
    content, buffers = p._frame_message(0, 3)
    assert content == {"run": 0, "start": 0, "count": 3, "pred_dtype": "uint8", "map_chunks": 1}
    (copy,) = state["stored_frames"]
    assert {**copy, "buffers": None} == {"type": "frames", **content, "buffers": None}
    assert [bytes(b) for b in copy["buffers"]] == [bytes(b) for b in buffers]
    assert [len(b) for b in buffers[:3]] == [24 * 24 * 3, 40, 10]
    np.testing.assert_array_equal(np.frombuffer(buffers[3], np.uint8).reshape(24, 24, 3), rec.frames[1])


def test_frames_are_pushed_live_once_each(rec):
    p = nbviz.ProbMapPlayer(rec)
    sent = []
    p.send = lambda content, buffers=None: sent.append((content, buffers))
    rec.record(model_at(9), 9, loss=0.1, acc=0.9)
    rec.record(model_at(10), 10, loss=0.05, acc=0.95)
    assert [c["start"] for c, _ in sent] == [3, 4]
    assert all(c["count"] == 1 and len(b) == 3 for c, b in sent)
    assert p.n_frames == 5 and p.epochs[-2:] == [9, 10]
    assert p.epoch == 10  # follows the newest frame while the newest was shown
    p.epoch = 2
    rec.record(model_at(11), 11)
    assert p.epoch == 2  # the user looks at an older frame: it stays
    # A view that opens late pulls what it missed, in replies under the size limit.
    reply, buffers = p._reply_frames({"start": 4})
    assert reply["start"] == 4 and reply["count"] == 2 and len(buffers) == 6
    with pytest.raises(ValueError, match="'start' must be an index in 0..6"):
        p._reply_frames({"start": 9})


def test_empty_recorder_plays_live_and_exports_say_why_not(tmp_path):
    r = nbviz.ProbMapRecorder(np.random.default_rng(1).normal(size=(20, 2)), resolution=8)
    p = nbviz.ProbMapPlayer(r)
    assert p.n_frames == 0 and p.n_classes == 0 and "waiting" in p.status
    assert p._static_png()  # a placeholder, so a saved notebook still shows something
    with pytest.raises(ValueError, match="the recorder has no frames yet"):
        p.save(tmp_path / "x.gif")
    r.record(model_at(0), 0)
    assert p.n_frames == 1 and p.n_classes == 3 and p.region_luts.shape == (3, 256, 4) and p.status == ""


def test_bad_arguments(rec):
    with pytest.raises(TypeError, match="rec must be a nbviz.ProbMapRecorder"):
        nbviz.ProbMapPlayer(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="mode must be one of"):
        nbviz.ProbMapPlayer(rec, mode="regions")
    with pytest.raises(ValueError, match="interpolation must be an int >= 0"):
        nbviz.ProbMapPlayer(rec, interpolation=-2)
    with pytest.raises(ValueError, match="interpolation_type must be one of"):
        nbviz.ProbMapPlayer(rec, interpolation_type="cubic")
    with pytest.raises(ValueError, match="classes must name the 3 classes"):
        nbviz.ProbMapPlayer(rec, classes=["a"])
    p = nbviz.ProbMapPlayer(rec)
    with pytest.raises(traitlets.TraitError, match="epoch must be in 0..7"):
        p.epoch = 8
    with pytest.raises(traitlets.TraitError, match="target_class must be a class index in 0..2"):
        p.target_class = 3
    with pytest.raises(ValueError, match="path must end in one of"):
        p.save("x.jpg")


def test_chart_click_jumps_to_epoch_and_marker_follows(rec):
    p = nbviz.ProbMapPlayer(rec)
    fig = p.chart
    assert fig is not None
    lines = p._lines
    assert list(lines.labels) == ["acc", "loss"]
    np.testing.assert_allclose(lines.y[1], [1.0, 1 / 3, 1 / 8])
    assert list(p._marker.x) == [7, 7]
    p._hits.selected = [1]  # what a click on the chart's second epoch does
    assert p.epoch == 2 and list(p._marker.x) == [2, 2] and p._hits.selected is None
    # The output is the map with the chart under it; text and the static PNG are the player's.
    data, _ = p._repr_mimebundle_()
    assert data["text/plain"].startswith("<nbviz.") and "image/png" in data
    box_id = data["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert box_id == p._box.model_id and p._box.children[0] is p and p._box.children[1].children[0] is fig
    # The epoch axis spans the recorded epochs (the hit bars would pad it otherwise); the legend is text under it.
    assert (fig.axes[0].scale.min, fig.axes[0].scale.max) == (0.0, 7.0)
    assert ">acc<" in p._legend.value and ">loss<" in p._legend.value
    assert p._box.children[1].layout.display is None  # shown: there are three frames


def test_the_chart_escapes_metric_names_and_waits_for_a_second_frame():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    r = nbviz.ProbMapRecorder(X, (X @ W).argmax(1), resolution=16)
    r.record(model_at(0), 0, **{"<b>loss</b>": 1.0})
    p = nbviz.ProbMapPlayer(r)
    assert p.chart is not None and p._chart_box.layout.display == "none"
    assert "&lt;b&gt;loss&lt;/b&gt;" in p._legend.value and "<b>" not in p._legend.value


def test_render_matches_kernel_functions(rec):
    p = nbviz.ProbMapPlayer(rec, mode="entropy", interpolation_type="geometric")
    img = p.render_rgba(0, 0.5)

    expected = colorize_probabilities(interpolate(rec.frames[0], rec.frames[1], 0.5, "geometric"), "entropy", p._luts())
    np.testing.assert_array_equal(img, expected)
    png = Image.open(io.BytesIO(p.to_png(240)))
    assert png.size == (240, 240)


def test_gif_has_every_step_once_with_true_delays(rec, tmp_path):
    p = nbviz.ProbMapPlayer(rec, interpolation=3)
    out = p.save(tmp_path / "train.gif", fps=20, title="moons")
    gif = Image.open(out)
    assert gif.n_frames == len(timeline([0, 2, 7], 3)) == 9
    delays = []
    for k in range(gif.n_frames):
        gif.seek(k)
        delays.append(gif.info["duration"])
    assert delays == [50] * 9
    # A fast fps never goes below 20 ms (browsers would slow such frames to 100 ms).
    fast = Image.open(p.save(tmp_path / "fast.gif", fps=100))
    assert fast.info["duration"] == 20


def test_png_single_and_small_multiples(rec, tmp_path):
    p = nbviz.ProbMapPlayer(rec)
    one = Image.open(p.save(tmp_path / "one.png", dpi=50))
    grid = Image.open(p.save(tmp_path / "grid.png", dpi=50, epochs=[0, 2, 7], dark=True))
    assert one.size == (250, 250)
    assert grid.size[0] > one.size[0]


def test_mp4_needs_ffmpeg(rec, tmp_path, monkeypatch):
    p = nbviz.ProbMapPlayer(rec)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # not installed
    with pytest.raises(RuntimeError, match=r"saving .mp4 needs ffmpeg: install the imageio-ffmpeg package"):
        p.save(tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_mp4_holds_every_playback_step_in_the_players_colours(rec, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    p = nbviz.ProbMapPlayer(rec, interpolation=2)
    path = p.save(tmp_path / "x.mp4", fps=10, dpi=40)
    fig = _Figure(p, title=None, dpi=40, figsize=None, dark=False, margin=0.08)
    steps = fig.steps()
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    assert meta["codec"] == "h264" and meta["fps"] == pytest.approx(10)
    assert len(frames) == len(steps) > len(rec.epochs)
    wants = [fig.show(e)[..., :3].astype(int) for e in steps]
    for k, frame in enumerate(frames):
        got = frame[: wants[k].shape[0], : wants[k].shape[1]].astype(int)
        # H.264 in yuv420p is lossy: colours agree to a few levels on average, no region is far off, and each
        # frame is nearest to its own playback step (blended steps differ from their neighbours by a few levels).
        error = [np.abs(got - w).mean() for w in wants]
        assert error[k] < 3 and int(np.argmin(error)) == k, (k, error)
        assert np.percentile(np.abs(got - wants[k]), 99) < 40


def test_html_export_is_offline_and_holds_the_frames(rec, tmp_path):
    p = nbviz.ProbMapPlayer(rec, classes=["a", "</script><b>x</b>", "__JS__"])
    page = p.save(tmp_path / "x.html", title="<run 1>").read_text()
    # The SVG namespace names the icons' element type; it is never fetched.
    links = page.replace("http://www.w3.org/2000/svg", "")
    assert "http://" not in links and "https://" not in links
    assert "&lt;run 1&gt;" in page and page.count("</script>") == 2
    data = json.loads(re.search(r'id="nbviz-data">(.*?)</script>', page, re.S).group(1))
    assert data["state"]["class_names"][1] == "</script><b>x</b>"
    (reply,) = data["replies"]["frames"]["table"].values()  # the reply to the view's frames request (run 0)
    buffers = [base64.b64decode(data["blobs"][k]) for k in reply["buffers"]]
    assert [len(b) for b in buffers] == [24 * 24 * 3, 40, 10] * 3
    assert reply["content"] == {"type": "frames", **p._frame_message(0, 3)[0]}  # what a live view is sent
    assert reply["content"]["count"] == 3 and reply["content"]["start"] == 0
    np.testing.assert_array_equal(np.frombuffer(buffers[-3], np.uint8), rec.frames[2].ravel())


# -- background recording ----------------------------------------------------------------------------------
def test_frames_recorded_in_the_background_reach_a_live_player():
    import threading

    import torch

    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2)).astype("float32")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    rec = nbviz.ProbMapRecorder(X, (X @ W).argmax(1), resolution=16)
    p = nbviz.ProbMapPlayer(rec)
    sent, threads = [], []
    p.send = lambda content, buffers=None: (sent.append((content, buffers)),
                                            threads.append(threading.current_thread().name))
    for e in range(5):
        rec.record(model, e, loss=1.0 / (e + 1))
        with torch.no_grad():
            model[0].weight.mul_(1.5)
    deadline = time.monotonic() + 30
    while rec.pending and time.monotonic() < deadline:  # not rec.wait(): the caller would evaluate frames itself
        time.sleep(0.01)
    assert set(threads) == {"nbviz-probmap"}  # pushed from the worker, while the caller went on
    assert [c["start"] for c, _ in sent] == list(range(5)) and all(c["count"] == 1 for c, _ in sent)
    for k, (_, buffers) in enumerate(sent):
        np.testing.assert_array_equal(np.frombuffer(buffers[0], np.uint8).reshape(16, 16, 3), rec.frames[k])
    assert p.n_frames == 5 and p.epochs == list(range(5)) and p.epoch == 4
    np.testing.assert_allclose(p._lines.y, [1.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5])  # one line: bqplot squeezes


def test_a_failed_background_recording_shows_in_the_player_and_exports_wait(tmp_path):
    import torch

    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2)).astype("float32")
    model = torch.nn.Linear(2, 3)
    rec = nbviz.ProbMapRecorder(X, resolution=12)
    p = nbviz.ProbMapPlayer(rec, interpolation=1)
    for e in range(3):
        rec.record(model, e)
    # An epoch still queued is waited for, not refused; exports hold every frame.
    p.epoch = 2
    gif = Image.open(p.save(tmp_path / "x.gif"))
    assert gif.n_frames == len(timeline([0, 1, 2], 1)) == 5
    with torch.no_grad():
        model.bias.fill_(float("nan"))
    rec.record(model, 3)
    with pytest.raises(ValueError, match="epoch 3 holds NaN"):
        rec.wait()
    assert "recording failed: ValueError: model output at epoch 3 holds NaN" in p.error


# -- compare mode ------------------------------------------------------------------------------------------
def two_runs(resolution=24, epochs_b=(0, 4, 7), **kwargs_b):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X @ W).argmax(1)
    a = nbviz.ProbMapRecorder(X, y, resolution=24)
    b = nbviz.ProbMapRecorder(X, y, resolution=resolution, **kwargs_b)
    for e in (0, 2, 7):
        a.record(model_at(e), e, loss=1.0 / (e + 1))
    for e in epochs_b:
        b.record(lambda x, e=e: -(x @ W) * (1 + e), e, loss=2.0 / (e + 1), acc=e / 10)
    return a, b


def test_compare_mode_state_messages_and_chart():
    a, b = two_runs()
    p = nbviz.ProbMapPlayer({"seed 0": a, "seed 1": b}, interpolation=2)
    assert p.run_names == ["seed 0", "seed 1"] and p.run_epochs == [[0, 2, 7], [0, 4, 7]]
    assert p.epochs == [0, 2, 4, 7] and p.epoch == 7 and p.n_frames == 6
    content, buffers = p._reply_frames({"run": 1, "start": 1})
    assert content == {"run": 1, "start": 1, "count": 2, "pred_dtype": "uint8", "map_chunks": 1}
    np.testing.assert_array_equal(np.frombuffer(buffers[0], np.uint8).reshape(24, 24, 3), b.frames[1])
    with pytest.raises(ValueError, match="'run' must be an index in 0..1, got 2"):
        p._reply_frames({"run": 2})
    # Live: a push names its run.
    sent = []
    p.send = lambda content, buffers=None: sent.append(content)
    b.record(model_at(9), 9, loss=0.1)
    assert sent == [{"type": "frames", "run": 1, "start": 3, "count": 1, "pred_dtype": "uint8", "map_chunks": 1}]
    assert p.epochs == [0, 2, 4, 7, 9] and p.epoch == 9
    # One line per recorder and metric; lines of different lengths padded with their last value.
    assert list(p._lines.labels) == ["seed 0: loss", "seed 1: acc", "seed 1: loss"]
    np.testing.assert_allclose(p._lines.x, [[0, 2, 7, 7], [0, 4, 7, 9], [0, 4, 7, 9]])
    np.testing.assert_allclose(p._lines.y[0], [1.0, 1 / 3, 1 / 8, 1 / 8])
    p._hits.selected = [2]  # a click on the chart over epoch 4 (the union's third)
    assert p.epoch == 4
    # A list names its panels.
    assert nbviz.ProbMapPlayer([a, b]).run_names == ["run 0", "run 1"]


def test_compare_mode_renders_each_recorder_at_the_shared_epoch(tmp_path):
    a, b = two_runs()
    p = nbviz.ProbMapPlayer({"a": a, "b": b}, interpolation=3)
    p.epoch = 4  # a shows between its epochs 2 and 7; b its recorded epoch 4
    png = np.asarray(Image.open(io.BytesIO(p.to_png(200))))
    assert png.shape == (200, 2 * 200 + 8, 4)
    left, right = png[:, :200], png[:, 208:]
    assert np.abs(left.astype(int) - right.astype(int)).max() > 100  # b predicts the opposite classes

    blended = interpolate(a.frames[1], a.frames[2], 0.4)
    np.testing.assert_array_equal(p.render_rgba(1, 0.4, run=0), colorize_probabilities(blended, "region", p._luts()))
    gif = Image.open(p.save(tmp_path / "cmp.gif", fps=20))
    assert gif.n_frames == len(timeline([0, 2, 4, 7], 3)) == 13
    grid = Image.open(p.save(tmp_path / "cmp.png", dpi=40, epochs=[0, 7]))
    one = Image.open(nbviz.ProbMapPlayer(a).save(tmp_path / "one.png", dpi=40, epochs=[0, 7]))
    assert grid.size[1] == 2 * one.size[1]  # a row per recorder
    page = p.save(tmp_path / "cmp.html").read_text()
    data = json.loads(re.search(r'id="nbviz-data">(.*?)</script>', page, re.S).group(1))
    replies = sorted(data["replies"]["frames"]["table"].values(), key=lambda r: r["content"]["run"])
    assert [r["content"]["run"] for r in replies] == [0, 1]  # one frames reply per recorder
    assert [r["content"]["count"] for r in replies] == [3, 3]


def test_compare_mode_needs_one_domain():
    a, b = two_runs(resolution=10)
    with pytest.raises(ValueError, match=r"rec\['b'\] does not share the domain of rec\['a'\]: grid 10 x 10, not 24"):
        nbviz.ProbMapPlayer({"a": a, "b": b})
    a, b = two_runs(xlim=(-1, 1))
    with pytest.raises(ValueError, match=r"rec\['run 1'\] does not share .*: xlim \(-1.0, 1.0\)"):
        nbviz.ProbMapPlayer([a, b])
    c = nbviz.ProbMapRecorder(np.zeros((3, 2)) + np.arange(3)[:, None], resolution=24)
    with pytest.raises(ValueError, match="other training points X; other labels y"):
        nbviz.ProbMapPlayer({"a": a, "c": c})
    a, b = two_runs()
    d = nbviz.ProbMapRecorder(a.X, a.y, resolution=24)
    d.record(lambda x: np.ones((len(x), 4)), 0)
    with pytest.raises(ValueError, match=r"rec\['d'\] outputs 4 classes and rec\['a'\] 3"):
        nbviz.ProbMapPlayer({"a": a, "d": d})
    with pytest.raises(TypeError, match=r"rec\['x'\] must be a nbviz.ProbMapRecorder, got str"):
        nbviz.ProbMapPlayer({"a": a, "x": "rec"})
    with pytest.raises(ValueError, match="rec must hold at least one"):
        nbviz.ProbMapPlayer([])
    # An empty recorder is shown waiting; exports say which recorder has no frames.
    e = nbviz.ProbMapRecorder(a.X, a.y, resolution=24)
    p = nbviz.ProbMapPlayer({"a": a, "e": e})
    assert p.run_epochs == [[0, 2, 7], []] and p._static_png()
    with pytest.raises(ValueError, match=r"rec\['e'\] has no frames yet"):
        p.to_png()
