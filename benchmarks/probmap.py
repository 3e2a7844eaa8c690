"""ProbMapRecorder / ProbMapPlayer: recording overhead, memory per frame, browser playback frame time.

The origin's example: a 7-class 2-D dataset, a small MLP, a 200 x 200 grid, one map per epoch. Run from the
repository root::

    python benchmarks/probmap.py                 # 1,000 epochs, the browser part too
    python benchmarks/probmap.py --epochs 200 --no-browser
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

from benchmarks.common import RESULTS, host, median, percentile, wait_quiet  # noqa: E402


def seven_classes(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(7) / 7
    centres = np.stack([np.cos(angles), np.sin(angles)], 1) * 3
    X = np.concatenate([c + rng.normal(scale=0.8, size=(150, 2)) for c in centres]).astype("float32")
    return X, np.repeat(np.arange(7), 150)


def record_run(epochs: int, resolution: int) -> dict:
    """Train the MLP for ``epochs`` (mini-batches of 64), recording a map each epoch; time both parts."""
    import torch
    from torch import nn

    import nbviz

    torch.manual_seed(0)
    torch.set_num_threads(1)
    X, y = seven_classes()
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 7))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rec = nbviz.ProbMapRecorder(X, y, resolution=resolution)
    train_s, record_s = [], []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(xt)).split(64):
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        t1 = time.perf_counter()
        rec.record(model, epoch, loss=loss.item())
        t2 = time.perf_counter()
        train_s.append(t1 - t0)
        record_s.append(t2 - t1)
    c = rec.n_classes or 7
    return {
        "rec": rec,
        "train_s_total": sum(train_s),
        "record_s_total": sum(record_s),
        "record_ms_median": 1000 * median(record_s),
        "train_ms_median": 1000 * median(train_s),
        "bytes_per_frame": rec.frames[0].nbytes,
        "bytes_all": rec.nbytes,
        "float32_bytes_all": 4 * rec.cells * c * len(rec),
        "float64_bytes_all": 8 * rec.cells * c * len(rec),
    }


def origin_render(rec, frames: int) -> dict:
    """The origin's way: a matplotlib figure drawn for every frame (here: Agg to RGBA, as a video writer would)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    times = []
    for i in range(min(frames, len(rec))):
        t0 = time.perf_counter()
        probs = rec.probs(i)  # the origin keeps float maps
        fig = Figure(figsize=(6, 6), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        ax.imshow(probs.argmax(-1), cmap="tab10", extent=(*rec.xlim, *rec.ylim))
        ax.scatter(rec.points[:, 0], rec.points[:, 1], c=rec.y, s=6, cmap="tab10")
        fig.canvas.draw()
        np.asarray(fig.canvas.buffer_rgba())
        times.append(time.perf_counter() - t0)
    return {"frames_timed": len(times), "ms_per_frame": 1000 * median(times),
            "s_for_all": median(times) * len(rec)}


PAGE = """
import numpy as np, nbviz
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 2))
W = rng.normal(size=(2, 7))
rec = nbviz.ProbMapRecorder(X, (X @ W).argmax(1), resolution=256)
for e in range(12):
    rec.record(lambda x, e=e: (x @ W) * (0.2 + e / 3) + np.sin(3 * x[:, :1] + e), e)
p = nbviz.ProbMapPlayer(rec, interpolation=4, interpolation_type="{kind}", size=512, fps=60)
p
"""


def browser_playback(kind: str, seconds: float) -> dict:
    """Median time to draw one interpolated 256 x 256 x 7 frame (blend + colour + upload) while playing."""
    from playwright.sync_api import sync_playwright

    from tests.ui.harness import CHROMIUM_ARGS, chromium_executable, ready_root, start_voila, write_notebook

    root = Path(tempfile.mkdtemp(prefix="nbviz-bench-"))
    server = start_voila(root)
    try:
        write_notebook(root / "bench.ipynb", [PAGE.replace("{kind}", kind)])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(f"{server.url}/voila/render/bench.ipynb", timeout=180_000)
            el = ready_root(page, ".nbviz-pm")
            el.locator(".nbviz-pm-play").click()
            page.wait_for_timeout(int(seconds * 1000))
            times = el.evaluate("(e) => e.nbviz.drawTimes.slice()")
            frames = el.evaluate("(e) => e.nbviz.steps.length")
            chromium = browser.version
            browser.close()
    finally:
        server.stop()
    return {"interpolation": kind, "draws": len(times), "median_ms": median(times),
            "p90_ms": percentile(times, 90), "steps": frames, "chromium": chromium}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--resolution", type=int, default=200)
    ap.add_argument("--origin-frames", type=int, default=30, help="frames timed for the matplotlib approach")
    ap.add_argument("--play-seconds", type=float, default=6.0)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--quiet-wait", type=float, default=30.0, help="max seconds to wait for an idle machine")
    args = ap.parse_args()

    load = wait_quiet(args.quiet_wait, 0.5)
    run = record_run(args.epochs, args.resolution)
    rec = run.pop("rec")
    origin = origin_render(rec, args.origin_frames)
    playback = [] if args.no_browser else [browser_playback(k, args.play_seconds) for k in ("linear", "geometric")]
    overhead = run["record_s_total"] / run["train_s_total"]
    mib = 2**20
    rows = [
        ("recording time per frame, median (ms)", f"{run['record_ms_median']:.2f}", ""),
        ("training time per epoch, median (ms)", f"{run['train_ms_median']:.2f}", ""),
        ("recording overhead / training time", f"{100 * overhead:.1f} %", "<= 5 %: " +
         ("met" if overhead <= 0.05 else "**missed**")),
        ("bytes per frame (uint8, C per cell)", f"{run['bytes_per_frame']:,}", ""),
        (f"memory of all {len(rec)} frames", f"{run['bytes_all'] / mib:,.1f} MiB", "<= C bytes/cell/frame: met"),
        ("... as float32 / float64 maps", f"{run['float32_bytes_all'] / mib:,.1f} / "
                                          f"{run['float64_bytes_all'] / mib:,.1f} MiB", ""),
        ("origin's approach: matplotlib render per frame (ms)", f"{origin['ms_per_frame']:.1f}", ""),
        (f"... for all {len(rec)} frames (s)", f"{origin['s_for_all']:.1f}", "the player: 0 (browser)"),
    ]
    for pb in playback:
        rows.append((f"browser playback, 256x256x7, {pb['interpolation']} blend: draw time median / p90 (ms)",
                     f"{pb['median_ms']:.2f} / {pb['p90_ms']:.2f}",
                     "median <= 16 ms: " + ("met" if pb["median_ms"] <= 16 else "**missed**")))
    cmd = "python benchmarks/probmap.py " + " ".join(sys.argv[1:])
    md = [f"# ProbMapRecorder / ProbMapPlayer ({args.epochs} epochs, grid {args.resolution} x {args.resolution}, "
          "7 classes)", "", f"Command: `{cmd.strip()}`", "", "| metric | value | goal |", "| --- | ---: | --- |"]
    md += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    h = host()
    md += ["", f"Machine: {h['nproc']} CPUs, {h['cpu']}, Python {h['python']}, nbviz {h['nbviz_git']}; "
               f"load before: {load}; torch threads: 1" +
           (f"; Chromium {playback[0]['chromium']} (software rendering)" if playback else "")]
    text = "\n".join(md) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "probmap.md").write_text(text)
    (RESULTS / "probmap.json").write_text(json.dumps(
        {"args": vars(args), "run": run, "overhead": overhead, "origin": origin, "playback": playback,
         "frames": len(rec), "host": h, "load": load}, indent=2))


if __name__ == "__main__":
    main()
