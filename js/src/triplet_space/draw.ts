// Canvas drawing of the triplet view: the scatter, the anchor's distance axis with the margin band, the map of the
// anchor's triplets and the histogram of d(a,n) - d(a,p). Each function paints one canvas from plain data.

import { EASY, HARD, SEMI, kindBounds, kindOf, niceTicks } from './model';

export interface Palette {
  /** CSS colours of easy, semi-hard, hard, opaque, and with an alpha. */
  kinds: string[];
  kindAlpha(kind: number, alpha: number): string;
  anchor: string;
  positive: string;
  /** Text, muted text and faint marks, from the theme. */
  fg: string;
  muted: string;
  faint: string;
  /** CSS colour per label code. */
  labels: string[];
}

export interface AnchorData {
  index: number;
  pos: ArrayLike<number>;
  posD: ArrayLike<number>;
  neg: ArrayLike<number>;
  negD: ArrayLike<number>;
  posD0: ArrayLike<number> | null;
  negD0: ArrayLike<number> | null;
}

/** Rectangles (CSS px in their canvas) a test or a tooltip may want: the margin band on the distance axis and the
 *  clean strip between its two rows, where only the band is painted. */
export interface StripLayout {
  band: { x0: number; x1: number; y0: number; y1: number };
  gap: { y0: number; y1: number };
}

/** Size a canvas for `width` x `height` CSS px at the device's pixel ratio; a cleared context in CSS px. */
export function prepare(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | null {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(width * dpr));
  const h = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

const MAX_LINES = 150;

function dot(ctx: CanvasRenderingContext2D, screen: ArrayLike<number>, i: number, r: number): void {
  ctx.fillRect(screen[2 * i] - r, screen[2 * i + 1] - r, 2 * r, 2 * r);
}

function ring(ctx: CanvasRenderingContext2D, screen: ArrayLike<number>, i: number, r: number): void {
  ctx.beginPath();
  ctx.arc(screen[2 * i], screen[2 * i + 1], r, 0, 2 * Math.PI);
  ctx.stroke();
}

function lines(ctx: CanvasRenderingContext2D, screen: ArrayLike<number>, from: number, to: ArrayLike<number>,
  start: number, end: number): void {
  ctx.beginPath();
  for (let k = start; k < Math.min(end, start + MAX_LINES); k++) {
    ctx.moveTo(screen[2 * from], screen[2 * from + 1]);
    ctx.lineTo(screen[2 * to[k]], screen[2 * to[k] + 1]);
  }
  ctx.stroke();
}

/** Indices of negatives whose kind for the positive `sel` changed between the before set and now. */
export function movedNegatives(a: AnchorData, sel: number, m: number): number[] {
  const out: number[] = [];
  if (!a.posD0 || !a.negD0 || sel < 0) return out;
  for (let k = 0; k < a.negD.length; k++) {
    if (kindOf(a.negD0[k], a.posD0[sel], m) !== kindOf(a.negD[k], a.posD[sel], m)) out.push(k);
  }
  return out;
}

/** The items: by label; with an anchor, faint, and its positives and negatives (by kind for the positive `sel`)
 *  on top, lines to the hard and semi-hard ones (nearest first, a few hundred at most). */
export function drawScatter(ctx: CanvasRenderingContext2D, screen: ArrayLike<number>, codes: ArrayLike<number> | null,
  colors: Palette, a: AnchorData | null, sel: number, m: number): void {
  const n = screen.length / 2;
  if (!a) {
    for (let i = 0; i < n; i++) {
      ctx.fillStyle = colors.labels[codes ? codes[i] % Math.max(colors.labels.length, 1) : 0] ?? colors.muted;
      dot(ctx, screen, i, 2);
    }
    return;
  }
  ctx.fillStyle = colors.faint;
  for (let i = 0; i < n; i++) dot(ctx, screen, i, 1.2);
  const dp = sel >= 0 ? a.posD[sel] : Infinity;
  const [lo, hi] = kindBounds(a.negD, dp, m);
  ctx.fillStyle = colors.kindAlpha(EASY, 0.45);
  for (let k = hi; k < a.neg.length; k++) dot(ctx, screen, a.neg[k], 1.6);
  ctx.lineWidth = 1;
  ctx.strokeStyle = colors.kindAlpha(SEMI, 0.55);
  lines(ctx, screen, a.index, a.neg, lo, hi);
  ctx.strokeStyle = colors.kindAlpha(HARD, 0.55);
  lines(ctx, screen, a.index, a.neg, 0, lo);
  ctx.fillStyle = colors.positive;
  for (let k = 0; k < a.pos.length; k++) dot(ctx, screen, a.pos[k], 2.2);
  for (const [kind, s, e] of [[SEMI, lo, hi], [HARD, 0, lo]]) {
    ctx.fillStyle = colors.kinds[kind];
    for (let k = s; k < e; k++) dot(ctx, screen, a.neg[k], 2.6);
  }
  ctx.strokeStyle = colors.fg;
  for (const k of movedNegatives(a, sel, m).slice(0, MAX_LINES)) ring(ctx, screen, a.neg[k], 4.5);
  if (sel >= 0) {
    ctx.strokeStyle = colors.positive;
    ctx.lineWidth = 2;
    lines(ctx, screen, a.index, a.pos, sel, sel + 1);
    ring(ctx, screen, a.pos[sel], 5);
  }
  ctx.strokeStyle = colors.anchor;
  ctx.fillStyle = colors.anchor;
  ctx.lineWidth = 2.5;
  ring(ctx, screen, a.index, 7);
  dot(ctx, screen, a.index, 2.5);
}

/** The distance axis of the anchor: its positives on one row, its negatives (by kind for the positive `sel`) on
 *  another, the band [d(a,p), d(a,p) + m] of that positive across both; with a before set, a third row shows the
 *  negatives whose kind changed, from their distance before to now. `top` is the axis's right end. */
export function drawStrip(ctx: CanvasRenderingContext2D, width: number, a: AnchorData, sel: number, m: number,
  top: number, colors: Palette): StripLayout {
  const left = 40;
  const right = 12;
  const x = (d: number) => left + ((width - left - right) * d) / top;
  const posRow: [number, number] = [8, 28];
  const negRow: [number, number] = [40, 60];
  const movedRow: [number, number] = [66, 84];
  const axisY = (a.negD0 ? movedRow[1] : negRow[1]) + 6;
  const dp = sel >= 0 ? a.posD[sel] : 0;
  const band = { x0: x(dp), x1: x(dp + m), y0: posRow[0] - 4, y1: negRow[1] + 2 };
  ctx.fillStyle = colors.kindAlpha(SEMI, 0.3);
  ctx.fillRect(band.x0, band.y0, Math.max(band.x1 - band.x0, 0), band.y1 - band.y0);
  ctx.strokeStyle = colors.kinds[SEMI];
  ctx.lineWidth = 1;
  ctx.setLineDash([3, 2]);
  ctx.beginPath();
  ctx.moveTo(band.x1, band.y0);
  ctx.lineTo(band.x1, band.y1);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = colors.positive;
  ctx.globalAlpha = 0.55;
  for (let k = 0; k < a.posD.length; k++) ctx.fillRect(x(a.posD[k]) - 0.5, posRow[0] + 4, 1, posRow[1] - posRow[0] - 8);
  ctx.globalAlpha = 1;
  const [lo, hi] = kindBounds(a.negD, dp, m);
  for (let k = 0; k < a.negD.length; k++) {
    ctx.fillStyle = colors.kinds[k < lo ? HARD : k < hi ? SEMI : EASY];
    ctx.fillRect(x(a.negD[k]) - 0.5, negRow[0], 1, negRow[1] - negRow[0]);
  }
  if (sel >= 0) {
    ctx.fillStyle = colors.positive;
    ctx.fillRect(x(dp) - 1, posRow[0] - 4, 2, negRow[1] - posRow[0] + 6);
  }
  if (a.negD0 && a.posD0 && sel >= 0) {
    ctx.lineWidth = 1;
    for (const k of movedNegatives(a, sel, m)) {
      const kind = kindOf(a.negD[k], dp, m);
      const y = movedRow[0] + ((k * 7) % (movedRow[1] - movedRow[0]));
      ctx.strokeStyle = colors.kindAlpha(kind, 0.7);
      ctx.beginPath();
      ctx.moveTo(x(a.negD0[k]), y);
      ctx.lineTo(x(a.negD[k]), y);
      ctx.stroke();
      ctx.fillStyle = colors.kinds[kind];
      ctx.fillRect(x(a.negD[k]) - 1.5, y - 1.5, 3, 3);
    }
    ctx.strokeStyle = colors.positive;
    ctx.strokeRect(x(a.posD0[sel]) - 2, posRow[0] + 2, 4, posRow[1] - posRow[0] - 4);
  }
  ctx.fillStyle = colors.muted;
  ctx.fillRect(left, axisY, width - left - right, 1);
  ctx.font = '11px sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.fillText('pos', 4, (posRow[0] + posRow[1]) / 2);
  ctx.fillText('neg', 4, (negRow[0] + negRow[1]) / 2);
  if (a.negD0) ctx.fillText('moved', 2, (movedRow[0] + movedRow[1]) / 2);
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  for (const v of niceTicks(0, top, 6)) {
    ctx.fillRect(x(v), axisY, 1, 4);
    ctx.fillText(+v.toPrecision(3) + '', x(v), axisY + 6);
  }
  return { band, gap: { y0: posRow[1] + 2, y1: negRow[0] - 2 } };
}

/** Height of the strip for an anchor with or without a before set. */
export function stripHeight(before: boolean): number {
  return before ? 112 : 94;
}

/** Every triplet of the anchor: a row per positive (nearest on top), the negatives left to right (nearest first);
 *  each row is hard, then semi-hard, then easy. The row of the positive `sel` is outlined. */
export function drawMap(ctx: CanvasRenderingContext2D, width: number, height: number, posD: ArrayLike<number>,
  negD: ArrayLike<number>, sel: number, m: number, colors: Palette): void {
  const rows = Math.max(posD.length, 1);
  const cols = Math.max(negD.length, 1);
  const h = height / rows;
  for (let r = 0; r < posD.length; r++) {
    const [lo, hi] = kindBounds(negD, posD[r], m);
    const y = r * h;
    const ys = Math.max(h, 1);
    ctx.fillStyle = colors.kinds[HARD];
    ctx.fillRect(0, y, (width * lo) / cols, ys);
    ctx.fillStyle = colors.kinds[SEMI];
    ctx.fillRect((width * lo) / cols, y, (width * (hi - lo)) / cols, ys);
    ctx.fillStyle = colors.kinds[EASY];
    ctx.fillRect((width * hi) / cols, y, (width * (cols - hi)) / cols, ys);
  }
  if (sel >= 0) {
    ctx.strokeStyle = colors.fg;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(0.75, sel * h, width - 1.5, Math.max(h, 2));
  }
}

/** Bars of d(a,n) - d(a,p), coloured by kind at margin m, with 0 and m marked. Returns the x of the margin line. */
export function drawHistogram(ctx: CanvasRenderingContext2D, width: number, height: number, edges: number[],
  fractions: number[], m: number, colors: Palette): number {
  const left = 12;
  const right = 12;
  const bottom = 18;
  const lo = edges[0];
  const hi = edges[edges.length - 1];
  const x = (v: number) => left + ((width - left - right) * (v - lo)) / (hi - lo);
  const peak = Math.max(...fractions, 1e-12);
  const base = height - bottom;
  for (let k = 0; k < fractions.length; k++) {
    const c = (edges[k] + edges[k + 1]) / 2;
    ctx.fillStyle = colors.kinds[c < 0 ? HARD : c < m ? SEMI : EASY];
    const h = ((base - 14) * fractions[k]) / peak;
    ctx.fillRect(x(edges[k]), base - h, Math.max(x(edges[k + 1]) - x(edges[k]) - 1, 1), h);
  }
  ctx.fillStyle = colors.muted;
  ctx.fillRect(left, base, width - left - right, 1);
  ctx.fillRect(x(0), 4, 1, base - 4);
  ctx.fillStyle = colors.kinds[SEMI];
  ctx.fillRect(x(m) - 1, 4, 2, base - 4);
  ctx.font = '11px sans-serif';
  ctx.textBaseline = 'top';
  ctx.textAlign = x(m) > width - 90 ? 'right' : 'left';
  ctx.fillStyle = colors.fg;
  ctx.fillText(`m = ${+m.toPrecision(3)}`, x(m) + (ctx.textAlign === 'right' ? -4 : 4), 2);
  ctx.textAlign = 'center';
  ctx.fillStyle = colors.muted;
  for (const v of niceTicks(lo, hi, 8)) {
    ctx.fillRect(x(v), base, 1, 4);
    ctx.fillText(+v.toPrecision(3) + '', x(v), base + 5);
  }
  return x(m);
}
