import { describe, expect, it } from 'vitest';
import { decodeArray, encodeArray } from '../src/lib/codecs';
import { MISSING_RGBA, valueColors, valueColumn } from '../src/lib/display';
import { colorbarTicks } from '../src/embedding_explorer/colorbar';
import { maskIndices, nextHidden, visibleMask } from '../src/embedding_explorer/hidden';
import { layoutAt, sameValues } from '../src/embedding_explorer/layouts';
import { progressFraction } from '../src/embedding_explorer/progress';
import {
  normalizeSelection,
  rectPolygon,
  screenToGl,
  selectionLabel,
  validIndices,
} from '../src/embedding_explorer/selection';
import type { Rgba } from '../src/lib/colors';

describe('selection', () => {
  it('normalises to sorted unique uint32 indices below n', () => {
    const s = normalizeSelection([5, 1, 5, 9, 3, 1, 12], 10);
    expect(s).toBeInstanceOf(Uint32Array);
    expect(Array.from(s)).toEqual([1, 3, 5, 9]);
    expect(normalizeSelection([], 10).length).toBe(0);
  });

  it('highlights only existing, visible indices', () => {
    expect(validIndices(Uint32Array.of(0, 2, 4, 7), 5)).toEqual([0, 2, 4]);
    expect(validIndices(Uint32Array.of(0, 1, 2, 3), 4, Uint8Array.of(1, 0, 1, 0))).toEqual([0, 2]);
    expect(validIndices(null, 4)).toEqual([]);
  });

  it('labels the count for the toolbar', () => {
    expect(selectionLabel(0)).toBe('');
    expect(selectionLabel(1234)).toBe('1,234 selected');
  });

  it('turns a drag in any direction into the same box', () => {
    const box = [[10, 20], [50, 20], [50, 80], [10, 80]];
    expect(rectPolygon([10, 20], [50, 80])).toEqual(box);
    expect(rectPolygon([50, 80], [10, 20])).toEqual(box);
    expect(rectPolygon([50, 20], [10, 80])).toEqual(box);
  });

  it('inverts the scatter projection (screen px -> GL)', () => {
    // Camera: scale s, translation (tx, ty), as dom-2d-camera's column-major view matrix.
    const s = 2.5;
    const [tx, ty] = [0.3, -0.2];
    const view = [s, 0, 0, 0, 0, s, 0, 0, 0, 0, 1, 0, tx, ty, 0, 1];
    const [w, h] = [800, 400];
    const toScreen = (x: number, y: number) => {
      // regl-scatterplot's getScreenPosition: clip = diag(1/aspect, 1) * view * p
      const cx = (s * x + tx) / (w / h);
      const cy = s * y + ty;
      return [(w * (cx + 1)) / 2, h * (0.5 - cy / 2)];
    };
    for (const [x, y] of [[0, 0], [0.4, -0.7], [-1, 1]]) {
      const [sx, sy] = toScreen(x, y);
      const [gx, gy] = screenToGl(sx, sy, view, w, h);
      expect(gx).toBeCloseTo(x, 10);
      expect(gy).toBeCloseTo(y, 10);
    }
  });
});

describe('colour by value', () => {
  it('puts each value in the middle of its matplotlib-style LUT bin, NaN past the end', () => {
    const w = valueColumn(Float32Array.of(0, 0.5, 1, NaN, -0.2, 1.7, 0.999), 256);
    // regl-scatterplot picks colour floor(w * (colours - 1)); with the grey appended that is floor(w * 256).
    const idx = Array.from(w, (v) => Math.floor(v * 256));
    expect(idx).toEqual([0, 128, 255, 256, 0, 255, 255]);
  });

  it('appends the missing-value grey to the LUT, in unit RGBA', () => {
    const lut: Rgba[] = [[0, 0, 0, 255], [255, 255, 255, 255]];
    const c = valueColors(lut);
    expect(c).toHaveLength(3);
    expect(c[1]).toEqual([1, 1, 1, 1]);
    expect(c[2]).toEqual(MISSING_RGBA.map((x) => x / 255));
  });

  it('is fast for a million values', () => {
    const v = new Float32Array(1_000_000).map((_, i) => i / 1e6);
    const t = performance.now();
    valueColumn(v, 256);
    expect(performance.now() - t).toBeLessThan(500);
  });
});

describe('colour bar ticks', () => {
  it('shows max, middle, min (top to bottom)', () => {
    expect(colorbarTicks([0, 1])).toEqual(['1.00', '0.50', '0.00']);
    expect(colorbarTicks([-158, 405])).toEqual(['405', '124', '-158']);
  });

  it('copes with tiny, huge and empty ranges', () => {
    expect(colorbarTicks([0, 1e-5])[0]).toMatch(/e-5$/);
    expect(colorbarTicks([0, 2e6])[0]).toMatch(/e\+6$/);
    expect(colorbarTicks([3, 3])).toHaveLength(3);
    expect(colorbarTicks([])).toEqual(['1.00', '0.50', '0.00']);
  });
});

describe('hidden categories', () => {
  it('click toggles one category', () => {
    expect(nextHidden([], 3, false, 5)).toEqual([3]);
    expect(nextHidden([1, 3], 3, false, 5)).toEqual([1]);
    expect(nextHidden([4], 0, false, 5)).toEqual([0, 4]);
  });

  it('double-click isolates, and again shows all', () => {
    const iso = nextHidden([3], 2, true, 5);
    expect(iso).toEqual([0, 1, 3, 4]);
    expect(nextHidden(iso, 2, true, 5)).toEqual([]);
    // Isolating another one while one is isolated switches to it.
    expect(nextHidden(iso, 4, true, 5)).toEqual([0, 1, 2, 3]);
  });

  it('keeps the points of shown categories, in order', () => {
    const codes = Uint8Array.of(0, 1, 2, 1, 0, 7);
    expect(visibleMask(codes, [])).toBeNull();
    expect(visibleMask(null, [1])).toBeNull();
    const mask = visibleMask(codes, [1, 7])!;
    expect(Array.from(mask)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(maskIndices(mask)).toEqual([0, 2, 4]);
    // Codes above every hidden one (not in the legend) stay drawn.
    expect(maskIndices(visibleMask(codes, [0])!)).toEqual([1, 2, 3, 5]);
  });

  it('handles a million points quickly', () => {
    const codes = new Uint8Array(1_000_000).map((_, i) => i % 10);
    const t = performance.now();
    const idx = maskIndices(visibleMask(codes, [3])!);
    expect(idx).toHaveLength(900_000);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe('layouts', () => {
  it('compares values element-wise, NaN equal to NaN', () => {
    expect(sameValues(Float32Array.of(1, NaN, 3), Float32Array.of(1, NaN, 3))).toBe(true);
    expect(sameValues(Float32Array.of(1, 2), Float32Array.of(1, 2.5))).toBe(false);
    expect(sameValues(Float32Array.of(1, 2), Float32Array.of(1, 2, 3))).toBe(false);
    expect(sameValues(null, Float32Array.of())).toBe(false);
  });

  it('an echoed layout (a fresh copy from Python) is the same: no second animation', () => {
    const a = new Float32Array([0.5, 1, 2, 3]);
    const echoed = decodeArray(encodeArray(a.slice(), [2, 2]))!.data;
    expect(echoed).not.toBe(a);
    expect(sameValues(a, echoed)).toBe(true);
  });

  it('picks layouts[i] only when there are several and i is valid', () => {
    const l0 = encodeArray(Float32Array.of(0, 0, 1, 1), [2, 2]);
    const l1 = encodeArray(Float32Array.of(2, 2, 3, 3), [2, 2]);
    expect(Array.from(layoutAt([l0, l1], 1)!)).toEqual([2, 2, 3, 3]);
    expect(layoutAt([l0], 0)).toBeNull();
    expect(layoutAt([l0, l1], 2)).toBeNull();
    expect(layoutAt([l0, l1], -1)).toBeNull();
    expect(layoutAt([], 0)).toBeNull();
  });
});

describe('progress', () => {
  it('shows [0, 1] and hides when idle', () => {
    expect(progressFraction(-1)).toBeNull();
    expect(progressFraction(Number.NaN)).toBeNull();
    expect(progressFraction(0)).toBe(0);
    expect(progressFraction(0.4)).toBe(0.4);
    expect(progressFraction(3)).toBe(1);
  });
});
