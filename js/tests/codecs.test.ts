import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, CTORS, decodeArray, encodeArray, type TypedArray, type WireDtype } from '../src/lib/codecs';

function filled(dtype: WireDtype, n: number): TypedArray {
  const a = new CTORS[dtype](n);
  for (let i = 0; i < n; i++) a[i] = dtype === 'float32' ? i * 0.5 - 3.25 : (i * 37) % 120 - (dtype.startsWith('u') ? 0 : 60);
  return a;
}

function roundTrip(data: TypedArray, shape: number[], chunkBytes?: number) {
  const wire = encodeArray(data, shape, chunkBytes);
  const back = decodeArray(wire);
  expect(back).not.toBeNull();
  expect(back!.shape).toEqual(shape);
  expect(back!.data.constructor).toBe(data.constructor);
  expect(back!.data.length).toBe(data.length);
  // A plain loop: toEqual on millions of elements is slow.
  let mismatches = 0;
  for (let i = 0; i < data.length; i++) if (!Object.is(back!.data[i], data[i])) mismatches++;
  expect(mismatches).toBe(0);
  return wire;
}

describe('codecs round trip', () => {
  it.each(Object.keys(CTORS) as WireDtype[])('dtype %s', (dtype) => {
    const wire = roundTrip(filled(dtype, 24), [2, 3, 4]);
    expect(wire.dtype).toBe(dtype);
  });

  it('shapes 0-D to 3-D', () => {
    roundTrip(Float32Array.of(7.5), []);
    roundTrip(filled('float32', 5), [5]);
    roundTrip(filled('int16', 6), [3, 2]);
    roundTrip(filled('uint32', 24), [4, 3, 2]);
  });

  it('empty arrays', () => {
    for (const shape of [[0], [0, 2], [3, 0, 4]]) {
      const wire = roundTrip(new Float32Array(0), shape);
      expect(wire.chunks).toHaveLength(0);
    }
    expect(decodeArray({ dtype: 'uint8', shape: [0], chunks: [] })!.data.length).toBe(0);
  });

  it('null stays null', () => {
    expect(decodeArray(null)).toBeNull();
    expect(decodeArray(undefined)).toBeNull();
  });

  it('multi-chunk large arrays', () => {
    const n = 3_000_001 * 1; // 12 MB of float32
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = i;
    const wire = roundTrip(data, [n]);
    expect(data.byteLength).toBeGreaterThan(10e6);
    expect(wire.chunks.length).toBeGreaterThan(2);
    for (const c of wire.chunks) {
      expect(c.byteLength).toBeLessThanOrEqual(CHUNK_BYTES);
      expect(c.byteLength % 4).toBe(0);
    }
  });

  it('chunks cut on element boundaries for odd chunk sizes', () => {
    const wire = roundTrip(filled('int32', 100), [50, 2], 10);
    for (const c of wire.chunks) expect(c.byteLength % 4).toBe(0);
    expect(wire.chunks[0].byteLength).toBe(8);
  });

  it('unaligned DataViews are copied, not misread', () => {
    const src = filled('float32', 9);
    const raw = new Uint8Array(1 + src.byteLength + 3);
    raw.set(new Uint8Array(src.buffer), 1);
    const single = decodeArray({ dtype: 'float32', shape: [3, 3], chunks: [new DataView(raw.buffer, 1, src.byteLength)] });
    expect(Array.from(single!.data)).toEqual(Array.from(src));
    // Two chunks, the second starting mid-element of its buffer.
    const a = new DataView(raw.buffer, 1, 12);
    const b = new DataView(raw.buffer, 13, src.byteLength - 12);
    expect(Array.from(decodeArray({ dtype: 'float32', shape: [9], chunks: [a, b] })!.data)).toEqual(Array.from(src));
  });

  it('rejects bad messages', () => {
    expect(() => decodeArray({ dtype: 'float64', shape: [1], chunks: [new ArrayBuffer(8)] })).toThrow(/dtype/);
    expect(() => decodeArray({ dtype: 'uint8', shape: [3], chunks: [new ArrayBuffer(2)] })).toThrow(/needs 3/);
    expect(() => decodeArray({ shape: [3] })).toThrow(/dtype, shape and chunks/);
    expect(() => encodeArray(new Uint8Array(3), [2])).toThrow();
  });
});

// What Python sends is checked against decodeArray / encodeArray in mirror_codecs.test.ts (shared fixture).
