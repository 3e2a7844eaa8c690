// Aligned layouts: the slider, and the checks that make a layout switch animate exactly once.

import { decodeArray, type TypedArray, type WireArray } from '../lib/codecs';
import { el } from '../lib/dom';

/** Element-wise equality (NaN equals NaN): Python echoing the layout the browser already shows is a no-op. */
export function sameValues(a: ArrayLike<number> | null, b: ArrayLike<number> | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x !== y && !(x !== x && y !== y)) return false;
  }
  return true;
}

/** The (N, 2) positions of layouts[index], or null when there is no such layout (one-layout widgets). */
export function layoutAt(layouts: readonly WireArray[] | null | undefined, index: number): TypedArray | null {
  if (!layouts || layouts.length < 2 || !Number.isInteger(index) || index < 0 || index >= layouts.length) return null;
  const d = decodeArray(layouts[index]);
  return d && d.shape.length === 2 && d.shape[1] === 2 ? d.data : null;
}

export interface LayoutSlider {
  root: HTMLElement;
  update(names: readonly string[], count: number, index: number): void;
}

/** A range input over the layouts, labelled with the shown layout's name (text only: names come from users). */
export function layoutSlider(onIndex: (i: number) => void): LayoutSlider {
  const root = el('label', 'nbviz-tool nbviz-layouts nbviz-ui-group nbviz-ui-field');
  root.title = 'Aligned layouts: drag to morph between them';
  const input = el('input', 'nbviz-layout-slider nbviz-ui-slider');
  input.setAttribute('aria-label', 'layout');
  input.type = 'range';
  input.min = '0';
  input.step = '1';
  const name = el('span', 'nbviz-layout-name');
  let names: readonly string[] = [];
  input.addEventListener('input', () => {
    const i = Number(input.value);
    name.textContent = names[i] ?? `layout ${i}`;
    onIndex(i);
  });
  root.append(input, name);
  return {
    root,
    update(newNames, count, index) {
      names = newNames;
      root.hidden = count < 2;
      input.max = String(Math.max(count - 1, 0));
      input.value = String(index);
      name.textContent = names[index] ?? `layout ${index}`;
    },
  };
}
