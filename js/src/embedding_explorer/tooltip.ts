// Hover tooltip text; kept pure so it can be tested without a DOM.

/** `#<index>` plus the category name when the point has one. */
export function tooltipText(index: number, code: number | null, names: readonly string[]): string {
  const name = code !== null && code >= 0 && code < names.length ? names[code] : '';
  return name ? `#${index} \u00b7 ${name}` : `#${index}`;
}

/** Tooltip position inside a box: offset from the pointer, flipped to stay inside the box. */
export function tooltipPosition(
  px: number,
  py: number,
  tipW: number,
  tipH: number,
  boxW: number,
  boxH: number,
  offset = 12,
): [number, number] {
  let x = px + offset;
  let y = py + offset;
  if (x + tipW > boxW) x = Math.max(0, px - offset - tipW);
  if (y + tipH > boxH) y = Math.max(0, py - offset - tipH);
  return [x, y];
}
