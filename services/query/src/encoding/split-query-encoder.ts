import type { FusedHit, ImageLimits, QueryEvidence, QueryPlan, QueryView, QueryViewCode } from '@loupe/shared';
import type { QueryEncoder } from '../query.service.ts';
import { prepareQuery } from './query-image.ts';
import type { QueryEncoderPool } from './query-encoder-pool.ts';

/**
 * One generation's query encoder on the pool. A query that finds two threads idle is split over
 * them — its views in two parts of about equal cost, its candidates' pixel check in two halves —
 * so one client's query takes about half as long; when threads are busy (concurrent clients) each
 * query runs whole on one thread, which costs least in all.
 */
export class SplitQueryEncoder implements QueryEncoder {
  readonly codeView: QueryView;
  readonly verify: QueryPlan['verify'];
  readonly match: QueryPlan['match'];
  private readonly parts: [number[], number[]];

  constructor(
    private readonly pool: QueryEncoderPool,
    private readonly modelRef: string,
    private readonly plan: QueryPlan,
    private readonly limits: ImageLimits,
  ) {
    this.codeView = plan.views[0];
    this.verify = plan.verify;
    this.match = plan.match;
    this.parts = splitViews(plan.views);
  }

  async encode(bytes: Buffer): Promise<QueryViewCode[]> {
    const { pool, modelRef } = this;
    // Busy threads: the whole query on one of them, decode included.
    if (pool.idleThreads < 2 || !this.parts[1].length) return pool.run({ type: 'encode', modelRef, image: bytes });
    // Split: decoded once here (sharp works on libuv's threads), its canonical JPEG to both parts.
    const image = await prepareQuery(bytes, this.limits);
    // The query's pixels come with the part that holds the plan's first view.
    const coded = await Promise.all(this.parts.map((views, i) => pool.run({ type: 'encode', modelRef, image, views, pixels: i === 0 })));
    const out = new Array<QueryViewCode>(this.plan.views.length);
    this.parts.forEach((views, i) => views.forEach((v, j) => (out[v] = coded[i][j])));
    return out;
  }

  async rerank<H extends FusedHit>(hits: H[], evidence: QueryEvidence, cells: (Uint8Array | undefined)[], thumbs?: (Uint8Array | undefined)[]): Promise<H[]> {
    const { pool, modelRef } = this;
    if (!evidence.pixels || !thumbs || hits.length < 2 || pool.idleThreads < 2) {
      return (await pool.run({ type: 'rerank', modelRef, hits, evidence, cells, thumbs })) as H[];
    }
    const half = Math.ceil(hits.length / 2);
    const halves = await Promise.all(
      [0, half].map((from) => pool.run({ type: 'rerank', modelRef, hits: hits.slice(from, from + half), evidence, cells: [], thumbs: thumbs.slice(from, from + half), only: 'pixels' })),
    );
    return (await pool.run({ type: 'rerank', modelRef, hits: halves.flat(), evidence, cells, only: 'cells' })) as H[];
  }
}

/**
 * The plan's view indices in two parts of about equal cost (largest first, each to the lighter
 * part). A forward costs its pixels (a view with query regions runs one more per region); turning a tilted copy back costs about 0.7 of a 224 forward in JS.
 * Views that see the same raster at the same side (the whole query and its trimmed self, for an
 * image without a frame) share one forward, so they stay together.
 */
export function splitViews(views: QueryView[]): [number[], number[]] {
  const groups = new Map<string, { indices: number[]; cost: number }>();
  views.forEach((v, i) => {
    const key = v.kind === 'dct' ? 'dct' : v.tilt ? `tilt${v.tilt}` : `${v.side}:${v.orientation}`;
    // Query regions are a forward each at the view's side.
    const forwards = 1 + (v.regions?.proposals ?? 0);
    const cost = v.kind === 'dct' ? 0.05 : forwards * (v.side / 224) ** 2 + (v.tilt ? 0.7 : 0);
    const g = groups.get(key) ?? { indices: [], cost: 0 };
    g.indices.push(i);
    g.cost = Math.max(g.cost, cost);
    groups.set(key, g);
  });
  const parts: [number[], number[]] = [[], []];
  const load = [0, 0];
  for (const g of [...groups.values()].sort((a, b) => b.cost - a.cost)) {
    const p = load[0] <= load[1] ? 0 : 1;
    parts[p].push(...g.indices);
    load[p] += g.cost;
  }
  // The part with the plan's first view goes first (it carries the query's pixels).
  if (parts[1].includes(0)) parts.reverse();
  parts.forEach((p) => p.sort((a, b) => a - b));
  return parts;
}
