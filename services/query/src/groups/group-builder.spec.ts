import { describe, expect, it } from 'vitest';
import { buildGroup, components, reverseEdge, type Edge, type ObjectInfo } from './group-builder.ts';

/** Edges stored on both ends, as the upkeep stores them: [from, edge from `from`'s side]. */
function graph(...links: [string, Edge][]): Map<string, Edge[]> {
  const g = new Map<string, Edge[]>();
  const add = (k: string, e: Edge) => g.set(k, [...(g.get(k) ?? []), e]);
  for (const [from, e] of links) {
    add(from, e);
    add(e.to, reverseEdge(e, from));
  }
  return g;
}
const info = (w: number, h: number, bytes: number, v: number): ObjectInfo => ({ w, h, bytes, v });

describe('duplicate group building', () => {
  const box = { x: 10, y: 10, w: 50, h: 50 };
  const links = graph(
    ['copy-a', { to: 'copy-b', rel: 'copy', score: 0.98 }],
    ['crop', { to: 'copy-a', rel: 'crop-of', score: 0.84, box }],
    ['scene', { to: 'copy-b', rel: 'contains', score: 0.83, box }],
  );
  const sizes = new Map([
    ['copy-a', info(400, 300, 1000, 5)],
    ['copy-b', info(800, 600, 900, 9)],
    ['crop', info(2000, 2000, 5000, 1)],
    ['scene', info(3000, 3000, 8000, 1)],
  ]);

  it('elects a whole copy over a larger crop or scene, by pixels first, and relates the others to it', () => {
    const g = buildGroup(['copy-a', 'copy-b', 'crop', 'scene'], links, sizes, ['pixels', 'oldest', 'bytes']);
    expect(g.original).toEqual({ key: 'copy-b', width: 800, height: 600, bytes: 900 });
    expect(g.members).toEqual([
      { key: 'copy-a', relation: 'copy', score: 0.98, bytes: 1000 },
      // Matched through copy-a: the chain's relation and weakest score, no box (it is in copy-a's pixels).
      { key: 'crop', relation: 'crop-of', score: 0.84, bytes: 5000 },
      { key: 'scene', relation: 'contains', score: 0.83, box, bytes: 8000 },
    ]);
    expect(g.reclaimableBytes).toBe(1000 + 5000 + 8000);
  });

  it('follows the configured criteria: oldest, or largest file, first', () => {
    expect(buildGroup(['copy-a', 'copy-b', 'crop', 'scene'], links, sizes, ['oldest']).id).toBe('copy-a');
    expect(buildGroup(['copy-a', 'copy-b', 'crop', 'scene'], links, sizes, ['bytes', 'pixels']).id).toBe('copy-a');
  });

  it('without whole copies, elects the member inside no other', () => {
    const g = buildGroup(['crop', 'scene', 'copy-b'], graph(['crop', { to: 'copy-b', rel: 'crop-of', score: 0.9, box }], ['scene', { to: 'copy-b', rel: 'contains', score: 0.85, box }]), sizes, ['pixels']);
    expect(g.id).toBe('scene');
    expect(g.members.map((m) => [m.key, m.relation])).toEqual([['copy-b', 'crop-of'], ['crop', 'crop-of']]);
  });

  it('splits into connected components once a link is gone', () => {
    const g = new Map(links);
    g.delete('copy-a');
    expect(components(['copy-b', 'crop', 'scene'], g)).toEqual([['copy-b', 'scene'], ['crop']]);
  });
});
