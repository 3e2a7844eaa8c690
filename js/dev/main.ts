// Dev page: renders widgets against FakeModel. Query: ?n=1000&k=5&theme=dark&views=1&size=4
// The palette here stands in for the one Python sends; in the real widget Python owns colour.

import type { AnyModel } from '@anywidget/types';
import explorer, { type ExplorerTraits } from '../src/embedding_explorer/index';
import { encodeArray } from '../src/lib/codecs';
import { FakeModel } from './fake_model';
import { applyPlotParams } from './plot_demo';
import { installFakePython } from './fake_python';

const q = new URLSearchParams(location.search);
const n = Number(q.get('n') ?? 1000);
const k = Number(q.get('k') ?? 5);
const views = Number(q.get('views') ?? 1);

// Deterministic PRNG so screenshots are comparable between runs.
let seed = 42;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

export function makeData(count: number, classes: number) {
  const xy = new Float32Array(2 * count);
  const cats = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const c = classes > 0 ? i % classes : 0;
    const a = (2 * Math.PI * c) / Math.max(classes, 1);
    // Clusters on a wide ellipse, in arbitrary data units (x in ~[-300, 300]).
    xy[2 * i] = 200 * Math.cos(a) + 30 * gauss() + 100;
    xy[2 * i + 1] = 60 * Math.sin(a) + 12 * gauss() - 50;
    cats[i] = c;
  }
  return { xy, cats };
}

const TAB10 = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];
function palette(count: number) {
  const rows = Math.max(count, 1);
  const p = new Uint8Array(rows * 4);
  for (let i = 0; i < rows; i++) p.set([...TAB10[i % 10], 255], 4 * i);
  return encodeArray(p, [rows, 4]);
}

const { xy, cats } = makeData(n, k);
const model = new FakeModel<ExplorerTraits>({
  points: encodeArray(xy, [n, 2]),
  categories: k > 0 ? encodeArray(cats, [n]) : null,
  category_names: Array.from({ length: k }, (_, i) => (i === 1 ? '<b>not bold</b>' : `class ${i}`)),
  palette: palette(k),
  focus: -1,
  view: [],
  hovered: -1,
  point_size: Number(q.get('size') ?? 4),
  lod_points: Number(q.get('lod') ?? 500_000),
  height: Number(q.get('height') ?? 400),
  error: q.get('error') ?? '',
  error_details: q.get('error') ? 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: demo' : '',
  layouts: [],
  layout_names: [],
  layout_index: 0,
  color_mode: 'category',
  color_title: 'class',
  values: null,
  colormap: 'viridis',
  colormap_lut: null,
  value_range: [0, 1],
  hidden_categories: [],
  selection: null,
  nside: 3,
  has_images: false,
  thumbnails: false,
  thumbnail_size: 32,
  max_thumbnails: 500,
  label_options: [],
  active_label: '',
  annotation_counts: {},
  progress: -1,
  status: '',
  color_options: ['label'],
  color_source: 'label',
  plot_title: 'synthetic clusters',
});

// --- panels: a fake Python answers neighbors/item/thumbnails/assign. ?images=0 ?thumbs=1 ?fail=neighbors,item
installFakePython(model, {
  xy,
  cats,
  names: model.get('category_names'),
  latency: Number(q.get('latency') ?? 30),
  fail: (q.get('fail') ?? '').split(',').filter(Boolean),
});
model.set('has_images', q.get('images') !== '0');
model.set('thumbnails', q.get('thumbs') === '1');
model.set('label_options', ['cat', 'dog']);

// --- plot features: colour by value, layouts, hidden, selection, progress (see plot_demo.ts) ---
applyPlotParams(model, q, xy);

if (q.get('theme') === 'dark') document.body.classList.add('dark');

const host = document.getElementById('app')!;
const cleanups: Array<() => void> = [];
for (let v = 0; v < views; v++) {
  const el = document.createElement('div');
  el.className = 'view';
  host.append(el);
  cleanups.push(explorer.render({ model: model as unknown as AnyModel<ExplorerTraits>, el }));
}

Object.assign(window, {
  devModel: model,
  devCleanup: () => cleanups.splice(0).forEach((c) => c()),
  devMakeData: makeData,
  devEncode: encodeArray,
});
