"""nbviz EmbeddingExplorer vs jupyter-scatter: first frame, zoom frame times and bytes on the wire, in Voila.

Both widgets draw the same random 2-D points (fixed seed, 10 categories, canvas about 900x600) in a Voila page
opened in headless Debian Chromium (software WebGL: ``--disable-gpu``). One Voila server serves generated
notebooks from a temporary folder; every measurement opens a fresh page. Requests that leave the machine are
blocked (the UI tests' NetworkGuard).

Metrics, per library and N (medians over ``--repeats``):

- first frame: from the start of ``page.goto`` to the first animation frame in which a plot-sized 2-D canvas
  shows points (more than ``--threshold`` of its sampled pixels differ from its corner pixel). Both libraries
  draw with regl-scatterplot, which copies each frame onto a 2-D canvas, so one pixel test serves both.
  nbviz's own ``data-nbviz-ready`` time is reported beside it.
- zoom frame time: a requestAnimationFrame loop records frame timestamps while the mouse, at the canvas centre,
  sends ``--wheel-events`` wheel events (half zooming in, half out); median and 90th percentile of the
  intervals between frames from the first wheel event to the first frame after the last one.
- bytes per point: websocket payload bytes received by the page (Playwright ``framereceived``) from the start
  of the load to the first frame, divided by N; "data" bytes leave out the widget's JS/CSS bundle, which
  anywidget sends over the same socket.

Run ``python benchmarks/embedding_render.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import host, median, percentile, version, wait_quiet  # noqa: E402
from tests.ui.harness import (  # noqa: E402 - the repo root must be importable first
    CHROMIUM_ARGS,
    NetworkGuard,
    chromium_executable,
    start_voila,
    write_notebook,
)

LIBS = ("nbviz", "jscatter")
LIB_NAMES = {"nbviz": "nbviz", "jscatter": "jupyter-scatter"}
WIDTH, HEIGHT = 900, 600
VIEWPORT = {"width": 1400, "height": 900}
# nbviz puts its neighbour panel (260 px + 8 px gap, CSS in js/src/embedding_explorer/styles.css) right of the
# plot, and the plot has a 1 px border: this much more widget width leaves the plot canvas WIDTH wide.
NBVIZ_EXTRA_WIDTH = 270
PROBE_JS = (Path(__file__).parent / "_page_probe.js").read_text()
RESULTS = Path(__file__).parent / "results"
GOALS = {"first_frame": 1.0, "median_frame_1m": 1.0, "bytes_per_point": 10.0}

# The same points for both libraries: 10 Gaussian blobs, one category each (seed 0).
DATA_CELL = """
import json, time, pathlib
_t = {{"start": time.perf_counter()}}
import numpy as np
n = {n}
rng = np.random.default_rng(0)
centres = rng.normal(scale=4.0, size=(10, 2))
cat = rng.integers(0, 10, n).astype(np.uint8)
pts = (centres[cat] + rng.normal(size=(n, 2))).astype(np.float32)
_t["data"] = time.perf_counter()
"""

WIDGET_CELLS = {
    "nbviz": """
import nbviz, ipywidgets
_t["import"] = time.perf_counter()
w = nbviz.EmbeddingExplorer(pts, labels=cat, height={height}, layout=ipywidgets.Layout(width="{nbviz_width}px"))
_t["widget"] = time.perf_counter()
""",
    "jscatter": """
import jscatter, pandas as pd
_t["import"] = time.perf_counter()
names = [f"c{{i}}" for i in range(10)]
df = pd.DataFrame({{"x": pts[:, 0], "y": pts[:, 1], "c": pd.Categorical.from_codes(cat, names)}})
w = jscatter.Scatter(data=df, x="x", y="y", color_by="c", width={width}, height={height}).show()
_t["widget"] = time.perf_counter()
""",
}

# Display explicitly to time it (nbviz draws a static PNG into its output), then record the kernel's timings.
DISPLAY_CELL = """
from IPython.display import display
display(w)
_t["display"] = time.perf_counter()
_ = pathlib.Path({path!r}).write_text(json.dumps({{k: v - _t["start"] for k, v in _t.items()}}))
"""

# Exact bytes of the JS + CSS anywidget sends in the widget's state (``_esm``, ``_css``).
BUNDLES = {
    "nbviz": lambda: [ROOT / "nbviz/static/embedding_explorer.js", ROOT / "nbviz/static/embedding_explorer.css"],
    "jscatter": lambda: [Path(__import__("jscatter").__file__).parent / f for f in ("bundle.js", "bundle.css")],
}


def bundle_bytes(lib: str) -> int | None:
    try:
        return sum(p.stat().st_size for p in BUNDLES[lib]() if p.exists())
    except ImportError:  # jupyter-scatter not installed: an nbviz-only run (--libs nbviz)
        return None


# --------------------------------------------------------------------------------------------------
# One measurement: a fresh page, the first frame, then the zoom.
# --------------------------------------------------------------------------------------------------
def notebook_name(lib: str, n: int) -> str:
    return f"bench_{lib}_{n}"


def write_notebooks(root: Path, libs: list[str], sizes: list[int]) -> None:
    for lib in libs:
        for n in sizes:
            name = notebook_name(lib, n)
            cells = [
                DATA_CELL.format(n=n),
                WIDGET_CELLS[lib].format(width=WIDTH, height=HEIGHT, nbviz_width=WIDTH + NBVIZ_EXTRA_WIDTH),
                DISPLAY_CELL.format(path=str(root / f"{name}.timings.json")),
            ]
            write_notebook(root / f"{name}.ipynb", cells)


def measure(browser: Any, server: Any, lib: str, n: int, args: argparse.Namespace,
            shot: Path | None = None) -> dict:
    name = notebook_name(lib, n)
    timings_file = server.root / f"{name}.timings.json"
    timings_file.unlink(missing_ok=True)
    guard = NetworkGuard()
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.route("**/*", guard.handle)
    page = context.new_page()
    page.add_init_script(PROBE_JS.replace("__THRESHOLD__", repr(args.threshold)))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    crashed: list[bool] = []
    page.on("crash", lambda _p: crashed.append(True))
    received = {"bytes": 0, "frames": 0, "largest": 0}
    sent = {"bytes": 0}

    def on_ws(ws: Any) -> None:
        def got(payload: Any) -> None:
            size = len(payload.encode() if isinstance(payload, str) else payload)
            received["bytes"] += size
            received["frames"] += 1
            received["largest"] = max(received["largest"], size)

        ws.on("framereceived", got)
        ws.on("framesent", lambda p: sent.__setitem__("bytes", sent["bytes"] + len(p)))

    page.on("websocket", on_ws)
    out: dict[str, Any] = {"lib": lib, "n": n}
    try:
        t0 = time.time() * 1000
        page.goto(f"{server.url}/voila/render/{name}.ipynb", wait_until="commit", timeout=args.timeout * 1000)
        try:
            page.wait_for_function("() => window.__bench && window.__bench.paint !== null",
                                   timeout=args.timeout * 1000, polling=100)
        except Exception as exc:  # noqa: BLE001 - a timeout or crash is a result here, not a failure
            out["error"] = f"no first frame in {args.timeout}s: {type(exc).__name__}: {str(exc)[:200]}"
        if crashed:
            out["error"] = "page crashed (renderer out of memory?)"
            return out
        ws_bytes_load = received["bytes"]
        ws_frames_load = received["frames"]
        if lib == "nbviz" and "error" not in out:
            try:
                page.wait_for_function("() => window.__bench.ready !== null", timeout=30_000, polling=100)
            except Exception:  # noqa: BLE001
                out["note"] = "data-nbviz-ready never became true"
        probe = page.evaluate("""() => { const B = window.__bench; const c = B.paintCanvas;
            const r = c ? c.getBoundingClientRect() : null;
            const nav = performance.getEntriesByType('navigation')[0] || {};
            return { origin: performance.timeOrigin, paint: B.paint, ready: B.ready, webgl: B.webgl,
                     wsOpen: B.wsOpen, ws: B.ws, draws: B.draws, longtasks: B.longtasks,
                     fraction: B.paintFraction,
                     canvas: c ? {css: [r.width, r.height], px: [c.width, c.height]} : null,
                     responseStart: nav.responseStart, responseEnd: nav.responseEnd,
                     domContentLoaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
                     htmlBytes: nav.transferSize }; }""")
        shift = probe["origin"] - t0  # page clock (ms since its time origin) -> ms since page.goto began

        def at(ms: float | None) -> float | None:
            return None if ms is None else ms + shift

        ws = probe["ws"]
        big = max(ws, key=lambda m: m[1]) if ws else None
        paint = probe["paint"]
        points_draws = [d for d in probe["draws"] if d[1] >= n]
        before_paint = [lt for lt in probe["longtasks"] if paint is not None and lt[0] < paint]
        out.update(
            first_frame_ms=at(paint),
            ready_ms=at(probe["ready"]),
            paint_fraction=probe["fraction"],
            canvas=probe["canvas"],
            html_response_start_ms=at(probe["responseStart"]),
            html_response_end_ms=at(probe["responseEnd"]),
            dom_content_loaded_ms=at(probe["domContentLoaded"]),
            load_event_ms=at(probe["load"]),
            html_bytes=probe["htmlBytes"],
            ws_open_ms=at(probe["wsOpen"]),
            largest_msg_ms=at(big[0]) if big else None,
            largest_msg_bytes=big[1] if big else None,
            last_msg_before_paint_ms=at(max((m[0] for m in ws if paint is None or m[0] <= paint), default=None)),
            webgl_context_ms=at(probe["webgl"]),
            first_points_draw_ms=at(points_draws[0][0]) if points_draws else None,
            # Every draw of all N points up to the first frame (a second one means the points were drawn twice).
            load_point_draws_ms=[at(d[0]) for d in points_draws if paint is None or d[0] <= paint + 1],
            longtask_ms_before_paint=sum(lt[1] for lt in before_paint),
            longest_task_ms=max((lt[1] for lt in before_paint), default=0.0),
            ws_bytes_load=ws_bytes_load,
            ws_frames_load=ws_frames_load,
            ws_largest_frame=received["largest"],
            bytes_per_point=ws_bytes_load / n,
            data_bytes_per_point=(ws_bytes_load - bundle_bytes(lib)) / n,
        )
        if timings_file.exists():
            out["kernel_s"] = json.loads(timings_file.read_text())
        if shot is not None and probe["canvas"]:
            page.locator("canvas").first  # noqa: B018 - keep Playwright's page alive for the screenshot
            page.screenshot(path=str(shot))
        if "error" not in out and not args.no_zoom:
            out["zoom"] = zoom(page, n, args)
    except Exception as exc:  # noqa: BLE001 - record and go on with the next measurement
        out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        out["page_errors"] = errors[:5]
        out["blocked_requests"] = guard.blocked
        try:
            context.close()
        except Exception:  # noqa: BLE001
            pass
    return out


def wheel_events(n: int, args: argparse.Namespace) -> int:
    return args.wheel_events_10m if n >= 10_000_000 else args.wheel_events


def zoom(page: Any, n: int, args: argparse.Namespace) -> dict:
    """Wheel-zoom at the canvas centre while a rAF loop records frame times; intervals in ms."""
    box = page.evaluate("""() => { const c = window.__bench.paintCanvas; c.scrollIntoView({block: 'center'});
        const r = c.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; }""")
    cx, cy = box["x"] + box["w"] / 2, box["y"] + box["h"] / 2
    page.mouse.move(cx, cy)
    page.wait_for_timeout(300)
    before = page.evaluate("() => window.__bench.painted(window.__bench.paintCanvas)")
    page.evaluate("() => window.__startFrames()")
    page.wait_for_timeout(100)
    count = wheel_events(n, args)
    half = count // 2
    t_start = time.perf_counter()
    changed = None
    for i in range(count):
        page.mouse.wheel(0, -args.wheel_delta if i < half else args.wheel_delta)
        if i == half - 1:
            # Zoomed in: the picture must differ (else the wheel did nothing and the timings mean nothing).
            page.wait_for_timeout(50)
            changed = abs(page.evaluate("() => window.__bench.painted(window.__bench.paintCanvas)") - before) > 1e-3
    wall = time.perf_counter() - t_start
    page.wait_for_timeout(args.settle_ms)
    page.evaluate("() => window.__stopFrames()")
    frames, wheels, draws = page.evaluate("() => [window.__frames, window.__wheels, window.__bench.draws]")
    if not wheels:
        return {"error": "no wheel event reached the page"}
    first, last = wheels[0], wheels[-1]
    # From the frame in which the first wheel event was handled to the first frame after the last one was.
    start = max((f for f in frames if f <= first), default=frames[0])
    after = [f for f in frames if f > last]
    end = after[0] if after else frames[-1]
    window = [f for f in frames if start <= f <= end]
    intervals = [b - a for a, b in zip(window, window[1:], strict=False)]
    # A draw of the points layer: all N, or nbviz's level-of-detail sample while the camera moves (lod.ts).
    renders = [d for d in draws if start <= d[0] <= end + 1 and d[1] >= 0.01 * n]
    # page.mouse.wheel waits for the page to take each event, so the zoom alternates frames that draw the points
    # with idle ~16.7 ms frames while the next event travels; the frames that drew the points are the frame time.
    drawing = [b - a for a, b in zip(window, window[1:], strict=False) if any(a <= d[0] < b for d in renders)]
    # Once the camera rests: the first draw of all N after the last wheel event (nbviz settles from its sample).
    settled = [d[0] for d in draws if d[0] > last and d[1] >= n]
    return {
        "median_ms": percentile(drawing, 50),
        "p90_ms": percentile(drawing, 90),
        "max_ms": max(drawing, default=float("nan")),
        "all_frames_median_ms": percentile(intervals, 50),
        "all_frames_p90_ms": percentile(intervals, 90),
        "drawing_frames": len(drawing),
        "frames": len(intervals),
        "zoom_steps_per_s": len(wheels) / ((end - start) / 1000) if end > start else float("nan"),
        "span_ms": end - start,
        "wheel_events_seen": len(wheels),
        "point_draws": len(renders),
        "points_per_frame": percentile([d[1] for d in renders], 50),
        "settle_ms": settled[0] - last if settled else float("nan"),
        "dispatch_wall_s": wall,
        "view_changed": changed,
        # Raw timelines (ms, page clock, from the frame before the first wheel event) for a closer look.
        "raw": {
            "frames": [round(f - start, 1) for f in window],
            "wheels": [round(w - start, 1) for w in wheels],
            "point_draws": [round(d[0] - start, 1) for d in renders],
        },
    }


# --------------------------------------------------------------------------------------------------
# Machine description, aggregation and the report.
# --------------------------------------------------------------------------------------------------
def machine(browser: Any) -> dict:
    page = browser.new_page()
    gl = page.evaluate("""() => { const c = document.createElement('canvas'); const g = c.getContext('webgl');
        if (!g) return null; const e = g.getExtension('WEBGL_debug_renderer_info');
        return e ? g.getParameter(e.UNMASKED_RENDERER_WEBGL) : g.getParameter(g.RENDERER); }""")
    page.close()

    return {
        **host(),
        "chromium": browser.version,
        "chromium_args": CHROMIUM_ARGS,
        "webgl_renderer": gl,
        "nbviz_bundle_bytes": bundle_bytes("nbviz"),
        "jupyter_scatter": version("jupyter-scatter"),
        "jscatter_bundle_bytes": bundle_bytes("jscatter"),
        "voila": version("voila"),
        "ipywidgets": version("ipywidgets"),
        "anywidget": version("anywidget"),
        "playwright": version("playwright"),
    }


SUMMARY_KEYS = [
    "first_frame_ms", "ready_ms", "html_response_end_ms", "dom_content_loaded_ms", "ws_open_ms",
    "largest_msg_ms", "last_msg_before_paint_ms", "webgl_context_ms", "first_points_draw_ms",
    "longtask_ms_before_paint", "longest_task_ms", "bytes_per_point", "data_bytes_per_point", "ws_bytes_load",
    "largest_msg_bytes", "html_bytes",
]


def summarize(runs: list[dict]) -> dict:
    """Medians over the repeats of one (lib, n); failed repeats are counted, not averaged in."""
    ok = [r for r in runs if "error" not in r]
    s: dict[str, Any] = {"repeats": len(runs), "ok": len(ok), "errors": [r["error"] for r in runs if "error" in r]}
    for k in SUMMARY_KEYS:
        s[k] = median([r.get(k) for r in ok])
    firsts = [r["first_frame_ms"] for r in ok if r.get("first_frame_ms")]
    s["first_frame_range"] = [min(firsts), max(firsts)] if firsts else None
    s["client_first_frame_ms"] = median([r["first_frame_ms"] - r["html_response_end_ms"] for r in ok
                                         if r.get("first_frame_ms") and r.get("html_response_end_ms")])
    s["load_point_draws"] = median([len(r.get("load_point_draws_ms") or []) for r in ok])
    zooms = [r["zoom"] for r in ok if isinstance(r.get("zoom"), dict) and "median_ms" in r["zoom"]]
    for k in ("median_ms", "p90_ms", "max_ms", "all_frames_median_ms", "all_frames_p90_ms", "drawing_frames",
              "frames", "zoom_steps_per_s", "point_draws", "dispatch_wall_s", "points_per_frame", "settle_ms"):
        s[f"zoom_{k}"] = median([z[k] for z in zooms])
    s["zoom_view_changed"] = [z.get("view_changed") for z in zooms]
    zm = [z["median_ms"] for z in zooms if z["median_ms"] == z["median_ms"]]
    s["zoom_median_range"] = [min(zm), max(zm)] if zm else None
    loads = [r["machine_load"] for r in runs if r.get("machine_load")]
    s["cpu_busy_before"] = [x["cpu_busy_before"] for x in loads]
    s["loadavg_1m"] = [x["loadavg_1m"] for x in loads]
    kernel = [r["kernel_s"] for r in ok if "kernel_s" in r]
    for k in ("data", "import", "widget", "display"):
        s[f"kernel_{k}_s"] = median([kt.get(k) for kt in kernel])
    canvases = [r["canvas"] for r in ok if r.get("canvas")]
    s["canvas"] = canvases[0] if canvases else None
    return s


def fmt(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def ratio(a: Any, b: Any) -> float:
    try:
        return a / b if b else float("nan")
    except TypeError:
        return float("nan")


def verdict(r: float, goal: float) -> str:
    if r != r:
        return "—"
    return "met" if r <= goal else "**missed**"


def lod_table(summary: dict) -> list[str]:
    """nbviz at 10M against itself at 1M and against jupyter-scatter at 1M (the level-of-detail goals)."""
    big, one, js = summary.get("nbviz/10000000"), summary.get("nbviz/1000000"), summary.get("jscatter/1000000")
    if not big or not one:
        return []
    rows = [
        "", "## 10M points: level of detail", "",
        "| metric | nbviz 10M | nbviz 1M | 10M / 1M | jupyter-scatter 1M | nbviz 10M / jupyter-scatter 1M | goal |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    jsv = lambda k: js[k] if js else None  # noqa: E731
    r_first = ratio(big["first_frame_ms"], one["first_frame_ms"])
    r_first_js = ratio(big["first_frame_ms"], jsv("first_frame_ms"))
    rows.append(f"| time to first frame (ms) | {fmt(big['first_frame_ms'])} | {fmt(one['first_frame_ms'])} | "
                f"{fmt(r_first, 2)} | {fmt(jsv('first_frame_ms'))} | {fmt(r_first_js, 2)} | "
                f"10M / 1M <= 2: {verdict(r_first, 2.0)} |")
    r_zoom = ratio(big["zoom_median_ms"], one["zoom_median_ms"])
    r_js = ratio(big["zoom_median_ms"], jsv("zoom_median_ms"))
    rows.append(f"| zoom frame, median (ms) | {fmt(big['zoom_median_ms'], 1)} | {fmt(one['zoom_median_ms'], 1)} | "
                f"{fmt(r_zoom, 2)} | {fmt(jsv('zoom_median_ms'), 1)} | {fmt(r_js, 2)} | "
                f"10M / 1M <= 1.5: {verdict(r_zoom, 1.5)}; vs jupyter-scatter 1M <= 1.0: {verdict(r_js, 1.0)} |")
    rows.append(f"| zoom frame, p90 (ms) | {fmt(big['zoom_p90_ms'], 1)} | {fmt(one['zoom_p90_ms'], 1)} | "
                f"{fmt(ratio(big['zoom_p90_ms'], one['zoom_p90_ms']), 2)} | {fmt(jsv('zoom_p90_ms'), 1)} | | |")
    rows.append(f"| points drawn per zoom frame | {fmt(big['zoom_points_per_frame'])} | "
                f"{fmt(one['zoom_points_per_frame'])} | | {fmt(jsv('zoom_points_per_frame'))} | | |")
    rows.append(f"| last wheel -> every point drawn again (ms) | {fmt(big['zoom_settle_ms'])} | "
                f"{fmt(one['zoom_settle_ms'])} | | {fmt(jsv('zoom_settle_ms'))} | | |")
    rows.append(f"| websocket bytes / point without the bundle | {fmt(big['data_bytes_per_point'], 2)} | "
                f"{fmt(one['data_bytes_per_point'], 2)} | | {fmt(jsv('data_bytes_per_point'), 2)} | | <= 5 |")
    return rows


def report(results: dict) -> str:
    m, summary = results["machine"], results["summary"]
    sizes = results["sizes"]
    lines = [
        "# EmbeddingExplorer render benchmark: nbviz vs jupyter-scatter",
        "",
        f"Run {results['date']} · `{results['command']}` · {results['wall_s']:.0f} s in all",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, {m['platform']}; "
        f"Chromium {m['chromium']} headless (`--disable-gpu`: software WebGL, renderer `{m['webgl_renderer']}`); "
        f"Python {m['python']}, Voila {m['voila']}, ipywidgets {m['ipywidgets']}, anywidget {m['anywidget']}; "
        f"nbviz {m['nbviz']} ({m['nbviz_git']}, bundle {m['nbviz_bundle_bytes'] / 1e3:,.0f} kB)"
        + (f", jupyter-scatter {m['jupyter_scatter']} (bundle {m['jscatter_bundle_bytes'] / 1e3:,.0f} kB)."
           if m.get("jscatter_bundle_bytes") is not None else "; jupyter-scatter not installed (nbviz only)."),
        "",
        f"Medians of {results['repeats']} fresh pages each. Data: N random 2-D points in 10 Gaussian blobs "
        f"(seed 0), 10 categories. Canvas requested {WIDTH}x{HEIGHT} CSS px, viewport "
        f"{VIEWPORT['width']}x{VIEWPORT['height']}, device pixel ratio 1.",
        "",
        "First frame = `page.goto` start -> first animation frame in which the plot canvas has more than "
        f"{results['threshold']:.0%} of its sampled pixels off the background (same pixel test for both). "
        f"Zoom = {results['wheel_events']} `page.mouse.wheel` events (deltaY ∓{results['wheel_delta']}, half in, "
        "half out) at the canvas centre; each call waits for the page to take the event, so frames that draw the "
        "points alternate with idle 16.7 ms frames: the frame time is the requestAnimationFrame interval of the "
        "frames that drew the points: all N, or nbviz's level-of-detail sample while the camera moves past its "
        "`lod_points` (all intervals are shown too). "
        "Bytes = websocket payload received during the load / N (data: minus the widget's JS+CSS bundle).",
        "",
        "Cells: median (min–max over the repeats).",
        "",
        "| N | metric | nbviz | jupyter-scatter | nbviz / jupyter-scatter | goal |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for n in sizes:
        a, b = summary.get(f"nbviz/{n}"), summary.get(f"jscatter/{n}")
        if not a or not b:
            continue
        rows = [
            ("time to first frame (ms)", "first_frame_ms", 0, "ratio"),
            ("... of which after the HTML arrived (ms)", "client_first_frame_ms", 0, ""),
            ("zoom: frame interval of drawing frames, median (ms)", "zoom_median_ms", 1,
             "ratio" if n == 1_000_000 else ""),
            ("zoom: frame interval of drawing frames, p90 (ms)", "zoom_p90_ms", 1, ""),
            ("zoom: all rAF intervals, median / p90 (ms)", ("zoom_all_frames_median_ms", "zoom_all_frames_p90_ms"),
             1, ""),
            ("zoom steps per second", "zoom_zoom_steps_per_s", 2, ""),
            ("zoom: points drawn per drawing frame, median", "zoom_points_per_frame", 0, ""),
            ("websocket bytes received / point", "bytes_per_point", 2, "bytes"),
            ("... without the widget's JS+CSS bundle", "data_bytes_per_point", 2, ""),
        ]
        for label, key, digits, goal in rows:
            if isinstance(key, tuple):
                cells = [f"{fmt(s[key[0]], digits)} / {fmt(s[key[1]], digits)}" for s in (a, b)]
                lines.append(f"| {n:,} | {label} | {cells[0]} | {cells[1]} | "
                             f"{fmt(ratio(a[key[0]], b[key[0]]), 2)} / {fmt(ratio(a[key[1]], b[key[1]]), 2)} | |")
                continue
            r = ratio(a[key], b[key])
            goal_txt = {"ratio": f"ratio <= 1.0: {verdict(r, 1.0)}",
                        "bytes": f"nbviz <= 10: {verdict(a[key], GOALS['bytes_per_point'])}"}.get(goal, "")
            spread = {"first_frame_ms": "first_frame_range", "zoom_median_ms": "zoom_median_range"}.get(key)
            cells = []
            for x in (a, b):
                cell = fmt(x[key], digits)
                if spread and x.get(spread) and x["ok"] > 1:
                    cell += f" ({fmt(x[spread][0], digits)}–{fmt(x[spread][1], digits)})"
                cells.append(cell)
            lines.append(f"| {n:,} | {label} | {cells[0]} | {cells[1]} | {fmt(r, 2)} | {goal_txt} |")
        for lib, s in (("nbviz", a), ("jscatter", b)):
            if s["errors"]:
                lines.append(f"| {n:,} | failures ({LIB_NAMES[lib]}) | {s['repeats'] - s['ok']} of {s['repeats']}: "
                             f"{s['errors'][0][:120]} | | | |")
    lines += lod_table(summary)
    lines += [
        "",
        "## Where the time goes (medians, ms since `page.goto` began)",
        "",
        "| N | library | HTML done (Voila ran the notebook) | DOMContentLoaded | websocket opened "
        "| largest message arrived (bytes) | WebGL context | first draw of all points (draws before first frame) "
        "| first frame | nbviz ready | long tasks before first frame (sum / longest) "
        "| kernel: data / import / widget / display (s) | canvas CSS px "
        "| zoom: frames / point draws / wheel wall (s) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for n in sizes:
        for lib in LIBS:
            s = summary.get(f"{lib}/{n}")
            if not s:
                continue
            k = "/".join(fmt(s[f"kernel_{x}_s"], 2) for x in ("data", "import", "widget", "display"))
            canvas = s["canvas"]["css"] if s.get("canvas") else None
            canvas_txt = f"{canvas[0]:.0f}x{canvas[1]:.0f}" if canvas else "—"
            lines.append(
                f"| {n:,} | {LIB_NAMES[lib]} | {fmt(s['html_response_end_ms'])} | {fmt(s['dom_content_loaded_ms'])} | "
                f"{fmt(s['ws_open_ms'])} | {fmt(s['largest_msg_ms'])} ({fmt(s['largest_msg_bytes'] / 1e6, 1)} MB) | "
                f"{fmt(s['webgl_context_ms'])} | {fmt(s['first_points_draw_ms'])} ({fmt(s['load_point_draws'])}) | "
                f"{fmt(s['first_frame_ms'])} | "
                f"{fmt(s['ready_ms'])} | {fmt(s['longtask_ms_before_paint'])} / {fmt(s['longest_task_ms'])} | {k} | "
                f"{canvas_txt} | {fmt(s['zoom_frames'])} / {fmt(s['zoom_point_draws'])} / "
                f"{fmt(s['zoom_dispatch_wall_s'], 1)} |"
            )
    if results.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"


def auto_notes(results: dict) -> list[str]:
    notes = []
    loads = [r["machine_load"] for runs in results["runs"].values() for r in runs if r.get("machine_load")]
    if loads:
        la = sorted(x["loadavg_1m"] for x in loads)
        busy = sorted(x["cpu_busy_before"] for x in loads)
        notes.append(f"Machine load before each page (other work on the machine, e.g. other test runs): 1-min load "
                     f"average {la[0]:.1f}–{la[-1]:.1f} (median {statistics.median(la):.1f}) on {os.cpu_count()} CPUs; "
                     f"CPU busy {busy[0]:.0%}–{busy[-1]:.0%}; waited {sum(x['waited_s'] for x in loads):.0f} s "
                     "in all for quiet. Numbers taken while others load the machine are slower and noisier.")
    for key, runs in results["runs"].items():
        for r in runs:
            if r.get("blocked_requests"):
                notes.append(f"{key}: blocked non-local requests: {sorted(set(r['blocked_requests']))[:3]}")
                break
        for r in runs:
            if r.get("page_errors"):
                notes.append(f"{key}: page errors: {r['page_errors'][:2]}")
                break
        changed = [r.get("zoom", {}).get("view_changed") for r in runs if isinstance(r.get("zoom"), dict)]
        if any(c is False for c in changed):
            notes.append(f"{key}: the wheel did not change the picture in some repeats ({changed})")
    return notes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated N (default 100000,1000000)")
    p.add_argument("--with-10m", action="store_true", help="also try N = 10,000,000 (does it load? frame times)")
    p.add_argument("--repeats", type=int, default=3, help="fresh pages per library and N (default 3)")
    p.add_argument("--libs", default="nbviz,jscatter", help="comma-separated subset of nbviz,jscatter")
    p.add_argument("--wheel-events", type=int, default=40, help="wheel events in the zoom (default 40)")
    p.add_argument("--wheel-events-10m", type=int, default=8,
                   help="wheel events at N >= 10M, where a software-GL frame takes seconds (default 8)")
    p.add_argument("--repeats-10m", type=int, default=1, help="repeats at N >= 10M (default 1)")
    p.add_argument("--wheel-delta", type=float, default=100, help="deltaY per wheel event in px (default 100)")
    p.add_argument("--settle-ms", type=int, default=1000, help="wait after the last wheel event (default 1000)")
    p.add_argument("--threshold", type=float, default=0.01,
                   help="share of canvas pixels off the background that counts as painted (default 0.01)")
    p.add_argument("--timeout", type=float, default=240, help="seconds to wait for a first frame (default 240)")
    p.add_argument("--no-zoom", action="store_true", help="skip the wheel zoom")
    p.add_argument("--quiet-wait", type=float, default=15,
                   help="before each page, wait up to this many seconds for other work on the machine to calm down\n"
                        "(CPU busy below --quiet-below); 0: do not wait (default 15)")
    p.add_argument("--quiet-below", type=float, default=0.4, help="share of CPU busy that counts as quiet (0.4)")
    p.add_argument("--screenshots", type=Path, help="save a page screenshot of each first repeat here")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"folder for the .md and .json (default {RESULTS})")
    args = p.parse_args(argv)

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.with_10m and 10_000_000 not in sizes:
        sizes.append(10_000_000)
    libs = [lib for lib in args.libs.split(",") if lib]
    unknown = set(libs) - set(LIBS)
    if unknown:
        p.error(f"--libs: unknown {sorted(unknown)}; choose from {LIBS}")
    for lib in libs:
        try:
            __import__(lib)
        except ImportError:
            hint = "pip install jupyter-scatter" if lib == "jscatter" else "pip install -e ."
            p.error(f"{lib} is not importable: {hint}")

    from playwright.sync_api import sync_playwright

    command = " ".join(shlex.quote(a) for a in [sys.executable.rsplit("/", 1)[-1], "benchmarks/embedding_render.py",
                                                *(sys.argv[1:] if argv is None else argv)])
    started = time.time()
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="nbviz-bench-") as tmp:
        root = Path(tmp)
        write_notebooks(root, libs, sizes)
        server = start_voila(root)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS,
                                             headless=True)
                info = machine(browser)
                for n in sizes:
                    for rep in range(args.repeats_10m if n >= 10_000_000 else args.repeats):
                        # Alternate which library goes first, so neither always meets a warmer machine.
                        order = libs if rep % 2 == 0 else libs[::-1]
                        for lib in order:
                            shot = None
                            if args.screenshots and rep == 0:
                                args.screenshots.mkdir(parents=True, exist_ok=True)
                                shot = args.screenshots / f"{lib}_{n}.png"
                            quiet = wait_quiet(args.quiet_wait, args.quiet_below) if args.quiet_wait > 0 else {}
                            r = measure(browser, server, lib, n, args, shot)
                            r["machine_load"] = quiet
                            r["repeat"] = rep
                            runs.setdefault(f"{lib}/{n}", []).append(r)
                            z = r.get("zoom") or {}
                            print(f"[{time.time() - started:6.0f}s] {LIB_NAMES[lib]:>15} N={n:>10,} #{rep}: "
                                  f"first frame {fmt(r.get('first_frame_ms'))} ms, zoom median "
                                  f"{fmt(z.get('median_ms'), 1)} / p90 {fmt(z.get('p90_ms'), 1)} ms, "
                                  f"{fmt(r.get('bytes_per_point'), 2)} B/pt"
                                  + (f"  ERROR {r['error']}" if "error" in r else ""), file=sys.stderr, flush=True)
                browser.close()
        finally:
            server.stop()

    results = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "command": command,
        "wall_s": time.time() - started,
        "machine": info,
        "sizes": sizes,
        "repeats": args.repeats,
        "threshold": args.threshold,
        "wheel_events": args.wheel_events,
        "wheel_delta": args.wheel_delta,
        "summary": {k: summarize(v) for k, v in runs.items()},
        "runs": runs,
    }
    results["notes"] = auto_notes(results)
    text = report(results)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "embedding_render.md").write_text(text)
    (args.out / "embedding_render.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"wrote {args.out / 'embedding_render.md'} and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
