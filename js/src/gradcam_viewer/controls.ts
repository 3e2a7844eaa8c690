// The toolbar: layer pickers, display settings (no round trip), sorting, confusion toggle and PNG export, built
// from lib/ui's kit.

import { button, compactSelect, compactSlider, group, toggleBox, toolbar } from '../lib/ui/toolbar';

export interface Select {
  root: HTMLElement;
  input: HTMLSelectElement;
  setOptions(values: string[], labels?: string[]): void;
  setValue(value: string): void;
}

export function select(label: string, className: string, onChange: (value: string) => void): Select {
  const s = compactSelect(label, `nbviz-gc-control ${className}`, onChange, 'nbviz-gc-select');
  return { ...s, setValue: (value) => (s.input.value = value) };
}

export interface Slider {
  root: HTMLElement;
  input: HTMLInputElement;
  setValue(value: number): void;
}

export function slider(label: string, className: string, onInput: (value: number) => void): Slider {
  const s = compactSlider(label, `nbviz-gc-control ${className}`, onInput, { min: 0, max: 1, step: 0.05 },
    'nbviz-gc-range');
  return { ...s, setValue: (v) => (s.input.value = String(v)) };
}

export interface ToolbarParts {
  layer: Select;
  compare: Select;
  colormap: Select;
  sign: Select;
  scale: Select;
  opacity: Slider;
  threshold: Slider;
  sort: Select;
}

/**
 * The toolbar in four groups — which layers, how the map is drawn, the batch, export — with the confusion
 * toggle (C) and the PNG export (S) as buttons. The pickers are built by index.ts (it wires them to traits).
 */
export function buildToolbar(parts: ToolbarParts): { root: HTMLElement; confusion: HTMLInputElement; exportButton: HTMLButtonElement } {
  const confusion = toggleBox({ label: 'Confusion', icon: 'grid', text: 'confusion', shortcut: 'c',
    className: 'nbviz-gc-control nbviz-gc-confusion-toggle', inputClass: 'nbviz-gc-checkbox',
    tip: 'Confusion: mean maps of true / false positives and negatives' });
  const exportButton = button({ label: 'Save PNG', icon: 'download', text: 'PNG', shortcut: 's',
    className: 'nbviz-gc-export nbviz-ui-outlined', tip: 'Save PNG of the view' });
  const root = toolbar('nbviz-gc-toolbar', 'Grad-CAM tools');
  root.append(
    group('layers', 'nbviz-gc-layers', parts.layer.root, parts.compare.root),
    group('display', 'nbviz-gc-display', parts.colormap.root, parts.sign.root, parts.scale.root, parts.opacity.root,
      parts.threshold.root),
    group('batch', 'nbviz-gc-batch', parts.sort.root, confusion.root),
    group('export', 'nbviz-gc-export-group', exportButton),
  );
  return { root, confusion: confusion.input, exportButton };
}

/** Indented labels for dotted module paths, so the picker reads as the module tree. */
export function treeLabels(paths: string[]): string[] {
  return paths.map((p) => {
    const depth = p.split('.').length - 1;
    return `${'\u00a0\u00a0'.repeat(depth)}${p}`;
  });
}
