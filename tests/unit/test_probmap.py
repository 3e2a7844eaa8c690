"""ProbMapRecorder and the probability-map helpers against direct computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nbviz.kernels.probmap import (
    ProbMapRecorder,
    class_luts,
    colorize,
    flip_mask,
    interpolate,
    quantize,
    timeline,
)

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
    assert np.abs(quantize(p) / 255.0 - p).max() <= 0.5 / 255 + 1e-12
    assert quantize(np.array([0.0, 1.0, 1.5, -0.1])).tolist() == [0, 255, 255, 0]


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
    a = quantize(rng.dirichlet(np.ones(4), size=(3, 5)))
    b = quantize(rng.dirichlet(np.ones(4), size=(3, 5)))
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
    region = colorize(p, "region", luts)
    assert region[0, 0].tolist() == [255, 0, 0, 255]  # certain class 0: its full colour
    assert region[0, 1].tolist() == [240, 240, 240, 255]  # a tie: the low end
    assert region[0, 2, 2] > region[0, 2, 0]  # class 1 (blue) wins
    ent = colorize(p, "entropy", luts)
    assert ent[0, 0, 0] == 0 and ent[0, 1, 0] == 255
    cls = colorize(p, "class", luts, target=1)
    assert cls[0, :, 0].tolist() == [0, 128, 204]
    bnd = colorize(p, "boundary", luts, boundary_line=False)
    assert bnd[0, 1, :3].tolist() == [0, 0, 0] and bnd[0, 0, :3].tolist() == [255, 0, 0]
    with_line = colorize(p, "boundary", luts, line_rgba=(9, 9, 9, 255))
    assert with_line[0, 1].tolist() == [9, 9, 9, 255]  # argmax changes between cells 1 and 2
    with pytest.raises(ValueError, match="mode must be one of"):
        colorize(p, "contour", luts)


def test_flip_mask():
    a = np.array([[0, 0], [1, 1]])
    b = np.array([[0, 1], [1, 1]])
    assert flip_mask(b, a).tolist() == [[False, True], [False, False]]
    assert flip_mask(a).tolist() == [[True, True], [False, False]]


def test_lightning_callback_with_a_duck_typed_trainer(data):
    from types import SimpleNamespace

    from nbviz.integrations.lightning import ProbMapCallback

    X, y = data
    rec = ProbMapRecorder(X, y, resolution=6)
    cb = ProbMapCallback(rec, every_n_epochs=3)
    module = logistic_module()
    for epoch in range(8):
        trainer = SimpleNamespace(current_epoch=epoch, max_epochs=8, sanity_checking=False, is_global_zero=True,
                                  callback_metrics={"train_loss": torch.tensor(1.0 / (epoch + 1)), "name": "x"})
        cb.on_train_epoch_end(trainer, module)
    assert rec.epochs == [0, 3, 6, 7]  # every third, and the last one
    np.testing.assert_allclose(rec.metrics["train_loss"], [1.0, 0.25, 1 / 7, 1 / 8])
    assert "name" not in rec.metrics
    with pytest.raises(ValueError, match="every_n_epochs must be an int >= 1"):
        ProbMapCallback(rec, every_n_epochs=0)
    with pytest.raises(TypeError, match="rec must be a nbviz.ProbMapRecorder"):
        ProbMapCallback("rec")
