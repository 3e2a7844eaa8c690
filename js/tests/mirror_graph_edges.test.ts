// ModelGraph's edge routes: edgePath gives the path nbviz.widgets.model_graph_export.edge_path gives (fixture written
// by tests/mirror/graph_edges.py), so the saved picture routes a residual connection where the view does.
import { describe, expect, it } from 'vitest';
import { edgePath, labelAt } from '../src/model_graph/draw';
import type { Box } from '../src/model_graph/layout';
import { loadFixture } from './mirror';

interface Fixture {
  scenes: Array<{ name: string; boxes: number[][]; source: number; target: number; path: number[][]; label: number[] }>;
}

const fx = loadFixture<Fixture>('graph_edges');

describe('edgePath mirrors model_graph_export.edge_path', () => {
  it.each(fx.scenes.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const boxes: Box[] = c.boxes.map(([x, y, w, h]) => ({ x, y, w, h }));
    const path = edgePath(boxes[c.source], boxes[c.target], boxes);
    expect(path).toEqual(c.path);
    expect(labelAt(path)).toEqual(c.label);
  });
  it('routes a residual connection beside the chain it skips', () => {
    const residual = fx.scenes.find((c) => c.name === 'residual over two boxes')!;
    expect(residual.path[1][0]).toBeGreaterThan(120);
  });
});
