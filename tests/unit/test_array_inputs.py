"""Every kernel reads features through one converter (``nbviz.checks.as_matrix``): the same inputs work everywhere
(bfloat16 and float16 tensors, lists, DataFrames) and the same bad inputs fail with the same error naming the
parameter."""

import numpy as np
import pandas as pd
import pytest
import torch

from nbviz.checks import as_matrix
from nbviz.kernels.clustering import hierarchical_clusters
from nbviz.kernels.component_stats import trustworthiness
from nbviz.kernels.components import principal_components
from nbviz.kernels.knn_graph import knn_graph
from nbviz.kernels.neighbors import NeighborIndex, knn_all
from nbviz.kernels.probmap import check_points
from nbviz.kernels.projection import pca

# Values bfloat16 holds exactly, so every input form below stands for the same numbers.
X = (np.random.default_rng(0).integers(-8, 8, size=(40, 6)) / 4).astype(np.float32)

ENTRY_POINTS = {
    "NeighborIndex": lambda x: NeighborIndex(x).query(3, 5).indices,
    "knn_all": lambda x: knn_all(x, 4)[0],
    "knn_graph": lambda x: knn_graph(x, 4, exact=True).indices,
    "pca": lambda x: pca(x, 2),
    "principal_components": lambda x: principal_components(x, 3).scores,
    "hierarchical_clusters": lambda x: hierarchical_clusters(x, 3),
    "trustworthiness": lambda x: trustworthiness(x, X[:, :2], k=5, sample=None),
    "check_points": lambda x: check_points(x, "X"),
}

FORMS = {
    "bfloat16 tensor": lambda: torch.from_numpy(X).to(torch.bfloat16),
    "float16 tensor": lambda: torch.from_numpy(X).to(torch.float16),
    "float64 tensor": lambda: torch.from_numpy(X).double(),
    "list of lists": lambda: X.tolist(),
    "DataFrame": lambda: pd.DataFrame(X),
    "Fortran-ordered float64": lambda: np.asfortranarray(X.astype(np.float64)),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_form_gives_what_float32_numpy_gives(entry, form):
    run = ENTRY_POINTS[entry]
    np.testing.assert_allclose(np.asarray(run(FORMS[form]()), dtype=np.float64),
                               np.asarray(run(X), dtype=np.float64), rtol=1e-5, atol=1e-5)


BAD = {
    "strings": (np.array([["a", "b"]]), TypeError, "must hold real numbers"),
    "None": (None, TypeError, "must be a numpy array, torch tensor or list"),
    "1-D": (np.zeros(5), ValueError, r"must be 2-D \(N, D\)"),
    "NaN in row 2": (np.where(np.arange(36).reshape(6, 6) == 15, np.nan, 1.0), ValueError, "row 2 holds NaN or inf"),
    "inf in a bf16 tensor": (torch.eye(6, dtype=torch.bfloat16).index_fill_(0, torch.tensor([1]), float("inf")),
                             ValueError, "row 1 holds NaN or inf"),
}


@pytest.mark.parametrize("bad", BAD)
def test_one_error_for_each_bad_input(bad):
    value, kind, message = BAD[bad]
    with pytest.raises(kind, match=f"^features .*{message}"):
        as_matrix(value, "features")
    for entry in ("NeighborIndex", "pca", "principal_components", "check_points"):
        with pytest.raises(kind, match=message):
            ENTRY_POINTS[entry](value)


def test_no_copy_of_what_already_fits():
    assert as_matrix(X) is X
    assert np.shares_memory(as_matrix(torch.from_numpy(X)), X)
