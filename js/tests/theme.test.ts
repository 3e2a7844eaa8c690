import { describe, expect, it } from 'vitest';
import { hostIsDark, hostThemeVariables } from '../src/lib/theme';

const doc = (body: string, html = '', theme: string | null = null) => ({
  body: { className: body },
  documentElement: { className: html, getAttribute: (n: string) => (n === 'theme' ? theme : null) },
}) as unknown as Document;

describe('host theme outside JupyterLab', () => {
  it('follows VS Code theme variables first, then light or dark defaults', () => {
    const light = hostThemeVariables(false);
    const dark = hostThemeVariables(true);
    expect(light['--jp-layout-color0']).toBe('var(--vscode-editor-background, #ffffff)');
    expect(dark['--jp-layout-color0']).toBe('var(--vscode-editor-background, #1e1e1e)');
    expect(dark['--jp-ui-font-color1']).toContain('--vscode-editor-foreground');
    // every variable nbviz's styles read is defined, differently for dark where it is a colour
    for (const name of ['--jp-layout-color1', '--jp-layout-color2', '--jp-border-color1', '--jp-ui-font-color2',
      '--jp-error-color1', '--jp-brand-color1', '--jp-warn-color1', '--jp-ui-font-family', '--jp-code-font-size']) {
      expect(light[name]).toMatch(/^var\(--/);
    }
    expect(light['--jp-layout-color2']).not.toBe(dark['--jp-layout-color2']);
  });

  it('reads dark mode from VS Code body classes, marimo/Colab markers, else the OS', () => {
    expect(hostIsDark(doc('vscode-body vscode-dark'), false)).toBe(true);
    expect(hostIsDark(doc('vscode-high-contrast'), false)).toBe(true);
    expect(hostIsDark(doc('vscode-light'), true)).toBe(false);
    expect(hostIsDark(doc('vscode-high-contrast-light vscode-high-contrast'), true)).toBe(false);
    expect(hostIsDark(doc('', 'dark'), false)).toBe(true);
    expect(hostIsDark(doc('', '', 'dark'), false)).toBe(true);
    expect(hostIsDark(doc(''), true)).toBe(true);
    expect(hostIsDark(doc(''), false)).toBe(false);
  });
});
