"""ProbMapRecorder and the probability-map helpers against direct computation."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from nbviz.display import (
    class_luts,
    colorize_probabilities,
    flip_mask,
    frame_at,
    interpolate,
    quantize_probabilities,
    timeline,
)
from nbviz.kernels.recorder import ProbMapRecorder

W = np.array([[1.5, -2.0, 0.5], [0.3, 1.0, -1.2]])  # (2 features, 3 classes)
B = np.array([0.1, -0.4, 0.2])


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logistic_module() -> torch.nn.Module:
    lin = torch.nn.Linear(2, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W.T, dtype=torch.float32))
        lin.bias.copy_(torch.tensor(B, dtype=torch.float32))
    return lin


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    return X, rng.integers(0, 3, 60)


def hand_grid(xlim, ylim, n):
    xs = np.linspace(*xlim, n)
    ys = np.linspace(*ylim, n)[::-1]
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def test_frames_match_the_model_on_the_grid_within_uint8_rounding(data):
    X, y = data
    rec = ProbMapRecorder(X, y, resolution=17, xlim=(-3, 3), ylim=(-2, 4))
    assert rec.record(logistic_module(), 0, loss=1.0)
    expected = softmax(hand_grid((-3, 3), (-2, 4), 17) @ W + B).reshape(17, 17, 3)
    frame = rec.frames[0]
    assert frame.dtype == np.uint8 and frame.shape == (17, 17, 3)
    assert np.abs(frame / 255.0 - expected).max() <= 0.5 / 255 + 1e-6
    np.testing.assert_allclose(rec.probs(0), expected, atol=0.5 / 255 + 1e-6)
    # Row 0 is the top of the map (largest y), column 0 the left.
    assert rec.ys[0] == 4 and rec.xs[0] == -3
    # Predicted classes of the training points are the model's argmax at the points themselves.
    np.testing.assert_array_equal(rec.point_preds[0], softmax(X @ W + B).argmax(axis=1))


def test_sklearn_and_callables_and_logits_vs_probs(data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    clf = LogisticRegression().fit(X, y)
    rec = ProbMapRecorder(X, y, resolution=9)
    rec.record(clf, 0)
    np.testing.assert_allclose(rec.probs(0).reshape(-1, 3), clf.predict_proba(rec.grid), atol=0.5 / 255 + 1e-6)
    # The same logits through a callable: output="auto" recognises logits and applies the softmax.
    rec2 = ProbMapRecorder(X, y, resolution=9)
    rec2.record(lambda x: x @ W + B, 0)
    np.testing.assert_allclose(rec2.probs(0).reshape(-1, 3), softmax(rec2.grid @ W + B), atol=0.5 / 255 + 1e-6)
    # A single column is the probability of class 1.
    rec3 = ProbMapRecorder(X, resolution=5, output="probs")
    rec3.record(lambda x: 1 / (1 + np.exp(-x[:, 0])), 0)
    np.testing.assert_allclose(rec3.probs(0)[..., 1].ravel(), 1 / (1 + np.exp(-rec3.grid[:, 0])), atol=0.002)
    # Tensors (returned by a callable) work too.
    rec4 = ProbMapRecorder(X, resolution=5)
    rec4.record(lambda x: torch.softmax(torch.from_numpy(x) @ torch.tensor(W, dtype=torch.float32), 1), 0)
    assert rec4.n_classes == 3


def test_quantisation_error_bound():
    p = np.random.default_rng(1).dirichlet(np.ones(5), size=1000)
    assert np.abs(quantize_probabilities(p) / 255.0 - p).max() <= 0.5 / 255 + 1e-12
    assert quantize_probabilities(np.array([0.0, 1.0, 1.5, -0.1])).tolist() == [0, 255, 255, 0]


def test_model_mode_parameters_and_grads_unchanged(data):
    X, y = data
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    model.train()
    model(torch.randn(4, 2)).sum().backward()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    rec = ProbMapRecorder(X, y, resolution=8)
    rec.record(model, 0)
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    for p, g in zip(model.parameters(), grads, strict=True):
        assert p.requires_grad and torch.equal(p.grad, g)
    # Eval mode was used: dropout off, so two recordings are identical.
    rec.record(model, 1)
    np.testing.assert_array_equal(rec.frames[0], rec.frames[1])
    # A model already in eval mode stays in eval mode, also when it raises.
    model.eval()

    def boom(x):
        raise RuntimeError("bad forward")

    model[0].register_forward_hook(lambda *a: boom(None))
    with pytest.raises(RuntimeError, match="bad forward"):
        rec.record(model, 2)
    assert not model.training
    model.train()
    with pytest.raises(RuntimeError, match="bad forward"):
        rec.record(model, 3)
    assert model.training
    assert len(rec) == 2 and rec.epochs == [0, 1]


def test_every_keeps_true_epoch_numbers_and_all_metrics(data):
    X, y = data
    rec = ProbMapRecorder(X, y, resolution=4, every=3)
    taken = [rec.record(lambda x: x @ W + B, e, loss=1.0 / (e + 1)) for e in range(10)]
    assert taken == [e % 3 == 0 for e in range(10)]
    assert rec.epochs == [0, 3, 6, 9]
    assert rec.metric_epochs == list(range(10))
    np.testing.assert_allclose(rec.metrics["loss"], [1.0 / (e + 1) for e in range(10)])
    assert rec.record(lambda x: x @ W + B, 10, force=True) and rec.epochs[-1] == 10
    # Default epoch numbers count the calls.
    rec2 = ProbMapRecorder(X, resolution=4, every=2)
    for _ in range(5):
        rec2.record(lambda x: x @ W + B)
    assert rec2.epochs == [0, 2, 4]
    # A metric that appears later is NaN before.
    rec2.record(lambda x: x @ W + B, acc=0.5)
    assert np.isnan(rec2.metrics["acc"][:5]).all() and rec2.metrics["acc"][5] == 0.5


def test_memory_is_c_bytes_per_cell_per_frame(data):
    X, y = data
    rec = ProbMapRecorder(X, y, resolution=50)
    for e in range(4):
        rec.record(lambda x: x @ W + B, e)
    assert rec.nbytes == 4 * 50 * 50 * 3


def test_step_sets_the_grid(data):
    X, _ = data
    rec = ProbMapRecorder(X, step=0.5, xlim=(0, 4), ylim=(-1, 1))
    np.testing.assert_allclose(rec.xs, np.arange(0, 4.01, 0.5))
    np.testing.assert_allclose(rec.ys, [1.0, 0.5, 0.0, -0.5, -1.0])
    assert rec.shape == (5, 9)
    # padding widens the data extent on each side.
    rec2 = ProbMapRecorder(np.array([[0.0, 0.0], [10.0, 20.0]]), padding=0.1, resolution=3)
    assert rec2.xlim == (-1.0, 11.0) and rec2.ylim == (-2.0, 22.0)


def test_pca_plane_maps_grid_back_to_input_space():
    rng = np.random.default_rng(3)
    # 5-D data that lies in a 2-D plane: the PCA plane is that plane, so projecting and mapping back is exact.
    basis = np.linalg.qr(rng.normal(size=(5, 2)))[0].T
    X = (rng.normal(size=(100, 2)) * [[3.0, 1.0]]) @ basis + 7.0
    w5 = rng.normal(size=(5, 3))
    rec = ProbMapRecorder(X, resolution=6, plane="pca")
    rec.record(lambda x: x @ w5, 0)
    inputs = rec.grid_inputs
    assert inputs.shape == (36, 5)
    np.testing.assert_allclose(rec.plane.project(inputs.astype(np.float64)), rec.grid, atol=1e-4)
    np.testing.assert_allclose(rec.plane.to_input(rec.points), X, atol=1e-9)
    np.testing.assert_allclose(rec.probs(0).reshape(-1, 3), softmax(inputs @ w5), atol=0.5 / 255 + 1e-5)


def test_feature_pair_plane_holds_the_others_fixed():
    X = np.random.default_rng(4).normal(size=(30, 4))
    rec = ProbMapRecorder(X, resolution=4, plane=(2, 0), fixed=[1.0, 2.0, 3.0, 4.0])
    g = rec.grid_inputs
    np.testing.assert_allclose(g[:, [2, 0]], rec.grid)
    assert (g[:, 1] == 2.0).all() and (g[:, 3] == 4.0).all()
    np.testing.assert_allclose(rec.points, X[:, [2, 0]])


def test_three_sample_plane_passes_through_the_samples():
    X = np.random.default_rng(5).normal(size=(20, 6))
    rec = ProbMapRecorder(X, resolution=4, plane=(1, 4, 9))
    for i in (1, 4, 9):
        np.testing.assert_allclose(rec.plane.to_input(rec.points[i : i + 1])[0], X[i], atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resolution": 1}, "resolution must be an int >= 2"),
        ({"step": -1.0}, "step must be a number > 0"),
        ({"every": 0}, "every must be an int >= 1"),
        ({"output": "scores"}, "output must be one of"),
        ({"xlim": (1, 1)}, "xlim = \\(1, 1\\) has zero or negative extent"),
        ({"resolution": 40000}, "over max_bytes"),
        ({"padding": -1}, "padding must be a number >= 0"),
    ],
)
def test_bad_arguments_name_the_parameter(data, kwargs, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        ProbMapRecorder(X, y, **kwargs)


def test_bad_domains_and_planes():
    with pytest.raises(ValueError, match="ylim = .* zero or negative extent"):
        ProbMapRecorder(np.array([[0.0, 1.0], [1.0, 1.0]]), padding=0.1)
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="D = 3 features: pass plane="):
        ProbMapRecorder(X)
    X[2] = 2 * X[1] - X[0]
    with pytest.raises(ValueError, match="collinear"):
        ProbMapRecorder(X, plane=(0, 1, 2))
    with pytest.raises(ValueError, match="two different features"):
        ProbMapRecorder(X, plane=(1, 1))
    with pytest.raises(ValueError, match="y must have shape \\(10,\\)"):
        ProbMapRecorder(X, y=np.zeros(3), plane="pca")


def test_bad_model_output_names_the_epoch(data):
    X, y = data
    rec = ProbMapRecorder(X, y, resolution=5)
    rec.record(lambda x: x @ W + B, 0)
    with pytest.raises(ValueError, match="epoch 1 has shape \\(85, 3, 1\\); expected \\(85, C\\)"):
        rec.record(lambda x: (x @ W + B)[..., None], 1)
    with pytest.raises(ValueError, match="epoch 2 holds NaN"):
        rec.record(lambda x: np.full((len(x), 3), np.nan), 2)
    with pytest.raises(ValueError, match="epoch 3 has 4 classes; earlier frames had 3"):
        rec.record(lambda x: np.ones((len(x), 4)), 3)
    with pytest.raises(ValueError, match="epoch 0 is not after the last recorded epoch 0"):
        rec.record(lambda x: x @ W + B, 0)
    assert len(rec) == 1 and rec.metric_epochs == [0]
    probs_rec = ProbMapRecorder(X, y, resolution=5, output="probs")
    with pytest.raises(ValueError, match="epoch 7 is not probabilities .* output='probs'"):
        probs_rec.record(lambda x: np.full((len(x), 3), 0.5), 7)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        probs_rec.record(42, 8)
    with pytest.raises(ValueError, match="y holds class 2 but the model outputs only 2 classes"):
        ProbMapRecorder(X, y, resolution=5).record(lambda x: x[:, :2], 0)


def test_memory_budget_says_how_much(data):
    X, y = data
    rec = ProbMapRecorder(X, y, resolution=10, max_bytes=10 * 10 * 3 * 2)
    rec.record(lambda x: x @ W + B, 0)
    rec.record(lambda x: x @ W + B, 1)
    with pytest.raises(MemoryError, match="epoch 2 would take the frames to 0.0 MiB .* max_bytes"):
        rec.record(lambda x: x @ W + B, 2)


def test_interpolation_against_expected_blend():
    rng = np.random.default_rng(2)
    a = quantize_probabilities(rng.dirichlet(np.ones(4), size=(3, 5)))
    b = quantize_probabilities(rng.dirichlet(np.ones(4), size=(3, 5)))
    np.testing.assert_allclose(interpolate(a, b, 0.25), (0.75 * a + 0.25 * b) / 255, rtol=1e-6)
    np.testing.assert_allclose(interpolate(a, b, 0.0), a / 255, rtol=1e-6)
    g = interpolate(a, b, 0.5, "geometric")
    ref = np.sqrt((a + 0.5) * (b + 0.5))
    np.testing.assert_allclose(g, ref / ref.sum(-1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(g.sum(-1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="interpolation_type must be one of"):
        interpolate(a, b, 0.5, "cubic")


def test_timeline_never_duplicates_recorded_frames_and_keeps_uneven_epochs():
    steps = timeline([0, 10, 40], 2)
    assert [(i, round(f, 3)) for i, f, _ in steps] == [(0, 0), (0, 0.333), (0, 0.667), (1, 0), (1, 0.333),
                                                       (1, 0.667), (2, 0)]
    np.testing.assert_allclose([e for *_, e in steps], [0, 10 / 3, 20 / 3, 10, 20, 30, 40])
    assert len(timeline([5], 4)) == 1 and timeline([], 3) == []
    with pytest.raises(ValueError, match="interpolation must be an int >= 0"):
        timeline([0, 1], -1)


def test_colour_modes_use_fixed_scales():
    palette = np.array([[255, 0, 0, 255], [0, 0, 255, 255]], dtype=np.uint8)
    luts = {
        "region": class_luts(palette, (240, 240, 240)),
        "boundary": class_luts(palette, (0, 0, 0)),
        "class": np.stack([np.arange(256)] * 3 + [np.full(256, 255)], 1).astype(np.uint8),
        "entropy": np.stack([np.arange(256)] * 3 + [np.full(256, 255)], 1).astype(np.uint8),
    }
    p = np.array([[[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]]])
    region = colorize_probabilities(p, "region", luts)
    assert region[0, 0].tolist() == [255, 0, 0, 255]  # certain class 0: its full colour
    assert region[0, 1].tolist() == [240, 240, 240, 255]  # a tie: the low end
    assert region[0, 2, 2] > region[0, 2, 0]  # class 1 (blue) wins
    ent = colorize_probabilities(p, "entropy", luts)
    assert ent[0, 0, 0] == 0 and ent[0, 1, 0] == 255
    cls = colorize_probabilities(p, "class", luts, target=1)
    assert cls[0, :, 0].tolist() == [0, 128, 204]
    bnd = colorize_probabilities(p, "boundary", luts, boundary_line=False)
    assert bnd[0, 1, :3].tolist() == [0, 0, 0] and bnd[0, 0, :3].tolist() == [255, 0, 0]
    with_line = colorize_probabilities(p, "boundary", luts, line_rgba=(9, 9, 9, 255))
    assert with_line[0, 1].tolist() == [9, 9, 9, 255]  # argmax changes between cells 1 and 2
    with pytest.raises(ValueError, match="mode must be one of"):
        colorize_probabilities(p, "contour", luts)


def test_flip_mask():
    a = np.array([[0, 0], [1, 1]])
    b = np.array([[0, 1], [1, 1]])
    assert flip_mask(b, a).tolist() == [[False, True], [False, False]]
    assert flip_mask(a).tolist() == [[True, True], [False, False]]


def test_lightning_callback_with_a_duck_typed_trainer(data, gate):
    from types import SimpleNamespace

    from nbviz.integrations.lightning import ProbMapCallback

    X, y = data
    rec = ProbMapRecorder(X, y, resolution=6)
    cb = ProbMapCallback(rec, every_n_epochs=3)
    module = Gated()
    gate.clear()  # the background evaluations wait until after the last epoch
    threading.Timer(0.3, gate.set).start()
    for epoch in range(8):
        trainer = SimpleNamespace(current_epoch=epoch, max_epochs=8, sanity_checking=False, is_global_zero=True,
                                  callback_metrics={"train_loss": torch.tensor(1.0 / (epoch + 1)), "name": "x"})
        cb.on_train_epoch_end(trainer, module)
    assert rec.pending == 4
    cb.on_train_end(trainer, module)  # frames still evaluated in the background are stored when fit() returns
    assert rec.pending == 0 and rec.stored().epochs == [0, 3, 6, 7]  # every third, and the last one
    np.testing.assert_allclose(rec.metrics["train_loss"], [1.0, 0.25, 1 / 7, 1 / 8])
    assert "name" not in rec.metrics
    with pytest.raises(ValueError, match="every_n_epochs must be an int >= 1"):
        ProbMapCallback(rec, every_n_epochs=0)
    with pytest.raises(TypeError, match="rec must be a nbviz.ProbMapRecorder"):
        ProbMapCallback("rec")


# -- background recording --------------------------------------------------------------------------------------
GATE = threading.Event()  # module level, so deep copies of a Gated module share them
ENTERED = threading.Event()  # set when a forward starts waiting for GATE


class Gated(torch.nn.Module):
    """An MLP whose forward waits for GATE and notes the thread it ran on; a `poison` buffer makes it output NaN."""

    threads: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        self.register_buffer("poison", torch.zeros(()))

    def forward(self, x):
        ENTERED.set()
        assert GATE.wait(10), "test gate never opened"
        Gated.threads.append(threading.current_thread().name)
        return self.net(x) + self.poison


@pytest.fixture
def gate():
    GATE.set()
    ENTERED.clear()
    Gated.threads = []
    yield GATE
    GATE.set()


def train_step(model, X, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(torch.as_tensor(X, dtype=torch.float32)), torch.as_tensor(y)).backward()
    opt.step()


def test_background_frames_are_those_of_synchronous_recording(data, gate):
    X, y = data
    recs = {bg: ProbMapRecorder(X, y, resolution=20, background=bg, X_test=X[:7]) for bg in (True, False)}
    for rec in recs.values():
        model = Gated()
        for e in range(6):
            rec.record(model, e, loss=float(e))
            train_step(model, X, y)  # changes the parameters right after record returned
    for rec in recs.values():
        rec.wait()
    fast, slow = recs[True], recs[False]
    assert len(fast) == len(slow) == 6 and fast.epochs == slow.epochs == list(range(6))
    assert not np.array_equal(fast.frames[0], fast.frames[5])  # training moved the map
    for a, b in zip(fast.frames + fast.point_preds + fast.test_preds, slow.frames + slow.point_preds + slow.test_preds,
                    strict=True):
        np.testing.assert_array_equal(a, b)
    assert fast.metrics == slow.metrics and fast.metric_epochs == slow.metric_epochs


def test_background_record_returns_at_once_and_reads_wait(data, gate):
    X, y = data
    rec = ProbMapRecorder(X, y, resolution=12, every=2)
    model = Gated()
    seen = []
    rec.add_listener(lambda r: seen.append((threading.current_thread().name, len(r.stored().frames))))
    gate.clear()
    assert rec.record(model, 0, loss=1.0) and rec.record(model, 2) and not rec.record(model, 3)
    assert rec.pending == 2 and rec.stored().frames == [] and rec.stored().metric_epochs == []
    assert ENTERED.wait(5)  # the worker is inside the first evaluation
    with pytest.raises(TimeoutError, match="2 frames still queued after 0.05 s"):
        rec.wait(0.05)
    threading.Timer(0.2, gate.set).start()
    assert len(rec) == 2  # blocks until both are stored
    assert rec.pending == 0 and rec.metric_epochs == [0, 2, 3] and rec.epochs == [0, 2]
    # The worker took the first; the waiting caller evaluated the rest itself, at its own priority, in order.
    main = threading.current_thread().name
    assert Gated.threads == ["nbviz-probmap", main] and seen == [("nbviz-probmap", 1), (main, 2)]
    # An epoch still queued counts for the order of epochs.
    gate.clear()
    rec.record(model, 4)
    with pytest.raises(ValueError, match="epoch 4 is not after the last recorded epoch 4"):
        rec.record(model, 4)
    gate.set()
    assert rec.wait() is rec and rec.epochs == [0, 2, 4]


def test_background_failure_is_raised_by_the_next_record_or_wait(data, gate):
    X, y = data
    rec = ProbMapRecorder(X, y, resolution=8)
    model = Gated()
    rec.record(model, 0, loss=1.0)
    rec.record(model, 1, loss=0.5)
    model.poison.fill_(float("nan"))
    gate.clear()
    rec.record(model, 2, loss=0.4)  # queued: the NaN is found later, on the worker
    model.poison.fill_(0.0)
    rec.record(model, 3, loss=0.3)
    gate.set()
    with pytest.raises(ValueError, match="model output at epoch 2 holds NaN") as info:
        rec.wait()
    assert "background recording of epoch 2" in " ".join(info.value.__notes__)
    # Epoch 2 and what was queued after it are dropped, as a synchronous failure stops the loop there.
    assert rec.epochs == [0, 1] and rec.metric_epochs == [0, 1] and rec.metrics["loss"] == [1.0, 0.5]
    rec.wait()  # raised once
    rec.record(model, 2)  # and recording goes on from the last stored epoch
    # Raised by the next record() once the worker has failed.
    model.poison.fill_(float("inf"))
    rec.record(model, 5)
    deadline = time.monotonic() + 10
    while not rec.stored().error and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "epoch 5 holds NaN or infinite" in rec.stored().error
    with pytest.raises(ValueError, match="epoch 5 holds NaN"):
        rec.record(model, 6)
    assert rec.epochs == [0, 1, 2]


def test_background_back_pressure_bounds_the_queued_snapshots(data, gate):
    X, y = data
    model = Gated()
    per = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    rec = ProbMapRecorder(X, y, resolution=8, queue_bytes=int(2.5 * per))
    gate.clear()
    rec.record(model, 0)
    rec.record(model, 1)
    third = threading.Thread(target=rec.record, args=(model, 2))
    third.start()
    third.join(0.3)
    assert third.is_alive()  # a third snapshot would pass queue_bytes: record waits for the worker
    assert rec._queued_bytes == 2 * per <= rec.queue_bytes
    gate.set()
    third.join(10)
    assert not third.is_alive() and rec.epochs == [0, 1, 2]
    # A snapshot larger than the cap is evaluated in place, on the caller's thread.
    small = ProbMapRecorder(X, y, resolution=8, queue_bytes=per - 1)
    Gated.threads.clear()
    small.record(model, 0)
    assert Gated.threads == [threading.current_thread().name] and small.stored().epochs == [0]


class GatedLogisticRegression(LogisticRegression):
    def predict_proba(self, X):  # noqa: N803 - scikit-learn's name
        ENTERED.set()
        assert GATE.wait(10), "test gate never opened"
        return super().predict_proba(X)


def test_background_only_where_a_snapshot_is_safe(data, gate):
    X, y = data
    main = threading.current_thread().name
    # Plain callables and hooked modules run in place; so does everything with background=False.
    names = []
    ProbMapRecorder(X, y, resolution=6).record(lambda x: names.append(threading.current_thread().name) or x @ W + B, 0)
    hooked = Gated()
    hooked.net.register_forward_hook(lambda *a: names.append(threading.current_thread().name))
    ProbMapRecorder(X, y, resolution=6).record(hooked, 0)
    Gated.threads.clear()
    ProbMapRecorder(X, y, resolution=6, background=False).record(Gated(), 0)
    uncopyable = Gated()
    uncopyable.lock = threading.Lock()  # deepcopy fails: evaluated in place, at every call
    rec = ProbMapRecorder(X, y, resolution=6)
    rec.record(uncopyable, 0)
    rec.record(uncopyable, 1)
    assert names == [main, main] and Gated.threads == [main] * 3 and rec._replica is None
    # scikit-learn estimators are pickled, so a later fit does not change the recorded frame.
    clf = GatedLogisticRegression().fit(X, y)
    expected = ProbMapRecorder(X, y, resolution=6, background=False)
    expected.record(clf, 0)
    rec = ProbMapRecorder(X, y, resolution=6)
    threads = []
    rec.add_listener(lambda r: threads.append(threading.current_thread().name))
    gate.clear()
    ENTERED.clear()
    rec.record(clf, 0)
    clf.fit(X[:30], (y[:30] + 1) % 3)
    assert ENTERED.wait(5) and rec.stored().frames == []  # evaluated later, by the worker
    gate.set()
    rec.wait()
    assert threads == ["nbviz-probmap"]
    np.testing.assert_array_equal(rec.frames[0], expected.frames[0])
    with pytest.raises(TypeError, match="background must be True or False"):
        ProbMapRecorder(X, background="yes")
    with pytest.raises(ValueError, match="queue_bytes must be an int >= 1"):
        ProbMapRecorder(X, queue_bytes=0)


def test_frame_at_places_a_recorder_on_a_shared_slider():
    assert frame_at([0, 4, 8], 3) == (0, 0.75)
    assert frame_at([0, 2, 8], 3) == (1, pytest.approx(1 / 6))
    assert frame_at([0, 4, 8], 4) == (1, 0.0) and frame_at([0, 4, 8], 99) == (2, 0.0)
    assert frame_at([5, 9], 1) == (0, 0.0)
    for i, f, e in timeline([0, 3, 9], 3):  # alone, a recorder gets the single-mode steps back
        assert frame_at([0, 3, 9], e) == (i, pytest.approx(f, abs=1e-12))


def test_worker_keeps_to_its_share_while_a_fast_loop_records(data):
    from nbviz.kernels import recorder_worker as probmap

    X, y = data
    rec = ProbMapRecorder(X, y, resolution=4)
    rec._queue.append(None)  # a job waits
    busy = 0.01
    # A record call just now: after a job of 10 ms the worker rests until it has used WORKER_SHARE of the time.
    rec._last_call = time.monotonic()
    t0 = time.monotonic()
    rec._rest(t0 - busy, t0)
    assert time.monotonic() - t0 >= busy * (1 / probmap.WORKER_SHARE - 1) * 0.95
    # No call for WORKER_IDLE_S (the loop ended, or epochs are slow): no rest.
    rec._last_call = time.monotonic() - probmap.WORKER_IDLE_S
    t0 = time.monotonic()
    rec._rest(t0 - busy, t0)
    assert time.monotonic() - t0 < 0.05
    # A caller evaluating the queue itself (wait, back-pressure) ends the rest too.
    rec._last_call, rec._helpers = time.monotonic(), 1
    t0 = time.monotonic()
    rec._rest(t0 - 1.0, t0)
    assert time.monotonic() - t0 < 0.05
