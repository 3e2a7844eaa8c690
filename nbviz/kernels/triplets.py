"""The triplet-loss sample space (FaceNet): which (anchor, positive, negative) triplets are easy, semi-hard or hard.

A triplet is an anchor ``a``, a positive ``p`` (same label, ``p != a``) and a negative ``n`` (another label). With
``d`` the distance in feature space and ``m`` the margin:

- **hard**: ``d(a, n) < d(a, p)``;
- **semi-hard**: ``d(a, p) <= d(a, n) < d(a, p) + m``;
- **easy**: the rest, ``d(a, n) >= d(a, p) + m`` (the loss is zero).

Counting never lists the triplets: per anchor the negatives' distances are sorted once and each positive distance
is looked up (``searchsorted``), so an anchor costs O(N log N) whatever its number of triplets. All anchors are
counted when there are at most ``max_anchors`` items; beyond, a uniform sample of ``max_anchors`` anchors (seeded)
is counted exactly, and the result says so (``n_anchors``, ``sampled``).

- :func:`triplet_counts` -> :class:`TripletCounts`: exact counts at one margin.
- :func:`margin_histogram` -> :class:`MarginHistogram`: the distribution of ``d(a, n) - d(a, p)`` over the same
  triplets, on a fine grid. The counts are a function of the margin through it alone (hard: difference < 0,
  semi-hard: 0 <= difference < m), so a view can re-classify for any margin without asking again.
- :func:`triplet_moves` -> :class:`TripletMoves`: the same triplets in two feature sets of the same items (before
  and after training): how many went from each kind to each kind, exactly (a 2-D dominance count per anchor).
- :func:`anchor_triplets` -> :class:`AnchorTriplets`: one anchor's positives and negatives with their distances.

Distances are float64: ``|x|^2 - 2 x.a + |a|^2`` on the rows shifted to the first item ("euclidean"), ``1 - cos``
on unit rows ("cosine"; a zero vector is at distance 1 from everything). A distance within the rounding error of
that formula is 0, so duplicate items are at distance exactly 0 and their ties are classified as ties.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import numpy as np

from ..checks import as_matrix, check_length
from ..labels import encode_labels

METRICS = ("euclidean", "cosine")
#: The three kinds, in the order every result lists them.
KINDS = ("easy", "semi_hard", "hard")
#: Anchors counted exactly before a uniform sample is drawn.
MAX_ANCHORS = 2000
#: Cells of the distance grid of :func:`margin_histogram` (the difference grid has twice as many).
GRID = 4096
#: Elements of one block of distance rows (anchors x items), ~32 MB of float64.
_BLOCK_ELEMENTS = 4_000_000

T = TypeVar("T")


def check_margin(margin: Any, name: str = "margin") -> float:
    """``margin`` as a float, finite and >= 0, else an error naming ``name``."""
    if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a finite number >= 0, got {type(margin).__name__} {margin!r}"[:300])
    value = float(margin)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {margin!r}")
    return value


def check_metric(metric: Any) -> str:
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def check_triplet_labels(labels: Any, n: int, name: str = "labels") -> tuple[np.ndarray, list[str]]:
    """Label codes (int64) of N items and the class names; at least two classes, one of them with two items (else
    there is no triplet)."""
    if labels is None:
        raise TypeError(f"{name} must be given: one label per item (triplets need classes)")
    codes, names = encode_labels(labels, name)
    check_length(len(codes), n, name, "labels")
    codes = codes.astype(np.int64)
    sizes = np.bincount(codes)
    if np.count_nonzero(sizes) < 2:
        raise ValueError(f"{name} must hold at least 2 classes (a negative has another label), got "
                         f"{np.count_nonzero(sizes)}")
    if sizes.max() < 2:
        raise ValueError(f"{name} must give at least one class 2 items (a positive shares the anchor's label), "
                         "got one item per class")
    return codes, list(names or [str(k) for k in range(len(sizes))])


def choose_anchors(n: int, anchors: Any = None, max_anchors: int = MAX_ANCHORS, seed: int = 0
                   ) -> tuple[np.ndarray, bool]:
    """(sorted distinct anchor indices, sampled?): ``anchors`` as given (checked), all N items when N <=
    ``max_anchors``, else a uniform sample of ``max_anchors`` of them without replacement (``seed``)."""
    if isinstance(max_anchors, (bool, np.bool_)) or not isinstance(max_anchors, (int, np.integer)) or max_anchors < 1:
        raise ValueError(f"max_anchors must be an int >= 1, got {max_anchors!r}")
    if anchors is not None:
        idx = np.asarray(anchors).reshape(-1) if not np.isscalar(anchors) else np.asarray([anchors])
        if idx.dtype.kind == "b" or (len(idx) and idx.dtype.kind not in "iu"):
            raise TypeError(f"anchors must be item indices (ints), got dtype {idx.dtype}")
        if len(idx) == 0 or idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"anchors must be item indices in 0..{n - 1} (at least one), got "
                             f"{idx[:5].tolist()}{'...' if len(idx) > 5 else ''}")
        return np.unique(idx.astype(np.int64)), False
    if n <= max_anchors:
        return np.arange(n, dtype=np.int64), False
    return np.sort(np.random.default_rng(seed).choice(n, int(max_anchors), replace=False)).astype(np.int64), True


class Space(NamedTuple):
    """Features ready for distances: shifted (euclidean) or unit (cosine) float64 rows and their squared norms."""

    x: np.ndarray
    sq: np.ndarray
    metric: str
    #: Distances at or below this are rounding noise of the formula and are taken as 0.
    tol: float


def prepare(x: Any, metric: str = "euclidean", name: str = "x") -> Space:
    metric = check_metric(metric)
    a = as_matrix(x, name, dtype=np.float64, min_rows=2)
    if metric == "cosine":
        norms = np.linalg.norm(a, axis=1, keepdims=True)
        a = a / np.where(norms > 0, norms, 1.0)
    else:
        # Shifted to one of the items, not to the mean: less cancellation in the formula, and integer data stays
        # integer (exact, so its ties stay ties).
        a = a - a[0]
    sq = np.einsum("ij,ij->i", a, a)
    eps = (a.shape[1] + 4) * np.finfo(np.float64).eps
    tol = eps * 4 if metric == "cosine" else math.sqrt(eps * 4 * float(sq.max(initial=0.0)))
    return Space(a, sq, metric, tol)


def distances_from(space: Space, rows: np.ndarray, cols: np.ndarray | slice = slice(None)) -> np.ndarray:
    """(len(rows), len(cols)) float64 distances from items ``rows`` to items ``cols``."""
    a, b = space.x[rows], space.x[cols]
    g = a @ b.T
    if space.metric == "cosine":
        d = np.clip(1.0 - g, 0.0, 2.0)
    else:
        g *= -2.0
        g += space.sq[rows][:, None]
        g += space.sq[cols][None, :]
        d = np.sqrt(np.maximum(g, 0.0, out=g), out=g)
    d[d <= space.tol] = 0.0
    return d


class _Block(NamedTuple):
    anchors: np.ndarray  # (B,) item indices
    pos: np.ndarray  # (B, P + 1) distances to the class's items, the anchor itself at -inf
    neg: np.ndarray  # (B, Nn) distances to the negatives, sorted per row when asked
    size: int  # P: the class's size minus the anchor


def _blocks(spaces: list[Space], codes: np.ndarray, anchors: np.ndarray, sort: bool,
            work: Callable[[list[_Block]], T]) -> list[T]:
    """``work`` of the anchors' distance rows, a block of anchors of one class at a time, in each space (same
    items), on a few threads (numpy's sorts and searches let go of the GIL)."""
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(codes.max() + 2))
    where = np.empty_like(order)
    where[order] = np.arange(len(order))
    # Items grouped by class: a class's positives, and its negatives, are then two slices of a row.
    grouped = [Space(s.x[order], s.sq[order], s.metric, s.tol) for s in spaces]
    rows = max(1, _BLOCK_ELEMENTS // len(codes))
    jobs = []
    for c in np.unique(codes[anchors]):
        s, e = int(starts[c]), int(starts[c + 1])
        members = anchors[codes[anchors] == c]
        jobs += [(s, e, members[k: k + rows]) for k in range(0, len(members), rows) if e - s >= 2]

    def run(job: tuple[int, int, np.ndarray]) -> T:
        s, e, block = job
        out = []
        for space in grouped:
            d = distances_from(space, where[block])
            pos = d[:, s:e]
            pos[np.arange(len(block)), where[block] - s] = -np.inf
            neg = np.concatenate((d[:, :s], d[:, e:]), axis=1)
            if sort:
                pos.sort(axis=1)  # sorted keys make the searches below cache-friendly
                neg.sort(axis=1)
            out.append(_Block(block, pos, neg, e - s - 1))
        return work(out)

    workers = min(len(jobs), os.cpu_count() or 1, 4)
    if workers <= 1:
        return [run(job) for job in jobs]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, jobs))


@dataclass(frozen=True)
class TripletCounts:
    """Exact counts of the triplets of ``n_anchors`` anchors (all ``n_items`` items unless ``sampled``)."""

    easy: int
    semi_hard: int
    hard: int
    margin: float
    n_anchors: int
    n_items: int
    sampled: bool

    @property
    def total(self) -> int:
        return self.easy + self.semi_hard + self.hard

    def as_dict(self) -> dict[str, int]:
        """{"easy", "semi_hard", "hard"} as Python ints."""
        return {"easy": self.easy, "semi_hard": self.semi_hard, "hard": self.hard}


def _inputs(x: Any, labels: Any, metric: str, anchors: Any, max_anchors: int, seed: int, name: str = "x"
            ) -> tuple[Space, np.ndarray, np.ndarray, bool]:
    space = prepare(x, metric, name)
    codes, _ = check_triplet_labels(labels, len(space.x))
    chosen, sampled = choose_anchors(len(codes), anchors, max_anchors, seed)
    return space, codes, chosen, sampled


def triplet_counts(x: Any, labels: Any, margin: float = 0.2, metric: str = "euclidean", anchors: Any = None,
                   max_anchors: int = MAX_ANCHORS, seed: int = 0) -> TripletCounts:
    """Count the easy, semi-hard and hard triplets of (N, D) features ``x`` with ``labels``.

    Parameters
    ----------
    x
        (N, D) features: numpy array, torch tensor (any device) or list; finite.
    labels
        One label per item, at least two classes and one class with two items.
    margin
        The triplet loss's margin, a finite number >= 0.
    metric
        "euclidean" or "cosine" (1 - cosine similarity).
    anchors
        Item indices to use as anchors (each with all its triplets); None: every item, or a uniform sample of
        ``max_anchors`` of them when N is larger.
    max_anchors, seed
        The size and seed of that sample.

    Returns
    -------
    TripletCounts
        Python ints; ``n_anchors`` and ``sampled`` say which anchors were counted.
    """
    m = check_margin(margin)
    space, codes, chosen, sampled = _inputs(x, labels, metric, anchors, max_anchors, seed)
    def count(blocks: list[_Block]) -> tuple[int, int, int]:
        (b,) = blocks
        hard = below = 0
        for pos, neg in zip(b.pos, b.neg, strict=True):
            hard += int(np.searchsorted(neg, pos, side="left").sum())  # -inf (the anchor) counts 0
            below += int(np.searchsorted(neg, pos + m, side="left").sum())
        return hard, below, len(b.anchors) * b.size * b.neg.shape[1]

    hard, below, possible = (sum(v) for v in zip((0, 0, 0), *_blocks([space], codes, chosen, True, count),
                                                  strict=True))
    return TripletCounts(possible - below, below - hard, hard, m, len(chosen), len(codes), sampled)


@dataclass(frozen=True)
class MarginHistogram:
    """``counts[k]`` triplets have ``d(a, n) - d(a, p)`` at about ``start + k * step``.

    Each distance is put on a grid of cell ``step`` (``floor(d / step)``) and the difference of the two cells is
    counted, so a triplet's difference is within one ``step`` of its bin's value. ``hard`` is the exact number of
    differences < 0 (it does not depend on the margin), ``total`` the number of triplets.
    """

    counts: np.ndarray
    start: float
    step: float
    total: int
    hard: int
    n_anchors: int
    n_items: int
    sampled: bool

    def fraction_below(self, value: float) -> float:
        """Share of the triplets whose difference is below ``value``, by linear interpolation between bins (each
        bin spread over [value - step / 2, value + step / 2))."""
        if self.total == 0:
            return 0.0
        edges = self.start + (np.arange(len(self.counts) + 1) - 0.5) * self.step
        cdf = np.concatenate(([0], np.cumsum(self.counts))) / self.total
        return float(np.interp(value, edges, cdf))


def margin_histogram(x: Any, labels: Any, metric: str = "euclidean", anchors: Any = None,
                     max_anchors: int = MAX_ANCHORS, seed: int = 0, grid: int = GRID) -> MarginHistogram:
    """The distribution of ``d(a, n) - d(a, p)`` over the triplets :func:`triplet_counts` counts (same anchors).

    Per anchor the negatives' and the positives' grid cells are counted and the two counts correlated (FFT, summed
    over anchors in the frequency domain), so the cost per anchor does not grow with its number of triplets.
    """
    return triplet_summary(x, labels, 0.0, metric, anchors, max_anchors, seed, grid)[1]


def triplet_summary(x: Any, labels: Any, margin: float = 0.2, metric: str = "euclidean", anchors: Any = None,
                    max_anchors: int = MAX_ANCHORS, seed: int = 0, grid: int = GRID
                    ) -> tuple[TripletCounts, MarginHistogram]:
    """:func:`triplet_counts` at ``margin`` and :func:`margin_histogram`, in one pass over the anchors."""
    m = check_margin(margin)
    if isinstance(grid, (bool, np.bool_)) or not isinstance(grid, (int, np.integer)) or not 16 <= grid <= 1 << 20:
        raise ValueError(f"grid must be an int in 16..{1 << 20}, got {grid!r}")
    space, codes, chosen, sampled = _inputs(x, labels, metric, anchors, max_anchors, seed)
    # Every distance is below the bound: 2 (cosine) or twice the largest norm of the shifted rows.
    bound = 2.0 if space.metric == "cosine" else 2.0 * math.sqrt(float(space.sq.max(initial=0.0)))
    step = bound / (grid - 1) if bound > 0 else 1.0
    size = 2 * grid

    def correlate(blocks: list[_Block]) -> tuple[np.ndarray, int, int, int]:
        (b,) = blocks
        rows = len(b.anchors)
        offset = np.arange(rows)[:, None] * grid
        cells_n = np.minimum(np.floor(b.neg / step), grid - 1).astype(np.int64)
        hist_n = np.bincount((cells_n + offset).ravel(), minlength=rows * grid).reshape(rows, grid)
        ok = np.isfinite(b.pos)
        cells_p = np.minimum(np.floor(np.where(ok, b.pos, 0.0) / step), grid - 1).astype(np.int64)
        hist_p = np.bincount((cells_p + offset)[ok], minlength=rows * grid).reshape(rows, grid)
        # Summed in the frequency domain: one inverse transform for all anchors.
        spec = (np.fft.rfft(hist_n, size, axis=1) * np.conj(np.fft.rfft(hist_p, size, axis=1))).sum(axis=0)
        hard = below = 0
        for pos, neg in zip(b.pos, b.neg, strict=True):
            hard += int(np.searchsorted(neg, pos, side="left").sum())
            below += int(np.searchsorted(neg, pos + m, side="left").sum())
        return spec, hard, below, rows * b.size * b.neg.shape[1]

    parts = _blocks([space], codes, chosen, True, correlate)
    acc = np.sum([p[0] for p in parts], axis=0) if parts else np.zeros(size // 2 + 1, dtype=np.complex128)
    hard, below, total = (sum(int(p[k]) for p in parts) for k in (1, 2, 3))
    corr = np.rint(np.fft.irfft(acc, size)).astype(np.int64)
    # Circular correlation: lag k >= 0 at corr[k], k < 0 at corr[size + k].
    full = np.concatenate((corr[size - grid + 1:], corr[:grid]))
    nonzero = np.flatnonzero(full)
    lo, hi = (int(nonzero[0]), int(nonzero[-1]) + 1) if len(nonzero) else (grid - 1, grid)
    counts = TripletCounts(total - below, below - hard, hard, m, len(chosen), len(codes), sampled)
    return counts, MarginHistogram(full[lo:hi], (lo - (grid - 1)) * step, step, total, hard, len(chosen),
                                   len(codes), sampled)


def dominance(seq: np.ndarray, length: np.ndarray, below: np.ndarray) -> np.ndarray:
    """For each query q: ``#{k < length[q] : seq[k] < below[q]}``, ``seq`` a permutation of 0..n-1.

    A merge-sort tree: at level j the keys ``(k >> j) * n + seq[k]`` sorted keep each aligned block of 2^j
    positions sorted by value; a prefix of ``length`` positions is one such block per set bit of ``length``, and
    the values below ``below`` in a block are one ``searchsorted`` away. O((n + q) log^2 n), all in numpy.
    """
    n = len(seq)
    out = np.zeros(len(length), dtype=np.int64)
    length = np.asarray(length, dtype=np.int64)
    below = np.asarray(below, dtype=np.int64)
    pos = np.arange(n, dtype=np.int64)
    j = 0
    while (1 << j) <= n:
        # Level 0 is sorted as it is (one position per block).
        keys = (pos >> j) * n + seq
        if j:
            keys.sort()
        w = 1 << j
        hit = (length & w) != 0
        if hit.any():
            block = (length[hit] >> (j + 1)) << 1
            out[hit] += np.searchsorted(keys, block * n + below[hit], side="left") - block * w
        j += 1
    return out


@dataclass(frozen=True)
class TripletMoves:
    """``counts[before][after]``: triplets of ``n_anchors`` anchors that were of kind ``before`` in the first set
    and are of kind ``after`` in the second (kinds: :data:`KINDS`)."""

    counts: dict[str, dict[str, int]]
    margin: float
    n_anchors: int
    n_items: int
    sampled: bool

    def as_pairs(self) -> dict[tuple[str, str], int]:
        """{(before, after): count} for the 9 pairs, e.g. ``moves.as_pairs()["hard", "easy"]``."""
        return {(b, a): self.counts[b][a] for b in KINDS for a in KINDS}

    @property
    def moved(self) -> int:
        """Triplets whose kind changed."""
        return sum(v for (b, a), v in self.as_pairs().items() if a != b)


def _anchor_moves(pos0: np.ndarray, neg0: np.ndarray, pos1: np.ndarray, neg1: np.ndarray, m: float) -> np.ndarray:
    """(3, 3) counts [before kind, after kind] (kind order hard, semi-hard, easy) of one anchor's triplets."""
    nn = len(neg0)
    order0 = np.argsort(neg0, kind="stable")
    order1 = np.argsort(neg1, kind="stable")
    rank1 = np.empty(nn, dtype=np.int64)
    rank1[order1] = np.arange(nn)
    seq = rank1[order0]  # negatives in before-order, by their rank in after-order
    s0, s1 = neg0[order0], neg1[order1]
    # Boundaries of the kinds: negatives [0, lo) are hard, [lo, hi) semi-hard, [hi, nn) easy for a positive.
    x = np.stack([np.zeros(len(pos0), np.int64), np.searchsorted(s0, pos0), np.searchsorted(s0, pos0 + m),
                  np.full(len(pos0), nn)])
    y = np.stack([np.zeros(len(pos1), np.int64), np.searchsorted(s1, pos1), np.searchsorted(s1, pos1 + m),
                  np.full(len(pos1), nn)])
    # D[i, j] = #{negatives before-class < i and after-class < j}, per positive.
    d = np.zeros((4, 4, len(pos0)), dtype=np.int64)
    d[3] = y
    d[:, 3] = x
    d[3, 3] = nn
    inner = [(i, j) for i in (1, 2) for j in (1, 2)]
    found = dominance(seq, np.concatenate([x[i] for i, _ in inner]), np.concatenate([y[j] for _, j in inner]))
    for k, (i, j) in enumerate(inner):
        d[i, j] = found[k * len(pos0): (k + 1) * len(pos0)]
    cells = d[1:, 1:] - d[:-1, 1:] - d[1:, :-1] + d[:-1, :-1]
    return cells.sum(axis=2)


def triplet_moves(before: Any, after: Any, labels: Any, margin: float = 0.2, metric: str = "euclidean",
                  anchors: Any = None, max_anchors: int = MAX_ANCHORS, seed: int = 0) -> TripletMoves:
    """How the triplets' kinds changed between two feature sets of the same N items (``before``, ``after``: (N, D)
    and (N, D'), e.g. before and after training), over the anchors :func:`triplet_counts` would count.

    Exact: per anchor and positive, the negatives of each (before, after) pair of kinds are counted with
    :func:`dominance`, O(N log^2 N) per anchor. The row sums are the counts in ``before``, the column sums those in
    ``after``.
    """
    m = check_margin(margin)
    s0, codes, chosen, sampled = _inputs(before, labels, metric, anchors, max_anchors, seed, "before")
    s1 = prepare(after, metric, "after")
    if len(s1.x) != len(s0.x):
        raise ValueError(f"after must hold the same {len(s0.x)} items as before, got {len(s1.x)} rows")
    def moves(blocks: list[_Block]) -> np.ndarray:
        b0, b1 = blocks
        out = np.zeros((3, 3), dtype=np.int64)
        for r in range(len(b0.anchors)):
            ok = np.isfinite(b0.pos[r])
            out += _anchor_moves(b0.pos[r][ok], b0.neg[r], b1.pos[r][ok], b1.neg[r], m)
        return out

    total = np.sum(_blocks([s0, s1], codes, chosen, False, moves) or [np.zeros((3, 3), np.int64)], axis=0)
    order = ("hard", "semi_hard", "easy")
    counts = {order[i]: {order[j]: int(total[i, j]) for j in range(3)} for i in range(3)}
    return TripletMoves({k: {a: counts[k][a] for a in KINDS} for k in KINDS}, m, len(chosen), len(codes), sampled)


class AnchorTriplets(NamedTuple):
    """One anchor's positives and negatives, each sorted by distance to the anchor (nearest first)."""

    anchor: int
    positives: np.ndarray
    positive_distances: np.ndarray
    negatives: np.ndarray
    negative_distances: np.ndarray


def anchor_triplets(x: Any, labels: Any, anchor: int, metric: str = "euclidean", *, space: Space | None = None,
                    codes: np.ndarray | None = None) -> AnchorTriplets:
    """The positives and negatives of item ``anchor`` with their float64 distances to it, nearest first.

    ``space`` and ``codes`` (from :func:`prepare` and :func:`check_triplet_labels`) skip the checks of ``x`` and
    ``labels`` when a caller asks for many anchors of the same data."""
    space = prepare(x, metric) if space is None else space
    codes = check_triplet_labels(labels, len(space.x))[0] if codes is None else codes
    n = len(codes)
    if isinstance(anchor, (bool, np.bool_)) or not isinstance(anchor, (int, np.integer)) or not 0 <= anchor < n:
        raise ValueError(f"anchor must be an item index in 0..{n - 1}, got {anchor!r}")
    d = distances_from(space, np.array([int(anchor)]))[0]
    same = codes == codes[anchor]
    same[anchor] = False
    pos, neg = np.flatnonzero(same), np.flatnonzero(codes != codes[anchor])
    pos = pos[np.argsort(d[pos], kind="stable")]
    neg = neg[np.argsort(d[neg], kind="stable")]
    return AnchorTriplets(int(anchor), pos, d[pos], neg, d[neg])


def classify(positive_distances: np.ndarray, negative_distances: np.ndarray, margin: float) -> dict[str, int]:
    """Counts of one anchor's triplets by kind, from its distances (the negatives' sorted ascending)."""
    m = check_margin(margin)
    pos = np.asarray(positive_distances, dtype=np.float64)
    neg = np.asarray(negative_distances, dtype=np.float64)
    hard = int(np.searchsorted(neg, pos, side="left").sum())
    below = int(np.searchsorted(neg, pos + m, side="left").sum())
    return {"easy": len(pos) * len(neg) - below, "semi_hard": below - hard, "hard": hard}
