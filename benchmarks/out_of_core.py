"""Out-of-core features: a 10M x 128 float32 Parquet file opened, laid out by PCA and handed to EmbeddingExplorer,
with the process's anonymous memory measured.

```bash
python benchmarks/out_of_core.py --folder /data/ooc                  # 10M x 128 (5.1 GB Parquet + 5.1 GB cache)
python benchmarks/out_of_core.py --folder /tmp/ooc --rows 1000000    # a quick look
```

Each stage runs in a fresh Python process (so its peaks are its own) that samples ``/proc/self/status`` every 20 ms:
``RssAnon`` is the process's anonymous memory (heap, numpy arrays it owns), ``RssFile`` its file-backed pages (the
mapped embeddings: the OS can drop and re-read them), ``VmHWM`` the kernel's own peak of their sum. The goal (issue 17)
is peak RssAnon minus the RssAnon after imports < 2 GB. Stages:

- ``cold``: ``Features.from_parquet`` with an empty cache folder (streams the row groups into the float32 cache);
- ``warm``: ``Features.from_parquet`` again (the cache is found and mapped) and ``pca(f.embeddings)``;
- ``explorer``: ``Features.from_parquet`` (warm) and ``EmbeddingExplorer(f, method="pca", nside=1)``: ``nside=1``
  leaves out the kNN index that the constructor otherwise starts building in a thread (kNN is measured by
  ``neighbor_latency.py``).
- ``umap`` (with ``--umap-rows M``): ``project(f.embeddings[:M], "umap")``: fitted on a sample of 100,000 (the default
  ``fit_sample``), the other M - 100,000 placed by ``transform``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import RESULTS, wait_quiet  # noqa: E402


def status_kb() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out


class Sampler:
    """Peak RssAnon and RssFile seen by a thread reading /proc every ``every`` seconds (the kernel keeps no peak of
    the anonymous part alone)."""

    def __init__(self, every: float = 0.02) -> None:
        self.peak = status_kb()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, args=(every,), daemon=True)
        self.thread.start()

    def run(self, every: float) -> None:
        while not self.stop.wait(every):
            for k, v in status_kb().items():
                self.peak[k] = max(self.peak[k], v)

    def close(self) -> dict[str, int]:
        self.stop.set()
        self.thread.join()
        for k, v in status_kb().items():
            self.peak[k] = max(self.peak[k], v)
        return self.peak


def generate(path: Path, rows: int, dim: int, block: int = 262_144) -> None:
    """Ten Gaussian clusters in ``dim`` dimensions with an int label column, written in row groups of ``block``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(10, dim)).astype(np.float32)
    schema = pa.schema([("embedding", pa.list_(pa.float32(), dim)), ("label", pa.int16())])
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, rows, block):
            m = min(block, rows - start)
            labels = rng.integers(0, 10, size=m).astype(np.int16)
            x = centres[labels] + rng.standard_normal((m, dim), dtype=np.float32)
            emb = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), dim)
            writer.write_table(pa.table({"embedding": emb, "label": labels}, schema=schema), row_group_size=m)
    tmp.rename(path)


def stage(name: str, path: str, cache: str, umap_rows: int = 0) -> dict:
    """One stage, in this (fresh) process: timings and memory peaks."""
    import nbviz  # noqa: F401  the imports a user's session has, counted in the baseline
    from nbviz import EmbeddingExplorer, Features
    from nbviz.kernels.projection import pca

    base = status_kb()
    sampler = Sampler()
    times = {}
    t0 = time.perf_counter()
    f = Features.from_parquet(path, labels="label", cache_dir=cache, progress=False)
    times["from_parquet_s"] = time.perf_counter() - t0
    if name == "warm":
        t0 = time.perf_counter()
        xy = pca(f.embeddings)
        times["pca_s"] = time.perf_counter() - t0
        times["pca_shape"] = list(xy.shape)
    elif name == "umap":
        from nbviz.kernels.projection import check_projection, project, sampling_note

        marks: dict[str, float] = {}

        def progress(fraction: float, status: str) -> None:  # when the fit ends and the transforms begin
            if "transform" in status:
                marks.setdefault("fit_s", time.perf_counter() - t0)

        t0 = time.perf_counter()
        xy = project(f.embeddings[:umap_rows], "umap", progress=progress)
        times["umap_s"] = time.perf_counter() - t0
        times["umap_fit_s"] = marks.get("fit_s", times["umap_s"])
        times["transform_items_per_s"] = (umap_rows - 100_000) / max(times["umap_s"] - times["umap_fit_s"], 1e-9)
        times["note"] = sampling_note("umap", umap_rows, check_projection("umap", umap_rows))
        times["umap_shape"] = list(xy.shape)
    elif name == "explorer":
        t0 = time.perf_counter()
        ex = EmbeddingExplorer(f, method="pca", nside=1)
        times["explorer_s"] = time.perf_counter() - t0
        times["points"] = list(ex.points.shape)
    peak = sampler.close()
    mb = 1 / 1024
    return {"stage": name, **{k: round(v, 2) if isinstance(v, float) else v for k, v in times.items()},
            "base_anon_mb": round(base["RssAnon"] * mb), "peak_anon_mb": round(peak["RssAnon"] * mb),
            "peak_anon_beyond_base_mb": round((peak["RssAnon"] - base["RssAnon"]) * mb),
            "peak_file_mb": round(peak["RssFile"] * mb), "vm_hwm_mb": round(peak["VmHWM"] * mb),
            "mapped": bool(getattr(f.embeddings, "base", None) is not None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default="/tmp/nbviz-ooc", help="where the Parquet file and the cache go")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--stages", default="cold,warm,explorer", help="which stages, comma-separated (cold writes "
                        "the cache the others read; umap needs --umap-rows)")
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # internal: run one stage in this process
    parser.add_argument("--keep", action="store_true", help="keep the generated file and cache")
    parser.add_argument("--umap-rows", type=int, default=0, help="also time UMAP (fit on 100k + transform) on this "
                        "many rows (0: skip)")
    args = parser.parse_args()
    folder = Path(args.folder)
    path, cache = folder / f"features-{args.rows}x{args.dim}.parquet", folder / "cache"
    if args.stage:
        print(json.dumps(stage(args.stage, str(path), str(cache), args.umap_rows)))
        return
    folder.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows, args.dim)
        print(f"generated {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s")
    stages = args.stages.split(",") + (["umap"] if args.umap_rows and "umap" not in args.stages else [])
    if "cold" in stages:
        shutil.rmtree(cache, ignore_errors=True)
    results = {"rows": args.rows, "dim": args.dim, "parquet_gb": round(path.stat().st_size / 1e9, 2),
               "quiet": wait_quiet(60, 0.5), "stages": []}
    for name in stages:
        out = subprocess.run([sys.executable, __file__, "--folder", str(folder), "--rows", str(args.rows),
                              "--dim", str(args.dim), "--umap-rows", str(args.umap_rows), "--stage", name],
                             capture_output=True, text=True,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if out.returncode:
            sys.exit(f"stage {name} failed:\n{out.stderr[-3000:]}")
        results["stages"].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(results["stages"][-1]))
    lines = ["| stage | time (s) | peak RssAnon beyond imports (MB) | peak RssAnon (MB) | peak RssFile (MB) "
             "| VmHWM (MB) |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for s in results["stages"]:
        t = s["from_parquet_s"] + s.get("pca_s", 0) + s.get("explorer_s", 0) + s.get("umap_s", 0)
        lines.append(f"| {s['stage']} | {t:.1f} | {s['peak_anon_beyond_base_mb']:,} | {s['peak_anon_mb']:,} | "
                     f"{s['peak_file_mb']:,} | {s['vm_hwm_mb']:,} |")
    table = "\n".join(lines)
    print("\n" + table)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"out_of_core_{args.rows}_{'_'.join(stages)}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1))
    stem.with_suffix(".md").write_text(f"`{' '.join(sys.argv)}` ({args.rows:,} x {args.dim}, "
                                       f"{results['parquet_gb']} GB Parquet)\n\n{table}\n")
    if not args.keep:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
