// Selection: the `selection` trait's indices, and the toolbar tools that make one (lasso, box, clear).
// Drawing the lasso / box and finding the points inside is regl-scatterplot's job (lassoType
// 'freeform' | 'rectangle'); this module only turns its result into the trait and back.

import { el } from '../lib/dom';
import { button, group, segmented } from '../lib/ui/toolbar';

export type SelectShape = 'freeform' | 'rectangle';

/** Sorted, de-duplicated indices below n, as the uint32 array the trait carries. */
export function normalizeSelection(indices: ArrayLike<number>, n: number): Uint32Array {
  const out = Uint32Array.from(indices).sort();
  let m = 0;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (v < n && (m === 0 || out[m - 1] !== v)) out[m++] = v;
  }
  return out.slice(0, m);
}

/**
 * Indices of a selection that can be highlighted now: those that exist (the trait may outlive a smaller N)
 * and are not hidden. Hidden ones stay in the trait; handing them to regl-scatterplot would cost it a
 * splice per hidden point (quadratic for large selections).
 */
export function validIndices(sel: ArrayLike<number> | null, n: number, visible?: Uint8Array | null): number[] {
  const out: number[] = [];
  if (!sel) return out;
  for (let i = 0; i < sel.length; i++) {
    const v = sel[i];
    if (v >= 0 && v < n && (!visible || visible[v])) out.push(v);
  }
  return out;
}

/** Toolbar text for a selection size ("" when empty, so nothing shows). */
export function selectionLabel(count: number): string {
  return count > 0 ? `${count.toLocaleString('en')} selected` : '';
}

export interface SelectionTools {
  root: HTMLElement;
  setCount(count: number): void;
  /** The drag mode shown: a shape while dragging selects (no Shift needed), or null for pan / zoom. */
  setMode(mode: SelectShape | null): void;
}

/**
 * "Lasso" (L) / "Box" (B) mode toggles (pressed: a drag selects with that shape; Shift-drag always does), the count
 * and "Clear". `onMode(shape, dragSelects)` gets the shape for Shift-drags and whether plain drags select too.
 */
export function selectionTools(onMode: (shape: SelectShape, dragSelects: boolean) => void, onClear: () => void): SelectionTools {
  let shape: SelectShape = 'freeform';
  let active = false;
  const press = (s: SelectShape) => {
    // Pressing the active tool again goes back to pan / zoom.
    active = !(active && shape === s);
    shape = s;
    show();
    onMode(shape, active);
  };
  const modes = segmented<SelectShape>('selection mode', [
    { value: 'freeform', label: 'Lasso', icon: 'lasso', text: 'Lasso', shortcut: 'l', className: 'nbviz-tool-lasso',
      tip: 'Lasso: drag to select a free-form region (Shift-drag selects any time)' },
    { value: 'rectangle', label: 'Box', icon: 'box', text: 'Box', shortcut: 'b', className: 'nbviz-tool-box',
      tip: 'Box: drag to select a rectangle' },
  ], press);
  const count = el('span', 'nbviz-selection-count nbviz-ui-readout');
  const clear = button({ label: 'Clear selection', icon: 'clear', className: 'nbviz-clear-selection', tip: 'Clear the selection (Esc)',
    onClick: onClear });
  const root = group('selection', 'nbviz-tool nbviz-selection-tools', modes.root, count, clear);
  const show = () => modes.set(active ? shape : null);
  show();
  return {
    root,
    setCount(k) {
      count.textContent = selectionLabel(k);
      clear.hidden = k === 0;
    },
    setMode(mode) {
      active = mode !== null;
      if (mode) shape = mode;
      show();
    },
  };
}

/** The 4 corners of the box dragged from a to b (any direction), clockwise on screen from a. */
export function rectPolygon(a: readonly [number, number], b: readonly [number, number]): Array<[number, number]> {
  const [x0, x1] = a[0] <= b[0] ? [a[0], b[0]] : [b[0], a[0]];
  const [y0, y1] = a[1] <= b[1] ? [a[1], b[1]] : [b[1], a[1]];
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
}

/**
 * Screen px (relative to the canvas) -> regl-scatterplot's GL space, the inverse of its getScreenPosition:
 * clip = diag(1/aspect, 1) * view * diag(dataAspect, 1) * gl. `view` is the camera's column-major 4x4 matrix
 * (2-D: scale + translation, no rotation here, but a general 2x2 is inverted anyway).
 */
export function screenToGl(
  sx: number,
  sy: number,
  view: ArrayLike<number>,
  width: number,
  height: number,
  dataAspect = 1,
): [number, number] {
  const aspect = width / height;
  // Clip space, then undo the projection's 1/aspect on x.
  const qx = ((2 * sx) / width - 1) * aspect - view[12];
  const qy = 1 - (2 * sy) / height - view[13];
  const det = view[0] * view[5] - view[4] * view[1];
  const mx = (view[5] * qx - view[4] * qy) / det;
  const my = (view[0] * qy - view[1] * qx) / det;
  return [mx / dataAspect, my];
}
