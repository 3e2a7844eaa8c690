// Components view: one column per principal component with the items at both extremes (images or text), a
// slider walking along a component, a correlation heatmap and a summary / sortable item table (compare mode).
// Python (nbviz/widgets/components_view.py) computes everything; clicks write traits back.

import type { AnyModel, RenderProps } from '@anywidget/types';
import { decodeArray } from '../lib/codecs';
import { el } from '../lib/dom';
import { mountWidgetRoot } from '../lib/error_banner';
import { createRequester } from '../lib/requests';
import { statusLine } from '../lib/ui/toolbar';
import { imageSource } from './images';
import { axesFor, formatCorr, heatColor, heatText, nextSort, tableRows, type SortKey } from './model';
import type { Column, ComponentsTraits } from './protocol';
import '../lib/ui/ui.css'; // the controls' shared look
import './styles.css';
import '../lib/static_picture.css'; // hides the notebook's picture of the view beside it

type Model = AnyModel<ComponentsTraits>;

function send<K extends keyof ComponentsTraits>(model: Model, key: K, value: ComponentsTraits[K]): void {
  model.set(key, value);
  model.save_changes();
}

function render({ model, el: host }: Pick<RenderProps<ComponentsTraits>, 'model' | 'el'>): () => void {
  const { root, banner } = mountWidgetRoot(model, host, 'nbviz-components nbviz-ui-column');
  const title = el('div', 'nbviz-cv-title nbviz-ui-title');
  const summary = el('div', 'nbviz-cv-summary');
  const columns = el('div', 'nbviz-cv-columns');
  const walk = el('div', 'nbviz-cv-walk');
  const heat = el('div', 'nbviz-cv-heatmap');
  const status = statusLine(); // e.g. compare()'s measures, recomputed for a new layout in the background
  root.append(title, status.root, summary, columns, walk, heat);
  const onStatus = () => status.update(Number(model.get('progress') ?? -1), String(model.get('status') ?? ''));
  onStatus();

  const requester = createRequester(model as unknown as Parameters<typeof createRequester>[0]);
  const size = Math.max(8, Number(model.get('image_size')) || 64);
  const images = imageSource(requester, () => Boolean(model.get('has_images')), size);
  let sort: { key: SortKey; ascending: boolean } = { key: 'value', ascending: true };

  const pick = (index: number) => send(model, 'picked', index);
  const tile = (index: number, text: string) => {
    const t = images.tile(index, text, 'nbviz-cv-item');
    t.addEventListener('click', () => pick(index));
    return t;
  };

  const renderTable = (col: Column): HTMLElement => {
    const box = el('div', 'nbviz-cv-table-box');
    const table = el('table', 'nbviz-cv-table');
    const head = el('tr', 'nbviz-cv-head');
    const headers: Array<[SortKey, string]> = [['index', 'item'], ['text', 'label'], ['value', 'agreement']];
    for (const [key, text] of headers) {
      const th = el('th', 'nbviz-cv-sort', text + (sort.key === key ? (sort.ascending ? ' \u25b2' : ' \u25bc') : ''));
      th.dataset.key = key;
      th.addEventListener('click', () => {
        sort = nextSort(sort, key);
        draw();
      });
      head.append(th);
    }
    table.append(head);
    for (const row of tableRows(col, sort.key, sort.ascending)) {
      const tr = el('tr', 'nbviz-cv-row');
      tr.dataset.index = String(row.index);
      const cell = el('td', 'nbviz-cv-cell-item');
      cell.append(tile(row.index, row.text));
      tr.append(cell, el('td', 'nbviz-cv-cell-text', row.text), el('td', 'nbviz-cv-cell-value', row.value.toFixed(3)));
      tr.addEventListener('click', () => pick(row.index));
      table.append(tr);
    }
    box.append(el('div', 'nbviz-cv-col-title', col.title), table);
    return box;
  };

  const renderColumn = (col: Column, n: number, active: number[]): HTMLElement => {
    const box = el('div', 'nbviz-cv-column');
    box.dataset.component = String(col.index);
    if (active.includes(col.index)) box.classList.add('nbviz-cv-active');
    const head = el('button', 'nbviz-cv-col-title', col.title);
    head.type = 'button';
    head.title = 'Click: this component \u00d7 the next on the scatter\u2019s axes. Shift-click: this one on the y axis';
    head.addEventListener('click', (ev) => send(model, 'active', axesFor(col.index, n, active, ev.shiftKey)));
    const high = el('div', 'nbviz-cv-end nbviz-cv-high');
    high.append(el('div', 'nbviz-cv-end-label', 'high'));
    col.high.forEach((i, k) => high.append(tile(i, col.high_text[k] ?? '')));
    const low = el('div', 'nbviz-cv-end nbviz-cv-low');
    low.append(el('div', 'nbviz-cv-end-label', 'low'));
    col.low.forEach((i, k) => low.append(tile(i, col.low_text[k] ?? '')));
    box.append(head, high, low);
    return box;
  };

  const renderWalk = () => {
    walk.replaceChildren();
    const positions = model.get('walk_positions') ?? [];
    const cols = model.get('columns') ?? [];
    if (!positions.length || !cols.length || cols[0].kind === 'table') {
      walk.hidden = true;
      return;
    }
    walk.hidden = false;
    const pickComp = el('select', 'nbviz-cv-walk-component nbviz-ui-select');
    cols.forEach((c) => {
      const o = el('option', '', c.title);
      o.value = String(c.index);
      pickComp.append(o);
    });
    pickComp.value = String(model.get('walk_component'));
    pickComp.addEventListener('change', () => send(model, 'walk_component', Number(pickComp.value)));
    const slider = el('input', 'nbviz-cv-walk-slider nbviz-ui-slider');
    slider.type = 'range';
    slider.min = '0';
    slider.max = String(positions.length - 1);
    slider.value = String(model.get('walk_step'));
    slider.addEventListener('input', () => send(model, 'walk_step', Number(slider.value)));
    const step = Number(model.get('walk_step'));
    const where = el('span', 'nbviz-cv-walk-pos', `position ${(positions[step] ?? 0).toFixed(2)}`);
    const items = el('div', 'nbviz-cv-walk-items');
    const text = model.get('walk_text') ?? [];
    (model.get('walk_indices') ?? []).forEach((i, k) => items.append(tile(i, text[k] ?? '')));
    walk.append(el('span', 'nbviz-cv-walk-label nbviz-ui-caption', 'Walk along'), pickComp, slider, where, items);
  };

  const renderHeat = () => {
    heat.replaceChildren();
    const decoded = decodeArray(model.get('correlations'));
    const names = model.get('corr_columns') ?? [];
    if (!decoded || decoded.shape.length !== 2 || !names.length) {
      heat.hidden = true;
      return;
    }
    heat.hidden = false;
    const [rows, cols] = decoded.shape;
    const table = el('table', 'nbviz-cv-heat');
    const head = el('tr', 'nbviz-cv-heat-head');
    head.append(el('th', '', ''));
    names.forEach((n) => head.append(el('th', 'nbviz-cv-heat-col', n)));
    table.append(head);
    const cell = model.get('corr_cell') ?? [];
    for (let i = 0; i < rows; i++) {
      const tr = el('tr', 'nbviz-cv-heat-row');
      tr.append(el('th', 'nbviz-cv-heat-rowname', `PC${i + 1}`));
      for (let j = 0; j < cols; j++) {
        const r = Number(decoded.data[i * cols + j]);
        const td = el('td', 'nbviz-cv-heat-cell', formatCorr(r));
        td.style.background = heatColor(r);
        td.style.color = heatText(r);
        td.dataset.row = String(i);
        td.dataset.col = String(j);
        td.title = `PC${i + 1} vs ${names[j]}: ${formatCorr(r)}`;
        if (cell[0] === i && cell[1] === j) td.classList.add('nbviz-cv-heat-on');
        td.addEventListener('click', () => send(model, 'corr_cell', [i, j]));
        tr.append(td);
      }
      table.append(tr);
    }
    heat.append(el('div', 'nbviz-cv-heat-title', 'Correlation with labels (one vs rest) and metadata'), table);
  };

  const draw = () => {
    title.textContent = model.get('title') ?? '';
    summary.replaceChildren();
    for (const row of model.get('summary') ?? []) {
      const r = el('div', 'nbviz-cv-summary-row');
      r.append(el('span', 'nbviz-cv-summary-name', row.name), el('span', 'nbviz-cv-summary-value', row.value));
      summary.append(r);
    }
    summary.hidden = !summary.childElementCount;
    const cols = model.get('columns') ?? [];
    const active = model.get('active') ?? [];
    columns.replaceChildren(...cols.map((c) => (c.kind === 'table' ? renderTable(c) : renderColumn(c, cols.length, active))));
    renderWalk();
    renderHeat();
    root.dataset.nbvizReady = 'true';
  };

  const events = ['title', 'summary', 'columns', 'active', 'walk_positions', 'walk_indices', 'walk_step',
    'walk_component', 'correlations', 'corr_columns', 'corr_cell', 'has_images'];
  for (const e of events) model.on(`change:${e}`, draw);
  model.on('change:progress', onStatus);
  model.on('change:status', onStatus);
  draw();
  return () => {
    for (const e of events) model.off(`change:${e}`, draw);
    model.off('change:progress', onStatus);
    model.off('change:status', onStatus);
    requester.dispose();
    images.dispose();
    banner.destroy();
    root.remove();
  };
}

export default { render };
