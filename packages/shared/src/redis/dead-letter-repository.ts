import { DeadJobSchema, type DeadJob } from '../job/job-schemas.ts';
import type { RedisClient } from './redis-connection.ts';
import { DEAD_LETTERS_BY_TIME_KEY, DEAD_LETTERS_KEY } from './redis-keys.ts';
import { decodeDeadLetterCursor, encodeDeadLetterCursor, isAfterCursor, type DeadLetterPosition } from './dead-letter-cursor.ts';

/** One dead letter as listed: the object whose current version failed, and why. */
export type DeadLetter = DeadJob;

export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  /** Objects failed now, all pages together (what /v1/stats calls `failed`). */
  total: number;
  /** Cursor of the next page; null on the last one. */
  nextCursor: string | null;
}

/**
 * The objects whose current version failed (DEAD_LETTERS_KEY, ordered by DEAD_LETTERS_BY_TIME_KEY):
 * written when a stage dead-letters a job, cleared when the indexer indexes or deletes the key.
 * A key fails once however often it is retried: a new failure replaces its entry.
 */
export class DeadLetterRepository {
  constructor(private readonly redis: RedisClient) {}

  async record(entry: DeadLetter): Promise<void> {
    const { key, ...rest } = entry;
    const at = Date.parse(entry.at);
    await exec(
      this.redis
        .multi()
        .hset(DEAD_LETTERS_KEY, key, JSON.stringify(rest))
        .zadd(DEAD_LETTERS_BY_TIME_KEY, Number.isFinite(at) ? at : Date.now(), key),
    );
  }

  /** Forgets these keys' failures; how many there were. */
  async clear(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const [removed] = await exec(this.redis.multi().hdel(DEAD_LETTERS_KEY, ...keys).zrem(DEAD_LETTERS_BY_TIME_KEY, ...keys));
    return Number(removed);
  }

  async get(key: string): Promise<DeadLetter | null> {
    return parseEntry(key, await this.redis.hget(DEAD_LETTERS_KEY, key));
  }

  async count(): Promise<number> {
    return this.redis.hlen(DEAD_LETTERS_KEY);
  }

  /** Up to `limit` dead letters after `cursor` (from the start without one), newest first. */
  async list(limit: number, cursor?: string): Promise<DeadLetterPage> {
    const after = cursor ? decodeDeadLetterCursor(cursor) : null;
    const found: DeadLetterPosition[] = [];
    // Entries of the cursor's own millisecond that it already passed come first: read on past them.
    for (let offset = 0; found.length <= limit; ) {
      const chunk = limit + 1;
      const raw = await this.redis.zrange(DEAD_LETTERS_BY_TIME_KEY, after ? after.at : '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', offset, chunk, 'WITHSCORES');
      for (let i = 0; i < raw.length; i += 2) {
        const p = { key: raw[i], at: Number(raw[i + 1]) };
        if (!after || isAfterCursor(p, after)) found.push(p);
      }
      offset += raw.length / 2;
      if (raw.length / 2 < chunk) break;
    }
    const page = found.slice(0, limit);
    const [values, total] = await Promise.all([
      page.length ? this.redis.hmget(DEAD_LETTERS_KEY, ...page.map((p) => p.key)) : Promise.resolve([]),
      this.count(),
    ]);
    return {
      deadLetters: page.map((p, i) => parseEntry(p.key, values[i])).filter((d): d is DeadLetter => d !== null),
      total,
      nextCursor: found.length > limit ? encodeDeadLetterCursor(page[page.length - 1]) : null,
    };
  }
}

function parseEntry(key: string, value: string | null | undefined): DeadLetter | null {
  if (!value) return null;
  try {
    const r = DeadJobSchema.safeParse({ ...JSON.parse(value), key });
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** Runs a MULTI and returns its replies, throwing the first command error. */
async function exec(multi: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const replies = await multi.exec();
  if (!replies) throw new Error('dead-letter transaction aborted');
  for (const [err] of replies) if (err) throw err;
  return replies.map(([, r]) => r);
}
