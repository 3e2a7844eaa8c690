"""TripletSpace without a browser: traits from the kernel, what the browser may set, errors, pictures."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import nbviz
from nbviz.kernels.triplets import KINDS, anchor_triplets, classify, triplet_counts, triplet_moves
from nbviz.widgets.triplet_space import TripletSpace, display_histogram, kind_colors


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 6)) * 1.5
    labels = rng.integers(0, 4, 160)
    x = (centers[labels] + rng.normal(size=(160, 6))).astype(np.float32)
    return x, labels


@pytest.fixture
def ts(data):
    w = TripletSpace(*data, margin=0.5)
    yield w
    w.close()


def test_counts_are_the_kernels_and_follow_the_margin(ts, data):
    x, labels = data
    assert ts.counts == triplet_counts(x, labels, 0.5).as_dict()
    assert all(type(v) is int for v in ts.counts.values())
    assert ts.sampling == {"n_anchors": 160, "n_items": 160, "sampled": False, "total": sum(ts.counts.values())}
    assert ts.sampling_text() == "counts over all 160 anchors"
    ts.margin = 1.25
    assert ts.counts == triplet_counts(x, labels, 1.25).as_dict()
    assert ts.triplet_counts.margin == 1.25
    # The browser sends the margin when its slider is released.
    ts.set_state({"margin": 0.0})
    assert ts.error == "" and ts.counts["semi_hard"] == 0
    assert ts.points.shape == (160, 2) and ts.points.dtype == np.float32
    assert ts.codes.tolist() == labels.tolist() and ts.classes == ["0", "1", "2", "3"]
    assert ts.kind_colors.tolist() == kind_colors().tolist() and ts.max_margin >= 2 * 0.5


def test_the_histogram_is_shares_of_the_differences(ts):
    h = ts.histogram
    assert h.total == ts.sampling["total"] and h.hard == ts.counts["hard"]
    assert ts.diff_hist.dtype == np.float32 and abs(float(ts.diff_hist.sum()) - 1) < 1e-4
    assert ts.diff_start == pytest.approx(h.start) and ts.diff_step == pytest.approx(h.step)
    edges, frac = display_histogram(h, ts.max_margin)
    assert edges[0] <= 0 and edges[-1] >= ts.max_margin and 0.98 <= frac.sum() <= 1 + 1e-9


def test_a_click_sends_the_anchor_and_its_distances(ts, data):
    x, labels = data
    assert ts.anchor == -1 and ts.anchor_pos is None
    ts.set_state({"anchor": 17})
    a = anchor_triplets(x, labels, 17)
    assert ts.anchor_pos.tolist() == a.positives.tolist() and ts.anchor_neg.tolist() == a.negatives.tolist()
    np.testing.assert_allclose(ts.anchor_neg_d, a.negative_distances, rtol=1e-6)
    assert ts.anchor_pos.dtype == np.uint32 and ts.anchor_pos_d.dtype == np.float32 and ts.anchor_pos_d0 is None
    assert ts.anchor_counts() == classify(a.positive_distances, a.negative_distances, 0.5)
    assert ts.anchor_counts(0.0) == triplet_counts(x, labels, 0.0, anchors=[17]).as_dict()
    ts.anchor = -1
    assert ts.anchor_neg is None


@pytest.mark.parametrize(("name", "value", "match"), [
    ("anchor", 160, "anchor"), ("anchor", -2, "anchor"), ("margin", -1.0, "margin"),
    ("margin", float("nan"), "margin"), ("max_margin", 0.0, "max_margin"), ("counts", {"easy": 1}, "read-only"),
])
def test_the_browser_cannot_set_bad_values(ts, name, value, match):
    before = getattr(ts, name)
    ts.set_state({name: value})
    assert match in ts.error and getattr(ts, name) == before
    ts.error = ""


def test_features_give_the_labels_and_sampling_is_stated(data):
    x, labels = data
    ts = TripletSpace(nbviz.Features(x, labels=labels), margin=0.3, max_anchors=40, seed=3, metric="cosine")
    assert ts.sampling["sampled"] and ts.sampling["n_anchors"] == 40
    assert ts.sampling_text() == "counts over 40 of 160 anchors, sampled"
    assert ts.counts == triplet_counts(x, labels, 0.3, "cosine", max_anchors=40, seed=3).as_dict()
    assert ts.metric == "cosine" and ts.moved is None and ts.moved_counts == []
    ts.close()


def test_before_and_after_give_the_moves(data):
    x, labels = data
    x0 = x + np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    ts = TripletSpace(x, labels, margin=0.5, before=x0, anchor=3)
    want = triplet_moves(x0, x, labels, 0.5)
    assert ts.moved == want.as_pairs() and ts.moved["hard", "easy"] == want.counts["hard"]["easy"]
    assert ts.moved_counts == [[want.counts[b][a] for a in KINDS] for b in KINDS]
    assert ts.has_before and ts.anchor_pos_d0.shape == ts.anchor_pos_d.shape
    a0 = anchor_triplets(x0, labels, 3)
    order = {int(i): d for i, d in zip(a0.negatives, a0.negative_distances, strict=True)}
    np.testing.assert_allclose(ts.anchor_neg_d0, [order[int(i)] for i in ts.anchor_neg], rtol=1e-5)
    ts.margin = 1.0
    assert ts.moved == triplet_moves(x0, x, labels, 1.0).as_pairs()
    ts.close()


def test_xy_is_drawn_as_given(data):
    x, labels = data
    xy = np.random.default_rng(2).normal(size=(160, 2))
    ts = TripletSpace(x, labels, xy=xy)
    np.testing.assert_allclose(ts.points, xy.astype(np.float32))
    ts.close()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"margin": -0.5}, ValueError, "margin"),
    ({"margin": "wide"}, TypeError, "margin"),
    ({"margin": float("inf")}, ValueError, "margin"),
    ({"metric": "l1"}, ValueError, "metric"),
    ({"labels": np.zeros(160)}, ValueError, "labels"),
    ({"labels": np.arange(159)}, ValueError, "labels"),
    ({"labels": None}, TypeError, "labels"),
    ({"anchors": [500]}, ValueError, "anchors"),
    ({"anchor": 160}, ValueError, "anchor"),
    ({"xy": np.zeros((160, 3))}, ValueError, "xy"),
    ({"before": np.zeros((10, 6))}, ValueError, "before"),
    ({"max_margin": -1.0}, ValueError, "max_margin"),
    ({"max_anchors": 0}, ValueError, "max_anchors"),
    ({"heigth": 300}, TypeError, "height"),
])
def test_bad_input_names_the_parameter(data, kwargs, error, match):
    x, labels = data
    kwargs = {"labels": labels, **kwargs}
    with pytest.raises(error, match=match):
        TripletSpace(x, **kwargs)


def test_bad_embeddings_name_the_parameter():
    with pytest.raises(ValueError, match="embeddings"):
        TripletSpace(np.ones((5,)), [0, 0, 1, 1, 1])
    with pytest.raises(TypeError, match="embeddings"):
        TripletSpace("features", [0, 1])


def test_png_shows_the_view(ts, tmp_path):
    png = ts.to_png()
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    colors = kind_colors()[:, :3].astype(int)
    # The histogram's bars are drawn in the three kinds' colours.
    for c in colors:
        assert (np.abs(img.astype(int) - c).max(axis=-1) <= 2).sum() > 50
    ts.anchor = 5
    with_anchor = ts.to_png(width=300)
    assert Image.open(io.BytesIO(with_anchor)).size[0] == 300
    assert ts.save(tmp_path / "ts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explorer_triplets_uses_its_features_positions_and_metric(data):
    x, labels = data
    ex = nbviz.EmbeddingExplorer(x, labels=labels, method="pca", metric="cosine")
    ts = ex.triplets(0.4, anchor=2)
    assert isinstance(ts, TripletSpace) and ts.margin == 0.4 and ts.metric == "cosine" and ts.anchor == 2
    np.testing.assert_array_equal(ts.points, ex.points)
    assert ts.counts == triplet_counts(x, labels, 0.4, "cosine").as_dict()
    assert nbviz.TripletSpace is TripletSpace and "TripletSpace" in nbviz.__all__
    ts.close()
    ex.close()
