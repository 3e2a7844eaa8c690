// The controls every nbviz view builds its toolbar from: a toolbar of labelled groups, icon buttons (accessible
// name in aria-label, tooltip with the shortcut in title), segmented toggles, a compact select and slider, a
// title line and a status line with progress. Styles in ui.css; shortcuts handled by keys.ts's mountUi.
// Labels may come from users: every text goes through textContent or an attribute, never markup.

import { el } from '../dom';
import { icon, type IconName } from './icons';
import { normalizeKey, tooltipText } from './keys';
import './ui.css';

/** A toolbar: groups of controls in a row that wraps when narrow. */
export function toolbar(className: string, label: string): HTMLDivElement {
  const bar = el('div', `nbviz-ui-toolbar ${className}`.trim());
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', label);
  return bar;
}

/** A group of related controls, set off from its neighbours by a divider. */
export function group(label: string, className = '', ...children: Array<HTMLElement | null | undefined>): HTMLDivElement {
  const g = el('div', `nbviz-ui-group ${className}`.trim());
  g.setAttribute('role', 'group');
  g.setAttribute('aria-label', label);
  g.append(...children.filter((c): c is HTMLElement => !!c));
  return g;
}

export interface ButtonSpec {
  /** The accessible name (aria-label) and the start of the tooltip. */
  label: string;
  icon?: IconName;
  /** Text shown beside the icon (none: icon only). */
  text?: string;
  /** A single key that presses the button while the view has focus; shown in the tooltip. */
  shortcut?: string;
  /** A longer tooltip than the label (the shortcut is appended). */
  tip?: string;
  className?: string;
  onClick?: (ev: MouseEvent) => void;
}

/** Give a control a shortcut: mountUi presses (or focuses) it on that key. */
export function setShortcut(control: HTMLElement, key: string | undefined): void {
  if (key) control.dataset.nbvizKey = normalizeKey(key);
  else delete control.dataset.nbvizKey;
}

export function button(spec: ButtonSpec): HTMLButtonElement {
  const b = el('button', `nbviz-ui-button ${spec.className ?? ''}`.trim());
  b.type = 'button';
  setLabel(b, spec.label, spec.tip, spec.shortcut);
  if (spec.icon) b.append(icon(spec.icon));
  if (spec.text) b.append(el('span', 'nbviz-ui-button-text', spec.text));
  else b.classList.add('nbviz-ui-icon-only');
  setShortcut(b, spec.shortcut);
  if (spec.onClick) b.addEventListener('click', spec.onClick);
  return b;
}

/** Rename a button (e.g. Play -> Pause) keeping its shortcut in the tooltip. */
export function setLabel(b: HTMLElement, label: string, tip?: string, shortcut = b.dataset.nbvizKey): void {
  b.setAttribute('aria-label', label);
  b.title = tooltipText(tip ?? label, shortcut);
}

/** Swap a button's icon (play <-> pause). */
export function setIcon(b: HTMLElement, name: IconName): void {
  const old = b.querySelector('.nbviz-ui-icon');
  const next = icon(name);
  if (old) old.replaceWith(next);
  else b.prepend(next);
}

export interface ToggleBox {
  root: HTMLLabelElement;
  input: HTMLInputElement;
}

/**
 * An on/off switch that looks like a toolbar button and is a checkbox underneath (role, `checked`, `change`), the
 * input transparent over the whole button so a click lands on it. Pressed look: ui.css, from :checked.
 */
export function toggleBox(spec: ButtonSpec & { inputClass?: string }): ToggleBox {
  const root = el('label', `nbviz-ui-button nbviz-ui-toggle ${spec.className ?? ''}`.trim());
  const input = el('input', `nbviz-ui-toggle-input ${spec.inputClass ?? ''}`.trim());
  input.type = 'checkbox';
  input.setAttribute('aria-label', spec.label);
  root.title = tooltipText(spec.tip ?? spec.label, spec.shortcut);
  root.append(input);
  if (spec.icon) root.append(icon(spec.icon));
  if (spec.text) root.append(el('span', 'nbviz-ui-button-text', spec.text));
  else root.classList.add('nbviz-ui-icon-only');
  setShortcut(input, spec.shortcut);
  return { root, input };
}

export interface SegmentOption<T extends string> extends ButtonSpec {
  value: T;
}

export interface Segmented<T extends string> {
  root: HTMLDivElement;
  buttons: Record<T, HTMLButtonElement>;
  /** Show which option is on (null: none). */
  set(value: T | null): void;
}

/**
 * Toggle buttons for modes, side by side (aria-pressed shows the one on). What a press does is the caller's
 * (`onPick`): a second press on the current mode may turn it off, as the explorer's lasso does.
 */
export function segmented<T extends string>(label: string, options: SegmentOption<T>[], onPick: (value: T) => void,
  className = ''): Segmented<T> {
  const root = group(label, `nbviz-ui-segmented ${className}`.trim());
  const buttons = {} as Record<T, HTMLButtonElement>;
  for (const o of options) {
    const b = button({ ...o, onClick: () => onPick(o.value) });
    b.setAttribute('aria-pressed', 'false');
    buttons[o.value] = b;
    root.append(b);
  }
  return {
    root,
    buttons,
    set(value) {
      for (const o of options) buttons[o.value].setAttribute('aria-pressed', String(o.value === value));
    },
  };
}

/** A caption and a control in one label element, so clicking the caption reaches the control. */
export function field(caption: string, control: HTMLElement, className = ''): HTMLLabelElement {
  const root = el('label', `nbviz-ui-field ${className}`.trim());
  if (caption) root.append(el('span', 'nbviz-ui-caption', caption));
  root.append(control);
  return root;
}

export interface CompactSelect {
  root: HTMLLabelElement;
  input: HTMLSelectElement;
  /** Replace the options (values, and what they read as); unchanged lists are left alone. */
  setOptions(values: readonly string[], labels?: readonly string[]): void;
}

export function compactSelect(caption: string, className: string, onChange: (value: string) => void,
  selectClass = ''): CompactSelect {
  const input = el('select', `nbviz-ui-select ${selectClass}`.trim());
  input.setAttribute('aria-label', caption);
  input.addEventListener('change', () => onChange(input.value));
  return {
    root: field(caption, input, className),
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
  };
}

export function compactSlider(caption: string, className: string, onInput: (value: number) => void,
  range: { min: number; max: number; step: number } = { min: 0, max: 1, step: 0.05 }, inputClass = '',
): { root: HTMLLabelElement; input: HTMLInputElement } {
  const input = el('input', `nbviz-ui-slider ${inputClass}`.trim());
  input.type = 'range';
  input.min = String(range.min);
  input.max = String(range.max);
  input.step = String(range.step);
  input.setAttribute('aria-label', caption);
  input.addEventListener('input', () => onInput(Number(input.value)));
  return { root: field(caption, input, className), input };
}

/** The line saying what is plotted (hidden while empty). */
export function titleLine(className = ''): { root: HTMLDivElement; sync(text: string): void } {
  const root = el('div', `nbviz-ui-title ${className}`.trim());
  root.hidden = true;
  return {
    root,
    sync(text) {
      root.textContent = text;
      root.hidden = !text;
    },
  };
}

/** Fraction of a progress value shown, or null when idle (< 0 or not a number). */
export function progressFraction(progress: number): number | null {
  return progress >= 0 ? Math.min(progress, 1) : null;
}

export interface StatusLine {
  root: HTMLDivElement;
  /** progress in 0..1 (< 0: idle, the bar hides) and the status text; both empty/idle hide the line. */
  update(progress: number, text: string): void;
}

/** A status text with a thin progress bar under it. */
export function statusLine(className = ''): StatusLine {
  const root = el('div', `nbviz-ui-status ${className}`.trim());
  root.setAttribute('role', 'status');
  const text = el('span', 'nbviz-ui-status-text');
  const bar = el('div', 'nbviz-ui-progress');
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  const fill = el('div', 'nbviz-ui-progress-fill');
  bar.append(fill);
  root.append(text, bar);
  root.hidden = true;
  return {
    root,
    update(progress, status) {
      const f = progressFraction(progress);
      const pct = Math.round((f ?? 0) * 100);
      text.textContent = status;
      bar.hidden = f === null;
      fill.style.width = `${pct}%`;
      bar.setAttribute('aria-valuenow', String(pct));
      root.hidden = f === null && !status;
    },
  };
}
