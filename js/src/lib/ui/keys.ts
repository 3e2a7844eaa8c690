// Keyboard shortcuts and width classes for one widget root. A control opts in with `data-nbviz-key` (set by
// toolbar.ts); the root handles a key only while focus is inside it (or, with nothing focused, while the pointer
// is over it), so two widgets on a page (or a widget and the notebook) never fight over a letter, and keys meant
// for others are left alone.

/** What a key reads as in a tooltip: letters upper-case, ' ' as Space. */
export function keyLabel(key: string): string {
  if (key === ' ') return 'Space';
  if (key === 'Escape') return 'Esc';
  return key.length === 1 ? key.toUpperCase() : key;
}

/** "Lasso (L)": the tooltip of a control with a shortcut. */
export function tooltipText(label: string, key?: string): string {
  return key ? `${label} (${keyLabel(key)})` : label;
}

/** The key as stored in data-nbviz-key: single characters lower-case, so Shift or Caps Lock do not matter. */
export function normalizeKey(key: string): string {
  return key.length === 1 ? key.toLowerCase() : key;
}

interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** Whether a key press may be a widget shortcut: no Ctrl / Cmd / Alt (those belong to the browser and host). */
export function plainKey(e: KeyLike): boolean {
  return !e.ctrlKey && !e.metaKey && !e.altKey && e.key !== undefined && e.key !== '';
}

/** Typing into a text box, select or slider is typing, not a shortcut. */
export function isEditable(target: EventTarget | null): boolean {
  const t = target as HTMLElement | null;
  if (!t || typeof t.closest !== 'function') return false;
  return !!t.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
}

export interface UiRoot {
  dispose(): void;
}

/** Below this width (CSS px) a view lays its side panels under the plot (ui.css: [data-nbviz-narrow]). */
export const NARROW_PX = 640;

/**
 * Make `root` the scope of its controls' shortcuts and mark it narrow when its width is under NARROW_PX.
 * Shortcuts are read from the DOM at key time, so controls added or hidden later need no registration.
 */
export function mountUi(root: HTMLElement): UiRoot {
  root.dataset.nbvizShortcuts = '';
  // Focusable (not in the tab order): a click anywhere in the view gives it focus, and so its shortcuts.
  if (root.tabIndex < 0 && !root.hasAttribute('tabindex')) root.tabIndex = -1;
  // With nothing focused (the page itself), the view under the pointer takes the keys too.
  let pointerInside = false;
  const onEnter = () => (pointerInside = true);
  const onLeave = () => (pointerInside = false);
  root.addEventListener('pointerenter', onEnter);
  root.addEventListener('pointerleave', onLeave);
  const ours = (target: EventTarget | null) =>
    target instanceof Node && (root.contains(target) ||
      (pointerInside && (target === document.body || target === document.documentElement)));
  const onKey = (e: KeyboardEvent) => {
    if (!plainKey(e) || !ours(e.target) || isEditable(e.target)) return;
    const key = normalizeKey(e.key);
    const control = [...root.querySelectorAll<HTMLElement>('[data-nbviz-key]')].find((c) =>
      c.dataset.nbvizKey === key && c.closest('[data-nbviz-shortcuts]') === root && usable(c));
    if (!control) return;
    // Handled here, before the host sees it: JupyterLab's own single-letter commands (L toggles line numbers,
    // B inserts a cell) listen on the document in the capture phase, which a window capture listener precedes.
    e.preventDefault();
    e.stopPropagation();
    if (control instanceof HTMLInputElement && control.type !== 'checkbox') control.focus();
    else control.click();
  };
  window.addEventListener('keydown', onKey, true);

  const observer = typeof ResizeObserver === 'function'
    ? new ResizeObserver(() => {
      const w = root.clientWidth;
      if (w > 0) root.toggleAttribute('data-nbviz-narrow', w < NARROW_PX);
    })
    : null;
  observer?.observe(root);
  return {
    dispose() {
      window.removeEventListener('keydown', onKey, true);
      root.removeEventListener('pointerenter', onEnter);
      root.removeEventListener('pointerleave', onLeave);
      observer?.disconnect();
    },
  };
}

/** Shown and enabled: a hidden tool (e.g. the layout slider with one layout) has no shortcut. */
function usable(c: HTMLElement): boolean {
  if ((c as HTMLButtonElement).disabled) return false;
  return c.getClientRects().length > 0;
}
