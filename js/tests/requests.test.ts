import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRequester } from '../src/lib/requests';
import { Lru } from '../src/lib/lru';
import { fakeModel } from './fake_comm';

afterEach(() => {
  vi.useRealTimers();
});

describe('createRequester', () => {
  it('sends type, payload and incrementing ids, and resolves the reply with the same id', async () => {
    const m = fakeModel();
    const r = createRequester(m);
    const a = r.request('neighbors', { index: 3 });
    const b = r.request('item', { index: 4 });
    expect(m.sent).toEqual([
      { type: 'neighbors', index: 3, id: 1 },
      { type: 'item', index: 4, id: 2 },
    ]);
    const buf = new DataView(new Uint8Array([1, 2, 3]).buffer);
    // Out of order, plus a message that is not a reply at all.
    m.reply({ type: 'item', id: 2, label: 'x' });
    m.reply({ something: 'else' });
    m.reply({ type: 'neighbors', id: 1, indices: [3, 1] }, [buf]);
    const rb = await b;
    const ra = await a;
    expect(rb.content.label).toBe('x');
    expect(ra.content.indices).toEqual([3, 1]);
    expect(ra.buffers[0].getUint8(2)).toBe(3);
  });

  it('rejects on an {error} reply with its message', async () => {
    const m = fakeModel();
    const r = createRequester(m);
    const p = r.request('assign', { label: 'cat', indices: [] });
    m.reply({ type: 'assign', id: 1, error: 'no such index 99' });
    await expect(p).rejects.toThrow('no such index 99');
  });

  it('rejects on timeout and ignores the late reply', async () => {
    vi.useFakeTimers();
    const m = fakeModel();
    const r = createRequester(m);
    const p = r.request('thumbnails', { indices: [1], size: 16 }, 100);
    const caught = p.catch((e: Error) => e.message);
    vi.advanceTimersByTime(101);
    expect(await caught).toMatch(/no reply to thumbnails/);
    m.reply({ type: 'thumbnails', id: 1 }); // must not throw
  });

  it('dispose rejects pending requests, stops listening and refuses new ones', async () => {
    const m = fakeModel();
    const r = createRequester(m);
    const p = r.request('item', { index: 0 });
    expect(m.listenerCount).toBe(1);
    r.dispose();
    expect(m.listenerCount).toBe(0);
    await expect(p).rejects.toThrow('widget closed');
    await expect(r.request('item', { index: 1 })).rejects.toThrow('widget closed');
    expect(m.sent.length).toBe(1);
  });
});

describe('Lru', () => {
  it('evicts the least recently used and reports evictions', () => {
    const evicted: string[] = [];
    const c = new Lru<number, string>(2, (v) => evicted.push(v));
    c.set(1, 'a');
    c.set(2, 'b');
    expect(c.get(1)).toBe('a'); // 1 is now the most recent
    c.set(3, 'c');
    expect(evicted).toEqual(['b']);
    expect(c.has(2)).toBe(false);
    expect(c.peek(1)).toBe('a');
    c.set(1, 'a2'); // replacing frees the old value
    expect(evicted).toEqual(['b', 'a']);
    c.clear();
    expect(c.size).toBe(0);
    expect(evicted.sort()).toEqual(['a', 'a2', 'b', 'c']);
  });
});
