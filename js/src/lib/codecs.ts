// Binary array transport; mirrors nbviz/widgets/arrays.py (keep both in step).
// Wire value: {dtype, shape, chunks}; each chunk is one binary buffer, cut on element boundaries.

export type WireDtype = 'float32' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32';

export type TypedArray =
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

type TypedArrayCtor = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TypedArray; new (length: number): TypedArray; BYTES_PER_ELEMENT: number };

/** The typed-array constructor of each wire dtype. */
export const CTORS: Record<WireDtype, TypedArrayCtor> = {
  float32: Float32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
};

/** Largest chunk sent (4 MiB), as CHUNK_BYTES in arrays.py: well under the 10 MB websocket default. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

export interface WireArray {
  dtype: string;
  shape: number[];
  chunks: Array<DataView | ArrayBuffer | ArrayBufferView>;
}

export interface DecodedArray {
  data: TypedArray;
  shape: number[];
}

export function dtypeOf(data: TypedArray): WireDtype {
  for (const [name, ctor] of Object.entries(CTORS)) {
    if (data instanceof ctor) return name as WireDtype;
  }
  throw new TypeError(`unsupported typed array ${Object.prototype.toString.call(data)}`);
}

/** The bytes of a received buffer, as a view (no copy). */
export function asBytes(chunk: DataView | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  return new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Rebuild a typed array from the wire format; null stays null.
 * Views the received buffer directly when there is one aligned chunk, copies otherwise
 * (typed arrays need byteOffset % itemsize === 0, which ipywidgets does not promise).
 */
/** The code of a missing coordinate in quantised positions (`positions_to_json` in Python); finite ones take 0..STEPS. */
export const QUANT_MISSING = 65535;
export const QUANT_STEPS = 65534;

/** float32 (N, 2) positions of uint16 codes within `bounds` [x0, x1, y0, y1]; QUANT_MISSING is NaN. */
export function dequantizePositions(codes: TypedArray, bounds: readonly number[]): Float32Array {
  const out = new Float32Array(codes.length);
  const [x0, x1, y0, y1] = bounds;
  const sx = (x1 - x0) / QUANT_STEPS;
  const sy = (y1 - y0) / QUANT_STEPS;
  // By pairs, the constants hoisted: the first frame at 10M points waits for this loop.
  for (let i = 0; i < codes.length; i += 2) {
    const cx = codes[i];
    out[i] = cx === QUANT_MISSING ? NaN : x0 + cx * sx;
    if (i + 1 === codes.length) break;
    const cy = codes[i + 1];
    out[i + 1] = cy === QUANT_MISSING ? NaN : y0 + cy * sy;
  }
  return out;
}

/** A message with `bounds` holds quantised positions: decoded to float32 (N, 2). */
function withBounds(decoded: DecodedArray, bounds: unknown): DecodedArray {
  if (bounds === undefined) return decoded;
  if (!Array.isArray(bounds) || bounds.length !== 4 || !bounds.every((b) => typeof b === 'number')
    || !(decoded.data instanceof Uint16Array) || decoded.shape.length !== 2 || decoded.shape[1] !== 2) {
    throw new TypeError('positions message must be (N, 2) uint16 with bounds [x0, x1, y0, y1]');
  }
  return { data: dequantizePositions(decoded.data, bounds), shape: decoded.shape };
}

/** (N,) uint8 category codes sent two to a byte, low nibble first (`codes_to_json` in nbviz/widgets/arrays.py). */
function unpackCodes(parts: Uint8Array[], nbytes: number, dtype: string, shape: number[], packed: unknown): DecodedArray {
  if (packed !== 4 || dtype !== 'uint8' || shape.length !== 1) {
    throw new TypeError('packed array message must be 1-D uint8 with packed = 4');
  }
  const n = shape[0];
  if (nbytes !== Math.ceil(n / 2)) {
    throw new RangeError(`packed array message holds ${nbytes} bytes; ${n} codes need ${Math.ceil(n / 2)}`);
  }
  const out = new Uint8Array(n);
  let i = 0;
  for (const p of parts) {
    for (let j = 0; j < p.length; j++) {
      out[i++] = p[j] & 15;
      if (i < n) out[i++] = p[j] >> 4;
    }
  }
  return { data: out, shape };
}

export function decodeArray(value: unknown): DecodedArray | null {
  const decoded = decodeRaw(value);
  return decoded && withBounds(decoded, (value as { bounds?: unknown }).bounds);
}

function decodeRaw(value: unknown): DecodedArray | null {
  if (value === null || value === undefined) return null;
  const obj = value as Partial<WireArray>;
  if (typeof obj.dtype !== 'string' || !Array.isArray(obj.shape) || !Array.isArray(obj.chunks)) {
    throw new TypeError('array message must have dtype, shape and chunks');
  }
  // Own keys only: "toString" must not find Object.prototype's.
  if (!Object.prototype.hasOwnProperty.call(CTORS, obj.dtype)) {
    throw new TypeError(`unsupported array dtype ${JSON.stringify(obj.dtype)}; expected one of ${Object.keys(CTORS).join(', ')}`);
  }
  const ctor = CTORS[obj.dtype as WireDtype];
  const shape = obj.shape.map(Number);
  if (!shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new RangeError(`array message shape must be a list of ints >= 0, got ${JSON.stringify(obj.shape)}`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const itemsize = ctor.BYTES_PER_ELEMENT;
  const parts = obj.chunks.map(asBytes);
  const nbytes = parts.reduce((a, p) => a + p.byteLength, 0);
  const packed = (value as { packed?: unknown }).packed;
  if (packed !== undefined) return unpackCodes(parts, nbytes, obj.dtype, shape, packed);
  if (nbytes !== size * itemsize) {
    throw new RangeError(`array message holds ${nbytes} bytes; shape [${shape}] of ${obj.dtype} needs ${size * itemsize}`);
  }
  if (parts.length === 1 && parts[0].byteOffset % itemsize === 0) {
    return { data: new ctor(parts[0].buffer as ArrayBuffer, parts[0].byteOffset, size), shape };
  }
  const out = new ctor(size);
  const bytes = new Uint8Array(out.buffer);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.byteLength;
  }
  return { data: out, shape };
}

/** Encode a typed array for sending to Python; chunks are views, no copy. */
export function encodeArray(data: TypedArray, shape: number[], chunkBytes: number = CHUNK_BYTES): WireArray {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new RangeError(`shape [${shape}] needs ${size} elements, got ${data.length}`);
  const itemsize = data.BYTES_PER_ELEMENT;
  const step = Math.max(itemsize, chunkBytes - (chunkBytes % itemsize));
  const chunks: DataView[] = [];
  for (let at = 0; at < data.byteLength; at += step) {
    chunks.push(new DataView(data.buffer, data.byteOffset + at, Math.min(step, data.byteLength - at)));
  }
  return { dtype: dtypeOf(data), shape: [...shape], chunks };
}
