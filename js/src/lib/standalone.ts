// The stand-in for the Jupyter widget model in a standalone HTML page (nbviz/widgets/html_page.py writes the data):
// the widget's state, the replies Python would give to its requests and the traits Python would set when the
// view changes one are all in the page, so the view runs with no kernel and no network. Built on its own into
// nbviz/static/standalone.js and inlined into every page.

import { NO_KERNEL } from './requests';

/** A binary value in the page: an index into `PageData.blobs`. */
export interface BlobRef {
  $blob: number;
}

/** A precomputed reply; `buffers` index into `PageData.blobs`. */
export interface PageReply {
  content: Record<string, unknown>;
  buffers: number[];
}

/** The replies to one request type, by the values of the traits `state` and of the request field `key` (null: no
 *  field), joined by "|". */
export interface ReplyTable {
  key: string | null;
  default?: unknown;
  state?: string[];
  table: Record<string, PageReply>;
  /** Said when the table has no reply for a request (default: "needs a running kernel"). */
  missing?: string;
}

/** What Python sets when the view changes one of `on`: `table[key]`, key = the values of `on` joined by "|".
 *  With no entry, `fallback` is applied (as if the view had set it) and the lookup tried once more. */
export interface Reaction {
  on: string[];
  table: Record<string, Record<string, unknown>>;
  fallback?: Record<string, unknown>;
}

export interface PageData {
  state: Record<string, unknown>;
  /** base64 binary values, shared by state, replies and reactions (equal values are stored once). */
  blobs: string[];
  replies: Record<string, ReplyTable>;
  reactions: Reaction[];
  /** Traits only Python acts on (a layer to recompute): changing one in the page says it needs a kernel. */
  kernel_traits: string[];
}

type Listener = (...args: unknown[]) => void;

export interface StandInModel {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  on(name: string, fn: Listener): void;
  off(name?: string | null, fn?: Listener | null): void;
  save_changes(): void;
  send(content: unknown, callbacks?: unknown, buffers?: unknown): void;
  widget_manager: Record<string, never>;
}

const isBlobRef = (v: unknown): v is BlobRef =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as BlobRef).$blob === 'number';

/** Backbone fires a change only for a different value: JSON values compare by content, binary ones by identity
 *  (equal blobs revive to the same DataView). */
export function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length &&
    ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function createStandInModel(data: PageData): StandInModel {
  const decoded = new Map<number, DataView>();
  // Decoded on first use: a page may carry thousands of images of which a visit shows a few.
  const blob = (k: number): DataView => {
    let view = decoded.get(k);
    if (!view) {
      const text = atob(data.blobs[k] ?? '');
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      view = new DataView(bytes.buffer);
      decoded.set(k, view);
    }
    return view;
  };
  const revive = (v: unknown): unknown => {
    if (isBlobRef(v)) return blob(v.$blob);
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
    return v;
  };

  const state: Record<string, unknown> = revive(data.state) as Record<string, unknown>;
  const listeners = new Map<string, Listener[]>();
  const emit = (name: string, ...args: unknown[]) => {
    for (const fn of [...(listeners.get(name) ?? [])]) fn(...args);
  };
  let pending = new Set<string>();
  const assign = (name: string, value: unknown): boolean => {
    if (same(state[name], value)) return false;
    state[name] = value;
    emit(`change:${name}`, model, value);
    return true;
  };
  const reactionKey = (r: Reaction) => r.on.map((k) => String(state[k])).join('|');
  // What Python would do on receiving the view's changes: set the traits it derives, or say it is not there.
  const react = (changed: Set<string>) => {
    const problems: string[] = [];
    for (const r of data.reactions ?? []) {
      if (!r.on.some((k) => changed.has(k))) continue;
      let entry = r.table[reactionKey(r)];
      if (!entry && r.fallback) {
        for (const [k, v] of Object.entries(r.fallback)) assign(k, v);
        entry = r.table[reactionKey(r)];
      }
      if (entry) for (const [k, v] of Object.entries(entry)) assign(k, revive(v));
      else problems.push(r.on.map((k) => `${k} = ${JSON.stringify(state[k])}`).join(', '));
    }
    for (const k of data.kernel_traits ?? []) if (changed.has(k)) problems.push(`changing ${k}`);
    if (problems.length) {
      assign('error', `${problems.join('; ')}: ${NO_KERNEL} (this page was saved without one)`);
    }
  };

  const model: StandInModel = {
    get: (name) => state[name],
    set(name, value) {
      if (assign(name, value)) pending.add(name);
    },
    on(name, fn) {
      listeners.set(name, [...(listeners.get(name) ?? []), fn]);
    },
    off(name, fn) {
      if (!name) {
        listeners.clear();
        return;
      }
      listeners.set(name, fn ? (listeners.get(name) ?? []).filter((g) => g !== fn) : []);
    },
    save_changes() {
      const changed = pending;
      pending = new Set();
      if (changed.size) react(changed);
    },
    send(content) {
      const msg = (content ?? {}) as Record<string, unknown>;
      const type = String(msg.type);
      const replies = data.replies?.[type];
      const parts = (replies?.state ?? []).map((k) => state[k]);
      if (replies && replies.key !== null) parts.push(msg[replies.key] ?? replies.default);
      const key = parts.map(String).join('|');
      const entry = replies?.table[key];
      const reply = entry
        ? { ...entry.content, type, id: msg.id }
        : { type, id: msg.id, error: `${type}: ${replies?.missing ?? `${NO_KERNEL} (this page was saved without one)`}` };
      const buffers = entry ? entry.buffers.map(blob) : [];
      // Asynchronous, as a kernel's reply is.
      setTimeout(() => emit('msg:custom', reply, buffers), 0);
    },
    widget_manager: {},
  };
  return model;
}

interface WidgetModule {
  initialize?: (ctx: { model: StandInModel }) => unknown;
  render: (ctx: { model: StandInModel; el: HTMLElement }) => unknown;
}

/** Run the widget bundle at `bundleUrl` on the page's data inside `el`; returns the stand-in model. */
export async function mount(data: PageData, bundleUrl: string, el: HTMLElement): Promise<StandInModel> {
  const model = createStandInModel(data);
  const mod = ((await import(/* @vite-ignore */ bundleUrl)) as { default: WidgetModule }).default;
  if (mod.initialize) await mod.initialize({ model });
  await mod.render({ model, el });
  return model;
}
