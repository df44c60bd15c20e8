import type { RedisClient } from './redis-connection.ts';
import { IngestKeys } from './redis-keys.ts';

/**
 * How reading the source goes, as ingest last saw it: `ok`, or `retrying` since a read failed for
 * a reason that may pass (S3 5xx or throttling, a timeout, a dropped connection) and ingest backs
 * off; `lastError` is the last such failure (kept after recovery, for the record).
 */
export interface SourceState {
  state: 'ok' | 'retrying';
  /** ISO time the state began. */
  since: string;
  lastError: string | null;
}

export async function writeSourceState(redis: RedisClient, sourceUrl: string, state: SourceState): Promise<void> {
  await redis.set(new IngestKeys().sourceState(sourceUrl), JSON.stringify(state));
}

/** The last state ingest wrote for the source, or null when it never wrote one. */
export async function readSourceState(redis: RedisClient, sourceUrl: string): Promise<SourceState | null> {
  const raw = await redis.get(new IngestKeys().sourceState(sourceUrl));
  return raw ? (JSON.parse(raw) as SourceState) : null;
}
