import { createHash } from 'node:crypto';
import type { HashModel, prepareImage, QueryPlan } from '@loupe/shared';
import { DescriptorCache } from './descriptor-cache.ts';
import type { CopyQuery } from './query-set.ts';

/**
 * Each query's region codes (the plan's views with `regions`), as HashModel.encodeQuery gives
 * them: [query][view with regions][box]. Cached as codes, one float per byte (exact), under the
 * head's digest.
 */
export async function queryRegionCodes(
  cache: DescriptorCache,
  model: HashModel,
  plan: QueryPlan,
  queries: CopyQuery[],
  key: Record<string, unknown>,
  prepareQuery: (qi: number) => Promise<Awaited<ReturnType<typeof prepareImage>>>,
  log: (line: string) => void,
): Promise<Uint8Array[][][]> {
  const views = plan.views.filter((v) => v.regions).map(({ cells: _, ...v }) => v);
  if (!views.length) return queries.map(() => []);
  const bytes = model.bits / 8;
  const counts = views.map((v) => v.regions!.boxes.length);
  const head = createHash('sha256');
  for (const t of model.head.toSpec().tensors) head.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const got = await cache.getOrCompute(
    'query-regions',
    DescriptorCache.key({ ...key, head: head.digest('hex'), views: views.map(({ side, orientation, regions }) => ({ side, orientation, boxes: regions!.boxes })), n: queries.length }),
    { rows: queries.length, perRow: 1, dim: counts.reduce((n, c) => n + c * bytes, 0) },
    async (from, to) => {
      const out: Float32Array[][] = [];
      for (let qi = from; qi < to; qi++) {
        const img = await prepareQuery(qi);
        const codes = await model.encodeQuery({ image: img.canonical, width: img.width, height: img.height }, { views });
        out.push([Float32Array.from(codes.flatMap((c) => c.regions!.flatMap((r) => [...r])))]);
      }
      return out;
    },
    64,
    (done, rows) => log(`  query region codes ${done}/${rows}`),
  );
  return got.rows.map(([row]) => {
    let o = 0;
    return counts.map((count) => Array.from({ length: count }, () => Uint8Array.from(row.subarray(o, (o += bytes)))));
  });
}
