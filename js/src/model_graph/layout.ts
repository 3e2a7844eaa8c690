// Layout one group at a time: each open group's children (nodes and closed groups, plus open subgroups as boxes
// of their own laid-out size) go through elkjs's layered algorithm; results are cached per group and content, so
// opening a group lays out only that group and the groups around it.

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
}

export const NODE_H = 34;
export const PAD = 12;
export const TITLE = 22;
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
  private cache = new Map<string, { key: string; pos: Map<string, Box>; w: number; h: number }>();

  constructor(private elk: Layouter) {}

  async layout(vis: VisibleGraph): Promise<Layout> {
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
    // Deepest groups first, so a parent knows its open subgroups' sizes.
    const order = [...vis.frames].sort((a, b) => b.split('.').length - a.split('.').length).concat(['']);
    for (const group of order) {
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
      let hit = this.cache.get(group);
      if (!hit || hit.key !== key) {
        hit = { key, ...(await this.layoutGroup(children, dims, edges)) };
        this.cache.set(group, hit);
        computed++;
      }
      if (group) sizes.set(`frame:${group}`, { w: hit.w + 2 * PAD, h: hit.h + PAD + TITLE });
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

  private async layoutGroup(ids: string[], dims: Array<{ w: number; h: number }>,
    edges: Array<[string, string]>): Promise<{ pos: Map<string, Box>; w: number; h: number }> {
    const pos = new Map<string, Box>();
    if (ids.length > LARGE) {
      const at = layeredPositions(ids, edges);
      const colW = Math.max(...dims.map((d) => d.w)) + 20;
      let w = 0;
      let h = 0;
      ids.forEach((id, i) => {
        const [layer, col] = at.get(id)!;
        const b = { x: col * colW, y: layer * (NODE_H + 30), w: dims[i].w, h: dims[i].h };
        pos.set(id, b);
        w = Math.max(w, b.x + b.w);
        h = Math.max(h, b.y + b.h);
      });
      return { pos, w, h };
    }
    const res = await this.elk.layout({
      id: 'g',
      layoutOptions: {
        'elk.algorithm': 'layered', 'elk.direction': 'DOWN', 'elk.spacing.nodeNode': '16',
        'elk.layered.spacing.nodeNodeBetweenLayers': '30', 'elk.padding': '[top=0,left=0,bottom=0,right=0]',
      },
      children: ids.map((id, i) => ({ id, width: dims[i].w, height: dims[i].h })),
      edges: edges.map(([s, t], i) => ({ id: `e${i}`, sources: [s], targets: [t] })),
    });
    let w = 0;
    let h = 0;
    for (const c of res.children ?? []) {
      const b = { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 };
      pos.set(c.id, b);
      w = Math.max(w, b.x + b.w);
      h = Math.max(h, b.y + b.h);
    }
    return { pos, w, h };
  }
}
