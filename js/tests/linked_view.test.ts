import { describe, expect, it } from 'vitest';
import { FakeModel } from '../dev/fake_model';
import { fromView, mountLinkedView, sameView, toView } from '../src/embedding_explorer/linked_view';
import type { ExplorerTraits } from '../src/embedding_explorer/protocol';

/** A camera like regl-scatterplot's: zoomToLocation moves it and fires 'view', reading back a hair off. */
class FakeCamera {
  target: [number, number] = [0, 0];
  distance = 1;
  zooms = 0;
  private handlers: Array<() => void> = [];
  get(key: string) {
    return key === 'cameraTarget' ? this.target : this.distance;
  }
  zoomToLocation(target: [number, number], distance: number) {
    this.zooms++;
    this.target = [target[0] + 1e-9, target[1]];
    this.distance = distance;
    this.fire();
    return Promise.resolve();
  }
  subscribe(_event: 'view', handler: () => void) {
    this.handlers.push(handler);
    return handler;
  }
  unsubscribe(handler: unknown) {
    this.handlers = this.handlers.filter((h) => h !== handler);
  }
  fire() {
    for (const h of this.handlers) h();
  }
}

function explorer(view: number[] = []) {
  const model = new FakeModel({ view, hovered: -1 } as unknown as ExplorerTraits);
  const scatter = new FakeCamera();
  const state = { moved: false, fits: 0, overlays: 0, drawn: true };
  const linked = mountLinkedView({
    model: model as never,
    scatter: scatter as never,
    moved: () => state.moved,
    markMoved: () => {
      state.moved = true;
    },
    fit: () => {
      state.moved = false;
      state.fits++;
    },
    redrawOverlay: () => {
      state.overlays++;
    },
    drawn: () => state.drawn,
  });
  return { model, scatter, state, linked };
}

/** What ipywidgets.jslink does in the browser: a change on one model is set (and saved) on the other. */
function jslink(a: FakeModel<ExplorerTraits>, b: FakeModel<ExplorerTraits>, key: 'view' | 'hovered') {
  a.on(`change:${key}`, () => b.set(key, a.get(key)));
  b.on(`change:${key}`, () => a.set(key, b.get(key)));
}

describe('linked view helpers', () => {
  it('compares cameras within float noise only', () => {
    expect(sameView([0.5, -0.25, 2], [0.5 + 1e-9, -0.25, 2])).toBe(true);
    expect(sameView([0.5, -0.25, 2], [0.5, -0.25, 2.01])).toBe(false);
    expect(sameView([], [])).toBe(true);
    expect(sameView([], [0, 0, 1])).toBe(false);
  });

  it('reads a trait value as a camera, or null for fit / malformed', () => {
    expect(fromView([0.1, 0.2, 3])).toEqual([0.1, 0.2, 3]);
    expect(fromView([])).toBeNull();
    expect(fromView([0, 0, 0])).toBeNull();
    expect(fromView([0, Number.NaN, 1])).toBeNull();
    expect(toView([1, 2], 0.5)).toEqual([1, 2, 0.5]);
  });
});

describe('two linked explorers', () => {
  it('a pan in one moves the other once, with no echo back', () => {
    const a = explorer();
    const b = explorer();
    jslink(a.model, b.model, 'view');
    a.state.moved = true; // the user zoomed in a
    a.scatter.target = [0.3, -0.2];
    a.scatter.distance = 0.4;
    a.scatter.fire();
    expect(a.model.get('view')).toEqual([0.3, -0.2, 0.4]);
    expect(b.scatter.zooms).toBe(1);
    expect(b.scatter.target[0]).toBeCloseTo(0.3, 8);
    expect(b.scatter.distance).toBe(0.4);
    expect(b.state.moved).toBe(true); // b stops fitting the data by itself
    expect(a.scatter.zooms).toBe(0); // b's read-back (a hair off) did not bounce to a
    expect(b.model.saves.length).toBe(0);
  });

  it('a reset in one fits the other', () => {
    const a = explorer();
    const b = explorer();
    jslink(a.model, b.model, 'view');
    a.state.moved = true;
    a.scatter.target = [0.3, 0.1];
    a.scatter.fire();
    a.state.moved = false; // reset: the view fits the data again
    a.scatter.fire();
    expect(a.model.get('view')).toEqual([]);
    expect(b.state.fits).toBe(1);
    expect(b.state.moved).toBe(false);
  });

  it('a camera given before the points are drawn is applied after the draw', () => {
    const a = explorer([0.5, 0.5, 0.25]);
    a.state.drawn = false;
    a.scatter.fire(); // the first fit: must not overwrite the trait with []
    expect(a.model.get('view')).toEqual([0.5, 0.5, 0.25]);
    a.state.drawn = true;
    a.linked.afterDraw();
    expect(a.scatter.zooms).toBe(1);
    expect(a.scatter.distance).toBe(0.25);
  });

  it('hover in one is a ring in the other, not in itself', () => {
    const a = explorer();
    const b = explorer();
    jslink(a.model, b.model, 'hovered');
    a.linked.hover(7);
    expect(b.model.get('hovered')).toBe(7);
    expect(b.linked.linkedHover()).toBe(7);
    expect(b.state.overlays).toBeGreaterThan(0);
    expect(a.linked.linkedHover()).toBe(-1);
    a.linked.hover(-1);
    expect(b.linked.linkedHover()).toBe(-1);
  });

  it('stops listening when destroyed', () => {
    const a = explorer();
    a.linked.destroy();
    a.state.moved = true;
    a.scatter.fire();
    expect(a.model.get('view')).toEqual([]);
    expect(a.model.listenerCount()).toBe(0);
  });
});
