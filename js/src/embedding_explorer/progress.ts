// Background work (a projection running in Python): a thin bar and the status text over the top of the plot.

/** Fraction shown, or null when idle (progress < 0 or not a number). */
export function progressFraction(progress: number): number | null {
  if (!(progress >= 0)) return null;
  return Math.min(progress, 1);
}

export interface ProgressBar {
  root: HTMLElement;
  update(progress: number, status: string): void;
}

export function progressBar(): ProgressBar {
  const root = document.createElement('div');
  root.className = 'nbviz-progress';
  root.setAttribute('role', 'progressbar');
  root.setAttribute('aria-valuemin', '0');
  root.setAttribute('aria-valuemax', '100');
  const fill = document.createElement('div');
  fill.className = 'nbviz-progress-fill';
  const text = document.createElement('span');
  text.className = 'nbviz-progress-text';
  root.append(fill, text);
  return {
    root,
    update(progress, status) {
      const f = progressFraction(progress);
      root.hidden = f === null;
      const pct = Math.round((f ?? 0) * 100);
      fill.style.width = `${pct}%`;
      root.setAttribute('aria-valuenow', String(pct));
      text.textContent = status; // status may quote user input: text only
    },
  };
}
