// Panel: nbviz views laid out in a row or a column as ONE anywidget view (anywidget's widget composition,
// `host.getWidget`), so composites render where only anywidget views do (marimo) and carry anywidget's metadata
// (Colab). Children are references ("anywidget:<model id>") that Python keeps in the `children` trait.

import type { RenderProps } from '@anywidget/types';
import { el } from '../lib/dom';
import { mountWidgetRoot } from '../lib/error_banner';
import '../lib/static_picture.css';
import './styles.css';

export interface PanelTraits {
  children: string[];
  direction: 'row' | 'column';
  titles: string[];
  /** "row" only: 0 lets the views wrap freely; n >= 1 makes a grid of up to n views a row. */
  columns: number;
  error: string;
  error_details: string;
}

/** The class names of the panel's box for a direction and a column count (pure: tested without a DOM). */
export function boxClass(direction: string, columns = 0): string {
  if (direction === 'row' && columns > 0) return 'nbviz-panel-box nbviz-panel-grid';
  return `nbviz-panel-box nbviz-panel-${direction === 'row' ? 'row' : 'column'}`;
}

/** Lay out the box: its classes, and for a grid how many views a row at most (a CSS variable). */
function layoutBox(box: HTMLElement, direction: string, columns: number): void {
  const n = Math.max(0, Math.floor(Number(columns) || 0));
  box.className = boxClass(direction, n);
  if (direction === 'row' && n > 0) box.style.setProperty('--nbviz-panel-columns', String(n));
  else box.style.removeProperty('--nbviz-panel-columns');
}

async function render({ model, el: host, host: widgets, signal }: RenderProps<PanelTraits>): Promise<() => void> {
  const { root } = mountWidgetRoot(model, host, 'nbviz-panel');
  const box = el('div', boxClass(model.get('direction'), model.get('columns') ?? 0));
  root.append(box);
  let generation = 0;
  const draw = async () => {
    const mine = ++generation;
    layoutBox(box, model.get('direction'), model.get('columns') ?? 0);
    const titles = model.get('titles') ?? [];
    const slots = (model.get('children') ?? []).map((ref, i) => {
      const slot = el('div', 'nbviz-panel-slot');
      if (titles[i]) slot.append(el('div', 'nbviz-panel-title', titles[i]));
      const body = el('div', 'nbviz-panel-body');
      slot.append(body);
      return { ref, body, slot };
    });
    box.replaceChildren(...slots.map((s) => s.slot));
    // Children render one after another, in order: each is a full nbviz view that may take a moment.
    for (const { ref, body } of slots) {
      if (mine !== generation || signal?.aborted) return;
      try {
        const child = await widgets.getWidget(ref);
        await child.render({ el: body, signal });
      } catch (err) {
        body.append(el('div', 'nbviz-panel-missing', `could not show ${ref}: ${String(err)}`));
      }
    }
    root.dataset.nbvizReady = 'true';
  };
  const redraw = () => void draw();
  model.on('change:children', redraw);
  model.on('change:direction', redraw);
  model.on('change:titles', redraw);
  model.on('change:columns', redraw);
  await draw();
  return () => {
    generation++;
    model.off('change:children', redraw);
    model.off('change:direction', redraw);
    model.off('change:titles', redraw);
    model.off('change:columns', redraw);
  };
}

export default { render };
