// The recorded frames of one recorder (`run`: its panel, 0 without compare mode), shared by all views of a
// model: read from the `stored_frames` trait (the persisted copy: a saved notebook or an HTML page paints from it
// with no kernel), pushed by Python as they are stored, and pulled (request `frames`) for those a view missed.
// All three are frames messages, decoded by decodeFrames. Append-only; a frame is never sent twice to a store.

import type { AnyModel } from '@anywidget/types';
import { asBytes } from '../lib/codecs';
import { createRequester, type Requester } from '../lib/requests';
import type { FramesMessage, PlayerTraits, StoredFrames } from './protocol';

export interface Frame {
  /** rows x cols x C uint8 probabilities. */
  map: Uint8Array;
  /** Predicted class of each training point, and of each test point (empty without test points). */
  preds: Uint8Array | Uint16Array;
  testPreds: Uint8Array | Uint16Array;
}

export interface FrameStore {
  frames: Frame[];
  /** Frame requests sent so far (tests check that a mode switch asks Python for nothing). */
  requests: number;
  subscribe(fn: () => void): () => void;
  dispose(): void;
}

const EMPTY = new Uint8Array(0);

type Buffer = DataView | ArrayBuffer | ArrayBufferView;

function predsOf(buf: Buffer | undefined, dtype: string): Uint8Array | Uint16Array {
  if (!buf) return EMPTY;
  const bytes = asBytes(buf);
  // Copied for uint16: a typed array view needs an aligned offset, which a message buffer does not promise.
  return dtype === 'uint16' ? new Uint16Array(bytes.slice().buffer) : bytes;
}

/** A map from its chunks: a view of the one chunk, else the chunks joined. */
function mapOf(chunks: Buffer[]): Uint8Array {
  if (chunks.length === 1) return asBytes(chunks[0]);
  const parts = chunks.map(asBytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Split one frames message (a push, a reply or the `stored_frames` copy) into frames. `perFrame`: buffers per frame
 * with one-chunk maps (map, preds[, test preds]); a map in `msg.map_chunks` chunks takes that many.
 */
export function decodeFrames(msg: FramesMessage, buffers: Buffer[], perFrame: number): Frame[] {
  const chunks = Math.max(1, Number(msg.map_chunks ?? 1));
  const per = perFrame - 1 + chunks;
  if (buffers.length !== msg.count * per) {
    throw new RangeError(`frames message has ${buffers.length} buffers; ${msg.count} frames need ${msg.count * per}`);
  }
  const out: Frame[] = [];
  for (let k = 0; k < msg.count; k++) {
    const at = k * per;
    out.push({
      map: mapOf(buffers.slice(at, at + chunks)),
      preds: predsOf(buffers[at + chunks], msg.pred_dtype),
      testPreds: perFrame > 2 ? predsOf(buffers[at + chunks + 1], msg.pred_dtype) : EMPTY,
    });
  }
  return out;
}

interface ModelStores {
  /** One requester per model: request ids are counted per requester, so two would answer each other's replies. */
  requester: Requester;
  runs: Map<number, FrameStore>;
}

const STORES = new WeakMap<object, ModelStores>();

export function frameStore(model: AnyModel<PlayerTraits>, run = 0): FrameStore {
  let shared = STORES.get(model);
  if (!shared) {
    shared = { requester: createRequester(model as unknown as Parameters<typeof createRequester>[0]), runs: new Map() };
    STORES.set(model, shared);
  }
  const { requester, runs: stores } = shared;
  const known = stores.get(run);
  if (known) return known;
  const listeners = new Set<() => void>();
  // Frames Python has stored for this run: the length of its epoch list.
  const stored = () => Number(model.get('run_epochs')?.[run]?.length ?? 0);
  const perFrame = () => (model.get('test_points') ? 3 : 2);
  let pulling = false;
  const store: FrameStore = {
    frames: [],
    requests: 0,
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    dispose() {
      model.off('msg:custom', onPush);
      model.off('change:run_epochs', pull);
      model.off('change:stored_frames', fromState);
      stores.delete(run);
      if (!stores.size) {
        requester.dispose();
        STORES.delete(model);
      }
    },
  };
  const add = (msg: FramesMessage, buffers: Buffer[]) => {
    // Only this run's next frames in order are taken; anything else is pulled again from where the store stands.
    if ((msg.run ?? 0) !== run) return;
    if (msg.start > store.frames.length) {
      pull();
      return;
    }
    const fresh = decodeFrames(msg, buffers, perFrame()).slice(store.frames.length - msg.start);
    if (!fresh.length) return;
    store.frames.push(...fresh);
    listeners.forEach((fn) => fn());
  };
  function onPush(content: unknown, buffers: DataView[]) {
    const msg = content as FramesMessage;
    if (msg?.type === 'frames' && msg.id === undefined) add(msg, buffers);
  }
  async function pull() {
    if (pulling) return;
    pulling = true;
    try {
      while (store.frames.length < stored()) {
        store.requests++;
        const { content, buffers } = await requester.request<FramesMessage>('frames', { start: store.frames.length, run });
        const before = store.frames.length;
        add(content, buffers);
        if (store.frames.length === before) break;
      }
    } catch {
      // The error reply is shown by the banner (Python sets `error`); a later push or run_epochs change retries.
    } finally {
      pulling = false;
    }
  }
  function fromState() {
    const copy = (model.get('stored_frames') as StoredFrames[] | undefined)?.[run];
    if (copy && Array.isArray(copy.buffers)) add(copy, copy.buffers);
  }
  model.on('msg:custom', onPush);
  model.on('change:run_epochs', pull);
  model.on('change:stored_frames', fromState);
  stores.set(run, store);
  fromState(); // before pulling: with the copy complete, nothing is asked of a kernel that may not be there
  void pull();
  return store;
}
