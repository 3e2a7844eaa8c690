"""One label coder for every widget (nbviz.data.encode_labels): numbers in numeric order, so that legend, colours
and the model's output columns agree in the recorder, Grad-CAM, Features, explorer colouring and components."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import nbviz
from nbviz.data import Features
from nbviz.kernels.component_stats import component_correlations
from nbviz.kernels.recorder import ProbMapRecorder
from nbviz.labels import encode_labels
from nbviz.widgets.gradcam_viewer import GradCamViewer

FLOATS = np.array([10.0, 2.0, 0.0, 2.0, 10.0, 7.0])


# -- the coder itself --------------------------------------------------------------------------------------------
def test_sorted_coding_is_numeric_for_numbers_and_text_for_strings():
    codes, names = encode_labels(FLOATS)
    assert names == ["0.0", "2.0", "7.0", "10.0"]  # not "0.0", "10.0", "2.0", "7.0" (string order)
    np.testing.assert_array_equal(codes, [3, 1, 0, 1, 3, 2])
    assert encode_labels([10, 2, 2])[1] == ["2", "10"]
    assert encode_labels(["b", "10", "2"])[1] == ["10", "2", "b"]  # text stays text
    assert encode_labels([True, False])[1] == ["False", "True"]
    assert encode_labels(np.array([0.1, 0.2], dtype=np.float32))[1] == ["0.1", "0.2"]
    assert encode_labels(torch.tensor([3, 1]))[1] == ["1", "3"]
    assert encode_labels([10, "a", 2])[1] == ["2", "10", "a"]  # mixed: numbers first, numerically


def test_missing_values_are_refused_with_their_rows_or_named():
    with pytest.raises(ValueError, match=re.escape("y has 2 missing values (None or NaN) at rows 1, 3")):
        encode_labels([1.0, np.nan, 2.0, None], "y")
    codes, names = encode_labels(pd.Series([10.0, np.nan, 2.0]), "col", missing="(missing)")
    assert names == ["2.0", "10.0", "(missing)"]
    np.testing.assert_array_equal(codes, [1, 2, 0])


def test_class_index_coding():
    codes, names = encode_labels(FLOATS, "y", indices=True)  # whole floats are class indices
    assert names is None
    np.testing.assert_array_equal(codes, [10, 2, 0, 2, 10, 7])
    codes, names = encode_labels(["b", 1, 2.0], "labels", ["a", "b", "c"])
    assert names == ["a", "b", "c"]
    np.testing.assert_array_equal(codes, [1, 1, 2])
    assert encode_labels(["b", "a"], "y", indices=True) == (pytest.approx([1, 0]), ["a", "b"])
    with pytest.raises(ValueError, match=re.escape("y must be whole numbers to be class indices (2.0 is class 2); "
                                                   "found 0.5 at row 1")):
        encode_labels([1.0, 0.5], "y", indices=True)
    with pytest.raises(ValueError, match="y must be class indices >= 0; found -1 at row 1"):
        encode_labels([0, -1], "y", indices=True)
    with pytest.raises(ValueError, match=re.escape("y must be integers in 0..1 to index classes (2 names); "
                                                   "found 3.0 at row 1")):
        encode_labels([0.0, 3.0], "y", ["a", "b"])
    with pytest.raises(ValueError, match=re.escape("y[0] = 'z' is neither a class index nor one of classes")):
        encode_labels(["z"], "y", ["a", "b"])
    with pytest.raises(ValueError, match=re.escape("y mixes class indices (1 at row 1) and class names ('a' at row "
                                                   "0)")):
        encode_labels(["a", 1], "y", indices=True)
    with pytest.raises(ValueError, match=re.escape("classes must be unique; classes[1] repeats 'a'")):
        encode_labels([0], "y", ["a", "a"])


# -- every widget through it -------------------------------------------------------------------------------------
def _one_hot_model(columns: int):
    """A model whose output column is the class of the point: x[:, 0] holds the class index."""
    return lambda x: np.eye(columns)[np.clip(np.rint(x[:, 0]), 0, columns - 1).astype(int)]


def test_recorder_float_labels_are_the_model_columns_in_numeric_order():
    X = np.stack([FLOATS, np.arange(len(FLOATS), dtype=float)], axis=1)
    rec = ProbMapRecorder(X, FLOATS, resolution=4, X_test=X[:3], y_test=FLOATS[:3].astype(np.float32))
    np.testing.assert_array_equal(rec.y, [10, 2, 0, 2, 10, 7])  # codes in numeric order: column k is class k
    np.testing.assert_array_equal(rec.y_test, [10, 2, 0])
    rec.record(_one_hot_model(11), 0)
    # A model right on every point: no point is marked as misclassified.
    np.testing.assert_array_equal(rec.point_preds[0], rec.y)
    np.testing.assert_array_equal(rec.test_preds[0], rec.y_test)
    p = nbviz.ProbMapPlayer(rec, chart=False)
    assert p.class_names == [str(k) for k in range(11)]  # legend entry k is column k
    np.testing.assert_array_equal(p.point_classes, rec.y)


def test_recorder_names_one_code_per_name_and_class_names_checked():
    X = np.random.default_rng(0).normal(size=(4, 2))
    rec = ProbMapRecorder(X, ["c", "a", "b", "a"], X_test=X[:2], y_test=["c", "c"], resolution=4)
    assert rec.class_names == ["a", "b", "c"]
    np.testing.assert_array_equal(rec.y, [2, 0, 1, 0])
    np.testing.assert_array_equal(rec.y_test, [2, 2])  # coded with y's names, not on its own ([0, 0])
    rec = ProbMapRecorder(X, ["b", "a", "b", "a"], class_names=["b", "a"], resolution=4)
    np.testing.assert_array_equal(rec.y, [0, 1, 0, 1])  # names are looked up in class_names
    with pytest.raises(ValueError, match=re.escape("y must be integers in 0..1 to index class_names (2 names); "
                                                   "found 2 at row 2")):
        ProbMapRecorder(X, [0, 1, 2, 0], class_names=["a", "b"])
    rec = ProbMapRecorder(X, [0, 1, 1, 0], class_names=["a", "b"], resolution=4)
    with pytest.raises(ValueError, match=re.escape("class_names (from class_names) has 2 names but the model "
                                                   "outputs 3 classes at epoch 0")):
        rec.record(lambda x: np.ones((len(x), 3)) / 3, 0)


def test_gradcam_float_labels_are_class_indices():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 4))
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    v = GradCamViewer(model, x, labels=torch.tensor([3.0, 1.0, 0.0, 2.0]), layer="0", classes=list("abcd"))
    assert v.label_codes.tolist() == [3, 1, 0, 2] and v.class_names == list("abcd")
    v = GradCamViewer(model, x, labels=["d", 1, 0.0, "c"], layer="0", classes=list("abcd"))
    assert v.label_codes.tolist() == [3, 1, 0, 2]
    with pytest.raises(ValueError, match="found 0.5 at row 2"):
        GradCamViewer(model, x, labels=[3.0, 1.0, 0.5, 2.0], layer="0")


def test_features_explorer_and_components_code_numbers_numerically():
    f = Features(np.zeros((6, 2)), labels=FLOATS)
    assert f.label_names == ["0.0", "2.0", "7.0", "10.0"]
    np.testing.assert_array_equal(f.label_codes, encode_labels(FLOATS)[0])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    meta = pd.DataFrame({"n": np.where(np.arange(30) % 2, 10, 2),
                         "f": np.where(np.arange(30) % 3, 10.0, np.nan)})
    ex = nbviz.EmbeddingExplorer(x, metadata=meta, method="pca")
    ex.color_by("n")
    assert ex.category_names == ["2", "10"]  # not ["10", "2"]
    np.testing.assert_array_equal(np.asarray(ex.category_names)[ex.categories], meta["n"].astype(str))
    ex.color_by("f")
    assert ex.category_names == ["10.0", "(missing)"]
    scores = np.stack([meta["n"].to_numpy(float), rng.normal(size=30)], axis=1)
    matrix, names, kinds = component_correlations(scores, meta["n"].to_numpy())
    assert names == ["2", "10"] and kinds == ["label", "label"]
    assert matrix[0, 0] == pytest.approx(-1.0) and matrix[0, 1] == pytest.approx(1.0)


@pytest.mark.parametrize("labels", [
    np.array([7, -3, 7, 0, -3], dtype=np.int8),
    np.array([2, 2, 9], dtype=np.uint8),
    np.array([0, 2**40, 5], dtype=np.int64),  # too wide a range to count: sorted instead
    np.random.default_rng(0).integers(-50, 50, 10_000).astype(np.int32),
])
def test_integer_labels_code_as_their_sorted_uniques(labels):
    from nbviz.labels import _sorted_codes

    codes, names = _sorted_codes(labels, "labels")
    uniques, inverse = np.unique(labels, return_inverse=True)
    np.testing.assert_array_equal(codes, inverse.reshape(-1))
    assert names == [str(v) for v in uniques]
