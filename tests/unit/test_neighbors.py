"""kNN against brute force (scipy cdist in float64, ties by index), both metrics, ties, duplicates, bounds; the
approximate index against the exact neighbours."""

import time

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from sklearn.datasets import load_digits

from nbviz.kernels import knn_graph as knn_graph_module
from nbviz.kernels import neighbors
from nbviz.kernels.knn_graph import knn_graph
from nbviz.kernels.neighbors import NeighborIndex, knn_all


def brute_force(x, q, k, metric, exclude=None):
    """k nearest rows of x to q by float64 cdist, sorted by (distance, index)."""
    d = cdist(np.asarray(q, np.float64)[None], np.asarray(x, np.float64), metric=metric)[0]
    if exclude is not None:
        d[exclude] = np.inf
    order = np.lexsort((np.arange(len(x)), d))[:k]
    return order, d[order]


@pytest.fixture(scope="module")
def gauss():
    return np.random.default_rng(0).normal(size=(800, 24)).astype(np.float32)


@pytest.fixture(scope="module")
def digits():
    # Integer pixel values: squared distances are integers, so exact ties are everywhere.
    return load_digits().data.astype(np.float32)[:500]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize(("data", "k", "stride"), [("gauss", 12, 37), ("digits", 20, 7)])
def test_query_equals_brute_force(request, data, k, stride, metric):
    # Gaussian data: generic case. Digits: integer pixels, so exact distance ties are everywhere and must be
    # broken by index exactly as the brute force does.
    x = request.getfixturevalue(data)
    index = NeighborIndex(x, metric)
    for i in range(0, len(x), stride):
        idx, dist = index.query(i, k)
        ref_idx, ref_d = brute_force(x, x[i], k, metric, exclude=i)
        assert idx.dtype == np.int64 and dist.dtype == np.float32
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_allclose(dist, ref_d, rtol=1e-5, atol=1e-6)


def test_small_grid_ties_and_duplicates():
    pts = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, 0], [0, -1]], dtype=np.float32)
    idx, dist = NeighborIndex(pts).query(0, 5)
    # The duplicate of item 0 comes first at distance 0; the four at distance 1 by index; 0 itself never.
    assert idx.tolist() == [4, 1, 2, 3, 5] and dist.tolist() == [0, 1, 1, 1, 1]
    idx, dist = NeighborIndex(pts).query(4, 2)
    assert idx.tolist() == [0, 1] and dist.tolist() == [0, 1]


def test_more_ties_than_the_candidate_slack():
    # 100 copies of one point among noise: the 5 nearest of copy 50 must be the copies with the smallest
    # indices, although the fast pass cannot tell the 99 other copies apart.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1000, 8)).astype(np.float32) * 10
    copies = np.sort(rng.choice(1000, 100, replace=False))
    x[copies] = rng.normal(size=8).astype(np.float32)
    for metric in ("euclidean", "cosine"):
        idx, dist = NeighborIndex(x, metric).query(int(copies[50]), 5)
        assert idx.tolist() == [c for c in copies.tolist() if c != copies[50]][:5]
        assert (dist == 0).all()
        ki, kd = knn_all(x, 5, metric, block=64)
        np.testing.assert_array_equal(ki[copies[50]], idx)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_query_vector_and_k_up_to_n(gauss, metric):
    index = NeighborIndex(gauss, metric)
    v = np.random.default_rng(2).normal(size=24)
    idx, dist = index.query_vector(v, 800)
    ref_idx, ref_d = brute_force(gauss, v, 800, metric)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-5, atol=1e-6)
    # A data row as a vector finds itself first, at distance 0.
    idx, dist = index.query_vector(gauss[3], 1)
    assert idx.tolist() == [3] and dist[0] == pytest.approx(0, abs=1e-6)


def test_cosine_ignores_scale_and_zero_vectors_are_at_distance_one():
    x = np.array([[1, 0], [3, 0], [0, 2], [0, 0], [-1, 0]], dtype=np.float32)
    idx, dist = NeighborIndex(x, "cosine").query(0, 4)
    assert idx.tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(dist, [0, 1, 1, 2], atol=1e-7)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_all_equals_per_item_queries(digits, metric):
    index = NeighborIndex(digits, metric)
    ki, kd = knn_all(digits, 8, metric, block=97)  # blocks that do not divide N
    assert ki.shape == kd.shape == (500, 8) and ki.dtype == np.int64 and kd.dtype == np.float32
    for i in range(500):
        idx, dist = index.query(i, 8)
        np.testing.assert_array_equal(ki[i], idx)
        np.testing.assert_allclose(kd[i], dist, rtol=1e-6, atol=1e-6)
    # The default block is sized by memory; a tiny budget gives 1-row blocks and the same answer.
    ki2, _ = knn_all(digits, 8, metric, max_block_bytes=1)
    np.testing.assert_array_equal(ki2, ki)


def test_knn_all_k_equal_n_minus_1(gauss):
    x = gauss[:30]
    ki, kd = knn_all(x, 29)
    for i in range(30):
        ref_idx, ref_d = brute_force(x, x[i], 29, "euclidean", exclude=i)
        np.testing.assert_array_equal(ki[i], ref_idx)
        np.testing.assert_allclose(kd[i], ref_d, rtol=1e-5)


def test_inputs_tensors_and_float64(gauss):
    a = NeighborIndex(torch.from_numpy(gauss.astype(np.float64))).query(5, 4)
    b = NeighborIndex(gauss).query(5, 4)
    np.testing.assert_array_equal(a[0], b[0])


def test_errors_name_the_parameter_and_bound(gauss):
    index = NeighborIndex(gauss)
    with pytest.raises(ValueError, match=r"k must be an int between 1 and 799 \(N = 800\), got 800"):
        index.query(0, 800)
    with pytest.raises(ValueError, match=r"k must be an int between 1 and 799 \(N = 800\), got 0"):
        index.query(0, 0)
    with pytest.raises(ValueError, match=r"k must be an int between 1 and 800 \(N = 800\), got 801"):
        index.query_vector(gauss[0], 801)
    with pytest.raises(ValueError, match=r"k must be an int between 1 and 799 \(N = 800\), got 2.0"):
        knn_all(gauss, 2.0)
    with pytest.raises(ValueError, match=r"i must be an item index in 0..799, got 800"):
        index.query(800, 3)
    with pytest.raises(ValueError, match=r"i must be an item index in 0..799, got True"):
        index.query(True, 3)
    with pytest.raises(ValueError, match="v must have length D = 24, got 23 values"):
        index.query_vector(np.zeros(23), 3)
    with pytest.raises(ValueError, match=r"metric must be one of \('euclidean', 'cosine'\), got 'manhattan'"):
        NeighborIndex(gauss, "manhattan")
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, D\).*got shape \(5,\)"):
        NeighborIndex(np.zeros(5))
    bad = gauss.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="x must be finite; row 7 holds NaN or inf"):
        NeighborIndex(bad)
    with pytest.raises(TypeError, match="x must hold real numbers, got dtype <U1"):
        NeighborIndex(np.array([["a"]]))
    with pytest.raises(ValueError, match="block must be a positive int, got 0"):
        knn_all(gauss, 3, block=0)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_all_long_rows_select_through_chunk_minima(metric):
    # N past the length where the m smallest of a row are picked among its chunks of smallest minimum, N not a
    # multiple of the chunk, and many exact ties (a coarse grid of integer points, with duplicates).
    n = 16 * (10 + neighbors._SLACK) * neighbors._CHUNK + 7
    x = np.random.default_rng(4).integers(-3, 4, size=(n, 5)).astype(np.float32)
    ki, kd = knn_all(x, 10, metric)
    for i in list(range(0, n, 997)) + [n - 1]:
        ref_idx, ref_d = brute_force(x, x[i], 10, metric, exclude=i)
        np.testing.assert_array_equal(ki[i], ref_idx)
        np.testing.assert_allclose(kd[i], ref_d, rtol=1e-5, atol=1e-6)


def clustered(n, d, seed, latent=6, classes=40):
    """Items of a few dozen classes on a low-dimensional manifold: the structure real embeddings have."""
    rng = np.random.default_rng(seed)
    z = 3 * rng.normal(size=(classes, latent))[rng.integers(0, classes, n)] + rng.normal(size=(n, latent))
    return (np.tanh(z @ rng.normal(size=(latent, d)) / 3) + 0.05 * rng.normal(size=(n, d))).astype(np.float32)


@pytest.mark.parametrize("backend", ["torch", "faiss"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_graph_index_finds_most_true_neighbours(metric, backend):
    x = clustered(10_000, 32, 0)
    graph = knn_graph(x, 10, metric, exact=False, target_recall=0.95, backend=backend)
    # One cell finds ~80 % of the neighbours here: more cells are searched to reach the target.
    assert not graph.exact and graph.backend == backend
    assert graph.cells == 100 and 1 < graph.probes < graph.cells // 2
    assert graph.indices.shape == graph.distances.shape == (10_000, 10)
    # The recall it reports, and the recall on other items against brute force, are at least the bound.
    assert graph.recall >= 0.95 and graph.sample == 1000
    rows = np.random.default_rng(1).choice(len(x), 300, replace=False)
    found = [len(set(graph.indices[i]) & set(brute_force(x, x[i], 10, metric, exclude=i)[0])) for i in rows]
    assert np.mean(found) / 10 >= 0.93
    # What it returns are true distances, nearest first, never the item itself.
    assert (graph.indices != np.arange(len(x))[:, None]).all() and (np.diff(graph.distances, axis=1) >= 0).all()
    d = cdist(x[rows[:20]].astype(np.float64), x.astype(np.float64), metric=metric)
    np.testing.assert_allclose(graph.distances[rows[:20]], np.take_along_axis(d, graph.indices[rows[:20]], 1),
                               rtol=1e-5, atol=1e-6)
    # Deterministic for a seed; a lower target searches fewer cells.
    again = knn_graph(x, 10, metric, exact=False, target_recall=0.95, backend=backend)
    np.testing.assert_array_equal(again.indices, graph.indices)
    assert knn_graph(x, 10, metric, exact=False, target_recall=0.5, backend=backend).probes < graph.probes


def test_knn_graph_exact_by_size_and_on_noise(monkeypatch):
    x = clustered(3000, 16, 2)
    exact = knn_graph(x, 7)  # below APPROX_MIN_ITEMS: exact, the same as knn_all
    assert exact.exact and exact.recall == 1.0 and exact.probes == 0
    np.testing.assert_array_equal(exact.indices, knn_all(x, 7)[0])
    assert knn_graph(x, 7, exact=True).exact
    monkeypatch.setattr(knn_graph_module, "APPROX_MIN_ITEMS", 3000)
    assert not knn_graph(x, 7).exact
    # Isotropic noise in 64-D has no structure for an index: it would search most cells, so the search is exact.
    noise = np.random.default_rng(3).normal(size=(3000, 64)).astype(np.float32)
    graph = knn_graph(noise, 7, exact=False)
    assert graph.exact
    np.testing.assert_array_equal(graph.indices, knn_all(noise, 7)[0])
    with pytest.raises(ValueError, match="exact must be True, False or None"):
        knn_graph(x, 3, exact="yes")
    with pytest.raises(ValueError, match=r"target_recall must be a number in \(0, 1\], got 0"):
        knn_graph(x, 3, target_recall=0)


def test_worker_threads_leave_torch_settings_as_they_were(gauss):
    # Blocked loops run on worker threads with one intra-op thread each; overlapping callers restore it once.
    import threading

    before = torch.get_num_threads()
    results = []
    callers = [threading.Thread(target=lambda: results.append(knn_all(gauss, 5, block=16)[0])) for _ in range(3)]
    for c in callers:
        c.start()
    for c in callers:
        c.join()
    assert torch.get_num_threads() == before
    np.testing.assert_array_equal(results[0], results[2])
    np.testing.assert_array_equal(results[1], knn_all(gauss, 5)[0])


def test_one_query_is_one_pass_over_the_data():
    # 200k x 128 (100 MB): a query is a GEMV plus a partial sort, a few ms; the bound leaves room for a busy CI.
    x = np.random.default_rng(3).standard_normal((200_000, 128), dtype=np.float32)
    index = NeighborIndex(x)
    index.query(0, 10)
    times = []
    for i in range(1, 8):
        t0 = time.perf_counter()
        index.query(i * 1000, 10)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.1
