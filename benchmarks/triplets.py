"""Triplet counts at N = 100,000 items, D = 64 (``nbviz.kernels.triplets``).

- **counts**: ``triplet_counts(x, labels, margin=0.2)`` with its stated sampling: N > ``MAX_ANCHORS`` (2,000), so a
  uniform sample of 2,000 anchors (seed 0), each counted exactly over all its triplets (~1.8e12 of them in all):
  sort the negatives' distances, ``searchsorted`` every positive distance. This is also what a TripletSpace
  recomputes when its margin slider is released.
- **summary**: ``triplet_summary`` (the counts and the histogram of d(a,n) - d(a,p) in one pass): what a
  TripletSpace computes when it is made.
- **moves**: ``triplet_moves(before, after, ...)`` over the 200 anchors a TripletSpace uses at this N (its work
  budget, ``MOVES_WORK`` / N).
- **exact check**: the counts of 20 of the sampled anchors against brute force over their triplets (numpy, each
  anchor's (P, Nn) comparison matrix).

Data: 10 classes, Gaussian clusters in 64-D (centres N(0, 1.5^2), unit noise), float32. Median of ``--repeat``
runs. Run ``python benchmarks/triplets.py --help``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, host, timed, wait_quiet  # noqa: E402
from nbviz.kernels.triplets import (  # noqa: E402
    MAX_ANCHORS,
    anchor_triplets,
    choose_anchors,
    prepare,
    triplet_counts,
    triplet_moves,
    triplet_summary,
)
from nbviz.widgets.triplet_space import MOVES_WORK  # noqa: E402


def data(n: int, d: int, classes: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centers = rng.normal(size=(classes, d)) * 1.5
    return (centers[labels] + rng.normal(size=(n, d))).astype(np.float32), labels


def median_time(repeat: int, fn: object, *args: object, **kwargs: object) -> tuple[float, list[float], object]:
    runs = []
    out = None
    for _ in range(repeat):
        wait_quiet(30, 0.3)
        t, out = timed(fn, *args, **kwargs)
        runs.append(round(t, 3))
    return statistics.median(runs), runs, out


def brute_check(x: np.ndarray, labels: np.ndarray, margin: float, anchors: np.ndarray) -> bool:
    space = prepare(x)
    for a in anchors:
        t = anchor_triplets(None, None, int(a), space=space, codes=labels.astype(np.int64))
        want = {"easy": 0, "semi_hard": 0, "hard": 0}
        for block in np.array_split(t.positive_distances, max(1, len(t.positive_distances) // 500)):
            dn, dp = t.negative_distances[None, :], block[:, None]
            hard = dn < dp
            semi = ~hard & (dn < dp + margin)
            want["hard"] += int(hard.sum())
            want["semi_hard"] += int(semi.sum())
            want["easy"] += int((~hard & ~semi).sum())
        if triplet_counts(x, labels, margin, anchors=[int(a)]).as_dict() != want:
            return False
    return True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--margin", type=float, default=0.2)
    args = p.parse_args()
    quiet = wait_quiet(60, 0.5)
    x, labels = data(args.n, args.d)
    triplet_counts(x[:2000], labels[:2000], args.margin)  # warm-up (BLAS, thread pool)
    t_counts, runs_counts, counts = median_time(args.repeat, triplet_counts, x, labels, args.margin)
    t_summary, runs_summary, _ = median_time(args.repeat, triplet_summary, x, labels, args.margin)
    budget = min(MAX_ANCHORS, max(50, MOVES_WORK // args.n))
    x0 = x + np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    t_moves, runs_moves, moves = median_time(1, triplet_moves, x0, x, labels, args.margin, max_anchors=budget)
    chosen, _ = choose_anchors(args.n, None, MAX_ANCHORS, 0)
    exact = brute_check(x, labels, args.margin, chosen[:20])
    row = {"n": args.n, "d": args.d, "margin": args.margin, "n_anchors": counts.n_anchors, "sampled": counts.sampled,
           "triplets": counts.total, "counts": counts.as_dict(), "counts_s": t_counts, "counts_runs_s": runs_counts,
           "summary_s": t_summary, "summary_runs_s": runs_summary, "moves_anchors": moves.n_anchors,
           "moves_s": t_moves, "brute_force_agrees_on_20_anchors": exact}
    print(json.dumps(row))
    out = {"host": host(), "quiet": quiet, "triplets": row}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "triplets.json").write_text(json.dumps(out, indent=1))
    table = ["| what | anchors | seconds |", "| --- | ---: | ---: |",
             f"| `triplet_counts` (exact per anchor, {counts.total:,} triplets) | {counts.n_anchors:,} of "
             f"{args.n:,}, sampled | {t_counts:.2f} |",
             f"| `triplet_summary` (counts + histogram) | {counts.n_anchors:,} | {t_summary:.2f} |",
             f"| `triplet_moves` (before -> after) | {moves.n_anchors:,} | {t_moves:.2f} |"]
    (RESULTS / "triplets.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
