"""ComponentsProbe and compare(): state and wiring to the explorer, without a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

import nbviz
from nbviz.widgets.components_view import ComponentsProbe

compare = nbviz.EmbeddingExplorer.compare


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture
def explorer(digits):
    return nbviz.EmbeddingExplorer(digits.data, labels=digits.target, images=digits.images / 16.0, method="pca",
                                   metadata=pd.DataFrame({"ink": digits.data.sum(axis=1)}))


def test_probe_numbers_match_sklearn(explorer, digits):
    probe = ComponentsProbe(explorer, 6)
    ref = PCA(6).fit(digits.data)
    assert all(type(v) is float for v in probe.explained_variance_ratio)
    np.testing.assert_allclose(probe.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-4)
    scores = ref.transform(digits.data)
    for i in range(6):
        low, high = probe.extremes(i, m=5)
        col = scores[:, i] * np.sign(scores[:, i] @ probe.scores[:, i])
        assert low.tolist() == np.argsort(col, kind="stable")[:5].tolist()
        assert high.tolist() == np.argsort(-col, kind="stable")[:5].tolist()
    assert "ComponentsProbe(n=6" in repr(probe)


def test_view_columns_click_axes_walk_and_heatmap(explorer):
    probe = ComponentsProbe(explorer, 4, m=3)
    view = probe.view()
    assert view is probe.view(), "one view, made once"
    assert [c["title"].split(" ")[0] for c in view.columns] == ["PC1", "PC2", "PC3", "PC4"]
    assert view.columns[2]["high"] == probe.extremes(2, 3)[1].tolist()
    assert view.columns[0]["low_text"] == [str(explorer.features.labels[i]) for i in view.columns[0]["low"]]
    # A click on a component (front end writes `active`) draws the explorer at those PCs.
    view.active = [2, 3]
    np.testing.assert_array_equal(explorer.points, probe.scores[:, [2, 3]].astype(np.float32))
    # A click on a scree bar does the same (bqplot writes `selected`).
    probe.scree_figure().marks[0].selected = [1]
    np.testing.assert_array_equal(explorer.points, probe.scores[:, [1, 2]].astype(np.float32))
    assert view.active == [1, 2]
    # The walk: the slider's step picks the items nearest that position; the first is focused in the scatter.
    view.walk_component, view.walk_step = 1, 8
    positions, idx = probe.walk(1)
    assert view.walk_indices == idx[8].tolist() and explorer.focus == idx[8][0]
    assert view.walk_positions == pytest.approx(positions.tolist())
    # Heatmap: 10 labels + 1 metadata column; a click on a metadata cell colours the scatter by it.
    assert view.correlations.shape == (4, 11) and view.corr_columns[-1] == "ink"
    view.corr_cell = [0, 10]
    assert explorer.color_title == "ink"
    explorer.selection = [5, 6]
    view.corr_cell = [1, 3]
    # A click on a class's cell colours by the labels; the user's selection stays as it was.
    assert explorer.color_title == "label"
    assert np.asarray(explorer.selection).tolist() == [5, 6]
    view.picked = 17
    assert explorer.focus == 17
    assert view.error == ""


def test_images_request_and_static_png(explorer):
    probe = ComponentsProbe(explorer, 3)
    view = probe.view()
    reply, buffers = view._reply_images({"indices": [0, 5], "size": 16})
    assert reply["indices"] == [0, 5] and all(b.startswith(b"\x89PNG") for b in buffers)
    with pytest.raises(ValueError, match="'indices' must be a list of indices"):
        view._reply_images({"indices": [5000]})
    assert view._static_png().startswith(b"\x89PNG")


def test_probe_fit_on_another_set_and_bad_input(digits, explorer):
    probe = ComponentsProbe(explorer, 3, fit_on=digits.data[:500])
    ref = PCA(3).fit(digits.data[:500])
    got = probe.scores * np.sign((probe.scores * ref.transform(digits.data)).sum(axis=0))
    np.testing.assert_allclose(got, ref.transform(digits.data), atol=1e-2)
    with pytest.raises(ValueError, match=r"n must be an int from 1 to min\(N, D\) = 64"):
        ComponentsProbe(explorer, 65)
    with pytest.raises(ValueError, match="i must be a component index in 0..2"):
        probe.show_axes(3)
    # No labels, no metadata: text falls back to the index, and there is no heatmap.
    bare = ComponentsProbe(nbviz.EmbeddingExplorer(digits.data, method="pca"), 2)
    view = bare.view()
    assert view.correlations is None and view.columns[0]["low_text"][0].startswith("#")


def test_compare_same_items_links_and_agreement(digits):
    from nbviz.kernels.component_stats import neighborhood_agreement

    a, b = digits.data, digits.data[:, ::2]
    cmp = compare({"pixels": a, "half": b}, images=digits.images / 16.0, labels=digits.target, k=5)
    assert cmp.mode == "items" and len(cmp.explorers) == 2
    np.testing.assert_allclose(cmp.agreement, neighborhood_agreement(a, b, 5))
    left, right = cmp.explorers
    assert left.color_mode == "value" and left.color_title == "agreement"  # the colour bar says what it shows
    left.selection = [3, 4, 5]
    assert np.asarray(right.selection).tolist() == [3, 4, 5]
    right.focus = 9
    assert left.focus == 9
    moved = cmp.moved_most(10)
    assert moved["agreement"].is_monotonic_increasing and moved["agreement"].iloc[0] == cmp.agreement.min()
    assert cmp.panel.columns[0]["kind"] == "table" and cmp.panel.columns[0]["low"][:10] == moved["index"].tolist()
    names = [r["name"] for r in cmp.panel.summary]
    assert "pixels: trustworthiness (k=5)" in names and "half: kNN recall (k=5)" in names
    assert cmp.agreement_exact and {"name": "neighbours", "value": "exact"} in cmp.panel.summary
    assert "approximate" not in cmp.panel.title
    cmp.panel.picked = int(moved["index"].iloc[0])
    assert left.focus == right.focus == moved["index"].iloc[0]


def test_compare_says_when_the_neighbours_are_approximate(digits):
    from nbviz.kernels.component_stats import neighborhood_agreement

    a, b = digits.data, digits.data[:, ::2]
    cmp = compare({"pixels": a, "half": b}, labels=digits.target, k=5, exact_neighbors=False)
    assert cmp.agreement_exact is False and set(cmp.agreement_recall) == {"pixels", "half"}
    assert all(0.9 <= r < 1 for r in cmp.agreement_recall.values())
    np.testing.assert_array_equal(cmp.agreement, neighborhood_agreement(a, b, 5, exact=False))
    assert cmp.panel.title.endswith("(Jaccard, k=5, approximate neighbours)")
    row = next(r for r in cmp.panel.summary if r["name"].startswith("neighbours"))
    assert row["name"] == "neighbours: approximate (IVF index)"
    assert row["value"].startswith(f"pixels recall@5 {cmp.agreement_recall['pixels']:.3f}")


def test_compare_datasets_shift_and_extremes(digits):
    train, test = digits.data[:1000], digits.data[1000:] + 3.0 * (digits.data[1000:] > 8)
    cmp = compare({"train": nbviz.Features(train, labels=digits.target[:1000]),
                   "test": nbviz.Features(test, labels=digits.target[1000:])}, fit_on="train")
    assert cmp.mode == "datasets" and len(cmp.explorers) == 1
    ex = cmp.explorers[0]
    assert len(ex.points) == len(digits.data) and ex.category_names == ["test", "train"]
    worst = int(cmp.shift["ks"].idxmax())
    assert cmp.panel.columns[0]["index"] == worst and f"PC{worst + 1}" in cmp.panel.title
    assert any("trustworthiness" in r["name"] for r in cmp.panel.summary)
    assert cmp.panel.columns[0]["low_text"][0].split(":")[0] in ("train", "test")


def test_compare_bad_input(digits):
    x = digits.data
    with pytest.raises(ValueError, match="fit_on must be one of the keys of sets \\['a', 'b'\\], got 'c'"):
        compare({"a": x, "b": x}, fit_on="c")
    with pytest.raises(ValueError, match="sets must be a dict of 2 to 6 feature sets"):
        compare({"a": x})
    with pytest.raises(ValueError, match="same D"):
        compare({"a": x, "b": x[:100, :10]})
    with pytest.raises(ValueError, match="got 7 set"):
        compare({c: x for c in "abcdefg"})


def test_explorer_entry_points_are_the_probe_and_compare():
    x = np.random.default_rng(0).normal(size=(60, 8)).astype("float32")
    ex = nbviz.EmbeddingExplorer(x, method="pca")
    probe = ex.components(n=3)
    assert isinstance(probe, ComponentsProbe) and len(probe.explained_variance_ratio) == 3
    cmp = nbviz.EmbeddingExplorer.compare({"a": x, "b": x[:, ::-1].copy()})
    assert len(cmp.explorers) == 2 and all(isinstance(e, nbviz.EmbeddingExplorer) for e in cmp.explorers)

    class Mine(nbviz.EmbeddingExplorer):  # a subclass's compare draws its own class
        pass

    assert not any(isinstance(e, Mine) for e in cmp.explorers)
    assert all(isinstance(e, Mine) for e in Mine.compare({"a": x, "b": x[:, ::-1].copy()}).explorers)


def test_protocol_ts_lists_the_synced_traits():
    """js/src/components_view/protocol.ts types exactly the traits ComponentsView syncs."""
    import re
    from pathlib import Path

    import anywidget

    from nbviz.widgets.components_view import ComponentsView

    text = (Path(__file__).resolve().parents[2] / "js/src/components_view/protocol.ts").read_text()
    body = re.search(r"export interface ComponentsTraits \{(.*?)\n\}", text, re.S)
    assert body, "protocol.ts has no ComponentsTraits interface"
    typed = set(re.findall(r"^  (\w+): ", body.group(1), re.M))
    synced = set(ComponentsView.class_traits(sync=True)) - set(anywidget.AnyWidget.class_traits(sync=True))
    assert typed == synced, f"only in protocol.ts: {typed - synced}; only in Python: {synced - typed}"
