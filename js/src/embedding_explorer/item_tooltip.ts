// Tooltip details: on hover, the item's image and metadata rows (asked from Python, cached) go under the
// tooltip's `#index · label` line. Metadata is user text: textContent only.

import { Lru } from '../lib/lru';
import { pngUrl, type Requester } from '../lib/requests';

interface ItemReply {
  index: number;
  label: string;
  metadata: Record<string, string>;
}

interface Item {
  url: string | null;
  rows: Array<[string, string]>;
}

/** Hover must rest this long before a request goes out, so sweeping over points sends nothing. */
export const HOVER_DELAY_MS = 80;

export interface ItemTooltip {
  /** The tooltip now shows item `i` (its text line is already set); -1 when it is hidden. */
  hover(i: number): void;
  /** Forget cached items (the data changed). */
  clear(): void;
  destroy(): void;
}

/** `onResize` runs after details were added, so the caller can keep the tooltip inside the plot. */
export function itemTooltip(tip: HTMLElement, requester: Requester, onResize: () => void, capacity = 200): ItemTooltip {
  const cache = new Lru<number, Item>(capacity, (item) => item.url && URL.revokeObjectURL(item.url));
  let current = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const show = (i: number, item: Item) => {
    if (i !== current || tip.hidden) return;
    tip.querySelector(':scope > .nbviz-tooltip-item')?.remove();
    if (!item.url && item.rows.length === 0) return;
    const box = document.createElement('div');
    box.className = 'nbviz-tooltip-item';
    if (item.url) {
      const img = document.createElement('img');
      img.alt = `item ${i}`;
      img.src = item.url;
      img.addEventListener('load', onResize, { once: true });
      box.append(img);
    }
    if (item.rows.length) {
      const table = document.createElement('table');
      for (const [k, v] of item.rows) {
        const tr = table.insertRow();
        const th = document.createElement('th');
        th.textContent = k;
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(th, td);
      }
      box.append(table);
    }
    tip.append(box);
    onResize();
  };

  const fetchItem = (i: number) => {
    requester
      .request<ItemReply>('item', { index: i })
      .then(({ content, buffers }) => {
        const rows = Object.entries(content.metadata ?? {}).map(([k, v]) => [String(k), String(v)] as [string, string]);
        const item = { url: buffers[0] ? pngUrl(buffers[0]) : null, rows };
        cache.set(i, item);
        show(i, item);
      })
      // A failed lookup just leaves the plain tooltip; hovering is too frequent for error messages.
      .catch(() => undefined);
  };

  return {
    hover(i: number) {
      clearTimeout(timer);
      current = i;
      if (i < 0) return;
      const hit = cache.get(i);
      if (hit) show(i, hit);
      else timer = setTimeout(() => i === current && fetchItem(i), HOVER_DELAY_MS);
    },
    clear() {
      cache.clear();
    },
    destroy() {
      clearTimeout(timer);
      current = -1;
      cache.clear();
    },
  };
}
