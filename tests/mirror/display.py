"""The display rule (``nbviz.display``, what static pictures use) against ``js/src/lib/display.ts`` (what the live views
use): lookup-table entries, the explorer's value colours with missing values, Grad-CAM heatmaps in every sign and
normalisation, probability maps in every mode, and the playback blend. Inputs are what the browser gets (float32
values, uint8 frames, the LUT bytes Python sends)."""

from __future__ import annotations

import itertools

import numpy as np

from nbviz.colors import colormap_lut
from nbviz.display import (
    BOUNDARY_LOW,
    MODES,
    REGION_LOW,
    class_luts,
    colorize_heatmap,
    colorize_probabilities,
    dequantize_heatmap,
    frame_at,
    interpolate,
    lut_index,
    quantize_heatmap,
    quantize_probabilities,
    timeline,
    value_colors,
)
from tests.mirror import number

NAN, INF = float("nan"), float("inf")


def _lut_cases() -> dict:
    edges = [k / 256 for k in range(257)] + [(k + 0.5) / 256 for k in range(256)]
    values = np.concatenate([np.linspace(0, 1, 1001), edges, [-0.5, -0.0, 1 - 1e-12, 1.5, 1e9, NAN, INF, -INF]])
    return {"values": [number(v) for v in values], "index": lut_index(values).tolist(),
            "index_of_10": lut_index(values, 10).tolist()}


def _value_cases() -> dict:
    rng = np.random.default_rng(3)
    values = np.concatenate([np.linspace(0, 1, 513), rng.random(200), [NAN, INF, -INF, -0.1, 1.1]])
    values = values.astype(np.float32)  # as the explorer sends them
    lut = colormap_lut("viridis")
    return {"values": [number(v) for v in values.tolist()], "lut": lut.ravel().tolist(),
            "rgba": value_colors(values, lut).ravel().tolist()}


def _heatmap_cases() -> list[dict]:
    rng = np.random.default_rng(5)
    maps = {"random": rng.normal(size=(6, 7)), "positive only": rng.random((4, 5)), "all zero": np.zeros((3, 3)),
            "on bin edges": (np.arange(-256, 257, 8) / 256.0).reshape(1, -1)}
    lut = colormap_lut("RdBu_r")
    cases = []
    for name, values in maps.items():
        q, scale = quantize_heatmap(values)  # what the viewer sends
        v = dequantize_heatmap(q, scale)  # what the browser paints
        for sign, normalization, diverging in itertools.product(("both", "positive", "negative"),
                                                                ("image", "batch", "minmax"), (True, False)):
            opts = {"sign": sign, "threshold": 0.3, "opacity": 0.6, "normalization": normalization,
                    "batch_peak": 2.5, "diverging": diverging}
            rgba = colorize_heatmap(v, lut, **opts)
            kind = "diverging" if diverging else "sequential"
            cases.append({"name": f"{name}, {sign}, {normalization}, {kind}", "q": q.ravel().tolist(),
                          "scale": scale, "values": v.ravel().tolist(), "options": opts, "rgba": rgba.ravel().tolist()})
    return cases, lut.ravel().tolist()


def _coded_lut(tag: int) -> np.ndarray:
    """(256, 4) table whose entry i is (i, tag, 255 - i, 255): any entry picked one off shows."""
    i = np.arange(256)
    return np.stack([i, np.full(256, tag), 255 - i, np.full(256, 255)], axis=1).astype(np.uint8)


def _probability_cases() -> dict:
    rng = np.random.default_rng(11)
    c, rows, cols = 4, 5, 6
    palette = np.array([[31, 119, 180, 255], [255, 127, 14, 255], [44, 160, 44, 255], [214, 39, 40, 255]])
    # The real class ramps repeat colours (25 -> 31 over 256 entries), which would hide an entry picked one off:
    # the maps are also drawn through tables whose every entry has its own colour.
    coded = {"region": np.stack([_coded_lut(10 + j) for j in range(c)]),
             "boundary": np.stack([_coded_lut(100 + j) for j in range(c)]),
             "class": _coded_lut(200), "entropy": _coded_lut(250)}
    real = {"region": class_luts(palette, REGION_LOW), "boundary": class_luts(palette, BOUNDARY_LOW),
            "class": colormap_lut("viridis"), "entropy": colormap_lut("magma")}
    a = quantize_probabilities(rng.dirichlet(np.ones(c) * 0.7, size=(rows, cols)))
    b = quantize_probabilities(rng.dirichlet(np.ones(c) * 0.7, size=(rows, cols)))
    a[0, :3] = [[255, 0, 0, 0], [128, 127, 0, 0], [64, 64, 64, 63]]  # sure, a near tie, near uniform
    blends = []
    for kind in ("linear", "geometric"):
        for f in (0.0, 0.25, 0.5, 0.9):
            blends.append({"kind": kind, "f": f, "p": interpolate(a, b, f, kind).ravel().tolist()})
    # A recorded frame (multiples of 1/255, where floor(v * 256) and round(v * 255) agree) and blended ones (where
    # they do not), as the browser gets them (float32).
    frames = {"recorded": interpolate(a, b, 0.0), "linear 0.25": interpolate(a, b, 0.25, "linear"),
              "geometric 0.3": interpolate(a, b, 0.3, "geometric")}
    maps = []
    for frame, p in frames.items():
        for tables, luts in (("real", real), ("coded", coded)):
            for mode in MODES:
                for target, line in ((0, True), (2, False)):
                    rgba = colorize_probabilities(p, mode, luts, target=target, boundary_line=line)
                    maps.append({"frame": frame, "luts": tables, "mode": mode, "target": target,
                                 "boundary_line": line, "rgba": rgba.ravel().tolist()})
    return {"classes": c, "rows": rows, "cols": cols, "a": a.ravel().tolist(), "b": b.ravel().tolist(),
            "frames": {k: v.ravel().tolist() for k, v in frames.items()},
            "luts": {k: {name: lut.ravel().tolist() for name, lut in v.items()}
                     for k, v in (("real", real), ("coded", coded))},
            "blends": blends, "maps": maps}


def _playback_cases() -> dict:
    """The slider's steps (recorded frames and blended ones between) and what a map shows at any epoch."""
    runs = [[0, 1, 2, 3], [0, 2, 5, 11], [3], [0, 10, 1000]]
    steps = [{"epochs": e, "interpolation": m, "steps": [list(s) for s in timeline(e, m)]}
             for e in runs for m in (0, 1, 3)]
    at = [{"epochs": e, "epoch": x, "frame": list(frame_at(e, x))}
          for e in runs for x in (-1.0, 0.0, 0.5, 1.0, 2.0, 2.9999999999, 4.25, 10.0, 999.5, 2000.0)]
    return {"timeline": steps, "frame_at": at}


def cases() -> dict:
    heatmaps, heatmap_lut = _heatmap_cases()
    return {"lut_index": _lut_cases(), "value_colors": _value_cases(), "heatmaps": heatmaps,
            "heatmap_lut": heatmap_lut, "probabilities": _probability_cases(), "playback": _playback_cases()}
