import { describe, expect, it } from 'vitest';
import { argmaxMap, colorizeProbabilities, flipMask, type Luts } from '../src/lib/display';
import { decodeFrames, frameStore } from '../src/prob_map_player/frames';
import { toScreen } from '../src/prob_map_player/overlay';
import {
  blend, epochLabel, frameAt, GEOMETRIC_EPS, nearestRecorded, stepForEpoch, timeline, unionEpochs,
} from '../src/prob_map_player/playback';
import type { AnyModel } from '@anywidget/types';
import type { PlayerTraits } from '../src/prob_map_player/protocol';

const ramp = (fn: (i: number) => [number, number, number]): Uint8Array => {
  const out = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) out.set([...fn(i), 255], 4 * i);
  return out;
};
// Two classes: red and blue scales from light grey (region) or black (boundary); grey ramps for class/entropy.
const classRamp = (low: number) => {
  const lut = new Uint8Array(2 * 256 * 4);
  lut.set(ramp((i) => [Math.round(low + ((255 - low) * i) / 255), Math.round(low * (1 - i / 255)), Math.round(low * (1 - i / 255))]), 0);
  lut.set(ramp((i) => [Math.round(low * (1 - i / 255)), Math.round(low * (1 - i / 255)), Math.round(low + ((255 - low) * i) / 255)]), 1024);
  return lut;
};
const LUTS: Luts = { region: classRamp(240), boundary: classRamp(0), cls: ramp((i) => [i, i, i]), entropy: ramp((i) => [i, i, i]) };

describe('timeline', () => {
  it('shows each recorded frame once with blended steps between, at true uneven epochs', () => {
    const steps = timeline([0, 10, 40], 2);
    expect(steps.map((s) => s.i)).toEqual([0, 0, 0, 1, 1, 1, 2]);
    expect(steps.filter((s) => s.f === 0).map((s) => s.epoch)).toEqual([0, 10, 40]);
    expect(steps.map((s) => s.epoch)).toEqual([0, 10 / 3, 20 / 3, 10, 20, 30, 40].map((e) => expect.closeTo(e, 9)));
    expect(timeline([5], 4)).toEqual([{ i: 0, f: 0, epoch: 5 }]);
    expect(timeline([0, 1], 0)).toHaveLength(2);
  });
  it('finds the step of an epoch, preferring recorded frames, and labels true epochs', () => {
    const steps = timeline([0, 10, 40], 2);
    expect(stepForEpoch(steps, 10)).toBe(3);
    expect(stepForEpoch(steps, 21)).toBe(4);
    expect(stepForEpoch(steps, 1000)).toBe(6);
    expect(epochLabel(steps[3])).toBe('epoch 10');
    expect(epochLabel(steps[1])).toBe('epoch 3.3');
    // A release between recorded frames settles on the nearer one (steps: 0, 3.3, 6.7, 10, ...).
    expect([0, 1, 2, 3].map((k) => nearestRecorded(steps, k))).toEqual([0, 0, 3, 3]);
  });
});

describe('blend', () => {
  const a = new Uint8Array([255, 0, 100, 155]);
  const b = new Uint8Array([0, 255, 200, 55]);
  it('linear mixes probabilities', () => {
    const out = blend(a, b, 0.25, 2, 'linear', new Float32Array(4));
    expect(Array.from(out)).toEqual([0.75, 0.25, (75 + 50) / 255, (0.75 * 155 + 0.25 * 55) / 255].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(blend(a, null, 0.5, 2, 'linear', new Float32Array(4)))).toEqual(Array.from(a).map((v) => expect.closeTo(v / 255, 6)));
  });
  it('geometric mixes logarithms and renormalises per cell', () => {
    const out = blend(a, b, 0.5, 2, 'geometric', new Float32Array(4));
    const g = (x: number, y: number) => Math.sqrt((x + GEOMETRIC_EPS) * (y + GEOMETRIC_EPS));
    const c0 = [g(255, 0), g(0, 255)];
    expect(out[0]).toBeCloseTo(c0[0] / (c0[0] + c0[1]), 6);
    expect(out[0] + out[1]).toBeCloseTo(1, 6);
    expect(out[2] + out[3]).toBeCloseTo(1, 6);
    // A confident class stays on top through the blend.
    const c1 = [g(100, 200), g(155, 55)];
    expect(out[2]).toBeCloseTo(c1[0] / (c1[0] + c1[1]), 6);
  });
});

describe('colorize', () => {
  const p = new Float32Array([1, 0, 0.5, 0.5, 0.2, 0.8]); // 1 row x 3 cells x 2 classes
  const rgba = (mode: 'region' | 'boundary' | 'class' | 'entropy', target = 0, boundaryLine = false) =>
    Array.from(colorizeProbabilities(p, 2, 1, 3, LUTS, { mode, target, boundaryLine }, new Uint8ClampedArray(12)));
  it('region: hue of the winner, brightness by how far above chance (fixed scale)', () => {
    const out = rgba('region');
    expect(out.slice(0, 4)).toEqual([255, 0, 0, 255]);
    expect(out.slice(4, 8)).toEqual([240, 240, 240, 255]);
    expect(out[10]).toBeGreaterThan(out[8]); // blue wins the third cell
  });
  it('class, entropy and boundary index their tables', () => {
    expect(rgba('class', 1).filter((_, k) => k % 4 === 0)).toEqual([0, 128, 204]);
    const ent = rgba('entropy').filter((_, k) => k % 4 === 0);
    expect(ent[0]).toBe(0);
    expect(ent[1]).toBe(255);
    const h = -(0.2 * Math.log(0.2) + 0.8 * Math.log(0.8)) / Math.log(2);
    expect(ent[2]).toBe(Math.round(h * 255));
    const bnd = rgba('boundary');
    expect(bnd.slice(4, 7)).toEqual([0, 0, 0]); // a tie is dark
    expect(bnd.slice(0, 3)).toEqual([255, 0, 0]);
    const line = rgba('boundary', 0, true);
    expect(line.slice(4, 8)).toEqual([0, 0, 0, 255]);
    expect(line.slice(0, 4)).toEqual([255, 0, 0, 255]); // the tie goes to class 0 (first of equals), so the edge is between cells 1 and 2 only
  });
  it('finds winners and flips like numpy', () => {
    const k = argmaxMap(new Float32Array([0.5, 0.5, 0.1, 0.9]), 2);
    expect(Array.from(k)).toEqual([0, 1]);
    const a = new Uint16Array([0, 0, 1, 1]);
    const b = new Uint16Array([0, 1, 1, 1]);
    expect(Array.from(flipMask(b, a, 2, 2))).toEqual([0, 1, 0, 0]);
    expect(Array.from(flipMask(a, null, 2, 2))).toEqual([1, 1, 0, 0]);
  });
});

describe('frames and overlay geometry', () => {
  it('splits a frames message into maps and predictions', () => {
    const buf = (bytes: number[]) => new DataView(new Uint8Array(bytes).buffer);
    const frames = decodeFrames({ type: 'frames', start: 0, count: 2, pred_dtype: 'uint8' },
      [buf([1, 2]), buf([0]), buf([3, 4]), buf([1])], 2);
    expect(frames.map((f) => Array.from(f.map))).toEqual([[1, 2], [3, 4]]);
    expect(frames.map((f) => Array.from(f.preds))).toEqual([[0], [1]]);
    expect(() => decodeFrames({ type: 'frames', start: 0, count: 2, pred_dtype: 'uint8' }, [buf([1])], 2)).toThrow(/2 frames need 4/);
  });
  it('places grid cell centres at pixel centres', () => {
    // 3 x 3 grid over [0, 2] x [0, 2] drawn at 300 x 300: cell centres at 50, 150, 250.
    expect(toScreen(0, 2, [0, 2], [0, 2], 3, 3, 300, 300)).toEqual([50, 50]);
    expect(toScreen(2, 0, [0, 2], [0, 2], 3, 3, 300, 300)).toEqual([250, 250]);
    expect(toScreen(1, 1, [0, 2], [0, 2], 3, 3, 300, 300)).toEqual([150, 150]);
  });
});

describe('compare mode', () => {
  it('places each recorder on the shared slider: last frame at or before, blended towards the next', () => {
    const union = unionEpochs([[0, 4, 8], [0, 2, 8]]);
    expect(union).toEqual([0, 2, 4, 8]);
    // The union slider's interpolated step at epoch 3 (between 2 and 4).
    expect(frameAt([0, 4, 8], 3)).toEqual({ i: 0, f: 0.75 });
    expect(frameAt([0, 2, 8], 3)).toEqual({ i: 1, f: 1 / 6 });
    expect(frameAt([0, 4, 8], 4)).toEqual({ i: 1, f: 0 });
    expect(frameAt([0, 4, 8], 100)).toEqual({ i: 2, f: 0 });
    expect(frameAt([5, 9], 1)).toEqual({ i: 0, f: 0 }); // before a recorder's first frame: its first
    // On its own timeline a recorder gets back the steps of single mode.
    for (const s of timeline([0, 3, 9], 3)) expect(frameAt([0, 3, 9], s.epoch)).toEqual({ i: s.i, f: expect.closeTo(s.f, 12) });
  });

  it('keeps one frame store per recorder: pushes go to their run, pulls ask for it', async () => {
    const handlers = new Map<string, Array<(...a: unknown[]) => void>>();
    const sent: Array<Record<string, unknown>> = [];
    const state: Record<string, unknown> = { run_epochs: [[0], [0, 1]], test_points: null };
    const model = {
      get: (k: string) => state[k],
      on: (name: string, fn: (...a: unknown[]) => void) => handlers.set(name, [...(handlers.get(name) ?? []), fn]),
      off: (name: string, fn: (...a: unknown[]) => void) => handlers.set(name, (handlers.get(name) ?? []).filter((g) => g !== fn)),
      send: (msg: Record<string, unknown>) => sent.push(msg),
    } as unknown as AnyModel<PlayerTraits>;
    const a = frameStore(model, 0);
    const b = frameStore(model, 1);
    expect(frameStore(model, 1)).toBe(b);
    // Each pulls what Python stored, through one requester: distinct ids, so replies cannot cross.
    expect(sent.map((m) => [m.run, m.start, m.id])).toEqual([[0, 0, 1], [1, 0, 2]]);
    const buf = (bytes: number[]) => new DataView(new Uint8Array(bytes).buffer);
    const push = (run: number, start: number, map: number[], id?: number) => (handlers.get('msg:custom') ?? []).forEach(
      (fn) => fn({ type: 'frames', run, start, count: 1, pred_dtype: 'uint8', id }, [buf(map), buf([0])]));
    push(1, 0, [7, 8], 2); // the reply to run 1's request
    await new Promise((r) => setTimeout(r, 0));
    expect(a.frames).toHaveLength(0);
    push(1, 1, [9, 9]);
    push(0, 0, [1, 2]);
    expect(a.frames.map((f) => Array.from(f.map))).toEqual([[1, 2]]);
    expect(b.frames.map((f) => Array.from(f.map))).toEqual([[7, 8], [9, 9]]);
    a.dispose();
    b.dispose();
  });
});

describe('stored_frames: the persisted copy', () => {
  it('paints from the state alone (no request), joins chunked maps and takes later copies', () => {
    const handlers = new Map<string, Array<(...a: unknown[]) => void>>();
    const sent: unknown[] = [];
    const buf = (bytes: number[]) => new DataView(new Uint8Array(bytes).buffer);
    // One frame whose map came in two chunks, then a copy with a second frame.
    const copy = (maps: number[][][]) => ({ type: 'frames', run: 0, start: 0, count: maps.length, pred_dtype: 'uint8',
      map_chunks: 2, buffers: maps.flatMap((chunks) => [...chunks.map(buf), buf([1])]) });
    const state: Record<string, unknown> = { run_epochs: [[0]], test_points: null, stored_frames: [copy([[[1, 2], [3]]])] };
    const model = {
      get: (k: string) => state[k],
      on: (name: string, fn: (...a: unknown[]) => void) => handlers.set(name, [...(handlers.get(name) ?? []), fn]),
      off: (name: string, fn: (...a: unknown[]) => void) => handlers.set(name, (handlers.get(name) ?? []).filter((g) => g !== fn)),
      send: (msg: unknown) => sent.push(msg),
    } as unknown as AnyModel<PlayerTraits>;
    const store = frameStore(model, 0);
    expect(store.frames.map((f) => Array.from(f.map))).toEqual([[1, 2, 3]]);
    expect(sent).toEqual([]); // complete: a kernel that may not be there is asked nothing
    state.run_epochs = [[0, 1]];
    state.stored_frames = [copy([[[1, 2], [3]], [[4, 5], [6]]])];
    (handlers.get('change:stored_frames') ?? []).forEach((fn) => fn());
    expect(store.frames.map((f) => Array.from(f.map))).toEqual([[1, 2, 3], [4, 5, 6]]);
    store.dispose();
  });
});
