import base64
import io

import numpy as np
import pytest
import torch
import traitlets
from PIL import Image

import nbviz
from nbviz.widgets.arrays import array_from_json


@pytest.fixture
def digits():
    from sklearn.datasets import load_digits

    return load_digits()


def test_points_pass_through_and_labels_colour(digits):
    pts = np.random.default_rng(0).normal(size=(100, 2))
    labels = digits.target[:100]
    ex = nbviz.EmbeddingExplorer(pts, labels=labels)
    np.testing.assert_array_equal(ex.embedding, pts.astype("float32"))
    assert ex.categories.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(ex.category_names)[ex.categories], labels.astype(str))
    assert ex.palette.shape == (len(np.unique(labels)), 4)
    state = ex.get_state()
    assert isinstance(state["points"]["chunks"][0], memoryview)  # binary, never JSON numbers
    # 2 x uint16 a point within the bounds: at most half a step (span / 131068) from Python's positions.
    assert state["points"]["dtype"] == "uint16" and sum(len(c) for c in state["points"]["chunks"]) == 4 * 100
    span = np.ptp(pts, axis=0)
    error = np.abs(array_from_json(state["points"]) - pts.astype("float32"))
    assert (error <= span / 131068 * 1.01 + 1e-6).all(), error.max(axis=0)


def test_high_dimensional_features_are_projected_with_pca(digits):
    from sklearn.decomposition import PCA

    ex = nbviz.EmbeddingExplorer(nbviz.Features(digits.data, labels=digits.target), method="pca")
    ref = PCA(2).fit_transform(digits.data)
    # Same layout up to the sign of each axis.
    for j in range(2):
        assert abs(np.corrcoef(ex.embedding[:, j], ref[:, j])[0, 1]) > 0.999


def test_torch_input_and_bytes_per_point():
    x = torch.randn(1000, 2, requires_grad=True)
    ex = nbviz.EmbeddingExplorer(x, labels=torch.arange(1000) % 10)
    state = ex.get_state()
    sent = sum(len(c) for key in ("points", "categories") for c in state[key]["chunks"])
    assert sent / 1000 <= 9  # 8 bytes of float32 xy + 1 byte category


def test_focus_validated_from_python():
    ex = nbviz.EmbeddingExplorer(np.zeros((10, 2)) + np.arange(10)[:, None])
    ex.focus = 9
    expected = r"focus must be -1 \(none\) or a point index in 0..9, got 10"
    with pytest.raises(traitlets.TraitError, match=expected):
        ex.focus = 10
    assert ex.focus == 9


def test_browser_errors_reach_the_view_not_the_log():
    ex = nbviz.EmbeddingExplorer(np.arange(20, dtype=float).reshape(10, 2))

    def explode(change):
        raise RuntimeError("observer exploded")

    ex.observe(explode, "focus")
    ex.set_state({"focus": 3})  # as a browser click would
    assert "RuntimeError: observer exploded" in ex.error
    assert "Traceback" in ex.error_details
    assert ex.focus == -1  # the change whose observer failed is undone
    ex.unobserve(explode, "focus")
    ex.set_state({"focus": 3})
    ex.error = ""
    ex.set_state({"focus": 99})  # an out-of-range value from the browser is refused, visibly
    assert "focus must be" in ex.error and ex.focus == 3


def test_bad_input_errors():
    with pytest.raises(ValueError, match="labels has 3 entries but embeddings has 4 rows"):
        nbviz.EmbeddingExplorer(np.zeros((4, 2)), labels=[1, 2, 3])
    with pytest.raises(ValueError, match="NaN or inf"):
        nbviz.EmbeddingExplorer(np.array([[0, 0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="height must be an int of at least 50"):
        nbviz.EmbeddingExplorer(np.zeros((4, 2)), height=10)


def test_static_png_fallback_in_mimebundle():
    pts = np.array([[0, 0], [1, 1], [0, 1]], dtype=float)
    ex = nbviz.EmbeddingExplorer(pts, labels=["a", "b", "c"], point_size=8)
    data, _ = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGBA"))
    for rgba in np.asarray(ex.palette):
        assert (img == rgba).all(axis=-1).sum() > 5, f"colour {rgba} of a category is missing in the PNG"
