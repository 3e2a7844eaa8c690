"""The triplet kernel against brute force: every (anchor, positive, negative) listed in a triple loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nbviz.kernels.triplets import (
    KINDS,
    anchor_triplets,
    choose_anchors,
    classify,
    dominance,
    margin_histogram,
    prepare,
    triplet_counts,
    triplet_moves,
    triplet_summary,
)


def brute_distances(x: np.ndarray, metric: str) -> np.ndarray:
    """Pairwise distances, one pair at a time: the definition, not the kernel's matrix formula."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    d = np.empty((n, n))
    for i, j in itertools.product(range(n), repeat=2):
        if metric == "euclidean":
            d[i, j] = np.sqrt(np.sum((x[i] - x[j]) ** 2))
        else:
            ni, nj = np.sqrt(np.sum(x[i] ** 2)), np.sqrt(np.sum(x[j] ** 2))
            d[i, j] = 1.0 if ni == 0 or nj == 0 else 1.0 - np.sum(x[i] * x[j]) / (ni * nj)
    return d


def kind(dn: float, dp: float, m: float) -> str:
    return "hard" if dn < dp else "semi_hard" if dn < dp + m else "easy"


def brute_triplets(d: np.ndarray, labels: np.ndarray, anchors=None):
    """Every triplet (a, p, n) of the anchors, in a triple loop."""
    n = len(labels)
    for a in range(n) if anchors is None else anchors:
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            for q in range(n):
                if labels[q] != labels[a]:
                    yield a, p, q


def brute_counts(d, labels, m, anchors=None) -> dict[str, int]:
    out = dict.fromkeys(KINDS, 0)
    for a, p, q in brute_triplets(d, labels, anchors):
        out[kind(d[a, q], d[a, p], m)] += 1
    return out


def tied_euclidean(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Small integer points (exact distances: many ties), with duplicates of other labels."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (24, 3))
    labels = rng.integers(0, 3, 24)
    x = np.concatenate([x, x[:4], x[5:7]])  # the same points again, under other labels
    labels = np.concatenate([labels, (labels[:4] + 1) % 3, labels[5:7]])
    return x.astype(np.float32), labels


def tied_cosine() -> tuple[np.ndarray, np.ndarray]:
    """Vectors whose unit rows are exact in binary (entries +-1 in 4-D, their doubles, the axes): distances are
    multiples of 1/4, with many ties, and a zero vector (distance 1 from everything)."""
    signs = np.array(list(itertools.product([-1, 1], repeat=4)))[::2]  # 8 vectors, norm 2
    axes = np.eye(4)
    x = np.concatenate([signs, 2 * signs[:4], axes, -axes[:2], np.zeros((1, 4))])
    labels = np.arange(len(x)) % 3
    return x.astype(np.float32), labels


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("margin", [0.0, 0.25, 0.5, 1.0, 3.0])
def test_counts_equal_brute_force_with_ties(metric, margin):
    x, labels = tied_euclidean() if metric == "euclidean" else tied_cosine()
    d = brute_distances(x, metric)
    got = triplet_counts(x, labels, margin, metric)
    assert got.as_dict() == brute_counts(d, labels, margin)
    assert all(type(v) is int for v in got.as_dict().values())
    assert (got.n_anchors, got.n_items, got.sampled, got.margin) == (len(x), len(x), False, margin)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_counts_equal_brute_force_on_random_data(metric):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 5)) + 4.0  # off the origin: the cosine metric sees a cone
    labels = np.array(list("abcd"))[rng.integers(0, 4, 40)]
    d = brute_distances(x, metric)
    for m in (0.05, 0.3):
        assert triplet_counts(x, labels, m, metric).as_dict() == brute_counts(d, labels, m)


def test_a_sample_of_anchors_is_stated_and_exact_for_those_anchors():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 4))
    labels = rng.integers(0, 3, 60)
    got = triplet_counts(x, labels, 0.4, max_anchors=25, seed=7)
    assert got.sampled and got.n_anchors == 25 and got.n_items == 60
    chosen, sampled = choose_anchors(60, None, 25, 7)
    assert sampled and len(np.unique(chosen)) == 25
    assert got.as_dict() == brute_counts(brute_distances(x, "euclidean"), labels, 0.4, chosen)
    # Explicit anchors: exactly those (duplicates once), not called a sample.
    some = triplet_counts(x, labels, 0.4, anchors=[5, 3, 5])
    assert not some.sampled and some.n_anchors == 2
    assert some.as_dict() == brute_counts(brute_distances(x, "euclidean"), labels, 0.4, [3, 5])


def test_anchors_alone_in_their_class_have_no_triplets():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    labels = ["a", "a", "b", "c"]
    # Anchors 0 and 1 (class a): positive the other, negatives 2 and 3.
    assert triplet_counts(x, labels, 1.5).as_dict() == {"easy": 3, "semi_hard": 1, "hard": 0}
    assert triplet_counts(x, labels, 1.5, anchors=[2, 3]).total == 0


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_histogram_is_the_grid_difference_of_every_triplet(metric):
    x, labels = tied_euclidean(2) if metric == "euclidean" else tied_cosine()
    h = margin_histogram(x, labels, metric, grid=64)
    # The kernel's own distances, put on its grid: the histogram counts the difference of the two cells.
    space = prepare(x, metric)
    d = brute_distances(x, metric)
    cells = np.minimum(np.floor(d / h.step), 63).astype(int)
    lags = [cells[a, q] - cells[a, p] for a, p, q in brute_triplets(d, labels)]
    lo = min(lags)
    want = np.bincount(np.array(lags) - lo)
    assert np.array_equal(h.counts, want)
    assert h.start == pytest.approx(lo * h.step)
    counts = triplet_counts(x, labels, 0.25, metric)
    assert h.total == counts.total and h.hard == counts.hard
    # Within one grid step of the exact share.
    diffs = np.array([d[a, q] - d[a, p] for a, p, q in brute_triplets(d, labels)])
    for v in (-0.5, 0.0, 0.25, 1.0):
        lo_share, hi_share = np.mean(diffs < v - h.step), np.mean(diffs < v + h.step)
        assert lo_share - 1e-12 <= h.fraction_below(v) <= hi_share + 1e-12
    assert space.metric == metric


def test_histogram_of_a_larger_sample_adds_up():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(500, 16)).astype(np.float32)
    labels = rng.integers(0, 10, 500)
    h = margin_histogram(x, labels, max_anchors=120, seed=2)
    counts = triplet_counts(x, labels, 0.2, max_anchors=120, seed=2)
    assert h.sampled and h.n_anchors == 120 and int(h.counts.sum()) == h.total == counts.total
    assert h.hard == counts.hard
    assert abs(h.fraction_below(0.2) * h.total - (counts.hard + counts.semi_hard)) <= 0.01 * h.total


def test_dominance_counts_against_brute_force():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 8, 37, 130):
        seq = rng.permutation(n)
        length, below = rng.integers(0, n + 1, 200), rng.integers(0, n + 1, 200)
        want = [int(np.sum(seq[:k] < r)) for k, r in zip(length, below, strict=True)]
        assert dominance(seq, length, below).tolist() == want


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_moves_equal_brute_force(metric):
    x0, labels = tied_euclidean(4) if metric == "euclidean" else tied_cosine()
    rng = np.random.default_rng(9)
    x1 = x0 + rng.integers(-1, 2, x0.shape)  # ties again, and some triplets change kind
    d0, d1 = brute_distances(x0, metric), brute_distances(x1, metric)
    for m in (0.0, 0.5, 1.0):
        want = {(b, a): 0 for b in KINDS for a in KINDS}
        for a, p, q in brute_triplets(d0, labels):
            want[kind(d0[a, q], d0[a, p], m), kind(d1[a, q], d1[a, p], m)] += 1
        got = triplet_moves(x0, x1, labels, m, metric)
        assert got.as_pairs() == want
        before, after = triplet_counts(x0, labels, m, metric), triplet_counts(x1, labels, m, metric)
        assert {k: sum(got.counts[k].values()) for k in KINDS} == before.as_dict()
        assert {k: sum(got.counts[b][k] for b in KINDS) for k in KINDS} == after.as_dict()
        assert got.moved == sum(v for (b, a), v in want.items() if a != b)


def test_anchor_triplets_and_classify_match_the_counts():
    x, labels = tied_euclidean(6)
    d = brute_distances(x, "euclidean")
    for a in (0, 5, 25):
        t = anchor_triplets(x, labels, a)
        assert t.anchor == a and a not in t.positives
        assert set(t.positives) == {i for i in range(len(x)) if i != a and labels[i] == labels[a]}
        assert set(t.negatives) == {i for i in range(len(x)) if labels[i] != labels[a]}
        assert np.all(np.diff(t.negative_distances) >= 0) and np.all(np.diff(t.positive_distances) >= 0)
        assert np.allclose(t.negative_distances, d[a, t.negatives])
        for m in (0.0, 1.0):
            assert classify(t.positive_distances, t.negative_distances, m) == \
                triplet_counts(x, labels, m, anchors=[a]).as_dict()


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.2", None, True])
def test_a_bad_margin_names_margin(bad):
    x, labels = tied_euclidean()
    with pytest.raises((TypeError, ValueError), match="margin"):
        triplet_counts(x, labels, bad)


def test_bad_inputs_name_the_parameter():
    x, labels = tied_euclidean()
    with pytest.raises(ValueError, match="metric"):
        triplet_counts(x, labels, metric="manhattan")
    with pytest.raises(ValueError, match="labels"):
        triplet_counts(x, labels[:-1])
    with pytest.raises(ValueError, match="labels.*2 classes"):
        triplet_counts(x, np.zeros(len(x)))
    with pytest.raises(ValueError, match="labels.*2 items"):
        triplet_counts(x[:3], [0, 1, 2])
    with pytest.raises(TypeError, match="labels"):
        triplet_counts(x, None)
    with pytest.raises(ValueError, match="anchors"):
        triplet_counts(x, labels, anchors=[len(x)])
    with pytest.raises(ValueError, match="anchors"):
        triplet_counts(x, labels, anchors=[-1])
    with pytest.raises(TypeError, match="anchors"):
        triplet_counts(x, labels, anchors=[0.5])
    with pytest.raises(ValueError, match="max_anchors"):
        triplet_counts(x, labels, max_anchors=0)
    with pytest.raises(ValueError, match="x must be finite"):
        triplet_counts(np.where(np.arange(len(x))[:, None] == 3, np.nan, x), labels)
    with pytest.raises(ValueError, match="after"):
        triplet_moves(x, x[:-1], labels)
    with pytest.raises(ValueError, match="anchor"):
        anchor_triplets(x, labels, len(x))


def test_summary_is_counts_and_histogram_in_one_pass():
    x, labels = tied_euclidean(8)
    counts, hist = triplet_summary(x, labels, 1.0, grid=32)
    assert counts == triplet_counts(x, labels, 1.0)
    assert np.array_equal(hist.counts, margin_histogram(x, labels, grid=32).counts)
