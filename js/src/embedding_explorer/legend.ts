// Category legend: swatch + name per category, text only (names come from users).

import { colorForCode, cssColor, type Rgba } from '../lib/colors';

export function renderLegend(el: HTMLElement, names: readonly string[], rows: Rgba[]): void {
  el.replaceChildren();
  el.hidden = names.length === 0;
  const list = document.createElement('ul');
  names.forEach((name, k) => {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'nbviz-swatch';
    swatch.style.background = cssColor(colorForCode(rows, k));
    const label = document.createElement('span');
    label.className = 'nbviz-legend-label';
    label.textContent = String(name);
    label.title = String(name);
    item.append(swatch, label);
    list.append(item);
  });
  el.append(list);
}
