// Layout one group at a time: each open group's children (nodes and closed groups, plus open subgroups as boxes
// of their own laid-out size) go through elkjs's layered algorithm, the groups of one depth in one call; a chain is
// stacked as elkjs would stack it, without a call. Results are cached per group and content, so opening a group
// lays out only that group and the groups around it.

import { encodeArray } from '../lib/codecs';
import type { ViewLayout } from './protocol';
import type { VisibleGraph, VisNode } from './visible';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Layout {
  /** Absolute boxes of drawn nodes and of open-group frames, by id ('frame:' + path for frames). */
  boxes: Map<string, Box>;
  width: number;
  height: number;
  /** Groups laid out by this call (not taken from the cache). */
  computed: number;
}

interface ElkNode {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  children?: ElkNode[];
  edges?: Array<{ id: string; sources: string[]; targets: string[] }>;
  layoutOptions?: Record<string, string>;
}

/** Anything that lays out a flat graph (elkjs's ELK, or a stub in tests). */
export interface Layouter {
  layout(graph: ElkNode): Promise<ElkNode>;
  /** Where the layout runs ('worker', 'main thread (why)'), and performance.now() when it was ready, once known. */
  engine?: string;
  readyAt?: number;
  /** False while it is still starting (a layout would wait). */
  ready?: () => boolean;
  /** Start it soon, if it has not started (called once a graph is on screen). */
  prepare?: () => void;
}

/** What the view sends back once `layout` (made for the open groups `expanded`) is on screen. */
export function layoutReport(layout: Layout, expanded: string[]): ViewLayout {
  const ids = [...layout.boxes.keys()];
  const boxes = new Float32Array(ids.length * 4);
  ids.forEach((id, i) => {
    const b = layout.boxes.get(id)!;
    boxes.set([b.x, b.y, b.w, b.h], 4 * i);
  });
  return { expanded: [...expanded], ids, boxes: encodeArray(boxes, [ids.length, 4]), width: layout.width,
    height: layout.height };
}

export const NODE_H = 34;
export const PAD = 12;
export const TITLE = 22;
/** Vertical gap between layers. */
export const LAYER_GAP = 30;
/** elkjs options of every group's layout (and of the worker's warm-up, elk.ts). */
export const LAYOUT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered', 'elk.direction': 'DOWN', 'elk.spacing.nodeNode': '16',
  'elk.layered.spacing.nodeNodeBetweenLayers': String(LAYER_GAP), 'elk.padding': '[top=0,left=0,bottom=0,right=0]',
};
/** Above this many children a group is laid out by longest-path layers (elkjs takes seconds there). */
export const LARGE = 600;

export function nodeWidth(n: VisNode): number {
  const text = Math.max((n.name ? n.name.length + 2 : 0) + n.type.length, n.shape.length);
  return Math.min(260, Math.max(90, 7 * text + 16));
}

/** Longest-path layers, each ordered by the mean position of its parents (for very large groups). */
export function layeredPositions(ids: string[], edges: Array<[string, string]>): Map<string, [number, number]> {
  const preds = new Map<string, string[]>();
  for (const [s, t] of edges) (preds.get(t) ?? preds.set(t, []).get(t)!).push(s);
  const layer = new Map<string, number>();
  // Nodes come in execution order, so a node's sources come first; a cycle cannot occur in a captured graph.
  for (const id of ids) {
    let l = 0;
    for (const p of preds.get(id) ?? []) l = Math.max(l, (layer.get(p) ?? -1) + 1);
    layer.set(id, l);
  }
  const rows = new Map<number, string[]>();
  const pos = new Map<string, number>();
  for (const id of [...ids].sort((a, b) => layer.get(a)! - layer.get(b)!)) {
    const row = rows.get(layer.get(id)!) ?? rows.set(layer.get(id)!, []).get(layer.get(id)!)!;
    const ps = (preds.get(id) ?? []).map((p) => pos.get(p)).filter((v): v is number => v !== undefined);
    row.push(id);
    pos.set(id, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : row.length);
  }
  const out = new Map<string, [number, number]>();
  for (const [k, row] of rows) row.sort((a, b) => pos.get(a)! - pos.get(b)!).forEach((id, i) => out.set(id, [k, i]));
  return out;
}

export class GroupLayouts {
  private cache = new Map<string, Placed & { key: string }>();

  /** `elk` null: every group by longest-path layers (the stand-in drawn while elkjs starts). */
  constructor(private elk: Layouter | null) {}

  /** `beforeWait` runs once, if an elkjs call is needed while elkjs is still starting. */
  async layout(vis: VisibleGraph, beforeWait?: () => void): Promise<Layout> {
    const nodeById = new Map(vis.nodes.map((n) => [n.id, n]));
    const kids = new Map<string, string[]>([['', []]]);
    for (const f of vis.frames) kids.set(f, []);
    const frameParent = (f: string): string => {
      const parts = f.split('.');
      for (let i = parts.length - 1; i > 0; i--) {
        const p = parts.slice(0, i).join('.');
        if (kids.has(p)) return p;
      }
      return '';
    };
    for (const f of vis.frames) kids.get(frameParent(f))!.push(`frame:${f}`);
    for (const n of vis.nodes) (kids.get(n.parent) ?? kids.get('')!).push(n.id);
    // The child of `group` that holds a drawn node (itself, or the open subgroup frame around it).
    const holder = (id: string, group: string): string | undefined => {
      let cur = id.startsWith('frame:') ? frameParent(id.slice(6)) : (nodeById.get(id)?.parent ?? '');
      let child = id;
      while (cur !== group) {
        if (cur === '') return undefined;
        child = `frame:${cur}`;
        cur = frameParent(cur);
      }
      return child;
    };
    const sizes = new Map<string, { w: number; h: number }>();
    let computed = 0;
    // Deepest groups first, so a parent knows its open subgroups' sizes; the groups of one depth that need a
    // layout go to elkjs in one call (a call costs more than a small group's own layout).
    const depthOf = (g: string) => (g ? g.split('.').length : 0);
    const depths = [...new Set([0, ...vis.frames.map(depthOf)])].sort((a, b) => b - a);
    for (const depth of depths) {
      const todo: Group[] = [];
      for (const group of [...vis.frames, ''].filter((g) => depthOf(g) === depth)) {
        const children = kids.get(group) ?? [];
        const edges: Array<[string, string]> = [];
        const seen = new Set<string>();
        for (const e of vis.edges) {
          const s = holder(e.source, group);
          const t = holder(e.target, group);
          if (s && t && s !== t && !seen.has(`${s}|${t}`)) {
            seen.add(`${s}|${t}`);
            edges.push([s, t]);
          }
        }
        const dims = children.map((id) => sizes.get(id) ?? { w: nodeWidth(nodeById.get(id)!), h: NODE_H });
        const key = JSON.stringify([children, dims.map((d) => [d.w, d.h]), edges]);
        if (this.cache.get(group)?.key !== key) todo.push({ group, key, ids: children, dims, edges });
      }
      const done = await this.layoutGroups(todo, () => {
        beforeWait?.();
        beforeWait = undefined;
      });
      todo.forEach((g, i) => this.cache.set(g.group, { key: g.key, ...done[i] }));
      computed += todo.length;
      for (const f of vis.frames.filter((g) => depthOf(g) === depth)) {
        const hit = this.cache.get(f)!;
        sizes.set(`frame:${f}`, { w: hit.w + 2 * PAD, h: hit.h + PAD + TITLE });
      }
    }
    // Absolute positions, outermost first.
    const boxes = new Map<string, Box>();
    const place = (group: string, ox: number, oy: number) => {
      const hit = this.cache.get(group)!;
      for (const [id, b] of hit.pos) {
        const box = { x: ox + b.x, y: oy + b.y, w: b.w, h: b.h };
        boxes.set(id, box);
        if (id.startsWith('frame:')) place(id.slice(6), box.x + PAD, box.y + TITLE);
      }
    };
    place('', PAD, PAD);
    const root = this.cache.get('')!;
    return { boxes, width: root.w + 2 * PAD, height: root.h + 2 * PAD, computed };
  }

  /** Positions inside each group: a chain stacked, above LARGE children (or with no elkjs) by hand, the others in
   * one elkjs call. */
  private async layoutGroups(todo: Group[], beforeWait?: () => void): Promise<Placed[]> {
    const elk = this.elk;
    const out = todo.map((g) => {
      const order = pathOrder(g.ids, g.edges);
      return order ? stacked(g, order) : g.ids.length > LARGE || !elk ? byHand(g) : undefined;
    });
    const viaElk = todo.filter((_, i) => !out[i]);
    if (!viaElk.length || !elk) return out as Placed[];
    if (elk.ready?.() === false) beforeWait?.();
    const graph = (g: Group, id: string) => ({
      id,
      layoutOptions: LAYOUT_OPTIONS,
      children: g.ids.map((c, i) => ({ id: c, width: g.dims[i].w, height: g.dims[i].h })),
      edges: g.edges.map(([s, t], i) => ({ id: `${id}\u0000${i}`, sources: [s], targets: [t] })),
    });
    // Several groups: each one a compound node of an unconnected batch, which elkjs lays out one by one with the
    // group's own options (and then the batch, a few boxes without edges).
    const res = viaElk.length === 1 ? [await elk.layout(graph(viaElk[0], 'g'))]
      : (await elk.layout({
        id: 'batch', layoutOptions: LAYOUT_OPTIONS, children: viaElk.map((g, i) => graph(g, `\u0000${i}`)),
      })).children ?? [];
    let k = 0;
    return out.map((placed) => placed ?? extent(new Map((res[k++]?.children ?? []).map((c) => [
      c.id, { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 }]))));
  }
}

interface Group {
  group: string;
  key: string;
  ids: string[];
  dims: Array<{ w: number; h: number }>;
  edges: Array<[string, string]>;
}

interface Placed {
  pos: Map<string, Box>;
  w: number;
  h: number;
}

function extent(pos: Map<string, Box>): Placed {
  let w = 0;
  let h = 0;
  for (const b of pos.values()) {
    w = Math.max(w, b.x + b.w);
    h = Math.max(h, b.y + b.h);
  }
  return { pos, w, h };
}

/** The children in order when the group's edges make one path through all of them; null otherwise. */
export function pathOrder(ids: string[], edges: Array<[string, string]>): string[] | null {
  if (edges.length !== ids.length - 1) return null;
  const next = new Map<string, string>();
  const entered = new Set<string>();
  for (const [s, t] of edges) {
    if (next.has(s) || entered.has(t)) return null;
    next.set(s, t);
    entered.add(t);
  }
  const order: string[] = [];
  for (let cur = ids.find((id) => !entered.has(id)); cur !== undefined; cur = next.get(cur)) order.push(cur);
  return order.length === ids.length ? order : null; // else a cycle beside a shorter path
}

/** A chain as elkjs's layered algorithm places it (tests/model_graph.test.ts checks): one node a layer, centred
 * on the widest. Most groups of a CNN are chains, and an elkjs call costs tens of ms however small the group. */
function stacked(g: Group, order: string[]): Placed {
  const dims = new Map(g.ids.map((id, i) => [id, g.dims[i]]));
  const width = Math.max(...g.dims.map((d) => d.w));
  const pos = new Map<string, Box>();
  let y = 0;
  for (const id of order) {
    const d = dims.get(id)!;
    pos.set(id, { x: (width - d.w) / 2, y, w: d.w, h: d.h });
    y += d.h + LAYER_GAP;
  }
  return extent(pos);
}

/** Longest-path layers in columns as wide as the widest child (for groups elkjs would take seconds over). */
export function byHand(g: Pick<Group, 'ids' | 'dims' | 'edges'>): Placed {
  const at = layeredPositions(g.ids, g.edges);
  const colW = Math.max(...g.dims.map((d) => d.w)) + 20;
  return extent(new Map(g.ids.map((id, i) => {
    const [layer, col] = at.get(id)!;
    return [id, { x: col * colW, y: layer * (NODE_H + LAYER_GAP), w: g.dims[i].w, h: g.dims[i].h }];
  })));
}
