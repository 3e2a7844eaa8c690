"""Where the explorer's points come from: a layout computed elsewhere (xy=), and aligned layouts for several sets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nbviz
from nbviz import Features


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data[:150].astype("float32"), d.target[:150]


def test_a_given_layout_is_drawn_as_is_while_neighbours_use_the_nd_features(digits):
    x, y = digits
    xy = np.random.default_rng(0).normal(size=(len(x), 2))
    ex = nbviz.EmbeddingExplorer(x, labels=y, xy=xy)
    np.testing.assert_array_equal(ex.embedding, xy.astype(np.float32))
    assert ex.progress == -1.0 and ex._worker is None  # nothing projected
    idx, dist = ex.neighbors(4, 5)
    d = np.linalg.norm(x.astype(np.float64) - x[4], axis=1)
    d[4] = np.inf
    np.testing.assert_array_equal(idx, np.lexsort((np.arange(len(x)), d))[:5])
    assert ex.components(3).n == 3  # principal components of the 64-D features, not of xy
    ex.close()


def test_a_given_layout_per_set(digits):
    x, y = digits
    a, b = np.zeros((len(x), 2)), np.ones((len(x), 2))
    ex = nbviz.EmbeddingExplorer({"raw": x, "squared": x ** 2}, labels=y, xy={"raw": a, "squared": b})
    assert ex.layout_names == ["raw", "squared"]
    ex.layout_index = 1
    np.testing.assert_array_equal(ex.embedding, b)
    ex.close()


@pytest.mark.parametrize(("xy", "kwargs", "message"), [
    (np.zeros((150, 3)), {}, r"xy must be an \(N, 2\) array of numbers with N = 150; got shape \(150, 3\)"),
    (np.zeros((149, 2)), {}, r"xy must be an \(N, 2\) array .* got shape \(149, 2\)"),
    (np.full((150, 2), np.nan), {}, "xy has NaN or inf positions"),
    (np.zeros((150, 2)), {"method": "umap"}, "method must be left at 'auto'; got method='umap'"),
])
def test_bad_layouts_are_refused_naming_xy(digits, xy, kwargs, message):
    x, _ = digits
    with pytest.raises(ValueError, match=message):
        nbviz.EmbeddingExplorer(x, xy=xy, **kwargs)


def test_several_sets_of_the_same_items_are_aligned_by_default(digits):
    x, y = digits
    ex = nbviz.EmbeddingExplorer({"early": x, "late": np.sqrt(x)}, labels=y, background=False,
                                 method_kwargs={"n_neighbors": 10, "n_epochs": 30})
    assert ex._method == "aligned_umap" and len(ex.layouts) == 2
    assert all(layout.shape == (150, 2) for layout in ex.layouts)
    ex.close()
    single = nbviz.EmbeddingExplorer(x, method_kwargs={"n_neighbors": 10}, background=False)
    assert single._method == "umap"
    single.close()
    pca = nbviz.EmbeddingExplorer({"early": x, "late": np.sqrt(x)}, method="pca")
    assert pca._method == "pca" and len(pca.layouts) == 2
    pca.close()


def test_sets_that_are_not_the_same_items_are_refused_naming_the_sets(digits):
    x, y = digits
    with pytest.raises(ValueError, match="'a' has 150 and 'b' has 149"):
        nbviz.EmbeddingExplorer({"a": x, "b": x[:149]})
    with pytest.raises(ValueError, match=r"feature sets 'a' and 'b' have different labels \(first at row 0\)"):
        nbviz.EmbeddingExplorer({"a": Features(x, labels=y), "b": Features(x[::-1].copy(), labels=y[::-1])})
