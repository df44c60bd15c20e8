import { IngestKeys, type RedisClient } from '@loupe/shared';

export interface SeenVersion {
  key: string;
  etag: string;
  /** Object version its jobs carry; absent for entries written before versions existed. */
  version?: number;
}

/** A seen-hash value: the etag, then NUL and the version when there is one. */
export function seenValue(v: Pick<SeenVersion, 'etag' | 'version'>): string {
  return v.version === undefined ? v.etag : `${v.etag}\u0000${v.version}`;
}

/** Inverse of seenValue (a value without a valid version suffix is an etag alone). */
export function parseSeenValue(key: string, value: string): SeenVersion {
  const at = value.lastIndexOf('\u0000');
  const tail = value.slice(at + 1);
  if (at < 0 || !/^\d{1,16}$/.test(tail) || !Number.isSafeInteger(Number(tail))) return { key, etag: value };
  return { key, etag: value.slice(0, at), version: Number(tail) };
}

// Compare-and-delete / compare-and-expire: only the holder's token may release or extend.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Discovery's memory in Redis, per source: the hash of object key -> etag (and version) of every
 * version that became a job, a pass counter, and the lock that lets one process at a time run a
 * pass (or a rollout's backfill).
 */
export class SeenObjectRepository {
  private readonly seenKey: string;
  private readonly passKey: string;
  private readonly lockKey: string;

  constructor(
    private readonly redis: RedisClient,
    sourceUrl: string,
    keys = new IngestKeys(),
  ) {
    this.seenKey = keys.seen(sourceUrl);
    this.passKey = keys.pass(sourceUrl);
    this.lockKey = keys.discoveryLock(sourceUrl);
  }

  /** Known version of each key, null when never seen. */
  async versions(keys: string[]): Promise<(SeenVersion | null)[]> {
    if (!keys.length) return [];
    const values = await this.redis.hmget(this.seenKey, ...keys);
    return values.map((v, i) => (v === null ? null : parseSeenValue(keys[i], v)));
  }

  async markSeen(versions: SeenVersion[]): Promise<void> {
    if (!versions.length) return;
    await this.redis.hset(this.seenKey, Object.fromEntries(versions.map((v) => [v.key, seenValue(v)])));
  }

  async forget(keys: string[]): Promise<void> {
    if (keys.length) await this.redis.hdel(this.seenKey, ...keys);
  }

  /** Every seen version, in pages (HSCAN: entries present throughout are returned at least once). */
  async *scan(count = 1000): AsyncIterable<SeenVersion[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.seenKey, cursor, 'COUNT', count);
      cursor = next;
      const page: SeenVersion[] = [];
      for (let i = 0; i < flat.length; i += 2) page.push(parseSeenValue(flat[i], flat[i + 1]));
      if (page.length) yield page;
    } while (cursor !== '0');
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.seenKey);
  }

  async nextPass(): Promise<number> {
    return this.redis.incr(this.passKey);
  }

  async acquireLock(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.lockKey, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async extendLock(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(EXTEND, 1, this.lockKey, token, ttlMs)) === 1;
  }

  async releaseLock(token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.lockKey, token);
  }
}
