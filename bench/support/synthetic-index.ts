import type { Redis } from 'ioredis';
import { DEFAULT_VIEW_PLAN, ShardKeys, codeBytes, ensureIndexLayout, levelSizes, SeededRandom, shardOf, type IndexLayout } from '@loupe/shared';
import { ShardRepository } from '../../services/indexer/src/repository/shard.repository.ts';

/** The search benchmarks' index: 14 views of 64-bit codes per object (the pyramid plan). */
export function syntheticLayout(shards: number): IndexLayout {
  return { shards, bits: 64, plan: DEFAULT_VIEW_PLAN, model: 'bench-model' };
}

/** Object i's codes per level, seeded by i: every index configuration holds the same objects. */
export function syntheticLevels(i: number): Uint8Array[] {
  const layout = syntheticLayout(1);
  const cb = codeBytes(layout);
  const rand = new SeededRandom(i + 1);
  return levelSizes(layout).map((n) => rand.bytes(n * cb));
}

/** Writes objects 0..n-1 into `shards` shards through the indexer's Lua scripts; returns the seconds it took. */
export async function writeSyntheticIndex(redis: Redis, shards: number, n: number): Promise<number> {
  await ensureIndexLayout(redis, syntheticLayout(shards));
  const repos = Array.from({ length: shards }, (_, s) => new ShardRepository(redis, new ShardKeys(s)));
  const t0 = performance.now();
  for (let from = 0; from < n; from += 2000) {
    const p = redis.pipeline();
    for (let i = from; i < Math.min(n, from + 2000); i++) {
      const key = `photos/bench/${String(i).padStart(8, '0')}.jpg`;
      repos[shardOf(key, shards)].upsertIn(p, { key, etag: 'e1', width: 4000, height: 3000, levels: syntheticLevels(i) });
    }
    await p.exec();
  }
  return (performance.now() - t0) / 1000;
}
