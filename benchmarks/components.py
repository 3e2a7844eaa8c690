"""Principal components + extremes at N = 100,000, D = 2,048, and neighbourhood agreement at N = 100,000, k = 10.

- **components**: ``nbviz.kernels.components.principal_components(x, 10)`` (randomized block Krylov, torch,
  implicit centring) followed by ``extremes`` of every component (m = 8), median of ``--repeat`` runs; anchors:
  scikit-learn ``PCA(10, svd_solver="full")`` and ``PCA(10, svd_solver="randomized")`` on the same float32 data
  (low rank 50 + noise, seed 0), and the largest relative error of the explained variance ratios against them.
- **agreement**: ``neighborhood_agreement(a, b, k=10)`` for two spaces of the same N items (D = 64 and D = 32),
  on two kinds of data:

  - ``noise``: isotropic Gaussian noise in 64-D, and a noisy projection of it to 32-D. No structure at all, the
    worst case for any index: by default the exact search is used (the index would search most cells).
  - ``clustered``: 100 classes in a 16-D latent space seen through a non-linear 64-D map (a) and a noisy linear
    32-D map (b), the structure two models' embeddings of the same items have.

  Each is timed as ``neighborhood_agreement`` chooses by size (``auto``: the approximate index from
  ``APPROX_MIN_ITEMS`` items on), with the index forced (``exact=False``) and exactly (``exact=True``). The
  approximate neighbours are checked against the exact ones of every item: recall@10 per space, and the
  error of the mean Jaccard.

Goals (issue 4): components + extremes < 3 s; agreement < 10 s. Run ``python benchmarks/components.py --help``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, host, timed, version, wait_quiet  # noqa: E402
from nbviz.kernels.component_stats import neighborhood_agreement  # noqa: E402
from nbviz.kernels.components import extremes, principal_components  # noqa: E402
from nbviz.kernels.knn_graph import APPROX_MIN_ITEMS  # noqa: E402


def data(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low = rng.standard_normal((n, 50), dtype=np.float32) * np.linspace(10, 1, 50, dtype=np.float32)
    x = low @ rng.standard_normal((50, d), dtype=np.float32)
    x += rng.standard_normal((n, d), dtype=np.float32)
    return x


def quiet_timed(fn: object, *args: object, **kwargs: object) -> tuple[float, object]:
    wait_quiet(30, 0.3)
    return timed(fn, *args, **kwargs)


def bench_components(n: int, d: int, anchors: bool, repeat: int) -> dict:
    x = data(n, d)

    def ours() -> object:
        pc = principal_components(x, 10)
        return pc, [extremes(pc.scores, i, 8) for i in range(10)]

    ours()  # warm-up (torch import, thread pools)
    runs = [quiet_timed(ours) for _ in range(repeat)]
    pc = runs[0][1][0]
    row = {"n": n, "d": d, "nbviz_s": round(statistics.median(t for t, _ in runs), 3),
           "nbviz_runs_s": [round(t, 3) for t, _ in runs]}
    if anchors:
        from sklearn.decomposition import PCA

        t_rand, rand = quiet_timed(lambda: PCA(10, svd_solver="randomized", random_state=0).fit(x))
        row["sklearn_randomized_s"] = round(t_rand, 3)
        row["max_rel_var_err_vs_sklearn_randomized"] = float(
            np.abs(pc.explained_variance_ratio / rand.explained_variance_ratio_ - 1).max())
        t_full, full = quiet_timed(lambda: PCA(10, svd_solver="full").fit(x))
        row["sklearn_full_s"] = round(t_full, 3)
        row["max_rel_var_err_vs_sklearn_full"] = float(
            np.abs(pc.explained_variance_ratio / full.explained_variance_ratio_ - 1).max())
    return row


def spaces(kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    if kind == "noise":
        a = rng.standard_normal((n, 64), dtype=np.float32)
        return a, a[:, :32] + 0.5 * rng.standard_normal((n, 32), dtype=np.float32)
    z = 2.0 * rng.standard_normal((100, 16))[rng.integers(0, 100, n)] + rng.standard_normal((n, 16))
    a = np.tanh(z @ rng.standard_normal((16, 64)) / 4.0) + 0.05 * rng.standard_normal((n, 64))
    b = (z + 0.5 * rng.standard_normal((n, 16))) @ rng.standard_normal((16, 32))
    return a.astype(np.float32), b.astype(np.float32)


def _recall(found: np.ndarray, true: np.ndarray) -> float:
    both = np.sort(np.concatenate([found, true], axis=1), axis=1)
    return float((both[:, 1:] == both[:, :-1]).sum() / true.size)


def bench_agreement(kind: str, n: int, k: int) -> dict:
    a, b = spaces(kind, n)
    row: dict = {"data": kind, "n": n, "k": k}
    t, (exact, exact_graphs) = quiet_timed(neighborhood_agreement, a, b, k, exact=True, return_graphs=True)
    row["exact_s"] = round(t, 3)
    row["mean_jaccard_exact"] = round(float(exact.mean()), 4)
    for mode, flag in (("auto", None), ("index", False)):
        if mode == "index" and n >= APPROX_MIN_ITEMS:
            row["index_s"] = row["auto_s"]  # auto is the index there
            row["index_exact"] = row["auto_exact"]
            continue
        t, (jac, graphs) = quiet_timed(neighborhood_agreement, a, b, k, exact=flag, return_graphs=True)
        row[f"{mode}_s"] = round(t, 3)
        row[f"{mode}_exact"] = [g.exact for g in graphs]
        if not all(g.exact for g in graphs):
            row["probes"] = [g.probes for g in graphs]
            row["cells"] = graphs[0].cells
            row["recall_reported"] = [round(g.recall, 4) for g in graphs]
            # Against the exact neighbours of every item, not a sample.
            row["recall_all_items"] = [round(_recall(g.indices, e.indices), 4)
                                       for g, e in zip(graphs, exact_graphs, strict=True)]
            row["mean_jaccard_index"] = round(float(jac.mean()), 4)
            row["mean_jaccard_error"] = round(float(jac.mean() - exact.mean()), 4)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000, help="items for the components benchmark")
    p.add_argument("--d", type=int, default=2048, help="features for the components benchmark")
    p.add_argument("--repeat", type=int, default=5, help="timed runs of the components benchmark (median)")
    p.add_argument("--agreement-n", type=int, nargs="+", default=[20_000, 100_000])
    p.add_argument("--data", nargs="+", default=["clustered", "noise"], choices=["clustered", "noise"])
    p.add_argument("--no-anchors", action="store_true", help="skip scikit-learn's PCA (the full solver is slow)")
    args = p.parse_args()
    quiet = wait_quiet(60, 0.5)
    comps = bench_components(args.n, args.d, not args.no_anchors, args.repeat)
    print(json.dumps(comps))
    agree = []
    for kind in args.data:
        for n in args.agreement_n:
            agree.append(bench_agreement(kind, n, 10))
            print(json.dumps(agree[-1]))
    out = {"host": host(), "quiet": quiet, "torch": version("torch"), "scikit-learn": version("scikit-learn"),
           "approx_min_items": APPROX_MIN_ITEMS, "components": comps, "agreement": agree}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "components.json").write_text(json.dumps(out, indent=2))
    err = comps.get("max_rel_var_err_vs_sklearn_full")
    lines = ["| benchmark | N | D | nbviz s | sklearn randomized s | sklearn full s | max rel. error of EVR vs full "
             "| goal |",
             "|---|---|---|---|---|---|---|---|",
             f"| components + extremes (10 PCs, m=8) | {comps['n']:,} | {comps['d']:,} | {comps['nbviz_s']} | "
             f"{comps.get('sklearn_randomized_s', 'n/a')} | {comps.get('sklearn_full_s', 'n/a')} | "
             f"{'n/a' if err is None else f'{err:.1e}'} | < 3 s |", "",
             "| agreement, k=10, D 64 vs 32 | N | default s (path) | index s | exact s | cells searched | "
             "recall@10 a / b (all items) | mean Jaccard exact | error of mean Jaccard | goal |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in agree:
        path = "exact" if all(r["auto_exact"]) else "index"
        index = f"{r['index_s']}" + (" (fell back to exact)" if all(r["index_exact"]) else "")
        probes = f"{r['probes'][0]} / {r['probes'][1]} of {r['cells']}" if "probes" in r else ""
        recall = " / ".join(f"{v:.3f}" for v in r["recall_all_items"]) if "recall_all_items" in r else ""
        error = f"{r['mean_jaccard_error']:+.4f}" if "mean_jaccard_error" in r else ""
        lines.append(f"| {r['data']} | {r['n']:,} | {r['auto_s']} ({path}) | {index} | {r['exact_s']} | {probes} | "
                     f"{recall} | {r['mean_jaccard_exact']} | {error} | < 10 s |")
    (RESULTS / "components.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
