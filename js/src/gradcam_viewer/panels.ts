// Side panels: the top classes (click one to re-target) and the saliency confusion matrix header texts.
// Every name is set with textContent: class names come from users.

import { el } from '../lib/dom';
import type { ConfusionInfo, TopClass } from './protocol';

/** `target` values besides a class index (as in Python): each image's predicted class, or its true class. */
export const PREDICTED = -1;
export const TRUE_CLASS = -2;

export function renderTopClasses(
  parent: HTMLElement, classes: TopClass[], shown: number, target: number, onPick: (cls: number) => void,
  trueName = '',
): void {
  parent.replaceChildren(el('div', 'nbviz-gc-heading', 'Top classes'));
  const modes: Array<[number, string]> = [[PREDICTED, 'predicted class']];
  if (trueName) modes.push([TRUE_CLASS, `true class (${trueName})`]);
  for (const [value, text] of modes) {
    const mode = el('button', `nbviz-gc-class nbviz-gc-predicted${value === TRUE_CLASS ? ' nbviz-gc-true' : ''}`, text);
    mode.type = 'button';
    mode.classList.toggle('nbviz-gc-active', target === value);
    mode.addEventListener('click', () => onPick(value));
    parent.append(mode);
  }
  for (const c of classes) {
    const row = el('button', 'nbviz-gc-class');
    row.type = 'button';
    row.dataset.class = String(c.index);
    row.classList.toggle('nbviz-gc-active', c.index === shown);
    const bar = el('span', 'nbviz-gc-bar');
    bar.style.width = `${Math.round(100 * Math.min(Math.max(c.probability, 0), 1))}%`;
    row.append(bar, el('span', 'nbviz-gc-name', c.name), el('span', 'nbviz-gc-prob', `${(100 * c.probability).toFixed(1)}%`));
    row.addEventListener('click', () => onPick(c.index));
    parent.append(row);
  }
}

/** Row headings of the 2 x 2 confusion grid (its columns: evidence for, against): the predicted and the true class. */
export function confusionRows(info: ConfusionInfo): string[] {
  const names = info.names ?? ['?', '?'];
  const probs = info.probabilities ?? [0, 0];
  return ['predicted', 'true'].map((what, r) => `${what} ${names[r]} (${(100 * (probs[r] ?? 0)).toFixed(1)}%)`);
}
