"""ProbMapPlayer: plays back the class-probability maps of a :class:`~nbviz.kernels.probmap.ProbMapRecorder`.

Frames travel once, as binary uint8, in custom messages (``{"type": "frames", "start", "count"}`` + one buffer per
map and per prediction array): pushed as they are recorded, so a player shown before the training loop plays along,
and pulled by a view that opens later (request ``frames``). Everything else (mode, interpolation, colour scales,
overlays) is done in the browser from the traits below, so switching views never calls the model again.
Traits follow ``js/src/prob_map_player/protocol.ts``; both sides change together.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import shutil
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import traitlets as t

from ..colors import categorical_palette, colormap_lut
from ..export import to_png
from ..kernels.probmap import (
    BOUNDARY_LOW,
    INTERPOLATIONS,
    MODES,
    REGION_LOW,
    ProbMapRecorder,
    class_luts,
    colorize,
    flip_mask,
    interpolate,
    timeline,
)
from .base import Array, NbvizWidget, bundle_path

#: Largest reply to a ``frames`` request; a view asks again for the rest.
REPLY_BYTES = 8 * 2**20
EXPORT_SUFFIXES = (".gif", ".mp4", ".png", ".html")


def _jsonable(values: Sequence[float]) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in values]


class ProbMapPlayer(NbvizWidget):
    """Play back class-probability maps recorded during training: scrub, play, switch views, export.

    Parameters
    ----------
    rec
        The :class:`~nbviz.ProbMapRecorder`. It may still be empty: frames then appear as they are recorded.
    mode
        "region" (one hue per class, brightness by its probability), "boundary" (dark where the top two classes
        are close, with a crisp boundary line), "class" (the probability of ``target_class``), "entropy".
    interpolation
        Blended frames shown between two recorded ones (0: none); blending is done in the browser.
    interpolation_type
        "linear" or "geometric" blend of the probabilities.
    classes
        Class names (default: those of the recorder, else "0", "1", ...). Rendered as text.
    class_colormap, entropy_colormap
        matplotlib colormap names for the "class" and "entropy" modes.
    size
        Width of the map in CSS pixels.
    chart
        Show the bqplot metrics chart under the map (when the recorder has metrics).
    """

    _bundle = "prob_map_player"

    n_frames = t.Int(0).tag(sync=True)
    grid_shape = t.List(t.Int(), default_value=[0, 0]).tag(sync=True)
    n_classes = t.Int(0).tag(sync=True)
    epochs = t.List(t.Int()).tag(sync=True)
    epoch = t.Int(0).tag(sync=True)
    playing = t.Bool(False).tag(sync=True)
    fps = t.Float(10.0).tag(sync=True)
    loop = t.Bool(True).tag(sync=True)

    mode = t.Enum(list(MODES), default_value="region").tag(sync=True)
    interpolation = t.Int(4).tag(sync=True)
    interpolation_type = t.Enum(list(INTERPOLATIONS), default_value="linear").tag(sync=True)
    target_class = t.Int(0).tag(sync=True)
    boundary_line = t.Bool(True).tag(sync=True)
    show_train = t.Bool(True).tag(sync=True)
    show_test = t.Bool(True).tag(sync=True)
    show_flips = t.Bool(False).tag(sync=True)
    size = t.Int(420).tag(sync=True)

    class_names = t.List(t.Unicode()).tag(sync=True)
    palette = Array(help="(C, 4) uint8 RGBA class colours")
    region_luts = Array(help="(C, 256, 4) uint8: region scale per class")
    boundary_luts = Array(help="(C, 256, 4) uint8: boundary scale per class")
    class_lut = Array(help="(256, 4) uint8: 'class' mode scale")
    entropy_lut = Array(help="(256, 4) uint8: 'entropy' mode scale")

    xlim = t.List(t.Float()).tag(sync=True)
    ylim = t.List(t.Float()).tag(sync=True)
    points = Array(help="(N, 2) float32 training points in plane coordinates")
    point_classes = Array(help="(N,) uint8/uint16 labels, or None")
    test_points = Array(help="(M, 2) float32 test points, or None")
    test_classes = Array(help="(M,) uint8/uint16 test labels, or None")

    status = t.Unicode("").tag(sync=True)

    def __init__(
        self,
        rec: ProbMapRecorder,
        mode: str = "region",
        interpolation: int = 4,
        interpolation_type: str = "linear",
        classes: Sequence[str] | None = None,
        *,
        class_colormap: str = "viridis",
        entropy_colormap: str = "magma",
        size: int = 420,
        fps: float = 10.0,
        chart: bool = True,
        **kwargs: Any,
    ) -> None:
        if not isinstance(rec, ProbMapRecorder):
            raise TypeError(f"rec must be a nbviz.ProbMapRecorder, got {type(rec).__name__}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if interpolation_type not in INTERPOLATIONS:
            raise ValueError(f"interpolation_type must be one of {INTERPOLATIONS}, got {interpolation_type!r}")
        timeline([], interpolation)  # validates interpolation
        if not isinstance(size, (int, np.integer)) or size < 64:
            raise ValueError(f"size must be an int of at least 64 CSS pixels, got {size!r}")
        self.rec = rec
        self._classes = None if classes is None else [str(c) for c in classes]
        self._cmaps = (colormap_lut(class_colormap), colormap_lut(entropy_colormap))
        self._sent = 0
        self._chart = None
        super().__init__(
            mode=mode, interpolation=int(interpolation), interpolation_type=interpolation_type, size=int(size),
            fps=float(fps), grid_shape=list(rec.shape), xlim=list(rec.xlim), ylim=list(rec.ylim),
            points=rec.points.astype(np.float32), point_classes=self._codes(rec.y),
            test_points=None if rec.test_points is None else rec.test_points.astype(np.float32),
            test_classes=self._codes(rec.y_test), **kwargs,
        )
        self._sync_frames()
        # A weak reference: a recorder kept by a training script must not keep closed players alive.
        ref = weakref.ref(self)

        def on_record(_rec: ProbMapRecorder) -> None:
            player = ref()
            if player is None:
                _rec.remove_listener(on_record)
            else:
                player._sync_frames()

        self._listener = on_record
        rec.add_listener(on_record)
        if chart:
            self._chart = self._make_chart()

    @staticmethod
    def _codes(codes: np.ndarray | None) -> np.ndarray | None:
        if codes is None:
            return None
        return codes.astype(np.uint8 if codes.max(initial=0) < 256 else np.uint16)

    # -- frames -----------------------------------------------------------------------------------------
    def _sync_frames(self) -> None:
        """Bring traits up to date with the recorder and push the frames no view has been sent yet."""
        rec = self.rec
        if rec.n_classes and not self.n_classes:
            self._set_colours(rec.n_classes)
        with self.hold_sync():
            self.epochs = list(rec.epochs)
            self.n_frames = len(rec)
            if len(rec) and (self._sent == 0 or self.epoch == rec.epochs[self._sent - 1]):
                # Follow the newest frame while the user watches the latest one.
                self.epoch = rec.epochs[-1]
            self.status = "" if len(rec) else "waiting for the first recorded epoch"
        if len(rec) > self._sent:
            content, buffers = self._frame_message(self._sent, len(rec))
            self.send({"type": "frames", **content}, buffers)
            self._sent = len(rec)
        if self._chart is not None:
            self._update_chart()

    def _set_colours(self, c: int) -> None:
        names = self._classes or self.rec.class_names or [str(i) for i in range(c)]
        if len(names) != c:
            raise ValueError(f"classes must name the {c} classes of the model, got {len(names)} names")
        palette = categorical_palette(c)
        with self.hold_sync():
            self.class_names = list(names)
            self.palette = palette
            self.region_luts = class_luts(palette, REGION_LOW)
            self.boundary_luts = class_luts(palette, BOUNDARY_LOW)
            self.class_lut, self.entropy_lut = self._cmaps
            self.n_classes = c

    def _frame_message(self, start: int, stop: int) -> tuple[dict, list]:
        rec = self.rec
        buffers: list = []
        for i in range(start, stop):
            buffers.append(memoryview(rec.frames[i].reshape(-1)))
            buffers.append(memoryview(rec.point_preds[i]).cast("B"))
            if rec.test_preds:
                buffers.append(memoryview(rec.test_preds[i]).cast("B"))
        pred_dtype = rec.point_preds[start].dtype.name if stop > start else "uint8"
        return {"start": start, "count": stop - start, "pred_dtype": pred_dtype}, buffers

    def _request_handlers(self) -> dict:
        return {"frames": self._reply_frames}

    def _reply_frames(self, content: dict) -> tuple[dict, list]:
        start = int(content.get("start", 0))
        if not 0 <= start <= len(self.rec):
            raise ValueError(f"frames request start must be in 0..{len(self.rec)}, got {start}")
        per = max(self.rec.cells * (self.rec.n_classes or 1), 1)
        stop = min(len(self.rec), start + max(1, REPLY_BYTES // per))
        return self._frame_message(start, stop)

    @t.validate("epoch")
    def _check_epoch(self, proposal: dict) -> int:
        e = int(proposal["value"])
        if self.rec.epochs and not self.rec.epochs[0] <= e <= self.rec.epochs[-1]:
            raise t.TraitError(f"epoch must be in {self.rec.epochs[0]}..{self.rec.epochs[-1]} (recorded), got {e}")
        return e

    @t.validate("target_class")
    def _check_target(self, proposal: dict) -> int:
        k = int(proposal["value"])
        if self.n_classes and not 0 <= k < self.n_classes:
            raise t.TraitError(f"target_class must be a class index in 0..{self.n_classes - 1}, got {k}")
        return k

    @t.validate("interpolation")
    def _check_interpolation(self, proposal: dict) -> int:
        try:
            timeline([], proposal["value"])
        except ValueError as exc:
            raise t.TraitError(str(exc)) from None
        return int(proposal["value"])

    # -- metrics chart (bqplot) ---------------------------------------------------------------------------
    @property
    def chart(self) -> Any:
        """The bqplot Figure of the recorded metrics shown under the map (None without ``chart=True``)."""
        return self._chart

    def _make_chart(self) -> Any:
        import bqplot as bq

        xs, ys, unit = bq.LinearScale(), bq.LinearScale(), bq.LinearScale(min=0.0, max=1.0)
        self._lines = bq.Lines(scales={"x": xs, "y": ys}, display_legend=True, stroke_width=2)
        self._marker = bq.Lines(x=[0, 0], y=[0, 1], scales={"x": xs, "y": unit}, colors=["#e6007e"],
                                stroke_width=2)
        # Invisible full-height bars, one per recorded epoch: a click anywhere above an epoch jumps to it.
        self._hits = bq.Bars(x=[0], y=[1], scales={"x": xs, "y": unit}, opacities=[0.0], padding=0.0,
                             interactions={"click": "select"}, selected_style={}, unselected_style={})
        self._hits.observe(self._on_chart_click, names="selected")
        fig = bq.Figure(marks=[self._hits, self._lines, self._marker],
                        axes=[bq.Axis(scale=xs, label="epoch", tick_format="d"),
                              bq.Axis(scale=ys, side="left", tick_format=".3g", label="metric")],
                        fig_margin={"top": 10, "bottom": 40, "left": 50, "right": 10},
                        legend_location="top-right", animation_duration=0)
        fig.layout.height = "180px"
        fig.layout.width = f"{max(self.size, 320)}px"
        self.observe(lambda _c: self._move_marker(), names="epoch")
        self._update_chart()
        return fig

    def _update_chart(self) -> None:
        rec = self.rec
        names = sorted(rec.metrics)
        with self._lines.hold_sync():
            if names:
                x = np.asarray(rec.metric_epochs, dtype=np.float64)
                self._lines.x = x
                self._lines.y = np.stack([np.asarray(rec.metrics[n], dtype=np.float64) for n in names])
                self._lines.labels = names
        if rec.epochs:
            with self._hits.hold_sync():
                self._hits.x = np.asarray(rec.epochs, dtype=np.float64)
                self._hits.y = np.ones(len(rec.epochs))
        self._move_marker()

    def _move_marker(self) -> None:
        self._marker.x = [self.epoch, self.epoch]

    def _on_chart_click(self, change: dict) -> None:
        sel = change["new"]
        if sel is None or len(sel) == 0:
            return
        i = int(sel[0])
        if 0 <= i < len(self.rec.epochs):
            with self.reporting_errors():
                self.playing = False
                self.epoch = self.rec.epochs[i]
        self._hits.selected = None

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        # The map and the chart under it show as one output; text and the static PNG stay the player's own.
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None or self._chart is None or not self.rec.metrics and not self.rec.metric_epochs:
            return bundle
        import ipywidgets as w

        box = getattr(self, "_box", None) or w.VBox([self, self._chart])
        self._box = box
        box_bundle = box._repr_mimebundle_(**kwargs)
        key = "application/vnd.jupyter.widget-view+json"
        box_data = box_bundle[0] if isinstance(box_bundle, tuple) else box_bundle
        if not box_data or key not in box_data:
            return bundle
        data, metadata = bundle
        return {**data, key: box_data[key]}, metadata

    # -- static pictures and export -----------------------------------------------------------------------
    def _luts(self) -> dict[str, np.ndarray]:
        return {"region": self.region_luts, "boundary": self.boundary_luts, "class": self.class_lut,
                "entropy": self.entropy_lut}

    def _require_frames(self) -> None:
        if not len(self.rec):
            raise ValueError("the recorder has no frames yet: call rec.record(model, epoch) at least once")

    def frame_index(self, epoch: int | None = None) -> int:
        """Index of the recorded frame nearest to ``epoch`` (default: the shown epoch)."""
        self._require_frames()
        e = self.epoch if epoch is None else epoch
        return int(np.abs(np.asarray(self.rec.epochs) - e).argmin())

    def render_rgba(self, i: int, f: float = 0.0, mode: str | None = None) -> np.ndarray:
        """The map between recorded frames ``i`` and ``i + 1`` at blend ``f`` as RGBA, as the browser draws it."""
        self._require_frames()
        rec = self.rec
        if f > 0 and i + 1 < len(rec):
            probs = interpolate(rec.frames[i], rec.frames[i + 1], f, self.interpolation_type)
        else:
            probs = rec.frames[i].astype(np.float32) / 255.0
        img = colorize(probs, mode or self.mode, self._luts(), self.target_class, self.boundary_line)
        if self.show_flips and i > 0 and f == 0:
            img[flip_mask(rec.frames[i].argmax(-1), rec.frames[i - 1].argmax(-1))] = (230, 0, 126, 255)
        return img

    def to_png(self, width: int = 420) -> bytes:
        """PNG of the shown epoch with the training points (nearest-pixel upscale, no matplotlib)."""
        if not len(self.rec):
            img = np.full((width * 3 // 4, width, 4), 236, dtype=np.uint8)
            img[..., 3] = 255
            return to_png(img)
        i = self.frame_index()
        small = self.render_rgba(i)
        rows, cols = small.shape[:2]
        height = max(1, round(width * rows / cols))
        yi = np.minimum(np.arange(height) * rows // height, rows - 1)
        xi = np.minimum(np.arange(width) * cols // width, cols - 1)
        img = small[yi][:, xi].copy()
        if self.show_train and len(self.rec.points) <= 20000:
            self._draw_points(img, i)
        return to_png(img)

    def _draw_points(self, img: np.ndarray, i: int) -> None:
        """Training points as discs in their class colour with a dark ring; misclassified ones hollow."""
        rec = self.rec
        h, w = img.shape[:2]
        px = np.rint((rec.points[:, 0] - rec.xlim[0]) / (rec.xlim[1] - rec.xlim[0]) * (w - 1)).astype(int)
        py = np.rint((rec.ylim[1] - rec.points[:, 1]) / (rec.ylim[1] - rec.ylim[0]) * (h - 1)).astype(int)
        codes = rec.y if rec.y is not None else rec.point_preds[i].astype(np.int64)
        colours = self.palette[codes % len(self.palette)]
        wrong = rec.point_preds[i] != codes
        for dy in range(-3, 4):
            for dx in range(-3, 4):
                d2 = dx * dx + dy * dy
                if d2 > 10:
                    continue
                x, y = px + dx, py + dy
                ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
                if d2 > 4:
                    img[y[ok], x[ok]] = (0, 0, 0, 255)
                else:
                    fill = ok & ~wrong
                    img[y[fill], x[fill]] = colours[fill]

    def _static_png(self) -> bytes | None:
        return self.to_png(min(self.size, 480))

    def save(
        self,
        path: str | Path,
        fps: float = 20,
        title: str | None = None,
        dpi: int = 100,
        *,
        epochs: Sequence[int] | None = None,
        figsize: tuple[float, float] | None = None,
        dark: bool = False,
        margin: float = 0.08,
    ) -> Path:
        """Export to ``.gif`` / ``.mp4`` (every playback step, with interpolation), ``.png`` (the shown epoch,
        or a small-multiples grid of ``epochs``) or ``.html`` (standalone, offline, the live player).

        GIF frame delays are ``1000 / fps`` ms rounded to the 10 ms GIF clock, at least 20 ms. MP4 needs ffmpeg.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in EXPORT_SUFFIXES:
            raise ValueError(f"path must end in one of {EXPORT_SUFFIXES}, got {path.name!r}")
        if not (isinstance(fps, (int, float)) and 0 < fps <= 100):
            raise ValueError(f"fps must be a number in (0, 100], got {fps!r}")
        self._require_frames()
        if suffix == ".html":
            path.write_text(self.to_html(title=title), encoding="utf-8")
            return path
        if suffix == ".mp4" and shutil.which("ffmpeg") is None:
            raise RuntimeError("saving .mp4 needs ffmpeg on PATH, which was not found; install ffmpeg "
                               "(e.g. conda install ffmpeg / apt install ffmpeg) or save a .gif instead")
        fig = _Figure(self, title=title, dpi=dpi, figsize=figsize, dark=dark, margin=margin)
        if suffix == ".png":
            fig.save_png(path, epochs)
        elif suffix == ".gif":
            fig.save_gif(path, fps)
        else:
            fig.save_mp4(path, fps)
        return path

    def to_html(self, title: str | None = None) -> str:
        """A standalone offline HTML page running the live player on the recorded frames (no kernel)."""
        self._require_frames()
        state = {k: v for k, v in self.get_state().items() if not k.startswith("_")}
        content, buffers = self._frame_message(0, len(self.rec))
        data = {
            "state": state,
            "message": {"type": "frames", **content},
            "sizes": [len(b) for b in buffers],
            "frames": base64.b64encode(b"".join(bytes(b) for b in buffers)).decode("ascii"),
        }
        # JSON in <script> blocks: "</" is escaped so no value can close the block early. One pass, so text
        # from users (class names) can never be taken for a placeholder.
        parts = {
            "__TITLE__": html.escape(title or "nbviz ProbMapPlayer"),
            "__CSS__": bundle_path(self._bundle, ".css").read_text(encoding="utf-8"),
            "__DATA__": json.dumps(data, default=_b64_chunks).replace("</", "<\\/"),
            "__JS__": json.dumps(bundle_path(self._bundle).read_text(encoding="utf-8")).replace("</", "<\\/"),
        }
        page = re.sub("__(TITLE|CSS|DATA|JS)__", lambda m: parts[m.group(0)], HTML_PAGE)
        return page

    def close(self) -> None:
        rec, listener = getattr(self, "rec", None), getattr(self, "_listener", None)
        if rec is not None and listener is not None:
            rec.remove_listener(listener)
        super().close()


class _Figure:
    """One matplotlib figure (Agg, no pyplot) redrawn per exported frame: the map, the points, a title."""

    def __init__(self, player: ProbMapPlayer, *, title: str | None, dpi: int, figsize: Any, dark: bool,
                 margin: float) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.p, self.rec, self.title, self.dark = player, player.rec, title, dark
        fg, bg = ("#e8e8e8", "#111111") if dark else ("#222222", "#ffffff")
        self.fg = fg
        self.fig = Figure(figsize=figsize or (5.0, 5.0), dpi=dpi, facecolor=bg)
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=margin, right=1 - margin, bottom=margin, top=1 - margin * 1.2)
        self.ax = self._axes(self.fig.add_subplot(1, 1, 1))
        self.image = self.ax.imshow(player.render_rgba(0), extent=(*self.rec.xlim, *self.rec.ylim), aspect="auto",
                                    interpolation="bilinear")
        self.points = self._scatter(self.ax)
        self.label = self.ax.set_title("", color=fg)

    def _axes(self, ax: Any) -> Any:
        ax.set_facecolor(self.fig.get_facecolor())
        ax.tick_params(colors=self.fg, labelsize=7)
        for spine in ax.spines.values():
            spine.set_color(self.fg)
        return ax

    def _scatter(self, ax: Any) -> Any:
        if not self.p.show_train:
            return None
        pts = self.rec.points
        return ax.scatter(pts[:, 0], pts[:, 1], s=14, linewidths=0.8, edgecolors="black")

    def _style_points(self, scatter: Any, i: int) -> None:
        if scatter is None:
            return
        rec, palette = self.rec, self.p.palette / 255.0
        codes = rec.y if rec.y is not None else rec.point_preds[i].astype(np.int64)
        face = palette[codes % len(palette)].copy()
        face[rec.point_preds[i] != codes, 3] = 0.0  # misclassified: hollow
        scatter.set_facecolors(face)

    def _caption(self, epoch: float) -> str:
        text = f"epoch {epoch:g}" if float(epoch).is_integer() else f"epoch {epoch:.1f}"
        return f"{self.title}, {text}" if self.title else text

    def show(self, i: int, f: float, epoch: float) -> np.ndarray:
        self.image.set_data(self.p.render_rgba(i, f))
        self._style_points(self.points, i + 1 if f >= 0.5 and i + 1 < len(self.rec) else i)
        self.label.set_text(self._caption(epoch))
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())

    def steps(self) -> list[tuple[int, float, float]]:
        return timeline(self.rec.epochs, self.p.interpolation)

    def save_png(self, path: Path, epochs: Sequence[int] | None) -> None:
        if epochs is None:
            i = self.p.frame_index()
            self.show(i, 0.0, self.rec.epochs[i])
            self.fig.savefig(path, facecolor=self.fig.get_facecolor())
            return
        idx = [self.p.frame_index(e) for e in epochs]
        if not idx:
            raise ValueError("epochs must list at least one epoch for a small-multiples PNG")
        cols = min(len(idx), 4)
        rows = -(-len(idx) // cols)
        w, h = self.fig.get_size_inches()
        self.fig.clear()
        self.fig.set_size_inches(w * cols / 2, h * rows / 2)
        for n, i in enumerate(idx):
            ax = self._axes(self.fig.add_subplot(rows, cols, n + 1))
            ax.imshow(self.p.render_rgba(i), extent=(*self.rec.xlim, *self.rec.ylim), aspect="auto")
            self._style_points(self._scatter(ax), i)
            ax.set_title(f"epoch {self.rec.epochs[i]}", color=self.fg, fontsize=8)
        if self.title:
            self.fig.suptitle(self.title, color=self.fg)
        self.fig.savefig(path, facecolor=self.fig.get_facecolor())

    def save_gif(self, path: Path, fps: float) -> None:
        from PIL import Image

        # GIF delays count in 10 ms; below 20 ms browsers slow frames down to 100 ms.
        delay = max(20, int(round(100.0 / fps)) * 10)
        frames = [Image.fromarray(self.show(i, f, e)).convert("RGB") for i, f, e in self.steps()]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=delay, loop=0, optimize=False)

    def save_mp4(self, path: Path, fps: float) -> None:
        from matplotlib.animation import FFMpegWriter

        writer = FFMpegWriter(fps=fps)
        with writer.saving(self.fig, str(path), self.fig.dpi):
            for i, f, e in self.steps():
                self.show(i, f, e)
                writer.grab_frame(facecolor=self.fig.get_facecolor())


HTML_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>__TITLE__</title>
<style>body { margin: 16px; font-family: system-ui, sans-serif; }</style>
<style>__CSS__</style></head>
<body><div id="nbviz-player"></div>
<script type="application/json" id="nbviz-data">__DATA__</script>
<script type="module">
// A stand-in for the Jupyter widget model: the recorded state and frames are in the page, no kernel needed.
const data = JSON.parse(document.getElementById('nbviz-data').textContent);
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const revive = (v) => v && typeof v === 'object' && !Array.isArray(v)
  ? ('b64' in v ? new DataView(bytes(v.b64).buffer)
    : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)])))
  : Array.isArray(v) ? v.map(revive) : v;
const state = revive(data.state);
const all = bytes(data.frames);
const buffers = [];
for (let at = 0, k = 0; at < all.length; k++) {
  const n = data.sizes[k % data.sizes.length];
  buffers.push(new DataView(all.buffer, at, n));
  at += n;
}
const handlers = new Map();
const model = {
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; (handlers.get('change:' + k) || []).forEach((f) => f()); },
  on: (name, f) => handlers.set(name, [...(handlers.get(name) || []), f]),
  off: (name, f) => { if (name) handlers.set(name, (handlers.get(name) || []).filter((g) => g !== f)); },
  save_changes: () => {},
  send: (msg) => {
    if (msg.type !== 'frames') return;
    const reply = { ...data.message, id: msg.id };
    setTimeout(() => (handlers.get('msg:custom') || []).forEach((f) => f(reply, buffers)), 0);
  },
  widget_manager: {},
};
const url = URL.createObjectURL(new Blob([__JS__], { type: 'text/javascript' }));
const mod = (await import(url)).default;
if (mod.initialize) await mod.initialize({ model });
await mod.render({ model, el: document.getElementById('nbviz-player') });
</script></body></html>
"""


def _b64_chunks(value: Any) -> Any:
    if isinstance(value, memoryview):
        return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot write {type(value).__name__} into the HTML export")


__all__ = ["ProbMapPlayer"]
