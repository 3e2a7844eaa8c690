"""compare() with 2 to 6 sets: agreement against a brute-force Jaccard, linking across every explorer, the grid,
dataset shifts per component for every set; without a browser."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp

import nbviz
from nbviz.widgets.panel import Panel

compare = nbviz.EmbeddingExplorer.compare
N, K = 240, 6


@pytest.fixture(scope="module")
def spaces() -> dict[str, np.ndarray]:
    """Six views of the same N items: clusters in 12-D, and projections / noisy copies of them (continuous
    values, so no two distances tie and the k nearest are one set)."""
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 4, size=(4, 12))
    x = centres[np.arange(N) % 4] + rng.normal(size=(N, 12))
    return {"base": x,
            "noisy": x + rng.normal(0, 0.8, size=x.shape),
            "proj": x @ rng.normal(size=(12, 6)),
            "half": x[:, ::2].copy(),
            "warped": np.tanh(x / 3) + rng.normal(0, 0.05, size=x.shape),
            "other": rng.normal(size=(N, 8))}


def brute_knn(x: np.ndarray, k: int) -> list[set[int]]:
    """The k nearest other rows of every row, by all pairwise distances."""
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return [set(row) for row in np.argsort(d, axis=1, kind="stable")[:, :k].tolist()]


def brute_jaccard(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    na, nb = brute_knn(a, k), brute_knn(b, k)
    return np.array([len(p & q) / len(p | q) for p, q in zip(na, nb, strict=True)])


def shown_values(ex) -> np.ndarray:
    """The explorer's colour values back in their own units (the trait holds them scaled to 0..1)."""
    lo, hi = ex.value_range
    return lo + np.asarray(ex.values, dtype=np.float64) * (hi - lo)


def test_two_sets_keep_todays_numbers(spaces):
    a, b = spaces["base"], spaces["proj"]
    cmp = compare({"a": a, "b": b}, k=K)
    expected = brute_jaccard(a, b, K)
    # Jaccard is inter / union of two small integers: the same float whichever way it is computed.
    np.testing.assert_array_equal(cmp.agreement, expected)
    assert list(cmp.agreement_pairs) == [("a", "b")]
    for n in ("a", "b"):
        np.testing.assert_array_equal(cmp.agreement_by_set[n], expected)
        np.testing.assert_allclose(shown_values(cmp.explorers[["a", "b"].index(n)]), expected, atol=1e-6)
    moved = cmp.moved_most(12)
    order = sorted(range(N), key=lambda i: (expected[i], i))[:12]
    assert moved["index"].tolist() == order and moved["agreement"].tolist() == expected[order].tolist()
    assert cmp.panel.title == f"a vs b: neighbourhood agreement (Jaccard, k={K})"
    assert cmp.panel.summary[0] == {"name": "mean agreement", "value": f"{expected.mean():.3f}"}
    assert [r["name"] for r in cmp.panel.summary[1:3]] == ["neighbours", "a: trustworthiness (k=6)"]
    plots = cmp.view().children[0]
    assert plots.direction == "row" and plots.columns == 0 and plots.titles == ["a", "b"]
    cmp.close()


def test_three_sets_agreement_is_the_mean_pairwise_jaccard(spaces):
    names = ["base", "noisy", "proj"]
    cmp = compare({n: spaces[n] for n in names}, k=K, labels=np.arange(N) % 4)
    pairs = {(p, q): brute_jaccard(spaces[p], spaces[q], K) for i, p in enumerate(names) for q in names[i + 1:]}
    assert list(cmp.agreement_pairs) == list(pairs) == [("base", "noisy"), ("base", "proj"), ("noisy", "proj")]
    for key, want in pairs.items():
        np.testing.assert_array_equal(cmp.agreement_pairs[key], want)
    np.testing.assert_allclose(cmp.agreement, sum(pairs.values()) / 3, rtol=0, atol=1e-12)
    for n, ex in zip(names, cmp.explorers, strict=True):
        mine = sum(v for key, v in pairs.items() if n in key) / 2
        np.testing.assert_allclose(cmp.agreement_by_set[n], mine, rtol=0, atol=1e-12)
        np.testing.assert_allclose(shown_values(ex), mine, atol=1e-6)  # each explorer: its set vs the others
        assert ex.color_mode == "value"
    # The sets' means average to the overall agreement (each pair counted from both of its sets).
    np.testing.assert_allclose(np.mean(list(cmp.agreement_by_set.values()), axis=0), cmp.agreement, atol=1e-12)
    assert cmp.agreement_exact and set(cmp.agreement_recall) == set(names)
    moved = cmp.moved_most(5)
    assert moved["index"].tolist() == np.lexsort((np.arange(N), cmp.agreement))[:5].tolist()
    assert "mean pairwise Jaccard, k=6" in cmp.panel.title and cmp.panel.title.startswith("base vs noisy vs proj")
    rows = {r["name"]: r["value"] for r in cmp.panel.summary}
    assert rows["base vs proj: mean agreement"] == f"{pairs['base', 'proj'].mean():.3f}"
    assert rows["mean agreement"] == f"{cmp.agreement.mean():.3f}" and "proj: kNN recall (k=6)" in rows


def test_three_sets_link_selection_focus_and_hidden_categories(spaces):
    cmp = compare({n: spaces[n] for n in ("base", "noisy", "half")}, k=K, labels=np.arange(N) % 4,
                  color_by="label")
    a, b, c = cmp.explorers
    c.selection = [3, 4, 5]
    assert all(np.asarray(e.selection).tolist() == [3, 4, 5] for e in (a, b))
    b.focus = 9
    assert a.focus == c.focus == 9
    a.hidden_categories = [1]
    assert b.hidden_categories == c.hidden_categories == [1]
    cmp.panel.picked = int(cmp.moved_most(1)["index"].iloc[0])
    assert a.focus == b.focus == c.focus == cmp.panel.picked
    # Camera and hover are jslinked through the first explorer: a link to each other one, for both traits.
    assert len([x for x in cmp._links if not isinstance(x, tuple)]) == 2 * 2


def test_six_sets_draw_a_grid_of_three_a_row(spaces):
    cmp = compare(dict(spaces), k=K, height=120)
    names = list(spaces)
    assert len(cmp.explorers) == 6 and len(cmp.agreement_pairs) == 15 and cmp.names == names
    np.testing.assert_allclose(cmp.agreement, np.mean(list(cmp.agreement_pairs.values()), axis=0), atol=1e-12)
    np.testing.assert_array_equal(cmp.agreement_pairs["half", "other"],
                                  brute_jaccard(spaces["half"], spaces["other"], K))
    assert cmp.agreement_by_set["other"].mean() < cmp.agreement_by_set["noisy"].mean()  # the unrelated set
    view = cmp.view()
    plots = view.children[0]
    assert isinstance(plots, Panel) and plots.direction == "row" and plots.columns == 3
    assert plots.titles == names and list(plots.children) == cmp.explorers
    cmp.explorers[5].focus = 17
    assert all(e.focus == 17 for e in cmp.explorers)
    # The picture places the plots as the grid does: two rows of three, each plot under a line of its title.
    from nbviz.export import from_png, text_panel

    one = from_png(cmp.explorers[0]._static_png())
    title = text_panel(["base"], one.shape[1]).shape[0]
    grid = from_png(plots._static_png())
    assert grid.shape[0] == 2 * (title + one.shape[0]) + 8 and grid.shape[1] == 3 * one.shape[1] + 2 * 8
    assert (grid[:title, : one.shape[1], :3] < 128).any()  # the title's text is drawn


def test_set_counts_and_item_mode_errors(spaces):
    x = spaces["base"]
    for bad in ({"a": x}, {c: x for c in "abcdefg"}):
        with pytest.raises(ValueError, match=rf"^sets must be a dict of 2 to 6 feature sets .*got {len(bad)} set"):
            compare(bad)
    with pytest.raises(ValueError, match=r"sets must hold the same items.*mode='items'.*'b': 100"):
        compare({"a": x, "b": x[:100], "c": x}, mode="items")
    with pytest.raises(ValueError, match="fit_on='a' makes a dataset comparison"):
        compare({"a": x, "b": x}, mode="items", fit_on="a")
    with pytest.raises(ValueError, match="mode must be 'items', 'datasets' or None"):
        compare({"a": x, "b": x}, mode="both")
    for name, bad in (("n_components", 1), ("n_components", 2.5), ("m", 0), ("m", True)):
        with pytest.raises(ValueError, match=f"{name} must be an int"):
            compare({"a": x, "b": x[:100]}, **{name: bad})
    # Without mode, sets of different N are datasets (as before); mode="datasets" makes equal N datasets too.
    assert compare({"a": x, "b": x[:100], "c": x}).mode == "datasets"
    assert compare({"a": x, "b": x + 1.0}, mode="datasets").mode == "datasets"


@pytest.fixture(scope="module")
def datasets():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(300, 9)) * np.linspace(3, 0.5, 9)
    sets = {"train": base[:150], "val": base[150:] + 0.1,
            "shifted": rng.normal(size=(120, 9)) * np.linspace(3, 0.5, 9) + np.eye(9)[4] * 2.0}
    two = np.array(["cat", "dog"])[np.arange(150) % 2]
    labels = {"train": two, "val": two.copy(), "shifted": np.array(["cat", "dog", "owl"])[np.arange(120) % 3]}
    return sets, labels


def reference_scores(ref: np.ndarray, xs: list[np.ndarray], n: int) -> list[np.ndarray]:
    """PCA by a direct SVD of the centred reference (signs arbitrary)."""
    mean = ref.mean(axis=0)
    _, _, vt = np.linalg.svd(ref - mean, full_matrices=False)
    return [(x - mean) @ vt[:n].T for x in xs]


def test_datasets_shift_every_set_on_every_component(datasets):
    sets, labels = datasets
    names = list(sets)
    cmp = compare({n: nbviz.Features(sets[n], labels=labels[n]) for n in names}, fit_on="train", n_components=6,
                  m=5, color_by="column:label")
    assert cmp.mode == "datasets" and len(cmp.explorers) == 1 and set(cmp.shifts) == {"val", "shifted"}
    ref = reference_scores(sets["train"], [sets[n] for n in names], 6)
    for n, want in zip(names, ref, strict=True):
        got = cmp.scores[n]
        assert got.shape == (len(sets[n]), 6)
        np.testing.assert_allclose(np.abs(got), np.abs(want), atol=1e-6)  # up to each component's sign
    for n in ("val", "shifted"):
        table = cmp.shifts[n]
        assert table["component"].tolist() == list(range(6))
        a, b = ref[0], ref[names.index(n)]
        ks = [ks_2samp(a[:, j], b[:, j]).statistic for j in range(6)]
        np.testing.assert_allclose(table["ks"], ks, atol=1e-12)
        mean_shift = (b.mean(axis=0) - a.mean(axis=0)) / a.std(axis=0, ddof=1)
        np.testing.assert_allclose(np.abs(table["mean_shift"]), np.abs(mean_shift), atol=1e-6)
    best = max(((n, j) for n in ("val", "shifted") for j in range(6)), key=lambda p: cmp.shifts[p[0]]["ks"][p[1]])
    assert cmp.most_shifted == best and best[0] == "shifted" and cmp.shift is cmp.shifts["shifted"]
    column = cmp.panel.columns[0]
    assert column["index"] == best[1] and len(column["low"]) == len(column["high"]) == 5
    both = np.concatenate([cmp.scores[n] for n in names])
    assert column["high"] == np.lexsort((np.arange(len(both)), -both[:, best[1]]))[:5].tolist()
    assert cmp.panel.title.startswith(f"shifted vs train: most shifted is PC{best[1] + 1}")
    assert sum(r["name"].startswith(("val vs train", "shifted vs train")) for r in cmp.panel.summary) == 12
    ex = cmp.explorers[0]
    # All six components are the explorer's features; PC1 and PC2 are what it draws.
    assert ex.features.dim == 6 and len(ex.points) == 420
    np.testing.assert_allclose(np.asarray(ex.points), both[:, :2], atol=1e-4)
    assert ex.color_title == "label" and ex.category_names == ["cat", "dog", "owl"]
    ex.color_by("label")
    assert ex.category_names == sorted(names)
    cmp.panel.picked = column["low"][0]
    assert ex.focus == column["low"][0]


def test_datasets_defaults_stay_ten_components_and_eight_extremes(datasets):
    sets, _ = datasets
    cmp = compare(sets)  # different N: datasets, the first set as reference
    assert len(cmp.shift) == 9 and cmp.scores["train"].shape == (150, 9)  # min(10, D)
    assert len(cmp.panel.columns[0]["low"]) == 8
    wide = np.random.default_rng(0).normal(size=(60, 14))
    assert len(compare({"a": wide[:30], "b": wide[30:50]}).shift) == 10
