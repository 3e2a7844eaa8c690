"""Features.from_model on Ray Data vs the local path: throughput (items/s) and identical features, same data.

A small ResNet-shaped CNN (stem, three stages of two residual blocks, 16-32-64 channels) over N generated 32x32 RGB
images; the features are the global-average-pooled output of the last stage (D = 64). Each case runs end to end as a
user calls it, Parquet part files and ``from_parquet``'s memory-mapped cache included for Ray:

- local: ``Features.from_model(model, x, layer="stage3")`` (torch on all the process's threads);
- ray: ``Features.from_model(model, ray.data.from_numpy(blocks), layer="stage3", engine="ray")`` on a local cluster of
  ``--cpus`` CPUs, ``x`` in blocks of 8 batches (the default pool, which Ray Data grows from 1 actor);
- ray, fixed pool: the same through :func:`nbviz.ray_engine.extract_on_ray` with ``actors=--cpus``.

Run from the repository root::

    python benchmarks/ray_extract.py                  # N = 10,000, 2 CPUs
    python benchmarks/ray_extract.py --n 2000 --repeats 1
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, host, median, wait_quiet  # noqa: E402


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.skip(x))


class SmallResNet(nn.Module):
    """ResNet-shaped, for 32x32 inputs (CIFAR layout), ~0.7 M parameters."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.stage1 = nn.Sequential(Block(16, 16, 1), Block(16, 16, 1))
        self.stage2 = nn.Sequential(Block(16, 32, 2), Block(32, 32, 1))
        self.stage3 = nn.Sequential(Block(32, 64, 2), Block(64, 64, 1))
        self.head = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage3(self.stage2(self.stage1(self.stem(x))))
        return self.head(x.mean((2, 3)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="images (default 10,000)")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster (default 2)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quiet-wait", type=float, default=60, help="max seconds to wait for a calm machine")
    args = ap.parse_args()

    import ray

    from nbviz.data import Features
    from nbviz.kernels.activations import extract
    from nbviz.ray_engine import extract_on_ray

    torch.manual_seed(0)
    model = SmallResNet().eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, args.n)
    load = wait_quiet(args.quiet_wait, 0.3)
    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    start_s = time.perf_counter() - t0
    work = Path(tempfile.mkdtemp(prefix="nbviz-bench-ray-"))
    blocks = max(1, -(-args.n // (8 * args.batch_size)))

    def local() -> np.ndarray:
        return Features.from_model(model, x, layer="stage3", batch_size=args.batch_size, labels=labels,
                                   progress=False).embeddings

    def on_ray(k: int) -> np.ndarray:
        ds = ray.data.from_numpy(np.array_split(x, blocks))  # several blocks: one block is one actor's work
        return Features.from_model(model, ds, layer="stage3", engine="ray", batch_size=args.batch_size,
                                   labels=labels, output=work / f"ray{k}", progress=False).embeddings

    def fixed_pool(k: int) -> np.ndarray:
        batch = functools.partial(extract, layer="stage3", batch_size=args.batch_size, progress=False)
        ds = ray.data.from_numpy(np.array_split(x, blocks))
        folder, _, _ = extract_on_ray(model, ds, batch, batch_size=args.batch_size, labels=labels,
                                      output=work / f"fixed{k}", progress=False, actors=args.cpus)
        return Features.from_parquet(folder, labels="label", cache_dir=folder / "_cache", progress=False).embeddings

    cases = {"local": lambda k: local(), "ray (default pool)": on_ray, f"ray (fixed pool of {args.cpus})": fixed_pool}
    times: dict[str, list[float]] = {name: [] for name in cases}
    reference = None
    max_diff: dict[str, float] = {}
    for k in range(args.repeats):
        for name, run in cases.items():
            t = time.perf_counter()
            emb = np.asarray(run(k))
            times[name].append(time.perf_counter() - t)
            reference = emb if reference is None else reference
            max_diff[name] = max(max_diff.get(name, 0.0), float(np.abs(emb - reference).max()))
            print(f"{name}: {times[name][-1]:.2f} s", flush=True)
    ray.shutdown()
    shutil.rmtree(work, ignore_errors=True)

    rows = []
    # Best of the repeats: on a shared machine the other work only ever adds time (one local run took 5x another).
    base = min(times["local"])
    for name, ts in times.items():
        best = min(ts)
        rows.append({"case": name, "best_s": round(best, 2), "median_s": round(median(ts), 2),
                     "items_per_s": round(args.n / best), "vs_local": round(best / base, 2),
                     "max_abs_diff_vs_local": max_diff[name], "runs_s": [round(t, 2) for t in ts]})
    out = {"host": host(), "load": load, "n": args.n, "cpus": args.cpus, "batch_size": args.batch_size,
           "repeats": args.repeats, "ray": ray.__version__, "torch": torch.__version__,
           "ray_init_s": round(start_s, 2), "rows": rows}
    cmd = "python benchmarks/ray_extract.py " + " ".join(sys.argv[1:])
    lines = [f"`{cmd.strip()}` ({args.n:,} images 3x32x32, SmallResNet -> stage3 avg-pooled, D = 64; "
             f"{args.cpus}-CPU local Ray cluster, ray {ray.__version__}, torch {torch.__version__}; "
             f"{args.repeats} repeats; load average {load['loadavg_1m']}; ray.init took {start_s:.1f} s, not counted)",
             "", "| case | best (s) | median (s) | items/s (best) | best / local best | max abs diff vs local |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['case']} | {r['best_s']:.2f} | {r['median_s']:.2f} | {r['items_per_s']:,} | {r['vs_local']:.2f} | "
              f"{r['max_abs_diff_vs_local']:.1e} |" for r in rows]
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ray_extract.md").write_text(table + "\n")
    (RESULTS / "ray_extract.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
