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

/** Fired on `document` when adoptHostTheme (re)defines the theme variables of a view outside JupyterLab. */
const HOST_THEME_EVENT = 'nbviz-host-theme';

/**
 * Call `onChange` when the JupyterLab theme switches. JupyterLab swaps stylesheets and flips
 * data-jp-theme-* attributes on <body>, so watch those and the <head> children.
 */
export function watchTheme(onChange: () => void): () => void {
  const obs = new MutationObserver(() => onChange());
  document.addEventListener(HOST_THEME_EVENT, onChange);
  obs.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name', 'class', 'style'] });
  obs.observe(document.head, { childList: true });
  return () => {
    obs.disconnect();
    document.removeEventListener(HOST_THEME_EVENT, onChange);
  };
}

/** The JupyterLab variables nbviz's styles read, by role: [VS Code's variable, light default, dark default]. */
const HOST_VARIABLES: Record<string, [string, string, string]> = {
  '--jp-layout-color0': ['--vscode-editor-background', '#ffffff', '#1e1e1e'],
  '--jp-layout-color1': ['--vscode-editor-background', '#ffffff', '#252526'],
  '--jp-layout-color2': ['--vscode-editorWidget-background', '#eeeeee', '#2d2d30'],
  '--jp-ui-font-color0': ['--vscode-editor-foreground', 'rgba(0, 0, 0, 1)', 'rgba(255, 255, 255, 1)'],
  '--jp-ui-font-color1': ['--vscode-editor-foreground', 'rgba(0, 0, 0, 0.87)', 'rgba(255, 255, 255, 0.87)'],
  '--jp-ui-font-color2': ['--vscode-descriptionForeground', 'rgba(0, 0, 0, 0.54)', 'rgba(255, 255, 255, 0.54)'],
  '--jp-ui-font-color3': ['--vscode-disabledForeground', 'rgba(0, 0, 0, 0.38)', 'rgba(255, 255, 255, 0.38)'],
  '--jp-ui-inverse-font-color0': ['--vscode-editor-background', '#ffffff', '#000000'],
  '--jp-layout-color3': ['--vscode-editorWidget-border', '#bdbdbd', '#3c3c3c'],
  '--jp-border-color1': ['--vscode-widget-border', '#bdbdbd', '#616161'],
  '--jp-border-color2': ['--vscode-editorGroup-border', '#e0e0e0', '#424242'],
  '--jp-brand-color1': ['--vscode-focusBorder', '#1976d2', '#42a5f5'],
  '--jp-brand-color3': ['--vscode-editorInfo-background', '#bbdefb', '#0d47a1'],
  '--jp-error-color0': ['--vscode-errorForeground', '#b71c1c', '#ef9a9a'],
  '--jp-error-color1': ['--vscode-errorForeground', '#d32f2f', '#e57373'],
  '--jp-error-color3': ['--vscode-inputValidation-errorBackground', '#ffcdd2', '#5a1d1d'],
  '--jp-warn-color0': ['--vscode-editorWarning-foreground', '#e65100', '#ffb74d'],
  '--jp-warn-color1': ['--vscode-editorWarning-foreground', '#f57c00', '#ffa726'],
  '--jp-ui-font-family': ['--vscode-font-family', 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'],
  '--jp-code-font-family': ['--vscode-editor-font-family', 'Menlo, Consolas, "DejaVu Sans Mono", monospace',
    'Menlo, Consolas, "DejaVu Sans Mono", monospace'],
  '--jp-ui-font-size0': ['--nbviz-font-size0', '11px', '11px'],
  '--jp-ui-font-size1': ['--vscode-font-size', '13px', '13px'],
  '--jp-code-font-size': ['--vscode-editor-font-size', '13px', '13px'],
};

/**
 * The values to give JupyterLab's variables where the host defines none (VS Code, Colab, marimo, a static page):
 * VS Code's own theme variables when present, else light or dark defaults.
 */
export function hostThemeVariables(dark: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, [vscode, light, darkValue]] of Object.entries(HOST_VARIABLES)) {
    out[name] = `var(${vscode}, ${dark ? darkValue : light})`;
  }
  return out;
}

/** Whether the host page is dark: VS Code's body class, marimo's / Colab's dark markers, else the OS setting. */
export function hostIsDark(doc: Document, prefersDark: boolean): boolean {
  const marks = `${doc.body?.className ?? ''} ${doc.documentElement.className} ${doc.documentElement.getAttribute('theme') ?? ''}`;
  if (/\bvscode-(dark|high-contrast)\b/.test(marks) && !/\bvscode-high-contrast-light\b/.test(marks)) return true;
  if (/\bvscode-light\b|\bvscode-high-contrast-light\b/.test(marks)) return false;
  if (/\b(dark|dark-theme)\b/.test(marks)) return true;
  return prefersDark;
}

/**
 * Outside JupyterLab (no --jp-* variables reach `root`), define them on `root` from the host's theme, so every
 * nbviz style and canvas colour follows VS Code's and the OS's dark mode as it follows JupyterLab's. Hosts attach
 * the view after rendering it, so the check waits until `root` is in the page.
 */
export function adoptHostTheme(root: HTMLElement): void {
  let tries = 0;
  const check = () => {
    if (!root.isConnected) {
      if (++tries < 600) requestAnimationFrame(check);
      return;
    }
    if (getComputedStyle(root).getPropertyValue('--jp-layout-color0').trim() !== '') return;
    const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
    const observer = new MutationObserver(() => apply());
    const apply = () => {
      if (!root.isConnected) {  // the view is gone: stop listening, so nothing keeps it alive
        observer.disconnect();
        media?.removeEventListener?.('change', apply);
        return;
      }
      const vars = hostThemeVariables(hostIsDark(document, media?.matches ?? false));
      for (const [name, value] of Object.entries(vars)) root.style.setProperty(name, value);
      root.dataset.nbvizHostTheme = hostIsDark(document, media?.matches ?? false) ? 'dark' : 'light';
      document.dispatchEvent(new Event(HOST_THEME_EVENT));  // canvases re-read their colours (watchTheme)
    };
    apply();
    media?.addEventListener?.('change', apply);
    observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'theme'] });
  };
  check();
}
