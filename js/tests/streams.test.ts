import { describe, expect, it } from 'vitest';
import { decodeArray } from '../src/lib/codecs';
import { collectStreams, withStreams, type StreamProgress } from '../src/lib/streams';

type Fn = (...args: unknown[]) => void;

/** A model whose kernel holds stream pieces and answers `stream` requests a tick later, as Python's
 *  StreamedState does (nbviz/widgets/streams.py). */
function kernelModel() {
  const attrs = new Map<string, unknown>();
  const handlers = new Map<string, Set<Fn>>();
  const pieces = new Map<number, Uint8Array[]>();
  const requests: Array<Record<string, unknown>> = [];
  let nextStream = 1;
  let failing = '';
  const emit = (name: string, ...args: unknown[]) => {
    for (const fn of [...(handlers.get(name) ?? [])]) fn(...args);
  };
  const model = {
    get: (key: string) => attrs.get(key),
    on(name: string, fn: Fn) {
      handlers.set(name, (handlers.get(name) ?? new Set()).add(fn));
    },
    off(name: string, fn?: Fn) {
      if (fn) handlers.get(name)?.delete(fn);
    },
    send(content: unknown) {
      const req = content as { type: string; id: number; stream: number; index: number };
      requests.push(req);
      setTimeout(() => {
        const parts = pieces.get(req.stream);
        if (failing) emit('msg:custom', { type: 'stream', id: req.id, error: failing }, []);
        else if (!parts) emit('msg:custom', { type: 'stream', id: req.id, gone: true }, []);
        else {
          const p = parts[req.index];
          emit('msg:custom', { type: 'stream', id: req.id }, [new DataView(p.buffer, p.byteOffset, p.byteLength)]);
        }
      }, 0);
    },
  };
  return {
    model,
    requests,
    fail(message: string) {
      failing = message;
    },
    /** Python pushing every piece of a stream, as StreamedState does after the placeholder. */
    push(ph: { stream: number }, key = 'points', only?: number[]) {
      const parts = pieces.get(ph.stream) ?? [];
      parts.forEach((p, index) => {
        if (only && !only.includes(index)) return;
        emit('msg:custom', { type: 'stream-piece', key, stream: ph.stream, index },
          [new DataView(p.buffer, p.byteOffset, p.byteLength)]);
      });
    },
    /** Python setting `key` to an array streamed in pieces of `piece` bytes; old streams are gone. */
    setStreamed(key: string, data: Float32Array, piece = 8) {
      const bytes = new Uint8Array(data.buffer.slice(0));
      const parts: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += piece) parts.push(bytes.subarray(i, i + piece));
      const stream = nextStream++;
      pieces.set(stream, parts);
      const ph = { dtype: 'float32', shape: [data.length], chunks: [], stream, pieces: parts.length, nbytes: bytes.length };
      this.set(key, ph);
      return ph;
    },
    set(key: string, value: unknown) {
      attrs.set(key, value);
      emit(`change:${key}`);
    },
    drop(stream: number) {
      pieces.delete(stream);
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 20));
const values = (v: unknown) => Array.from(decodeArray(v)?.data ?? []);

function wrap(k: ReturnType<typeof kernelModel>) {
  const progress: Array<StreamProgress | null> = [];
  const errors: string[] = [];
  const s = withStreams(k.model, { onProgress: (p) => progress.push(p && { ...p }), onError: (e) => errors.push(e),
    stallMs: 0 });
  return { ...s, progress, errors };
}

describe('withStreams', () => {
  it('fetches every piece, reports progress, and fires the change once the array is whole', async () => {
    const k = kernelModel();
    const s = wrap(k);
    const fired: unknown[] = [];
    s.model.on('change:points', () => fired.push(values(s.model.get('points'))));
    k.setStreamed('points', new Float32Array([1, 2, 3, 4, 5, 6, 7]));
    expect(s.model.get('points')).toBeNull(); // nothing seen yet
    await settle();
    expect(fired).toEqual([[1, 2, 3, 4, 5, 6, 7]]);
    expect(k.requests.filter((r) => r.type === 'stream').map((r) => r.index)).toEqual([0, 1, 2, 3]); // 28 bytes in pieces of 8
    const seen = s.progress.filter((p) => p !== null) as StreamProgress[];
    expect(seen[0]).toEqual({ received: 0, total: 28, keys: ['points'] });
    expect(seen.at(-1)).toEqual({ received: 28, total: 28, keys: ['points'] });
    expect(s.progress.at(-1)).toBeNull(); // the bar goes back to the trait's progress
    expect(values(s.model.get('points'))).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('hands arrays pending together to the view together', async () => {
    const k = kernelModel();
    const s = wrap(k);
    const log: string[] = [];
    s.model.on('change:points', () => log.push(`points:${values(s.model.get('categories')).length}`));
    s.model.on('change:categories', () => log.push('categories'));
    k.setStreamed('points', new Float32Array(64));
    k.setStreamed('categories', new Float32Array(32), 64);
    await settle();
    // When points fire, the categories of the same update are already readable.
    expect(log).toEqual(['points:32', 'categories']);
  });

  it('keeps what the view saw while a new value loads; a plain value applies at once', async () => {
    const k = kernelModel();
    const s = wrap(k);
    let fired = 0;
    s.model.on('change:points', () => fired++);
    k.setStreamed('points', new Float32Array([1, 2]));
    await settle();
    k.setStreamed('points', new Float32Array([3, 4]));
    expect(values(s.model.get('points'))).toEqual([1, 2]);
    expect(fired).toBe(1);
    await settle();
    expect(values(s.model.get('points'))).toEqual([3, 4]);
    k.set('points', { dtype: 'float32', shape: [1], chunks: [new DataView(new Float32Array([9]).buffer)] });
    expect(values(s.model.get('points'))).toEqual([9]);
    expect(fired).toBe(3);
  });

  it('drops a stream Python replaced mid-fetch and shows the newer one, without an error', async () => {
    const k = kernelModel();
    const s = wrap(k);
    s.model.on('change:points', () => undefined);
    const old = k.setStreamed('points', new Float32Array(16));
    k.drop(old.stream); // Python made a newer value before the view asked
    k.setStreamed('points', new Float32Array([5, 6, 7]));
    await settle();
    expect(values(s.model.get('points'))).toEqual([5, 6, 7]);
    expect(s.errors).toEqual([]);
  });

  it('fills placeholders inside lists (ArrayList traits)', async () => {
    const k = kernelModel();
    const s = wrap(k);
    s.model.on('change:layouts', () => undefined);
    const a = k.setStreamed('tmp', new Float32Array([1, 2, 3]));
    k.set('layouts', [a, { dtype: 'float32', shape: [1], chunks: [new DataView(new Float32Array([4]).buffer)] }]);
    await settle();
    expect((s.model.get('layouts') as unknown[]).map(values)).toEqual([[1, 2, 3], [4]]);
  });

  it('says which trait could not arrive, and fires no change', async () => {
    const k = kernelModel();
    const s = wrap(k);
    let fired = 0;
    s.model.on('change:points', () => fired++);
    k.fail('needs a running kernel');
    k.setStreamed('points', new Float32Array(4));
    await settle();
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatch(/Could not receive points from the kernel: needs a running kernel/);
    expect(fired).toBe(0);
    expect(s.model.get('points')).toBeNull();
    s.dispose();
  });

  it('takes the pieces Python pushes, collected before any view, without asking', async () => {
    const k = kernelModel();
    const stop = collectStreams(k.model); // anywidget's initialize
    const ph = k.setStreamed('points', new Float32Array([1, 2, 3, 4, 5]));
    k.push(ph);
    const progress: Array<StreamProgress | null> = [];
    const s = withStreams(k.model, { onProgress: (p) => progress.push(p && { ...p }), onError: () => undefined });
    const fired: unknown[] = [];
    s.model.on('change:points', () => fired.push(values(s.model.get('points'))));
    expect(s.model.get('points')).toBeNull();
    await settle();
    expect(fired).toEqual([[1, 2, 3, 4, 5]]);
    expect(k.requests.filter((r) => r.type === 'stream')).toEqual([]);
    expect(progress.filter((p) => p !== null).at(-1)).toEqual({ received: 20, total: 20, keys: ['points'] });
    stop();
    s.dispose();
  });

  it('asks for the pieces that did not come once pushes stop', async () => {
    const k = kernelModel();
    const s = withStreams(k.model, { onProgress: () => undefined, onError: () => undefined, stallMs: 30 });
    s.model.on('change:points', () => undefined);
    const ph = k.setStreamed('points', new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    s.model.get('points');
    k.push(ph, 'points', [0, 2]); // pieces 1 and 3 were lost
    await new Promise((r) => setTimeout(r, 120));
    expect(k.requests.filter((r) => r.type === 'stream').map((r) => r.index)).toEqual([1, 3]);
    expect(values(s.model.get('points'))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('keeps only the latest stream of a trait among pushed pieces', async () => {
    const k = kernelModel();
    const stop = collectStreams(k.model);
    const old = k.setStreamed('points', new Float32Array(8));
    k.push(old);
    const ph = k.setStreamed('points', new Float32Array([9, 8, 7, 6]));
    k.push(ph);
    const s = wrap(k);
    s.model.on('change:points', () => undefined);
    s.model.get('points');
    await settle();
    expect(values(s.model.get('points'))).toEqual([9, 8, 7, 6]);
    expect(k.requests.filter((r) => r.type === 'stream')).toEqual([]);
    stop();
  });

  it('tells the kernel a view is attached', () => {
    const k = kernelModel();
    wrap(k);
    expect(k.requests[0]).toMatchObject({ type: 'attach' });
  });

  it('passes other events and methods through to the model', () => {
    const k = kernelModel();
    const s = wrap(k);
    const got: unknown[] = [];
    s.model.on('msg:custom', (c) => got.push(c));
    s.model.send({ type: 'other', id: 99 });
    k.set('title', 'plain');
    expect(s.model.get('title')).toBe('plain');
    return settle().then(() => expect(got.filter((c) => (c as { id: number }).id === 99)).toHaveLength(1));
  });
});
