"""``EmbeddingExplorer.compare``: two feature sets of the same items side by side, or two datasets in one space.

- Same items (equal N, no ``fit_on``): one explorer per set, their selection, focus and hidden categories
  linked; per-item neighbourhood agreement (Jaccard of the k nearest neighbours in the two N-D spaces) is each
  explorer's colour value, and the items that moved most are listed (a sortable table; a click focuses both).
- Different items (or ``fit_on``): PCA fitted on the reference set, every set drawn in it (one explorer coloured
  by set), the shift of each component listed, and the extremes of the most-shifted component shown.

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
from .base import CompositeOutput
from .components_view import ComponentsView, item_text
from .panel import Panel

#: Rows measured for faithfulness on large data (ranks are still among all N).
FAITHFULNESS_SAMPLE = 2000
#: Traits kept equal between the two explorers of a same-items comparison.
LINKED = ("selection", "focus", "hidden_categories")
BROWSER_LINKED = ("view", "hovered")


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
        "items" (same items, two spaces) or "datasets" (different items, one space).
    explorers
        The EmbeddingExplorer(s) drawn.
    agreement
        "items": float64 (N,) Jaccard per item; None otherwise.
    agreement_exact
        "items": True when the neighbours behind ``agreement`` are exact, False when an approximate index found
        them (large N, see :func:`nbviz.kernels.knn_graph.knn_graph`); None otherwise.
    agreement_recall
        "items": per set, the recall@k of its neighbours (1.0 when exact, else measured on a sample of items).
    shift
        "datasets": a DataFrame per component (mean_shift, ks, p_value); None otherwise.
    panel
        The :class:`ComponentsView` with the summary, the list of items that moved most or the extremes of the
        most-shifted component.
    """

    def __init__(self, mode: str, explorers: list[Any], panel: ComponentsView, **numbers: Any) -> None:
        self.mode, self.explorers, self.panel = mode, explorers, panel
        self.agreement: np.ndarray | None = numbers.get("agreement")
        self.agreement_exact: bool | None = numbers.get("agreement_exact")
        self.agreement_recall: dict[str, float] = numbers.get("agreement_recall", {})
        self.shift: pd.DataFrame | None = numbers.get("shift")
        self.faithfulness: dict[str, dict[str, float]] = numbers.get("faithfulness", {})
        self.names: list[str] = numbers.get("names", [])
        self._links: list[Any] = numbers.get("links", [])

    def moved_most(self, m: int = 20) -> pd.DataFrame:
        """The ``m`` items whose neighbourhoods changed most (lowest agreement first)."""
        if self.agreement is None:
            raise ValueError("moved_most needs a same-items comparison (mode 'items')")
        order = np.lexsort((np.arange(len(self.agreement)), self.agreement))[:m]
        return pd.DataFrame({"index": order, "agreement": self.agreement[order]})

    def view(self) -> Panel:
        """The explorers in a row (titled by set when there is one per set) above the panel: one anywidget view,
        made once, so every display (and the picture) shows the same and marimo renders it."""
        view = self.__dict__.get("_view")
        if view is None:
            titles = self.names if len(self.names) == len(self.explorers) > 1 else None
            plots = Panel(self.explorers, "row", titles=titles)
            view = self._view = Panel([plots, self.panel], "column")
            self.panel.own(view, plots)  # closed with the comparison
        return view

    def close(self) -> None:
        """Close the explorers, the panel and the links between them."""
        for widget in [*self.explorers, self.panel]:
            widget.close()


def compare(explorer_type: Callable[..., Any], sets: Mapping[str, Any], images: Any = None, labels: Any = None,
            fit_on: str | None = None, k: int = 10, exact_neighbors: bool | None = None, **kwargs: Any) -> Comparison:
    """Compare two feature sets: of the same items (two models, layers, checkpoints) or two datasets.

    ``EmbeddingExplorer.compare`` is this function as a classmethod: ``explorer_type`` (the class, which makes the
    explorers drawn) is passed by Python, so this module does not import the explorer's (no import circle).

    Parameters
    ----------
    sets
        ``{name: features}`` with at least two entries (arrays, tensors or :class:`~nbviz.Features`).
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
        Fewer than two sets; ``fit_on`` not a key; ``k`` out of range.
    """
    if not isinstance(sets, Mapping) or len(sets) < 2:
        got = f"{len(sets)} set(s)" if isinstance(sets, Mapping) else type(sets).__name__
        raise ValueError(f"sets must be a dict of at least two feature sets {{name: features}}, got {got}")
    names = [str(n) for n in sets]
    feats = {str(n): _features(v, f"sets[{n!r}]") for n, v in sets.items()}
    if fit_on is not None and fit_on not in feats:
        raise ValueError(f"fit_on must be one of the keys of sets {names}, got {fit_on!r}")
    if exact_neighbors not in (True, False, None):
        raise ValueError(f"exact_neighbors must be True, False or None (by size), got {exact_neighbors!r}")
    sizes = {n: len(f) for n, f in feats.items()}
    if fit_on is None and len(set(sizes.values())) == 1:
        return _compare_items(explorer_type, feats, names, images, labels, k, exact_neighbors, kwargs)
    return _compare_datasets(explorer_type, feats, names, images, labels, fit_on or names[0], k, kwargs)


def _with(f: Features, images: Any, labels: Any) -> Features:
    if images is None and labels is None:
        return f
    return Features(f.embeddings, labels=f.labels if labels is None else labels,
                    images=images if images is not None else (f.images_uint8(slice(None)) if f.n_images else None),
                    metadata=f.metadata)


def _compare_items(explorer_type: Callable[..., Any], feats: dict[str, Features], names: list[str], images: Any,
                   labels: Any, k: int, exact_neighbors: bool | None, kwargs: dict) -> Comparison:
    if len(names) != 2:
        raise ValueError(f"a same-items comparison takes exactly two feature sets, got {len(names)}: {names}")
    imgs, labs = _per_set(images, names, "images"), _per_set(labels, names, "labels")
    full = {n: _with(feats[n], imgs[n], labs[n]) for n in names}
    a, b = names
    agreement, graphs = neighborhood_agreement(full[a].embeddings, full[b].embeddings, k, names=(a, b),
                                               exact=exact_neighbors, return_graphs=True)
    exact = all(g.exact for g in graphs)
    recall = {n: g.recall for n, g in zip(names, graphs, strict=True)}
    kwargs = {"method": "pca", "color_by": "value", **kwargs}
    explorers = [explorer_type(full[n], colors=agreement, **kwargs) for n in names]
    links: list[Any] = [_link(explorers[0], explorers[1], name) for name in LINKED]
    # Camera and hover are linked in the browser: following a pan needs no kernel round trip.
    jslinks = [widgets.jslink((explorers[0], name), (explorers[1], name)) for name in BROWSER_LINKED]
    for ex in explorers:
        ex.own(*jslinks)  # a link left open would keep both explorers alive
    links += jslinks
    how = "" if exact else ", approximate neighbours"
    panel = ComponentsView(full[a], title=f"{a} vs {b}: neighbourhood agreement (Jaccard, k={k}{how})")
    comparison = Comparison("items", explorers, panel, agreement=agreement, names=names, links=links,
                            agreement_exact=exact, agreement_recall=recall)
    neighbours = {"name": "neighbours", "value": "exact"} if exact else {
        "name": "neighbours: approximate (IVF index)",
        "value": " · ".join(f"{n} recall@{k} {r:.3f}" for n, r in recall.items())
        + f" (on {max(g.sample for g in graphs)} items)"}
    faith: dict[str, dict[str, float]] = {}

    def refresh(_change: Any = None) -> None:
        for n, ex in zip(names, explorers, strict=True):
            faith[n] = faithfulness(full[n].embeddings, np.asarray(ex.points), k)
        comparison.faithfulness = faith
        rows = [{"name": "mean agreement", "value": f"{agreement.mean():.3f}"}, neighbours]
        for n in names:
            rows += _faithfulness_rows(n, faith[n])
        panel.summary = rows

    refresh()
    for ex in explorers:
        # A slow projection replaces PCA later: measure the layout that is shown.
        ex.observe(refresh, names="points")
    moved = comparison.moved_most(min(50, len(agreement)))
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
                      labels: Any, ref: str, k: int, kwargs: dict) -> Comparison:
    imgs, labs = _per_set(images, names, "images"), _per_set(labels, names, "labels")
    full = {n: _with(feats[n], imgs[n], labs[n]) for n in names}
    dims = {n: f.dim for n, f in full.items()}
    if len(set(dims.values())) > 1:
        raise ValueError(f"a dataset comparison draws every set in one space, so all need the same D; got {dims}")
    n_comp = int(min(10, full[ref].dim, len(full[ref])))
    pca = principal_components(full[ref].embeddings, n_comp)
    scores = {n: pca.scores if n == ref else pca.transform(full[n].embeddings, f"sets[{n!r}]") for n in names}
    shifts = {n: distribution_shift(scores[ref], scores[n]) for n in names if n != ref}
    other = next(n for n in names if n != ref)
    shift = shifts[other]
    worst = int(np.argmax(shift["ks"].to_numpy()))  # the table is one row per component, in order
    both = np.concatenate([scores[n] for n in names])
    split = np.concatenate([[n] * len(full[n]) for n in names])
    has_images = all(full[n].n_images for n in names)
    stacked = Features(
        both,
        labels=split,
        images=np.concatenate([full[n].images_uint8(slice(None)) for n in names]) if has_images else None,
        metadata={"label": np.concatenate([np.asarray(full[n].labels).astype(str) for n in names])}
        if all(full[n].labels is not None for n in names) else None,
    )
    layout = np.ascontiguousarray(both[:, :2], dtype=np.float32)
    # Coloured by set unless the caller asks otherwise (e.g. color_by="column:label": by class).
    kwargs = {"color_by": "label", **kwargs, "method": None}
    ex = explorer_type(Features(layout, labels=split, images=stacked.images_uint8(slice(None))
                                    if has_images else None, metadata=stacked.metadata), **kwargs)
    faith = {ref: faithfulness(full[ref].embeddings, pca.scores[:, :2], k)}
    rows = _faithfulness_rows(f"{ref} (PC1, PC2)", faith[ref])
    for n, table in shifts.items():
        for comp, mean_shift, ks in zip(table["component"], table["mean_shift"], table["ks"], strict=True):
            rows.append({"name": f"{n} vs {ref}: PC{comp + 1}",
                         "value": f"mean shift {mean_shift:+.2f} sd, KS {ks:.3f}"})
    panel = ComponentsView(stacked, title=f"{other} vs {ref}: most shifted is PC{worst + 1} "
                           f"(KS {shift['ks'][worst]:.3f})", summary=rows)

    def text(i: int) -> str:
        label = str(stacked.metadata["label"][i]) if stacked.metadata is not None else ""
        return f"{split[i]}: {label}" if label else str(split[i])

    m = int(min(8, len(both)))
    low, high = extremes(both, worst, m)
    panel.columns = [{"index": worst, "title": f"PC{worst + 1} · {100 * pca.explained_variance_ratio[worst]:.1f}%",
                      "percent": float(100 * pca.explained_variance_ratio[worst]), "low": low.tolist(),
                      "high": high.tolist(), "low_text": [text(int(i)) for i in low],
                      "high_text": [text(int(i)) for i in high]}]
    panel.observe(lambda c: _focus(ex, c["new"]), names="picked")
    return Comparison("datasets", [ex], panel, shift=shift, faithfulness=faith, names=names)
