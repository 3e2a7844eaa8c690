// Reads JupyterLab theme colours from the DOM, so WebGL and 2-D canvas drawing match the theme, dark included.

import type { Rgba } from './colors';

export interface Theme {
  /** Widget background, 0..255 RGBA. */
  background: Rgba;
  /** Text colour as a CSS string. */
  foreground: string;
  /** Focus-ring colour as a CSS string. */
  focus: string;
}

/** Resolve any CSS colour (including var(...)) by letting the browser compute it on a probe element. */
export function resolveColor(el: Element, css: string, property: 'color' | 'background-color' = 'color'): string {
  const probe = document.createElement('span');
  probe.style.setProperty(property, css);
  probe.style.display = 'none';
  el.appendChild(probe);
  const value = getComputedStyle(probe).getPropertyValue(property);
  probe.remove();
  return value;
}

/** Parse the rgb()/rgba() strings getComputedStyle returns; unparseable values give null. */
export function parseRgb(css: string): Rgba | null {
  const m = css.match(/rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)/);
  if (!m) return null;
  let a = 1;
  if (m[4] !== undefined) a = m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
  return [Math.round(+m[1]), Math.round(+m[2]), Math.round(+m[3]), Math.round(a * 255)];
}

/** The theme as the element sees it; the fallbacks are JupyterLab's light defaults. */
export function readTheme(el: Element): Theme {
  const bg = parseRgb(resolveColor(el, 'var(--jp-layout-color0, #ffffff)', 'background-color'));
  return {
    // A transparent background (outside Jupyter) reads as white: the page behind is usually white.
    background: bg && bg[3] > 0 ? bg : [255, 255, 255, 255],
    foreground: resolveColor(el, 'var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87))'),
    focus: resolveColor(el, 'var(--nbviz-focus, #e6007e)'),
  };
}

/**
 * Call `onChange` when the JupyterLab theme switches. JupyterLab swaps stylesheets and flips
 * data-jp-theme-* attributes on <body>, so watch those and the <head> children.
 */
export function watchTheme(onChange: () => void): () => void {
  const obs = new MutationObserver(() => onChange());
  obs.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name', 'class', 'style'] });
  obs.observe(document.head, { childList: true });
  return () => obs.disconnect();
}
