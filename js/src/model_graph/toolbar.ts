// ModelGraph's toolbar, from lib/ui's kit: search (/ focuses it), its hit count, Fit view (F), Collapse all (C)
// and the node count. index.ts wires them to the graph.

import { el } from '../lib/dom';
import { button, field, group, setShortcut, toolbar as uiToolbar } from '../lib/ui/toolbar';

export interface GraphToolbar {
  toolbar: HTMLElement;
  searchBox: HTMLInputElement;
  hitsLabel: HTMLElement;
  fitButton: HTMLButtonElement;
  collapseButton: HTMLButtonElement;
  count: HTMLElement;
}

export function buildToolbar(): GraphToolbar {
  const searchBox = el('input', 'nbviz-ui-input nbviz-mg-search');
  searchBox.type = 'search';
  searchBox.placeholder = 'search name or type';
  searchBox.setAttribute('aria-label', 'search modules by name or type');
  searchBox.title = 'Search modules by name or type; Enter opens and selects the first (/)';
  setShortcut(searchBox, '/');
  const hitsLabel = el('span', 'nbviz-ui-readout nbviz-mg-hits');
  const fitButton = button({ label: 'Fit view', icon: 'fit', shortcut: 'f', className: 'nbviz-mg-fit',
    tip: 'Fit view: the whole graph' });
  const collapseButton = button({ label: 'Collapse all', icon: 'collapse', text: 'Collapse all', shortcut: 'c',
    className: 'nbviz-mg-collapse', tip: 'Collapse all: close every open module' });
  const count = el('span', 'nbviz-ui-readout nbviz-mg-count');
  const toolbar = uiToolbar('nbviz-mg-toolbar', 'graph tools');
  toolbar.append(
    group('search', 'nbviz-mg-search-group', field('', searchBox), hitsLabel),
    group('view', 'nbviz-mg-view-group', fitButton, collapseButton),
    group('size', 'nbviz-mg-count-group', count),
  );
  return { toolbar, searchBox, hitsLabel, fitButton, collapseButton, count };
}
