import type { RedisClient } from './redis-connection.ts';
import { dropHeartbeat, freshHeartbeats, writeHeartbeat } from './heartbeats.ts';
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
export function reportEncoder(redis: RedisClient, instance: string, report: EncoderReport): Promise<void> {
  return writeHeartbeat(redis, ENCODERS_KEY, instance, report);
}

export function forgetEncoder(redis: RedisClient, instance: string): Promise<void> {
  return dropHeartbeat(redis, ENCODERS_KEY, instance);
}

export const ENCODER_HEARTBEAT_MS = 10_000;

/** Encoders whose heartbeat is newer than `freshMs`, by instance; stale entries (killed processes) are dropped. */
export function liveEncoders(redis: RedisClient, freshMs = 3 * ENCODER_HEARTBEAT_MS): Promise<Map<string, EncoderReport>> {
  return freshHeartbeats<EncoderReport>(redis, ENCODERS_KEY, freshMs);
}
