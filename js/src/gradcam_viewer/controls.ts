// The toolbar: layer pickers, display settings (no round trip), sorting, confusion toggle and PNG export.

import { el } from '../lib/dom';

export interface Select {
  root: HTMLElement;
  input: HTMLSelectElement;
  setOptions(values: string[], labels?: string[]): void;
  setValue(value: string): void;
}

export function select(label: string, className: string, onChange: (value: string) => void): Select {
  const root = el('label', `nbviz-gc-control ${className}`);
  const input = el('select', 'nbviz-gc-select');
  root.append(el('span', 'nbviz-gc-label', label), input);
  input.addEventListener('change', () => onChange(input.value));
  return {
    root,
    input,
    setOptions(values, labels) {
      const same = input.options.length === values.length && values.every((v, i) => input.options[i].value === v);
      if (same) return;
      input.replaceChildren(...values.map((v, i) => {
        const o = el('option', '', labels?.[i] ?? v);
        o.value = v;
        return o;
      }));
    },
    setValue(value) {
      input.value = value;
    },
  };
}

export interface Slider {
  root: HTMLElement;
  input: HTMLInputElement;
  setValue(value: number): void;
}

export function slider(label: string, className: string, onInput: (value: number) => void): Slider {
  const root = el('label', `nbviz-gc-control ${className}`);
  const input = el('input', 'nbviz-gc-range');
  input.type = 'range';
  input.min = '0';
  input.max = '1';
  input.step = '0.05';
  root.append(el('span', 'nbviz-gc-label', label), input);
  input.addEventListener('input', () => onInput(Number(input.value)));
  return { root, input, setValue: (v) => (input.value = String(v)) };
}

/** Indented labels for dotted module paths, so the picker reads as the module tree. */
export function treeLabels(paths: string[]): string[] {
  return paths.map((p) => {
    const depth = p.split('.').length - 1;
    return `${'\u00a0\u00a0'.repeat(depth)}${p}`;
  });
}
