// Arrays Python streams rather than sends in one message (nbviz/widgets/streams.py): a trait's value arrives as
// a placeholder {dtype, shape, stream, pieces, nbytes, chunks: []} and its pieces follow, one message each
// (collected from the model's `initialize` on, before any view exists); this model wrapper assembles them,
// asks for any still missing once they stop coming (one request a piece, a few in flight) and reports progress.
// Until every array pending on the model has arrived, `get` returns what the view last saw and no `change:`
// fires; then the changes fire together, so the view never sees new positions with old categories.

import { createRequester } from './requests';

type Listener = (...args: unknown[]) => void;

interface Placeholder {
  stream: number;
  pieces: number;
  nbytes: number;
  chunks: unknown[];
  [field: string]: unknown;
}

/** The model surface the wrapper needs (anywidget's model has it). */
export interface StreamModel {
  get(key: string): unknown;
  on(name: string, fn: Listener): void;
  off(name: string, fn?: Listener): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
  widget_manager?: unknown;
}

export interface StreamProgress {
  received: number;
  total: number;
  keys: string[];
}

export interface StreamOptions {
  onProgress(progress: StreamProgress | null): void;
  onError(message: string): void;
  /** Piece requests in flight at once. */
  window?: number;
  /** How long pushes may stop before the missing pieces are asked for (default STALL_MS). */
  stallMs?: number;
}

/** Python's answer for a stream a newer value replaced. */
const GONE = new Error('stream replaced');

const isPlaceholder = (v: unknown): v is Placeholder =>
  !!v && typeof v === 'object' && typeof (v as Placeholder).stream === 'number' && Array.isArray((v as Placeholder).chunks);

/** Pieces Python pushed, by widget manager (one kernel's models) and stream id, until a view takes them. */
const pushed = new WeakMap<object, Map<number, Map<number, DataView>>>();
const NO_MANAGER = {};
/** Called whenever a piece arrives. */
const arrivals = new Set<() => void>();
/** Once pushes stop for this long, a view asks for the pieces it still lacks. */
export const STALL_MS = 1500;

function piecesOf(model: StreamModel, stream: number): Map<number, DataView> {
  const key = (model.widget_manager as object | undefined) ?? NO_MANAGER;
  const byStream = pushed.get(key) ?? pushed.set(key, new Map()).get(key)!;
  return byStream.get(stream) ?? byStream.set(stream, new Map()).get(stream)!;
}

function forgetPieces(model: StreamModel, stream: number): void {
  pushed.get((model.widget_manager as object | undefined) ?? NO_MANAGER)?.delete(stream);
}

/** Keeps the pieces Python pushes to this model (from anywidget's `initialize`, which runs before the model
 *  receives any message). Returns the function that stops it. */
export function collectStreams(model: StreamModel): () => void {
  const latest = new Map<string, number>(); // per trait, the stream whose pieces are kept
  const onMessage: Listener = (content, buffers) => {
    const msg = content as { type?: string; key?: unknown; stream?: unknown; index?: unknown };
    const piece = (buffers as DataView[] | undefined)?.[0];
    if (msg?.type !== 'stream-piece' || typeof msg.stream !== 'number' || typeof msg.index !== 'number' || !piece) return;
    const key = String(msg.key);
    const older = latest.get(key);
    if (older !== undefined && older !== msg.stream) forgetPieces(model, older); // a newer value replaced it
    latest.set(key, msg.stream);
    piecesOf(model, msg.stream).set(msg.index, piece);
    for (const fn of [...arrivals]) fn();
  };
  model.on('msg:custom', onMessage);
  return () => model.off('msg:custom', onMessage);
}

/** The placeholders in a trait's value: the value itself, or items of a list (ArrayList). */
export function placeholders(value: unknown): Placeholder[] {
  if (isPlaceholder(value)) return [value];
  return Array.isArray(value) ? value.flatMap(placeholders) : [];
}

/** The value with each placeholder's pieces in place of its `chunks`: the wire array Python would have sent. */
function filled(value: unknown, got: Map<number, DataView[]>): unknown {
  if (isPlaceholder(value)) {
    const { stream, pieces: _p, nbytes: _n, ...rest } = value;
    return { ...rest, chunks: got.get(stream) ?? [] };
  }
  return Array.isArray(value) ? value.map((v) => filled(v, got)) : value;
}

export function withStreams<M extends StreamModel>(model: M, opts: StreamOptions): { model: M; dispose(): void } {
  const requester = createRequester(model as unknown as Parameters<typeof createRequester>[0]);
  const stopCollecting = collectStreams(model); // where no `initialize` did (a host without it)
  const inFlight = Math.max(1, opts.window ?? 3);
  const listeners = new Map<string, Set<Listener>>(); // per changed key, the view's handlers
  const rawHandlers = new Map<string, Listener>();
  const seen = new Map<string, { raw: unknown; value: unknown }>(); // streamed keys: the placeholder and its data
  const loading = new Map<string, unknown>(); // key -> placeholder value being fetched
  const done = new Map<string, unknown>(); // fetched, waiting for the rest of the batch
  let received = 0;
  let total = 0;
  let disposed = false;

  // Tells the kernel a view is here, so it streams later large values (none before: see streams.py).
  requester.request('attach', {}).catch(() => undefined);

  const report = () => opts.onProgress(loading.size ? { received, total, keys: [...loading.keys()] } : null);
  const fire = (key: string) => {
    for (const fn of [...(listeners.get(key) ?? [])]) fn();
  };
  /** Hands the batch to the view once nothing is loading any more. */
  const settle = () => {
    if (disposed || [...loading.keys()].some((k) => !done.has(k))) return;
    const keys = [...loading.keys()]; // in the order the values came, as the model would have fired them
    for (const key of keys) seen.set(key, { raw: loading.get(key), value: done.get(key) });
    loading.clear();
    done.clear();
    received = total = 0;
    report();
    for (const key of keys) fire(key);
  };

  const fetchStream = async (p: Placeholder, got: Map<number, DataView[]>) => {
    const parts: DataView[] = new Array(p.pieces);
    const arrived = piecesOf(model, p.stream);
    const take = (i: number, piece: DataView) => {
      parts[i] = piece;
      received += piece.byteLength;
    };
    const missing = () => [...parts.keys()].filter((i) => !parts[i]);
    // Pushed pieces: take them as they come, until all are here or none has come for STALL_MS.
    for (;;) {
      for (const i of missing()) if (arrived.has(i)) take(i, arrived.get(i) as DataView);
      if (!disposed) report();
      if (!missing().length || disposed) break;
      const more = await new Promise<boolean>((resolve) => {
        const finish = (value: boolean) => {
          clearTimeout(timer);
          arrivals.delete(onArrival);
          resolve(value);
        };
        const onArrival = () => finish(true);
        const timer = setTimeout(() => finish(false), opts.stallMs ?? STALL_MS);
        arrivals.add(onArrival);
      });
      if (!more) break;
    }
    forgetPieces(model, p.stream);
    // The rest, asked for.
    const rest = missing();
    for (let start = 0; start < rest.length && !disposed; start += inFlight) {
      await Promise.all(rest.slice(start, start + inFlight).map((i) =>
        requester.request('stream', { stream: p.stream, index: i }, 60000).then((reply) => {
          if (reply.content.gone) throw GONE;
          const piece = reply.buffers[0];
          if (!piece) throw new Error(`piece ${i} of stream ${p.stream} came without its bytes`);
          take(i, piece);
          if (!disposed) report();
        })));
    }
    if (!disposed) got.set(p.stream, parts);
  };

  const load = (key: string, raw: unknown) => {
    loading.set(key, raw);
    done.delete(key);
    const streams = placeholders(raw);
    total += streams.reduce((a, p) => a + p.nbytes, 0);
    report();
    const got = new Map<number, DataView[]>();
    Promise.all(streams.map((p) => fetchStream(p, got))).then(
      () => {
        if (loading.get(key) !== raw) return; // a newer value took over
        done.set(key, filled(raw, got));
        settle();
      },
      (err) => {
        // Gone: a newer value replaced it in Python, and its update (on its way) starts a fresh fetch.
        if (err === GONE || disposed || loading.get(key) !== raw) return;
        loading.delete(key);
        opts.onError(`Could not receive ${key} from the kernel: ${err instanceof Error ? err.message : String(err)}. ` +
          'Large arrays are fetched from a running kernel; run the cell again.');
        settle();
      },
    );
  };

  /** Whether `raw` (the model's value of `key`) still has to be fetched; starts fetching it if so. */
  const pending = (key: string, raw: unknown): boolean => {
    if (placeholders(raw).length === 0) return false;
    if (seen.get(key)?.raw !== raw && loading.get(key) !== raw) load(key, raw);
    return seen.get(key)?.raw !== raw;
  };

  const get = (key: string): unknown => {
    const raw = model.get(key);
    if (!pending(key, raw)) return seen.get(key)?.raw === raw ? seen.get(key)?.value : raw;
    return seen.get(key)?.value ?? null; // what the view last saw (null the first time)
  };

  const watch = (key: string) => {
    if (rawHandlers.has(key)) return;
    const onRaw = () => {
      const raw = model.get(key);
      if (pending(key, raw)) return; // fires when its batch has arrived
      if (loading.delete(key)) settle(); // a plain value replaced one still loading
      if (placeholders(raw).length === 0) seen.delete(key);
      fire(key);
    };
    rawHandlers.set(key, onRaw);
    model.on(`change:${key}`, onRaw);
  };

  const wrapped = new Proxy(model, {
    get(target, prop, receiver) {
      if (prop === 'get') return get;
      if (prop === 'on' || prop === 'off') {
        return (name: string, fn: Listener) => {
          const key = name.startsWith('change:') ? name.slice(7) : null;
          if (key === null) return prop === 'on' ? target.on(name, fn) : target.off(name, fn);
          if (prop === 'on') {
            watch(key);
            listeners.set(key, (listeners.get(key) ?? new Set()).add(fn));
          } else listeners.get(key)?.delete(fn);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

  return {
    model: wrapped,
    dispose() {
      disposed = true;
      requester.dispose();
      stopCollecting();
      for (const [key, fn] of rawHandlers) model.off(`change:${key}`, fn);
      rawHandlers.clear();
      listeners.clear();
    },
  };
}
