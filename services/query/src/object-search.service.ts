import { hammingDistance, isWholeImageLevel, levelBoxesUnit, levelSizes, ViewFusion, type FusedHit, type IndexLayout, type QueryView } from '@loupe/shared';
import type { ShardFanout } from './query.service.ts';
import type { IndexReaderRepository } from './repository/index-reader.repository.ts';
import type { SearchHit } from './search-types.ts';

type Size = { width: number; height: number };

/**
 * Searches by indexed objects' own stored codes, for the duplicate groups: the search by key in
 * both directions, batched, and their perceptual codes' distances. Hits are named as the query
 * service names them (`toHit`).
 */
export class ObjectSearchService {
  private readonly fusion: ViewFusion;

  constructor(
    private readonly layout: IndexLayout,
    /** The query view a stored global code stands for. */
    private readonly view: QueryView,
    private readonly fanout: ShardFanout,
    private readonly reader: IndexReaderRepository,
    private readonly timeoutMs: number,
    private readonly toHit: (h: FusedHit, minScore: number, size: Size) => SearchHit,
  ) {
    this.fusion = ViewFusion.forPlan(layout.bits, layout.plan);
  }

  /**
   * The matches of indexed objects in both directions (the duplicate groups' search), in one
   * fan-out for all of them: each object's global code as a search by key probes it (copies, and
   * this object inside others), and each of its regional codes of the levels that search probes,
   * against the other objects' global codes at the same offset (others inside this object: those
   * hits carry `queryRegion`, in `size`'s pixels). A pair's rank is then the same whichever of the
   * two searches. Without the object itself; null for a key not indexed.
   */
  async searchObjects(objects: { key: string; size: { width: number; height: number } }[], p: { k: number; minScore: number }): Promise<(SearchHit[] | null)[]> {
    const view = this.view;
    const regional = view.offsets.flatMap((o, l) => (o === null || o === undefined || isWholeImageLevel(this.layout.plan, l) ? [] : [l]));
    const codes = await Promise.all(objects.map((o) => this.reader.codesOf(o.key, [0, ...regional])));
    // Ranks past the threshold are never matches: bounding the distance spares the searchers.
    const maxRank = Math.floor((1 - p.minScore) * this.layout.bits);
    const probes = codes.map((c) => {
      if (!c) return [];
      const own = this.fusion.probes([{ view, code: c[0] }], 'auto');
      regional.forEach((level, i) => {
        const bytes = c[i + 1].length / levelSizes(this.layout)[level];
        levelBoxesUnit(this.layout.plan.levels[level]).forEach((box, v) => {
          const code = c[i + 1].subarray(v * bytes, (v + 1) * bytes);
          own.push({ queryView: `${view.name}/l${level}v${v}`, level: 0, code, offset: view.offsets[level]! * this.layout.bits, queryBox: box });
        });
      });
      return own;
    });
    const queries = probes.flat().map((probe) => ({ level: probe.level, code: probe.code, k: p.k + 1, maxDistance: Math.max(0, Math.floor(maxRank - probe.offset)) }));
    const { results, shards } = queries.length ? await this.fanout.search(queries, this.timeoutMs) : { results: [], shards: { ok: 1, total: 1 } };
    // A shard that did not answer would drop matches, and a group built without them split wrongly.
    if (shards.ok < shards.total) throw new Error(`search of ${objects.length} objects: ${shards.total - shards.ok} of ${shards.total} shards did not answer`);
    let at = 0;
    return objects.map((o, i) => {
      const mine = results.slice(at, (at += probes[i].length));
      if (!codes[i]) return null;
      const fused = this.fusion.fuse(probes[i], mine, p.k + 1).filter((h) => h.key !== o.key);
      return fused.slice(0, p.k).map((h) => this.toHit(h, p.minScore, o.size));
    });
  }

  /**
   * Hamming distance, as a fraction of the bits, of `key`'s perceptual (dct level) code to each of `others`' (undefined for
   * one not indexed); null when the index has no perceptual level or `key` is not indexed.
   */
  async perceptualDistances(key: string, others: string[]): Promise<(number | undefined)[] | null> {
    const level = this.layout.plan.levels.findIndex((l) => l.kind === 'dct');
    if (level < 0) return null;
    const [own, ...theirs] = await Promise.all([key, ...others].map((k) => this.reader.codesOf(k, [level])));
    if (!own) return null;
    return theirs.map((c) => (c ? hammingDistance(own[0], c[0]) / this.layout.bits : undefined));
  }
}
