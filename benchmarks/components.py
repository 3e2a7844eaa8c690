"""Principal components + extremes at N = 100,000, D = 2,048, and neighbourhood agreement at N = 100,000, k = 10.

- **components**: ``nbviz.kernels.components.principal_components(x, 10)`` (randomized, torch, implicit centring)
  followed by ``extremes`` of every component (m = 8); anchors: scikit-learn ``PCA(10, svd_solver="full")`` and
  ``PCA(10, svd_solver="randomized")`` on the same float32 data (low rank 50 + noise, seed 0).
- **agreement**: ``neighborhood_agreement(a, b, k=10)`` for two spaces of the same N items (D = 64 and D = 32,
  one a noisy projection of the other): two exact ``knn_all`` and a Jaccard per item.

Goals (issue 4): components + extremes < 3 s; agreement < 10 s. Run ``python benchmarks/components.py --help``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, host, timed, version, wait_quiet  # noqa: E402
from nbviz.kernels.components import extremes, neighborhood_agreement, principal_components  # noqa: E402


def data(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low = rng.standard_normal((n, 50), dtype=np.float32) * np.linspace(10, 1, 50, dtype=np.float32)
    x = low @ rng.standard_normal((50, d), dtype=np.float32)
    x += rng.standard_normal((n, d), dtype=np.float32)
    return x


def bench_components(n: int, d: int, anchors: bool) -> dict:
    x = data(n, d)

    def ours() -> object:
        pc = principal_components(x, 10)
        return pc, [extremes(pc.scores, i, 8) for i in range(10)]

    ours()  # warm-up (torch import, thread pools)
    t_ours, (pc, _) = timed(ours)
    row = {"n": n, "d": d, "nbviz_s": round(t_ours, 3)}
    if anchors:
        from sklearn.decomposition import PCA

        t_rand, rand = timed(lambda: PCA(10, svd_solver="randomized", random_state=0).fit(x))
        row["sklearn_randomized_s"] = round(t_rand, 3)
        row["max_rel_var_err_vs_sklearn_randomized"] = float(
            np.abs(pc.explained_variance_ratio / rand.explained_variance_ratio_ - 1).max())
        t_full, full = timed(lambda: PCA(10, svd_solver="full").fit(x))
        row["sklearn_full_s"] = round(t_full, 3)
        row["max_rel_var_err_vs_sklearn_full"] = float(
            np.abs(pc.explained_variance_ratio / full.explained_variance_ratio_ - 1).max())
    return row


def bench_agreement(n: int, k: int) -> dict:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, 64), dtype=np.float32)
    b = a[:, :32] + 0.5 * rng.standard_normal((n, 32), dtype=np.float32)
    t, agreement = timed(neighborhood_agreement, a, b, k)
    return {"n": n, "k": k, "nbviz_s": round(t, 3), "mean_jaccard": round(float(agreement.mean()), 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000, help="items for the components benchmark")
    p.add_argument("--d", type=int, default=2048, help="features for the components benchmark")
    p.add_argument("--agreement-n", type=int, nargs="+", default=[10_000, 20_000, 100_000])
    p.add_argument("--no-anchors", action="store_true", help="skip scikit-learn's PCA (the full solver is slow)")
    args = p.parse_args()
    quiet = wait_quiet(60, 0.5)
    comps = bench_components(args.n, args.d, not args.no_anchors)
    print(json.dumps(comps))
    agree = []
    for n in args.agreement_n:
        agree.append(bench_agreement(n, 10))
        print(json.dumps(agree[-1]))
    out = {"host": host(), "quiet": quiet, "torch": version("torch"), "scikit-learn": version("scikit-learn"),
           "components": comps, "agreement": agree}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "components.json").write_text(json.dumps(out, indent=2))
    lines = ["| benchmark | N | D / k | nbviz s | sklearn randomized s | sklearn full s | goal |",
             "|---|---|---|---|---|---|---|",
             f"| components + extremes (10 PCs, m=8) | {comps['n']:,} | {comps['d']:,} | {comps['nbviz_s']} | "
             f"{comps.get('sklearn_randomized_s', 'n/a')} | {comps.get('sklearn_full_s', 'n/a')} | < 3 s |"]
    lines += [f"| agreement (Jaccard of k-NN, D 64 vs 32) | {r['n']:,} | k={r['k']} | {r['nbviz_s']} | | | < 10 s |"
              for r in agree]
    (RESULTS / "components.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
