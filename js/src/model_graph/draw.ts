// Canvas drawing of a laid-out graph: frames of open groups, edges with shapes, node boxes. Text goes through
// fillText (never HTML). Colours come from the JupyterLab theme (dark too).

import type { Box, Layout } from './layout';
import type { VisibleGraph, VisNode } from './visible';

export interface View {
  k: number;
  tx: number;
  ty: number;
}

export interface Palette {
  fg: string;
  muted: string;
  bg: string;
  node: string;
  group: string;
  frame: string;
  border: string;
  accent: string;
  warn: string;
}

export interface DrawState {
  selected: string;
  highlight: Set<string> | null;
  hits: Set<string>;
  unusable: Record<string, string>;
}

/** The smallest zoom at which node text (11 px at zoom 1) stays readable: a fit never goes below it for height. */
export const READABLE_K = 0.9;

/**
 * The view that frames a w x h graph in a W x H stage: the whole graph when that keeps text readable; a tall
 * graph is fitted to the width at a readable zoom instead, from its top (drag to pan down), never a thin column
 * of 5 px text in a wide frame.
 */
export function fitView(w: number, h: number, W: number, H: number): View {
  const all = Math.min(1.5, W / w, H / h);
  const k = Math.max(all, Math.min(READABLE_K, 1.5, W / w));
  const tx = (W - w * k) / 2;
  return { k, tx, ty: h * k <= H ? (H - h * k) / 2 : 8 };
}

/** The path of an edge: a curve between layers; an edge that skips layers (a residual connection) runs beside
 * the boxes between its ends, on the right, so it is not hidden behind the chain it bypasses. */
export function edgePath(s: Box, t: Box, between: readonly Box[]): Array<[number, number]> {
  const x1 = s.x + s.w / 2;
  const y1 = s.y + s.h;
  const x2 = t.x + t.w / 2;
  const y2 = t.y;
  const blockers = between.filter((b) => b !== s && b !== t && b.y >= y1 && b.y + b.h <= y2
    && b.x < Math.max(x1, x2) + 1 && b.x + b.w > Math.min(x1, x2) - 1);
  if (!blockers.length) return [[x1, y1], [x1, (y1 + y2) / 2], [x2, (y1 + y2) / 2], [x2, y2]];
  const side = Math.max(s.x + s.w, t.x + t.w, ...blockers.map((b) => b.x + b.w)) + 14;
  return [[s.x + s.w, s.y + s.h / 2], [side, s.y + s.h / 2], [side, t.y + t.h / 2], [t.x + t.w, t.y + t.h / 2]];
}

/** Where an edge's shape is written: beside the middle of its path. */
export function labelAt(p: ReadonlyArray<readonly [number, number]>): [number, number] {
  return [(p[1][0] + p[2][0]) / 2 + 4, (p[1][1] + p[2][1]) / 2];
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function nodeTitle(n: VisNode): string {
  return n.name ? `${n.name}: ${n.type}` : n.type;
}

/** A node's two lines of text: its title (closed groups marked), then its shape and parameters. Static exports
 * write the same (nbviz/widgets/model_graph_export.py text_lines; tests/mirror/model_graph_text.py). */
export function nodeLines(n: VisNode): [string, string] {
  const closed = n.kind === 'group' || n.kind === 'fold';
  return [(closed ? '\u25b8 ' : '') + nodeTitle(n), n.params ? `${n.shape}  ${fmtCount(n.params)} params` : n.shape];
}

/** Which drawn node (or open-group title bar, as 'frame:' + path) lies under a point in graph coordinates. */
export function hitTest(layout: Layout, x: number, y: number, titleHeight: number): string | null {
  let frame: string | null = null;
  for (const [id, b] of layout.boxes) {
    if (x < b.x || x > b.x + b.w || y < b.y || y > b.y + b.h) continue;
    if (!id.startsWith('frame:')) return id;
    if (y <= b.y + titleHeight) frame = id;
  }
  return frame;
}

function visibleBox(b: Box, view: View, w: number, h: number): boolean {
  const x = b.x * view.k + view.tx;
  const y = b.y * view.k + view.ty;
  return x + b.w * view.k >= 0 && y + b.h * view.k >= 0 && x <= w && y <= h;
}

export function drawGraph(ctx: CanvasRenderingContext2D, vis: VisibleGraph, layout: Layout, view: View,
  size: { w: number; h: number }, pal: Palette, st: DrawState, titleHeight: number): number {
  ctx.save();
  ctx.fillStyle = pal.bg;
  ctx.fillRect(0, 0, size.w, size.h);
  ctx.setTransform(ctx.getTransform().translate(view.tx, view.ty).scale(view.k));
  ctx.font = '11px var(--jp-code-font-family, monospace)';
  ctx.textBaseline = 'middle';
  const showText = view.k > 0.35;
  for (const f of vis.frames) {
    const b = layout.boxes.get(`frame:${f}`);
    if (!b || !visibleBox(b, view, size.w, size.h)) continue;
    ctx.fillStyle = pal.frame;
    ctx.strokeStyle = pal.border;
    ctx.lineWidth = 1 / view.k;
    ctx.fillRect(b.x, b.y, b.w, b.h);
    ctx.strokeRect(b.x, b.y, b.w, b.h);
    if (showText) {
      ctx.fillStyle = pal.muted;
      ctx.fillText(`\u25be ${f}`, b.x + 6, b.y + titleHeight / 2, b.w - 12);
    }
  }
  let drawn = 0;
  const dim = (id: string) => st.highlight !== null && !st.highlight.has(id);
  ctx.lineWidth = 1 / Math.max(view.k, 0.5);
  const nodeBoxes = vis.nodes.map((n) => layout.boxes.get(n.id)).filter((b): b is Box => !!b);
  const routed = vis.edges.length < 3000; // beyond, a straight curve each: routing would cost more than drawing
  const labels: Box[] = []; // edge labels drawn so far: one that would overprint another is left out
  for (const e of vis.edges) {
    const s = layout.boxes.get(e.source);
    const t = layout.boxes.get(e.target);
    if (!s || !t) continue;
    const on = st.highlight !== null && st.highlight.has(e.source) && st.highlight.has(e.target);
    ctx.strokeStyle = on ? pal.accent : pal.border;
    ctx.globalAlpha = st.highlight !== null && !on ? 0.25 : 1;
    const p = edgePath(s, t, routed ? nodeBoxes : []);
    ctx.beginPath();
    ctx.moveTo(p[0][0], p[0][1]);
    if (p[1][0] === p[0][0]) ctx.bezierCurveTo(p[1][0], p[1][1], p[2][0], p[2][1], p[3][0], p[3][1]);
    else {
      const r = 8; // a side route with rounded corners
      ctx.arcTo(p[1][0], p[1][1], p[2][0], p[2][1], r);
      ctx.arcTo(p[2][0], p[2][1], p[3][0], p[3][1], r);
      ctx.lineTo(p[3][0], p[3][1]);
    }
    ctx.stroke();
    if (showText && view.k > 0.7 && e.shape && routed) {
      const [x, y] = labelAt(p);
      const box = { x, y: y - 7, w: ctx.measureText(e.shape).width, h: 14 };
      if (!labels.some((b) => b.x < box.x + box.w && box.x < b.x + b.w && b.y < box.y + box.h && box.y < b.y + b.h)) {
        labels.push(box);
        ctx.fillStyle = pal.muted;
        ctx.fillText(e.shape, x, y);
      }
    }
  }
  ctx.globalAlpha = 1;
  for (const n of vis.nodes) {
    const b = layout.boxes.get(n.id);
    if (!b || !visibleBox(b, view, size.w, size.h)) continue;
    drawn++;
    const closed = n.kind === 'group' || n.kind === 'fold';
    ctx.globalAlpha = dim(n.id) ? 0.3 : 1;
    ctx.fillStyle = closed ? pal.group : pal.node;
    ctx.fillRect(b.x, b.y, b.w, b.h);
    const bad = n.path !== '' && n.path in st.unusable;
    ctx.strokeStyle = n.path === st.selected && st.selected !== '' ? pal.accent : st.hits.has(n.id) ? pal.warn
      : pal.border;
    ctx.lineWidth = (n.path === st.selected && st.selected !== '') || st.hits.has(n.id) ? 3 / view.k : 1 / view.k;
    ctx.setLineDash(bad ? [4 / view.k, 3 / view.k] : closed ? [] : []);
    ctx.strokeRect(b.x, b.y, b.w, b.h);
    if (n.kind === 'fold') ctx.strokeRect(b.x + 3, b.y + 3, b.w, b.h);
    ctx.setLineDash([]);
    if (showText) {
      const [title, extra] = nodeLines(n);
      ctx.fillStyle = bad ? pal.muted : pal.fg;
      ctx.fillText(title, b.x + 6, b.y + b.h / 3, b.w - 12);
      ctx.fillStyle = pal.muted;
      ctx.fillText(extra, b.x + 6, b.y + (2 * b.h) / 3, b.w - 12);
    }
  }
  ctx.globalAlpha = 1;
  ctx.restore();
  return drawn;
}
