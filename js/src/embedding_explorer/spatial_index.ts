// The k-d index regl-scatterplot searches for hover, click and lasso, built here from the position columns and
// handed to draw({spatialIndex}). The library would build it on the main thread from an array per point before
// the first frame: seconds at 10M points. Past WORKER_MIN points a worker builds it after the first frame
// (points.ts).
//
// The buffer is KDBush's (v4) serialised form, which the library reads with KDBush.from: an 8-byte header (0xdb,
// version 1 << 4 | array type, node size as uint16, item count as uint32), the item ids (uint16 below 65536
// items, else uint32), padding to 8 bytes, then x, y pairs. Its searches need one invariant: in a node
// [left, right] larger than the node size, with m = (left + right) >> 1 and the axis alternating from x at the
// root, no item before m lies above item m on that axis and none after it lies below.

export const NODE_SIZE = 64;
/** Below this many points the main thread builds the index (a worker's start costs more than it saves). */
export const WORKER_MIN = 200_000;

interface Layout {
  data: ArrayBuffer;
  ids: Uint16Array | Uint32Array;
  coords: Float32Array;
}

/** The serialised index's buffer for n points, with its header written. */
function allocate(n: number, nodeSize: number): Layout {
  const Ids = n < 65536 ? Uint16Array : Uint32Array;
  const idBytes = n * Ids.BYTES_PER_ELEMENT;
  const pad = (8 - (idBytes % 8)) % 8;
  const data = new ArrayBuffer(8 + idBytes + pad + n * 8);
  const head = new Uint8Array(data, 0, 2);
  head[0] = 0xdb;
  head[1] = (1 << 4) | 7; // format version 1, coordinates as Float32Array (KDBush's array type 7)
  new Uint16Array(data, 2, 1)[0] = nodeSize;
  new Uint32Array(data, 4, 1)[0] = n;
  return { data, ids: new Ids(data, 8, n), coords: new Float32Array(data, 8 + idBytes + pad, 2 * n) };
}

/** An index of n points that finds none (all at +Infinity, trivially in k-d order): what the view searches
 *  while the real one builds. */
export function emptyIndex(n: number, nodeSize = NODE_SIZE): ArrayBuffer {
  const L = allocate(n, nodeSize);
  L.coords.fill(Infinity);
  return L.data;
}

/** The index's buffer with the points in their input order. */
function layout(x: Float32Array, y: Float32Array, nodeSize: number): Layout {
  const n = x.length;
  const { data, ids, coords } = allocate(n, nodeSize);
  // A point without a position (NaN) goes to +Infinity, where no search finds it, as none finds NaN; a NaN
  // would make every comparison false and hide half of a node from the searches.
  for (let i = 0; i < n; i++) {
    ids[i] = i;
    coords[2 * i] = x[i] === x[i] ? x[i] : Infinity;
    coords[2 * i + 1] = y[i] === y[i] ? y[i] : Infinity;
  }
  return { data, ids, coords };
}

/** Orders items [left, right] of `ids` / `c` (x, y pairs) into the k-d tree, from `axis` at its root. */
function kdSort(ids: Uint16Array | Uint32Array, c: Float32Array, nodeSize: number, left: number, right: number,
  axis: number): void {
  const swap = (i: number, j: number) => {
    const id = ids[i];
    ids[i] = ids[j];
    ids[j] = id;
    const x = c[2 * i];
    const y = c[2 * i + 1];
    c[2 * i] = c[2 * j];
    c[2 * i + 1] = c[2 * j + 1];
    c[2 * j] = x;
    c[2 * j + 1] = y;
  };
  // Floyd and Rivest's selection (CACM 1975): item k in its sorted place on axis a, none larger before it and
  // none smaller after. A sample first narrows [lo, hi] around k, so large ranges take about 1.5 passes.
  const select = (k: number, lo: number, hi: number, a: number): void => {
    while (hi > lo) {
      if (hi - lo > 600) {
        const n = hi - lo + 1;
        const m = k - lo + 1;
        const z = Math.log(n);
        const s = 0.5 * Math.exp((2 * z) / 3);
        const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
        select(k, Math.max(lo, Math.floor(k - (m * s) / n + sd)), Math.min(hi, Math.floor(k + ((n - m) * s) / n + sd)), a);
      }
      const t = c[2 * k + a];
      let i = lo;
      let j = hi;
      swap(lo, k);
      if (c[2 * hi + a] > t) swap(lo, hi);
      while (i < j) {
        swap(i, j);
        i++;
        j--;
        while (c[2 * i + a] < t) i++;
        while (c[2 * j + a] > t) j--;
      }
      if (c[2 * lo + a] === t) swap(lo, j);
      else swap(++j, hi);
      if (j <= k) lo = j + 1;
      if (k <= j) hi = j - 1;
    }
  };
  const stack = [left, right, axis];
  while (stack.length) {
    const ax = stack.pop() as number;
    const r = stack.pop() as number;
    const l = stack.pop() as number;
    if (r - l <= nodeSize) continue;
    const m = (l + r) >> 1;
    select(m, l, r, ax);
    stack.push(l, m - 1, 1 - ax, m + 1, r, 1 - ax);
  }
}

/** KDBush's serialised index of points (x[i], y[i]). With `allocate`, `layout` and `kdSort`, the worker's code. */
export function buildIndex(x: Float32Array, y: Float32Array, nodeSize: number): ArrayBuffer {
  const { data, ids, coords } = layout(x, y, nodeSize);
  kdSort(ids, coords, nodeSize, 0, x.length - 1, 0);
  return data;
}

let workerUrl: string | null = null;

/** The index, built in a worker when there are many points (here when none can start: a page whose policy
 *  forbids blob: workers). The columns are copied to it; the caller keeps them. */
export function buildIndexAsync(x: Float32Array, y: Float32Array, nodeSize = NODE_SIZE): Promise<ArrayBuffer> {
  const here = () => buildIndex(x, y, nodeSize);
  if (x.length < WORKER_MIN || typeof Worker === 'undefined') return Promise.resolve(here());
  let worker: Worker;
  try {
    // The functions' own source (minified names and all) declares them again in the worker.
    workerUrl ??= URL.createObjectURL(new Blob(
      [[allocate, layout, kdSort, buildIndex].map(String).join('\n')
        + `\nonmessage = (e) => { const b = ${buildIndex.name}(e.data.x, e.data.y, e.data.nodeSize);`
        + ' postMessage(b, [b]); };'],
      { type: 'text/javascript' }));
    worker = new Worker(workerUrl, { name: 'nbviz spatial index' });
  } catch {
    return Promise.resolve(here());
  }
  return new Promise((resolve) => {
    worker.onmessage = (e: MessageEvent<ArrayBuffer>) => {
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = () => {
      worker.terminate();
      resolve(here());
    };
    const xs = x.slice();
    const ys = y.slice();
    worker.postMessage({ x: xs, y: ys, nodeSize }, [xs.buffer, ys.buffer]);
  });
}

/** The point columns as regl-scatterplot's own conversion makes them: one [x, y(, z(, w))] array per point. */
export function pointRows(cols: { x: ArrayLike<number>; y: ArrayLike<number>; valueA?: ArrayLike<number>;
  valueB?: ArrayLike<number> }): number[][] {
  const { x, y, valueA: z, valueB: w } = cols;
  const n = x.length;
  const rows: number[][] = new Array(n);
  if (z && w) for (let i = 0; i < n; i++) rows[i] = [x[i], y[i], z[i], w[i]];
  else if (z) for (let i = 0; i < n; i++) rows[i] = [x[i], y[i], z[i]];
  else for (let i = 0; i < n; i++) rows[i] = [x[i], y[i]];
  return rows;
}
