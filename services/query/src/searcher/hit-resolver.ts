import type { Logger } from '@loupe/shared';
import type { ObjectInfo, ObjectLookupRepository } from './object-lookup.repository.ts';
import type { MirrorHit } from './shard-mirror.ts';
import type { SearchHit } from './searcher-types.ts';
import type { WireQuery } from './worker-protocol.ts';

interface ShardHit {
  shard: number;
  hit: MirrorHit;
}

/**
 * Merges the shards' answers per query and turns (shard, id) into object keys and sizes. A
 * shard whose lookup fails or times out joins `failed` and the merge is redone without it, so
 * the other shards' next-best hits fill its place.
 */
export class HitResolver {
  constructor(
    private readonly lookup: ObjectLookupRepository,
    private readonly log: Logger,
  ) {}

  async resolve(
    answers: Map<number, MirrorHit[][]>,
    queries: WireQuery[],
    failed: Set<number>,
    deadline: number,
    timeoutMs: number,
  ): Promise<SearchHit[][]> {
    const infos = new Map<string, ObjectInfo>();
    for (;;) {
      const merged = queries.map((q, qi) => mergeTopK(answers, qi, q.k, failed));
      const need = new Map<number, Set<number>>();
      for (const list of merged)
        for (const { shard, hit } of list) {
          if (infos.has(`${shard}:${hit.id}`)) continue;
          if (!need.has(shard)) need.set(shard, new Set());
          need.get(shard)!.add(hit.id);
        }
      if (!need.size) return merged.map((list, qi) => this.toHits(list, queries[qi].level, infos));
      // Lookups get what is left of the deadline, but at least a short slice of their own.
      const budget = Math.max(deadline - Date.now(), Math.min(250, timeoutMs));
      await Promise.all(
        [...need].map(async ([shard, idSet]) => {
          const ids = [...idSet];
          try {
            const found = await withTimeout(this.lookup.lookup(shard, ids), budget);
            ids.forEach((id, i) => infos.set(`${shard}:${id}`, found[i]));
          } catch (err) {
            this.log.warn({ shard, err: String(err) }, 'id lookup failed; shard left out');
            failed.add(shard);
          }
        }),
      );
    }
  }

  private toHits(list: ShardHit[], level: number, infos: Map<string, ObjectInfo>): SearchHit[] {
    return list.flatMap(({ shard, hit }) => {
      const info = infos.get(`${shard}:${hit.id}`)!;
      if (info.key === null) {
        this.log.warn({ shard, id: hit.id }, 'id has no key in idToKey; hit dropped');
        return [];
      }
      return [{ shard, id: hit.id, key: info.key, level, view: hit.view, distance: hit.distance, width: info.width, height: info.height }];
    });
  }
}

/** Top k of one query across shards by (distance, shard, id), leaving out failed shards. */
export function mergeTopK(answers: Map<number, MirrorHit[][]>, qi: number, k: number, failed: Set<number>): ShardHit[] {
  const all: ShardHit[] = [];
  for (const [shard, results] of answers) if (!failed.has(shard)) for (const hit of results[qi]) all.push({ shard, hit });
  all.sort((a, b) => a.hit.distance - b.hit.distance || a.shard - b.shard || a.hit.id - b.hit.id);
  return all.slice(0, k);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
