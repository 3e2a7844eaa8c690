// Dev-page stand-ins for what Python sends to the plot features (query parameters):
//   ?values=1            colour by value (a demo LUT; Python owns the real ones), some NaN -> grey
//   ?layouts=3           aligned layouts + slider; the fake Python echoes `points` like the real one
//   ?hidden=3,4          hidden categories      ?select=1,2,3   selection set by "Python"
//   ?progress=0.4&status=UMAP:%20optimising    progress bar
// Only for the dev page; the widget itself never makes data up.

import type { ExplorerTraits } from '../src/embedding_explorer/protocol';
import { encodeArray } from '../src/lib/codecs';
import type { FakeModel } from './fake_model';

/** A smooth dark-blue -> green -> yellow ramp of 256 rows, for the demo only. */
export function demoLut(): Uint8Array {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const lut = new Uint8Array(256 * 4);
  for (let k = 0; k < 256; k++) {
    const t = (k / 255) * (stops.length - 1);
    const a = Math.min(Math.floor(t), stops.length - 2);
    const f = t - a;
    for (let c = 0; c < 3; c++) lut[4 * k + c] = Math.round(stops[a][c] * (1 - f) + stops[a + 1][c] * f);
    lut[4 * k + 3] = 255;
  }
  return lut;
}

/** Layout j: the clusters rotated by j * 60 degrees and squashed, so switching visibly moves every point. */
export function demoLayout(xy: Float32Array, j: number): Float32Array {
  const out = new Float32Array(xy.length);
  const a = (j * Math.PI) / 3;
  const [c, s] = [Math.cos(a), Math.sin(a)];
  for (let i = 0; i < xy.length; i += 2) {
    out[i] = c * xy[i] - s * xy[i + 1] * (1 + j);
    out[i + 1] = s * xy[i] + c * xy[i + 1] * (1 + j);
  }
  return out;
}

export function applyPlotParams(model: FakeModel<ExplorerTraits>, q: URLSearchParams, xy: Float32Array): void {
  const n = xy.length / 2;
  if (q.get('values') === '1') {
    const v = new Float32Array(n);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, xy[2 * i]);
      hi = Math.max(hi, xy[2 * i]);
    }
    // Normalised like Python does ([0, 1], NaN missing); every 50th value missing.
    for (let i = 0; i < n; i++) v[i] = i % 50 === 7 ? NaN : (xy[2 * i] - lo) / (hi - lo || 1);
    model.set('values', encodeArray(v, [n]));
    model.set('colormap_lut', encodeArray(demoLut(), [256, 4]));
    model.set('value_range', [lo, hi]);
    model.set('color_title', 'x coordinate');
    model.set('color_mode', 'value');
  }
  const nl = Number(q.get('layouts') ?? 0);
  if (nl >= 2) {
    const layouts = Array.from({ length: nl }, (_, j) => demoLayout(xy, j));
    model.set('layouts', layouts.map((l) => encodeArray(l, [n, 2])));
    model.set('layout_names', layouts.map((_, j) => `epoch ${(j + 1) * 10}`));
    model.set('points', encodeArray(layouts[0], [n, 2]));
    // Like Python: keep `points` equal to the chosen layout (a fresh copy, as a real message would be).
    model.on('change:layout_index', () => {
      const j = model.get('layout_index');
      setTimeout(() => model.set('points', encodeArray(layouts[j].slice(), [n, 2])), Number(q.get('echo') ?? 50));
    });
  }
  const hidden = q.get('hidden');
  if (hidden) model.set('hidden_categories', hidden.split(',').map(Number));
  const sel = q.get('select');
  if (sel) {
    const s = Uint32Array.from(sel.split(',').map(Number));
    model.set('selection', encodeArray(s, [s.length]));
  }
  if (q.get('progress')) {
    model.set('progress', Number(q.get('progress')));
    model.set('status', q.get('status') ?? '');
  }
}
