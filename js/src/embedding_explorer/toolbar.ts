// Labelling bar for the toolbar above the plot (selection tools: selection.ts; layouts slider: layouts.ts).
// A small DOM builder; index.ts wires it to the model.

import { el } from '../lib/dom';

export interface LabelBar {
  root: HTMLElement;
  update(options: readonly string[], counts: Record<string, number>): void;
  setStatus(text: string): void;
  value(): string;
}

/** A label box with suggestions, "Label selection", a "label by click" toggle, and per-label counts. */
export function labelBar(onLabelSelection: (label: string) => void, onClickMode: (label: string) => void): LabelBar {
  const root = el('div', 'nbviz-tool nbviz-labelling');
  const listId = `nbviz-labels-${Math.random().toString(36).slice(2)}`;
  const input = el('input', 'nbviz-label-input');
  input.placeholder = 'label';
  input.setAttribute('list', listId);
  const list = el('datalist', '');
  list.id = listId;
  const apply = el('button', 'nbviz-label-selection', 'Label selection');
  apply.type = 'button';
  apply.addEventListener('click', () => onLabelSelection(input.value.trim()));
  const toggleWrap = el('label', 'nbviz-label-toggle-wrap', '');
  const toggle = el('input', 'nbviz-label-toggle');
  toggle.type = 'checkbox';
  toggleWrap.append(toggle, document.createTextNode(' label by click'));
  const sync = () => onClickMode(toggle.checked ? input.value.trim() : '');
  toggle.addEventListener('change', sync);
  input.addEventListener('change', () => toggle.checked && sync());
  const counts = el('span', 'nbviz-label-counts');
  const status = el('span', 'nbviz-label-status');
  root.append(input, list, apply, toggleWrap, counts, status);
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
