// One WebGL renderer shared by every explorer view on the page: browsers cap live WebGL
// contexts (~16), and a notebook easily shows more views than that. Ref-counted.

import { createRenderer } from 'regl-scatterplot';

type Renderer = ReturnType<typeof createRenderer>;

let shared: Renderer | null = null;
let users = 0;

export function acquireRenderer(): Renderer {
  if (!shared || shared.isDestroyed) {
    shared = createRenderer();
    users = 0;
  }
  users += 1;
  return shared;
}

export function releaseRenderer(): void {
  users -= 1;
  if (users <= 0 && shared) {
    shared.destroy();
    shared = null;
    users = 0;
  }
}
