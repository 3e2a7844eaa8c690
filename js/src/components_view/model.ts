// Pure helpers of the components view (no DOM): heatmap colours, sorting of the table, reading the traits.

import type { Column } from './protocol';

/** Diverging blue-white-red for a correlation in [-1, 1]; NaN (undefined) is grey. Returns an rgb() string. */
export function heatColor(r: number): string {
  if (!Number.isFinite(r)) return 'rgb(160, 160, 160)';
  const v = Math.max(-1, Math.min(1, r));
  const mix = (a: number, b: number, f: number) => Math.round(a + (b - a) * f);
  // White at 0, #2166ac at -1, #b2182b at +1.
  const [tr, tg, tb] = v < 0 ? [33, 102, 172] : [178, 24, 43];
  const f = Math.abs(v);
  return `rgb(${mix(255, tr, f)}, ${mix(255, tg, f)}, ${mix(255, tb, f)})`;
}

/** Text colour readable on heatColor(r). */
export function heatText(r: number): string {
  return Number.isFinite(r) && Math.abs(r) > 0.55 ? '#ffffff' : '#000000';
}

export interface TableRow {
  index: number;
  value: number;
  text: string;
}

export type SortKey = 'index' | 'value' | 'text';

/** Rows of a table column, sorted by key (ascending or not); ties by index, so the order is stable. */
export function tableRows(col: Column, key: SortKey = 'value', ascending = true): TableRow[] {
  const rows = col.low.map((index, k) => ({ index, value: col.values?.[k] ?? NaN, text: col.low_text[k] ?? '' }));
  const sign = ascending ? 1 : -1;
  const cmp = (a: TableRow, b: TableRow): number => {
    let c = 0;
    if (key === 'text') c = a.text.localeCompare(b.text);
    else if (key === 'value') c = (Number.isNaN(a.value) ? Infinity : a.value) - (Number.isNaN(b.value) ? Infinity : b.value);
    else c = a.index - b.index;
    return c !== 0 ? sign * c : a.index - b.index;
  };
  return rows.sort(cmp);
}

/** Next sort state after a click on a header: same key flips the direction, another key starts ascending. */
export function nextSort(current: { key: SortKey; ascending: boolean }, clicked: SortKey): { key: SortKey; ascending: boolean } {
  return clicked === current.key ? { key: clicked, ascending: !current.ascending } : { key: clicked, ascending: true };
}

/**
 * The axes to show after a click on component i, the same whatever was shown before: (i, i + 1), or (i, i - 1)
 * for the last. With `asY` (a shift-click) i goes on the y axis and the x axis stays.
 */
export function axesFor(i: number, n: number, active: number[], asY = false): [number, number] {
  if (asY && active.length === 2 && active[0] >= 0 && active[0] < n && active[0] !== i) return [active[0], i];
  return [i, i + 1 < n ? i + 1 : Math.max(i - 1, 0)];
}

/** A correlation as text, with its sign, 2 decimals; "n/a" when undefined. */
export function formatCorr(r: number): string {
  return Number.isFinite(r) ? (r >= 0 ? '+' : '') + r.toFixed(2) : 'n/a';
}
