import type { IndexLayout } from './index-layout.ts';
import type { RedisClient } from './redis-connection.ts';
import { ShardKeys } from './redis-keys.ts';

export interface ShardCounters {
  shard: number;
  created: number;
  replaced: number;
  deleted: number;
  /** Writes refused as older than the version held for their key (object-version.ts). */
  stale: number;
}

/** The indexer's per-shard counters of one index generation. */
export function readShardCounters(redis: RedisClient, layout: IndexLayout): Promise<ShardCounters[]> {
  return Promise.all(
    Array.from({ length: layout.shards }, async (_, shard) => {
      const h = await redis.hgetall(new ShardKeys(shard, layout.namespace).counters);
      return { shard, created: Number(h.created ?? 0), replaced: Number(h.replaced ?? 0), deleted: Number(h.deleted ?? 0), stale: Number(h.stale ?? 0) };
    }),
  );
}

/** Objects indexed and not deleted in one index generation. */
export async function liveObjectCount(redis: RedisClient, layout: IndexLayout): Promise<number> {
  return (await readShardCounters(redis, layout)).reduce((n, c) => n + c.created - c.deleted, 0);
}
