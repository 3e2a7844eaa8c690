// The player's controls; all text through textContent (class names come from users).

import { el } from '../lib/dom';

export interface Controls {
  root: HTMLDivElement;
  play: HTMLButtonElement;
  slider: HTMLInputElement;
  label: HTMLSpanElement;
  speed: HTMLSelectElement;
  loop: HTMLInputElement;
  mode: HTMLSelectElement;
  blend: HTMLSelectElement;
  target: HTMLSelectElement;
  toggles: Record<'show_train' | 'show_test' | 'show_flips' | 'boundary_line', HTMLInputElement>;
  /** What only makes sense with two frames or more (hidden for one). */
  playback: HTMLElement[];
}

export const SPEEDS = [2, 5, 10, 20, 30, 60];

function select(className: string, options: Array<[string, string]>, title: string): HTMLSelectElement {
  const s = el('select', className);
  s.title = title;
  for (const [value, text] of options) {
    const o = el('option', '', text);
    o.value = value;
    s.append(o);
  }
  return s;
}

function checkbox(parent: HTMLElement, text: string, className: string): HTMLInputElement {
  const label = el('label', `nbviz-pm-check ${className}`);
  const box = el('input', '');
  box.type = 'checkbox';
  label.append(box, document.createTextNode(` ${text}`));
  parent.append(label);
  return box;
}

export function buildControls(): Controls {
  const root = el('div', 'nbviz-pm-controls');
  const row1 = el('div', 'nbviz-pm-row');
  const row2 = el('div', 'nbviz-pm-row');
  const play = el('button', 'nbviz-pm-play', 'Play');
  play.type = 'button';
  const slider = el('input', 'nbviz-pm-slider');
  slider.type = 'range';
  slider.min = '0';
  slider.step = '1';
  slider.setAttribute('aria-label', 'epoch');
  const label = el('span', 'nbviz-pm-epoch', 'no frames yet');
  const speed = select('nbviz-pm-speed', SPEEDS.map((s) => [String(s), `${s} fps`]), 'playback speed');
  const loopLabel = el('label', 'nbviz-pm-check');
  const loop = el('input', 'nbviz-pm-loop');
  loop.type = 'checkbox';
  loopLabel.append(loop, document.createTextNode(' loop'));
  row1.append(play, slider, label, speed, loopLabel);
  const mode = select('nbviz-pm-mode', [['region', 'region'], ['boundary', 'boundary'], ['class', 'class'],
    ['entropy', 'entropy']], 'colour mode');
  const blend = select('nbviz-pm-blend', [['linear', 'linear blend'], ['geometric', 'geometric blend']],
    'interpolation between recorded frames');
  const target = select('nbviz-pm-target', [], 'class shown in "class" mode');
  row2.append(mode, blend, target);
  const toggles = {
    show_train: checkbox(row2, 'train', 'nbviz-pm-train'),
    show_test: checkbox(row2, 'test', 'nbviz-pm-test'),
    show_flips: checkbox(row2, 'flips', 'nbviz-pm-flips'),
    boundary_line: checkbox(row2, 'line', 'nbviz-pm-line'),
  };
  root.append(row1, row2);
  return { root, play, slider, label, speed, loop, mode, blend, target, toggles, playback: [play, slider, speed, loopLabel] };
}

/** Replace the options of the target-class select by the class names (as text). */
export function setClassOptions(s: HTMLSelectElement, names: readonly string[]): void {
  s.replaceChildren(...names.map((name, k) => {
    const o = el('option', '', name);
    o.value = String(k);
    return o;
  }));
}
