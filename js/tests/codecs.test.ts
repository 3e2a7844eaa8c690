import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, CTORS, decodeArray, encodeArray, type TypedArray, type WireDtype } from '../src/lib/codecs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');


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

const PY = String.raw`
import base64, json
import numpy as np
from nbviz.widgets.arrays import array_to_json

cases = {
    "f64": (np.array([[0.1, -2.5], [1e10, 3.0]]), {}),
    "f32_scalar": (np.float32(1.5), {}),
    "u8": (np.arange(10, dtype=np.uint8), {}),
    "i16_3d": (np.arange(-12, 12, dtype=np.int16).reshape(2, 3, 4), {}),
    "u16_be": (np.arange(5, dtype=">u2") * 1000, {}),
    "i32_chunked": (np.arange(-500, 500, dtype=np.int32).reshape(100, 10), {"chunk_bytes": 1000}),
    "u32": (np.array([0, 2**32 - 1], dtype=np.uint32), {}),
    "i8": (np.array([-128, 127], dtype=np.int8), {}),
    "empty": (np.zeros((0, 2), dtype=np.float32), {}),
}
out = {}
for name, (arr, kw) in cases.items():
    msg = array_to_json(arr, None, **kw)
    out[name] = {
        "dtype": msg["dtype"], "shape": msg["shape"],
        "chunks": [base64.b64encode(bytes(c)).decode() for c in msg["chunks"]],
        "expected": np.asarray(arr).astype(msg["dtype"]).ravel().tolist(),
    }
print(json.dumps(out))
`;

describe('cross-language: Python array_to_json -> decodeArray', () => {
  const out = JSON.parse(
    execFileSync('python3', ['-c', PY], { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO }, encoding: 'utf8' }),
  ) as Record<string, { dtype: string; shape: number[]; chunks: string[]; expected: number[] }>;

  it.each(Object.keys(out))('%s', (name) => {
    const c = out[name];
    // Offset each chunk by one byte inside a bigger buffer, as ipywidgets may deliver them.
    const chunks = c.chunks.map((b64) => {
      const bytes = Buffer.from(b64, 'base64');
      const raw = new Uint8Array(bytes.length + 1);
      raw.set(bytes, 1);
      return new DataView(raw.buffer, 1, bytes.length);
    });
    const back = decodeArray({ dtype: c.dtype, shape: c.shape, chunks })!;
    expect(back.shape).toEqual(c.shape);
    expect(Array.from(back.data)).toEqual(c.expected);
  });

  it('narrows float64 to float32 and splits on the requested chunk size', () => {
    expect(out.f64.dtype).toBe('float32');
    expect(Array.from(decodeArray({ ...out.f64, chunks: out.f64.chunks.map((b) => Buffer.from(b, 'base64')) })!.data)).toEqual(
      Array.from(Float32Array.of(0.1, -2.5, 1e10, 3.0)),
    );
    expect(out.i32_chunked.chunks.length).toBe(4);
    expect(out.u16_be.dtype).toBe('uint16');
    expect(out.empty.chunks).toHaveLength(0);
  });
});
