import {
  DEFAULT_MODEL, DEFAULT_SHARDS, ensureIndexLayout, levelCodeBytes, levelSizes, SeededRandom, shardOf, ShardKeys, shippedArtifact,
  type IndexLayout, type RedisClient,
} from '@loupe/shared';
import { ShardRepository } from '../../services/indexer/src/repository/shard.repository.ts';

/** The index layout `loupe start` gives a new index of `model` (the default: DEFAULT_MODEL, DEFAULT_SHARDS). */
export async function shippedLayout(model = DEFAULT_MODEL, shards = DEFAULT_SHARDS): Promise<IndexLayout> {
  const { header } = await shippedArtifact(model);
  return { shards, bits: header.bits, plan: header.plan, model };
}

/** A filler's key: 41 bytes, shaped like a real bucket's. */
export const fillerKey = (i: number) => `photos/2024/07/synthetic/IMG_${String(i).padStart(8, '0')}.jpg`;

/**
 * Creates `layout` (if the index has none) and writes `n` filler images, random codes at every
 * level drawn from `seed`, through the indexer's Lua scripts, 1,000 to a pipeline. Returns the
 * seconds it took.
 */
export async function writeFillers(redis: RedisClient, layout: IndexLayout, n: number, seed: number): Promise<number> {
  await ensureIndexLayout(redis, layout);
  const repos = Array.from({ length: layout.shards }, (_, s) => new ShardRepository(redis, new ShardKeys(s)));
  const bytes = levelSizes(layout).map((count, l) => count * levelCodeBytes(layout, l));
  const rand = new SeededRandom(seed);
  const t0 = performance.now();
  for (let from = 0; from < n; from += 1000) {
    const p = redis.pipeline();
    for (let i = from; i < Math.min(n, from + 1000); i++) {
      const key = fillerKey(i);
      repos[shardOf(key, layout.shards)].upsertIn(p, { key, etag: `"e${i}"`, width: 4000, height: 3000, levels: bytes.map((b) => rand.bytes(b)) });
    }
    await p.exec();
  }
  return (performance.now() - t0) / 1000;
}
