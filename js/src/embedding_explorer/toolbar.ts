// Labelling bar for the toolbar above the plot (selection tools: selection.ts; layouts slider: layouts.ts).
// A small DOM builder; index.ts wires it to the model.

import { el } from '../lib/dom';
import { button, group, toggleBox } from '../lib/ui/toolbar';

export interface LabelBar {
  root: HTMLElement;
  update(options: readonly string[], counts: Record<string, number>): void;
  setStatus(text: string): void;
  value(): string;
}

/** A label box with suggestions, "Label selection", a "Label by click" toggle, and per-label counts. */
export function labelBar(onLabelSelection: (label: string) => void, onClickMode: (label: string) => void): LabelBar {
  const listId = `nbviz-labels-${Math.random().toString(36).slice(2)}`;
  const input = el('input', 'nbviz-label-input nbviz-ui-input');
  input.placeholder = 'label';
  input.setAttribute('aria-label', 'label name');
  input.setAttribute('list', listId);
  const list = el('datalist', '');
  list.id = listId;
  const apply = button({ label: 'Label selection', icon: 'tag', text: 'Label selection',
    className: 'nbviz-label-selection nbviz-ui-outlined', tip: 'Label selection: give the selected points the label in the box' });
  apply.addEventListener('click', () => onLabelSelection(input.value.trim()));
  // A toggle (a checkbox, as panels.ts's syncActiveLabel sets it): while on, a click on a point or a neighbour
  // tile gives it the label.
  const { root: toggleRoot, input: toggle } = toggleBox({ label: 'Label by click', icon: 'click', text: 'by click',
    className: 'nbviz-label-toggle-wrap', inputClass: 'nbviz-label-toggle',
    tip: 'Label by click: a click on a point gives it the label' });
  const sync = () => onClickMode(toggle.checked ? input.value.trim() : '');
  toggle.addEventListener('change', sync);
  input.addEventListener('change', () => toggle.checked && sync());
  const counts = el('span', 'nbviz-label-counts');
  const status = el('span', 'nbviz-label-status');
  const root = group('labelling', 'nbviz-tool nbviz-labelling', input, list, apply, toggleRoot, counts, status);
  return {
    root,
    update(options, c) {
      list.replaceChildren(...options.map((o) => Object.assign(document.createElement('option'), { value: o })));
      counts.replaceChildren(
        ...Object.entries(c).map(([name, k]) => el('span', 'nbviz-chip', `${name}: ${k}`)),
      );
    },
    setStatus(text) {
      status.textContent = text;
    },
    value: () => input.value.trim(),
  };
}
