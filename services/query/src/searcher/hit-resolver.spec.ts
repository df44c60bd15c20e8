import { describe, expect, it } from 'vitest';
import { createLogger } from '@loupe/shared';
import { HitResolver } from './hit-resolver.ts';
import { packAnswer, type ShardAnswer } from './shard-answer-codec.ts';
import type { MirrorHit } from './mirror-types.ts';

const info = (id: number) => ({ key: `k/${id}.jpg`, width: id, height: 1 });

describe('HitResolver', () => {
  it('merges each query to the k best by (distance, shard, id) over the shards that answered, as a full sort would', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const queries = Array.from({ length: 6 }, (_, i) => ({ level: 0, code: new Uint8Array(32), k: 1 + (i % 4) * 3 }));
    const perShard = new Map<number, MirrorHit[][]>();
    for (let shard = 0; shard < 5; shard++) {
      perShard.set(
        shard,
        // Few distinct distances, so ties are broken by shard and id.
        queries.map(() => Array.from({ length: rand(12) }, (_, i) => ({ id: shard * 100 + i, view: rand(25), distance: rand(4) })).sort((a, b) => a.distance - b.distance || a.id - b.id)),
      );
    }
    const answers = new Map<number, ShardAnswer>([...perShard].map(([s, r]) => [s, packAnswer(r, info)]));
    const failed = new Set([3]);
    const merged = new HitResolver(createLogger('test', 'silent')).resolve(answers, queries, failed);
    queries.forEach((q, qi) => {
      const expected = [...perShard]
        .filter(([s]) => !failed.has(s))
        .flatMap(([shard, r]) => r[qi].map((h) => ({ shard, ...h })))
        .sort((a, b) => a.distance - b.distance || a.shard - b.shard || a.id - b.id)
        .slice(0, q.k)
        .map((h) => ({ shard: h.shard, id: h.id, key: `k/${h.id}.jpg`, level: 0, view: h.view, distance: h.distance, width: h.id, height: 1 }));
      expect(merged[qi]).toEqual(expected);
    });
    expect(merged.flat().length).toBeGreaterThan(10);
  });

  it('drops a hit whose object has no key', () => {
    const answers = new Map([[0, packAnswer([[{ id: 1, view: 0, distance: 2 }, { id: 2, view: 0, distance: 3 }]], (id) => (id === 1 ? { key: null, width: 0, height: 0 } : info(id)))]]);
    const merged = new HitResolver(createLogger('test', 'silent')).resolve(answers, [{ level: 0, code: new Uint8Array(32), k: 5 }], new Set());
    expect(merged[0].map((h) => h.id)).toEqual([2]);
  });
});
