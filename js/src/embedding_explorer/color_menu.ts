// The colour-by menu (label, cluster, value, metadata columns: what Python offers in `color_options`) and the
// title line saying what is plotted (`plot_title`). Option and column names come from users: text only.

import { compactSelect, group, titleLine as kitTitleLine } from '../lib/ui/toolbar';

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
  const menu = compactSelect('colour by', 'nbviz-tool nbviz-color-by', onPick, 'nbviz-color-by-select');
  const root = group('colour', '', menu.root);
  menu.root.title = 'Colour the points by a label, cluster, value or metadata column';
  return {
    root,
    sync(options, current) {
      menu.setOptions(options, options.map(optionText));
      menu.input.value = current;
      // One choice (or none) is no choice: the menu shows only when there is something to switch to.
      root.hidden = options.length < 2;
    },
  };
}

/** The line above the plot saying what it shows. */
export function titleLine(): { root: HTMLElement; sync(text: string): void } {
  return kitTitleLine('nbviz-plot-title');
}
