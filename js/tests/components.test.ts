import { describe, expect, it } from 'vitest';
import { axesFor, formatCorr, heatColor, heatText, nextSort, tableRows } from '../src/components_view/model';
import type { Column } from '../src/components_view/protocol';

describe('heatColor', () => {
  it('is white at 0, blue at -1, red at +1, grey when undefined', () => {
    expect(heatColor(0)).toBe('rgb(255, 255, 255)');
    expect(heatColor(-1)).toBe('rgb(33, 102, 172)');
    expect(heatColor(1)).toBe('rgb(178, 24, 43)');
    expect(heatColor(5)).toBe(heatColor(1));
    expect(heatColor(NaN)).toBe('rgb(160, 160, 160)');
    expect(heatText(0.9)).toBe('#ffffff');
    expect(heatText(0.1)).toBe('#000000');
  });
  it('formats with a sign', () => {
    expect(formatCorr(0.5)).toBe('+0.50');
    expect(formatCorr(-0.123)).toBe('-0.12');
    expect(formatCorr(NaN)).toBe('n/a');
  });
});

describe('tableRows / nextSort', () => {
  const col: Column = {
    index: 0, title: 'moved most', percent: 0, low: [7, 3, 9, 1], high: [], low_text: ['b', 'a', 'c', 'a'], high_text: [],
    kind: 'table', values: [0.5, 0.1, 0.1, NaN],
  };
  it('sorts by value with ties by index and NaN last, either way', () => {
    expect(tableRows(col, 'value', true).map((r) => r.index)).toEqual([3, 9, 7, 1]);
    expect(tableRows(col, 'value', false).map((r) => r.index)).toEqual([1, 7, 3, 9]);
    expect(tableRows(col, 'text', true).map((r) => r.index)).toEqual([1, 3, 7, 9]);
    expect(tableRows(col, 'index', false).map((r) => r.index)).toEqual([9, 7, 3, 1]);
  });
  it('flips the direction on the same header, starts ascending on another', () => {
    expect(nextSort({ key: 'value', ascending: true }, 'value')).toEqual({ key: 'value', ascending: false });
    expect(nextSort({ key: 'value', ascending: false }, 'text')).toEqual({ key: 'text', ascending: true });
  });
});

describe('axesFor', () => {
  it('pairs the clicked component with the next one, or the previous at the end', () => {
    expect(axesFor(0, 5, [])).toEqual([0, 1]);
    expect(axesFor(4, 5, [])).toEqual([4, 3]);
    expect(axesFor(0, 1, [])).toEqual([0, 0]);
  });
  it('is the same pair whatever was shown before', () => {
    expect(axesFor(2, 5, [0, 1])).toEqual([2, 3]);
    expect(axesFor(2, 5, [3, 4])).toEqual([2, 3]);
    expect(axesFor(0, 5, [2, 3])).toEqual([0, 1]);
  });
  it('a shift-click puts the component on the y axis and keeps x', () => {
    expect(axesFor(3, 5, [0, 1], true)).toEqual([0, 3]);
    expect(axesFor(0, 5, [0, 1], true)).toEqual([0, 1]); // x itself: the plain pair
  });
});
