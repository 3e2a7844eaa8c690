// The array wire format: what nbviz/widgets/arrays.py sends (fixture written by tests/mirror/codecs.py) is what
// decodeArray reads, encodeArray writes the same bytes for the same values, and both refuse the same messages.
import { describe, expect, it } from 'vitest';
import { CTORS, decodeArray, encodeArray, type WireDtype } from '../src/lib/codecs';
import { loadFixture, num } from './mirror';

interface Wire {
  dtype: string;
  shape: number[];
  chunks: string[];
}

interface Fixture {
  arrays: Array<{ name: string; input_dtype: string; chunk_bytes: number; wire: Wire; values: Array<number | string> }>;
  rejected: Array<{ name: string; wire: Partial<Wire> & { bounds?: number[] }; python_error: string }>;
  positions: Array<{ name: string; wire: Wire & { bounds: number[] }; values: Array<number | string> }>;
  codes: Array<{ name: string; wire: Wire & { packed: number }; values: number[] }>;
}

const fx = loadFixture<Fixture>('codecs');

/** A chunk as ipywidgets may deliver it: a view one byte into a bigger buffer (not aligned to its elements). */
function received(b64: string): DataView {
  const bytes = Buffer.from(b64, 'base64');
  const raw = new Uint8Array(bytes.length + 1);
  raw.set(bytes, 1);
  return new DataView(raw.buffer, 1, bytes.length);
}

function base64(view: ArrayBufferView | ArrayBuffer): string {
  return (view instanceof ArrayBuffer ? Buffer.from(view) : Buffer.from(view.buffer, view.byteOffset, view.byteLength))
    .toString('base64');
}

describe('arrays mirror nbviz.widgets.arrays', () => {
  it.each(fx.arrays.map((c) => [c.name, c] as const))('Python -> decodeArray: %s', (_name, c) => {
    const delivered: Array<(b64: string) => ArrayBufferView> = [received, (b) => Buffer.from(b, 'base64')];
    for (const deliver of delivered) {
      const back = decodeArray({ ...c.wire, chunks: c.wire.chunks.map(deliver) })!;
      expect(back.shape).toEqual(c.wire.shape);
      expect(back.data).toBeInstanceOf(CTORS[c.wire.dtype as WireDtype]);
      // Object.is tells -0 from 0 and NaN from NaN.
      const want = c.values.map(num);
      expect(back.data.length).toBe(want.length);
      want.forEach((v, i) => expect(Object.is(back.data[i], v), `${c.name}[${i}]: ${back.data[i]} != ${v}`).toBe(true));
    }
  });

  it.each(fx.arrays.map((c) => [c.name, c] as const))('encodeArray writes what Python wrote: %s', (_name, c) => {
    const data = new CTORS[c.wire.dtype as WireDtype](c.values.length);
    c.values.forEach((v, i) => (data[i] = num(v)));
    const wire = encodeArray(data, c.wire.shape, c.chunk_bytes);
    expect({ ...wire, chunks: wire.chunks.map(base64) }).toEqual(c.wire);
  });

  it.each(fx.positions.map((c) => [c.name, c] as const))('quantised positions decode to Python\'s: %s', (_name, c) => {
    const back = decodeArray({ ...c.wire, chunks: c.wire.chunks.map(received) })!;
    expect(back.data).toBeInstanceOf(Float32Array);
    expect(back.shape).toEqual(c.wire.shape);
    const want = c.values.map(num);
    want.forEach((v, i) => expect(Object.is(back.data[i], v), `${c.name}[${i}]: ${back.data[i]} != ${v}`).toBe(true));
  });

  it.each(fx.codes.map((c) => [c.name, c] as const))('packed codes decode to Python\'s: %s', (_name, c) => {
    const back = decodeArray({ ...c.wire, chunks: c.wire.chunks.map(received) })!;
    expect(back.data).toBeInstanceOf(Uint8Array);
    expect(back.shape).toEqual([c.values.length]);
    expect(Array.from(back.data)).toEqual(c.values);
  });

  it.each(fx.rejected.map((c) => [c.name, c] as const))('both refuse: %s', (_name, c) => {
    const msg = c.wire.chunks ? { ...c.wire, chunks: c.wire.chunks.map((b) => Buffer.from(b, 'base64')) } : c.wire;
    expect(() => decodeArray(msg)).toThrow();
  });
});
