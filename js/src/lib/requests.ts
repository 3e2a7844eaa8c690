// Request/response messages with ids over a widget's custom-message channel (mirrors NbvizWidget's
// _dispatch_request in Python). Replies carry the request's id; `{error}` replies reject.

export interface Reply<T = Record<string, unknown>> {
  content: T;
  buffers: DataView[];
}

interface MessageModel {
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
  on(name: 'msg:custom', fn: (content: unknown, buffers: DataView[]) => void): void;
  off(name: 'msg:custom', fn: (content: unknown, buffers: DataView[]) => void): void;
  widget_manager?: unknown;
}

/** What a view says when a request needs Python and no kernel can answer (an exported page, a notebook opened
 *  without its kernel): at once, instead of after the timeout. */
export const NO_KERNEL = 'needs a running kernel';

/** Why no kernel can answer this model's requests, or '' when one may (or the host is unknown).
 *
 *  Detected: a widget manager with an empty or dead `kernel` (JupyterLab / Notebook 7 with "No Kernel", a kernel
 *  that died) and @jupyter-widgets/html-manager with no kernel (nbconvert / "embed widgets" pages: state only).
 *  A comm that closed is seen when `send` throws. Not detected: widgets restored from a notebook's saved state
 *  while a new kernel runs (their comm is gone but the manager has a kernel): those requests still time out. */
export function missingKernel(model: { widget_manager?: unknown }): string {
  const wm = model.widget_manager;
  if (!wm || typeof wm !== 'object') return '';
  if ('kernel' in wm) {
    const kernel = (wm as { kernel?: { status?: string; isDisposed?: boolean } | null }).kernel;
    if (kernel == null) return 'no kernel is connected';
    return kernel.status === 'dead' || kernel.isDisposed ? 'the kernel is not running' : '';
  }
  // html-manager (its `renderMime`; JupyterLab's manager has `rendermime` and a `kernel`): a page with no backend.
  return 'renderMime' in wm ? 'this page has no kernel' : '';
}

export interface Requester {
  request<T = Record<string, unknown>>(type: string, payload: Record<string, unknown>, timeoutMs?: number): Promise<Reply<T>>;
  dispose(): void;
}

export function createRequester(model: MessageModel): Requester {
  let nextId = 1;
  let disposed = false;
  const waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  const onMessage = (content: unknown, buffers: DataView[]) => {
    const msg = content as { id?: number; error?: string };
    const entry = typeof msg?.id === 'number' ? waiting.get(msg.id) : undefined;
    if (!entry) return; // not ours, or a reply that came after its timeout
    waiting.delete(msg.id as number);
    clearTimeout(entry.timer);
    if (msg.error) entry.reject(new Error(msg.error));
    else entry.resolve({ content: content as Record<string, unknown>, buffers: buffers ?? [] });
  };
  model.on('msg:custom', onMessage);
  return {
    request<T>(type: string, payload: Record<string, unknown>, timeoutMs = 15000): Promise<Reply<T>> {
      const id = nextId++;
      return new Promise<Reply<T>>((resolve, reject) => {
        if (disposed) {
          reject(new Error('widget closed'));
          return;
        }
        const why = missingKernel(model);
        if (why) {
          reject(new Error(`${type}: ${NO_KERNEL} (${why})`));
          return;
        }
        const timer = setTimeout(() => {
          waiting.delete(id);
          // The kernel may be busy with a long cell, or not know this view at all: a view restored from a notebook's
          // saved widget state has no comm, and its messages go nowhere without a word.
          reject(new Error(`no reply to ${type} request within ${timeoutMs} ms: the kernel is busy, or this view \
was restored from the saved notebook (run its cell again)`));
        }, timeoutMs);
        waiting.set(id, { resolve: resolve as (r: Reply) => void, reject, timer });
        try {
          model.send({ ...payload, type, id });
        } catch (err) {
          // A closed comm (the kernel restarted or shut down) throws on send.
          waiting.delete(id);
          clearTimeout(timer);
          reject(new Error(`${type}: ${NO_KERNEL} (${err instanceof Error ? err.message : String(err)})`));
        }
      });
    },
    dispose() {
      disposed = true;
      model.off('msg:custom', onMessage);
      for (const { timer, reject } of waiting.values()) {
        clearTimeout(timer);
        reject(new Error('widget closed'));
      }
      waiting.clear();
    },
  };
}

/** An object URL for a PNG buffer; the caller revokes it. */
export function pngUrl(buf: DataView): string {
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return URL.createObjectURL(new Blob([bytes.slice()], { type: 'image/png' }));
}
