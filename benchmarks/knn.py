"""kNN side by side: FAISS vs the hand-written torch IVF vs exact, at N = 100k, 1M and 10M, D = 128.

Data: 100 Gaussian clusters in 128-D (centres N(0, 4^2), unit noise, seed 0), as ``neighbor_latency.py``;
generated in blocks (10M x 128 float32 is 5.1 GB), optionally into an ``np.memmap`` file (``--memmap DIR``).

- **graph**: ``knn_graph(x, 10, exact=False, backend=...)`` (every item's 10 nearest others: index build + search
  of all items) with ``backend="faiss"`` and ``"torch"``; exact (``knn_all``) where N <= ``--exact-graph-max``.
- **query**: ``NeighborIndex(x, approximate=...).query(i, 10)`` (the ``ex.neighbors(i)`` path), median of
  ``--queries`` random items: the exact scan, and the FAISS index (its one-time build timed apart). The torch IVF
  has no single-query path (it only builds whole graphs).

Recall@10 is measured against exact neighbours of ``--sample`` random items (faiss brute force over all items, its
candidates re-measured in float64). Results: ``benchmarks/results/knn.{json,md}``. ``python benchmarks/knn.py -h``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, host, median, percentile, version, wait_quiet  # noqa: E402
from nbviz.kernels import faiss_ivf  # noqa: E402
from nbviz.kernels.knn_graph import knn_graph  # noqa: E402
from nbviz.kernels.neighbors import NeighborIndex, knn_all  # noqa: E402

K = 10


def make_data(n: int, d: int, memmap_dir: str | None, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(100, d)).astype(np.float32)
    if memmap_dir:
        x = np.lib.format.open_memmap(Path(memmap_dir) / f"knn_{n}x{d}.npy", "w+", np.float32, (n, d))
    else:
        x = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 1 << 20):
        m = min(n, s + (1 << 20)) - s
        x[s:s + m] = centres[rng.integers(0, 100, m)] + rng.standard_normal((m, d), dtype=np.float32)
    return x


def timed(fn: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench(x: np.ndarray, args: argparse.Namespace) -> dict:
    n = len(x)
    row: dict = {"n": n, "d": x.shape[1]}
    sample = np.sort(np.random.default_rng(7).choice(n, size=min(n, args.sample), replace=False))
    t, true = timed(lambda: faiss_ivf.exact_sample(x, sample, K, False, exclude=True))
    row["truth_s"] = round(t, 2)
    if n <= args.graph_max:
        for backend in ("faiss", "torch"):
            wait_quiet(30, 0.5)
            t, g = timed(lambda b=backend: knn_graph(x, K, exact=False, backend=b))
            row[f"graph_{backend}"] = {"s": round(t, 2), "cells": g.cells, "probes": g.probes,
                                       "recall_reported": round(g.recall, 4),
                                       "recall": round(faiss_ivf.recall(g.indices[sample], true), 4)}
            print(json.dumps({backend: row[f"graph_{backend}"]}), flush=True)
        if n <= args.exact_graph_max:
            wait_quiet(30, 0.5)
            t, (idx, _) = timed(lambda: knn_all(x, K))
            row["graph_exact"] = {"s": round(t, 2), "recall": round(faiss_ivf.recall(idx[sample], true), 4)}
    picks = np.random.default_rng(11).choice(n, size=args.queries, replace=False)
    for name, approximate in (("exact", False), ("faiss", True)):
        index = NeighborIndex(x, approximate=approximate)
        wait_quiet(30, 0.5)
        build, _ = timed(index.build)
        index.query(int(picks[0]), K)  # warm-up: first-touch of buffers
        times = [timed(lambda i=int(i), f=index.query: f(i, K))[0] * 1e3 for i in picks]
        entry = {"build_s": round(build, 2), "median_ms": round(median(times), 2),
                 "p90_ms": round(percentile(times, 90), 2), "queries": len(times)}
        if approximate:
            got = np.stack([index.query(int(i), K).indices for i in sample[:args.recall_queries]])
            entry.update(probes=index.probes, cells=index._ivf.cells, recall_tuned=round(index.recall, 4),
                         recall=round(faiss_ivf.recall(got, true[:args.recall_queries]), 4))
        row[f"query_{name}"] = entry
        print(json.dumps({f"query_{name}": entry}), flush=True)
        del index
    return row


def table(rows: list[dict]) -> str:
    def graph_cell(r: dict, key: str) -> str:
        g = r.get(key)
        return "not run" if g is None else f"{g['s']} s, recall {g['recall']:.3f}"

    lines = ["| N (D = 128) | graph: FAISS | graph: torch IVF | graph: exact | FAISS / torch graph time | "
             "query: FAISS median (p90) ms | query: exact median (p90) ms | exact / FAISS query time | "
             "FAISS query recall@10 | FAISS index build s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gf, gt = r.get("graph_faiss"), r.get("graph_torch")
        ratio = f"{gf['s'] / gt['s']:.2f}x" if gf and gt else ""
        qf, qe = r["query_faiss"], r["query_exact"]
        lines.append(f"| {r['n']:,} | {graph_cell(r, 'graph_faiss')} | {graph_cell(r, 'graph_torch')} | "
                     f"{graph_cell(r, 'graph_exact')} | {ratio} | {qf['median_ms']} ({qf['p90_ms']}) | "
                     f"{qe['median_ms']} ({qe['p90_ms']}) | {qe['median_ms'] / qf['median_ms']:.0f}x | "
                     f"{qf['recall']:.3f} ({qf['probes']} of {qf['cells']} cells) | {qf['build_s']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    p.add_argument("--d", type=int, default=128)
    p.add_argument("--graph-max", type=int, default=1_000_000, help="largest N whose all-items graph is built")
    p.add_argument("--exact-graph-max", type=int, default=100_000, help="largest N of the exact graph (N^2 D)")
    p.add_argument("--queries", type=int, default=50, help="timed single queries (median, p90)")
    p.add_argument("--sample", type=int, default=1000, help="items whose exact neighbours measure recall")
    p.add_argument("--recall-queries", type=int, default=1000, help="single queries checked for recall")
    p.add_argument("--memmap", metavar="DIR", nargs="?", const=tempfile.gettempdir(), default=None,
                   help="generate the data into an np.memmap .npy file in DIR")
    p.add_argument("--out", default="knn", help="results file stem under benchmarks/results/")
    args = p.parse_args()
    rows = []
    for n in args.n:
        x = make_data(n, args.d, args.memmap)
        rows.append(bench(x, args))
        del x
    out = {"host": host(), "faiss": version("faiss-cpu"), "torch": version("torch"), "k": K,
           "memmap": bool(args.memmap), "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(out, indent=2))
    (RESULTS / f"{args.out}.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
