"""Static pictures and exports of a :class:`~nbviz.widgets.prob_map_player.ProbMapPlayer`.

:class:`ProbMapExport` is a mixin of the player: the RGBA rendering of a frame as the browser draws it
(``render_rgba``), the PNG of the shown epoch without matplotlib (``to_png`` and the notebook's static picture),
the standalone offline HTML page (``to_html``) and ``save`` to ``.png`` / ``.gif`` / ``.mp4`` / ``.html``. The
GIF, MP4 and small-multiples PNG are drawn by :class:`_Figure`, one matplotlib figure redrawn per frame. It reads the
player's traits and recorders (``recs``, ``rec``, ``_stored()``, ``_frame_message``); nothing here changes them.
Kept apart from the player so the widget file holds only its state and frame syncing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..colors import PICTURE
from ..display import MODES, colorize_probabilities, flip_mask, frame_at, interpolate, timeline
from ..export import colorbar_panel, legend_panel, side_by_side, stacked, text_panel, to_png
from ..files import check_target, write_atomic
from ..kernels.recorder import Stored
from .base import WidgetMixin, check_number, check_png_width
from .html_page import HtmlPage

if TYPE_CHECKING:
    from collections.abc import Callable

    import traitlets as t

    from ..kernels.recorder import ProbMapRecorder

EXPORT_SUFFIXES = (".gif", ".mp4", ".png", ".html")
#: Width of each map in ``to_png()`` when none is given.
PNG_WIDTH = 420
#: Transparent pixels between the panels of a compare-mode PNG.
PANEL_GAP = 8


class ProbMapExport(WidgetMixin):
    """Static pictures and exports of :class:`~nbviz.widgets.prob_map_player.ProbMapPlayer` (a mixin: see the
    module)."""

    # What this mixin uses of the ProbMapPlayer (annotations only: the values are the widget's traits and state).
    boundary_line: t.Bool[bool, bool | int]
    boundary_luts: t.Any
    class_lut: t.Any
    class_names: t.List[str]
    entropy_lut: t.Any
    epoch: t.Int[int, int]
    epochs: t.List[int]
    interpolation: t.Int[int, int]
    interpolation_type: t.Enum[str]
    mode: t.Enum[str]
    n_classes: t.Int[int, int]
    palette: t.Any
    rec: ProbMapRecorder
    recs: list[ProbMapRecorder]
    region_luts: t.Any
    run_names: t.List[str]
    show_flips: t.Bool[bool, bool | int]
    show_train: t.Bool[bool, bool | int]
    size: t.Int[int, int]
    target_class: t.Int[int, int]
    _frame_message: Callable[..., tuple[dict, list]]
    _stored: Callable[[], list[Stored]]

    def _luts(self) -> dict[str, np.ndarray]:
        return {"region": self.region_luts, "boundary": self.boundary_luts, "class": self.class_lut,
                "entropy": self.entropy_lut}

    def _require_frames(self) -> list[Stored]:
        """Every recorder's frames, once those still queued in a background worker are stored (which raises the
        worker's failure, if any); an error when a recorder has none."""
        stored = [r.wait().stored() for r in self.recs]
        for name, st in zip(self.run_names, stored, strict=True):
            if not st.frames:
                which = f"rec[{name!r}]" if name else "the recorder"
                raise ValueError(f"{which} has no frames yet: call rec.record(model, epoch) at least once")
        return stored

    def frame_index(self, epoch: int | None = None, run: int = 0) -> int:
        """Index of the recorded frame nearest to ``epoch`` (default: the shown epoch) in recorder ``run``."""
        epochs = self._require_frames()[self._check_run(run)].epochs
        e = self.epoch if epoch is None else check_number(epoch, "epoch")
        return int(np.abs(np.asarray(epochs) - e).argmin())

    def render_rgba(self, i: int, f: float = 0.0, mode: str | None = None, run: int = 0) -> np.ndarray:
        """The map of recorder ``run`` between its frames ``i`` and ``i + 1`` at blend ``f`` as RGBA, as the
        browser draws it."""
        st = self._require_frames()[self._check_run(run)]
        i = check_number(i, "i", low=0, high=len(st.frames) - 1, integer=True)
        f = check_number(f, "f", low=0, high=1)
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} (or None: the shown mode), got {mode!r}")
        return self._render(st, i, f, mode)

    def _check_run(self, run: Any) -> int:
        return check_number(run, "run", low=0, high=len(self.recs) - 1, integer=True)

    def _render(self, st: Stored, i: int, f: float = 0.0, mode: str | None = None) -> np.ndarray:
        frames = st.frames
        if f > 0 and i + 1 < len(frames):
            probs = interpolate(frames[i], frames[i + 1], f, self.interpolation_type)
        else:
            probs = frames[i].astype(np.float32) / 255.0
        img = colorize_probabilities(probs, mode or self.mode, self._luts(), self.target_class, self.boundary_line)
        if self.show_flips and i > 0 and f == 0:
            img[flip_mask(frames[i].argmax(-1), frames[i - 1].argmax(-1))] = (230, 0, 126, 255)
        return img

    def to_png(self, width: int | None = None) -> bytes:
        """PNG of the shown epoch with the training points, one map per recorder side by side (nearest-pixel
        upscale, no matplotlib), each ``width`` pixels wide (None: 420). Waits for frames still queued in a
        recorder."""
        width = check_png_width(width) or PNG_WIDTH
        self._require_frames()
        return self._png(width)

    def _png(self, width: int) -> bytes:
        return to_png(self._maps_image(width))

    def _maps_image(self, width: int) -> np.ndarray:
        rows, cols = self.rec.shape
        height = max(1, round(width * rows / cols))
        yi = np.minimum(np.arange(height) * rows // height, rows - 1)
        xi = np.minimum(np.arange(width) * cols // width, cols - 1)
        panels = []
        for st in self._stored():
            if not st.frames or not self.n_classes:
                img = np.full((height, width, 4), 236, dtype=np.uint8)  # a placeholder until the first frame
                img[..., 3] = 255
            else:
                i, f = frame_at(st.epochs, self.epoch)
                img = self._render(st, i, f)[yi][:, xi].copy()
                if self.show_train and len(self.rec.points) <= 20000:
                    self._draw_points(img, st.point_preds[i + 1 if f >= 0.5 else i])
            panels += [img, np.zeros((height, PANEL_GAP, 4), dtype=np.uint8)]
        return np.concatenate(panels[:-1], axis=1)

    def _draw_points(self, img: np.ndarray, preds: np.ndarray) -> None:
        """Training points as discs in their class colour with a dark ring; misclassified ones hollow."""
        rec = self.rec
        h, w = img.shape[:2]
        px = np.rint((rec.points[:, 0] - rec.xlim[0]) / (rec.xlim[1] - rec.xlim[0]) * (w - 1)).astype(int)
        py = np.rint((rec.ylim[1] - rec.points[:, 1]) / (rec.ylim[1] - rec.ylim[0]) * (h - 1)).astype(int)
        codes = rec.y if rec.y is not None else preds.astype(np.int64)
        colours = self.palette[codes % len(self.palette)]
        wrong = preds != codes
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
        # What is stored now: a notebook output must not wait for a recorder's queue. With the epoch shown and,
        # as the live view, the class legend (region / boundary) or the scale of the "class" / "entropy" mode.
        maps = self._maps_image(min(self.size, 480))
        height = max(maps.shape[0], 120)
        title = f"epoch {self.epoch}" if self.epochs else "no frames yet"
        if self.mode in ("class", "entropy") and self.n_classes:
            lut, what = ((self.class_lut, f"p({self.class_names[self.target_class]})") if self.mode == "class"
                         else (self.entropy_lut, "entropy"))
            key = colorbar_panel(lut, 0.0, 1.0, what, height)
            return to_png(side_by_side([maps, stacked([text_panel([title], key.shape[1]), key])]))
        return to_png(side_by_side([maps, legend_panel(list(self.class_names), self.palette, title, height)]))

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
        overwrite: bool = False,
    ) -> Path:
        """Export to ``.gif`` / ``.mp4`` (every playback step, with interpolation), ``.png`` (the shown epoch,
        or a small-multiples grid of ``epochs``: one row per recorder in compare mode) or ``.html`` (standalone,
        offline, the live player). In compare mode every frame shows the recorders side by side.

        GIF frame delays are ``1000 / fps`` ms rounded to the 10 ms GIF clock, at least 20 ms. MP4 (H.264) needs
        ffmpeg: the one the ``imageio-ffmpeg`` package ships (``pip install nbviz[video]``), else one on PATH.
        Frames still queued in a recorder's background worker are waited for.

        ``~`` is expanded and the folder must exist. An existing file is replaced only with ``overwrite=True``
        (FileExistsError otherwise); a symbolic link at ``path`` is always refused; the file appears complete
        or not at all (see :mod:`nbviz.files`). Returns the path written.
        """
        path = check_target(path, EXPORT_SUFFIXES, overwrite=overwrite)
        suffix = path.suffix.lower()
        if not (isinstance(fps, (int, float)) and 0 < fps <= 100):
            raise ValueError(f"fps must be a number in (0, 100], got {fps!r}")
        self._require_frames()
        if suffix == ".html":
            page = self.to_html(title=title)
            return write_atomic(path, lambda tmp: tmp.write_text(page, encoding="utf-8"), overwrite=overwrite)
        ffmpeg = find_ffmpeg() if suffix == ".mp4" else ""
        fig = _Figure(self, title=title, dpi=dpi, figsize=figsize, dark=dark, margin=margin)
        writers = {".png": lambda tmp: fig.save_png(tmp, epochs), ".gif": lambda tmp: fig.save_gif(tmp, fps),
                   ".mp4": lambda tmp: fig.save_mp4(tmp, fps, ffmpeg)}
        return write_atomic(path, writers[suffix], overwrite=overwrite)

    def to_html(self, title: str | None = None) -> str:
        """A standalone offline HTML page running the live player on the recorded frames (no kernel): what
        ``save("x.html")`` writes."""
        stored = self._require_frames()
        page = HtmlPage(self, self._bundle)
        # The view asks each recorder (run) for its frames: every frame is the reply.
        page.reply_table("frames", "run", default=0)
        for run, st in enumerate(stored):
            content, buffers = self._frame_message(0, len(st.frames), run, st)
            page.add_reply("frames", [run], {"type": "frames", **content}, buffers)
        return page.html(title or "nbviz ProbMapPlayer")


class _Figure:
    """One matplotlib figure (Agg, no pyplot) redrawn per exported frame: a map per recorder, the points, a title.
    Made after the recorders' queues are drained (``_require_frames``)."""

    def __init__(self, player: ProbMapExport, *, title: str | None, dpi: int, figsize: Any, dark: bool,
                 margin: float) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.p, self.rec, self.title, self.dark = player, player.rec, title, dark
        self.stored, self.names = player._stored(), list(player.run_names)
        n = len(self.stored)
        fg, bg = (PICTURE["dark" if dark else "light"][k] for k in ("fg", "bg"))
        self.fg = fg
        self.fig = Figure(figsize=figsize or (5.0 * n, 5.0), dpi=dpi, facecolor=bg)
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=margin / n, right=1 - margin / n, bottom=margin, top=1 - margin * 1.2,
                                 wspace=0.15)
        self.axes = [self._axes(self.fig.add_subplot(1, n, k + 1)) for k in range(n)]
        self.images = [ax.imshow(player._render(st, 0), extent=(*self.rec.xlim, *self.rec.ylim), aspect="auto",
                                 interpolation="bilinear") for ax, st in zip(self.axes, self.stored, strict=True)]
        self.points = [self._scatter(ax) for ax in self.axes]
        if n == 1:
            self.label = self.axes[0].set_title("", color=fg)
        else:  # panel titles name the recorders; the epoch goes above them all
            for ax, name in zip(self.axes, self.names, strict=True):
                ax.set_title(name, color=fg, fontsize=9)
            self.label = self.fig.suptitle("", color=fg)

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

    def _style_points(self, scatter: Any, preds: np.ndarray) -> None:
        if scatter is None:
            return
        rec, palette = self.rec, self.p.palette / 255.0
        codes = rec.y if rec.y is not None else preds.astype(np.int64)
        face = palette[codes % len(palette)].copy()
        face[preds != codes, 3] = 0.0  # misclassified: hollow
        scatter.set_facecolors(face)

    def _caption(self, epoch: float) -> str:
        text = f"epoch {epoch:g}" if float(epoch).is_integer() else f"epoch {epoch:.1f}"
        return f"{self.title}, {text}" if self.title else text

    def show(self, epoch: float) -> np.ndarray:
        """Draw every recorder at ``epoch`` (between recorded epochs: blended, as the browser does)."""
        for st, image, points in zip(self.stored, self.images, self.points, strict=True):
            i, f = frame_at(st.epochs, epoch)
            image.set_data(self.p._render(st, i, f))
            self._style_points(points, st.point_preds[i + 1 if f >= 0.5 else i])
        self.label.set_text(self._caption(epoch))
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())  # pyright: ignore[reportAttributeAccessIssue] - an Agg canvas

    def steps(self) -> list[float]:
        """The epoch of every playback step over the union of the recorders' epochs."""
        return [e for _, _, e in timeline(self.p.epochs, self.p.interpolation)]

    def save_png(self, path: Path, epochs: Sequence[int] | None) -> None:
        if epochs is None:
            self.show(self.p.epoch)
            self.fig.savefig(path, facecolor=self.fig.get_facecolor())
            return
        if not len(epochs):
            raise ValueError("epochs must list at least one epoch for a small-multiples PNG")
        # One recorder: up to 4 maps a row. Compare mode: a row per recorder, a column per epoch.
        cells = [(run, e) for run in range(len(self.stored)) for e in epochs]
        cols = min(len(epochs), 4) if len(self.stored) == 1 else len(epochs)
        rows = -(-len(cells) // cols)
        w, h = self.fig.get_size_inches()
        w /= len(self.stored)
        self.fig.clear()
        self.fig.set_size_inches(w * cols / 2, h * rows / 2)
        for n, (run, e) in enumerate(cells):
            st = self.stored[run]
            i = int(np.abs(np.asarray(st.epochs) - e).argmin())  # the nearest recorded frame
            ax = self._axes(self.fig.add_subplot(rows, cols, n + 1))
            ax.imshow(self.p._render(st, i), extent=(*self.rec.xlim, *self.rec.ylim), aspect="auto")
            self._style_points(self._scatter(ax), st.point_preds[i])
            name = f"{self.names[run]}, " if self.names[run] else ""
            ax.set_title(f"{name}epoch {st.epochs[i]}", color=self.fg, fontsize=8)
        if self.title:
            self.fig.suptitle(self.title, color=self.fg)
        self.fig.savefig(path, facecolor=self.fig.get_facecolor())

    def save_gif(self, path: Path, fps: float) -> None:
        from PIL import Image

        # GIF delays count in 10 ms; below 20 ms browsers slow frames down to 100 ms.
        delay = max(20, int(round(100.0 / fps)) * 10)
        frames = [Image.fromarray(self.show(e)).convert("RGB") for e in self.steps()]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=delay, loop=0, optimize=False)

    def save_mp4(self, path: Path, fps: float, ffmpeg: str) -> None:
        steps = self.steps()
        h, w = self.show(steps[0]).shape[:2]
        # Raw RGBA frames piped in; H.264 in yuv420p (what every player decodes) needs even sizes: padded.
        command = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{w}x{h}",
                   "-r", f"{fps:g}", "-i", "-", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                   "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-movflags", "+faststart", "-f", "mp4", str(path)]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            assert proc.stdin is not None and proc.stderr is not None
            try:
                for e in steps:  # show() returns the canvas's own buffer: each frame is written before the next
                    proc.stdin.write(np.ascontiguousarray(self.show(e)).tobytes())
            except BrokenPipeError:
                pass  # ffmpeg stopped: its own message says why, below
            finally:
                proc.stdin.close()
            errors = proc.stderr.read().decode(errors="replace").strip()
        if proc.returncode:
            raise RuntimeError(f"ffmpeg ({ffmpeg}) failed to write the MP4: {errors[-500:]}")



def find_ffmpeg() -> str:
    """The ffmpeg executable: imageio-ffmpeg's own binary when the package is installed, else ``ffmpeg`` on PATH."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):  # not installed, or installed without a binary for this platform
        found = shutil.which("ffmpeg")
    if found is None:
        raise RuntimeError("saving .mp4 needs ffmpeg: install the imageio-ffmpeg package, which ships one "
                           "(pip install imageio-ffmpeg), or ffmpeg on PATH (apt install ffmpeg); or save a .gif")
    return found


__all__ = ["ProbMapExport", "find_ffmpeg"]
