// ModelGraph's visibility rule: the nodes and edges visibleGraph draws for a set of open groups are the ones
// nbviz.kernels.graph_view.visible gives (fixture written by tests/mirror/graph_visibility.py), in the same order.
import { describe, expect, it } from 'vitest';
import type { FoldInfo, GraphData, GroupInfo } from '../src/model_graph/protocol';
import { visibleGraph } from '../src/model_graph/visible';
import { loadFixture } from './mirror';

interface Fixture {
  graph: Omit<GraphData, 'groups'> & { groups: GroupInfo[]; folds: FoldInfo[] };
  views: Array<{
    expanded: string[];
    /** "id | path | type | kind | params | shape" */
    nodes: string[];
    /** "source -> target | shape" */
    edges: string[];
  }>;
}

const fx = loadFixture<Fixture>('graph_visibility');
const data: GraphData = { ...fx.graph, groups: new Map(fx.graph.groups.map((g) => [g.path, g])) };

describe('visibleGraph mirrors nbviz.kernels.graph_view.visible', () => {
  it.each(fx.views.map((v) => [JSON.stringify(v.expanded), v] as const))('open: %s', (_name, view) => {
    const vis = visibleGraph(data, view.expanded);
    expect(vis.nodes.map((n) => [n.id, n.path, n.type, n.kind, n.params, n.shape].join(' | '))).toEqual(view.nodes);
    expect(vis.edges.map((e) => `${e.source} -> ${e.target} | ${e.shape}`)).toEqual(view.edges);
    // Every captured node is drawn as one of the drawn nodes.
    const drawn = new Set(vis.nodes.map((n) => n.id));
    expect(vis.where.every((id) => drawn.has(id))).toBe(true);
  });
});
