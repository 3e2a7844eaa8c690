"""TripletSpace: the triplet-loss sample space of labelled embeddings, and what the margin does to it.

``TripletSpace(embeddings, labels, margin=0.2)`` shows the items in 2-D (PCA of the features, or ``xy=``); a click
picks an anchor (``anchor``), whose positives and negatives are drawn with their distances: a distance axis with
the margin band ``[d(a, p), d(a, p) + margin]`` of one positive, and a map of all the anchor's triplets, each easy,
semi-hard or hard (:mod:`nbviz.kernels.triplets`). A margin slider re-classifies in the browser; ``margin`` is
updated when it is released, and with it the exact counts over the whole set (``counts``). The view's histogram of
``d(a, n) - d(a, p)`` (a fine grid from the kernel) gives the counts at any margin while the slider moves.

Two feature sets of the same items, before and after training: ``TripletSpace(after, before=before)``; ``moved``
counts the triplets per change of kind (hard -> easy, ...), and the view shows which of the anchor's moved.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import traitlets as t

from ..checks import as_matrix, code_dtype
from ..colors import FOCUS, SERIES, categorical_palette
from ..data import Features
from ..export import export_font, fit_text, fit_to_canvas, rasterize_points, side_by_side, stacked, text_panel, to_png
from ..kernels import triplets as kernel
from ..kernels.projection import pca
from .base import Array, NbvizWidget, TraitValueError, check_number, validate_number

#: Work of the before/after moves (anchors x items) counted exactly; beyond, a uniform sample of anchors.
MOVES_WORK = 20_000_000
#: Bars of the difference histogram drawn (view, picture, bqplot chart).
DISPLAY_BINS = 80


def kind_colors() -> np.ndarray:
    """(3, 4) uint8 RGBA of the kinds in :data:`~nbviz.kernels.triplets.KINDS` order: easy green, semi-hard orange,
    hard red (tab10's, from :func:`nbviz.colors.categorical_palette`)."""
    tab = categorical_palette(10)
    return np.stack([tab[2], tab[1], tab[3]]).astype(np.uint8)


def nice_ceiling(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= v (v > 0)."""
    if not v > 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(v))
    return next(f * base for f in (1, 2, 2.5, 5, 10) if f * base >= v * (1 - 1e-12))


def median_positive(p: int) -> int:
    """The positive whose margin band is drawn first (nearest first: index p // 2); the view's default too."""
    return p // 2


def display_histogram(hist: kernel.MarginHistogram, max_margin: float, bins: int = DISPLAY_BINS
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(edges (bins + 1,), fractions (bins,)) of the differences, over a range that leaves out the 0.5 % tails and
    includes 0 and ``max_margin``; the view's ``displayHistogram`` (model.ts) draws the same bars."""
    frac = hist.counts / max(hist.total, 1)
    centers = hist.start + np.arange(len(frac)) * hist.step
    cdf = np.cumsum(frac)
    lo = float(centers[min(np.searchsorted(cdf, 0.005), len(centers) - 1)]) if len(centers) else 0.0
    hi = float(centers[min(np.searchsorted(cdf, 0.995), len(centers) - 1)]) if len(centers) else 1.0
    lo, hi = min(lo, 0.0), max(hi, max_margin)
    edges = np.linspace(lo, hi, bins + 1)
    which = np.floor((centers - lo) / (hi - lo) * bins).astype(np.int64)
    inside = (which >= 0) & (which < bins)  # the tails are left out, not piled on the end bars
    return edges, np.bincount(which[inside], weights=frac[inside], minlength=bins)


class TripletSpace(NbvizWidget):
    """The triplet-loss sample space of labelled embeddings: easy / semi-hard / hard triplets and the margin.

    Parameters
    ----------
    embeddings
        (N, D) features (array, tensor) or :class:`nbviz.Features` (its labels are used unless ``labels`` is given).
    labels
        One label per item: at least two classes, one with two items.
    margin
        The triplet loss's margin, finite, >= 0 (the view's slider sets it).
    metric
        "euclidean" | "cosine".
    anchors
        Item indices counted as anchors (default: every item, or a uniform sample of ``max_anchors`` of them when
        there are more; the view says so).
    before
        Features of the same N items earlier (before training): ``moved`` and the view show how triplets changed.
    xy
        (N, 2) positions to draw the items at (default: PCA of the features, of the unit rows for "cosine").
    max_anchors, seed
        The size and seed of the anchor sample.
    anchor
        The anchor shown, an item index (-1: none; a click in the view sets it).
    max_margin
        The slider's upper end (default: from the spread of d(a, n) - d(a, p)).
    title, height
        Text above the view; the height of its scatter in CSS px.
    """

    _bundle = "triplet_space"
    _picture_traits = ("anchor", "margin", "counts", "moved_counts")

    title = t.Unicode("").tag(sync=True)
    height = t.Int(360).tag(sync=True)
    points = Array(read_only=True, help="(N, 2) float32 positions")
    codes = Array(read_only=True, help="(N,) uint8/uint16 label codes")
    classes = t.List(t.Unicode(), read_only=True).tag(sync=True)
    palette = Array(read_only=True, help="(K, 4) uint8 RGBA per class")
    kind_colors = Array(read_only=True, help="(3, 4) uint8 RGBA of easy, semi-hard, hard")
    accents = t.Dict(read_only=True, help="CSS colours of the anchor and its positives").tag(sync=True)
    metric = t.Unicode("euclidean", read_only=True).tag(sync=True)

    margin = t.Float(0.2, help="the margin; set by the slider when released").tag(sync=True)
    max_margin = t.Float(1.0, help="the slider's upper end").tag(sync=True)
    anchor = t.Int(-1, help="the anchor shown, -1 for none; set by a click").tag(sync=True)

    counts = t.Dict(read_only=True, help="{'easy', 'semi_hard', 'hard'}: exact counts at margin").tag(sync=True)
    sampling = t.Dict(read_only=True, help="n_anchors, n_items, sampled, total of the counts").tag(sync=True)
    diff_hist = Array(read_only=True, help="(B,) float32 share of the triplets per grid step of d(a,n) - d(a,p)")
    diff_start = t.Float(0.0, read_only=True).tag(sync=True)
    diff_step = t.Float(1.0, read_only=True).tag(sync=True)

    anchor_pos = Array(read_only=True, help="(P,) uint32 the anchor's positives, nearest first")
    anchor_pos_d = Array(read_only=True, help="(P,) float32 their distances to the anchor")
    anchor_neg = Array(read_only=True, help="(Nn,) uint32 the anchor's negatives, nearest first")
    anchor_neg_d = Array(read_only=True, help="(Nn,) float32 their distances to the anchor")
    anchor_pos_d0 = Array(read_only=True, help="(P,) float32 the same distances in the before set, or None")
    anchor_neg_d0 = Array(read_only=True, help="(Nn,) float32 the same distances in the before set, or None")

    has_before = t.Bool(False, read_only=True).tag(sync=True)
    moved_counts = t.List(t.List(t.Int()), read_only=True,
                          help="3 x 3 [before kind][after kind] in easy, semi_hard, hard order").tag(sync=True)
    moves_sampling = t.Dict(read_only=True, help="n_anchors, sampled of moved_counts").tag(sync=True)

    _check_height = validate_number("height", low=120, high=4000)

    def __init__(self, embeddings: Any, labels: Any = None, margin: float = 0.2, metric: str = "euclidean",
                 anchors: Any = None, *, before: Any = None, xy: Any = None, max_anchors: int = kernel.MAX_ANCHORS,
                 seed: int = 0, anchor: int = -1, max_margin: float | None = None, **kwargs: Any) -> None:
        self._check_kwargs(kwargs)
        metric = kernel.check_metric(metric)
        margin = kernel.check_margin(margin)
        features = embeddings if isinstance(embeddings, Features) else None
        x = features.embeddings if features is not None else as_matrix(embeddings, "embeddings", min_rows=2)
        if labels is None and features is not None:
            labels = features.labels
        codes, names = kernel.check_triplet_labels(labels, len(x))
        n = len(codes)
        self._x, self._labels = x, codes
        self._space = kernel.prepare(x, metric, "embeddings")
        self._x0 = self._space0 = None
        if before is not None:
            x0 = before.embeddings if isinstance(before, Features) else as_matrix(before, "before", min_rows=2)
            if len(x0) != n:
                raise ValueError(f"before must hold the same {n} items as embeddings, got {len(x0)} rows")
            self._x0, self._space0 = x0, kernel.prepare(x0, metric, "before")
        self._ready = False  # the observers wait for the constructor's own first computation
        self._anchors, self._max_anchors, self._seed = anchors, max_anchors, int(seed)
        kernel.choose_anchors(n, anchors, max_anchors, seed)  # checks them before any work
        counts, self._hist = kernel.triplet_summary(x, codes, margin, metric, anchors, max_anchors, seed)
        self._moves: kernel.TripletMoves | None = None
        if xy is None:
            rows = self._space.x if metric == "cosine" else x
            points = pca(rows, 2)
        else:
            points = as_matrix(xy, "xy")
            if points.shape != (n, 2):
                raise ValueError(f"xy must be (N, 2) = ({n}, 2) positions, got shape {points.shape}")
        if max_margin is None:
            frac = np.cumsum(self._hist.counts) / max(self._hist.total, 1)
            q90 = self._hist.start + self._hist.step * float(np.searchsorted(frac, 0.9))
            max_margin = nice_ceiling(max(2 * margin, q90, 1e-6))
        top = float(check_number(max_margin, "max_margin", low=0, high=None))
        if top <= 0 or margin > top:
            raise ValueError(f"max_margin must be > 0 and >= margin ({margin}), got {max_margin!r}")
        super().__init__(margin=margin, max_margin=top, **kwargs)
        palette = categorical_palette(len(names))
        with self.hold_sync():
            for name, value in (("points", np.ascontiguousarray(points, dtype=np.float32)),
                                ("codes", codes.astype(code_dtype(len(names)))), ("classes", names),
                                ("palette", palette), ("kind_colors", kind_colors()),
                                ("accents", {"anchor": FOCUS, "positive": SERIES[0]}), ("metric", metric),
                                ("has_before", before is not None),
                                ("diff_hist", (self._hist.counts / max(self._hist.total, 1)).astype(np.float32)),
                                ("diff_start", self._hist.start), ("diff_step", self._hist.step)):
                self.set_trait(name, value)
            self._set_counts(counts)
            self._recount_moves()
            self._ready = True
            self.anchor = anchor

    # -- what either side may set ---------------------------------------------------------------------------
    @t.validate("margin")
    def _check_margin(self, proposal: dict) -> float:
        try:
            return kernel.check_margin(proposal["value"])
        except (TypeError, ValueError) as exc:
            raise TraitValueError(str(exc)) from None

    @t.validate("max_margin")
    def _check_max_margin(self, proposal: dict) -> float:
        value = proposal["value"]
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise TraitValueError(f"max_margin must be a finite number > 0, got {value!r}")
        return float(value)

    @t.validate("anchor")
    def _check_anchor(self, proposal: dict) -> int:
        value, n = proposal["value"], len(self._labels)
        if not -1 <= value < n:
            raise TraitValueError(f"anchor must be -1 (none) or an item index in 0..{n - 1}, got {value!r}")
        return value

    @t.observe("margin")
    def _margin_changed(self, _change: Any = None) -> None:
        if not self._ready:
            return
        if self.margin > self.max_margin:
            self.max_margin = nice_ceiling(self.margin)
        self._set_counts(kernel.triplet_counts(self._x, self._labels, self.margin, self.metric, self._anchors,
                                               self._max_anchors, self._seed))
        self._recount_moves()

    @t.observe("anchor")
    def _anchor_changed(self, _change: Any = None) -> None:
        if not self._ready:
            return
        values: dict[str, Any] = dict.fromkeys(("anchor_pos", "anchor_pos_d", "anchor_neg", "anchor_neg_d",
                                                "anchor_pos_d0", "anchor_neg_d0"))
        if self.anchor >= 0:
            a = kernel.anchor_triplets(None, None, self.anchor, space=self._space, codes=self._labels)
            values.update(anchor_pos=a.positives.astype(np.uint32), anchor_neg=a.negatives.astype(np.uint32),
                          anchor_pos_d=a.positive_distances.astype(np.float32),
                          anchor_neg_d=a.negative_distances.astype(np.float32))
            if self._space0 is not None:
                for key, idx in (("anchor_pos_d0", a.positives), ("anchor_neg_d0", a.negatives)):
                    values[key] = kernel.distances_from(self._space0, np.array([a.anchor]), idx)[0].astype(np.float32)
        with self.hold_sync():
            for name, value in values.items():
                self.set_trait(name, value)

    def _set_counts(self, counts: kernel.TripletCounts) -> None:
        self._counts = counts
        self.set_trait("counts", counts.as_dict())
        self.set_trait("sampling", {"n_anchors": counts.n_anchors, "n_items": counts.n_items,
                                    "sampled": counts.sampled, "total": counts.total})

    def _recount_moves(self) -> None:
        if self._x0 is None:
            self.set_trait("moved_counts", [])
            return
        n = len(self._labels)
        budget = self._max_anchors if self._anchors is not None else min(self._max_anchors,
                                                                          max(50, MOVES_WORK // n))
        self._moves = kernel.triplet_moves(self._x0, self._x, self._labels, self.margin, self.metric, self._anchors,
                                           budget, self._seed)
        self.set_trait("moved_counts", [[self._moves.counts[b][a] for a in kernel.KINDS] for b in kernel.KINDS])
        self.set_trait("moves_sampling", {"n_anchors": self._moves.n_anchors, "sampled": self._moves.sampled})

    # -- results -----------------------------------------------------------------------------------------
    @property
    def triplet_counts(self) -> kernel.TripletCounts:
        """``counts`` with the anchors they are over (``n_anchors``, ``sampled``) and the margin."""
        return self._counts

    @property
    def histogram(self) -> kernel.MarginHistogram:
        """The distribution of d(a, n) - d(a, p) over the counted triplets (see ``margin_histogram``)."""
        return self._hist

    @property
    def moved(self) -> dict[tuple[str, str], int] | None:
        """Triplets per (kind before, kind now) at ``margin``, e.g. ``ts.moved["hard", "easy"]``; None without
        ``before``. Over the counted anchors, or a uniform sample of them when that is much work
        (``moves_sampling``)."""
        return None if self._moves is None else self._moves.as_pairs()

    def anchor_counts(self, margin: float | None = None) -> dict[str, int]:
        """The chosen anchor's triplets by kind at ``margin`` (default: the current one)."""
        if self.anchor < 0:
            raise ValueError("no anchor is chosen: set anchor (or click a point in the view) first")
        a = kernel.anchor_triplets(None, None, self.anchor, space=self._space, codes=self._labels)
        return kernel.classify(a.positive_distances, a.negative_distances,
                               self.margin if margin is None else margin)

    def sampling_text(self) -> str:
        """What the counts are over, as the view states it."""
        s = self.sampling
        if not s["sampled"] and s["n_anchors"] == s["n_items"]:
            return f"counts over all {s['n_items']:,} anchors"
        what = f"counts over {s['n_anchors']:,} of {s['n_items']:,} anchors"
        return what + (", sampled" if s["sampled"] else "")

    # -- companions and pictures -----------------------------------------------------------------------
    def histogram_figure(self) -> Any:
        """A bqplot chart of d(a, n) - d(a, p) (share of triplets per bar, coloured by kind at ``margin``) with the
        margin marked; it follows ``margin``."""
        from bqplot import Axis, Bars, Figure, LinearScale, Lines

        edges, frac = display_histogram(self._hist, self.max_margin)
        centers = (edges[:-1] + edges[1:]) / 2
        sx, sy = LinearScale(min=float(edges[0]), max=float(edges[-1])), LinearScale(min=0.0)
        css = ["#{:02x}{:02x}{:02x}".format(*c[:3]) for c in kind_colors()]
        bars = Bars(x=centers, y=frac, scales={"x": sx, "y": sy}, padding=0.05)
        line = Lines(x=[0.0, 0.0], y=[0.0, float(frac.max(initial=0.0)) or 1.0], scales={"x": sx, "y": sy},
                     colors=[css[1]], stroke_width=2, labels=["margin"])

        def follow(_change: Any = None) -> None:
            kinds = np.where(centers < 0, 2, np.where(centers < self.margin, 1, 0))
            bars.colors = [css[k] for k in kinds]
            line.x = [self.margin, self.margin]

        follow()
        self.observe(follow, names="margin")
        axes = [Axis(scale=sx, label="d(a, n) - d(a, p)"), Axis(scale=sy, orientation="vertical",
                                                                 label="share of triplets", tick_format=".1%")]
        fig = Figure(marks=[bars, line], axes=axes, title=f"Triplets by margin ({self.sampling_text()})",
                     fig_margin={"top": 40, "bottom": 40, "left": 60, "right": 10},
                     layout={"height": "240px", "width": "100%"})
        fig.add_class("nbviz-triplet-histogram")
        self.own(fig)
        return fig

    def _static_png(self) -> bytes | None:
        colors = kind_colors()
        text = [f"margin {self.margin:.3g}: " + ", ".join(f"{k.replace('_', '-')} {v:,}" for k, v in
                                                          self.counts.items()) + f" ({self.sampling_text()})"]
        scatter = _scatter_picture(self, 360, max(160, min(self.height, 480)))
        side = []
        if self.anchor >= 0:
            pos, neg = self.anchor_pos_d, self.anchor_neg_d
            c = kernel.classify(pos, neg, self.margin)
            text.append(f"anchor #{self.anchor} ({self.classes[int(self.codes[self.anchor])]}): " +
                        ", ".join(f"{k.replace('_', '-')} {v:,}" for k, v in c.items()))
            side = [_strip_picture(pos, neg, self.margin, colors, 360),
                    _map_picture(pos, neg, self.margin, colors, 360)]
        if self.moved is not None:
            text.append("moved: " + ", ".join(f"{b.replace('_', '-')} -> {a.replace('_', '-')} {v:,}"
                                              for (b, a), v in self.moved.items() if a != b))
        edges, frac = display_histogram(self._hist, self.max_margin)
        top = scatter if not side else side_by_side([scatter, stacked(side)])
        parts = [text_panel([self.title], top.shape[1])] if self.title else []
        return to_png(stacked([*parts, top, _histogram_picture(edges, frac, self.margin, colors, top.shape[1]),
                               text_panel(text, top.shape[1])]))


def _canvas(width: int, height: int) -> tuple[Any, Any]:
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    return img, ImageDraw.Draw(img)


def _rgba(c: Any, alpha: int = 255) -> tuple[int, int, int, int]:
    return int(c[0]), int(c[1]), int(c[2]), alpha


def _scatter_picture(ts: TripletSpace, width: int, height: int) -> np.ndarray:
    """The items at their positions: by label, or (with an anchor) its positives and its negatives by kind for
    its median positive, lines to the hard and semi-hard ones, as the view first draws them."""
    pts, codes = ts.points, ts.codes.astype(np.int64)
    if ts.anchor < 0:
        return rasterize_points(pts, ts.palette[codes % len(ts.palette)], width, height, 2.0, margin=8)
    colors = np.full((len(pts), 4), (215, 215, 215, 255), dtype=np.uint8)
    img = rasterize_points(pts, colors, width, height, 1.5, margin=8)
    px = fit_to_canvas(pts, width, height, 8)
    kinds = kind_colors()
    pos, neg, neg_d = ts.anchor_pos, ts.anchor_neg, ts.anchor_neg_d
    sel = float(ts.anchor_pos_d[median_positive(len(pos))]) if len(pos) else 0.0
    lo, hi = np.searchsorted(neg_d, sel), np.searchsorted(neg_d, sel + ts.margin)
    from PIL import Image, ImageDraw

    pic = Image.fromarray(img, "RGBA")
    draw = ImageDraw.Draw(pic)
    a = tuple(px[ts.anchor])
    for k, idx in ((1, neg[lo:hi][:150]), (2, neg[:lo][:150])):
        for i in idx:
            draw.line((a, tuple(px[i])), fill=_rgba(kinds[k], 110), width=1)
    if len(pos):
        draw.line((a, tuple(px[pos[median_positive(len(pos))]])), fill=SERIES[0], width=2)
    img = np.asarray(pic).copy()
    for idx, color, r in ((neg[hi:], kinds[0], 1.5), (pos, (76, 120, 168, 255), 2.0), (neg[lo:hi], kinds[1], 2.5),
                          (neg[:lo], kinds[2], 2.5)):
        rasterize_points(pts, np.asarray(color, np.uint8)[None], width, height, r, only=idx, out=img, margin=8)
    focus = tuple(int(FOCUS[i: i + 2], 16) for i in (1, 3, 5)) + (255,)
    rasterize_points(pts, np.asarray(focus, np.uint8)[None], width, height, 6.0, only=[ts.anchor], out=img,
                     ring=3.5, margin=8)
    return img


def _strip_picture(pos: np.ndarray, neg: np.ndarray, m: float, kinds: np.ndarray, width: int) -> np.ndarray:
    """The distance axis of the anchor: its positives, its negatives by kind for its median positive, and that
    positive's margin band [d(a, p), d(a, p) + m]."""
    img, draw = _canvas(width, 96)
    font = export_font(11)
    top = float(max(pos.max(initial=0.0) + m, neg.max(initial=0.0), 1e-9)) * 1.05
    x = lambda d: 30 + (width - 40) * float(d) / top  # noqa: E731
    sel = float(pos[median_positive(len(pos))]) if len(pos) else 0.0
    draw.rectangle((x(sel), 8, x(sel + m), 66), fill=_rgba(kinds[1], 70), outline=_rgba(kinds[1]))
    for d in pos:
        draw.line((x(d), 12, x(d), 30), fill=SERIES[0])
    lo, hi = np.searchsorted(neg, sel), np.searchsorted(neg, sel + m)
    for k, part in ((0, neg[hi:]), (1, neg[lo:hi]), (2, neg[:lo])):
        for d in part:
            draw.line((x(d), 44, x(d), 62), fill=_rgba(kinds[k]))
    draw.line((x(sel), 8, x(sel), 66), fill=SERIES[0], width=2)
    draw.line((30, 72, width - 10, 72), fill=(120, 120, 120, 255))
    draw.text((4, 14), "pos", fill=(60, 60, 60, 255), font=font)
    draw.text((4, 46), "neg", fill=(60, 60, 60, 255), font=font)
    draw.text((30, 76), "0", fill=(60, 60, 60, 255), font=font)
    label = f"{top:.3g}  distance from the anchor"
    draw.text((width - 10, 76), fit_text(draw, label, width - 60, font), fill=(60, 60, 60, 255), font=font,
              anchor="ra")
    return np.asarray(img)


def _map_picture(pos: np.ndarray, neg: np.ndarray, m: float, kinds: np.ndarray, width: int) -> np.ndarray:
    """Every triplet of the anchor: a row per positive (nearest on top), the negatives left to right (nearest
    first), each cell coloured by kind; a row is hard, then semi-hard, then easy."""
    height = 120
    img, draw = _canvas(width, height)
    rows, cols = max(len(pos), 1), max(len(neg), 1)
    for r, d in enumerate(pos):
        y0, y1 = 4 + (height - 8) * r / rows, 4 + (height - 8) * (r + 1) / rows
        lo, hi = int(np.searchsorted(neg, d)), int(np.searchsorted(neg, d + m))
        for k, (c0, c1) in ((2, (0, lo)), (1, (lo, hi)), (0, (hi, cols))):
            if c1 > c0:
                x0 = 30 + (width - 40) * c0 / cols
                draw.rectangle((x0, y0, max(30 + (width - 40) * c1 / cols - 1, x0), max(y1 - 1, y0)),
                               fill=_rgba(kinds[k]))
    return np.asarray(img)


def _histogram_picture(edges: np.ndarray, frac: np.ndarray, m: float, kinds: np.ndarray, width: int) -> np.ndarray:
    """Bars of d(a, n) - d(a, p), coloured by kind at margin ``m``, with 0 and the margin marked."""
    height = 130
    img, draw = _canvas(width, height)
    font = export_font(11)
    x = lambda v: 40 + (width - 50) * (float(v) - edges[0]) / max(edges[-1] - edges[0], 1e-12)  # noqa: E731
    peak = float(frac.max(initial=0.0)) or 1.0
    for k, f in enumerate(frac):
        c = (edges[k] + edges[k + 1]) / 2
        kind = 2 if c < 0 else 1 if c < m else 0
        draw.rectangle((x(edges[k]), 100 - 88 * f / peak, max(x(edges[k + 1]) - 1, x(edges[k])), 100),
                       fill=_rgba(kinds[kind]))
    draw.line((x(0), 6, x(0), 100), fill=(90, 90, 90, 255))
    draw.line((x(m), 6, x(m), 100), fill=_rgba(kinds[1]), width=2)
    draw.text((x(m) + 3, 4), f"m = {m:.3g}", fill=(60, 60, 60, 255), font=font)
    for v in (edges[0], 0.0, edges[-1]):
        draw.text((x(v), 104), f"{v:.3g}", fill=(60, 60, 60, 255), font=font, anchor="ma")
    draw.text((4, 116), "d(a, n) - d(a, p)", fill=(60, 60, 60, 255), font=font)
    return np.asarray(img)
