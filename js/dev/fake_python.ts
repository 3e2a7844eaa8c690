// The dev page's stand-in for the Python side of EmbeddingExplorer's requests (protocol.ts): kNN on the 2-D
// points, small generated PNG images, an annotation store. Slow on purpose (`latency`) so stale replies happen.

import type { ExplorerTraits } from '../src/embedding_explorer/protocol';
import type { FakeModel } from './fake_model';

const TAB10 = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];
const IMG = 8; // 8x8 like sklearn's digits, to check pixelated rendering

/** Item i's image: its class colour and an 8x8 bit pattern from its index, into ctx at (x, y), `px` per cell. */
function paintItem(ctx: CanvasRenderingContext2D, i: number, cls: number, x: number, y: number, px: number) {
  const [r, g, b] = TAB10[cls % 10];
  ctx.fillStyle = `rgb(${r >> 2}, ${g >> 2}, ${b >> 2})`;
  ctx.fillRect(x, y, IMG * px, IMG * px);
  ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
  let h = (i + 1) * 2654435761;
  for (let row = 1; row < IMG - 1; row++) {
    for (let col = 1; col < IMG / 2; col++) {
      h = (h ^ (h >>> 13)) * 1274126177;
      if ((h >>> 7) & 1) {
        // Mirrored, so each image looks like a glyph rather than noise.
        ctx.fillRect(x + col * px, y + row * px, px, px);
        ctx.fillRect(x + (IMG - 1 - col) * px, y + row * px, px, px);
      }
    }
  }
}

async function toPng(canvas: HTMLCanvasElement): Promise<DataView> {
  const blob = await new Promise<Blob>((ok, fail) => canvas.toBlob((b) => (b ? ok(b) : fail(new Error('toBlob'))), 'image/png'));
  return new DataView(await blob.arrayBuffer());
}

function canvas2d(w: number, h: number) {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  return { c, ctx };
}

export interface FakePythonOptions {
  xy: Float32Array;
  cats: Uint8Array;
  names: string[];
  latency?: number;
  /** Request types answered with an error, to see the error paths. */
  fail?: string[];
}

export function installFakePython(model: FakeModel<ExplorerTraits>, opts: FakePythonOptions): void {
  const n = opts.cats.length;
  const annotations = new Map<number, string>();
  const labelOf = (i: number) => annotations.get(i) ?? opts.names[opts.cats[i]] ?? '';
  const image = async (i: number) => {
    const { c, ctx } = canvas2d(IMG, IMG);
    paintItem(ctx, i, opts.cats[i], 0, 0, 1);
    return toPng(c);
  };

  const answer = async (msg: Record<string, unknown>): Promise<[Record<string, unknown>, DataView[]]> => {
    const { type, id } = msg as { type: string; id: number };
    if (opts.fail?.includes(type)) throw new Error(`fake Python: ${type} failed on purpose`);
    const check = (i: unknown) => {
      if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= n) throw new Error(`index ${i} out of range [0, ${n})`);
      return i as number;
    };
    const images = Boolean(model.get('has_images'));
    if (type === 'neighbors') {
      const q = check(msg.index);
      const k = Math.min(n, Math.max(1, model.get('nside')) ** 2);
      const d = Array.from({ length: n }, (_, j) => [Math.hypot(opts.xy[2 * j] - opts.xy[2 * q], opts.xy[2 * j + 1] - opts.xy[2 * q + 1]), j]);
      d.sort((a, b) => a[0] - b[0] || (a[1] === q ? -1 : b[1] === q ? 1 : a[1] - b[1]));
      const top = d.slice(0, k);
      return [
        { type, id, index: q, indices: top.map((t) => t[1]), distances: top.map((t) => t[0]), labels: top.map((t) => labelOf(t[1])) },
        images ? await Promise.all(top.map((t) => image(t[1]))) : [],
      ];
    }
    if (type === 'item') {
      const i = check(msg.index);
      const metadata = { class: opts.names[opts.cats[i]] ?? '', x: opts.xy[2 * i].toFixed(1), note: '<i>not italic</i>' };
      return [{ type, id, index: i, label: labelOf(i), metadata }, images ? [await image(i)] : []];
    }
    if (type === 'thumbnails') {
      const indices = (msg.indices as number[]).map(check);
      const size = Number(msg.size);
      const columns = Math.max(1, Math.ceil(Math.sqrt(indices.length)));
      const { c, ctx } = canvas2d(columns * size, Math.ceil(indices.length / columns) * size);
      indices.forEach((i, k) => paintItem(ctx, i, opts.cats[i], (k % columns) * size, Math.floor(k / columns) * size, size / IMG));
      return [{ type, id, indices, size, columns }, [await toPng(c)]];
    }
    if (type === 'assign') {
      const label = String(msg.label ?? '');
      if (!label) throw new Error('label must be a non-empty string');
      const indices = (msg.indices as number[]).map(check);
      indices.forEach((i) => annotations.set(i, label));
      const counts: Record<string, number> = {};
      for (const l of annotations.values()) counts[l] = (counts[l] ?? 0) + 1;
      model.set('annotation_counts', counts);
      if (!model.get('label_options').includes(label)) model.set('label_options', [...model.get('label_options'), label]);
      return [{ type, id, label, count: indices.length }, []];
    }
    throw new Error(`unknown request type ${JSON.stringify(type)}`);
  };

  model.responder = (content, reply) => {
    const msg = content as Record<string, unknown>;
    const wait = new Promise((ok) => setTimeout(ok, opts.latency ?? 30));
    void wait
      .then(() => answer(msg))
      .then(([c, b]) => reply(c, b))
      .catch((err: Error) => reply({ type: msg.type, id: msg.id, error: err.message }));
  };
}
