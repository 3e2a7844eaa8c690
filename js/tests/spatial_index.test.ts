import { resolveObjectURL } from 'node:buffer';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildIndex, buildIndexAsync, pointRows } from '../src/embedding_explorer/spatial_index';

/** Clustered points, rounded to a coarse grid so that many share a coordinate (as uint16 positions do). */
function points(n: number, seed = 1): { x: Float32Array; y: Float32Array } {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 7;
    x[i] = Math.round((c - 3 + (rand() - 0.5) * 0.8) * 64) / 64;
    y[i] = Math.round(((c % 3) - 1 + (rand() - 0.5) * 0.8) * 64) / 64;
  }
  return { x, y };
}

function read(buf: ArrayBuffer) {
  const n = new Uint32Array(buf, 4, 1)[0];
  const Ids = n < 65536 ? Uint16Array : Uint32Array;
  const idBytes = n * Ids.BYTES_PER_ELEMENT;
  return {
    head: Array.from(new Uint8Array(buf, 0, 2)),
    nodeSize: new Uint16Array(buf, 2, 1)[0],
    n,
    ids: new Ids(buf, 8, n),
    coords: new Float32Array(buf, 8 + idBytes + ((8 - (idBytes % 8)) % 8), 2 * n),
  };
}

/** KDBush's search invariant (see spatial_index.ts), checked on every node; returns the nodes checked. */
function checkInvariant(coords: Float32Array, n: number, nodeSize: number): number {
  const stack = [0, n - 1, 0];
  let nodes = 0;
  while (stack.length) {
    const axis = stack.pop() as number;
    const right = stack.pop() as number;
    const left = stack.pop() as number;
    if (right - left <= nodeSize) continue;
    const m = (left + right) >> 1;
    const v = coords[2 * m + axis];
    for (let i = left; i < m; i++) if (coords[2 * i + axis] > v) throw new Error(`item ${i} above node ${m}`);
    for (let i = m + 1; i <= right; i++) if (coords[2 * i + axis] < v) throw new Error(`item ${i} below node ${m}`);
    nodes++;
    stack.push(left, m - 1, 1 - axis, m + 1, right, 1 - axis);
  }
  return nodes;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('spatial index', () => {
  it.each([[70_000, 64], [5_000, 8], [1, 64], [0, 64]])('keeps the k-d invariant and every point (n=%i, node size %i)',
    (n, nodeSize) => {
      const { x, y } = points(n);
      const idx = read(buildIndex(x, y, nodeSize));
      expect(idx.head).toEqual([0xdb, 0x17]);
      expect([idx.n, idx.nodeSize]).toEqual([n, nodeSize]);
      const nodes = checkInvariant(idx.coords, n, nodeSize);
      if (n > 1000) expect(nodes).toBeGreaterThan(n / nodeSize / 2);
      const seen = new Uint8Array(n);
      let moved = 0;
      for (let i = 0; i < n; i++) {
        const id = idx.ids[i];
        seen[id]++;
        if (idx.coords[2 * i] !== x[id] || idx.coords[2 * i + 1] !== y[id]) moved++;
      }
      expect(moved).toBe(0);
      expect(seen.every((c) => c === 1)).toBe(true);
    });

  const same = (a: ArrayBuffer, b: ArrayBuffer) => {
    const u = new Uint8Array(a);
    const v = new Uint8Array(b);
    return u.length === v.length && u.every((byte, i) => byte === v[i]);
  };

  it('builds the same index in a worker', async () => {
    // A stand-in Worker that runs the blob's own source, as a browser would.
    const started: string[] = [];
    class BlobWorker {
      onmessage: ((e: { data: unknown }) => void) | null = null;
      onerror: (() => void) | null = null;
      private handler: Promise<(e: { data: unknown }) => void>;
      constructor(url: string) {
        started.push(url);
        const post = (data: unknown) => setTimeout(() => this.onmessage?.({ data }), 0);
        this.handler = (resolveObjectURL(url) as Blob).text()
          .then((code) => new Function('postMessage', `${code}\nreturn onmessage;`)(post));
      }
      postMessage(data: unknown) {
        this.handler.then((fn) => fn({ data }));
      }
      terminate() {}
    }
    vi.stubGlobal('Worker', BlobWorker);
    const { x, y } = points(250_000, 3);
    expect(same(await buildIndexAsync(x, y), buildIndex(x, y, 64))).toBe(true);
    expect(started).toHaveLength(1);
  });

  it('builds it on this thread when no worker can start', async () => {
    vi.stubGlobal('Worker', class { constructor() { throw new Error('blocked by the page policy'); } });
    const { x, y } = points(250_000, 4);
    expect(same(await buildIndexAsync(x, y), buildIndex(x, y, 64))).toBe(true);
  });

  it('puts points without a position where no search reaches, keeping the invariant for the rest', () => {
    const { x, y } = points(20_000, 5);
    for (let i = 0; i < x.length; i += 3) x[i] = NaN;
    const idx = read(buildIndex(x, y, 16));
    checkInvariant(idx.coords, x.length, 16);
    let wrong = 0;
    for (let i = 0; i < x.length; i++) {
      const want = Number.isNaN(x[idx.ids[i]]) ? Infinity : x[idx.ids[i]];
      if (idx.coords[2 * i] !== want) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('makes the rows regl-scatterplot would make from the columns', () => {
    const x = [1, 2];
    const y = [3, 4];
    expect(pointRows({ x, y })).toEqual([[1, 3], [2, 4]]);
    expect(pointRows({ x, y, valueA: [5, 6] })).toEqual([[1, 3, 5], [2, 4, 6]]);
    expect(pointRows({ x, y, valueA: [5, 6], valueB: [0.5, 0.25] })).toEqual([[1, 3, 5, 0.5], [2, 4, 6, 0.25]]);
  });
});
