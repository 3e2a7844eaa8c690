// The toolbar icons: small stroked line drawings on a 16x16 grid, built as SVG elements (no markup parsing, no
// font, no network), drawn in the button's text colour so they follow the theme.

const SVG = 'http://www.w3.org/2000/svg';

/** Each icon: SVG path data on a 16x16 viewBox, stroked with currentColor. */
const PATHS = {
  // A free-form loop with a tail: the lasso.
  lasso: 'M8 2.5c3.3 0 5.5 1.6 5.5 3.6S11.3 9.7 8 9.7 2.5 8.1 2.5 6.1 4.7 2.5 8 2.5zM5 9.2c-.8.9-1 2-.4 2.8.5.7 1.4.8 2 .3M6.6 12.3 5.5 14',
  // A dashed rectangle: the box selection.
  box: 'M2.5 3.5h2M6.5 3.5h3M11.5 3.5h2v2M13.5 7.5v1M13.5 10.5v2h-2M9.5 12.5h-3M4.5 12.5h-2v-2M2.5 8.5v-1M2.5 5.5v-2',
  // Four arrows out from the centre: pan and zoom.
  pan: 'M8 1.5v13M1.5 8h13M6 3.5l2-2 2 2M6 12.5l2 2 2-2M3.5 6l-2 2 2 2M12.5 6l2 2-2 2',
  // Four corners: fit everything in view.
  fit: 'M2 5.5V2h3.5M10.5 2H14v3.5M14 10.5V14h-3.5M5.5 14H2v-3.5M5.5 5.5h5v5h-5z',
  // A cross: clear.
  clear: 'M4 4l8 8M12 4l-8 8',
  // A tag: label.
  tag: 'M2 2.5v5l6.5 6.5 5-5L7 2.5zM5 5.2h.01',
  // A pointer with a plus: label by click.
  click: 'M3 2.5l3.6 10 1.6-4.2 4.2-1.6zM11 11.5h4M13 9.5v4',
  play: 'M4.5 2.5v11l9-5.5z',
  pause: 'M4.5 2.5v11M11.5 2.5v11',
  loop: 'M2.5 8a5.5 5.5 0 0 1 9.4-3.9L13.5 5.5M13.5 2v3.5H10M13.5 8a5.5 5.5 0 0 1-9.4 3.9L2.5 10.5M2.5 14v-3.5H6',
  // An arrow into a tray: save / download.
  download: 'M8 2v8.5M4.5 7 8 10.5 11.5 7M2.5 11v2.5h11V11',
  // Minus in a square: collapse all.
  collapse: 'M2.5 2.5h11v11h-11zM5 8h6',
  search: 'M7 2.5a4.5 4.5 0 1 1 0 9 4.5 4.5 0 0 1 0-9zM10.3 10.3l3.5 3.5',
  // Two by two squares: the confusion grid.
  grid: 'M2.5 2.5h4.5v4.5h-4.5zM9 2.5h4.5v4.5H9zM2.5 9h4.5v4.5h-4.5zM9 9h4.5v4.5H9z',
  // A drop: colour by.
  palette: 'M8 2c2.5 3 4.5 5.3 4.5 7.5a4.5 4.5 0 0 1-9 0C3.5 7.3 5.5 5 8 2z',
} as const;

export type IconName = keyof typeof PATHS;

export const ICON_NAMES = Object.keys(PATHS) as IconName[];

/** An inline SVG icon (aria-hidden: the button it sits in carries the accessible name). */
export function icon(name: IconName): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `nbviz-ui-icon nbviz-ui-icon-${name}`);
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', PATHS[name]);
  // Filled shapes read better small for play; everything else is a line drawing.
  path.setAttribute('fill', name === 'play' ? 'currentColor' : 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '1.4');
  path.setAttribute('stroke-linecap', 'round');
  path.setAttribute('stroke-linejoin', 'round');
  svg.append(path);
  return svg;
}

/** The path data of an icon (for tests: every icon has some). */
export function iconPath(name: IconName): string {
  return PATHS[name];
}
