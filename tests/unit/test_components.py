"""Components, extremes, correlations, shift, agreement and faithfulness against independent references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness as sk_trustworthiness

from nbviz.kernels.component_stats import (
    component_correlations,
    distribution_shift,
    knn_recall,
    neighborhood_agreement,
    trustworthiness,
)
from nbviz.kernels.components import extremes, principal_components, walk


@pytest.fixture(scope="module")
def digits():
    return load_digits().data.astype(np.float32)


def aligned_sign(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """b's columns flipped to point the way a's do."""
    return b * np.sign((a * b).sum(axis=0))


@pytest.mark.parametrize("solver", ["exact", "randomized"])
def test_variances_scores_and_extremes_match_sklearn(digits, solver):
    ref = PCA(8, svd_solver="full").fit(digits)
    ref_scores = ref.transform(digits)
    got = principal_components(digits, 8, solver=solver)
    np.testing.assert_allclose(got.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-4)
    np.testing.assert_allclose(got.explained_variance, ref.explained_variance_, rtol=1e-4)
    assert isinstance(got.explained_variance_ratio[0], np.floating)
    scores = aligned_sign(ref_scores, got.scores)
    np.testing.assert_allclose(scores, ref_scores, atol=2e-3 * np.abs(ref_scores).max())
    comps = got.components
    np.testing.assert_allclose(comps @ comps.T, np.eye(8), atol=1e-5)
    for i in range(8):
        low, high = extremes(got.scores, i, 8)
        flip = np.sign(got.scores[:, i] @ ref_scores[:, i]) < 0
        ref_low = np.argsort(ref_scores[:, i], kind="stable")[:8]
        ref_high = np.argsort(-ref_scores[:, i], kind="stable")[:8]
        assert (high.tolist(), low.tolist()) == (ref_low.tolist(), ref_high.tolist()) if flip else \
            (low.tolist(), high.tolist()) == (ref_low.tolist(), ref_high.tolist())


def test_randomized_on_wide_data_and_sign_convention():
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(6, 300))
    x = (rng.normal(size=(3000, 6)) * [9, 7, 5, 3, 2, 1]) @ basis + 0.05 * rng.normal(size=(3000, 300))
    got = principal_components(x.astype(np.float32), 6, solver="randomized")
    ref = PCA(6).fit(x)
    np.testing.assert_allclose(got.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-3)
    c = got.components
    assert (c[np.arange(6), np.abs(c).argmax(axis=1)] > 0).all()


def test_randomized_on_a_flat_spectrum_matches_the_full_solver():
    # 40 directions of slowly falling variance (gaps of a few %) + noise: the hard case for a randomized solver.
    # Subspace iteration with the same passes over the data was off by 1e-4 to 3e-4 here; block Krylov, ~1e-6.
    rng = np.random.default_rng(0)
    x = ((rng.normal(size=(4000, 40)) * np.linspace(10, 1, 40)) @ rng.normal(size=(40, 300))
         + rng.normal(size=(4000, 300))).astype(np.float32)
    ref = PCA(10, svd_solver="full").fit(x)
    got = principal_components(x, 10, solver="randomized")
    np.testing.assert_allclose(got.explained_variance_ratio, ref.explained_variance_ratio_, rtol=2e-5)
    scores = aligned_sign(ref.transform(x), got.scores)
    np.testing.assert_allclose(scores[:, :3], ref.transform(x)[:, :3], atol=1e-3 * np.abs(scores).max())


@pytest.mark.parametrize("d", [12, 30])
def test_randomized_basis_stops_at_the_dimension(d):
    # n + oversample >= D (one block spans the space) or two blocks do: the basis is all of R^D, so exact.
    x = np.random.default_rng(2).normal(size=(5000, d)).astype(np.float32) * np.linspace(3, 1, d, dtype=np.float32)
    got = principal_components(x, 5, solver="randomized")
    np.testing.assert_allclose(got.explained_variance_ratio, PCA(5).fit(x).explained_variance_ratio_, rtol=1e-5)


def test_torch_input_and_fit_on_one_apply_to_another(digits):
    train, test = digits[:1000], digits[1000:]
    fitted = principal_components(torch.from_numpy(train), 5)
    ref = PCA(5).fit(train)
    applied = fitted.transform(test)
    np.testing.assert_allclose(aligned_sign(ref.transform(test), applied), ref.transform(test), atol=1e-2)
    with pytest.raises(ValueError, match="D = 10 features but the components were fitted on D = 64"):
        fitted.transform(np.zeros((3, 10)))


def test_bad_input_is_named():
    x = np.random.default_rng(0).normal(size=(20, 5))
    with pytest.raises(ValueError, match=r"n must be an int from 1 to min\(N, D\) = 5"):
        principal_components(x, 6)
    with pytest.raises(ValueError, match="zero variance"):
        principal_components(np.ones((10, 4)), 1)
    x[:, 2:] = 3.0
    with pytest.raises(ValueError, match="more than the 2 features of x that vary"):
        principal_components(x, 3)
    with pytest.raises(ValueError, match="solver"):
        principal_components(x, 1, solver="arpack")
    with pytest.raises(ValueError, match="finite"):
        principal_components(np.full((4, 3), np.nan), 1)
    with pytest.raises(ValueError, match=r"i must be a component index in 0\.\.1"):
        extremes(np.zeros((5, 2)), 2)
    with pytest.raises(ValueError, match="m must be an int from 1 to N = 5"):
        extremes(np.zeros((5, 2)), 0, 6)


def test_walk_goes_along_the_axis(digits):
    pc = principal_components(digits, 4)
    positions, idx = walk(pc.scores, 0, steps=7, m=2)
    assert idx.shape == (7, 2) and np.all(np.diff(positions) > 0)
    # Each step's nearest item, by brute force in score space, to (position, 0, 0, 0).
    for p, row in zip(positions, idx, strict=True):
        target = np.zeros(4)
        target[0] = p
        d = np.linalg.norm(pc.scores - target, axis=1)
        assert row.tolist() == np.lexsort((np.arange(len(d)), d))[:2].tolist()
    assert pc.scores[idx[-1, 0], 0] > pc.scores[idx[0, 0], 0]


def test_correlations_one_vs_rest_and_metadata():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)
    scores = np.stack([(y == 1) + 0.1 * rng.normal(size=500), rng.normal(size=500)], axis=1)
    meta = pd.DataFrame({"size": scores[:, 1] * 2 + 1, "name": ["a"] * 500, "const": 1.0})
    matrix, names, kinds = component_correlations(scores, y, meta)
    assert names == ["0", "1", "2", "size", "const"] and kinds == ["label"] * 3 + ["metadata"] * 2
    for j, col in enumerate([(y == 0), (y == 1), (y == 2), meta["size"].to_numpy()]):
        for i in range(2):
            assert matrix[i, j] == pytest.approx(np.corrcoef(scores[:, i], col)[0, 1], abs=1e-9)
    assert np.isnan(matrix[:, 4]).all()
    with pytest.raises(ValueError, match="single class"):
        component_correlations(scores, np.zeros(500))
    with pytest.raises(ValueError, match="nothing to correlate"):
        component_correlations(scores)


def test_distribution_shift_mean_and_ks():
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 3))
    b = rng.normal(size=(1500, 3)) + [0.0, 2.0, 0.0]
    b[:, 2] *= 3
    table = distribution_shift(a, b)
    assert table["mean_shift"][1] == pytest.approx((b[:, 1].mean() - a[:, 1].mean()) / a[:, 1].std(ddof=1))
    assert abs(table["mean_shift"][0]) < 0.1
    assert table["ks"][2] == pytest.approx(ks_2samp(a[:, 2], b[:, 2]).statistic)
    assert table["ks"].idxmax() == 1
    with pytest.raises(ValueError, match="same number of components"):
        distribution_shift(a, b[:, :2])


def brute_jaccard(a, b, k):
    def sets(x):
        d = ((x[:, None] - x[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        return [set(np.argsort(r, kind="stable")[:k]) for r in d]
    return np.array([len(p & q) / len(p | q) for p, q in zip(sets(a), sets(b), strict=True)])


def test_agreement_matches_brute_force_jaccard():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(300, 12))
    b = a[:, :6] + 0.3 * rng.normal(size=(300, 6))
    got = neighborhood_agreement(a, b, k=7)
    np.testing.assert_allclose(got, brute_jaccard(a, b, 7))
    assert 0 < got.mean() < 1
    np.testing.assert_allclose(neighborhood_agreement(a, a * 2, k=7), 1.0)
    with pytest.raises(ValueError, match="layer2 has N = 300 items but layer4 has N = 299"):
        neighborhood_agreement(a, b[:299], names=("layer2", "layer4"))


def test_agreement_with_approximate_neighbours_is_close_to_exact():
    # Same items in two spaces with class structure (as two models' embeddings), large enough for the index.
    rng = np.random.default_rng(5)
    z = 3 * rng.normal(size=(40, 6))[rng.integers(0, 40, 10_000)] + rng.normal(size=(10_000, 6))
    a = np.tanh(z @ rng.normal(size=(6, 32)) / 3) + 0.05 * rng.normal(size=(10_000, 32))
    b = (z + 0.3 * rng.normal(size=z.shape)) @ rng.normal(size=(6, 16))
    exact, graphs = neighborhood_agreement(a, b, 10, return_graphs=True)
    assert all(g.exact for g in graphs)
    approx, graphs = neighborhood_agreement(a, b, 10, exact=False, return_graphs=True)
    assert not any(g.exact for g in graphs) and all(g.recall >= 0.95 for g in graphs)
    assert abs(approx.mean() - exact.mean()) < 0.02 and np.abs(approx - exact).mean() < 0.03
    np.testing.assert_array_equal(neighborhood_agreement(a, b, 10, exact=False), approx)


def test_trustworthiness_and_recall_match_references(digits):
    layout = PCA(2).fit_transform(digits)
    # Integer pixels tie often, and scikit-learn breaks ties by an unstable sort: exact on tie-free data only.
    jittered = digits + np.random.default_rng(0).normal(scale=1e-3, size=digits.shape).astype(np.float32)
    for k in (5, 12):
        assert trustworthiness(jittered, layout, k) == pytest.approx(
            sk_trustworthiness(jittered, layout, n_neighbors=k), abs=1e-9)
        assert trustworthiness(digits, layout, k) == pytest.approx(
            sk_trustworthiness(digits, layout, n_neighbors=k), abs=1e-3)
    # A sample of rows estimates the same number.
    assert trustworthiness(jittered, layout, 10, sample=400) == pytest.approx(
        sk_trustworthiness(jittered, layout, n_neighbors=10), abs=0.02)
    true = [set(np.argsort(((digits - digits[i]) ** 2).sum(1) + np.eye(len(digits))[i] * 1e30)[:10])
            for i in range(0, len(digits), 50)]
    near = [set(np.argsort(((layout - layout[i]) ** 2).sum(1) + np.eye(len(digits))[i] * 1e30)[:10])
            for i in range(0, len(digits), 50)]
    rows = np.arange(0, len(digits), 50)
    expected = np.mean([len(p & q) / 10 for p, q in zip(true, near, strict=True)])
    full = knn_recall(digits, layout, 10)
    assert 0.05 < full < 0.5
    sampled = knn_recall(digits, layout, 10, sample=len(rows))
    assert abs(sampled - expected) < 0.1
    assert knn_recall(digits, digits[:, :2] * 0 + digits[:, [10, 20]], 10) < 1
    assert trustworthiness(digits, digits, 5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="x has N = 1797 items but layout has N = 10"):
        trustworthiness(digits, layout[:10])
    with pytest.raises(ValueError, match="k must be an int"):
        knn_recall(digits, layout, 0)


def test_large_data_path_matches_sklearn(monkeypatch, digits):
    """The streaming statistics used above EXACT_MAX_ENTRIES give the same ratios (and catch constant data)."""
    import nbviz.kernels.components as comp

    monkeypatch.setattr(comp, "EXACT_MAX_ENTRIES", 0)
    got = principal_components(digits + 100.0, 5)
    np.testing.assert_allclose(got.explained_variance_ratio, PCA(5).fit(digits).explained_variance_ratio_, rtol=1e-3)
    with pytest.raises(ValueError, match="more than the 1 features of x that vary"):
        principal_components(np.c_[digits[:, 20], np.ones(len(digits))], 2)
