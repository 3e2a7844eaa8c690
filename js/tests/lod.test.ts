import { describe, expect, it } from 'vitest';
import { LOD_FLOOR, LOD_GRID, stratifiedSample } from '../src/embedding_explorer/lod';

// A seeded generator, so the data (not the sampler's own hash) is fixed.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** n points: most in a dense blob of class 0, `rare` of class 1 spread thinly over the square. */
function data(n: number, rare: number) {
  const r = rng(7);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (i < rare) {
      x[i] = r() * 1.9 - 0.95;
      y[i] = r() * 1.9 - 0.95;
      codes[i] = 1;
    } else {
      x[i] = (r() - 0.5) * 0.2;
      y[i] = (r() - 0.5) * 0.2;
    }
  }
  return { x, y, codes };
}

describe('stratifiedSample', () => {
  it('keeps about the budget, ascending, the same each time', () => {
    const { x, y, codes } = data(200_000, 0);
    const s = stratifiedSample(x, y, codes, null, [], 20_000);
    expect(s.length).toBeGreaterThan(18_000);
    expect(s.length).toBeLessThan(22_000);
    for (let j = 1; j < s.length; j++) expect(s[j]).toBeGreaterThan(s[j - 1]);
    expect(stratifiedSample(x, y, codes, null, [], 20_000)).toEqual(s);
  });

  it('keeps a rare class and sparse cells whole, thinning only the dense ones', () => {
    const { x, y, codes } = data(200_000, 300);
    const s = stratifiedSample(x, y, codes, null, [], 10_000);
    // 300 points over 4096 cells: no cell holds more than the floor, so every rare point stays.
    const rareKept = s.filter((i) => i < 300).length;
    expect(rareKept).toBe(300);
    // A uniform sample of 5 % would keep ~15 of them.
    expect(s.length).toBeLessThan(11_000);
  });

  it('keeps at least the floor in every stratum of a class', () => {
    const n = 50_000;
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    const codes = new Uint8Array(n);
    // Two classes sharing one cell: class 1 has 20 points there, class 0 the rest.
    for (let i = 0; i < n; i++) {
      x[i] = 0.001 * (i % 7);
      y[i] = 0.001 * (i % 5);
      codes[i] = i < 20 ? 1 : 0;
    }
    const s = stratifiedSample(x, y, codes, null, [], 500);
    expect(s.filter((i) => i < 20).length).toBeGreaterThanOrEqual(LOD_FLOOR);
    expect(s.filter((i) => i >= 20).length).toBeGreaterThan(400);
  });

  it('always keeps the must points, never hidden or non-finite ones', () => {
    const { x, y, codes } = data(100_000, 0);
    x[2000] = NaN;
    const keep = new Uint8Array(100_000).fill(1);
    for (let i = 0; i < 1000; i++) keep[i] = 0;
    const must = [99_999, 50_000, 12_345, 2000, 10];
    const s = stratifiedSample(x, y, codes, keep, must, 1000);
    const set = new Set(s);
    for (const m of [99_999, 50_000, 12_345]) expect(set.has(m)).toBe(true);
    expect(set.has(2000)).toBe(false); // NaN
    expect(set.has(10)).toBe(false); // hidden, though asked for
    expect(s.some((i) => i < 1000)).toBe(false);
  });

  it('takes everything when the budget covers the points', () => {
    const { x, y, codes } = data(3000, 100);
    expect(stratifiedSample(x, y, codes, null, [], 10_000).length).toBe(3000);
  });

  it('spreads over the grid in proportion to density', () => {
    const n = 400_000;
    const r = rng(3);
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    // Left half three times as dense as the right half.
    for (let i = 0; i < n; i++) {
      const left = r() < 0.75;
      x[i] = left ? -0.9 + r() * 0.9 : r() * 0.9;
      y[i] = -0.9 + r() * 1.8;
    }
    const s = stratifiedSample(x, y, null, null, [], 40_000);
    const left = s.filter((i) => x[i] < 0).length / s.length;
    expect(left).toBeGreaterThan(0.72);
    expect(left).toBeLessThan(0.78);
    expect(LOD_GRID).toBeGreaterThan(8);
  });
});
