import { IngestKeys, type RedisClient } from '@loupe/shared';

export interface SeenVersion {
  key: string;
  etag: string;
}

// Compare-and-delete / compare-and-expire: only the holder's token may release or extend.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Discovery's memory in Redis, per source: the hash of object key -> etag of every version that
 * became a job, a pass counter, when the last complete pass began, and the lock that lets one
 * process at a time run a pass.
 */
export class SeenObjectRepository {
  private readonly seenKey: string;
  private readonly passKey: string;
  private readonly lockKey: string;
  private readonly listedAtKey: string;

  constructor(
    private readonly redis: RedisClient,
    sourceUrl: string,
    keys = new IngestKeys(),
  ) {
    this.seenKey = keys.seen(sourceUrl);
    this.passKey = keys.pass(sourceUrl);
    this.lockKey = keys.discoveryLock(sourceUrl);
    this.listedAtKey = keys.listedAt(sourceUrl);
  }

  /** Known etag of each key, null when never seen. */
  async etags(keys: string[]): Promise<(string | null)[]> {
    return keys.length ? this.redis.hmget(this.seenKey, ...keys) : [];
  }

  async markSeen(versions: SeenVersion[]): Promise<void> {
    if (!versions.length) return;
    await this.redis.hset(this.seenKey, Object.fromEntries(versions.map((v) => [v.key, v.etag])));
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
      for (let i = 0; i < flat.length; i += 2) page.push({ key: flat[i], etag: flat[i + 1] });
      if (page.length) yield page;
    } while (cursor !== '0');
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.seenKey);
  }

  async nextPass(): Promise<number> {
    return this.redis.incr(this.passKey);
  }

  /** Epoch ms at which the last complete pass began, null when none completed. */
  async listedAt(): Promise<number | null> {
    const v = await this.redis.get(this.listedAtKey);
    return v === null ? null : Number(v);
  }

  async markListed(at: number): Promise<void> {
    await this.redis.set(this.listedAtKey, String(at));
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
