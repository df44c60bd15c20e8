import { isWholeImageLevel, type Box, type ViewPlan } from '../../view/view-plan.ts';
import type { QueryView } from './query-plan.ts';
import type { QueryCellGrid } from './cell-grid-verifier.ts';
import type { QueryPixels } from './pixel-verifier.ts';

/** The code of one query view (what HashModel.encodeQuery returns). */
export interface QueryViewCode {
  view: QueryView;
  code: Uint8Array;
  /** The view's map cell by cell (views with `cells`): the query's grid for CellGridVerifier. */
  cells?: QueryCellGrid;
  /** The query's grey pixels (on the identity view, when the plan checks pixels): for PixelVerifier. */
  pixels?: QueryPixels;
  /** The view's query regions (views with `regions`): each part of the query (fractions of it) and its code. */
  regions?: { box: Box; code: Uint8Array }[];
  /** With `regions`: the query's size (after EXIF orientation), which their boxes are fractions of. */
  querySize?: { width: number; height: number };
}

/** One index search a query needs: a query view's code against one index level. */
export interface FusionProbe {
  /** The query view it comes from. */
  queryView: string;
  level: number;
  code: Uint8Array;
  /** Added to the Hamming distance of its hits when ranking (bits). */
  offset: number;
  /** Hits farther than this (bits) are dropped. */
  maxDistance?: number;
  /** A query region's probe: the part of the query it codes, as fractions of the query. */
  queryBox?: Box;
}

/** A hit of one probe: the best view of an object at the probe's level (as the shard searchers return). */
export interface ProbeHit {
  key: string;
  level: number;
  /** View index within the level. */
  view: number;
  distance: number;
  width: number;
  height: number;
}

export interface FusedHit extends ProbeHit {
  /** distance + the probe's offset: what hits are ordered by. */
  rank: number;
  queryView: string;
  /** Where in the query the match was found (a query region's box, fractions of the query); absent for the whole query. */
  queryBox?: Box;
}

export type GranularityFilter = 'auto' | 'global' | 'region';

/**
 * Query-side fusion: turns a query's view codes into index probes, and the probes' hit lists into
 * one ranking with one hit per object (its best probe/view pair). Pure: the query service and the
 * copy-detection benchmark run exactly this.
 *
 * Ranking is by distance + offset (bits); at equal rank a global match beats a regional one, then
 * the smaller raw distance, then the key. Because every probe returns its k best *objects*, the
 * fused top-k is exact: an object missing from a probe's list has k others at least as good there.
 */
export class ViewFusion {
  constructor(
    /** Code length in bits (offsets are fractions of it). */
    readonly bits: number,
    /** Levels in the index's view plan. */
    readonly levels: number,
    /** Levels whose view is the whole image ('global' granularity): level 0 and perceptual levels. */
    private readonly wholeLevels: readonly number[] = [0],
  ) {}

  /** The fusion of an index with this plan. */
  static forPlan(bits: number, plan: ViewPlan): ViewFusion {
    const levels = plan.levels.map((_, l) => l);
    return new ViewFusion(bits, levels.length, levels.filter((l) => isWholeImageLevel(plan, l)));
  }

  /** The probes of a query: each view code against each level its view searches. */
  probes(codes: QueryViewCode[], granularity: GranularityFilter = 'auto'): FusionProbe[] {
    const out: FusionProbe[] = [];
    for (const { view, code, regions } of codes) {
      if (view.regions && regions && granularity !== 'region') {
        const offset = view.regions.offset * this.bits;
        regions.forEach((r, i) => out.push({ queryView: `${view.name}/r${i}`, level: 0, code: r.code, offset, queryBox: r.box }));
      }
      view.offsets.forEach((fraction, level) => {
        if (fraction === null || fraction === undefined || level >= this.levels) return;
        const whole = this.wholeLevels.includes(level);
        if ((granularity === 'global' && !whole) || (granularity === 'region' && whole)) return;
        const maxDistance = view.maxDistance === undefined ? undefined : view.maxDistance * this.bits;
        out.push({ queryView: view.name, level, code, offset: fraction * this.bits, ...(maxDistance === undefined ? {} : { maxDistance }) });
      });
    }
    return out;
  }

  /** Best probe hit per object, ordered; `results[i]` are the hits of `probes[i]` (extra fields of a hit are kept). */
  fuse<H extends ProbeHit>(probes: FusionProbe[], results: H[][], k: number): (H & FusedHit)[] {
    if (results.length !== probes.length) throw new Error(`fusion: ${results.length} hit lists for ${probes.length} probes`);
    const best = new Map<string, H & FusedHit>();
    results.forEach((hits, i) => {
      const probe = probes[i];
      for (const h of hits) {
        if (probe.maxDistance !== undefined && h.distance > probe.maxDistance) continue;
        const hit = { ...h, rank: h.distance + probe.offset, queryView: probe.queryView, ...(probe.queryBox ? { queryBox: probe.queryBox } : {}) };
        const prev = best.get(h.key);
        if (!prev || compareFused(hit, prev) < 0) best.set(h.key, hit);
      }
    });
    return [...best.values()].sort(compareFused).slice(0, k);
  }
}

export function compareFused(a: FusedHit, b: FusedHit): number {
  return (
    a.rank - b.rank ||
    Number(a.level !== 0) - Number(b.level !== 0) ||
    a.distance - b.distance ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}
