import { describe, expect, it } from 'vitest';
import { colorizeHeatmap, dequantize, lutFor, type DisplayOptions } from '../src/lib/display';
import { isWrong, sortOrder } from '../src/gradcam_viewer/sorting';
import { confusionRows } from '../src/gradcam_viewer/panels';
import { treeLabels } from '../src/gradcam_viewer/controls';
import { fitSize } from '../src/gradcam_viewer/draw';

// A red ramp: entry k is (k, 0, 0, 255), so the red channel reads back the table index.
const ramp = new Uint8Array(1024);
for (let k = 0; k < 256; k++) ramp.set([k, 0, 0, 255], 4 * k);
const base: DisplayOptions = {
  sign: 'both', threshold: 0, opacity: 0.5, normalization: 'image', batchPeak: 0, diverging: false,
};
const red = (px: Uint8ClampedArray) => Array.from(px.filter((_, i) => i % 4 === 0));
const alpha = (px: Uint8ClampedArray) => Array.from(px.filter((_, i) => i % 4 === 3));
const v = [-2, -1, 0, 2];

// The same cases as test_colorize_rule in tests/widgets/test_gradcam_viewer.py: Python draws the static PNG.
describe('colorize mirrors the Python rule', () => {
  it('both signs: zero in the middle of the table', () => {
    const px = colorizeHeatmap(v, ramp, base);
    expect(red(px)).toEqual([0, 64, 128, 255]);
    // Alpha grows with the magnitude up to the opacity: zero attribution leaves the image as it is.
    expect(alpha(px)).toEqual([128, 64, 0, 128]);
  });
  it('positive only, with a threshold', () => {
    const px = colorizeHeatmap(v, ramp, { ...base, sign: 'positive', threshold: 0.6, opacity: 1 });
    expect(red(px)).toEqual([0, 0, 0, 255]);
    expect(alpha(px)).toEqual([0, 0, 0, 255]);
    // On a diverging table one sign takes its half: zero stays the neutral middle, not the other sign's end.
    const half = colorizeHeatmap(v, ramp, { ...base, sign: 'positive', threshold: 0.6, opacity: 1, diverging: true });
    expect(red(half)).toEqual([128, 128, 128, 255]);
  });
  it('negative only', () => {
    expect(red(colorizeHeatmap(v, ramp, { ...base, sign: 'negative', opacity: 1 }))).toEqual([255, 128, 0, 0]);
    expect(red(colorizeHeatmap(v, ramp, { ...base, sign: 'negative', opacity: 1, diverging: true })))
      .toEqual([0, 64, 128, 128]);
  });
  it('batch normalisation divides by the batch peak', () => {
    expect(red(colorizeHeatmap(v, ramp, { ...base, normalization: 'batch', batchPeak: 4 }))).toEqual([64, 96, 128, 192]) // entry floor(pos * 256);
  });
  it('min-max ignores the sign', () => {
    expect(red(colorizeHeatmap(v, ramp, { ...base, normalization: 'minmax' }))).toEqual([0, 64, 128, 255]);
  });
  it('an all-zero map stays in the middle and never divides by zero', () => {
    const px = colorizeHeatmap([0, 0], ramp, base);
    expect(red(px)).toEqual([128, 128]);
    expect(Array.from(px).every(Number.isFinite)).toBe(true);
  });
  it('opacity changes only alpha', () => {
    const a = colorizeHeatmap(v, ramp, base);
    const b = colorizeHeatmap(v, ramp, { ...base, opacity: 1 });
    expect(red(a)).toEqual(red(b));
    expect(alpha(b)).toEqual([255, 128, 0, 255]);
  });
});

describe('dequantize and lookup tables', () => {
  it('scales int16 back to values', () => {
    expect(Array.from(dequantize(Int16Array.of(-32767, 0, 16384), 2 / 32767))).toEqual([
      expect.closeTo(-2, 6), 0, expect.closeTo(1.00003, 4),
    ]);
  });
  it('picks the named table and falls back to a grey ramp', () => {
    const luts = new Uint8Array(2 * 1024);
    luts.fill(7, 1024);
    const t = lutFor({ data: luts, shape: [2, 256, 4] }, ['a', 'b'], 'b');
    expect(t.length).toBe(1024);
    expect(t[0]).toBe(7);
    expect(lutFor({ data: luts, shape: [2, 256, 4] }, ['a', 'b'], 'zzz')[0]).toBe(0);
    const grey = lutFor(null, [], 'a');
    expect(Array.from(grey.subarray(4 * 200, 4 * 201))).toEqual([200, 200, 200, 255]);
  });
});

describe('sortOrder', () => {
  const info = { predictions: [2, 0, 1, 0], confidences: [0.9, 0.5, 0.7, 0.95], labels: [2, 1, 1, -1] };
  it('sorts by index, confidence, wrong first and class', () => {
    expect(sortOrder(info, 'index')).toEqual([0, 1, 2, 3]);
    expect(sortOrder(info, 'confidence')).toEqual([3, 0, 2, 1]);
    expect(sortOrder(info, 'wrong')).toEqual([1, 2, 0, 3]);
    expect(sortOrder(info, 'class')).toEqual([3, 1, 2, 0]);
  });
  it('treats unknown labels as not wrong', () => {
    expect([0, 1, 2, 3].map((i) => isWrong(info, i))).toEqual([false, true, false, false]);
  });
  it('handles an empty batch', () => {
    expect(sortOrder({ predictions: [], confidences: [], labels: [] }, 'wrong')).toEqual([]);
  });
});

describe('texts', () => {
  it('confusion rows quote names as given', () => {
    const c = confusionRows({ names: ['<b>cat</b>', 'dog'], probabilities: [0.5, 0.25], wrong: true });
    expect(c).toEqual(['predicted <b>cat</b> (50.0%)', 'true dog (25.0%)']);
    expect(confusionRows({})).toEqual(['predicted ? (0.0%)', 'true ? (0.0%)']);
  });
  it('indents module paths by depth', () => {
    expect(treeLabels(['layer1', 'layer1.0', 'layer1.0.conv1'])).toEqual([
      'layer1', '\u00a0\u00a0layer1.0', '\u00a0\u00a0\u00a0\u00a0layer1.0.conv1',
    ]);
  });
  it('fits images into the view keeping the aspect ratio', () => {
    expect(fitSize(8, 8, 320)).toEqual([320, 320]);
    expect(fitSize(200, 100, 300)).toEqual([300, 150]);
    expect(fitSize(0, 0, 10)).toEqual([1, 1]);
  });
});
