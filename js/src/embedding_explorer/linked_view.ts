// Linked views (compare mode): the camera and the hovered point are traits, so two explorers tied with
// ipywidgets.jslink follow each other in the browser, with no kernel round trip on the way.

import type { AnyModel } from '@anywidget/types';
import type { ExplorerTraits } from './protocol';

/** Camera target x, y (the plot's normalised space, where the points span [-1, 1]) and distance. */
export type View = [number, number, number];

const TOLERANCE = 1e-6;

/** Equal within float noise: a camera applied from the trait reads back a hair off, and must not echo. */
export function sameView(a: ArrayLike<number> | null | undefined, b: ArrayLike<number> | null | undefined): boolean {
  const la = a?.length ?? 0;
  const lb = b?.length ?? 0;
  if (la !== lb) return false;
  for (let i = 0; i < la; i++) {
    const x = (a as ArrayLike<number>)[i];
    const y = (b as ArrayLike<number>)[i];
    if (!(Math.abs(x - y) <= TOLERANCE * Math.max(1, Math.abs(y)))) return false;
  }
  return true;
}

/** The trait value for a camera, or null when it is not a usable one. */
export function toView(target: ArrayLike<number> | undefined, distance: unknown): View | null {
  const d = Number(distance);
  if (!target || target.length < 2 || !Number.isFinite(target[0]) || !Number.isFinite(target[1])) return null;
  return Number.isFinite(d) && d > 0 ? [target[0], target[1], d] : null;
}

/** A `view` trait value as a camera, or null for "fit the data" (an empty list) or a malformed value. */
export function fromView(value: unknown): View | null {
  if (!Array.isArray(value) || value.length !== 3) return null;
  return toView(value as number[], value[2]);
}

interface Camera {
  get(key: 'cameraTarget'): ArrayLike<number>;
  get(key: 'cameraDistance'): number;
  zoomToLocation(target: [number, number], distance: number, options: { transition: boolean }): Promise<unknown>;
  subscribe(event: 'view', handler: () => void): unknown;
  unsubscribe(handle: unknown): void;
}

export interface LinkedViewHost {
  model: AnyModel<ExplorerTraits>;
  scatter: Camera;
  /** True once the user (or a linked view) moved the camera: the view no longer fits the data by itself. */
  moved(): boolean;
  /** Stop fitting the data: a camera was given. */
  markMoved(): void;
  /** Fit the data (and fit again as the container settles). */
  fit(): void;
  /** Redraw the overlay (where the linked hover ring is drawn). */
  redrawOverlay(): void;
  /** True when points are drawn and the camera can be set. */
  drawn(): boolean;
}

export interface LinkedView {
  /** The point hovered in a linked view (not this one), -1 for none: drawn as a ring here. */
  linkedHover(): number;
  /** This view's pointer is over point i (-1: over none). */
  hover(i: number): void;
  /** Points were (re)drawn: a camera set before they were is applied now. */
  afterDraw(): void;
  destroy(): void;
}

export function mountLinkedView(host: LinkedViewHost): LinkedView {
  const { model, scatter } = host;
  let ownHover = -1;
  let pending = fromView(model.get('view')) !== null;

  const current = () => toView(scatter.get('cameraTarget'), scatter.get('cameraDistance'));
  const publish = (value: number[]) => {
    if (sameView(value, model.get('view') ?? [])) return;
    model.set('view', value);
    model.save_changes();
  };
  // The camera moved (a gesture, an animation, a fit): publish it, or [] once the view fits the data again.
  const onCamera = () => {
    if (!host.drawn() || pending) return;
    const v = host.moved() ? current() : null;
    publish(v ?? []);
  };
  const apply = () => {
    const v = fromView(model.get('view'));
    if (!host.drawn()) {
      pending = v !== null;
      return;
    }
    pending = false;
    if (v === null) {
      if (host.moved()) host.fit();
      return;
    }
    if (sameView(v, current())) return;
    host.markMoved();
    void scatter.zoomToLocation([v[0], v[1]], v[2], { transition: false });
  };
  const onHovered = () => host.redrawOverlay();

  const sub = scatter.subscribe('view', onCamera);
  model.on('change:view', apply);
  model.on('change:hovered', onHovered);
  return {
    linkedHover() {
      const i = Number(model.get('hovered'));
      return Number.isInteger(i) && i !== ownHover ? i : -1;
    },
    hover(i: number) {
      ownHover = i;
      if (model.get('hovered') === i) return;
      model.set('hovered', i);
      model.save_changes();
    },
    afterDraw() {
      if (pending) apply();
    },
    destroy() {
      scatter.unsubscribe(sub);
      model.off('change:view', apply);
      model.off('change:hovered', onHovered);
    },
  };
}
