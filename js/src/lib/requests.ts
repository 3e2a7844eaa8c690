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
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`no reply to ${type} request within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { resolve: resolve as (r: Reply) => void, reject, timer });
        model.send({ ...payload, type, id });
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
