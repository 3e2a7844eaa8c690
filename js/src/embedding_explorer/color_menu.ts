// The colour-by menu (label, cluster, value, metadata columns: what Python offers in `color_options`) and the
// title line saying what is plotted (`plot_title`). Option and column names come from users: text only.

import { el } from '../lib/dom';

export interface ColorMenu {
  root: HTMLElement;
  /** `change:color_options` / `change:color_source`: rebuild the options, show the current one. */
  sync(options: readonly string[], current: string): void;
}

/** What an option reads as in the menu: "column:age" is the metadata column "age". */
export function optionText(option: string): string {
  return option.startsWith('column:') ? option.slice('column:'.length) : option;
}

export function colorMenu(onPick: (option: string) => void): ColorMenu {
  const root = el('label', 'nbviz-tool nbviz-color-by');
  root.title = 'Colour the points by a label, cluster, value or metadata column';
  const select = el('select', 'nbviz-color-by-select');
  select.setAttribute('aria-label', 'colour by');
  root.append(el('span', 'nbviz-tool-label', 'colour by'), select);
  select.addEventListener('change', () => onPick(select.value));
  return {
    root,
    sync(options, current) {
      select.replaceChildren(...options.map((o) => {
        const option = el('option', '', optionText(o));
        option.value = o;
        return option;
      }));
      select.value = current;
      // One choice (or none) is no choice: the menu shows only when there is something to switch to.
      root.hidden = options.length < 2;
    },
  };
}

/** The line above the plot saying what it shows. */
export function titleLine(): { root: HTMLElement; sync(text: string): void } {
  const root = el('div', 'nbviz-plot-title');
  return {
    root,
    sync(text) {
      root.textContent = text;
      root.hidden = !text;
    },
  };
}
