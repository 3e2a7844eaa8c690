// Requests and replies: the message request(type, payload) sends is the one Python's dispatch was given, and what
// NbvizWidget._dispatch_request answered (fixture written by tests/mirror/requests.py) settles the promise as Python
// meant: the reply and its buffers, or an error with Python's message.
import { describe, expect, it } from 'vitest';
import { createRequester } from '../src/lib/requests';
import { fakeModel } from './fake_comm';
import { loadFixture } from './mirror';

interface Fixture {
  calls: Array<{
    name: string;
    type: string;
    payload: Record<string, unknown>;
    request: Record<string, unknown>;
    reply: Record<string, unknown>;
    buffers: string[];
    outcome: { ok: true } | { error: string };
  }>;
}

const fx = loadFixture<Fixture>('requests');

describe('requests mirror NbvizWidget._dispatch_request', () => {
  it.each(fx.calls.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const m = fakeModel();
    const pending = createRequester(m).request(c.type, c.payload);
    expect(m.sent).toEqual([c.request]);
    const buffers = c.buffers.map((b) => {
      const bytes = Buffer.from(b, 'base64');
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
    m.reply(c.reply, buffers);
    if ('error' in c.outcome) {
      await expect(pending).rejects.toThrow(new Error(c.outcome.error));
      return;
    }
    const got = await pending;
    expect(got.content).toEqual(c.reply);
    expect(got.buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'))).toEqual(c.buffers);
  });
});
