import { describe, expect, it } from 'vitest';
import { ICON_NAMES, iconPath } from '../src/lib/ui/icons';
import { isEditable, keyLabel, normalizeKey, plainKey, tooltipText } from '../src/lib/ui/keys';
import { progressFraction } from '../src/lib/ui/toolbar';

describe('ui kit: shortcuts', () => {
  it('names keys as a tooltip shows them', () => {
    expect(keyLabel('l')).toBe('L');
    expect(keyLabel(' ')).toBe('Space');
    expect(keyLabel('Escape')).toBe('Esc');
    expect(keyLabel('/')).toBe('/');
    expect(tooltipText('Lasso', 'l')).toBe('Lasso (L)');
    expect(tooltipText('Play', ' ')).toBe('Play (Space)');
    expect(tooltipText('Save PNG')).toBe('Save PNG');
  });

  it('matches letters whatever the case, and leaves modified keys to the host', () => {
    expect(normalizeKey('L')).toBe('l');
    expect(normalizeKey('ArrowLeft')).toBe('ArrowLeft');
    const key = { key: 'l', ctrlKey: false, metaKey: false, altKey: false };
    expect(plainKey(key)).toBe(true);
    expect(plainKey({ ...key, ctrlKey: true })).toBe(false);
    expect(plainKey({ ...key, metaKey: true })).toBe(false);
    expect(plainKey({ ...key, altKey: true })).toBe(false);
  });

  it('treats text boxes, selects and sliders as typing (closest() decides)', () => {
    const inside = (selector: string | null) => ({ closest: () => selector });
    expect(isEditable(inside('input') as unknown as EventTarget)).toBe(true);
    expect(isEditable(inside(null) as unknown as EventTarget)).toBe(false);
    expect(isEditable(null)).toBe(false);
  });
});

describe('ui kit: icons and progress', () => {
  it('has path data for every icon, and only path commands in it (no markup)', () => {
    expect(ICON_NAMES.length).toBeGreaterThan(10);
    for (const name of ICON_NAMES) expect(iconPath(name)).toMatch(/^[MmLlHhVvCcSsQqTtAaZz0-9.,\s-]+$/);
  });

  it('shows progress in 0..1 and hides it when idle', () => {
    expect(progressFraction(-1)).toBeNull();
    expect(progressFraction(Number.NaN)).toBeNull();
    expect(progressFraction(0.25)).toBe(0.25);
    expect(progressFraction(3)).toBe(1);
  });
});
