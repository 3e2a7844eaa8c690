// Point colours and what decides them: the theme (background, lasso and selected-point colours), the
// legend (colour by category, with hidden categories: click hides, double-click isolates) or the colour
// bar (colour by value), and the category / value columns read from the traits. Split out of index.ts.

import { decodeArray, type TypedArray } from '../lib/codecs';
import { paletteRows, toUnitRgba, type Rgba } from '../lib/colors';
import { parseRgb, readTheme } from '../lib/theme';
import { valueColors, valueColumn } from '../lib/display';
import { renderColorbar } from './colorbar';
import type { ExplorerCtx, ScatterSettings } from './context';
import { colorEncoding } from './encoding';
import { maskIndices, nextHidden, visibleMask } from './hidden';
import { sameValues } from './layouts';
import { renderLegend } from './legend';

export interface Coloring {
  /** Read the theme from the page and recolour (also `watchTheme`'s callback). */
  applyTheme(): void;
  /** Colour the points and show the legend or the colour bar. */
  applyColors(): void;
  /** Recolour and filter out the hidden categories (`change:hidden_categories`, `change:color_mode`). */
  applyHidden(): void;
  /** Put the library's filter and selection back as the traits say. */
  applyFilter(): void;
  /** Set `st.visible` from hidden_categories. */
  readVisible(): void;
  /** Read categories, palette and values into `st.codes` / `st.valueW`. */
  readCategories(): void;
  /** `change:palette`. */
  onPalette(): void;
  /** `change:colormap_lut`. */
  onColormap(): void;
}

export function createColoring(
  ctx: ExplorerCtx,
  deps: {
    legend: HTMLElement;
    colorbar: HTMLElement;
    syncSelection(): void;
    drawOverlay(): void;
    redrawPoints(): void;
    /** Hidden classes changed: a level-of-detail sample drawn now is out of date. */
    hiddenChanged(): void;
  },
): Coloring {
  const { model, st, scatter, root, banner } = ctx;
  const { legend, colorbar } = deps;
  let rows: Rgba[] = paletteRows(null);

  // --- theme ----------------------------------------------------------------------------------
  /** Selected points in the theme's text colour: dark on light themes, light on dark ones. */
  const activeColor = (): Rgba => {
    const fg = parseRgb(st.theme?.foreground ?? '') ?? [0, 0, 0, 255];
    return toUnitRgba([fg[0], fg[1], fg[2], 255]);
  };
  const applyTheme = () => {
    if (!root.isConnected) return;
    st.theme = readTheme(root);
    const focus = parseRgb(st.theme.focus);
    scatter.set({
      backgroundColor: st.theme.background.map((c, i) => (i < 3 ? c / 255 : 1)) as Rgba,
      ...(focus ? { lassoColor: toUnitRgba(focus) } : {}),
    } as ScatterSettings);
    applyColors();
    deps.drawOverlay();
  };

  // --- colours: legend (categories) or colour bar (values) ------------------------------------
  const valueMode = () => model.get('color_mode') === 'value' && st.valueW !== null;
  const safeDecode = (name: 'colormap_lut' | 'values') => {
    try {
      return decodeArray(model.get(name));
    } catch {
      return null;
    }
  };
  const hiddenCodes = () => (model.get('hidden_categories') ?? []).map(Number).filter(Number.isInteger);
  const applyColors = () => {
    const title = String(model.get('color_title') ?? '');
    if (valueMode()) {
      const lut = paletteRows(safeDecode('colormap_lut'));
      // colour list = LUT + missing grey; valueW picks from it (see color_mode.ts).
      const colors = valueColors(lut);
      scatter.set({
        colorBy: 'valueB',
        pointColor: colors,
        pointColorActive: activeColor(),
        pointColorHover: colors,
      } as unknown as ScatterSettings);
      legend.hidden = true;
      colorbar.hidden = false;
      renderColorbar(colorbar, lut, model.get('value_range') ?? [0, 1], title);
      return;
    }
    colorbar.hidden = true;
    const enc = colorEncoding(st.codes, rows);
    // A hover colour list of the palette's length keeps a hovered point's own colour.
    // The typings allow a colour list only for pointColor; the library takes lists for hover too.
    scatter.set({
      colorBy: enc.colorBy,
      pointColor: enc.colors,
      pointColorActive: activeColor(),
      pointColorHover: enc.colors,
    } as unknown as ScatterSettings);
    const names = (model.get('category_names') ?? []).map(String);
    renderLegend(legend, st.codes ? names : [], rows, new Set(hiddenCodes()), title, onLegend);
  };

  // --- hidden categories (legend click hides, double-click isolates) ---------------------------
  const onLegend = (code: number, isolate: boolean) => {
    const k = (model.get('category_names') ?? []).length;
    model.set('hidden_categories', nextHidden(hiddenCodes(), code, isolate, k));
    model.save_changes();
    applyHidden();
  };
  /** Sets `visible` from hidden_categories (category mode only: in value mode no legend could undo it). */
  const readVisible = () => {
    st.visible = valueMode() ? null : visibleMask(st.codes, hiddenCodes());
  };
  const applyHidden = () => {
    applyColors();
    readVisible();
    deps.hiddenChanged();
    if (!st.drawn) return;
    applyFilter();
    deps.drawOverlay(); // no focus ring on a point just hidden
  };
  /** The library's filter and selection as the traits say (the level of detail puts them back with this). */
  const applyFilter = () => {
    if (st.visible) void scatter.filter(maskIndices(st.visible), { preventEvent: true });
    else void scatter.unfilter({ preventEvent: true });
    deps.syncSelection(); // filter() drops hidden points from the library's selection; the trait keeps them
  };

  const readCategories = () => {
    let c: TypedArray | null = null;
    try {
      c = decodeArray(model.get('categories'))?.data ?? null;
      rows = paletteRows(decodeArray(model.get('palette')));
    } catch (err) {
      banner.setLocalError(`Could not read categories or palette: ${String(err)}`);
      rows = paletteRows(null);
    }
    // Categories or values that do not match the points are ignored rather than mis-coloured.
    const n = st.n;
    st.codes = c && c.length === n && n > 0 ? c : null;
    const v = safeDecode('values')?.data ?? null;
    st.valueW = v && v.length === n && n > 0 ? valueColumn(v, paletteRows(safeDecode('colormap_lut')).length) : null;
  };

  const onPalette = () => {
    readCategories();
    applyColors();
  };
  // A LUT of another length moves the value bins (color_mode.ts): only then do the points need redrawing.
  const onColormap = () => {
    const before = st.valueW;
    readCategories();
    if (before && st.valueW && !sameValues(before, st.valueW)) deps.redrawPoints();
    else applyColors();
  };

  return { applyTheme, applyColors, applyHidden, applyFilter, readVisible, readCategories, onPalette, onColormap };
}
