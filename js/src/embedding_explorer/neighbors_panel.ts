// Neighbour panel: the focused item and its nearest neighbours in the N-D space, as an nside x nside grid.

import { pngUrl, type Requester } from '../lib/requests';

interface NeighborsReply {
  index: number;
  indices: number[];
  distances: number[];
  labels: string[];
}

export interface Tile {
  index: number;
  /** Position of the item in the reply (its buffer), so tiles can be reordered without losing images. */
  k: number;
  label: string;
  /** "query" for the focused item, else the distance to it. */
  distance: string;
  query: boolean;
}

/** Tiles in grid order: the query first (wherever the reply put it), then nearest first, at most nside². */
export function neighborTiles(reply: NeighborsReply, nside: number): Tile[] {
  const tiles = reply.indices.map((index, k) => {
    const d = Number(reply.distances?.[k]);
    return {
      index,
      k,
      label: String(reply.labels?.[k] ?? ''),
      distance: index === reply.index ? 'query' : Number.isFinite(d) ? d.toPrecision(3) : '',
      query: index === reply.index,
    };
  });
  const q = tiles.findIndex((t) => t.query);
  if (q > 0) tiles.unshift(...tiles.splice(q, 1));
  return tiles.slice(0, Math.max(nside, 0) ** 2);
}

export interface NeighborPanel {
  /** Neighbours of `focus` in the N-D space of feature set `layout` (the one shown). */
  show(focus: number, nside: number, layout?: number): void;
  destroy(): void;
}

/** `onPick(i)` runs when a tile other than the query is clicked. */
export function mountNeighborPanel(parent: HTMLElement, requester: Requester, onPick: (i: number) => void): NeighborPanel {
  const panel = document.createElement('div');
  panel.className = 'nbviz-neighbors';
  panel.hidden = true;
  parent.append(panel);
  let urls: string[] = [];
  let latest = -1;
  // Focus changes arrive twice for one click (the trait change and the click itself): one request is enough.
  let inFlight = '';
  let seq = 0;

  const clear = () => {
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    panel.replaceChildren();
    delete panel.dataset.for;
  };

  const render = (reply: NeighborsReply, buffers: DataView[], nside: number) => {
    clear();
    const title = document.createElement('div');
    title.className = 'nbviz-neighbors-title';
    title.textContent = `#${reply.index} and its ${reply.indices.length - 1} nearest neighbours`;
    const grid = document.createElement('div');
    grid.className = 'nbviz-neighbor-grid';
    grid.style.gridTemplateColumns = `repeat(${nside}, minmax(0, 1fr))`;
    const loads: Promise<unknown>[] = [];
    for (const { index: idx, k, label, distance: dist, query } of neighborTiles(reply, nside)) {
      const tile = document.createElement('button');
      tile.type = 'button';
      tile.className = query ? 'nbviz-neighbor nbviz-neighbor-query' : 'nbviz-neighbor';
      tile.dataset.index = String(idx);
      // No images (has_images false): a text tile, with the index large enough to read.
      if (!buffers[k]) tile.classList.add('nbviz-neighbor-text');
      if (buffers[k]) {
        const img = document.createElement('img');
        const url = pngUrl(buffers[k]);
        urls.push(url);
        img.alt = `item ${idx}`;
        loads.push(new Promise((done) => {
          img.onload = img.onerror = done;
        }));
        img.src = url;
        tile.append(img);
      }
      const caption = document.createElement('span');
      caption.className = 'nbviz-neighbor-caption';
      caption.textContent = `#${idx}${label ? ` \u00b7 ${label}` : ''} \u00b7 ${dist}`;
      tile.title = caption.textContent;
      tile.append(caption);
      if (!query) tile.addEventListener('click', () => onPick(idx));
      grid.append(tile);
    }
    panel.append(title, grid);
    panel.hidden = false;
    void Promise.all(loads).then(() => {
      if (latest === reply.index) panel.dataset.for = String(reply.index);
    });
  };

  return {
    show(focus: number, nside: number, layout = 0) {
      latest = focus;
      if (focus < 0 || nside < 1) {
        seq++;
        inFlight = '';
        clear();
        // The panel keeps its place while neighbours are wanted, so the plot never jumps when one is clicked.
        panel.hidden = nside < 1;
        const hint = document.createElement('div');
        hint.className = 'nbviz-neighbors-title';
        hint.textContent = 'Click a point to see its nearest neighbours.';
        panel.append(hint);
        return;
      }
      const key = `${focus}/${nside}/${layout}`;
      if (key === inFlight) return;
      inFlight = key;
      const mine = ++seq;
      requester
        .request<NeighborsReply>('neighbors', { index: focus, layout })
        .finally(() => {
          if (mine === seq) inFlight = '';
        })
        .then(({ content, buffers }) => {
          // Stale replies (an older focus) are dropped.
          if (mine === seq && latest === content.index) render(content, buffers, nside);
        })
        .catch((err: Error) => {
          if (mine !== seq) return;
          clear();
          const msg = document.createElement('div');
          msg.className = 'nbviz-neighbors-error';
          msg.textContent = err.message;
          panel.append(msg);
          panel.hidden = false;
        });
    },
    destroy() {
      clear();
      panel.remove();
    },
  };
}
