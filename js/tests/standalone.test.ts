import { describe, expect, it } from 'vitest';
import { createRequester, missingKernel, NO_KERNEL } from '../src/lib/requests';
import { createStandInModel, same, type PageData } from '../src/lib/standalone';

const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

function page(): PageData {
  return {
    state: { index: 0, target: -1, heatmap: { dtype: 'uint8', shape: [2], chunks: [{ $blob: 0 }] }, error: '' },
    blobs: [b64([1, 2]), b64([3, 4]), b64([9])],
    replies: {
      neighbors: { key: 'index', table: { '3': { content: { index: 3, indices: [3, 1] }, buffers: [2, 2] } } },
      frames: { key: 'run', default: 0, table: { '0': { content: { count: 1 }, buffers: [] } } },
    },
    reactions: [{
      on: ['index', 'target'],
      table: {
        '0|-1': { heatmap: { dtype: 'uint8', shape: [2], chunks: [{ $blob: 0 }] } },
        '1|-1': { heatmap: { dtype: 'uint8', shape: [2], chunks: [{ $blob: 1 }] } },
        '1|2': { heatmap: { dtype: 'uint8', shape: [2], chunks: [{ $blob: 0 }] } },
      },
      fallback: { target: -1 },
    }],
    kernel_traits: ['layer'],
  };
}

// As the bundles do with anywidget's model: its `on` is typed for every event, the requester's for one.
const asMessageModel = (m: unknown) => m as Parameters<typeof createRequester>[0];

const bytesOf = (m: ReturnType<typeof createStandInModel>) =>
  [...new Uint8Array(((m.get('heatmap') as { chunks: DataView[] }).chunks[0]).buffer)];

describe('standalone stand-in model', () => {
  it('revives blobs and answers requests from the table, keyed and by default', async () => {
    const model = createStandInModel(page());
    expect(bytesOf(model)).toEqual([1, 2]);
    const requester = createRequester(asMessageModel(model));
    const { content, buffers } = await requester.request<{ indices: number[] }>('neighbors', { index: 3 });
    expect(content.indices).toEqual([3, 1]);
    expect(buffers.map((b) => b.getUint8(0))).toEqual([9, 9]);
    expect(buffers[0]).toBe(buffers[1]); // one blob, decoded once
    await expect(requester.request('frames', {})).resolves.toMatchObject({ content: { count: 1 } });
  });

  it('says at once that what the page does not hold needs a running kernel', async () => {
    const requester = createRequester(asMessageModel(createStandInModel(page())));
    const started = Date.now();
    await expect(requester.request('neighbors', { index: 4 })).rejects.toThrow(NO_KERNEL);
    await expect(requester.request('assign', { label: 'x' })).rejects.toThrow(NO_KERNEL);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('sets what Python would when the view changes a trait, with a fallback, and reports what needs Python', () => {
    const model = createStandInModel(page());
    const seen: string[] = [];
    model.on('change:heatmap', () => seen.push('heatmap'));
    model.set('index', 1);
    expect(seen).toEqual([]); // Python hears of it at save_changes
    model.save_changes();
    expect(bytesOf(model)).toEqual([3, 4]);
    model.set('target', 2);
    model.save_changes();
    expect(bytesOf(model)).toEqual([1, 2]);
    model.set('index', 0); // (0, 2) is not in the page: back to the predicted class
    model.save_changes();
    expect(model.get('target')).toBe(-1);
    expect(seen).toEqual(['heatmap', 'heatmap']); // (0, -1) has the bytes (1, 2) already shown: no change
    expect(model.get('error')).toBe('');
    model.set('layer', 'fc');
    model.save_changes();
    expect(String(model.get('error'))).toContain(`changing layer: ${NO_KERNEL}`);
  });

  it('compares JSON by content and binary values by identity', () => {
    const v = new DataView(new ArrayBuffer(2));
    expect(same({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(same({ chunks: [v] }, { chunks: [v] })).toBe(true);
    expect(same({ chunks: [v] }, { chunks: [new DataView(new ArrayBuffer(2))] })).toBe(false);
    expect(same([1], { 0: 1 })).toBe(false);
  });
});

describe('missingKernel', () => {
  it('knows JupyterLab without a kernel, a dead kernel and html-manager pages; trusts unknown hosts', () => {
    expect(missingKernel({ widget_manager: { kernel: null } })).not.toBe('');
    expect(missingKernel({ widget_manager: { kernel: { status: 'dead' } } })).not.toBe('');
    expect(missingKernel({ widget_manager: { kernel: { status: 'idle' } } })).toBe('');
    expect(missingKernel({ widget_manager: { renderMime: {}, loader: undefined } })).not.toBe('');
    expect(missingKernel({ widget_manager: { kernel: { status: 'busy' }, renderMime: {} } })).toBe('');
    expect(missingKernel({ widget_manager: {} })).toBe('');
    expect(missingKernel({})).toBe('');
  });

  it('rejects at once instead of waiting for the timeout, and when send throws', async () => {
    const listeners: unknown[] = [];
    const base = { on: (_: string, f: unknown) => listeners.push(f), off: () => undefined };
    const none = createRequester({ ...base, send: () => undefined, widget_manager: { kernel: null } });
    await expect(none.request('item', { index: 1 }, 60_000)).rejects.toThrow(`item: ${NO_KERNEL}`);
    const closed = createRequester({ ...base, send: () => { throw new Error('Cannot send on a closed comm'); } });
    await expect(closed.request('item', { index: 1 }, 60_000)).rejects.toThrow('closed comm');
  });
});
