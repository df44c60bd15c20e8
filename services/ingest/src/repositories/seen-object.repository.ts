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

/**
 * The memory of what became a job, per source: the hash of object key -> etag and version of
 * every object version queued (by a discovery pass or an S3 event), a pass counter, and when the
 * last complete pass began. The source's lock is SourceLockRepository.
 */
export class SeenObjectRepository {
  private readonly seenKey: string;
  private readonly passKey: string;
  private readonly listedAtKey: string;

  constructor(
    private readonly redis: RedisClient,
    sourceUrl: string,
    keys = new IngestKeys(),
  ) {
    this.seenKey = keys.seen(sourceUrl);
    this.passKey = keys.pass(sourceUrl);
    this.listedAtKey = keys.listedAt(sourceUrl);
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

  /** Epoch ms at which the last complete pass began, null when none completed. */
  async listedAt(): Promise<number | null> {
    const v = await this.redis.get(this.listedAtKey);
    return v === null ? null : Number(v);
  }

  async markListed(at: number): Promise<void> {
    await this.redis.set(this.listedAtKey, String(at));
  }
}
