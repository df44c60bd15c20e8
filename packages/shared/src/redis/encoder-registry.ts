import type { RedisClient } from './redis-connection.ts';
import { ENCODERS_KEY } from './redis-keys.ts';

/** What an encoder process reports about itself (its heartbeat in ENCODERS_KEY). */
export interface EncoderReport {
  runtime: string;
  threads: number;
  model: string;
  /** Images encoded since the process started, and the wall time its model spent encoding them. */
  images: number;
  encodeMs: number;
}

/** An encoder's heartbeat: refreshed every ENCODER_HEARTBEAT_MS while it runs. */
export async function reportEncoder(redis: RedisClient, instance: string, report: EncoderReport): Promise<void> {
  await redis.hset(ENCODERS_KEY, instance, JSON.stringify({ ...report, at: Date.now() }));
}

export async function forgetEncoder(redis: RedisClient, instance: string): Promise<void> {
  await redis.hdel(ENCODERS_KEY, instance);
}

export const ENCODER_HEARTBEAT_MS = 10_000;

/** Encoders whose heartbeat is newer than `freshMs`, by instance; stale entries (killed processes) are dropped. */
export async function liveEncoders(redis: RedisClient, freshMs = 3 * ENCODER_HEARTBEAT_MS): Promise<Map<string, EncoderReport>> {
  const out = new Map<string, EncoderReport>();
  const stale: string[] = [];
  for (const [instance, value] of Object.entries(await redis.hgetall(ENCODERS_KEY))) {
    const v = JSON.parse(value) as EncoderReport & { at: number };
    if (Date.now() - v.at <= freshMs) out.set(instance, { runtime: v.runtime, threads: v.threads, model: v.model, images: v.images ?? 0, encodeMs: v.encodeMs ?? 0 });
    else stale.push(instance);
  }
  if (stale.length) await redis.hdel(ENCODERS_KEY, ...stale);
  return out;
}
