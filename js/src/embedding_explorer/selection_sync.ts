// The `selection` trait and the selection tools (lasso / box / pan, clear, count): regl-scatterplot's
// selection mirrors the trait, and a gesture's result is written back to it (selection.ts has the pure
// helpers). Split out of index.ts.

import { decodeArray, encodeArray, type TypedArray } from '../lib/codecs';
import type { ExplorerCtx, ScatterSettings } from './context';
import { normalizeSelection, selectionTools, validIndices, type SelectShape, type SelectionTools } from './selection';

export interface SelectionSync {
  /** The toolbar's selection tools. */
  tools: SelectionTools;
  /** The lasso shape picked in the tools. */
  shape(): SelectShape;
  /** Show the trait's selection (`change:selection`). */
  sync(): void;
  /** Set the trait (sorted, deduplicated, in range) and show it. */
  set(indices: ArrayLike<number>): void;
}

export function createSelectionSync(ctx: ExplorerCtx): SelectionSync {
  const { model, st, scatter } = ctx;
  let shape: SelectShape = 'freeform';
  const tools = selectionTools(
    (s, dragSelects) => {
      shape = s;
      scatter.set({ lassoType: s, mouseMode: dragSelects ? 'lasso' : 'panZoom' } as ScatterSettings);
    },
    () => setSelection([]),
  );
  /** Show the trait's selection (regl-scatterplot drops indices that are hidden or out of range). */
  const syncSelection = () => {
    let s: TypedArray | null = null;
    try {
      s = decodeArray(model.get('selection'))?.data ?? null;
    } catch {
      s = null;
    }
    st.selected = s ? Uint32Array.from(s) : new Uint32Array(0);
    tools.setCount(st.selected.length);
    if (!st.drawn) return;
    const valid = validIndices(st.selected, st.n, st.visible);
    if (valid.length) scatter.select(valid, { preventEvent: true });
    else scatter.deselect({ preventEvent: true });
  };
  const setSelection = (indices: ArrayLike<number>) => {
    const sorted = normalizeSelection(indices, st.n);
    model.set('selection', encodeArray(sorted, [sorted.length]));
    model.save_changes();
    syncSelection();
  };
  return { tools, shape: () => shape, sync: syncSelection, set: setSelection };
}
