"""Projections: PCA against scikit-learn, UMAP/t-SNE neighbourhood preservation, checks, progress, cache."""

import inspect
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness

from nbviz.kernels.projection import (
    _ACCEPTED,
    CACHE,
    METHODS,
    ProjectionCache,
    aligned_umap,
    check_projection,
    content_key,
    pca,
    project,
    project_cached,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits().data.astype(np.float32)[:500]


def recorder():
    seen = []
    return seen, lambda fraction, status: seen.append((fraction, status))


def assert_progress(seen, min_calls=2):
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and len(fractions) >= min_calls
    assert all(b >= a for a, b in zip(fractions, fractions[1:], strict=False)), fractions
    assert all(isinstance(s, str) and s for _, s in seen)


def test_methods():
    assert METHODS == ("pca", "umap", "tsne")


def test_pca_matches_sklearn_up_to_sign(digits):
    seen, progress = recorder()
    out = project(digits, "pca", progress=progress)
    ref = PCA(n_components=2).fit_transform(digits.astype(np.float64))
    assert out.shape == (500, 2) and out.dtype == np.float32 and out.flags.c_contiguous
    for j in range(2):
        sign = np.sign(out[:, j] @ ref[:, j])
        np.testing.assert_allclose(sign * out[:, j], ref[:, j], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(pca(digits), out)
    assert_progress(seen)
    assert pca(digits[:, :1]).shape == (500, 2)  # one dimension: the second column is zeros


def test_check_projection_fills_defaults():
    full = check_projection("umap", 100, {"n_neighbors": 5})
    assert full["n_neighbors"] == 5 and full["random_state"] == 0 and full["min_dist"] == 0.1
    assert check_projection("tsne", 100)["random_state"] == 0
    assert check_projection("pca", 3) == {"random_state": 0}
    assert check_projection("aligned_umap", 10, {"n_neighbors": 9})["n_neighbors"] == 9


def test_accepted_parameters_exist_in_the_libraries():
    import openTSNE
    import umap

    for method, cls in (("umap", umap.UMAP), ("tsne", openTSNE.TSNE), ("aligned_umap", umap.AlignedUMAP)):
        names = set(inspect.signature(cls.__init__).parameters)
        assert set(_ACCEPTED[method]) <= names, set(_ACCEPTED[method]) - names
    umap_expected = {"n_neighbors", "min_dist", "metric", "random_state", "spread", "n_epochs", "init", "densmap",
                     "low_memory", "learning_rate", "set_op_mix_ratio", "local_connectivity", "repulsion_strength",
                     "negative_sample_rate"}
    assert umap_expected <= set(_ACCEPTED["umap"])
    tsne_expected = {"perplexity", "metric", "random_state", "n_iter", "learning_rate", "early_exaggeration",
                     "initialization", "exaggeration", "dof", "neighbors", "negative_gradient_method", "n_jobs"}
    assert tsne_expected <= set(_ACCEPTED["tsne"])


@pytest.mark.parametrize(("method", "n", "params", "message"), [
    ("isomap", 10, {}, r"method must be one of \('pca', 'umap', 'tsne', 'aligned_umap'\), got 'isomap'"),
    ("pca", 2, {}, "a projection needs at least 3 items, got N = 2"),
    ("umap", 10, {"n_neighbors": 15}, "n_neighbors must be an int from 2 to N - 1 = 9 for N = 10, got 15"),
    ("umap", 10, {"n_neighbors": 1}, "n_neighbors must be an int from 2 to N - 1 = 9 for N = 10, got 1"),
    ("umap", 10, {"n_neighbors": 5.0}, "n_neighbors must be an int from 2 to N - 1 = 9 for N = 10, got 5.0"),
    ("umap", 10, {"min_dist": 2.0, "n_neighbors": 5}, "min_dist must be a number from 0 to spread = 1.0, got 2.0"),
    ("umap", 10, {"n_epochs": -1, "n_neighbors": 5}, "n_epochs must be a non-negative int or None, got -1"),
    ("tsne", 50, {"perplexity": 30},
     r"perplexity must be above 0 and below \(N - 1\) / 3 = 16.3 for N = 50, got 30"),
    ("tsne", 50, {"perplexity": 0}, r"perplexity must be above 0 .* got 0"),
    ("tsne", 50, {"perplexity": 5, "n_iter": -5}, "n_iter must be a non-negative int, got -5"),
    ("tsne", 50, {"random_state": "x", "perplexity": 5}, "random_state must be a non-negative int or None, got 'x'"),
    ("umap", 100, {"perplexity": 5}, r"unknown umap parameter\(s\) \['perplexity'\]; accepted: \['densmap', "),
    ("tsne", 100, {"n_neighbors": 5}, r"unknown tsne parameter\(s\) \['n_neighbors'\]; accepted: \['dof', "),
    ("pca", 100, {"whiten": True}, r"unknown pca parameter\(s\) \['whiten'\]; accepted: \['random_state'\]"),
])
def test_check_projection_errors(method, n, params, message):
    with pytest.raises(ValueError, match=message):
        check_projection(method, n, params)


def test_project_input_errors(digits):
    bad = digits.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="x must be finite; row 4 holds NaN or inf"):
        project(bad, "pca")
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, D\)"):
        project(digits[0], "pca")
    with pytest.raises(ValueError, match="use aligned_umap"):
        project(digits, "aligned_umap")
    with pytest.raises(ValueError, match=r"method must be one of \('pca', 'umap', 'tsne'\), got 'mds'"):
        project(digits, "mds")
    with pytest.raises(ValueError, match="perplexity must be above 0"):
        project(digits[:20], "tsne")  # default perplexity 30 does not fit 20 items: fails before any work


def test_tsne_real_progress_and_neighbourhoods(digits):
    seen, progress = recorder()
    params = {"perplexity": 20, "n_iter": 150, "early_exaggeration_iter": 60}
    out = project(digits, "tsne", params, progress)
    assert out.shape == (500, 2) and out.dtype == np.float32 and np.isfinite(out).all()
    assert trustworthiness(digits, out, n_neighbors=5) > 0.9
    assert_progress(seen, min_calls=20)  # iteration counts, not just start and end
    # 60 early-exaggeration + 150 normal iterations, reported every few iterations, then "done"
    assert any("iteration 208 of 210" in s for _, s in seen) and seen[-1] == (1.0, "t-SNE: done")
    np.testing.assert_array_equal(out, project(digits, "tsne", params))  # seeded: reproducible


def test_umap_stages_and_neighbourhoods(digits):
    seen, progress = recorder()
    out = project(digits, "umap", {"n_neighbors": 10, "n_epochs": 50}, progress)
    assert out.shape == (500, 2) and out.dtype == np.float32 and np.isfinite(out).all()
    assert trustworthiness(digits, out, n_neighbors=5) > 0.9
    assert_progress(seen, min_calls=3)
    assert [s for _, s in seen][:2] == ["UMAP: building the neighbour graph", "UMAP: optimising the layout (50 epochs)"]


def test_aligned_umap_shapes_and_size_check(digits):
    seen, progress = recorder()
    outs = aligned_umap([digits[:150], digits[:150, :20] ** 2], {"n_neighbors": 10, "n_epochs": 20}, progress)
    assert [o.shape for o in outs] == [(150, 2), (150, 2)]
    assert all(o.dtype == np.float32 and np.isfinite(o).all() for o in outs)
    assert_progress(seen)
    with pytest.raises(ValueError, match="feature set 2 has 149 items but set 0 has 150; all must be equal"):
        aligned_umap([digits[:150], digits[:150], digits[:149]])
    with pytest.raises(ValueError, match="xs must be a list of at least 2 feature sets, got 1 set"):
        aligned_umap([digits])
    with pytest.raises(ValueError, match=r"unknown aligned_umap parameter\(s\) \['perplexity'\]"):
        aligned_umap([digits, digits], {"perplexity": 3})


def test_project_cached_hits_are_instant_and_read_only(digits):
    CACHE.clear()
    params = {"perplexity": 10, "n_iter": 60, "early_exaggeration_iter": 30}
    t0 = time.perf_counter()
    first = project_cached(digits, "tsne", params)
    cold = time.perf_counter() - t0
    seen, progress = recorder()
    t0 = time.perf_counter()
    again = project_cached(digits.copy(), "tsne", dict(params), progress)  # equal content, new objects
    warm = time.perf_counter() - t0
    assert again is first and warm < cold / 20
    assert seen == [(1.0, "t-SNE: cached")]
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0, 0] = 1.0
    # Defaults are part of the key: asking for them explicitly is the same entry.
    assert project_cached(digits, "tsne", {**params, "random_state": 0}) is first
    assert project_cached(digits, "tsne", {**params, "random_state": 1}) is not first


def test_content_key_sees_content_dtype_shape_and_params(digits):
    assert content_key(digits, a=1, b=2) == content_key(digits.copy(), b=2, a=1)
    changed = digits.copy()
    changed[250, 30] += 1  # in the middle, where a repr would print "..."
    assert content_key(changed, a=1) != content_key(digits, a=1)
    assert content_key(digits.astype(np.float64)) != content_key(digits)
    assert content_key(digits.reshape(250, 128)) != content_key(digits)
    assert content_key(digits, a=1) != content_key(digits, a=2)
    big = np.zeros((100, 2))
    other = big.copy()
    other[50, 1] = 1
    assert content_key(digits, init=big) != content_key(digits, init=other)
    assert content_key(digits[:, ::2]) == content_key(np.ascontiguousarray(digits[:, ::2]))
    assert len(content_key(digits)) == 40


def test_cache_is_an_lru_of_16_by_default():
    cache = ProjectionCache()
    assert cache.max_entries == 16
    small = ProjectionCache(max_entries=2)
    a, b, c = (np.full(3, v, np.float32) for v in (1, 2, 3))
    small.get_or_compute("a", lambda: a)
    small.get_or_compute("b", lambda: b)
    assert small.get("a") is a  # a is now the most recent
    small.get_or_compute("c", lambda: c)
    assert "b" not in small and "a" in small and "c" in small and len(small) == 2
    with pytest.raises(ZeroDivisionError):
        small.get_or_compute("d", lambda: 1 / 0)
    assert "d" not in small
    with pytest.raises(ValueError, match="max_entries must be a positive int, got 0"):
        ProjectionCache(0)


def test_cache_computes_once_for_concurrent_callers():
    cache = ProjectionCache()
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return np.zeros(2, np.float32)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 4 and all(r is results[0] for r in results)
