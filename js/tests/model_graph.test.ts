import { describe, expect, it } from 'vitest';
import ELK from 'elkjs/lib/elk.bundled.js';
import { chain, pathsThrough, revealing, search, visibleGraph, type VisibleGraph, type VisNode } from '../src/model_graph/visible';
import { GroupLayouts, LARGE, LAYOUT_OPTIONS, layeredPositions, layoutReport, nodeWidth, NODE_H, PAD, pathOrder, type Layouter } from '../src/model_graph/layout';
import { decodeArray } from '../src/lib/codecs';
import { fmtCount, hitTest } from '../src/model_graph/draw';
import type { GraphData } from '../src/model_graph/protocol';

// The graph of tests/unit/test_graph.py's net(): conv, 4 blocks (the last 3 identical), pool, flatten, linear.
function net(): GraphData {
  const rows: Array<[string, string, string, string]> = [['in', '', 'input', 'input'], ['c0', '0', 'Conv2d', 'module']];
  for (let b = 0; b < 4; b++) {
    rows.push([`b${b}c`, `1.${b}.conv1`, 'Conv2d', 'module'], [`b${b}r`, `1.${b}.relu`, 'ReLU', 'module'],
      [`b${b}a`, `1.${b}`, 'add', 'op']);
  }
  rows.push(['fc', '2', 'Linear', 'module'], ['out', '', 'output', 'output']);
  const ids = rows.map((r) => r[0]);
  const edges: number[] = [];
  for (let i = 0; i + 1 < rows.length; i++) edges.push(i, i + 1);
  const group = (path: string, depth: number) => ({ path, type: depth === 1 ? 'Sequential' : 'Block', params: 10, shape: '(1, 8)', depth });
  return {
    ids, paths: rows.map((r) => r[1]), types: rows.map((r) => r[2]), kinds: rows.map((r) => r[3]),
    shapes: rows.map(() => '(1, 8)'), labels: rows.map(() => ''), params: rows.map(() => 1), edges,
    groups: new Map(['1', '1.0', '1.1', '1.2', '1.3'].map((p) => [p, group(p, p.split('.').length)])),
    folds: [{ id: '1.1..1.3', members: ['1.1', '1.2', '1.3'], label: 'Block x 3' }],
  };
}

// Two blocks with a fork each (conv1 and down from the block's input, joined by an add), between a conv and a linear.
function branchy(): GraphData {
  const rows: Array<[string, string, string, string]> = [['in', '', 'input', 'input'], ['c0', '0', 'Conv2d', 'module']];
  const edges: Array<[string, string]> = [['in', 'c0']];
  let last = 'c0';
  for (let b = 0; b < 2; b++) {
    rows.push([`b${b}c`, `1.${b}.conv1`, 'Conv2d', 'module'], [`b${b}d`, `1.${b}.down`, 'Conv2d', 'module'],
      [`b${b}a`, `1.${b}`, 'add', 'op']);
    edges.push([last, `b${b}c`], [last, `b${b}d`], [`b${b}c`, `b${b}a`], [`b${b}d`, `b${b}a`]);
    last = `b${b}a`;
  }
  rows.push(['fc', '2', 'Linear', 'module'], ['out', '', 'output', 'output']);
  edges.push([last, 'fc'], ['fc', 'out']);
  const ids = rows.map((r) => r[0]);
  const group = (path: string, depth: number) => ({ path, type: depth === 1 ? 'Sequential' : 'Block', params: 10, shape: '(1, 8)', depth });
  return {
    ids, paths: rows.map((r) => r[1]), types: rows.map((r) => r[2]), kinds: rows.map((r) => r[3]),
    shapes: rows.map(() => '(1, 8)'), labels: rows.map(() => ''), params: rows.map(() => 1),
    edges: edges.flatMap(([s, t]) => [ids.indexOf(s), ids.indexOf(t)]),
    groups: new Map(['1', '1.0', '1.1'].map((p) => [p, group(p, p.split('.').length)])), folds: [],
  };
}

describe('visible graph mirrors nbviz.kernels.graph_view.visible', () => {
  it('chains: a module node is not its own group, an op is inside its module', () => {
    expect(chain('1.0.conv1', 'module')).toEqual(['1', '1.0']);
    expect(chain('1.0', 'op')).toEqual(['1', '1.0']);
    expect(chain('', 'input')).toEqual([]);
  });
  it('all closed: one node per top-level group', () => {
    const v = visibleGraph(net(), []);
    expect(v.nodes.map((n) => n.id)).toEqual(['in', 'c0', '1', 'fc', 'out']);
    expect(v.edges.map((e) => `${e.source}>${e.target}`)).toEqual(['in>c0', 'c0>1', '1>fc', 'fc>out']);
    expect(v.frames).toEqual([]);
  });
  it('opening a group shows its blocks, identical ones folded; unfolding and opening shows their insides', () => {
    const v = visibleGraph(net(), ['1']);
    expect(v.nodes.map((n) => `${n.id}:${n.kind}`)).toEqual(['in:input', 'c0:module', '1.0:group', '1.1..1.3:fold', 'fc:module', 'out:output']);
    expect(v.nodes.find((n) => n.kind === 'fold')!.type).toBe('Block x 3');
    expect(v.nodes.find((n) => n.id === '1.0')!.parent).toBe('1');
    const w = visibleGraph(net(), ['1', '1.1..1.3', '1.2']);
    expect(w.nodes.map((n) => n.id)).toContain('b2c');
    expect(w.nodes.map((n) => n.id)).toContain('1.3');
    expect(w.frames).toEqual(['1', '1.2']);
    expect(w.nodes.find((n) => n.id === 'b2c')!.parent).toBe('1.2');
    expect(w.edges).toContainEqual({ source: '1.1', target: 'b2c', shape: '(1, 8)' });
  });
  it('paths through a node go both ways and no further', () => {
    const edges = [{ source: 'a', target: 'b', shape: '' }, { source: 'b', target: 'c', shape: '' }, { source: 'x', target: 'c', shape: '' }];
    expect([...pathsThrough(edges, 'b')].sort()).toEqual(['a', 'b', 'c']);
  });
  it('search by name or type, and revealing a hit opens the groups and folds around it', () => {
    const g = net();
    expect(search(g, 'RELU').map((i) => g.ids[i])).toEqual(['b0r', 'b1r', 'b2r', 'b3r']);
    expect(search(g, '  ')).toEqual([]);
    const open = revealing(g, [], g.ids.indexOf('b2r'));
    expect(new Set(open)).toEqual(new Set(['1', '1.2', '1.1..1.3']));
    expect(visibleGraph(g, open).nodes.map((n) => n.id)).toContain('b2r');
  });
});

describe('layout one group at a time', () => {
  it('lays out with elkjs, nests frames, and re-uses unchanged groups', async () => {
    const layouts = new GroupLayouts(new ELK());
    const g = net();
    const first = await layouts.layout(visibleGraph(g, ['1']));
    expect(first.computed).toBe(2); // group '1' and the top level
    const frame = first.boxes.get('frame:1')!;
    const inner = first.boxes.get('1.0')!;
    expect(inner.x).toBeGreaterThanOrEqual(frame.x);
    expect(inner.y + inner.h).toBeLessThanOrEqual(frame.y + frame.h);
    expect(first.boxes.get('c0')!.y).toBeLessThan(frame.y); // top to bottom in data order
    const again = await layouts.layout(visibleGraph(g, ['1']));
    expect(again.computed).toBe(0);
    const opened = await layouts.layout(visibleGraph(g, ['1', '1.0']));
    expect(opened.computed).toBe(3); // the opened group and the two around it, nothing else
    expect(hitTest(opened, opened.boxes.get('b0c')!.x + 2, opened.boxes.get('b0c')!.y + 2, 22)).toBe('b0c');
    const f = opened.boxes.get('frame:1.0')!;
    expect(hitTest(opened, f.x + 2, f.y + 2, 22)).toBe('frame:1.0');
  });
  it('the layout on screen goes back to Python as ids and a float32 (N, 4) array of boxes', async () => {
    const layout = await new GroupLayouts(new ELK()).layout(visibleGraph(net(), ['1']));
    const sent = layoutReport(layout, ['1']);
    expect(sent.expanded).toEqual(['1']);
    expect(sent.ids).toEqual([...layout.boxes.keys()]);
    expect(sent.ids).toContain('frame:1');
    const boxes = decodeArray(sent.boxes)!;
    expect(boxes.shape).toEqual([sent.ids.length, 4]);
    sent.ids.forEach((id, i) => {
      const b = layout.boxes.get(id)!;
      expect([...boxes.data.slice(4 * i, 4 * i + 4)]).toEqual([b.x, b.y, b.w, b.h].map(Math.fround));
    });
    expect([sent.width, sent.height]).toEqual([layout.width, layout.height]);
  });
  it('very large groups use longest-path layers (no elkjs call)', async () => {
    const n = LARGE + 50;
    const g: GraphData = {
      ids: [...Array(n).keys()].map(String), paths: Array(n).fill(''), types: Array(n).fill('op'),
      kinds: Array(n).fill('op'), shapes: Array(n).fill(''), labels: Array(n).fill(''), params: Array(n).fill(0),
      // a chain with one skip edge (a chain would be stacked, not layered)
      edges: [...[...Array(n - 1).keys()].flatMap((i) => [i, i + 1]), 0, 5], groups: new Map(), folds: [],
    };
    const calls: number[] = [];
    const stub = { layout: async () => { calls.push(1); return { id: 'g' }; } };
    const out = await new GroupLayouts(stub).layout(visibleGraph(g, []));
    expect(calls.length).toBe(0);
    expect(out.boxes.get('10')!.y).toBeGreaterThan(out.boxes.get('9')!.y);
  });
  it('a chain is stacked exactly where elkjs puts it, with no elkjs call', async () => {
    const elk = new ELK();
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const n of [1, 2, 5, 9]) {
      const nodes: VisNode[] = [...Array(n).keys()].map((i) => ({
        id: `n${i}`, path: '', type: 'x'.repeat(1 + Math.floor(rand() * 30)), kind: 'op', params: 0,
        shape: rand() < 0.5 ? '(1, 64, 56, 56)' : '', name: '', parent: '',
      }));
      const edges = nodes.slice(1).map((nd, i) => ({ source: nodes[i].id, target: nd.id, shape: '' }));
      const shuffled = [...nodes].sort(() => rand() - 0.5); // children order is not the path's order
      const vis: VisibleGraph = { nodes: shuffled, edges, where: [], frames: [] };
      const calls: number[] = [];
      const spy: Layouter = { layout: (graph) => { calls.push(1); return elk.layout(graph); } };
      const ours = await new GroupLayouts(spy).layout(vis);
      expect(calls.length).toBe(0);
      const ref = await elk.layout({
        id: 'g', layoutOptions: LAYOUT_OPTIONS,
        children: shuffled.map((nd) => ({ id: nd.id, width: nodeWidth(nd), height: NODE_H })),
        edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] })),
      });
      for (const c of ref.children!) {
        const b = ours.boxes.get(c.id)!;
        expect([b.x - PAD, b.y - PAD, b.w, b.h]).toEqual([c.x, c.y, c.width, c.height]);
      }
    }
    expect(pathOrder(['a', 'b', 'c'], [['b', 'c'], ['a', 'b']])).toEqual(['a', 'b', 'c']);
    expect(pathOrder(['a', 'b', 'c'], [['a', 'b'], ['a', 'c']])).toBeNull(); // a fork
    expect(pathOrder(['a', 'b', 'c', 'd'], [['a', 'b'], ['c', 'd'], ['d', 'c']])).toBeNull(); // a cycle beside
    expect(pathOrder(['a', 'b'], [])).toBeNull(); // two components
  });
  it('groups of one depth go to elkjs in one call, placed as one call per group places them', async () => {
    const elk = new ELK();
    const vis = visibleGraph(branchy(), ['1', '1.0', '1.1']);
    const batched: string[] = [];
    const spy: Layouter = { layout: (graph) => { batched.push(graph.id); return elk.layout(graph); } };
    // The reference takes a batch apart and lays out each group alone.
    const single: Layouter = {
      async layout(graph) {
        if (graph.id !== 'batch') return elk.layout(graph);
        const children = await Promise.all((graph.children ?? []).map((c) => elk.layout(c)));
        return { ...graph, children };
      },
    };
    const ours = await new GroupLayouts(spy).layout(vis);
    const ref = await new GroupLayouts(single).layout(vis);
    expect(batched).toEqual(['batch']); // '1.0' and '1.1' together; '1' and the top level are chains
    expect(ours.computed).toBe(4);
    expect([...ours.boxes.entries()].sort()).toEqual([...ref.boxes.entries()].sort());
    for (const b of [0, 1]) {
      const frame = ours.boxes.get(`frame:1.${b}`)!;
      for (const id of [`b${b}a`, `b${b}c`, `b${b}d`]) {
        const n = ours.boxes.get(id)!;
        expect(n.x >= frame.x && n.y >= frame.y && n.x + n.w <= frame.x + frame.w && n.y + n.h <= frame.y + frame.h).toBe(true);
      }
    }
    const [add, conv, down] = ['b0a', 'b0c', 'b0d'].map((id) => ours.boxes.get(id)!);
    expect(conv.y).toBe(down.y); // the fork side by side
    expect(add.y).toBeGreaterThan(conv.y);
  });
  it('without elkjs (the stand-in while it starts) every node is placed, edges downward', async () => {
    const vis = visibleGraph(branchy(), ['1', '1.0', '1.1']);
    const out = await new GroupLayouts(null).layout(vis);
    expect(vis.nodes.every((n) => out.boxes.has(n.id))).toBe(true);
    const boxes = vis.nodes.map((n) => out.boxes.get(n.id)!);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      expect(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y).toBe(true);
    }
    for (const e of vis.edges) expect(out.boxes.get(e.source)!.y).toBeLessThan(out.boxes.get(e.target)!.y);
  });
  it('layeredPositions puts every edge downward', () => {
    const at = layeredPositions(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]);
    expect(at.get('a')![0]).toBe(0);
    expect(at.get('d')![0]).toBe(2);
    expect(new Set([at.get('b')![1], at.get('c')![1]])).toEqual(new Set([0, 1]));
  });
  it('formats counts', () => {
    expect([fmtCount(12), fmtCount(1234), fmtCount(25_600_000)]).toEqual(['12', '1.2k', '25.6M']);
  });
});
