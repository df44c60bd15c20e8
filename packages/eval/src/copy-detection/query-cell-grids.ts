import type { HashModel, prepareImage, QueryCellGrid, QueryPlan } from '@loupe/shared';
import { DescriptorCache } from './descriptor-cache.ts';
import { QUERY_SET_VERSION, type CopyQuery } from './query-set.ts';

/**
 * Each query's cell grids (the plan's views with `cells`), as HashModel.encodeQuery gives them.
 * Cached as codes (one float per byte, exact) under the head's digest: cell descriptors of 2,380
 * queries would take gigabytes.
 */
export async function queryCellGrids(
  cache: DescriptorCache,
  model: HashModel,
  plan: QueryPlan,
  queries: CopyQuery[],
  key: Record<string, unknown>,
  prepareQuery: (qi: number) => Promise<Awaited<ReturnType<typeof prepareImage>>>,
  log: (line: string) => void,
): Promise<QueryCellGrid[][]> {
  const views = plan.views.filter((v) => v.cells).map(({ regions: _, ...v }) => v);
  const sides = views.map((v) => model.extractor.backbone.featureMapSide(v.side));
  const bytes = model.cellBits / 8;
  const dim = sides.reduce((n, m) => n + m * m * bytes, 0);
  const got = await cache.getOrCompute(
    'query-cells',
    // Grids depend on how each view looks at the query, not on the levels it searches (offsets).
    DescriptorCache.key({ ...key, head: DescriptorCache.headDigest(model), bytes, views: views.map(({ side, orientation, trim }) => ({ side, orientation, trim })), version: QUERY_SET_VERSION, n: queries.length }),
    { rows: queries.length, perRow: 1, dim },
    async (from, to) => {
      const out: Float32Array[][] = [];
      for (let qi = from; qi < to; qi++) {
        const img = await prepareQuery(qi);
        const codes = await model.encodeQuery({ image: img.canonical, width: img.width, height: img.height }, { views });
        out.push([Float32Array.from(codes.flatMap((c) => [...c.cells!.codes]))]);
      }
      return out;
    },
    64,
    (done, rows) => log(`  query cell grids ${done}/${rows}`),
  );
  return got.rows.map(([row]) => {
    let o = 0;
    return sides.map((side) => {
      const n = side * side * bytes;
      o += n;
      return { side, codes: Uint8Array.from(row.subarray(o - n, o)) };
    });
  });
}
