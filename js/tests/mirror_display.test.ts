// The display rule of the live views (src/lib/display.ts, playback blend) against nbviz/display.py (the static
// pictures), fixture written by tests/mirror/display.py. Colours are compared exactly: a picture must pick the
// same lookup-table entry as its view.
import { describe, expect, it } from 'vitest';
import type { Rgba } from '../src/lib/colors';
import {
  colorizeHeatmap,
  colorizeProbabilities,
  dequantize,
  lutIndex,
  MISSING_RGBA,
  valueColumn,
  type Normalization,
  type ProbabilityMode,
  type Sign,
} from '../src/lib/display';
import { blend, frameAt, timeline } from '../src/prob_map_player/playback';
import { loadFixture, num } from './mirror';

type N = number | string;

interface Fixture {
  lut_index: { values: N[]; index: number[]; index_of_10: number[] };
  value_colors: { values: N[]; lut: number[]; rgba: number[] };
  heatmaps: Array<{
    name: string;
    q: number[];
    scale: number;
    values: number[];
    options: {
      sign: Sign; threshold: number; opacity: number; normalization: Normalization; batch_peak: number; diverging: boolean;
    };
    rgba: number[];
  }>;
  heatmap_lut: number[];
  probabilities: {
    classes: number;
    rows: number;
    cols: number;
    a: number[];
    b: number[];
    /** Float32 probabilities by frame name (a recorded frame, blended ones). */
    frames: Record<string, number[]>;
    /** Lookup tables by set: "real" (what the player sends), "coded" (every entry its own colour). */
    luts: Record<string, { region: number[]; boundary: number[]; class: number[]; entropy: number[] }>;
    blends: Array<{ kind: 'linear' | 'geometric'; f: number; p: number[] }>;
    maps: Array<{
      frame: string; luts: string; mode: ProbabilityMode; target: number; boundary_line: boolean; rgba: number[];
    }>;
  };
  playback: {
    /** steps: [frame index, blend fraction, epoch] */
    timeline: Array<{ epochs: number[]; interpolation: number; steps: Array<[number, number, number]> }>;
    frame_at: Array<{ epochs: number[]; epoch: number; frame: [number, number] }>;
  };
}

const fx = loadFixture<Fixture>('display');

describe('lib/display.ts mirrors nbviz/display.py', () => {
  it('lutIndex: floor(v * n) clamped, NaN -> 0', () => {
    const values = fx.lut_index.values.map(num);
    expect(values.map((v) => lutIndex(v))).toEqual(fx.lut_index.index);
    expect(values.map((v) => lutIndex(v, 10))).toEqual(fx.lut_index.index_of_10);
  });

  it('value colours: the entry regl-scatterplot draws is the one the PNG paints, missing values grey', () => {
    const { values, lut, rgba } = fx.value_colors;
    const rows = lut.length / 4;
    const w = valueColumn(Float32Array.from(values.map(num)), rows);
    // regl-scatterplot draws colour floor(w * (colours - 1)) of the LUT rows plus the grey (valueColors).
    const drawn = Array.from(w).flatMap((wi) => {
      const k = Math.floor(wi * rows);
      return k === rows ? [...MISSING_RGBA] : lut.slice(4 * k, 4 * k + 4);
    });
    expect(drawn).toEqual(rgba);
    expect(MISSING_RGBA).toEqual<Rgba>([160, 160, 160, 255]);
  });

  it.each(fx.heatmaps.map((c) => [c.name, c] as const))('heatmap: %s', (_name, c) => {
    const o = c.options;
    const values = dequantize(Int16Array.from(c.q), c.scale);
    expect(Array.from(values)).toEqual(c.values); // the same numbers the PNG colours
    const got = colorizeHeatmap(values, Uint8Array.from(fx.heatmap_lut), {
      sign: o.sign, threshold: o.threshold, opacity: o.opacity, normalization: o.normalization, batchPeak: o.batch_peak,
      diverging: o.diverging,
    });
    expect(Array.from(got)).toEqual(c.rgba);
  });

  const pr = fx.probabilities;
  const lutSet = (name: string) => {
    const l = pr.luts[name];
    return {
      region: Uint8Array.from(l.region), boundary: Uint8Array.from(l.boundary),
      cls: Uint8Array.from(l.class), entropy: Uint8Array.from(l.entropy),
    };
  };

  it.each(pr.maps.map((m) => [
    `${m.frame} frame, ${m.luts} tables, ${m.mode}, target ${m.target}, line ${m.boundary_line}`, m,
  ] as const))(
    'probability map: %s', (_name, m) => {
      const out = new Uint8ClampedArray(4 * pr.rows * pr.cols);
      colorizeProbabilities(Float32Array.from(pr.frames[m.frame]), pr.classes, pr.rows, pr.cols, lutSet(m.luts),
        { mode: m.mode, target: m.target, boundaryLine: m.boundary_line }, out);
      expect(Array.from(out)).toEqual(m.rgba);
    });

  it.each(pr.blends.map((b) => [`${b.kind} at ${b.f}`, b] as const))('playback blend: %s', (_name, b) => {
    const got = blend(Uint8Array.from(pr.a), Uint8Array.from(pr.b), b.f, pr.classes, b.kind,
      new Float32Array(pr.a.length));
    if (b.kind === 'linear') {
      expect(Array.from(got)).toEqual(b.p); // the same double arithmetic, then float32
    } else {
      // exp and log may differ in the last bit between V8 and numpy's libm: one float32 step at most.
      got.forEach((v, i) => expect(Math.abs(v - b.p[i])).toBeLessThanOrEqual(Math.abs(b.p[i]) * 2 ** -23));
    }
  });

  it('playback steps: each recorded frame once, blended steps between', () => {
    for (const c of fx.playback.timeline) {
      const got = timeline(c.epochs, c.interpolation).map((s) => [s.i, s.f, s.epoch]);
      expect(got, `${c.epochs} / ${c.interpolation}`).toEqual(c.steps);
    }
  });

  it('frameAt: the frame a map shows at any epoch, and the blend towards the next', () => {
    for (const c of fx.playback.frame_at) {
      const { i, f } = frameAt(c.epochs, c.epoch);
      expect([i, f], `${c.epochs} at ${c.epoch}`).toEqual(c.frame);
    }
  });
});
