// Category legend: swatch + name per category, text only (names come from users). A click hides or shows a
// category; a double-click isolates it (or shows all again).

import { colorForCode, cssColor, type Rgba } from '../lib/colors';

export function renderLegend(
  el: HTMLElement,
  names: readonly string[],
  rows: Rgba[],
  hidden: ReadonlySet<number> = new Set(),
  title = '',
  onToggle?: (code: number, isolate: boolean) => void,
): void {
  el.replaceChildren();
  el.hidden = names.length === 0;
  if (title) {
    const head = document.createElement('div');
    head.className = 'nbviz-legend-title';
    head.textContent = title;
    el.append(head);
  }
  const list = document.createElement('ul');
  names.forEach((name, k) => {
    const item = document.createElement('li');
    item.dataset.code = String(k);
    if (hidden.has(k)) item.classList.add('nbviz-legend-hidden');
    const swatch = document.createElement('span');
    swatch.className = 'nbviz-swatch';
    swatch.style.background = cssColor(colorForCode(rows, k));
    const label = document.createElement('span');
    label.className = 'nbviz-legend-label';
    label.textContent = String(name);
    label.title = `${String(name)} (click: hide/show, double-click: only this)`;
    item.append(swatch, label);
    if (onToggle) {
      // A double-click also fires two clicks: wait briefly so it isolates without toggling twice.
      let timer: ReturnType<typeof setTimeout> | undefined;
      item.addEventListener('click', () => {
        clearTimeout(timer);
        timer = setTimeout(() => onToggle(k, false), 220);
      });
      item.addEventListener('dblclick', () => {
        clearTimeout(timer);
        onToggle(k, true);
      });
    }
    list.append(item);
  });
  el.append(list);
}
