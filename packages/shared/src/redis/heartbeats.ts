import type { RedisClient } from './redis-connection.ts';

/**
 * Heartbeats of running instances in one Redis hash (`key`): instance -> JSON of what it reports
 * and when (`at`). Readers keep the fresh ones and drop the stale (an instance killed without
 * saying goodbye). Query services report what they serve, encoders what they run on.
 */
export async function writeHeartbeat(redis: RedisClient, key: string, instance: string, report: object): Promise<void> {
  await redis.hset(key, instance, JSON.stringify({ ...report, at: Date.now() }));
}

export async function dropHeartbeat(redis: RedisClient, key: string, instance: string): Promise<void> {
  await redis.hdel(key, instance);
}

/** Reports newer than `freshMs` by instance (`at` left out); stale entries are deleted. */
export async function freshHeartbeats<T>(redis: RedisClient, key: string, freshMs: number): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  const stale: string[] = [];
  for (const [instance, value] of Object.entries(await redis.hgetall(key))) {
    const { at, ...report } = JSON.parse(value) as { at: number };
    if (Date.now() - at <= freshMs) out.set(instance, report as T);
    else stale.push(instance);
  }
  if (stale.length) await redis.hdel(key, ...stale);
  return out;
}
