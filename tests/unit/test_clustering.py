"""Ward clusters against scikit-learn's AgglomerativeClustering, and the subsample path on separated blobs."""

import numpy as np
import pytest
import torch
from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

from nbviz.kernels.clustering import hierarchical_clusters


@pytest.fixture(scope="module")
def digits():
    return load_digits().data.astype(np.float32)[:700]


def blobs(n_per, centers=5, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=20, size=(centers, dim))
    sizes = [n_per * (c + 1) for c in range(centers)]  # unequal sizes, so "largest first" is testable
    x = np.concatenate([m + rng.normal(size=(s, dim)) for m, s in zip(means, sizes, strict=True)])
    truth = np.repeat(np.arange(centers), sizes)
    return x.astype(np.float32), truth


@pytest.mark.parametrize("k", [2, 7, 15])
def test_equals_sklearn_ward_up_to_relabelling(digits, k):
    codes = hierarchical_clusters(digits, k)
    ref = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(digits)
    assert adjusted_rand_score(ref, codes) == 1.0
    assert codes.dtype == np.int32 and codes.shape == (700,)
    assert set(np.unique(codes)) == set(range(k))


def test_codes_are_numbered_by_size(digits):
    sizes = np.bincount(hierarchical_clusters(digits, 9))
    assert (np.diff(sizes) <= 0).all()


def test_k_equal_n_gives_singletons():
    x = np.random.default_rng(0).normal(size=(6, 3))
    assert sorted(hierarchical_clusters(x, 6).tolist()) == list(range(6))


def test_subsample_path_agrees_with_exact_on_blobs():
    x, truth = blobs(40)  # 600 points in 5 separated blobs of 40..200
    exact = hierarchical_clusters(x, 5)
    sampled = hierarchical_clusters(x, 5, max_exact=150)
    assert adjusted_rand_score(exact, sampled) > 0.9
    assert adjusted_rand_score(truth, sampled) > 0.9
    sizes = np.bincount(sampled, minlength=5)
    assert (np.diff(sizes) <= 0).all()
    # The same seed draws the same subsample; another seed still finds the blobs.
    np.testing.assert_array_equal(sampled, hierarchical_clusters(x, 5, max_exact=150))
    assert adjusted_rand_score(truth, hierarchical_clusters(x, 5, random_state=3, max_exact=150)) > 0.9


def test_subsample_rows_join_the_nearest_centroid():
    x, _ = blobs(30, centers=3, seed=4)
    codes = hierarchical_clusters(x, 3, max_exact=60)
    centroids = np.stack([x[codes == c].mean(0) for c in range(3)])
    nearest = np.argmin(((x[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    # Centroids of the final clusters of well-separated blobs are those of the sampled clusters' blobs.
    assert (nearest == codes).mean() > 0.99


def test_tensor_input(digits):
    a = hierarchical_clusters(torch.from_numpy(digits[:200]), 4)
    np.testing.assert_array_equal(a, hierarchical_clusters(digits[:200], 4))


def test_errors_say_the_bound(digits):
    with pytest.raises(ValueError, match="k must be an int between 2 and N = 700, got 1"):
        hierarchical_clusters(digits, 1)
    with pytest.raises(ValueError, match="k must be an int between 2 and N = 700, got 701"):
        hierarchical_clusters(digits, 701)
    with pytest.raises(ValueError, match="k must be an int between 2 and N = 700, got 3.0"):
        hierarchical_clusters(digits, 3.0)
    with pytest.raises(ValueError, match="k must be at most max_exact = 10 when N = 700 > max_exact, got 11"):
        hierarchical_clusters(digits, 11, max_exact=10)
    with pytest.raises(ValueError, match="max_exact must be an int >= 2, got 1"):
        hierarchical_clusters(digits, 2, max_exact=1)
    with pytest.raises(ValueError, match=r"x must be 2-D"):
        hierarchical_clusters(digits[0], 2)
    bad = digits.copy()
    bad[3, 0] = np.inf
    with pytest.raises(ValueError, match="row 3 holds NaN or inf"):
        hierarchical_clusters(bad, 2)
