// A stand-in for an anywidget model's custom-message channel, for request tests.

/** Just enough of an anywidget model: records sends, delivers msg:custom to listeners. */
export function fakeModel() {
  const listeners = new Set<(c: unknown, b: DataView[]) => void>();
  return {
    sent: [] as Array<Record<string, unknown>>,
    send(content: unknown) {
      this.sent.push(content as Record<string, unknown>);
    },
    on(_: 'msg:custom', fn: (c: unknown, b: DataView[]) => void) {
      listeners.add(fn);
    },
    off(_: 'msg:custom', fn: (c: unknown, b: DataView[]) => void) {
      listeners.delete(fn);
    },
    reply(content: unknown, buffers: DataView[] = []) {
      for (const fn of [...listeners]) fn(content, buffers);
    },
    get listenerCount() {
      return listeners.size;
    },
  };
}
