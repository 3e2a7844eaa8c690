import { describe, expect, it } from 'vitest';
import { neighborTiles } from '../src/embedding_explorer/neighbors_panel';
import { affinePositions, atlasCell, chooseThumbnails, pointColorCss } from '../src/embedding_explorer/thumbnails';

describe('neighborTiles', () => {
  const reply = { index: 7, indices: [7, 3, 9, 1, 4], distances: [0, 0.5, 1.25, 2, 3], labels: ['a', 'b', '', 'd', 'e'] };

  it('puts the query first with "query", then neighbours nearest first, at most nside²', () => {
    const t = neighborTiles(reply, 2);
    expect(t.map((x) => x.index)).toEqual([7, 3, 9, 1]);
    expect(t.map((x) => x.distance)).toEqual(['query', '0.500', '1.25', '2.00']);
    expect(t[0].query).toBe(true);
    expect(t.slice(1).some((x) => x.query)).toBe(false);
  });

  it('moves the query to the front wherever the reply put it, keeping each tile its buffer slot', () => {
    const t = neighborTiles({ index: 9, indices: [3, 9, 1], distances: [0.1, 0, 0.2], labels: ['x', 'y', 'z'] }, 3);
    expect(t.map((x) => [x.index, x.k, x.label])).toEqual([[9, 1, 'y'], [3, 0, 'x'], [1, 2, 'z']]);
  });

  it('tolerates missing distances/labels and nside 0', () => {
    const t = neighborTiles({ index: 1, indices: [1, 2], distances: [], labels: [] }, 3);
    expect(t.map((x) => [x.distance, x.label])).toEqual([['query', ''], ['', '']]);
    expect(neighborTiles(reply, 0)).toEqual([]);
  });
});

describe('chooseThumbnails', () => {
  // Points on a dense 100x100 lattice of a 200x100 px view, 2 px apart.
  const pos = (i: number) => [(i % 100) * 2, Math.floor(i / 100)] as const;
  const all = Array.from({ length: 10000 }, (_, i) => i);

  it('keeps at most max points, spread one per cell (no two within a thumbnail)', () => {
    const chosen = chooseThumbnails(all, pos, 200, 100, 20, 1000);
    // Cells are 20 px: 10 x 5 of them, one point each.
    expect(chosen.length).toBe(50);
    for (let a = 0; a < chosen.length; a++) {
      for (let b = a + 1; b < chosen.length; b++) {
        const [pa, pb] = [pos(chosen[a]), pos(chosen[b])];
        const sameCell = Math.floor(pa[0] / 20) === Math.floor(pb[0] / 20) && Math.floor(pa[1] / 20) === Math.floor(pb[1] / 20);
        expect(sameCell).toBe(false);
      }
    }
  });

  it('uses bigger cells when max is small, and is deterministic (lowest index per cell)', () => {
    const chosen = chooseThumbnails(all, pos, 200, 100, 4, 8);
    expect(chosen.length).toBeLessThanOrEqual(8);
    expect(chosen.length).toBeGreaterThanOrEqual(4);
    expect(chosen[0]).toBe(0);
    const shuffled = [...all].reverse();
    expect(chooseThumbnails(shuffled, pos, 200, 100, 4, 8)).toEqual(chosen);
  });

  it('skips points outside the view or without a position', () => {
    const p = (i: number) => (i === 0 ? null : i === 1 ? ([-5, 10] as const) : i === 2 ? ([10, 300] as const) : ([50, 50] as const));
    expect(chooseThumbnails([0, 1, 2, 3, 4], p, 100, 100, 10, 10)).toEqual([3]);
    expect(chooseThumbnails(all, pos, 200, 100, 20, 0)).toEqual([]);
  });

  it('handles a million candidates quickly', () => {
    const n = 1_000_000;
    const cand = new Uint32Array(n).map((_, i) => i);
    const p = (i: number) => [(i * 7919) % 800, (i * 104729) % 600] as const;
    const t = performance.now();
    const chosen = chooseThumbnails(cand, p, 800, 600, 32, 500);
    expect(chosen.length).toBeGreaterThan(100);
    expect(chosen.length).toBeLessThanOrEqual(500);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});

describe('atlasCell', () => {
  it('is row-major with `columns` cells per row', () => {
    expect(atlasCell(0, 3, 16)).toEqual([0, 0]);
    expect(atlasCell(2, 3, 16)).toEqual([32, 0]);
    expect(atlasCell(4, 3, 16)).toEqual([16, 16]);
    expect(atlasCell(5, 0, 16)).toEqual([0, 80]);
  });
});

describe('pointColorCss', () => {
  const colors = [[1, 0, 0, 1], [0, 0.5, 1, 1], [0, 1, 0, 1]];
  it('indexes categories by valueA and values by valueB', () => {
    expect(pointColorCss('valueA', colors, [0, 0, 1, 0])).toBe('rgb(0, 128, 255)');
    expect(pointColorCss('valueB', colors, [0, 0, 0, 1])).toBe('rgb(0, 255, 0)');
    // The names regl-scatterplot reports back.
    expect(pointColorCss('valueZ', colors, [0, 0, 2, 0])).toBe('rgb(0, 255, 0)');
    expect(pointColorCss('valueW', colors, [0, 0, 0, 0.4])).toBe('rgb(0, 128, 255)');
    expect(pointColorCss(null, [0.2, 0.2, 0.2, 1], [0, 0, 5, 0])).toBe('rgb(51, 51, 51)');
    expect(pointColorCss('valueA', colors, undefined)).toBeNull();
  });
});

describe('affinePositions', () => {
  it('reproduces an affine screen map from three reference points', () => {
    const data = Array.from({ length: 50 }, (_, i) => [Math.cos(i) * 0.8, Math.sin(i * 1.3) * 0.5, 0, 0]);
    // Scale, flip y, translate, and a little rotation: any affine map.
    const exact = (i: number) => [300 * data[i][0] + 20 * data[i][1] + 400, -10 * data[i][0] - 250 * data[i][1] + 200] as const;
    const candidates = Array.from({ length: 50 }, (_, i) => i);
    const fast = affinePositions(data, candidates, exact);
    expect(fast).not.toBe(exact);
    for (const i of candidates) {
      expect(fast(i)![0]).toBeCloseTo(exact(i)[0], 6);
      expect(fast(i)![1]).toBeCloseTo(exact(i)[1], 6);
    }
  });

  it('falls back to the exact function for collinear or too few points', () => {
    const line = Array.from({ length: 10 }, (_, i) => [i, 2 * i]);
    const exact = (i: number) => [i, i] as const;
    expect(affinePositions(line, [0, 1, 2, 3], exact)).toBe(exact);
    expect(affinePositions(line, [0, 1], exact)).toBe(exact);
  });
});
