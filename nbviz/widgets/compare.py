"""``EmbeddingExplorer.compare``: 2 to 6 feature sets of the same items side by side, or 2 to 6 datasets in one space.

- Same items (equal N, no ``fit_on``): one explorer per set, in a grid, their selection, focus and hidden
  categories linked (camera and hover too, in the browser). Per item, the neighbourhood agreement of two sets is the
  Jaccard index of its k nearest neighbours in the two N-D spaces; with more sets, ``agreement`` is its mean over
  all pairs of sets and each explorer is coloured by its set's mean agreement with the others. The items that moved
  most are listed (a sortable table; a click focuses every explorer).
- Different items (or ``fit_on``): PCA fitted on the reference set, every set drawn in it (one explorer coloured
  by set, or by class), the shift of every component of every set against the reference listed, and the extremes
  of the most-shifted component shown.

Every projection comes with its faithfulness: trustworthiness and kNN recall of the layout against N-D.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..checks import as_numpy
from ..data import Features
from ..kernels.component_stats import distribution_shift, knn_recall, neighborhood_agreement, trustworthiness
from ..kernels.components import extremes, principal_components
from ..kernels.progress_steps import Steps
from .base import CompositeOutput
from .components_view import ComponentsView, item_text
from .panel import Panel

#: Rows measured for faithfulness on large data (ranks are still among all N).
FAITHFULNESS_SAMPLE = 2000
#: How many feature sets (or datasets) one comparison takes.
MIN_SETS, MAX_SETS = 2, 6
#: Traits kept equal between the explorers of a same-items comparison.
LINKED = ("selection", "focus", "hidden_categories")
BROWSER_LINKED = ("view", "hovered")
#: Rows of the "moved most" table of a same-items comparison.
MOVED_ROWS = 50


def _features(value: Any, name: str) -> Features:
    return value if isinstance(value, Features) else Features(as_numpy(value, name))


def _per_set(value: Any, names: list[str], name: str) -> dict[str, Any]:
    """``value`` given once for all sets, or as {set name: value}."""
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"{name} has keys {unknown} that are not among the feature sets {names}")
        return {k: value.get(k) for k in names}
    return {k: value for k in names}


def _count(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def grid_columns(n: int) -> int:
    """Views a row for ``n`` plots: 2 for 2 and 4 (2 x 2), else 3 (3, 3 + 2, 3 + 3)."""
    return 2 if n in (2, 4) else 3


def faithfulness(x: np.ndarray, layout: np.ndarray, k: int = 10) -> dict[str, float]:
    """Trustworthiness and kNN recall of ``layout`` against ``x`` (sampled rows beyond FAITHFULNESS_SAMPLE)."""
    k = int(min(k, max(1, (len(x) - 1) // 2 - 1)))
    return {"trustworthiness": trustworthiness(x, layout, k, sample=FAITHFULNESS_SAMPLE),
            "knn_recall": knn_recall(x, layout, k, sample=FAITHFULNESS_SAMPLE), "k": k}


def _faithfulness_rows(name: str, f: dict[str, float]) -> list[dict]:
    prefix = f"{name}: " if name else ""
    return [{"name": f"{prefix}trustworthiness (k={f['k']})", "value": f"{f['trustworthiness']:.3f}"},
            {"name": f"{prefix}kNN recall (k={f['k']})", "value": f"{f['knn_recall']:.3f}"}]


class Comparison(CompositeOutput):
    """What :func:`compare` returns: the explorers, the numbers, and a view (displayed in a notebook).

    Attributes
    ----------
    mode
        "items" (same items, one space per set) or "datasets" (different items, one space).
    names
        The set names, in the order given (the first is the reference of a dataset comparison without ``fit_on``).
    explorers
        The EmbeddingExplorer(s) drawn: one per set ("items"), or one for all ("datasets").
    agreement
        "items": float64 (N,), per item the mean over all pairs of sets of the Jaccard index of its ``k`` nearest
        neighbours in the two spaces (two sets: that one Jaccard index); None otherwise.
    agreement_pairs
        "items": ``{(a, b): float64 (N,)}``, the Jaccard index of every pair of sets (``a`` before ``b`` in
        ``names``); ``agreement`` is their mean.
    agreement_by_set
        "items": ``{name: float64 (N,)}``, per item the mean Jaccard of that set with each other set: the colour of
        its explorer. Their mean over the sets is ``agreement`` (two sets: both are ``agreement``).
    agreement_exact
        "items": True when the neighbours behind ``agreement`` are exact, False when an approximate index found
        them (large N, see :func:`nbviz.kernels.knn_graph.knn_graph`); None otherwise.
    agreement_recall
        "items": per set, the recall@k of its neighbours (1.0 when exact, else measured on a sample of items).
    shift
        "datasets": the shift table (one row per component: mean_shift, ks, p_value) of the set that moved most
        from the reference (the only other set when there are two); None otherwise.
    shifts
        "datasets": ``{name: table}`` for every set but the reference.
    most_shifted
        "datasets": ``(set name, component)`` with the largest KS statistic against the reference; None otherwise.
    scores
        "datasets": ``{name: float64 (N_set, n_components)}``, every set on all the reference's components.
    faithfulness
        Per set ("items") or for the reference's (PC1, PC2) ("datasets"): trustworthiness and kNN recall.
    panel
        The :class:`ComponentsView` with the summary, the list of items that moved most or the extremes of the
        most-shifted component.
    """

    def __init__(self, mode: str, explorers: list[Any], panel: ComponentsView, **numbers: Any) -> None:
        self.mode, self.explorers, self.panel = mode, explorers, panel
        self.agreement: np.ndarray | None = numbers.get("agreement")
        self.agreement_pairs: dict[tuple[str, str], np.ndarray] = numbers.get("agreement_pairs", {})
        self.agreement_by_set: dict[str, np.ndarray] = numbers.get("agreement_by_set", {})
        self.agreement_exact: bool | None = numbers.get("agreement_exact")
        self.agreement_recall: dict[str, float] = numbers.get("agreement_recall", {})
        self.shift: pd.DataFrame | None = numbers.get("shift")
        self.shifts: dict[str, pd.DataFrame] = numbers.get("shifts", {})
        self.most_shifted: tuple[str, int] | None = numbers.get("most_shifted")
        self.scores: dict[str, np.ndarray] = numbers.get("scores", {})
        self.faithfulness: dict[str, dict[str, float]] = numbers.get("faithfulness", {})
        self.names: list[str] = numbers.get("names", [])
        self._links: list[Any] = numbers.get("links", [])

    def moved_most(self, m: int = 20) -> pd.DataFrame:
        """The ``m`` items whose neighbourhoods changed most (lowest ``agreement`` first, ties by index)."""
        if self.agreement is None:
            raise ValueError("moved_most needs a same-items comparison (mode 'items')")
        order = np.lexsort((np.arange(len(self.agreement)), self.agreement))[:m]
        return pd.DataFrame({"index": order, "agreement": self.agreement[order]})

    def view(self) -> Panel:
        """The explorers (a row of two, or a grid of up to three a row, titled by set when there is one per set)
        above the panel: one anywidget view, made once, so every display (and the picture) shows the same and
        marimo renders it."""
        view = self.__dict__.get("_view")
        if view is None:
            n = len(self.explorers)
            titles = self.names if len(self.names) == n > 1 else None
            # Two plots wrap as before (each at least 560 px); more make a grid.
            plots = Panel(self.explorers, "row", titles=titles, columns=grid_columns(n) if n > 2 else 0)
            view = self._view = Panel([plots, self.panel], "column")
            self.panel.own(view, plots)  # closed with the comparison
        return view

    def close(self) -> None:
        """Close the explorers, the panel and the links between them."""
        for widget in [*self.explorers, self.panel]:
            widget.close()


def compare(explorer_type: Callable[..., Any], sets: Mapping[str, Any], images: Any = None, labels: Any = None,
            fit_on: str | None = None, k: int = 10, exact_neighbors: bool | None = None, *,
            mode: str | None = None, n_components: int = 10, m: int = 8, **kwargs: Any) -> Comparison:
    """Compare 2 to 6 feature sets: of the same items (models, layers, checkpoints) or datasets.

    ``EmbeddingExplorer.compare`` is this function as a classmethod: ``explorer_type`` (the class, which makes the
    explorers drawn) is passed by Python, so this module does not import the explorer's (no import circle).

    **Agreement** (same items). For two sets A and B, item i's agreement is the Jaccard index
    ``|kNN_A(i) & kNN_B(i)| / |kNN_A(i) | kNN_B(i)|`` of its ``k`` nearest neighbours in the two N-D spaces
    (1: the same neighbourhood, 0: none shared). For S sets, ``Comparison.agreement`` is its mean over all
    S (S - 1) / 2 pairs; each explorer is coloured by its own set's mean Jaccard with the S - 1 others
    (``Comparison.agreement_by_set``, whose mean over the sets is ``agreement``); every pair's values are in
    ``Comparison.agreement_pairs``. With two sets all three are the one Jaccard index. ``moved_most`` sorts by
    ``agreement``.

    Parameters
    ----------
    sets
        ``{name: features}`` with 2 to 6 entries (arrays, tensors or :class:`~nbviz.Features`).
    images, labels
        Per item, for every set at once (same items), or ``{name: value}`` per set.
    fit_on
        Name of the reference set: makes a dataset comparison (PCA fitted on it, every set drawn in it).
        Without it, sets of equal N are compared item by item and sets of different N as datasets with the
        first set as reference.
    k
        Neighbours for agreement and faithfulness.
    exact_neighbors
        Same items: find the neighbours behind the agreement exactly (True), with an approximate index (False)
        or by size (None: approximate from :data:`nbviz.kernels.knn_graph.APPROX_MIN_ITEMS` items on; the
        summary then says so, with the recall measured).
    mode
        "items", "datasets", or None (by the rule under ``fit_on``). "items" refuses sets of different N.
    n_components
        Datasets: principal components of the reference fitted (at most its D and N), on which every set's shift
        is measured; the explorer holds all of them (its neighbours and ``components()`` use them) and draws
        PC1 and PC2.
    m
        Datasets: items shown at each end of the most-shifted component.
    **kwargs
        Passed to each :class:`~nbviz.EmbeddingExplorer` (``method`` defaults to "pca"). Same items: coloured
        by agreement (``color_by="value"``) unless ``color_by`` says otherwise. Datasets: the explorer's labels
        are the set names (``color_by="label"``, the default) and, when every set has labels, the items' own
        labels are its metadata column ``label``: ``color_by="column:label"`` colours by class (as does
        ``comparison.explorers[0].color_by("column:label")`` later).

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        Fewer than 2 or more than 6 sets; ``fit_on`` not a key; ``mode`` not a mode, or "items" with sets of
        different N (or with ``fit_on``); ``k``, ``n_components`` or ``m`` out of range.
    """
    if not isinstance(sets, Mapping) or not MIN_SETS <= len(sets) <= MAX_SETS:
        got = f"{len(sets)} set(s)" if isinstance(sets, Mapping) else type(sets).__name__
        raise ValueError(f"sets must be a dict of {MIN_SETS} to {MAX_SETS} feature sets {{name: features}}, "
                         f"got {got}")
    names = [str(n) for n in sets]
    feats = {str(n): _features(v, f"sets[{n!r}]") for n, v in sets.items()}
    if fit_on is not None and fit_on not in feats:
        raise ValueError(f"fit_on must be one of the keys of sets {names}, got {fit_on!r}")
    if exact_neighbors not in (True, False, None):
        raise ValueError(f"exact_neighbors must be True, False or None (by size), got {exact_neighbors!r}")
    if mode not in ("items", "datasets", None):
        raise ValueError(f"mode must be 'items', 'datasets' or None (by the sets' sizes), got {mode!r}")
    n_components, m = _count(n_components, "n_components", 2), _count(m, "m", 1)
    sizes = {n: len(f) for n, f in feats.items()}
    if mode == "items" and (fit_on is not None or len(set(sizes.values())) > 1):
        why = f"fit_on={fit_on!r} makes a dataset comparison" if fit_on is not None else \
            f"they have N = {sizes}"
        raise ValueError(f"sets must hold the same items, row by row, for mode='items'; {why}")
    if mode != "datasets" and fit_on is None and len(set(sizes.values())) == 1:
        return _compare_items(explorer_type, feats, names, images, labels, k, exact_neighbors, kwargs)
    return _compare_datasets(explorer_type, feats, names, images, labels, fit_on or names[0], k, n_components,
                             m, kwargs)


def _with(f: Features, images: Any, labels: Any) -> Features:
    if images is None and labels is None:
        return f
    return Features(f.embeddings, labels=f.labels if labels is None else labels,
                    images=images if images is not None else (f.images_uint8(slice(None)) if f.n_images else None),
                    metadata=f.metadata)


def _agreements(full: dict[str, Features], names: list[str], k: int, exact: bool | None,
                step: Callable[[str], None]) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, Any]]:
    """Jaccard of every pair of sets (by the kernel) and, per set, the kNN graph it was found with."""
    pairs: dict[tuple[str, str], np.ndarray] = {}
    graphs: dict[str, Any] = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            step(f"kNN graphs and agreement: {a} vs {b}")
            # The kernel finds both graphs again for every pair; it is deterministic (seeded), so a set's
            # neighbours are the same in all its pairs.
            pairs[a, b], (ga, gb) = neighborhood_agreement(full[a].embeddings, full[b].embeddings, k, names=(a, b),
                                                           exact=exact, return_graphs=True)
            graphs.setdefault(a, ga)
            graphs.setdefault(b, gb)
    return pairs, graphs


def _compare_items(explorer_type: Callable[..., Any], feats: dict[str, Features], names: list[str], images: Any,
                   labels: Any, k: int, exact_neighbors: bool | None, kwargs: dict) -> Comparison:
    # A tqdm bar past 0.5 s: the pairs' kNN graphs, the explorers (PCA each), the faithfulness of each layout.
    with Steps(len(names) * (len(names) - 1) // 2 + 2 * len(names), "nbviz compare") as work:
        return _items_work(explorer_type, feats, names, images, labels, k, exact_neighbors, kwargs, work.step)


def _items_work(explorer_type: Callable[..., Any], feats: dict[str, Features], names: list[str], images: Any,
                labels: Any, k: int, exact_neighbors: bool | None, kwargs: dict,
                step: Callable[[str], None]) -> Comparison:
    imgs, labs = _per_set(images, names, "images"), _per_set(labels, names, "labels")
    full = {n: _with(feats[n], imgs[n], labs[n]) for n in names}
    a = names[0]
    pairs, graphs = _agreements(full, names, k, exact_neighbors, step)
    if len(names) == 2:
        agreement = next(iter(pairs.values()))
        by_set = {n: agreement for n in names}
    else:
        agreement = np.mean(np.stack(list(pairs.values())), axis=0)
        by_set = {n: np.mean(np.stack([v for p, v in pairs.items() if n in p]), axis=0) for n in names}
    exact = all(g.exact for g in graphs.values())
    recall = {n: graphs[n].recall for n in names}
    kwargs = {"method": "pca", "color_by": "value", **kwargs}
    explorers = []
    for n in names:
        step(f"explorer of {n}")
        explorers.append(explorer_type(full[n], colors=by_set[n], colors_name="agreement", **kwargs))
    # A star of links through the first explorer: a change anywhere reaches every explorer.
    links: list[Any] = [_link(explorers[0], ex, name) for ex in explorers[1:] for name in LINKED]
    # Camera and hover are linked in the browser: following a pan needs no kernel round trip.
    jslinks = [widgets.jslink((explorers[0], name), (ex, name)) for ex in explorers[1:] for name in BROWSER_LINKED]
    for ex in explorers:
        ex.own(*jslinks)  # a link left open would keep the explorers alive
    links += jslinks
    how = "" if exact else ", approximate neighbours"
    title = f"{a} vs {names[1]}: neighbourhood agreement (Jaccard, k={k}{how})" if len(names) == 2 else \
        f"{' vs '.join(names)}: neighbourhood agreement (mean pairwise Jaccard, k={k}{how}); " \
        "each plot is coloured by its agreement with the others"
    panel = ComponentsView(full[a], title=title)
    comparison = Comparison("items", explorers, panel, agreement=agreement, names=names, links=links,
                            agreement_exact=exact, agreement_recall=recall, agreement_pairs=pairs,
                            agreement_by_set=by_set)
    neighbours = {"name": "neighbours", "value": "exact"} if exact else {
        "name": "neighbours: approximate (IVF index)",
        "value": " · ".join(f"{n} recall@{k} {r:.3f}" for n, r in recall.items())
        + f" (on {max(g.sample for g in graphs.values())} items)"}
    pair_rows = [] if len(names) == 2 else [{"name": f"{p} vs {q}: mean agreement", "value": f"{v.mean():.3f}"}
                                            for (p, q), v in pairs.items()]
    faith: dict[str, dict[str, float]] = {}

    def measure(step: Callable[[str], None]) -> None:
        for n, ex in zip(names, explorers, strict=True):
            step(f"faithfulness of {n}'s layout")
            faith[n] = faithfulness(full[n].embeddings, np.asarray(ex.points), k)
        comparison.faithfulness = faith
        rows = [{"name": "mean agreement", "value": f"{agreement.mean():.3f}"}, *pair_rows, neighbours]
        for n in names:
            rows += _faithfulness_rows(n, faith[n])
        panel.summary = rows

    def refresh(_change: Any) -> None:
        # A layout that came later (a projection, on its thread): the panel's progress state says so, past 0.5 s;
        # a tqdm bar would land in whatever cell runs by then.
        with Steps(len(names), "nbviz compare", report=panel.show_progress, disable=True) as again:
            measure(again.step)

    measure(step)
    for ex in explorers:
        # A slow projection replaces PCA later: measure the layout that is shown.
        ex.observe(refresh, names="points")
    moved = comparison.moved_most(min(MOVED_ROWS, len(agreement)))
    panel.columns = [{"index": 0, "title": "moved most", "percent": 0.0, "kind": "table",
                      "low": moved["index"].tolist(), "high": [],
                      "values": [float(v) for v in moved["agreement"]],
                      "low_text": [item_text(full[a], int(i)) for i in moved["index"]], "high_text": []}]
    panel.observe(lambda c: _focus(explorers[0], c["new"]), names="picked")
    return comparison


def _link(a: Any, b: Any, name: str) -> tuple[Any, Any]:
    """Keep trait ``name`` equal on ``a`` and ``b`` (traitlets.link cannot compare arrays)."""

    def copy(to: Any) -> Any:
        def handler(change: dict) -> None:
            new = change["new"]
            old = getattr(to, name)
            same = np.array_equal(np.asarray(old), np.asarray(new)) if isinstance(new, np.ndarray) else old == new
            if not same:
                setattr(to, name, new)
        return handler

    ha, hb = copy(b), copy(a)
    a.observe(ha, names=name)
    b.observe(hb, names=name)
    return ha, hb


def _focus(ex: Any, value: int) -> None:
    if value >= 0:
        ex.focus = int(value)


def _compare_datasets(explorer_type: Callable[..., Any], feats: dict[str, Features], names: list[str], images: Any,
                      labels: Any, ref: str, k: int, n_components: int, m: int, kwargs: dict) -> Comparison:
    # A tqdm bar past 0.5 s: PCA, every set on its components and their shifts, the explorer, faithfulness.
    with Steps(4, "nbviz compare") as work:
        return _datasets_work(explorer_type, feats, names, images, labels, ref, k, n_components, m, kwargs,
                              work.step)


def _datasets_work(explorer_type: Callable[..., Any], feats: dict[str, Features], names: list[str], images: Any,
                   labels: Any, ref: str, k: int, n_components: int, m: int, kwargs: dict,
                   step: Callable[[str], None]) -> Comparison:
    imgs, labs = _per_set(images, names, "images"), _per_set(labels, names, "labels")
    full = {n: _with(feats[n], imgs[n], labs[n]) for n in names}
    dims = {n: f.dim for n, f in full.items()}
    if len(set(dims.values())) > 1:
        raise ValueError(f"a dataset comparison draws every set in one space, so all need the same D; got {dims}")
    n_comp = int(min(n_components, full[ref].dim, len(full[ref])))
    if n_comp < 2:
        raise ValueError(f"a dataset comparison draws PC1 and PC2 of the reference set {ref!r}, so it needs D >= 2 "
                         f"and N >= 2; got D = {full[ref].dim}, N = {len(full[ref])}")
    step(f"PCA of {ref}")
    pca = principal_components(full[ref].embeddings, n_comp)
    step("every set on its components, shifts")
    scores = {n: np.asarray(pca.scores if n == ref else pca.transform(full[n].embeddings, f"sets[{n!r}]"),
                            dtype=np.float64) for n in names}
    shifts = {n: distribution_shift(scores[ref], scores[n]) for n in names if n != ref}
    # The set and component whose distribution moved most (largest KS); the first set given on a tie.
    other = max(shifts, key=lambda n: float(np.nanmax(shifts[n]["ks"].to_numpy())))
    shift = shifts[other]
    worst = int(np.argmax(shift["ks"].to_numpy()))  # the table is one row per component, in order
    both = np.concatenate([scores[n] for n in names])
    split = np.concatenate([[n] * len(full[n]) for n in names])
    has_images = all(full[n].n_images for n in names)
    metadata = {"label": np.concatenate([np.asarray(full[n].labels).astype(str) for n in names])} \
        if all(full[n].labels is not None for n in names) else None
    stacked = Features(both.astype(np.float32), labels=split, metadata=metadata,
                       images=np.concatenate([full[n].images_uint8(slice(None)) for n in names])
                       if has_images else None)
    layout = np.ascontiguousarray(both[:, :2], dtype=np.float32)
    # Coloured by set unless the caller asks otherwise (e.g. color_by="column:label": by class). The explorer
    # holds all the components (its neighbours and components() use them) and draws PC1, PC2.
    kwargs = {"color_by": "label", **kwargs, "method": None, "xy": layout}
    step("explorer")
    ex = explorer_type(stacked, **kwargs)
    step("faithfulness")
    faith = {ref: faithfulness(full[ref].embeddings, pca.scores[:, :2], k)}
    rows = _faithfulness_rows(f"{ref} (PC1, PC2)", faith[ref])
    for n, table in shifts.items():
        for comp, mean_shift, ks in zip(table["component"], table["mean_shift"], table["ks"], strict=True):
            rows.append({"name": f"{n} vs {ref}: PC{comp + 1}",
                         "value": f"mean shift {mean_shift:+.2f} sd, KS {ks:.3f}"})
    panel = ComponentsView(stacked, title=f"{other} vs {ref}: most shifted is PC{worst + 1} "
                           f"(KS {shift['ks'][worst]:.3f})", summary=rows)

    def text(i: int) -> str:
        label = str(metadata["label"][i]) if metadata is not None else ""
        return f"{split[i]}: {label}" if label else str(split[i])

    low, high = extremes(both, worst, int(min(m, len(both))))
    panel.columns = [{"index": worst, "title": f"PC{worst + 1} · {100 * pca.explained_variance_ratio[worst]:.1f}%",
                      "percent": float(100 * pca.explained_variance_ratio[worst]), "low": low.tolist(),
                      "high": high.tolist(), "low_text": [text(int(i)) for i in low],
                      "high_text": [text(int(i)) for i in high]}]
    panel.observe(lambda c: _focus(ex, c["new"]), names="picked")
    return Comparison("datasets", [ex], panel, shift=shift, shifts=shifts, most_shifted=(other, worst),
                      scores=scores, faithfulness=faith, names=names)
