// The details panel: a module's type, output shape, parameters (shapes and counts) and repr, as text only.

import { el } from '../lib/dom';
import { fmtCount } from './draw';

export interface Details {
  path: string;
  type: string;
  params: Array<{ name: string; shape: number[]; count: number; trainable: boolean }>;
  total: number;
  more: number;
  repr: string;
  shape: number[];
  unusable: string;
}

export function renderDetails(panel: HTMLElement, d: Details | null, message = ''): void {
  panel.replaceChildren();
  if (!d) {
    panel.append(el('div', 'nbviz-mg-hint', message || 'Click a node to see its parameters.'));
    return;
  }
  panel.append(el('div', 'nbviz-mg-dpath', d.path || '(model)'), el('div', 'nbviz-mg-dtype', d.type));
  if (d.shape.length) panel.append(el('div', 'nbviz-mg-dshape', `output (${d.shape.join(', ')})`));
  if (d.unusable) panel.append(el('div', 'nbviz-mg-unusable', d.unusable));
  panel.append(el('div', 'nbviz-mg-dtotal', `${fmtCount(d.total)} parameters (${d.total})`));
  const table = el('table', 'nbviz-mg-params');
  for (const p of d.params) {
    const row = el('tr', 'nbviz-mg-param');
    row.append(el('td', 'nbviz-mg-pname', p.name), el('td', 'nbviz-mg-pshape', `(${p.shape.join(', ')})`),
      el('td', 'nbviz-mg-pcount', String(p.count)));
    if (!p.trainable) row.classList.add('nbviz-mg-frozen');
    table.append(row);
  }
  if (d.more) panel.append(el('div', 'nbviz-mg-hint', `and ${d.more} more`));
  panel.append(table, el('pre', 'nbviz-mg-repr', d.repr));
}
