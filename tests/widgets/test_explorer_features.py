"""EmbeddingExplorer's Python side for projections, colour, neighbours, labelling and export (no browser)."""

import io
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.datasets import load_digits

import nbviz


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data.astype("float32"), d.target, (d.images * 16).astype("uint8")


class Replies:
    """Captures what the widget sends back to the browser."""

    def __init__(self, widget):
        self.sent = []
        widget.send = lambda content, buffers=None: self.sent.append((content, buffers or []))

    def ask(self, widget, **content):
        widget._handle_custom_msg(content, [])
        return self.sent[-1]


def brute_force(x, i, k):
    d = np.linalg.norm(x - x[i], axis=1)
    d[i] = np.inf
    order = np.lexsort((np.arange(len(x)), d))[:k]
    return order, d[order]


def test_pca_layout_matches_sklearn(digits):
    from sklearn.decomposition import PCA

    x, y, _ = digits
    ex = nbviz.EmbeddingExplorer(x, labels=y, method="pca")
    ref = PCA(2).fit_transform(x)
    for j in range(2):
        assert abs(np.corrcoef(ex.embedding[:, j], ref[:, j])[0, 1]) > 0.999
    assert ex.progress == -1


def test_umap_replaces_pca_and_is_cached(digits):
    x, y, _ = digits
    params = {"n_neighbors": 10, "n_epochs": 30, "random_state": 1}
    ex = nbviz.EmbeddingExplorer(x[:400], labels=y[:400], method="umap", method_kwargs=params, background=False)
    assert ex.progress == -1 and ex.status == ""
    first = ex.embedding.copy()
    t0 = time.perf_counter()
    again = nbviz.EmbeddingExplorer(x[:400], labels=y[:400], method="umap", method_kwargs=params)
    assert time.perf_counter() - t0 < 2.0  # cached: no background work started
    assert again._worker is None
    np.testing.assert_array_equal(again.embedding, first)


def test_background_projection_moves_points(digits):
    x, y, _ = digits
    ex = nbviz.EmbeddingExplorer(x[:300], method="tsne", method_kwargs={"perplexity": 10, "random_state": 2})
    pca_first = ex.embedding.copy()
    # Chosen on the PCA picture, before t-SNE lands: both survive the re-projection.
    ex.focus = 17
    ex.selection = [3, 5, 8]
    ex.wait(120)
    assert not ex.error
    assert not np.allclose(ex.embedding, pca_first)
    assert ex.progress == -1
    assert ex.focus == 17 and ex.selection.tolist() == [3, 5, 8]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "tsne", "method_kwargs": {"perplexity": 30}},
         r"perplexity must be above 0 and below \(N - 1\) / 3 = 16.3 for N = 50, got 30"),
        ({"method": "umap", "method_kwargs": {"n_neighbors": 60}}, r"n_neighbors must be an int from 2 to N - 1 = 49"),
        ({"method": "umap", "method_kwargs": {"bogus": 1}}, r"bogus"),
        ({"method": "mds"}, r"method must be one of"),
        ({"nside": 0}, r"nside must be an int >= 1"),
        ({"metric": "manhattan"}, r"metric must be 'euclidean' or 'cosine'"),
        ({"colors": np.zeros(7)}, r"colors has 7 entries but data has 50 rows"),
        ({"clusters": 1}, r"clusters must be an int between 2 and N = 50"),
        ({"method": None}, r"method=None draws the data as it is"),
        ({"color_by": "colour"}, r"color_by must be one of"),
    ],
)
def test_bad_input_is_refused_before_anything_is_drawn(kwargs, message):
    x = np.random.default_rng(0).normal(size=(50, 5))
    with pytest.raises(ValueError, match=message):
        nbviz.EmbeddingExplorer(x, **kwargs)


def test_too_few_rows_and_mismatched_sets():
    with pytest.raises(ValueError, match="at least 3 rows"):
        nbviz.EmbeddingExplorer(np.zeros((2, 4)), method="pca")
    with pytest.raises(ValueError, match="same N items; 'a' has 10 and 'b' has 9"):
        nbviz.EmbeddingExplorer({"a": np.zeros((10, 3)), "b": np.zeros((9, 3))}, method="pca")
    with pytest.raises(ValueError, match="aligned_umap' needs a dict"):
        nbviz.EmbeddingExplorer(np.random.default_rng(0).normal(size=(10, 3)), method="aligned_umap")


def test_colour_by_clusters_value_and_metadata(digits):
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score

    x, y, _ = digits
    x, y = x[:500], y[:500]
    meta = pd.DataFrame({"parity": np.where(y % 2, "odd", "even"), "ink": x.sum(axis=1)})
    ex = nbviz.EmbeddingExplorer(x, labels=y, metadata=meta, method="pca", clusters=6)
    assert ex.color_title == "cluster" and ex.category_names == [f"cluster {i}" for i in range(6)]
    ref = AgglomerativeClustering(n_clusters=6, linkage="ward").fit_predict(x)
    assert adjusted_rand_score(ref, ex.categories) == 1.0
    ex.color_by("parity")
    assert ex.color_mode == "category" and ex.category_names == ["even", "odd"]
    np.testing.assert_array_equal(np.asarray(ex.category_names)[ex.categories], meta["parity"])
    ex.color_by("ink")
    assert ex.color_mode == "value" and ex.value_range == [float(meta.ink.min()), float(meta.ink.max())]
    assert ex.values.min() == 0 and ex.values.max() == 1 and ex.colormap_lut.shape == (256, 4)
    # colormap is a name, as in every widget; setting it recolours, a bad name is refused and nothing changes
    from nbviz.colors import colormap_lut

    assert ex.colormap == "viridis"
    np.testing.assert_array_equal(ex.colormap_lut, colormap_lut("viridis"))
    ex.colormap = "magma"
    np.testing.assert_array_equal(ex.colormap_lut, colormap_lut("magma"))
    with pytest.raises(ValueError, match="colormap 'no-such-map'"):
        ex.colormap = "no-such-map"
    assert ex.colormap == "magma"
    np.testing.assert_array_equal(ex.colormap_lut, colormap_lut("magma"))
    ex.color_by("label")
    assert ex.color_mode == "category" and ex.color_title == "label"


def test_neighbors_match_brute_force(digits):
    x, y, _ = digits
    ex = nbviz.EmbeddingExplorer(x, labels=y, method="pca", nside=4)
    for i in (0, 77, 1796):
        nn = ex.neighbors(i)
        ref_idx, ref_d = brute_force(x.astype(np.float64), i, 15)
        np.testing.assert_array_equal(nn.indices, ref_idx)
        np.testing.assert_allclose(nn.distances, ref_d, rtol=1e-4)


def test_neighbor_request_sends_query_first_with_images(digits):
    x, y, imgs = digits
    ex = nbviz.EmbeddingExplorer(x, labels=y, images=imgs, method="pca")
    replies = Replies(ex)
    content, buffers = replies.ask(ex, type="neighbors", id=7, index=42)
    assert content["id"] == 7 and content["indices"][0] == 42 and content["distances"][0] == 0
    ref_idx, _ = brute_force(x.astype(np.float64), 42, 8)
    assert content["indices"][1:] == ref_idx.tolist()
    assert content["labels"] == [str(y[j]) for j in content["indices"]]
    assert len(buffers) == 9
    first = np.asarray(Image.open(io.BytesIO(buffers[0])).convert("L"))
    # The 8x8 digit upscaled crisply: every pixel block equals the source pixel.
    block = first.shape[0] // 8
    np.testing.assert_array_equal(first[::block, ::block][:8, :8], imgs[42])


def test_one_by_one_grid_answers_a_click_with_the_item_alone(digits):
    """nside=1 (as compare() and the components probe are often made): a click must not fail asking for 0
    neighbours."""
    x, y, imgs = digits
    ex = nbviz.EmbeddingExplorer(x[:100], labels=y[:100], images=imgs[:100], method="pca", nside=1)
    nn = ex.neighbors(5)
    assert nn.indices.shape == nn.distances.shape == (0,)
    assert nn.indices.dtype == np.int64 and nn.distances.dtype == np.float32
    content, buffers = Replies(ex).ask(ex, type="neighbors", id=1, index=5)
    assert "error" not in content and content["indices"] == [5] and len(buffers) == 1
    assert ex.error == ""


def test_bad_requests_answer_with_error_and_show_it(digits):
    x, y, _ = digits
    ex = nbviz.EmbeddingExplorer(x[:100], method="pca")
    replies = Replies(ex)
    content, _ = replies.ask(ex, type="neighbors", id=3, index=1000)
    assert content["id"] == 3 and "'index' must be an index in 0..99, got 1000" in content["error"]
    assert "'index' must be an index" in ex.error


def test_thumbnails_and_item_requests(digits):
    x, y, imgs = digits
    meta = pd.DataFrame({"note": ["<img src=x onerror=alert(1)>"] * len(y)})
    ex = nbviz.EmbeddingExplorer(x, labels=y, images=imgs, metadata=meta, method="pca", thumbnails=True)
    replies = Replies(ex)
    content, (atlas,) = replies.ask(ex, type="thumbnails", id=1, indices=[5, 6, 7, 8, 9], size=16)
    assert content["indices"] == [5, 6, 7, 8, 9] and content["columns"] == 3 and content["size"] == 16
    assert Image.open(io.BytesIO(atlas)).size == (48, 32)
    content, (png,) = replies.ask(ex, type="item", id=2, index=3)
    assert content["label"] == str(y[3]) and content["metadata"] == {"note": "<img src=x onerror=alert(1)>"}
    assert Image.open(io.BytesIO(png)).size[0] >= 8


def test_labelling_copies_images_without_overwriting(digits, tmp_path):
    x, y, imgs = digits
    ex = nbviz.EmbeddingExplorer(x[:50], labels=y[:50], images=imgs[:50], method="pca", label_dir=tmp_path)
    replies = Replies(ex)
    content, _ = replies.ask(ex, type="assign", id=1, label="three", indices=[3, 13])
    assert content == {"type": "assign", "id": 1, "label": "three", "count": 2}
    files = sorted(p.name for p in (tmp_path / "three").iterdir())
    assert files == ["000003.png", "000013.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "three" / "000003.png")), imgs[3])
    assert ex.annotation_counts == {"three": 2} and "three" in ex.label_options
    assert ex.annotations[["index", "label"]].values.tolist() == [[3, "three"], [13, "three"]]
    content, _ = replies.ask(ex, type="assign", id=2, label="../evil", indices=[1])
    assert "not a safe file name" in content["error"]
    assert not (tmp_path.parent / "evil").exists()
    with pytest.raises(Exception, match="not a safe file name"):
        ex.active_label = "a/b"


def test_selection_from_python(digits):
    x, _, _ = digits
    ex = nbviz.EmbeddingExplorer(x[:100], method="pca")
    ex.selection = [5, 3, 3, 9]
    assert ex.selection.tolist() == [3, 5, 9] and ex.selection.dtype == np.uint32
    mask = np.zeros(100, bool)
    mask[[1, 2]] = True
    ex.selection = mask
    assert ex.selection.tolist() == [1, 2]
    with pytest.raises(Exception, match=r"selection must hold point indices in 0..99"):
        ex.selection = [100]


def test_aligned_sets_switch_layouts(digits):
    x, y, _ = digits
    sets = {"raw": x[:200], "squared": x[:200] ** 2}
    ex = nbviz.EmbeddingExplorer(sets, labels=y[:200], method="pca")
    assert ex.layout_names == ["raw", "squared"] and len(ex.layouts) == 2
    ex.layout_index = 1
    np.testing.assert_array_equal(ex.embedding, ex.layouts[1])
    # Neighbours follow the shown feature set.
    idx, _ = ex.neighbors(0, 5)
    np.testing.assert_array_equal(idx, brute_force((x[:200] ** 2).astype(np.float64), 0, 5)[0])


def test_export_projector(digits, tmp_path):
    x, y, imgs = digits
    ex = nbviz.EmbeddingExplorer(x[:100], labels=y[:100], images=imgs[:100], method="pca")
    config = ex.export_projector(tmp_path / "proj", sprite_size=16)
    text = config.read_text()
    assert 'tensor_path: "tensors.tsv"' in text and "single_image_dim: 16" in text
    np.testing.assert_allclose(np.loadtxt(tmp_path / "proj" / "tensors.tsv"), x[:100], rtol=1e-5)
    assert (tmp_path / "proj" / "metadata.tsv").read_text().split("\n")[:3] == [str(v) for v in y[:3]]
    assert Image.open(tmp_path / "proj" / "sprite.png").size == (160, 160)
