"""ModelGraph's static pictures (PNG, SVG), drawn as the view draws them (js/src/model_graph/draw.ts): frames of
open groups with their title, edges as curves from a node's bottom to the next node's top with the shape beside
them, node boxes with a title line and a shape / parameters line, closed groups filled, folds doubled.

Where the boxes come from (:class:`Placed`): the view's own elkjs layout, which every view sends back when a layout
is on screen (the ``view_layout`` trait, :func:`view_placed`), when it was made for the groups open now; else
(no view has shown the graph yet: headless, or ``expanded`` changed since) the longest-path layers of
:func:`nbviz.kernels.graph_view.layered_layout` (:func:`python_placed`), which look like the view's only roughly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ..colors import PICTURE
from ..export import export_font, to_png
from ..kernels import graph_view as GV

#: The view's colours in JupyterLab's light theme.
PALETTE = PICTURE["light"]
#: As js/src/model_graph/layout.ts: height of a frame's title bar, padding around the graph.
TITLE, PAD = 22, 12
#: The Python layout's boxes and gaps (the view sizes each box by its text; here one size fits all).
BOX_W, BOX_H, GAP_X, GAP_Y = 180, 34, 24, 30
FONT_PX = 11
#: Zoom below which the view leaves out text, and edge shapes (draw.ts).
TEXT_ZOOM, EDGE_TEXT_ZOOM, EDGE_TEXT_MAX = 0.35, 0.7, 3000
#: Pixels per CSS px of the PNG when no width is asked for (as on a high-density screen), and the largest PNG
#: drawn then (a fully open big graph is scaled down to it).
PNG_SCALE, MAX_W, MAX_H = 2.0, 4000, 8000


@dataclass
class Placed:
    """Boxes ``(x, y, w, h)`` by drawn id (``"frame:" + path`` for an open group's frame) and the picture's size."""

    boxes: dict[str, tuple[float, float, float, float]]
    width: float
    height: float
    #: True when the boxes are the view's (elkjs), False for the Python layout.
    by_view: bool


def view_placed(layout: dict, expanded: list[str], nodes: list[dict]) -> Placed | None:
    """The view's boxes from the ``view_layout`` trait (checked by the widget), or None when it holds none for the
    groups open now (or misses a drawn node)."""
    if not layout or set(layout["expanded"]) != set(expanded):
        return None
    ids, boxes = layout["ids"], np.asarray(layout["boxes"], dtype=float)
    placed = {i: (float(x), float(y), float(w), float(h)) for i, (x, y, w, h) in zip(ids, boxes, strict=True)}
    if any(n["id"] not in placed for n in nodes):
        return None
    return Placed(placed, float(layout["width"]), float(layout["height"]), True)


def python_placed(nodes: list[dict], edges: list[dict]) -> Placed:
    """Boxes from :func:`~nbviz.kernels.graph_view.layered_layout`: one size, in layers, no frames."""
    at = GV.layered_layout(nodes, edges)
    boxes: dict[str, tuple[float, float, float, float]] = {
        k: (PAD + i * (BOX_W + GAP_X), PAD + layer * (BOX_H + GAP_Y), BOX_W, BOX_H) for k, (layer, i) in at.items()}
    width = max((b[0] for b in boxes.values()), default=0) + BOX_W + PAD
    height = max((b[1] for b in boxes.values()), default=0) + BOX_H + PAD
    return Placed(boxes, width, height, False)


def fmt_count(n: int) -> str:
    """A parameter count as the view writes it (draw.ts fmtCount): 1.2k, 3.4M, 5.6B. One decimal rounded as
    JavaScript's ``toFixed(1)`` rounds (a tie up: 1250 is 1.3k; Python's format would give 1.2k)."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{Decimal(n / size).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}{unit}"
    return str(n)


def _last(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def text_lines(n: dict) -> tuple[str, str]:
    """A drawn node's two lines as the view writes them (draw.ts nodeLines, with visible.ts's names): name and
    type (closed groups marked), then shape and parameters."""
    if n["kind"] == "fold":
        first, _, last = n["id"].partition("..")
        name = f"{_last(first)}..{_last(last)}"
    else:
        name = n.get("label") or (_last(n["path"]) if n["kind"] in ("module", "group") else "")
    title = f"{name}: {n['type']}" if name else n["type"]
    closed = n["kind"] in ("group", "fold")
    extra = f"{n['shape']}  {fmt_count(n['params'])} params" if n.get("params") else n.get("shape", "")
    return ("\u25b8 " if closed else "") + title, extra


def edge_path(s: tuple, t: tuple, between: list[tuple]) -> tuple[tuple[float, float], ...]:
    """The edge's four points, as the view draws it (draw.ts ``edgePath``): a cubic Bezier from the source's bottom
    centre to the target's top centre; an edge that skips layers (a residual connection) runs on the right of the
    boxes between its ends, a polyline from the source's right side to the target's."""
    x1, y1, x2, y2 = s[0] + s[2] / 2, s[1] + s[3], t[0] + t[2] / 2, t[1]
    blockers = [b for b in between if b is not s and b is not t and b[1] >= y1 and b[1] + b[3] <= y2
                and b[0] < max(x1, x2) + 1 and b[0] + b[2] > min(x1, x2) - 1]
    if not blockers:
        mid = (y1 + y2) / 2
        return (x1, y1), (x1, mid), (x2, mid), (x2, y2)
    side = max(s[0] + s[2], t[0] + t[2], *(b[0] + b[2] for b in blockers)) + 14
    return ((s[0] + s[2], s[1] + s[3] / 2), (side, s[1] + s[3] / 2), (side, t[1] + t[3] / 2),
            (t[0] + t[2], t[1] + t[3] / 2))


def is_side_route(path: tuple[tuple[float, float], ...]) -> bool:
    return path[1][0] != path[0][0]


def label_at(path: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """Where an edge's shape is written: beside the middle of its path."""
    return (path[1][0] + path[2][0]) / 2 + 4, (path[1][1] + path[2][1]) / 2


def _free_labels(curves: list) -> list:
    """The edges' shape texts, each left out when it would overprint one written before it (as the view does)."""
    taken: list[tuple[float, float, float, float]] = []
    out = []
    for path, shape in curves:
        if shape:
            x, y = label_at(path)
            box = (x, y - 7, 0.6 * FONT_PX * len(shape), 14)
            if any(b[0] < box[0] + box[2] and box[0] < b[0] + b[2] and b[1] < box[1] + box[3] and box[1] < b[1] + b[3]
                   for b in taken):
                shape = ""
            else:
                taken.append(box)
        out.append((path, shape))
    return out


@dataclass
class _Items:
    """What is drawn, in graph coordinates: frames ``(box, title)``, edges ``(curve, shape text)``, nodes
    ``(box, fill, fold, line 1, line 2)``; the picture's width (shapes beside the last edges may reach past the
    boxes) and height."""

    frames: list
    curves: list
    boxes: list
    width: float
    height: float


def _items(nodes: list[dict], edges: list[dict], placed: Placed) -> _Items:
    b = placed.boxes
    frames = sorted((k[6:] for k in b if k.startswith("frame:")), key=lambda p: p.count("."))
    framed = [(b["frame:" + f], "\u25be " + f) for f in frames]
    routed = len(edges) < EDGE_TEXT_MAX
    drawn = [b[n["id"]] for n in nodes if n["id"] in b] if routed else []
    curves = _free_labels([(edge_path(b[e["source"]], b[e["target"]], drawn), e["shape"] if routed else "")
                           for e in edges if e["source"] in b and e["target"] in b])
    boxes = [(b[n["id"]], PALETTE["group" if n["kind"] in ("group", "fold") else "node"], n["kind"] == "fold",
              *text_lines(n)) for n in nodes]
    width = max([placed.width] + [label_at(c)[0] + 0.6 * FONT_PX * len(shape) + PAD for c, shape in curves if shape]
                + [c[1][0] + PAD for c, _ in curves if is_side_route(c)])
    return _Items(framed, curves, boxes, width, placed.height)


def to_svg(nodes: list[dict], edges: list[dict], placed: Placed) -> str:
    """The picture as SVG text (user text escaped). Text too long for its box is squeezed to fit, as the view's
    ``fillText(text, x, y, maxWidth)`` does."""
    from xml.sax.saxutils import escape, quoteattr

    def text(x: float, y: float, value: str, fill: str, room: float) -> str:
        squeeze = f' textLength="{room:.1f}" lengthAdjust="spacingAndGlyphs"' if len(value) * 0.6 * FONT_PX > room \
            else ""
        return f'<text x="{x:.1f}" y="{y:.1f}" fill="{fill}" dominant-baseline="middle"{squeeze}>{escape(value)}</text>'

    def rect(box: tuple, fill: str, dx: float = 0) -> str:
        x, y, w, h = box
        return (f'<rect x="{x + dx:.1f}" y="{y + dx:.1f}" width="{w:.1f}" height="{h:.1f}" fill={quoteattr(fill)} '
                f'stroke="{PALETTE["border"]}"/>')

    items = _items(nodes, edges, placed)
    w, h = items.width, items.height
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" font-family="monospace" '
           f'font-size="{FONT_PX}">', f'<rect width="{w:.0f}" height="{h:.0f}" '
           f'fill="{PALETTE["bg"]}"/>']
    for box, title in items.frames:
        out += [rect(box, PALETTE["frame"]), text(box[0] + 6, box[1] + TITLE / 2, title, PALETTE["muted"], box[2] - 12)]
    for path, shape in items.curves:
        (p0, c1, c2, p3), op = path, "L" if is_side_route(path) else "C"
        out.append(f'<path d="M{p0[0]:.1f} {p0[1]:.1f} {op}{c1[0]:.1f} {c1[1]:.1f} {c2[0]:.1f} {c2[1]:.1f} '
                   f'{p3[0]:.1f} {p3[1]:.1f}" fill="none" stroke="{PALETTE["border"]}"/>')
        if shape:
            out.append(text(*label_at(path), shape, PALETTE["muted"], 1e9))
    for box, fill, fold, line1, line2 in items.boxes:
        out.append(rect(box, fill))
        if fold:
            out.append(rect(box, "none", 3))
        x, y, bw, bh = box
        out += [text(x + 6, y + bh / 3, line1, PALETTE["fg"], bw - 12),
                text(x + 6, y + 2 * bh / 3, line2, PALETTE["muted"], bw - 12)]
    return "\n".join(out + ["</svg>"]) + "\n"


def _mono_font_file() -> str | None:
    """DejaVu Sans Mono from matplotlib's data folder, found without importing matplotlib (85 ms in a fresh kernel,
    on the display path of the first picture)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder, "mpl-data", "fonts", "ttf", "DejaVuSansMono.ttf")
        if path.is_file():
            return str(path)
    return None


@functools.cache
def _mono_font(size: int) -> Any:
    """The view's font is monospace: matplotlib's DejaVu Sans Mono (it also has the view's triangles), else
    Pillow's own."""
    from PIL import ImageFont

    path = _mono_font_file()
    try:
        if path is not None:
            return ImageFont.truetype(path, size)
    except OSError:
        pass
    return export_font(size)


def png_scale(size: tuple[float, float], width: int | None) -> float:
    """Pixels per graph unit of a picture of ``size``: ``width`` across, or PNG_SCALE (scaled down to fit
    MAX_W x MAX_H)."""
    if width is None:
        return min(PNG_SCALE, MAX_W / size[0], MAX_H / size[1])
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or not 16 <= width <= 16384:
        raise ValueError(f"width must be an int from 16 to 16384 (pixels) or None, got {width!r}")
    return int(width) / size[0]


def to_png_bytes(nodes: list[dict], edges: list[dict], placed: Placed, width: int | None = None) -> bytes:
    """The picture as PNG bytes (Pillow: cheap enough for every redraw of the notebook's picture)."""
    from PIL import Image, ImageDraw

    items = _items(nodes, edges, placed)
    k = png_scale((items.width, items.height), width)
    img = Image.new("RGB", (max(1, round(items.width * k)), max(1, round(items.height * k))), PALETTE["bg"])
    draw = ImageDraw.Draw(img)
    font = _mono_font(max(1, round(FONT_PX * k)))
    show_text = k > TEXT_ZOOM

    def text(x: float, y: float, value: str, fill: str, room: float) -> None:
        if not (show_text and value):
            return
        length = draw.textlength(value, font=font)
        if length <= room * k:
            draw.text((x * k, y * k), value, fill=fill, font=font, anchor="lm")
            return
        # Squeezed to fit, as the view's fillText(text, x, y, maxWidth) does: drawn at its size, then narrowed.
        left, top, right, bottom = font.getbbox(value, anchor="lm")
        mask = Image.new("L", (right - left, bottom - top))
        ImageDraw.Draw(mask).text((-left, -top), value, fill=255, font=font, anchor="lm")
        narrow = mask.resize((max(1, round(mask.width * room * k / length)), mask.height), Image.Resampling.LANCZOS)
        img.paste(fill, (round(x * k + left * narrow.width / mask.width), round(y * k + top)), narrow)

    def rect(box: tuple, fill: str | None, dx: float = 0) -> None:
        x, y, w, h = box
        draw.rectangle(((x + dx) * k, (y + dx) * k, (x + dx + w) * k, (y + dx + h) * k), fill=fill,
                       outline=PALETTE["border"])

    for box, title in items.frames:
        rect(box, PALETTE["frame"])
        text(box[0] + 6, box[1] + TITLE / 2, title, PALETTE["muted"], box[2] - 12)
    steps = np.linspace(0.0, 1.0, 17)[:, None]
    for curve, shape in items.curves:
        p = np.asarray(curve) * k
        points = p if is_side_route(curve) else (
            (1 - steps) ** 3 * p[0] + 3 * (1 - steps) ** 2 * steps * p[1] + 3 * (1 - steps) * steps ** 2 * p[2]
            + steps ** 3 * p[3])
        draw.line([tuple(v) for v in points], fill=PALETTE["border"], width=1)
        if shape and k > EDGE_TEXT_ZOOM:
            text(*label_at(curve), shape, PALETTE["muted"], BOX_W)
    for box, fill, fold, line1, line2 in items.boxes:
        rect(box, fill)
        if fold:
            rect(box, None, 3)
        x, y, bw, bh = box
        text(x + 6, y + bh / 3, line1, PALETTE["fg"], bw - 12)
        text(x + 6, y + 2 * bh / 3, line2, PALETTE["muted"], bw - 12)
    return to_png(np.asarray(img))


def picture_of(graph: Any) -> tuple[list[dict], list[dict], Placed]:
    """The drawn nodes, edges and their boxes of a ModelGraph now: the view's layout where it matches, else the
    Python one."""
    nodes, edges = graph.visible()
    placed = view_placed(graph.view_layout, graph.expanded, nodes)
    return nodes, edges, placed if placed is not None else python_placed(nodes, edges)
