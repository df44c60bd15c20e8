import type { RedisClient } from './redis-connection.ts';
import { SEARCHERS_KEY, searcherKey } from './redis-keys.ts';

/** What a searcher process says of itself in the registry (renewed every heartbeat). */
export interface SearcherRegistration {
  /** Instance id, unique per process. */
  id: string;
  /** host:port of its searcher RPC. */
  address: string;
  /** Shards it owns (LOUPE_SEARCHER_SHARDS), whatever their state; empty: every shard. */
  shards: number[];
  /** Per index generation (namespace) it holds: the shards whose mirrors are loaded and current enough to answer. */
  generations: Record<string, number[]>;
  /** Epoch ms of this heartbeat. */
  at: number;
}

/**
 * The searcher registry in Redis: a registration per searcher that expires `ttlMs` after its last
 * heartbeat, so a searcher that dies without a word drops out on its own.
 */
export async function registerSearcher(redis: RedisClient, registration: SearcherRegistration, ttlMs: number): Promise<void> {
  await redis.multi().set(searcherKey(registration.id), JSON.stringify(registration), 'PX', ttlMs).sadd(SEARCHERS_KEY, registration.id).exec();
}

export async function unregisterSearcher(redis: RedisClient, id: string): Promise<void> {
  await redis.multi().del(searcherKey(id)).srem(SEARCHERS_KEY, id).exec();
}

/** Every registration that has not expired; ids whose registration expired are removed from the set. */
export async function liveSearchers(redis: RedisClient): Promise<SearcherRegistration[]> {
  const ids = await redis.smembers(SEARCHERS_KEY);
  if (!ids.length) return [];
  const values = await redis.mget(...ids.map(searcherKey));
  const expired = ids.filter((_, i) => values[i] === null);
  if (expired.length) await redis.srem(SEARCHERS_KEY, ...expired);
  return values.flatMap((v) => (v === null ? [] : [JSON.parse(v) as SearcherRegistration]));
}
