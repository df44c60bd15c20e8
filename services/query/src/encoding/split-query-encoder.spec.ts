import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, defaultQueryPlan, readModelArtifact, type QueryView } from '@loupe/shared';
import { splitViews } from './split-query-encoder.ts';

describe('splitViews (a query split over two encoding threads)', () => {
  it('puts every view of the default query plan in exactly one part, the first view in the first part, costs near even', async () => {
    const { header } = await readModelArtifact(DEFAULT_MODEL);
    const plan = header.query ?? defaultQueryPlan(header.descriptor, header.plan);
    const [a, b] = splitViews(plan.views);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(plan.views.map((_, i) => i));
    expect(a[0]).toBe(0);
    expect(b.length).toBeGreaterThan(0);
    // A trimmed view shares its untrimmed twin's forward (an image without a frame).
    // A view's query regions are a forward each.
    const forwards = (v: QueryView) => (v.side / 224) ** 2 * (1 + (v.regions?.proposals ?? 0));
    const cost = (part: number[]) => part.reduce((s, i) => s + (plan.views[i].kind === 'dct' || plan.views[i].trim ? 0 : forwards(plan.views[i]) + (plan.views[i].tilt ? 0.7 : 0)), 0);
    expect(Math.abs(cost(a) - cost(b))).toBeLessThanOrEqual(1.1);
  });

  it('keeps views that share a forward together (the whole query and its trimmed self)', () => {
    const view = (name: string, side: number, extra: Partial<QueryView> = {}): QueryView => ({ name, side, orientation: 'none', offsets: [0], ...extra });
    const views = [view('global', 224), view('s320', 320), view('trim', 224, { trim: true }), view('flip', 224, { orientation: 'flip' }), view('tilt', 224, { tilt: 7.5 })];
    const parts = splitViews(views);
    const together = parts.find((p) => p.includes(0))!;
    expect(together).toContain(2);
    expect(parts.every((p) => p.length > 0)).toBe(true);
  });
});
