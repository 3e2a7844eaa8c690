import { describe, expect, it } from 'vitest';
import { encodeArray, decodeArray } from '../src/lib/codecs';
import { colorForCode, cssColor, FALLBACK_RGBA, paletteRows, toUnitRgba } from '../src/lib/colors';
import { parseRgb } from '../src/lib/theme';
import { colorEncoding, maxCode } from '../src/embedding_explorer/encoding';
import { ringGeometry, ringRadius, RING_STROKE } from '../src/embedding_explorer/focus_ring';
import { fitDistance, normalizePoints, PADDING } from '../src/embedding_explorer/normalize';
import { tooltipPosition, tooltipText } from '../src/embedding_explorer/tooltip';

describe('normalizePoints', () => {
  it('centres, keeps aspect ratio and pads the longer side', () => {
    const xy = Float32Array.of(10, 100, 30, 100, 20, 105); // x span 20, y span 5
    const { x, y, halfWidth, halfHeight } = normalizePoints(xy, 3);
    const s = (2 * (1 - PADDING)) / 20;
    expect(x[0]).toBeCloseTo(-(1 - PADDING));
    expect(x[1]).toBeCloseTo(1 - PADDING);
    expect(x[2]).toBeCloseTo(0);
    expect(y[0]).toBeCloseTo(-2.5 * s);
    expect(y[2]).toBeCloseTo(2.5 * s);
    expect(halfWidth).toBeCloseTo(1 - PADDING);
    expect(halfHeight).toBeCloseTo(2.5 * s);
  });

  it('handles N=0, N=1 and identical points', () => {
    expect(normalizePoints(new Float32Array(0), 0).x.length).toBe(0);
    const one = normalizePoints(Float32Array.of(1e6, -3), 1);
    expect([one.x[0], one.y[0]]).toEqual([0, 0]);
    const same = normalizePoints(Float32Array.of(5, 5, 5, 5), 2);
    expect(Array.from(same.x)).toEqual([0, 0]);
  });

  it('ignores non-finite points for the bounds and leaves them NaN', () => {
    const { x, y } = normalizePoints(Float32Array.of(0, 0, NaN, 1, 2, 0, Infinity, 5), 4);
    expect(x[1]).toBeNaN();
    expect(y[3]).toBeNaN();
    expect(x[0]).toBeCloseTo(-(1 - PADDING));
    expect(x[2]).toBeCloseTo(1 - PADDING);
  });

  it('is fast enough for a million points', () => {
    const n = 1_000_000;
    const xy = new Float32Array(2 * n).map((_, i) => Math.sin(i));
    const t = performance.now();
    const { x } = normalizePoints(xy, n);
    expect(x.length).toBe(n);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe('fitDistance', () => {
  it('fits the taller side on wide canvases and the wider side on narrow ones', () => {
    // Wide data on a 2:1 canvas: width decides (0.95+pad)/2 vs height 0.3+pad.
    expect(fitDistance(0.95, 0.3, 2)).toBeCloseTo((0.95 + PADDING) / 2);
    expect(fitDistance(0.3, 0.95, 2)).toBeCloseTo(0.95 + PADDING);
    expect(fitDistance(0.95, 0.95, 0.5)).toBeCloseTo((0.95 + PADDING) / 0.5);
  });
  it('is always a positive finite number', () => {
    for (const d of [fitDistance(0, 0, 1), fitDistance(1, 1, 0), fitDistance(NaN, 1, 1)]) {
      expect(d > 0 && Number.isFinite(d)).toBe(true);
    }
  });
});

describe('focus ring geometry', () => {
  it('radius is at least 9 px and twice the point size', () => {
    expect(ringRadius(2)).toBe(9);
    expect(ringRadius(10)).toBe(20);
    expect(ringRadius(NaN)).toBe(9);
  });
  it('places the ring on the point and drops it when off-canvas', () => {
    expect(ringGeometry([50, 60], 3, 200, 100)).toEqual({ x: 50, y: 60, r: 9 });
    expect(ringGeometry(null, 3, 200, 100)).toBeNull();
    expect(ringGeometry([NaN, 1], 3, 200, 100)).toBeNull();
    // Partly visible rings are still drawn; fully outside ones are not.
    expect(ringGeometry([-5, 50], 3, 200, 100)).not.toBeNull();
    expect(ringGeometry([-9 - RING_STROKE - 1, 50], 3, 200, 100)).toBeNull();
    expect(ringGeometry([100, 100 + 9 + RING_STROKE + 1], 3, 200, 100)).toBeNull();
  });
});

describe('palette and colour encoding', () => {
  const palette = decodeArray(encodeArray(Uint8Array.of(255, 0, 0, 255, 0, 0, 255, 128), [2, 4]));

  it('reads (K, 4) uint8 rows and falls back for bad input', () => {
    expect(paletteRows(palette)).toEqual([
      [255, 0, 0, 255],
      [0, 0, 255, 128],
    ]);
    expect(paletteRows(null)).toEqual([FALLBACK_RGBA]);
    expect(paletteRows({ data: new Uint8Array(3), shape: [3] })).toEqual([FALLBACK_RGBA]);
    expect(cssColor([0, 0, 255, 128])).toBe('rgba(0, 0, 255, 0.502)');
    expect(toUnitRgba([255, 0, 51, 255])).toEqual([1, 0, 0.2, 1]);
  });

  it('uses palette[0] without categories, one colour per code with them', () => {
    const rows = paletteRows(palette);
    expect(colorEncoding(null, rows)).toEqual({ colors: [[1, 0, 0, 1]], colorBy: null });
    const enc = colorEncoding(Uint8Array.of(0, 1, 1), rows);
    expect(enc.colorBy).toBe('valueA');
    expect(enc.colors).toHaveLength(2);
    // Codes beyond the palette wrap instead of indexing past the colour table.
    const wide = colorEncoding(Uint16Array.of(0, 4), rows);
    expect(wide.colors).toHaveLength(5);
    expect(wide.colors[4]).toEqual(toUnitRgba(colorForCode(rows, 4)));
    expect(maxCode(Uint16Array.of(3, 700, 2))).toBe(700);
  });
});

describe('tooltip', () => {
  it('shows the index and the category name as plain text', () => {
    expect(tooltipText(7, 1, ['a', '<b>x</b>'])).toBe('#7 \u00b7 <b>x</b>');
    expect(tooltipText(7, null, ['a'])).toBe('#7');
    expect(tooltipText(7, 5, ['a'])).toBe('#7');
  });
  it('stays inside the plot', () => {
    expect(tooltipPosition(10, 10, 50, 20, 300, 200)).toEqual([22, 22]);
    expect(tooltipPosition(290, 195, 50, 20, 300, 200)).toEqual([228, 163]);
  });
});

describe('theme colour parsing', () => {
  it('parses computed rgb/rgba strings', () => {
    expect(parseRgb('rgb(17, 17, 17)')).toEqual([17, 17, 17, 255]);
    expect(parseRgb('rgba(255, 255, 255, 0.5)')).toEqual([255, 255, 255, 128]);
    expect(parseRgb('rgb(0 0 0 / 50%)')).toEqual([0, 0, 0, 128]);
    expect(parseRgb('transparent')).toBeNull();
  });
});
