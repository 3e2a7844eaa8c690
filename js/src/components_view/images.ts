// Item images fetched from Python on demand ('images' request), cached by index, shown as <img> or as text.

import { el } from '../lib/dom';
import { Lru } from '../lib/lru';
import { pngUrl, type Requester } from '../lib/requests';
import type { ImagesReply, ImagesRequest } from './protocol';

export interface ImageSource {
  /** An element for item `index`: its image when there are images (filled when it arrives), else `text`. */
  tile(index: number, text: string, className: string): HTMLElement;
  dispose(): void;
}

export function imageSource(requester: Requester, hasImages: () => boolean, size: number): ImageSource {
  const cache = new Lru<number, string>(512, (url) => URL.revokeObjectURL(url));
  const pending = new Map<number, HTMLImageElement[]>();
  let queued: number[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;

  const flush = () => {
    timer = null;
    const indices = queued;
    queued = [];
    if (!indices.length) return;
    const payload: ImagesRequest = { indices, size };
    requester
      .request<ImagesReply>('images', payload)
      .then(({ content, buffers }) => {
        content.indices.forEach((index, k) => {
          const url = pngUrl(buffers[k]);
          cache.set(index, url);
          for (const img of pending.get(index) ?? []) img.src = url;
          pending.delete(index);
        });
      })
      .catch(() => {
        for (const i of indices) pending.delete(i);
      });
  };

  return {
    tile(index, text, className) {
      const tile = el('div', className);
      tile.dataset.index = String(index);
      tile.title = text;
      if (!hasImages()) {
        tile.append(el('span', 'nbviz-cv-text', text));
        return tile;
      }
      const img = el('img', 'nbviz-cv-img');
      img.alt = text;
      img.width = size;
      img.height = size;
      tile.append(img);
      const url = cache.get(index);
      if (url) {
        img.src = url;
      } else {
        if (!pending.has(index)) {
          pending.set(index, []);
          queued.push(index);
        }
        pending.get(index)?.push(img);
        // One request for all the tiles made in this tick.
        if (timer === null) timer = setTimeout(flush, 0);
      }
      return tile;
    },
    dispose() {
      if (timer !== null) clearTimeout(timer);
      cache.clear();
    },
  };
}
