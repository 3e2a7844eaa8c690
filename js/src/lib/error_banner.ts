// Red banner for the synced `error` / `error_details` traits every nbviz widget has.
// Text only (textContent): error messages may quote user input.

import type { AnyModel } from '@anywidget/types';
import { adoptHostTheme } from './theme';

interface ErrorTraits {
  error: string;
  error_details: string;
}

export interface ErrorBanner {
  /** Show an error raised in the browser itself (bad data, no WebGL); Python's `error` wins when both are set. */
  setLocalError(text: string, details?: string): void;
  destroy(): void;
}

export function mountErrorBanner<T extends ErrorTraits>(model: AnyModel<T>, parent: HTMLElement): ErrorBanner {
  const banner = document.createElement('div');
  banner.className = 'nbviz-error';
  banner.setAttribute('role', 'alert');
  const message = document.createElement('div');
  message.className = 'nbviz-error-message';
  const details = document.createElement('details');
  details.className = 'nbviz-error-details';
  const summary = document.createElement('summary');
  summary.textContent = 'Details';
  const pre = document.createElement('pre');
  details.append(summary, pre);
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'nbviz-error-close';
  close.setAttribute('aria-label', 'Dismiss error');
  close.textContent = '\u00d7';
  banner.append(close, message, details);
  parent.prepend(banner);

  let dismissed = '';
  let local: [string, string] = ['', ''];
  const update = () => {
    const pyText = String(model.get('error') ?? '');
    const text = pyText || local[0];
    const extra = pyText ? String(model.get('error_details') ?? '') : local[1];
    message.textContent = text;
    pre.textContent = extra;
    details.hidden = !extra;
    // A dismissed error stays hidden until a different one arrives.
    banner.hidden = !text || text === dismissed;
  };
  const onClose = () => {
    dismissed = message.textContent ?? '';
    banner.hidden = true;
  };
  close.addEventListener('click', onClose);
  model.on('change:error', update);
  model.on('change:error_details', update);
  update();
  return {
    setLocalError(text, details = '') {
      local = [text, details];
      update();
    },
    destroy() {
      close.removeEventListener('click', onClose);
      model.off('change:error', update);
      model.off('change:error_details', update);
      banner.remove();
    },
  };
}

/**
 * A widget's root element in `host`: classes `nbviz-root <className>`, not ready yet (`data-nbviz-ready`, set
 * to "true" by the view once its first frame is drawn), with the error banner mounted.
 */
export function mountWidgetRoot<T extends ErrorTraits>(
  model: AnyModel<T>, host: HTMLElement, className: string,
): { root: HTMLDivElement; banner: ErrorBanner } {
  const root = document.createElement('div');
  root.className = `nbviz-root ${className}`;
  root.dataset.nbvizReady = 'false';
  host.append(root);
  adoptHostTheme(root);
  return { root, banner: mountErrorBanner(model, root) };
}
