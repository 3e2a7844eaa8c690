// Triplet space view: the items in 2-D, a click picks the anchor; its positives and negatives on a distance axis
// with the margin band, a map of all its triplets, and the whole set's histogram of d(a,n) - d(a,p). The margin
// slider re-classifies everything here, with no round trip; Python's `margin` (and its exact counts) follow when
// the slider is released. Python: nbviz/widgets/triplet_space.py.

import type { AnyModel, RenderProps } from '@anywidget/types';
import { decodeArray, type DecodedArray } from '../lib/codecs';
import { cssColor, paletteRows } from '../lib/colors';
import { el } from '../lib/dom';
import { mountWidgetRoot } from '../lib/error_banner';
import { readTheme, resolveColor, watchTheme } from '../lib/theme';
import {
  drawHistogram, drawMap, drawScatter, drawStrip, prepare, stripHeight, type AnchorData, type Palette, type StripLayout,
} from './draw';
import {
  anchorMoves, countsText, cumulative, displayHistogram, fitPoints, formatCount, kindCounts, kindName, medianPositive,
  nearestPoint, previewCounts, samplingText,
} from './model';
import { KINDS, type KindCounts, type TripletTraits } from './protocol';
import '../lib/ui/ui.css'; // the controls' shared look
import './styles.css';
import '../lib/static_picture.css'; // hides the notebook's picture of the view beside it

type Model = AnyModel<TripletTraits>;

/** What tests (and a page around the view) can read: `root.nbviz`. */
export interface TripletHook {
  /** CSS px of item i in the scatter canvas, or null. */
  screenPosition(i: number): [number, number] | null;
  /** The margin shown now (the slider's, before Python hears of it). */
  readonly margin: number;
  /** The margin band and the clean gap of the distance axis (CSS px in its canvas); null without an anchor. */
  readonly strip: StripLayout | null;
  /** The positive whose band is drawn (index into the anchor's positives, nearest first); -1 without an anchor. */
  readonly selectedPositive: number;
}

const SHOWN = ['hard', 'semi_hard', 'easy'] as const; // rows / columns of the moved tables

function decoded(model: Model, key: keyof TripletTraits): DecodedArray | null {
  try {
    return decodeArray(model.get(key));
  } catch {
    return null;
  }
}

function render({ model, el: host }: Pick<RenderProps<TripletTraits>, 'model' | 'el'>): () => void {
  const { root, banner } = mountWidgetRoot(model, host, 'nbviz-triplets nbviz-ui-column');
  const title = el('div', 'nbviz-ts-title nbviz-ui-title');
  const summary = el('div', 'nbviz-ts-summary');
  const countsEl = el('span', 'nbviz-ts-counts');
  const samplingEl = el('span', 'nbviz-ts-sampling');
  summary.append(countsEl, samplingEl);
  const controls = el('div', 'nbviz-ts-controls');
  const slider = el('input', 'nbviz-ts-margin nbviz-ui-slider');
  slider.type = 'range';
  slider.min = '0';
  slider.step = 'any';
  slider.setAttribute('aria-label', 'margin');
  const marginValue = el('span', 'nbviz-ts-margin-value');
  const legend = el('div', 'nbviz-ts-legend');
  controls.append(el('span', 'nbviz-ts-margin-label nbviz-ui-caption', 'margin'), slider, marginValue, legend);
  const body = el('div', 'nbviz-ts-body');
  const scatter = el('canvas', 'nbviz-ts-scatter');
  const side = el('div', 'nbviz-ts-side');
  const anchorEl = el('div', 'nbviz-ts-anchor');
  const strip = el('canvas', 'nbviz-ts-strip');
  const mapCaption = el('div', 'nbviz-ts-caption',
    'every triplet of the anchor: a row per positive (nearest on top), negatives left to right (nearest first)');
  const map = el('canvas', 'nbviz-ts-map');
  const moved = el('div', 'nbviz-ts-moved');
  side.append(anchorEl, strip, mapCaption, map, moved);
  body.append(scatter, side);
  const histCaption = el('div', 'nbviz-ts-caption nbviz-ts-hist-caption');
  const hist = el('canvas', 'nbviz-ts-hist');
  root.append(title, summary, controls, body, histCaption, hist);

  let m = Number(model.get('margin'));
  let sel = -1;
  let screen: ArrayLike<number> = new Float32Array(0);
  let stripLayout: StripLayout | null = null;
  let anchor: AnchorData | null = null;
  let below: (v: number) => number = () => 0;

  const palette = (): Palette => {
    const kinds = paletteRows(decoded(model, 'kind_colors'));
    const accents = model.get('accents') ?? {};
    const theme = readTheme(root);
    return {
      kinds: kinds.map(cssColor),
      kindAlpha: (k, alpha) => cssColor([kinds[k][0], kinds[k][1], kinds[k][2], Math.round(255 * alpha)]),
      anchor: accents.anchor ?? theme.focus,
      positive: accents.positive ?? '#4c78a8',
      fg: theme.foreground || 'rgba(0, 0, 0, 0.87)',
      muted: resolveColor(root, 'var(--jp-ui-font-color2, rgba(0, 0, 0, 0.54))') || 'rgba(0, 0, 0, 0.54)',
      faint: resolveColor(root, 'var(--jp-border-color1, #bdbdbd)') || '#bdbdbd',
      labels: paletteRows(decoded(model, 'palette')).map(cssColor),
    };
  };
  let colors = palette();
  // The theme's colours resolve only once the view is in the page (hosts attach it after render).
  let themed = root.isConnected;

  const readAnchor = () => {
    const index = Number(model.get('anchor'));
    const [pos, posD, neg, negD] = (['anchor_pos', 'anchor_pos_d', 'anchor_neg', 'anchor_neg_d'] as const)
      .map((k) => decoded(model, k)?.data ?? null);
    anchor = index >= 0 && pos && posD && neg && negD && pos.length === posD.length && neg.length === negD.length
      ? { index, pos, posD, neg, negD, posD0: decoded(model, 'anchor_pos_d0')?.data ?? null,
        negD0: decoded(model, 'anchor_neg_d0')?.data ?? null }
      : null;
    if (!anchor || sel >= anchor.pos.length) sel = -1;
  };
  const readHistogram = () => {
    const fractions = decoded(model, 'diff_hist')?.data ?? new Float32Array(0);
    below = cumulative({ fractions, start: Number(model.get('diff_start')), step: Number(model.get('diff_step')) });
  };

  const movedTable = (caption: string, counts: number[][] | null): HTMLElement => {
    const box = el('div', 'nbviz-ts-moved-box');
    box.append(el('div', 'nbviz-ts-caption', caption));
    if (!counts) {
      box.append(el('div', 'nbviz-ts-caption', 'too many triplets to recount while the slider moves'));
      return box;
    }
    const table = el('table', 'nbviz-ts-moved-table');
    const head = el('tr', '');
    head.append(el('th', '', 'before \u2192 now'), ...SHOWN.map((k) => el('th', '', kindName(k))));
    table.append(head);
    for (const b of SHOWN) {
      const tr = el('tr', '');
      tr.append(el('th', '', kindName(b)));
      for (const a of SHOWN) {
        const td = el('td', b === a ? 'nbviz-ts-same' : 'nbviz-ts-changed',
          formatCount(counts[KINDS.indexOf(b)]?.[KINDS.indexOf(a)] ?? 0));
        td.dataset.from = b;
        td.dataset.to = a;
        tr.append(td);
      }
      table.append(tr);
    }
    box.append(table);
    return box;
  };

  const draw = () => {
    if (!themed && root.isConnected) {
      themed = true;
      colors = palette();
      drawLegend();
    }
    const width = Math.max(root.clientWidth || 860, 520);
    const left = Math.max(260, Math.min(560, Math.floor((width - 16) * 0.5)));
    const right = Math.max(240, width - left - 24);
    const height = Math.max(120, Number(model.get('height')) || 360);
    title.textContent = model.get('title') ?? '';
    title.hidden = !title.textContent;
    const pyMargin = Number(model.get('margin'));
    const exact = { easy: 0, semi_hard: 0, hard: 0, ...(model.get('counts') ?? {}) } as KindCounts;
    const sampling = model.get('sampling') ?? {};
    const total = Number(sampling.total ?? 0);
    const live = m !== pyMargin;
    const shown = live ? previewCounts(below, total, exact, pyMargin, m) : exact;
    countsEl.textContent = `${live ? '\u2248 ' : ''}${countsText(shown)} of ${formatCount(total)} triplets`;
    countsEl.title = live ? 'from the histogram; exact counts once the slider is released' : 'exact';
    samplingEl.textContent = samplingText(sampling);
    marginValue.textContent = `${+m.toPrecision(3)}`;

    const points = decoded(model, 'points');
    const codes = decoded(model, 'codes')?.data ?? null;
    const sctx = prepare(scatter, left, height);
    screen = points ? fitPoints(points.data, left, height) : new Float32Array(0);
    const selected = anchor ? (sel >= 0 ? sel : medianPositive(anchor.pos.length)) : -1;
    if (sctx) drawScatter(sctx, screen, codes, colors, anchor, selected, m);

    const classes = model.get('classes') ?? [];
    const a = anchor;
    strip.hidden = map.hidden = mapCaption.hidden = !a;
    stripLayout = null;
    if (a) {
      const c = kindCounts(a.posD, a.negD, m);
      const code = codes ? Number(codes[a.index]) : -1;
      anchorEl.textContent = `anchor #${a.index} (${classes[code] ?? '?'}): ${formatCount(a.pos.length)} positives, ` +
        `${formatCount(a.neg.length)} negatives \u2014 ${countsText(c)}. Band: positive ${selected + 1} of ` +
        `${a.pos.length} (the median by default; click a row of the map).`;
      let top = Math.max(a.negD[a.negD.length - 1] ?? 0, (a.posD[a.posD.length - 1] ?? 0) + Number(model.get('max_margin')));
      for (const arr of [a.negD0, a.posD0]) if (arr) for (let k = 0; k < arr.length; k++) top = Math.max(top, arr[k]);
      const tctx = prepare(strip, right, stripHeight(!!a.negD0));
      if (tctx) stripLayout = drawStrip(tctx, right, a, selected, m, top * 1.02 || 1, colors);
      const mctx = prepare(map, right, Math.max(60, height - stripHeight(!!a.negD0) - 70));
      if (mctx) drawMap(mctx, right, Math.max(60, height - stripHeight(!!a.negD0) - 70), a.posD, a.negD, selected, m, colors);
    } else {
      anchorEl.textContent = Number(model.get('anchor')) >= 0 ? 'waiting for the kernel to send the anchor\u2019s distances\u2026'
        : 'Click a point to choose an anchor: its positives, its negatives and the margin band show here.';
    }
    moved.replaceChildren();
    if (model.get('has_before')) {
      const ms = model.get('moves_sampling') ?? {};
      moved.append(movedTable(`triplets that moved, whole set at margin ${+pyMargin.toPrecision(3)}` +
        (ms.sampled ? ` (over ${formatCount(ms.n_anchors ?? 0)} sampled anchors)` : ''), model.get('moved_counts') ?? []));
      if (a && a.posD0 && a.negD0) {
        moved.append(movedTable(`this anchor at margin ${+m.toPrecision(3)}`, anchorMoves(a.posD0, a.negD0, a.posD, a.negD, m)));
      }
    }
    const { edges, fractions } = displayHistogram({
      fractions: decoded(model, 'diff_hist')?.data ?? [], start: Number(model.get('diff_start')),
      step: Number(model.get('diff_step')),
    }, Number(model.get('max_margin')));
    histCaption.textContent = `d(a, n) \u2212 d(a, p) over ${formatCount(total)} triplets (${samplingText(sampling)}): ` +
      'hard below 0, semi-hard from 0 to the margin, easy beyond';
    const hctx = prepare(hist, width - 8, 130);
    if (hctx) drawHistogram(hctx, width - 8, 130, edges, fractions, m, colors);
    root.dataset.nbvizReady = 'true';
  };

  const drawLegend = () => {
    legend.replaceChildren();
    const items: Array<[string, string]> = [['hard', colors.kinds[2]], ['semi-hard', colors.kinds[1]],
      ['easy', colors.kinds[0]], ['anchor', colors.anchor], ['positive', colors.positive]];
    if (model.get('has_before')) items.push(['changed kind since before (ring)', colors.fg]);
    for (const [name, color] of items) {
      const item = el('span', 'nbviz-ts-legend-item');
      const swatch = el('span', 'nbviz-ts-swatch');
      swatch.style.background = color;
      item.append(swatch, el('span', '', name));
      legend.append(item);
    }
  };

  const syncSlider = () => {
    slider.max = String(Number(model.get('max_margin')) || 1);
    m = Number(model.get('margin'));
    slider.value = String(m);
  };

  slider.addEventListener('input', () => {
    m = Number(slider.value);
    draw();
  });
  slider.addEventListener('change', () => {
    model.set('margin', Number(slider.value));
    model.save_changes();
  });
  scatter.addEventListener('click', (ev) => {
    const i = nearestPoint(screen, ev.offsetX, ev.offsetY, 8);
    if (i < 0) return;
    sel = -1;
    model.set('anchor', i);
    model.save_changes();
    readAnchor();
    draw();
  });
  map.addEventListener('click', (ev) => {
    if (!anchor) return;
    sel = Math.min(Math.floor((ev.offsetY / map.clientHeight) * anchor.pos.length), anchor.pos.length - 1);
    draw();
  });

  const onMargin = () => {
    syncSlider();
    draw();
  };
  const onAnchor = () => {
    readAnchor();
    draw();
  };
  const onHist = () => {
    readHistogram();
    draw();
  };
  const onTheme = () => {
    colors = palette();
    drawLegend();
    draw();
  };
  // One table of trait -> handler, registered here and removed on teardown.
  const handlers: Array<[string, () => void]> = [
    ...['margin', 'max_margin'].map((e) => [e, onMargin] as [string, () => void]),
    ...['anchor', 'anchor_pos', 'anchor_pos_d', 'anchor_neg', 'anchor_neg_d', 'anchor_pos_d0', 'anchor_neg_d0']
      .map((e) => [e, onAnchor] as [string, () => void]),
    ...['diff_hist', 'diff_start', 'diff_step'].map((e) => [e, onHist] as [string, () => void]),
    ...['kind_colors', 'palette', 'accents'].map((e) => [e, onTheme] as [string, () => void]),
    ...['title', 'height', 'points', 'codes', 'classes', 'counts', 'sampling', 'moved_counts', 'moves_sampling',
      'has_before'].map((e) => [e, draw] as [string, () => void]),
  ];
  for (const [name, fn] of handlers) model.on(`change:${name}`, fn);
  const unwatch = watchTheme(onTheme);
  // Redrawn when the width changes (a sidebar opens); the canvases' own heights do not feed back.
  let lastWidth = root.clientWidth;
  const resize = typeof ResizeObserver === 'function' ? new ResizeObserver(() => {
    if (root.clientWidth !== lastWidth) {
      lastWidth = root.clientWidth;
      draw();
    }
  }) : null;
  resize?.observe(root);

  const hook: TripletHook = {
    screenPosition: (i) => (i >= 0 && 2 * i + 1 < screen.length ? [screen[2 * i], screen[2 * i + 1]] : null),
    get margin() {
      return m;
    },
    get strip() {
      return stripLayout;
    },
    get selectedPositive() {
      return anchor ? (sel >= 0 ? sel : medianPositive(anchor.pos.length)) : -1;
    },
  };
  (root as HTMLElement & { nbviz?: TripletHook }).nbviz = hook;

  syncSlider();
  readAnchor();
  readHistogram();
  drawLegend();
  draw();
  return () => {
    for (const [name, fn] of handlers) model.off(`change:${name}`, fn);
    unwatch();
    resize?.disconnect();
    banner.destroy();
    root.remove();
  };
}

export default { render };
