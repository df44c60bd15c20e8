import type { Box, HashModel, prepareImage, QueryPlan } from '@loupe/shared';
import { DescriptorCache } from './descriptor-cache.ts';
import type { CopyQuery } from './query-set.ts';

type Regions = { box: Box; code: Uint8Array }[];

/**
 * Each query's regions (the plan's views with `regions`), as HashModel.encodeQuery gives them:
 * [query][view with regions] -> the proposed parts and their codes. Cached one float per code byte
 * (exact), each part after its box (4 floats) and a count per view.
 */
export async function queryRegionCodes(
  cache: DescriptorCache,
  model: HashModel,
  plan: QueryPlan,
  queries: CopyQuery[],
  key: Record<string, unknown>,
  prepareQuery: (qi: number) => Promise<Awaited<ReturnType<typeof prepareImage>>>,
  log: (line: string) => void,
): Promise<Regions[][]> {
  const views = plan.views.filter((v) => v.regions).map(({ cells: _, ...v }) => v);
  if (!views.length) return queries.map(() => []);
  const bytes = model.bits / 8;
  const counts = views.map((v) => v.regions!.proposals);
  const got = await cache.getOrCompute(
    'query-regions',
    DescriptorCache.key({ ...key, head: DescriptorCache.headDigest(model), views: views.map(({ side, orientation, regions }) => ({ side, orientation, proposals: regions!.proposals })), n: queries.length }),
    { rows: queries.length, perRow: 1, dim: counts.reduce((n, c) => n + 1 + c * (4 + bytes), 0) },
    async (from, to) => {
      const out: Float32Array[][] = [];
      for (let qi = from; qi < to; qi++) {
        const img = await prepareQuery(qi);
        const codes = await model.encodeQuery({ image: img.canonical, width: img.width, height: img.height }, { views });
        const row = new Float32Array(counts.reduce((n, c) => n + 1 + c * (4 + bytes), 0));
        let o = 0;
        codes.forEach(({ regions = [] }, vi) => {
          row[o++] = regions.length;
          const start = o;
          for (const { box, code } of regions) {
            row.set([box.x, box.y, box.w, box.h], o);
            row.set(code, o + 4);
            o += 4 + bytes;
          }
          o = start + counts[vi] * (4 + bytes);
        });
        out.push([row]);
      }
      return out;
    },
    64,
    (done, rows) => log(`  query region codes ${done}/${rows}`),
  );
  return got.rows.map(([row]) => {
    let o = 0;
    return counts.map((count) => {
      const n = row[o++];
      const start = o;
      const regions: Regions = [];
      for (let i = 0; i < n; i++, o += 4 + bytes) {
        regions.push({ box: { x: row[o], y: row[o + 1], w: row[o + 2], h: row[o + 3] }, code: Uint8Array.from(row.subarray(o + 4, o + 4 + bytes)) });
      }
      o = start + count * (4 + bytes);
      return regions;
    });
  });
}
