"""The explorer says when its projection was fitted on a sample (UMAP on a sample + transform for the rest)."""

from __future__ import annotations

import numpy as np

import nbviz


def test_the_title_states_the_sample_a_projection_was_fitted_on():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(loc=c, size=(400, 6)) for c in (0, 6, 12)]).astype(np.float32)
    ex = nbviz.EmbeddingExplorer(x, method="umap", background=False,
                                 method_kwargs={"fit_sample": 300, "n_neighbors": 10, "n_epochs": 30})
    assert ex.plot_title.startswith("UMAP")
    assert "fitted on a random sample of 300 of 1,200 points; the others placed by transform" in ex.plot_title
    whole = nbviz.EmbeddingExplorer(x[:200], method="umap", background=False,
                                    method_kwargs={"fit_sample": 300, "n_neighbors": 10, "n_epochs": 30})
    assert "sample" not in whole.plot_title
    pca = nbviz.EmbeddingExplorer(x, method="pca")
    assert pca.plot_title == "PCA (PC1 × PC2) of 6-D features · 1,200 points"
