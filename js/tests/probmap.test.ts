import { describe, expect, it } from 'vitest';
import { argmaxMap, colorize, flipMask, type Luts } from '../src/prob_map_player/colorize';
import { decodeFrames } from '../src/prob_map_player/frames';
import { toScreen } from '../src/prob_map_player/overlay';
import { blend, epochLabel, GEOMETRIC_EPS, stepForEpoch, timeline } from '../src/prob_map_player/playback';

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
    Array.from(colorize(p, 2, 1, 3, LUTS, { mode, target, boundaryLine }, new Uint8ClampedArray(12)));
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
