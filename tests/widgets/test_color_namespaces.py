"""Built-in colourings ("label", "cluster", "value") and metadata columns are separate namespaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nbviz
from nbviz.widgets.components_view import ComponentsProbe

compare = nbviz.EmbeddingExplorer.compare

N = 60
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, 5))
LABELS = np.array(["cat", "dog", "owl"])[np.arange(N) % 3]
META = pd.DataFrame({
    "cluster": np.where(np.arange(N) % 2, "odd", "even"),  # categorical
    "value": np.linspace(-5.0, 5.0, N),  # numeric, many values: coloured by value
    "label": np.where(np.arange(N) < 30, "first", "second"),
    "parity": np.where(np.arange(N) % 2, "odd", "even"),
    7: np.arange(N) % 4,
})


def explorer(**kwargs):
    return nbviz.EmbeddingExplorer(X, metadata=META, method="pca", **kwargs)


def test_builtins_and_same_named_columns_coexist():
    colors = np.arange(N, dtype=float)
    ex = explorer(labels=LABELS, clusters=3, colors=colors)
    assert ex.color_mode == "value" and ex.value_range == [0.0, N - 1.0]  # default: the colors given
    ex.color_by("cluster")
    assert ex.category_names == ["cluster 0", "cluster 1", "cluster 2"] and ex.color_title == "cluster"
    ex.color_by("column:cluster")
    assert ex.category_names == ["even", "odd"] and ex.color_title == "cluster"
    np.testing.assert_array_equal(np.asarray(ex.category_names)[ex.categories], META["cluster"])
    ex.color_by("value")
    assert ex.color_mode == "value" and ex.value_range == [0.0, N - 1.0]
    ex.color_by("column:value")
    assert ex.color_mode == "value" and ex.value_range == [-5.0, 5.0] and ex.color_title == "value"
    ex.color_by("label")
    assert ex.color_mode == "category" and ex.category_names == ["cat", "dog", "owl"]
    ex.color_by("column:label")
    assert ex.category_names == ["first", "second"] and ex.color_title == "label"
    # A bare column name still works when it is no built-in name; non-str column names by their text.
    ex.color_by("parity")
    assert ex.category_names == ["even", "odd"] and ex.color_title == "parity"
    ex.color_by("column:7")
    assert ex.category_names == ["0", "1", "2", "3"] and ex.color_title == "7"
    assert explorer(color_by="column:cluster").category_names == ["even", "odd"]


def test_columns_named_like_builtins_do_not_crash_without_the_builtin():
    ex = explorer()  # the old code picked the "cluster" column as the cluster colouring and crashed
    assert ex.color_mode == "category" and ex.categories is None
    for name, needs in (("cluster", "clusters=k"), ("value", "colors"), ("label", "labels")):
        with pytest.raises(ValueError, match=rf"color_by={name!r} needs {needs} \(for the metadata column "
                                             rf"{name!r} pass color_by='column:{name}'\)"):
            ex.color_by(name)
        ex.color_by(f"column:{name}")
        assert ex.color_title == name
    with pytest.raises(ValueError, match=r"color_by must be one of \['column:cluster', .*\], got 'column:nope'"):
        ex.color_by("column:nope")
    with pytest.raises(ValueError, match="color_by must be one of"):
        explorer(color_by="cluster")


def test_heatmap_cell_of_a_column_named_cluster_colours_by_the_column():
    ex = explorer(labels=LABELS, clusters=3)
    probe = ComponentsProbe(ex, 2)
    _, names, _ = probe.correlations()
    probe.color_by_cell(0, names.index("value"))
    assert ex.color_mode == "value" and ex.value_range == [-5.0, 5.0]


def test_compare_datasets_can_colour_by_class():
    a = nbviz.Features(X[:40], labels=LABELS[:40])
    b = nbviz.Features(X[40:] + 1.0, labels=LABELS[40:])
    cmp = compare({"train": a, "test": b}, fit_on="train")
    ex = cmp.explorers[0]
    assert ex.category_names == ["test", "train"]  # by set, as before
    ex.color_by("column:label")
    assert ex.category_names == ["cat", "dog", "owl"]
    np.testing.assert_array_equal(np.asarray(ex.category_names)[ex.categories], LABELS)
    by_class = compare({"train": a, "test": b}, fit_on="train", color_by="column:label").explorers[0]
    assert by_class.category_names == ["cat", "dog", "owl"] and by_class.color_title == "label"
