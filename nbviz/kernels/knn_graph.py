"""The k nearest other items of every item (a kNN graph): exactly with :func:`~nbviz.kernels.neighbors.knn_all`
below :data:`APPROX_MIN_ITEMS`, with an inverted-file index (k-means cells, probes tuned on a measured recall sample)
above it. Built on the exact search of :mod:`nbviz.kernels.neighbors`; used by the neighbourhood agreement of
:mod:`nbviz.kernels.component_stats`.

The index is written here in torch rather than taken from FAISS because, for a whole graph, it is faster: it searches
a cell's items for all of them at once with one matrix product, where FAISS's IVF scans its lists query by query.
At the same recall@10 (~0.97) it took 0.6x FAISS's time at 1M items (benchmarks/README.md, "kNN: FAISS vs IVF vs
exact"). FAISS (``backend="faiss"``) wins single queries on large N instead: :class:`NeighborIndex` uses it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import faiss_ivf
from ._parallel import parallel_map
from .neighbors import NeighborIndex, Search, block_size, check_k, exact_rows

if TYPE_CHECKING:
    import torch  # for annotations; the functions import it when they run


#: From this many items on, :func:`knn_graph` uses the approximate index by default; below it the exact search
#: (N^2 D work) takes at most ~2.5 s per space of 64 features on two CPU cores, and is used.
APPROX_MIN_ITEMS = 30_000
#: Items whose exact neighbours are computed to choose how many cells to probe and to measure the recall.
_RECALL_SAMPLE = 1000
#: The index is not used when it would compute more than this share of the N^2 distances of the exact search.
_MAX_WORK = 0.5
#: Candidates re-measured beyond k by the index: fewer than the exact search's (the selection and the re-measure
#: cost ~1.5x less); near-ties at the k-th are still caught by the tolerance check and redone.
_INDEX_SLACK = 8


@dataclass(frozen=True)
class KnnGraph:
    """The k nearest other items of every item, and how they were found.

    Attributes
    ----------
    indices, distances
        int64 (N, k) and float32 (N, k): row i holds the neighbours of item i (never i itself), nearest first.
    exact
        True when every row is exact (as :func:`knn_all`); False when found with the approximate index.
    recall
        Share of the true k nearest found (recall@k), measured on ``sample`` random items whose exact
        neighbours were computed; 1.0 when exact.
    sample
        How many items ``recall`` was measured on (0 when exact).
    cells, probes
        Approximate index: cells of the data, and cells searched per item (more where those hold too few items
        for the candidates it re-measures); 0 when exact.
    """

    indices: np.ndarray
    distances: np.ndarray
    exact: bool
    recall: float = 1.0
    sample: int = 0
    cells: int = 0
    probes: int = 0
    #: What found them: "exact", "faiss" or "torch" (the torch IVF index).
    backend: str = "exact"


BACKENDS = ("auto", "faiss", "torch")


def knn_graph(x: np.ndarray, k: int, metric: str = "euclidean", *, exact: bool | None = None,
              target_recall: float = 0.95, random_state: int = 0, backend: str = "auto") -> KnnGraph:
    """The ``k`` nearest other items of every item: exactly, or with an IVF index for large N.

    The index (an inverted file): k-means of a sample of the items into about sqrt(N) cells; the items of a
    cell are searched for among the items of the cells whose centres are nearest its own, exactly there (one
    matrix product per cell, float64 re-measure as :func:`knn_all`). How many cells is chosen on a random
    sample of 1,000 items whose exact neighbours are computed: the fewest with which the share of their
    neighbours found exceeds ``target_recall`` by two standard errors; the recall measured on that sample is
    reported with the result. When the data has so little structure that the index would compute more than
    half the distances of the exact search (e.g. isotropic noise in tens of dimensions), the exact search is
    used instead. With class-structured embeddings (benchmarks/components.py) it searches 1-3 % of the cells
    at N = 100,000, with a recall@10 of about 0.96.

    Parameters
    ----------
    x
        (N, D) features (as for :class:`NeighborIndex`).
    k
        Neighbours per item, ``1 <= k <= N - 1``.
    metric
        "euclidean" or "cosine".
    exact
        True: always exact (:func:`knn_all`, N^2 D work). False: the index (unless it would cost more than the
        exact search). None: the index from :data:`APPROX_MIN_ITEMS` items on, exact below.
    target_recall
        Recall@k the index is tuned to reach, in (0, 1].
    random_state
        Seed of the k-means sample, its initial centres and the recall sample.
    backend
        The approximate index: "torch" (written here) or "faiss" (IVF-SQ8 of :mod:`nbviz.kernels.faiss_ivf`, with
        the same tuning and exact re-measure; needs the ``faiss`` extra). "auto" is "torch", measured faster.

    Returns
    -------
    KnnGraph
    """
    index = NeighborIndex(x, metric)
    n = len(index)
    k = check_k(k, n - 1, n)
    if exact not in (None, True, False):
        raise ValueError(f"exact must be True, False or None (by size), got {exact!r}")
    if isinstance(target_recall, bool) or not isinstance(target_recall, (int, float, np.floating)) \
            or not 0 < target_recall <= 1:
        raise ValueError(f"target_recall must be a number in (0, 1], got {target_recall!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if exact is False or (exact is None and n >= APPROX_MIN_ITEMS):
        if backend == "faiss" and faiss_ivf.load_faiss() is None:
            raise ImportError(f"backend='faiss' needs faiss: {faiss_ivf.INSTALL_HINT}")
        graph = _faiss(index, k, float(target_recall), int(random_state)) if backend == "faiss" else \
            _ivf(Search(index, k, _INDEX_SLACK), float(target_recall), int(random_state))
        if graph is not None:
            return graph
    idx, dist = exact_rows(Search(index, k), np.arange(n), block_size(None, n, 256 << 20))
    return KnnGraph(idx, dist, exact=True)


def _faiss(index: NeighborIndex, k: int, target_recall: float, seed: int) -> KnnGraph | None:
    """All-kNN with FAISS's IVF index (see :mod:`nbviz.kernels.faiss_ivf`); None when the exact search is cheaper."""
    n, cosine = len(index), index.metric == "cosine"
    ivf = faiss_ivf.IvfIndex(index.x, cosine, seed)
    sample = np.sort(np.random.default_rng(seed).choice(n, size=min(n, _RECALL_SAMPLE), replace=False))
    true = faiss_ivf.exact_sample(index.x, sample, k, cosine, exclude=True)
    # Past half the cells the index costs about what the exact search does (the _MAX_WORK rule of the torch one).
    tuned = faiss_ivf.tune_probes(ivf, sample, true, target_recall, exclude=True, max_probes=int(_MAX_WORK * ivf.cells))
    if tuned is None:
        return None
    probes, measured = tuned
    ids, dist = ivf.search(index.x, k, probes, exclude=np.arange(n), slack=_INDEX_SLACK)
    search = Search(index, k)
    out_d = search.finish(dist)
    short = np.flatnonzero(ids[:, -1] < 0)  # items whose probed cells held fewer than k others: exactly
    if len(short):
        ids[short], out_d[short] = exact_rows(search, short, block_size(None, n, 256 << 20))
    return KnnGraph(ids, out_d, exact=False, recall=measured, sample=len(sample), cells=ivf.cells, probes=probes,
                    backend="faiss")


def _kmeans(xt: torch.Tensor, cells: int, gen: torch.Generator, iterations: int = 10) -> torch.Tensor:
    """Lloyd's k-means of ``xt`` (a sample) into ``cells`` centres; an empty cell keeps its centre."""
    import torch

    centres = xt[torch.randperm(len(xt), generator=gen)[:cells]].clone()
    for _ in range(iterations):
        near = _nearest_centre(xt, centres)
        onehot = torch.nn.functional.one_hot(near, cells).to(xt.dtype)
        counts = onehot.sum(dim=0)
        sums = onehot.T @ xt  # a matrix product: much faster than index_add_ on a CPU
        centres = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centres)
    return centres


def _nearest_centre(xt: torch.Tensor, centres: torch.Tensor, block: int = 16384) -> torch.Tensor:
    import torch

    csq = (centres * centres).sum(dim=1)
    return torch.cat([torch.addmm(csq[None], xt[s:s + block], centres.T, alpha=-2.0).argmin(dim=1)
                      for s in range(0, len(xt), block)])


def _ivf(search: Search, target_recall: float, seed: int) -> KnnGraph | None:
    """All-kNN with an inverted file (see :func:`knn_graph`); None when the exact search is cheaper."""
    import torch

    index, k = search.index, search.k
    n = len(index)
    cells = max(1, int(round(np.sqrt(n))))
    gen = torch.Generator().manual_seed(seed)
    train = search.xt[torch.randperm(n, generator=gen)[:min(n, 40 * cells)]]
    centres = _kmeans(train, cells, gen)
    assign = _nearest_centre(search.xt, centres).numpy()
    counts = np.bincount(assign, minlength=cells)
    members = np.split(np.argsort(assign, kind="stable"), np.cumsum(counts)[:-1])  # sorted item ids per cell
    # Cells in the order each cell's items search them: its own first (even if another centre coincides with
    # its own), then by distance between centres.
    csq = (centres * centres).sum(dim=1)
    between = torch.addmm(csq[None] + csq[:, None], centres, centres.T, alpha=-2.0).fill_diagonal_(-float("inf"))
    probe_order = torch.argsort(between, dim=1).numpy()
    # Exact neighbours of a sample of items: the rank (in its cell's probe order) of each one's cell.
    sample = np.sort(np.random.default_rng(seed).choice(n, size=min(n, _RECALL_SAMPLE), replace=False))
    true_i, _ = exact_rows(search, sample, 256)
    rank = np.argsort(probe_order, axis=1)  # rank[c, j]: position of cell j in cell c's probe order
    found = rank[assign[sample][:, None], assign[true_i]]
    # Per sampled item, the share of its neighbours found when p cells are searched, for p = 1..cells; the
    # fewest cells whose mean share is above the target by two standard errors (of the sample's mean).
    hist = np.zeros((len(sample), cells))
    np.add.at(hist, (np.arange(len(sample))[:, None], found), 1.0)
    share = np.cumsum(hist, axis=1) / k
    low = share.mean(axis=0) - 2 * share.std(axis=0) / np.sqrt(len(sample))
    probes = int(np.argmax(low >= target_recall)) + 1 if (low >= target_recall).any() else cells
    # Enough cells that every item has k + slack candidates besides itself.
    sizes = counts[probe_order]
    enough = np.argmax(np.cumsum(sizes, axis=1) > min(n - 1, k + search.slack), axis=1) + 1
    per_cell = np.maximum(probes, enough)
    cost = counts * np.cumsum(sizes, axis=1)[np.arange(cells), per_cell - 1]  # distances computed per cell
    if float(cost.sum()) > _MAX_WORK * n * n:
        return None
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k), dtype=np.float64)

    def search_cell(c: int) -> None:
        c_ids = np.sort(np.concatenate([members[j] for j in probe_order[c, :per_cell[c]]]))
        # Rows at a time within a large cell, so that one block of distances stays under 64 MB.
        rows = max(1, (64 << 20) // (4 * len(c_ids)))
        for s in range(0, len(members[c]), rows):
            q_ids = members[c][s:s + rows]
            self_pos = np.searchsorted(c_ids, q_ids)
            dist = search.distances(q_ids, c_ids)
            dist[torch.arange(len(q_ids)), torch.from_numpy(self_pos)] = float("inf")
            out_i[q_ids], out_d[q_ids] = search.nearest(q_ids, c_ids, dist, self_pos)

    # The costliest cells first, so that the last ones handed out are short.
    parallel_map(search_cell, [int(c) for c in np.argsort(-cost, kind="stable") if counts[c]])
    got = out_i[sample]
    both = np.sort(np.concatenate([got, true_i], axis=1), axis=1)
    recall = float((both[:, 1:] == both[:, :-1]).sum() / true_i.size)
    return KnnGraph(out_i, search.finish(out_d), exact=False, recall=recall, sample=len(sample), cells=cells,
                    probes=probes, backend="torch")
