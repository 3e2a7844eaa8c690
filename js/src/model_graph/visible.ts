// The graph as drawn for a set of open groups; mirrors nbviz.kernels.graph_view.visible (keep both in step).

import type { GraphData } from './protocol';

export type VisKind = 'module' | 'op' | 'input' | 'output' | 'tensor' | 'grad_fn' | 'group' | 'fold';

export interface VisNode {
  id: string;
  path: string;
  type: string;
  kind: VisKind;
  params: number;
  shape: string;
  /** Name shown before the type (module name, parameter name). */
  name: string;
  /** The group the node is drawn inside ('' for the top level). */
  parent: string;
}

export interface VisEdge {
  source: string;
  target: string;
  shape: string;
}

export interface VisibleGraph {
  nodes: VisNode[];
  edges: VisEdge[];
  /** Visible node id of every captured node index. */
  where: string[];
  /** Open groups that hold something drawn (frames), outermost first. */
  frames: string[];
}

/** Groups holding a captured node, outermost first (the model itself is not one). */
export function chain(path: string, kind: string): string[] {
  if (!path) return [];
  const parts = path.split('.');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('.'));
  if (kind !== 'module') out.push(path);
  return out;
}

function lastName(path: string): string {
  const i = path.lastIndexOf('.');
  return i < 0 ? path : path.slice(i + 1);
}

/** The innermost open group around a drawn node: its frame. */
function parentOf(groupChain: string[], open: Set<string>, upto: number): string {
  for (let i = upto - 1; i >= 0; i--) if (open.has(groupChain[i])) return groupChain[i];
  return '';
}

export function visibleGraph(g: GraphData, expanded: Iterable<string>): VisibleGraph {
  const open = new Set(expanded);
  const foldOf = new Map<string, { id: string; members: string[]; label: string }>();
  for (const f of g.folds) if (!open.has(f.id)) for (const m of f.members) foldOf.set(m, f);
  const nodes = new Map<string, VisNode>();
  const where: string[] = new Array(g.ids.length);
  const frames = new Set<string>();
  for (let i = 0; i < g.ids.length; i++) {
    const c = chain(g.paths[i], g.kinds[i]);
    const k = c.findIndex((p) => !open.has(p));
    for (let j = 0; j < (k < 0 ? c.length : k); j++) frames.add(c[j]);
    if (k < 0) {
      where[i] = g.ids[i];
      if (!nodes.has(g.ids[i])) {
        const kind = g.kinds[i] as VisKind;
        nodes.set(g.ids[i], {
          id: g.ids[i], path: g.paths[i], type: g.types[i], kind, params: g.params[i], shape: g.shapes[i],
          name: g.labels[i] || (kind === 'module' ? lastName(g.paths[i]) : ''), parent: parentOf(c, open, c.length),
        });
      }
      continue;
    }
    const closed = c[k];
    const fold = foldOf.get(closed);
    if (fold && fold.members.every((m) => !open.has(m))) {
      where[i] = fold.id;
      if (!nodes.has(fold.id)) {
        const last = g.groups.get(fold.members[fold.members.length - 1]);
        const params = fold.members.reduce((a, m) => a + (g.groups.get(m)?.params ?? 0), 0);
        nodes.set(fold.id, {
          id: fold.id, path: fold.members[0], type: fold.label, kind: 'fold', params, shape: last?.shape ?? '',
          name: `${lastName(fold.members[0])}..${lastName(fold.members[fold.members.length - 1])}`,
          parent: parentOf(c, open, k),
        });
      }
    } else {
      where[i] = closed;
      if (!nodes.has(closed)) {
        const info = g.groups.get(closed);
        nodes.set(closed, {
          id: closed, path: closed, type: info?.type ?? '?', kind: 'group', params: info?.params ?? 0,
          shape: info?.shape ?? '', name: lastName(closed), parent: parentOf(c, open, k),
        });
      }
    }
  }
  const edges = new Map<string, VisEdge>();
  for (let e = 0; e + 1 < g.edges.length; e += 2) {
    const s = where[g.edges[e]];
    const t = where[g.edges[e + 1]];
    if (s === undefined || t === undefined || s === t) continue;
    const key = `${s}\u0000${t}`;
    if (!edges.has(key)) edges.set(key, { source: s, target: t, shape: g.shapes[g.edges[e]] });
  }
  const frameList = [...frames].sort((a, b) => a.split('.').length - b.split('.').length);
  return { nodes: [...nodes.values()], edges: [...edges.values()], where, frames: frameList };
}

/** Ids of the nodes upstream and downstream of `id` (itself included): the hover highlight. */
export function pathsThrough(edges: VisEdge[], id: string): Set<string> {
  const out = new Map<string, string[]>();
  const inc = new Map<string, string[]>();
  for (const e of edges) {
    (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(e.target);
    (inc.get(e.target) ?? inc.set(e.target, []).get(e.target)!).push(e.source);
  }
  const seen = new Set<string>([id]);
  for (const adj of [out, inc]) {
    const stack = [id];
    while (stack.length) {
      for (const n of adj.get(stack.pop()!) ?? []) {
        if (!seen.has(n)) {
          seen.add(n);
          stack.push(n);
        }
      }
    }
  }
  return seen;
}

/** Captured node indices whose path, type or name contains `query` (case-insensitive). */
export function search(g: GraphData, query: string): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const hits: number[] = [];
  for (let i = 0; i < g.ids.length; i++) {
    if (g.paths[i].toLowerCase().includes(q) || g.types[i].toLowerCase().includes(q)
      || g.labels[i].toLowerCase().includes(q)) hits.push(i);
  }
  return hits;
}

/** The open set that shows captured node `i` itself: every group around it, and the folds holding those. */
export function revealing(g: GraphData, expanded: string[], i: number): string[] {
  const need = chain(g.paths[i], g.kinds[i]);
  const folds = g.folds.filter((f) => f.members.some((m) => need.includes(m))).map((f) => f.id);
  return [...new Set([...expanded, ...need, ...folds])];
}
