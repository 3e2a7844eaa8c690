// ModelGraph's node text: the view's (draw.ts) against what the PNG / SVG export writes (fixture written by
// tests/mirror/model_graph_text.py from nbviz/widgets/model_graph_export.py).
import { describe, expect, it } from 'vitest';
import { fmtCount, nodeLines } from '../src/model_graph/draw';
import type { FoldInfo, GraphData, GroupInfo } from '../src/model_graph/protocol';
import { visibleGraph } from '../src/model_graph/visible';
import { loadFixture } from './mirror';

interface Fixture {
  counts: Array<[number, string]>;
  graph: Omit<GraphData, 'groups'> & { groups: GroupInfo[]; folds: FoldInfo[] };
  views: Array<{ expanded: string[]; lines: Record<string, [string, string]> }>;
}

const fx = loadFixture<Fixture>('model_graph_text');

describe('node text mirrors nbviz.widgets.model_graph_export', () => {
  it('parameter counts', () => {
    for (const [n, text] of fx.counts) expect(fmtCount(n)).toBe(text);
  });
  it('each drawn node\'s two lines, for several open sets', () => {
    const data: GraphData = { ...fx.graph, groups: new Map(fx.graph.groups.map((g) => [g.path, g])) };
    for (const view of fx.views) {
      const vis = visibleGraph(data, view.expanded);
      expect(Object.fromEntries(vis.nodes.map((n) => [n.id, nodeLines(n)]))).toEqual(view.lines);
    }
  });
});
