"""Kernels against independent references: brute-force kNN, scikit-learn clustering/PCA, pixel-exact atlases."""

import io
import time

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import cdist
from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

from nbviz.kernels.clustering import hierarchical_clusters
from nbviz.kernels.images import atlas, encode_png, to_uint8_image
from nbviz.kernels.neighbors import NeighborIndex, knn_all
from nbviz.kernels.projection import (
    ProjectionCache,
    aligned_umap,
    check_projection,
    content_key,
    project,
    project_cached,
)


@pytest.fixture(scope="module")
def x():
    return load_digits().data.astype("float32")[:600]


def reference(x, i, k, metric):
    d = cdist(x[i:i + 1].astype(np.float64), x.astype(np.float64), metric=metric)[0]
    d[i] = np.inf
    order = np.lexsort((np.arange(len(x)), d))[:k]
    return order, d[order]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_neighbors_match_brute_force(x, metric):
    index = NeighborIndex(x, metric)
    for i in (0, 5, 599):
        idx, dist = index.query(i, 10)
        ref_idx, ref_d = reference(x, i, 10, metric)
        np.testing.assert_allclose(dist, ref_d, rtol=1e-4, atol=1e-5)
        # Same set; order may only differ among float-rounding ties.
        assert set(idx) == set(ref_idx) or np.allclose(np.sort(dist), np.sort(ref_d), atol=1e-5)


def test_neighbor_ties_by_index_and_duplicates():
    pts = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, 0]], dtype="float32")
    idx, dist = NeighborIndex(pts).query(0, 4)
    assert idx.tolist() == [4, 1, 2, 3] and dist.tolist() == [0, 1, 1, 1]


def test_knn_all_and_bounds(x):
    ki, kd = knn_all(x, 5, block=128)
    for i in (3, 300):
        np.testing.assert_allclose(kd[i], reference(x, i, 5, "euclidean")[1], rtol=1e-4)
    with pytest.raises(ValueError, match=r"k must be an int between 1 and 599 \(N = 600\), got 600"):
        NeighborIndex(x).query(0, 600)
    with pytest.raises(ValueError, match="metric must be one of"):
        NeighborIndex(x, "manhattan")


def test_clusters_equal_sklearn_ward(x):
    codes = hierarchical_clusters(x, 7)
    ref = AgglomerativeClustering(n_clusters=7, linkage="ward").fit_predict(x)
    assert adjusted_rand_score(ref, codes) == 1.0
    sizes = np.bincount(codes)
    assert (np.diff(sizes) <= 0).all()  # cluster 0 is the largest
    with pytest.raises(ValueError, match="k must be an int between 2 and N = 600"):
        hierarchical_clusters(x, 1)


def test_clusters_subsample_path_on_blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=20, size=(4, 8))
    blobs = np.concatenate([c + rng.normal(size=(500, 8)) for c in centers]).astype("float32")
    exact = hierarchical_clusters(blobs, 4)
    sampled = hierarchical_clusters(blobs, 4, max_exact=300)
    assert adjusted_rand_score(exact, sampled) > 0.9


def test_projection_checks_name_the_bound():
    with pytest.raises(ValueError, match=r"perplexity must be above 0 and below \(N - 1\) / 3 = 16.3 for N = 50"):
        check_projection("tsne", 50, {"perplexity": 30})
    with pytest.raises(ValueError, match="n_neighbors must be an int from 2 to N - 1 = 9"):
        check_projection("umap", 10, {"n_neighbors": 15})
    with pytest.raises(ValueError, match=r"unknown umap parameter\(s\) \['perplexity'\]"):
        check_projection("umap", 100, {"perplexity": 5})
    with pytest.raises(ValueError, match="at least 3 items"):
        check_projection("pca", 2)


def test_tsne_progress_and_cache(x):
    seen = []
    params = {"perplexity": 10, "n_iter": 100, "early_exaggeration_iter": 50}
    cache = ProjectionCache()
    key = content_key(x, method="tsne", **params)
    t0 = time.perf_counter()
    out = cache.get_or_compute(key, lambda: project(x, "tsne", params, lambda f, s: seen.append(f)))
    first = time.perf_counter() - t0
    assert out.shape == (600, 2) and np.isfinite(out).all()
    assert seen[0] == 0.0 and seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:], strict=False))
    assert len(seen) > 4  # real iteration progress, not just start and end
    t0 = time.perf_counter()
    assert cache.get_or_compute(key, lambda: 1 / 0) is out
    assert time.perf_counter() - t0 < first / 100
    assert not out.flags.writeable


def test_umap_layout_preserves_neighbourhoods(x):
    from sklearn.manifold import trustworthiness

    out = project_cached(x, "umap", {"n_neighbors": 10, "n_epochs": 100})
    assert trustworthiness(x, out, n_neighbors=5) > 0.9


def test_aligned_umap_shapes_and_size_check(x):
    outs = aligned_umap([x[:200], x[:200] ** 2], {"n_neighbors": 10, "n_epochs": 20})
    assert [o.shape for o in outs] == [(200, 2), (200, 2)]
    with pytest.raises(ValueError, match="feature set 1 has 199 items but set 0 has 200"):
        aligned_umap([x[:200], x[:199]])


def test_content_key_sees_content_and_params(x):
    assert content_key(x, a=1) == content_key(x.copy(), a=1)
    y = x.copy()
    y[0, 0] += 1
    assert content_key(y, a=1) != content_key(x, a=1) != content_key(x, a=2)


def test_atlas_places_cells_row_major():
    imgs = [np.full((4, 4), v, np.uint8) for v in (10, 20, 30, 40, 50)]
    png, columns = atlas(imgs, 4)
    sheet = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    assert columns == 3 and sheet.shape == (8, 12, 4)
    for k, v in enumerate((10, 20, 30, 40, 50)):
        r, c = divmod(k, 3)
        assert (sheet[r * 4:(r + 1) * 4, c * 4:(c + 1) * 4, 0] == v).all()
    assert (sheet[4:, 8:, 3] == 0).all()  # the unused cell is transparent
    with pytest.raises(ValueError, match="at most 65536 fit"):
        atlas([np.zeros((2, 2), np.uint8)] * 70000, 32)


def test_tiny_images_upscale_crisply_and_inputs_convert():
    checker = (np.indices((8, 8)).sum(0) % 2 * 255).astype(np.uint8)
    big = np.asarray(Image.open(io.BytesIO(encode_png(checker, 64))))
    assert big.shape == (64, 64) and set(np.unique(big)) == {0, 255}
    np.testing.assert_array_equal(big[::8, ::8], checker)
    assert to_uint8_image(np.ones((2, 2, 1)) * 0.5).tolist() == [[128, 128], [128, 128]]
    assert to_uint8_image(np.zeros((2, 2, 4), np.float32)).shape == (2, 2, 4)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 1\|3\|4\)"):
        to_uint8_image(np.zeros((2, 2, 2)))
