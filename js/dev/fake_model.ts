// Tiny in-memory stand-in for an anywidget model, for the dev page and browser checks without Jupyter.

type Handler = (...args: unknown[]) => void;

export class FakeModel<T extends object> {
  private state: T;
  private handlers = new Map<string, Set<Handler>>();
  /** Every save_changes() call, with the state at that time (the browser checks read it). */
  saves: Array<Partial<T>> = [];
  sent: unknown[] = [];
  readonly widget_manager = {
    get_model: () => Promise.reject(new Error('FakeModel has no widget manager')),
  };

  constructor(initial: T) {
    this.state = { ...initial };
  }

  get<K extends keyof T>(key: K): T[K] {
    return this.state[key];
  }

  /** Like Backbone: fires change:<key> only when the value changes. */
  set<K extends keyof T>(key: K, value: T[K]): void {
    if (Object.is(this.state[key], value)) return;
    this.state[key] = value;
    this.emit(`change:${String(key)}`);
  }

  on(event: string, cb: Handler): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(cb);
  }

  off(event?: string | null, cb?: Handler | null): void {
    if (!event) this.handlers.clear();
    else if (!cb) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(cb);
  }

  save_changes(): void {
    this.saves.push({ ...this.state });
  }

  /** Stand-in for the Python side of custom messages: gets each send() and a way to reply. */
  responder: ((content: unknown, reply: (content: unknown, buffers?: DataView[]) => void) => void) | null = null;

  send(content: unknown): void {
    this.sent.push(content);
    this.responder?.(content, (c, buffers = []) => this.receive(c, buffers));
  }

  /** Deliver a custom message as anywidget does: msg:custom listeners get (content, buffers). */
  receive(content: unknown, buffers: DataView[] = []): void {
    for (const cb of [...(this.handlers.get('msg:custom') ?? [])]) cb(content, buffers);
  }

  listenerCount(): number {
    let c = 0;
    for (const s of this.handlers.values()) c += s.size;
    return c;
  }

  private emit(event: string): void {
    for (const cb of [...(this.handlers.get(event) ?? [])]) cb();
  }
}
