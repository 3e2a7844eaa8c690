// Colour bar for colour-by-value: the LUT Python sent, drawn as a gradient with min / mid / max ticks.

import { cssColor, type Rgba } from '../lib/colors';

/** Tick labels for a value range: min, middle, max, with as few digits as tell them apart. */
export function colorbarTicks(range: readonly number[]): string[] {
  const [lo, hi] = [Number(range[0] ?? 0), Number(range[1] ?? 1)];
  const vals = [hi, (lo + hi) / 2, lo];
  const span = Math.abs(hi - lo) || Math.abs(hi) || 1;
  const digits = Math.max(0, Math.min(6, 2 - Math.floor(Math.log10(span))));
  return vals.map((v) => (Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toFixed(digits)));
}

export function renderColorbar(el: HTMLElement, lut: Rgba[], range: readonly number[], title: string): void {
  el.replaceChildren();
  const head = document.createElement('div');
  head.className = 'nbviz-colorbar-title';
  head.textContent = title;
  const body = document.createElement('div');
  body.className = 'nbviz-colorbar-body';
  const bar = document.createElement('canvas');
  bar.className = 'nbviz-colorbar-gradient';
  bar.width = 1;
  bar.height = lut.length;
  const ctx = bar.getContext('2d');
  if (ctx) {
    // Top row is the highest value.
    lut.forEach((c, k) => {
      ctx.fillStyle = cssColor(c);
      ctx.fillRect(0, lut.length - 1 - k, 1, 1);
    });
  }
  const ticks = document.createElement('div');
  ticks.className = 'nbviz-colorbar-ticks';
  for (const t of colorbarTicks(range)) {
    const s = document.createElement('span');
    s.textContent = t;
    ticks.append(s);
  }
  body.append(bar, ticks);
  el.append(head, body);
}
