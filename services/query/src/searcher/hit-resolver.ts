import type { Logger } from '@loupe/shared';
import { ShardAnswerReader, type ShardAnswer } from './shard-answer-codec.ts';
import type { SearchHit } from './searcher-types.ts';
import type { WireQuery } from './worker-protocol.ts';

/** A hit of the merge: its shard's answer and its index there. */
export interface ShardHit {
  answer: ShardAnswerReader;
  shard: number;
  hit: number;
}

/**
 * Merges the shards' answers per query and names each (shard, id) with the key and size its
 * mirror holds, so no Redis round trip is needed (and none fails while Redis is unreachable).
 */
export class HitResolver {
  constructor(private readonly log: Logger) {}

  resolve(answers: Map<number, ShardAnswer>, queries: WireQuery[], failed: Set<number>): SearchHit[][] {
    const live = [...answers].filter(([shard]) => !failed.has(shard)).map(([shard, a]) => ({ shard, answer: new ShardAnswerReader(a) }));
    return queries.map((q, qi) => this.toHits(mergeTopK(live, qi, q.k), q.level));
  }

  private toHits(list: ShardHit[], level: number): SearchHit[] {
    return list.flatMap(({ shard, answer, hit }) => {
      const info = answer.objectOf(hit);
      const id = answer.id(hit);
      if (!info.key) {
        this.log.warn({ shard, id }, 'id has no key in its mirror; hit dropped');
        return [];
      }
      return [{ shard, id, key: info.key, level, view: answer.view(hit), distance: answer.distance(hit), width: info.width, height: info.height }];
    });
  }
}

/**
 * Top k of query `qi` across the shards' answers by (distance, shard, id): each candidate is
 * compared with the worst of the k kept so far, so a query costs about one comparison per hit.
 */
export function mergeTopK(answers: { shard: number; answer: ShardAnswerReader }[], qi: number, k: number): ShardHit[] {
  const best: ShardHit[] = [];
  if (k <= 0) return best;
  for (const { shard, answer } of answers) {
    for (let hit = answer.first(qi), end = answer.end(qi); hit < end; hit++) {
      if (best.length === k && !before(answer, shard, hit, best[k - 1])) continue;
      let at = Math.min(best.length, k - 1);
      while (at > 0 && before(answer, shard, hit, best[at - 1])) at--;
      if (best.length === k) best.pop();
      best.splice(at, 0, { answer, shard, hit });
    }
  }
  return best;
}

/** (distance, shard, id) of `hit` of `answer` (on `shard`) before those of `b`. */
function before(answer: ShardAnswerReader, shard: number, hit: number, b: ShardHit): boolean {
  const da = answer.distance(hit);
  const db = b.answer.distance(b.hit);
  if (da !== db) return da < db;
  if (shard !== b.shard) return shard < b.shard;
  return answer.id(hit) < b.answer.id(b.hit);
}
