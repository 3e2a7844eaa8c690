"""The FAISS paths (kNN graph, query index) against brute force; the fallbacks without faiss; memmapped input."""

import sys
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from nbviz.kernels import faiss_ivf, neighbors
from nbviz.kernels.knn_graph import knn_graph
from nbviz.kernels.neighbors import NeighborIndex, knn_all

pytest.importorskip("faiss")


def clustered(n, d, seed, classes=50):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, d))
    return (centres[rng.integers(0, classes, n)] + rng.normal(size=(n, d))).astype(np.float32)


def brute_force(x, rows, k, metric):
    """Exact k nearest other items of ``rows`` by float64 cdist, ties by index."""
    d = cdist(x[rows].astype(np.float64), x.astype(np.float64), metric=metric)
    d[np.arange(len(rows)), rows] = np.inf
    return np.stack([np.lexsort((np.arange(len(x)), r))[:k] for r in d]), d


def share_found(found, true):
    return np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, true, strict=True)])


@pytest.fixture(scope="module")
def x():
    return clustered(20_000, 32, 0)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_query_index_against_brute_force(x, metric):
    index = NeighborIndex(x, metric, approximate=True)
    assert index.approximate and not index.exact and index.recall == 1.0  # built at the first query
    rows = np.random.default_rng(1).choice(len(x), 150, replace=False)
    true, d = brute_force(x, rows, 10, metric)
    got = [index.query(int(i), 10) for i in rows]
    # Tuned to recall >= 0.99 on its own sample; measured here on other items. A broken index (wrong cells, ids
    # off by one, no re-measure) finds a few percent.
    assert index.recall >= 0.99 and 1 <= index.probes < index._ivf.cells
    assert share_found([g.indices for g in got], true) >= 0.97
    for r, g in zip(range(len(rows)), got, strict=True):
        assert rows[r] not in g.indices and (np.diff(g.distances) >= 0).all()
        np.testing.assert_allclose(g.distances, d[r, g.indices], rtol=1e-5, atol=1e-6)  # exact distances, re-measured
    # query_vector: a vector equal to an item finds that item first; k beyond the index's limit scans exactly.
    v = index.query_vector(x[int(rows[0])], 5)
    assert v.indices[0] == rows[0]
    big = index.query(int(rows[0]), neighbors._INDEX_MAX_K + 1)
    exact = NeighborIndex(x, metric, approximate=False).query(int(rows[0]), neighbors._INDEX_MAX_K + 1)
    np.testing.assert_array_equal(big.indices, exact.indices)


def test_query_index_by_size(x, monkeypatch):
    assert NeighborIndex(x).exact  # 20k x 32 is far below INDEX_MIN_VALUES
    monkeypatch.setattr(neighbors, "INDEX_MIN_VALUES", x.size)
    assert NeighborIndex(x).approximate
    with pytest.raises(ValueError, match="approximate must be True, False or None"):
        NeighborIndex(x, approximate="yes")


def test_background_build_answers_exactly_meanwhile(x, monkeypatch):
    true, _ = brute_force(x, np.array([5]), 10, "euclidean")
    index = NeighborIndex(x, approximate=True).build(wait=False)
    np.testing.assert_array_equal(index.query(5, 10).indices, true[0])  # exact scan or index: the same here
    index._builder.join()
    assert index._ivf is not None and index.build_error is None and index.recall >= 0.99

    def broken(*args, **kwargs):
        raise MemoryError("no room for the index")

    monkeypatch.setattr(faiss_ivf, "IvfIndex", broken)
    failed = NeighborIndex(x, approximate=True).build(wait=False)
    failed._builder.join()
    assert isinstance(failed.build_error, MemoryError) and failed._ivf is None
    np.testing.assert_array_equal(failed.query(5, 10).indices, true[0])  # queries stay exact
    with pytest.raises(MemoryError, match="no room"):
        NeighborIndex(x, approximate=True).build()


def test_faiss_graph_against_brute_force(x):
    graph = knn_graph(x, 10, exact=False, backend="faiss")
    assert graph.backend == "faiss" and not graph.exact and graph.sample == 1000
    rows = np.random.default_rng(2).choice(len(x), 300, replace=False)
    true, d = brute_force(x, rows, 10, "euclidean")
    assert graph.recall >= 0.95 and share_found(graph.indices[rows], true) >= 0.93
    np.testing.assert_allclose(graph.distances[rows], np.take_along_axis(d, graph.indices[rows], 1), rtol=1e-5,
                               atol=1e-6)
    assert (graph.indices != np.arange(len(x))[:, None]).all() and (graph.indices >= 0).all()
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'faiss', 'torch'\), got 'x'"):
        knn_graph(x, 3, backend="x")


def test_faiss_graph_small_cells_fall_back_to_exact_rows():
    # 300 items in 4 cells, k = 60: the probed cells cannot hold k + slack others for every item; those are exact.
    x = clustered(300, 8, 3, classes=4)
    graph = knn_graph(x, 60, exact=False, backend="faiss", target_recall=0.5)
    if not graph.exact:
        rows = np.arange(0, 300, 7)
        assert share_found(graph.indices[rows], brute_force(x, rows, 60, "euclidean")[0]) >= 0.5
    assert (graph.indices >= 0).all() and (graph.indices != np.arange(300)[:, None]).all()


@pytest.fixture
def no_faiss(monkeypatch):
    """Import of faiss fails (as when the extra is not installed); the warning has not been given yet."""
    monkeypatch.setitem(sys.modules, "faiss", None)
    monkeypatch.setattr(faiss_ivf, "_warned", False)


def test_without_faiss_graph_uses_the_torch_index(no_faiss):
    x = clustered(6000, 16, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default index needs no faiss: nothing to say
        graph = knn_graph(x, 10, exact=False)
    assert graph.backend == "torch" and graph.recall >= 0.95
    with pytest.raises(ImportError, match=r"backend='faiss' needs faiss: pip install \"nbviz\[faiss\]\""):
        knn_graph(x, 10, exact=False, backend="faiss")


def test_without_faiss_queries_are_exact(no_faiss, monkeypatch):
    x = clustered(3000, 16, 5)
    monkeypatch.setattr(neighbors, "INDEX_MIN_VALUES", 1)
    with pytest.warns(RuntimeWarning, match=r'faiss is not installed.*pip install "nbviz\[faiss\]"'):
        index = NeighborIndex(x)
    assert index.exact
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: a second index says nothing
        assert NeighborIndex(x).exact
    true, _ = brute_force(x, np.array([17]), 8, "euclidean")
    np.testing.assert_array_equal(index.query(17, 8).indices, true[0])
    with pytest.raises(ImportError, match=r"approximate=True needs faiss"):
        NeighborIndex(x, approximate=True)


def test_memmap_input_stays_mapped_and_gives_the_same_results(tmp_path, monkeypatch):
    x = clustered(12_000, 24, 6)
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    monkeypatch.setattr(faiss_ivf, "_BLOCK", 1000)  # added to the index in 12 blocks
    index = NeighborIndex(mm, approximate=True)
    assert np.shares_memory(index.x, mm)  # no anonymous copy of the data
    ref = NeighborIndex(x, approximate=True)
    for i in (0, 4321, 11_999):
        np.testing.assert_array_equal(index.query(i, 10).indices, ref.query(i, 10).indices)
    graph = knn_graph(mm, 10, exact=False, backend="faiss")
    np.testing.assert_array_equal(graph.indices, knn_graph(x, 10, exact=False, backend="faiss").indices)
    rows = np.arange(0, 12_000, 97)
    assert share_found(graph.indices[rows], knn_all(x, 10)[0][rows]) >= 0.93
