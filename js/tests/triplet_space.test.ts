import { describe, expect, it } from 'vitest';
import {
  anchorMoves, countsText, cumulative, displayHistogram, fitPoints, kindBounds, kindCounts, kindOf, lowerBound,
  medianPositive, nearestPoint, niceTicks, previewCounts, samplingText, EASY, HARD, SEMI,
} from '../src/triplet_space/model';

/** Every (positive, negative) pair, one at a time: the definition. */
function brute(pos: number[], neg: number[], m: number) {
  const out = { easy: 0, semi_hard: 0, hard: 0 };
  for (const p of pos) for (const n of neg) {
    if (n < p) out.hard++;
    else if (n < p + m) out.semi_hard++;
    else out.easy++;
  }
  return out;
}

describe('classifying an anchor', () => {
  const neg = [0.5, 1, 1, 1.5, 2, 3];
  const pos = [0, 1, 1.5, 2.5];
  it('finds the first index at or above a value', () => {
    expect(lowerBound(neg, 1)).toBe(1);
    expect(lowerBound(neg, 0)).toBe(0);
    expect(lowerBound(neg, 9)).toBe(6);
    expect(kindBounds(neg, 1, 0.5)).toEqual([1, 3]);
  });
  it('counts by sorting as the triple loop does, ties included', () => {
    for (const m of [0, 0.5, 1, 2.5]) expect(kindCounts(pos, neg, m)).toEqual(brute(pos, neg, m));
    expect(kindOf(1, 1, 0)).toBe(EASY); // d(a,n) = d(a,p), margin 0: not hard, not below p + 0
    expect(kindOf(1, 1, 0.5)).toBe(SEMI);
    expect(kindOf(0.9, 1, 0.5)).toBe(HARD);
    expect(kindOf(1.5, 1, 0.5)).toBe(EASY);
  });
  it('counts moves between two sets, rows before and columns now in easy, semi-hard, hard order', () => {
    const moves = anchorMoves([1], [0.5, 1.2, 3], [1], [2, 0.5, 1.2], 0.5);
    // before: hard, semi, easy; now: easy, hard, semi.
    expect(moves).toEqual([[0, 1, 0], [0, 0, 1], [1, 0, 0]]);
    expect(anchorMoves([1, 2], [1, 2], [1, 2], [1, 2], 0.5, 3)).toBeNull();
  });
});

describe('the whole set from the histogram', () => {
  const h = { fractions: [0.25, 0.25, 0.5], start: -1, step: 1 }; // about -1, 0, 1
  it('interpolates the share below a value within bins', () => {
    const below = cumulative(h);
    expect(below(-2)).toBe(0);
    expect(below(-0.5)).toBeCloseTo(0.25);
    expect(below(0)).toBeCloseTo(0.375);
    expect(below(9)).toBeCloseTo(1);
  });
  it('is exact at the margin Python counted and moves by the histogram elsewhere', () => {
    const below = cumulative(h);
    const exact = { easy: 50, semi_hard: 30, hard: 20 };
    expect(previewCounts(below, 100, exact, 0.5, 0.5)).toEqual(exact);
    const wider = previewCounts(below, 100, exact, 0.5, 1.0);
    expect(wider.hard).toBe(20);
    expect(wider.semi_hard).toBe(30 + 25);
    expect(wider.easy + wider.semi_hard + wider.hard).toBe(100);
    expect(previewCounts(below, 100, exact, 0.5, 0).semi_hard).toBeGreaterThanOrEqual(0);
  });
  it('bins the differences over a range holding 0 and the largest margin, tails left out', () => {
    const { edges, fractions } = displayHistogram({ fractions: [0.001, 0.5, 0.498, 0.001], start: 1, step: 1 }, 4, 4);
    expect(edges[0]).toBe(0);
    expect(edges[edges.length - 1]).toBeGreaterThanOrEqual(4);
    expect(fractions.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
  });
});

describe('layout and text', () => {
  it('fits points in the box with the aspect kept and finds the nearest', () => {
    const s = fitPoints([0, 0, 2, 1, 1, 0.5], 220, 120, 10);
    expect(s[0]).toBeCloseTo(10);
    expect(s[2]).toBeCloseTo(210);
    expect(s[3]).toBeCloseTo(10);
    expect(nearestPoint(s, 111, 61, 8)).toBe(2);
    expect(nearestPoint(s, 60, 100, 8)).toBe(-1);
  });
  it('states counts, sampling and ticks', () => {
    expect(countsText({ easy: 1234, semi_hard: 5, hard: 0 })).toBe('hard 0 \u00b7 semi-hard 5 \u00b7 easy 1,234');
    expect(samplingText({ n_anchors: 2000, n_items: 100000, sampled: true }))
      .toBe('counts over 2,000 of 100,000 anchors, sampled');
    expect(samplingText({ n_anchors: 10, n_items: 10, sampled: false })).toBe('counts over all 10 anchors');
    const ticks = niceTicks(0, 1, 5);
    expect(ticks.length).toBe(6);
    expect(ticks[0]).toBe(0);
    expect(ticks[5]).toBeCloseTo(1);
    expect(medianPositive(5)).toBe(2);
    expect(medianPositive(0)).toBe(-1);
  });
});
