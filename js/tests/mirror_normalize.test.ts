// Where the explorer puts its points: normalizePoints / fitDistance (the live view) against
// nbviz.export.normalize_points / fit_distance (the PNG), fixture written by tests/mirror/normalize.py.
import { describe, expect, it } from 'vitest';
import { fitDistance, normalizePoints } from '../src/embedding_explorer/normalize';
import { loadFixture, num } from './mirror';

type N = number | string;

interface Fixture {
  points: Array<{ name: string; xy: N[]; x: N[]; y: N[]; half_width: number; half_height: number }>;
  /** [half width, half height, aspect, distance] */
  /** [half width, half height, aspect, margin px, canvas height px, distance] */
  distances: Array<[N, N, N, N, N, number]>;
}

const fx = loadFixture<Fixture>('normalize');

describe('normalize.ts mirrors nbviz.export', () => {
  it.each(fx.points.map((c) => [c.name, c] as const))('normalizePoints: %s', (_name, c) => {
    const xy = Float32Array.from(c.xy.map(num));
    const got = normalizePoints(xy, xy.length / 2);
    // Exact: both compute in doubles from the same float32 inputs and keep float32 positions.
    expect(Array.from(got.x)).toEqual(c.x.map(num));
    expect(Array.from(got.y)).toEqual(c.y.map(num));
    expect(got.halfWidth).toBe(c.half_width);
    expect(got.halfHeight).toBe(c.half_height);
  });

  it('fitDistance', () => {
    for (const [hw, hh, aspect, margin, height, d] of fx.distances) {
      expect(fitDistance(num(hw), num(hh), num(aspect), num(margin), num(height)),
        `${hw}, ${hh}, ${aspect}, ${margin}, ${height}`).toBe(d);
    }
  });
});
