// GradCamViewer front end: the chosen image large with its attribution map over it (and a second layer beside
// it), the top classes (click to re-target), the saliency confusion matrix, and the batch as a sortable grid.
// Opacity, colormap, sign, threshold, normalisation and sorting are applied here: they never call the model.

import type { AnyModel, RenderProps } from '@anywidget/types';
import { decodeArray } from '../lib/codecs';
import { el } from '../lib/dom';
import { mountWidgetRoot } from '../lib/error_banner';
import { pngUrl } from '../lib/requests';
import { buildToolbar, select, slider, treeLabels } from './controls';
import { mountUi } from '../lib/ui/keys';
import { drawKey, drawOverlay, fitSize, keyLabels, type MapLayer } from './draw';
import { mountGrid } from './grid';
import { dequantize, lutFor, type DisplayOptions } from '../lib/display';
import { confusionRows, renderTopClasses } from './panels';
import type { GradCamTraits, Normalization, Sign, SortBy } from './protocol';
import '../embedding_explorer/styles.css'; // the shared .nbviz-root base and error banner styles
import './styles.css';
import '../lib/static_picture.css'; // hides the notebook's picture of the view beside it

/** Test hook on the root element (tests/ui). */
export interface GradCamHook {
  /** Times the large view was drawn. */
  draws: number;
}

type Model = AnyModel<GradCamTraits>;

function mapOf(value: unknown, scale: number): MapLayer | null {
  const d = decodeArray(value);
  if (!d || d.shape.length < 2) return null;
  const [height, width] = d.shape.slice(-2);
  return { values: dequantize(d.data, scale), width, height };
}

function loadImage(buf: DataView | null | undefined, onLoad: (img: HTMLImageElement | null) => void): () => void {
  if (!buf || !buf.byteLength) {
    onLoad(null);
    return () => {};
  }
  const url = pngUrl(buf);
  const img = new Image();
  let live = true;
  img.onload = () => live && onLoad(img);
  img.onerror = () => live && onLoad(null);
  img.src = url;
  return () => {
    live = false;
    URL.revokeObjectURL(url);
  };
}

function render({ model, el: host }: Pick<RenderProps<GradCamTraits>, 'model' | 'el'>): () => void {
  const { root, banner } = mountWidgetRoot(model, host, 'nbviz-gradcam');
  const ui = mountUi(root); // shortcuts (C, S) and the narrow layout
  const hook: GradCamHook = { draws: 0 };
  (root as HTMLElement & { nbviz?: GradCamHook }).nbviz = hook;

  const save = <K extends keyof GradCamTraits>(name: K, value: GradCamTraits[K]) => {
    model.set(name, value);
    model.save_changes();
  };

  // -- toolbar --------------------------------------------------------------------------------------------
  const layerSel = select('layer', 'nbviz-gc-layer', (v) => save('layer', v));
  const compareSel = select('compare', 'nbviz-gc-compare', (v) => save('compare_layer', v));
  const cmapSel = select('colormap', 'nbviz-gc-colormap', (v) => save('colormap', v));
  const signSel = select('sign', 'nbviz-gc-sign', (v) => save('sign', v as Sign));
  signSel.setOptions(['both', 'positive', 'negative']);
  const normSel = select('scale', 'nbviz-gc-normalization', (v) => save('normalization', v as Normalization));
  normSel.setOptions(['image', 'batch', 'minmax'], ['per image', 'per batch', 'min-max']);
  const sortSel = select('sort', 'nbviz-gc-sort', (v) => save('sort_by', v as SortBy));
  sortSel.setOptions(['index', 'confidence', 'wrong', 'class'], ['index', 'confidence', 'wrong first', 'class']);
  const opacity = slider('opacity', 'nbviz-gc-opacity', (v) => save('opacity', v));
  const threshold = slider('threshold', 'nbviz-gc-threshold', (v) => save('threshold', v));
  const { root: toolbar, confusion: confusionInput, exportButton } = buildToolbar({ layer: layerSel,
    compare: compareSel, colormap: cmapSel, sign: signSel, scale: normSel, opacity, threshold, sort: sortSel });
  confusionInput.addEventListener('change', () => save('show_confusion', confusionInput.checked));

  // -- views -----------------------------------------------------------------------------------------------
  const main = el('div', 'nbviz-gc-main');
  const views = el('div', 'nbviz-gc-views');
  const figure = (cls: string) => {
    const fig = el('figure', `nbviz-gc-figure ${cls}`);
    const canvas = el('canvas', 'nbviz-gc-canvas');
    const caption = el('figcaption', 'nbviz-gc-caption');
    fig.append(canvas, caption);
    return { fig, canvas, caption };
  };
  const view1 = figure('nbviz-gc-view');
  const view2 = figure('nbviz-gc-view2');
  const key = el('div', 'nbviz-gc-key');
  const keyStrip = el('canvas', 'nbviz-gc-key-strip');
  keyStrip.width = 160;
  keyStrip.height = 10;
  const keyText = el('div', 'nbviz-gc-key-labels');
  key.append(keyStrip, keyText);
  views.append(view1.fig, view2.fig);
  const viewColumn = el('div', 'nbviz-gc-viewcol');
  viewColumn.append(views, key);
  const side = el('div', 'nbviz-gc-side');
  // The saliency confusion matrix beside the image: rows the predicted and the true class, columns the evidence
  // for and against each; it folds under the image with the class list when the view is narrow.
  const confusion = el('div', 'nbviz-gc-confusion');
  const tiles = [0, 1, 2, 3].map(() => figure('nbviz-gc-tile'));
  const rowHeads = [el('div', 'nbviz-gc-cf-row'), el('div', 'nbviz-gc-cf-row')];
  confusion.append(el('div', 'nbviz-gc-cf-head'), el('div', 'nbviz-gc-cf-head', 'for'),
    el('div', 'nbviz-gc-cf-head', 'against'), rowHeads[0], tiles[0].fig, tiles[1].fig, rowHeads[1], tiles[2].fig,
    tiles[3].fig);
  main.append(viewColumn, confusion, side);
  const grid = mountGrid((i) => save('index', i));
  root.append(toolbar, main, grid.root);

  // -- drawing ---------------------------------------------------------------------------------------------
  let image: HTMLImageElement | null = null;
  let releaseImage = () => {};
  let atlasUrl = '';
  const options = (): DisplayOptions => ({
    sign: model.get('sign'),
    threshold: Number(model.get('threshold')) || 0,
    opacity: Number(model.get('opacity')),
    normalization: model.get('normalization'),
    batchPeak: Number(model.get('batch_peak')) || 0,
    diverging: (model.get('diverging') ?? []).includes(model.get('colormap')),
  });
  const lut = () => lutFor(decodeArray(model.get('luts')), model.get('colormaps') ?? [], model.get('colormap'));
  const className = (c: number) => (model.get('class_names') ?? [])[c] ?? String(c);
  const trueName = () => {
    const code = decodeArray(model.get('label_codes'))?.data[Number(model.get('index'))];
    return code !== undefined && code >= 0 ? className(Number(code)) : '';
  };

  const drawViews = () => {
    const map1 = mapOf(model.get('heatmap'), Number(model.get('heatmap_scale')));
    const map2 = mapOf(model.get('heatmap2'), Number(model.get('heatmap2_scale')));
    const w = image?.naturalWidth || map1?.width || 1;
    const h = image?.naturalHeight || map1?.height || 1;
    const [cw, ch] = fitSize(w, h, Math.max(64, Number(model.get('size')) || 320));
    const table = lut();
    const opts = options();
    for (const [view, map, layer] of [[view1, map1, model.get('layer')], [view2, map2, model.get('compare_layer')]] as const) {
      view.fig.hidden = view === view2 && !map;
      if (view.fig.hidden) continue;
      view.canvas.width = cw;
      view.canvas.height = ch;
      drawOverlay(view.canvas, image, map, table, opts);
      const what = layer ? `layer ${layer}` : String(model.get('method'));
      const truth = trueName();
      view.caption.textContent = `${what} \u2014 class ${className(Number(model.get('shown_target')))}`
        + (truth ? ` \u00b7 true: ${truth}` : '');
    }
    drawKey(keyStrip, table, opts);
    keyText.replaceChildren(...keyLabels(opts).map((t) => el('span', 'nbviz-gc-key-label', t)));
    key.title = `colour key: ${keyLabels(opts).join(' \u2192 ')} (${model.get('colormap')}); stronger is more opaque`;
    hook.draws++;
    drawConfusion(cw, ch, table, opts);
    if (image || !model.get('image_png')) root.dataset.nbvizReady = 'true';
  };

  const drawConfusion = (cw: number, ch: number, table: Uint8Array, opts: DisplayOptions) => {
    const d = decodeArray(model.get('confusion_maps'));
    const info = model.get('confusion_info') ?? {};
    confusion.hidden = !model.get('show_confusion') || !d || d.shape.length !== 4;
    confusion.classList.toggle('nbviz-gc-mismatch', Boolean(info.wrong));
    if (confusion.hidden || !d) return;
    const [h, w] = d.shape.slice(2);
    const values = dequantize(d.data, Number(model.get('confusion_scale')));
    const peak = values.reduce((a, v) => Math.max(a, v), 0);
    confusionRows(info).forEach((text, r) => (rowHeads[r].textContent = text));
    tiles.forEach((tile, k) => {
      tile.canvas.width = Math.round(cw / 2);
      tile.canvas.height = Math.round(ch / 2);
      const map = { values: values.subarray(k * w * h, (k + 1) * w * h), width: w, height: h };
      // One scale for the four maps, so their magnitudes compare; no evidence stays transparent.
      drawOverlay(tile.canvas, image, map, table, {
        ...opts, sign: 'positive', normalization: 'batch', batchPeak: peak, threshold: Math.max(opts.threshold, 0.02),
      });
      tile.caption.hidden = true; // the grid's headings say what each tile is
    });
  };

  const onImage = () => {
    releaseImage();
    releaseImage = loadImage(model.get('image_png'), (img) => {
      image = img;
      drawViews();
    });
  };

  const syncGrid = () => {
    if (atlasUrl) URL.revokeObjectURL(atlasUrl);
    const png = model.get('grid_png');
    atlasUrl = png && png.byteLength ? pngUrl(png) : '';
    const n = (a: unknown) => decodeArray(a)?.data ?? new Int32Array(0);
    grid.update(atlasUrl, Number(model.get('grid_columns')) || 1, Number(model.get('grid_cell')) || 48, {
      predictions: n(model.get('predictions')),
      confidences: n(model.get('confidences')),
      labels: n(model.get('label_codes')),
    }, model.get('sort_by'), model.get('class_names') ?? []);
    grid.select(Number(model.get('index')));
  };

  const syncControls = () => {
    const layers = model.get('layers') ?? [];
    layerSel.root.hidden = compareSel.root.hidden = layers.length === 0;
    layerSel.setOptions(layers, treeLabels(layers));
    layerSel.setValue(model.get('layer'));
    compareSel.setOptions(['', ...layers], ['none', ...treeLabels(layers)]);
    compareSel.setValue(model.get('compare_layer'));
    cmapSel.setOptions(model.get('colormaps') ?? []);
    cmapSel.setValue(model.get('colormap'));
    signSel.setValue(model.get('sign'));
    normSel.setValue(model.get('normalization'));
    sortSel.setValue(model.get('sort_by'));
    opacity.setValue(Number(model.get('opacity')));
    threshold.setValue(Number(model.get('threshold')));
    confusionInput.checked = Boolean(model.get('show_confusion'));
  };

  const syncTop = () =>
    renderTopClasses(side, model.get('top_classes') ?? [], Number(model.get('shown_target')),
      Number(model.get('target')), (c) => save('target', c), trueName());

  const onExport = () => {
    const a = el('a', 'nbviz-gc-download');
    a.download = `gradcam_${model.get('index')}.png`;
    a.href = view1.canvas.toDataURL('image/png');
    a.click();
  };
  exportButton.addEventListener('click', onExport);

  const handlers: Array<[string, () => void]> = [
    ['change:image_png', onImage],
    ...(['heatmap', 'heatmap2', 'opacity', 'sign', 'colormap', 'threshold', 'normalization', 'batch_peak',
      'shown_target', 'size', 'confusion_maps', 'show_confusion', 'luts', 'diverging'] as const).map(
      (k) => [`change:${k}`, drawViews] as [string, () => void]),
    ...(['grid_png', 'predictions', 'label_codes', 'sort_by', 'class_names'] as const).map(
      (k) => [`change:${k}`, syncGrid] as [string, () => void]),
    ['change:index', () => grid.select(Number(model.get('index')))],
    ...(['layers', 'layer', 'compare_layer', 'colormap', 'colormaps', 'sign', 'normalization', 'sort_by', 'opacity',
      'threshold', 'show_confusion'] as const).map((k) => [`change:${k}`, syncControls] as [string, () => void]),
    ['change:top_classes', syncTop],
    ['change:target', syncTop],
    ['change:shown_target', syncTop],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);

  syncControls();
  syncTop();
  syncGrid();
  onImage();

  return () => {
    for (const [name, fn] of handlers) model.off(name as `change:${keyof GradCamTraits & string}`, fn);
    exportButton.removeEventListener('click', onExport);
    releaseImage();
    if (atlasUrl) URL.revokeObjectURL(atlasUrl);
    ui.dispose();
    banner.destroy();
    root.remove();
  };
}

export type GradCamModel = Model;

export default { render };
