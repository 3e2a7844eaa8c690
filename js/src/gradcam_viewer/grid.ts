// The batch as a grid of thumbnails cut from one atlas PNG; wrong predictions marked; a click picks the image.

import { el } from '../lib/dom';
import { isWrong, sortOrder, type BatchInfo } from './sorting';
import type { SortBy } from './protocol';

export interface Grid {
  root: HTMLElement;
  update(atlasUrl: string, columns: number, cell: number, info: BatchInfo, by: SortBy, names: string[]): void;
  select(index: number): void;
}

export function mountGrid(onPick: (index: number) => void): Grid {
  const root = el('div', 'nbviz-gc-grid');
  let cells: HTMLElement[] = [];
  const onClick = (e: Event) => {
    const cell = (e.target as HTMLElement).closest<HTMLElement>('.nbviz-gc-cell');
    if (cell && root.contains(cell)) onPick(Number(cell.dataset.index));
  };
  root.addEventListener('click', onClick);
  return {
    root,
    update(atlasUrl, columns, cell, info, by, names) {
      root.replaceChildren();
      cells = [];
      const shown = Math.max(24, Math.min(cell, 48));
      for (const i of sortOrder(info, by)) {
        const c = el('button', 'nbviz-gc-cell');
        c.type = 'button';
        c.dataset.index = String(i);
        const scale = shown / cell;
        const rows = Math.ceil(info.predictions.length / Math.max(columns, 1));
        c.style.width = c.style.height = `${shown}px`;
        c.style.backgroundImage = `url(${atlasUrl})`;
        c.style.backgroundSize = `${columns * shown}px ${rows * shown}px`;
        c.style.backgroundPosition = `${-(i % columns) * cell * scale}px ${-Math.floor(i / columns) * cell * scale}px`;
        const pred = names[info.predictions[i]] ?? String(info.predictions[i]);
        const label = info.labels[i] >= 0 ? names[info.labels[i]] ?? String(info.labels[i]) : '';
        // title is an attribute set as text: class names from users stay text.
        c.title = `#${i}: predicted ${pred} (${(100 * info.confidences[i]).toFixed(1)}%)${label ? `, true ${label}` : ''}`;
        if (isWrong(info, i)) c.classList.add('nbviz-gc-wrong');
        cells[i] = c;
        root.append(c);
      }
    },
    select(index) {
      for (const c of cells) c?.classList.toggle('nbviz-gc-selected', Number(c.dataset.index) === index);
    },
  };
}
