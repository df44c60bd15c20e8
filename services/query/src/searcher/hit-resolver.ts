import type { Logger } from '@loupe/shared';
import type { ObjectInfo } from './object-info-table.ts';
import type { MirrorHit } from './shard-mirror.ts';
import type { SearchHit } from './searcher-types.ts';
import type { WireQuery } from './worker-protocol.ts';

/** One shard's answer to a fan-out: hits per query and the key and size of each object they name. */
export interface ShardAnswer {
  results: MirrorHit[][];
  objects: Map<number, ObjectInfo>;
}

interface ShardHit {
  shard: number;
  hit: MirrorHit;
}

/**
 * Merges the shards' answers per query and names each (shard, id) with the key and size its
 * mirror holds, so no Redis round trip is needed (and none fails while Redis is unreachable).
 */
export class HitResolver {
  constructor(private readonly log: Logger) {}

  resolve(answers: Map<number, ShardAnswer>, queries: WireQuery[], failed: Set<number>): SearchHit[][] {
    return queries.map((q, qi) => this.toHits(mergeTopK(answers, qi, q.k, failed), q.level, answers));
  }

  private toHits(list: ShardHit[], level: number, answers: Map<number, ShardAnswer>): SearchHit[] {
    return list.flatMap(({ shard, hit }) => {
      const info = answers.get(shard)?.objects.get(hit.id);
      if (!info?.key) {
        this.log.warn({ shard, id: hit.id }, 'id has no key in its mirror; hit dropped');
        return [];
      }
      return [{ shard, id: hit.id, key: info.key, level, view: hit.view, distance: hit.distance, width: info.width, height: info.height }];
    });
  }
}

/** Top k of one query across shards by (distance, shard, id), leaving out failed shards. */
export function mergeTopK(answers: Map<number, ShardAnswer>, qi: number, k: number, failed: Set<number>): ShardHit[] {
  const all: ShardHit[] = [];
  for (const [shard, answer] of answers) if (!failed.has(shard)) for (const hit of answer.results[qi]) all.push({ shard, hit });
  all.sort((a, b) => a.hit.distance - b.hit.distance || a.shard - b.shard || a.hit.id - b.hit.id);
  return all.slice(0, k);
}
