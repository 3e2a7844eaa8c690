// The player's controls; all text through textContent (class names come from users).

import { el } from '../lib/dom';
import { button, group, setIcon, setLabel, toggleBox, toolbar } from '../lib/ui/toolbar';

export interface Controls {
  root: HTMLElement;
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
  const s = el('select', `nbviz-ui-select ${className}`);
  s.title = title;
  s.setAttribute('aria-label', title);
  for (const [value, text] of options) {
    const o = el('option', '', text);
    o.value = value;
    s.append(o);
  }
  return s;
}

/** An on/off overlay as a toolbar toggle (a checkbox underneath: index.ts reads `.checked`). */
function toggle(parent: HTMLElement, text: string, label: string, className: string, tip: string): HTMLInputElement {
  const t = toggleBox({ label, text, tip, className: `nbviz-pm-check ${className}` });
  parent.append(t.root);
  return t.input;
}

/** Show the play button as Play or Pause (icon, accessible name and tooltip). */
export function setPlayButton(play: HTMLButtonElement, playing: boolean): void {
  setIcon(play, playing ? 'pause' : 'play');
  setLabel(play, playing ? 'Pause' : 'Play');
}

export function buildControls(): Controls {
  const root = toolbar('nbviz-pm-controls', 'playback');
  const play = button({ label: 'Play', icon: 'play', shortcut: ' ', className: 'nbviz-pm-play' });
  const slider = el('input', 'nbviz-ui-slider nbviz-pm-slider');
  slider.type = 'range';
  slider.min = '0';
  slider.step = '1';
  slider.setAttribute('aria-label', 'epoch');
  const label = el('span', 'nbviz-ui-readout nbviz-pm-epoch', 'no frames yet');
  const speed = select('nbviz-pm-speed', SPEEDS.map((s) => [String(s), `${s} fps`]), 'playback speed');
  const loopBox = toggleBox({ label: 'Loop', icon: 'loop', shortcut: 'o', className: 'nbviz-pm-check nbviz-pm-loop-wrap',
    inputClass: 'nbviz-pm-loop', tip: 'Loop: start again after the last epoch' });
  const loopLabel = loopBox.root;
  const loop = loopBox.input;
  const row1 = group('playback', 'nbviz-pm-row nbviz-pm-transport', play, slider, label, speed, loopLabel);
  const mode = select('nbviz-pm-mode', [['region', 'region'], ['boundary', 'boundary'], ['class', 'class'],
    ['entropy', 'entropy']], 'colour mode');
  const blend = select('nbviz-pm-blend', [['linear', 'linear blend'], ['geometric', 'geometric blend']],
    'interpolation between recorded frames');
  const target = select('nbviz-pm-target', [], 'class shown in "class" mode');
  const row2 = group('display', 'nbviz-pm-row nbviz-pm-display', mode, blend, target);
  const row3 = group('overlays', 'nbviz-pm-row nbviz-pm-overlays');
  const toggles = {
    show_train: toggle(row3, 'train', 'Train points', 'nbviz-pm-train', 'Train points: the training set over the map'),
    show_test: toggle(row3, 'test', 'Test points', 'nbviz-pm-test', 'Test points: the test set over the map'),
    show_flips: toggle(row3, 'flips', 'Flips', 'nbviz-pm-flips', 'Flips: where the prediction changed since the last frame'),
    boundary_line: toggle(row3, 'line', 'Boundary line', 'nbviz-pm-line', 'Boundary line: the decision boundary'),
  };
  root.append(row1, row2, row3);
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
