/**
 * Redis key layout (one place). Every key of a shard carries the shard's hash tag so a shard's
 * keys live in one cluster slot and one Lua script can touch them all atomically.
 */
export const INDEX_META_KEY = 'loupe:index';

export class ShardKeys {
  readonly tag: string;
  constructor(
    readonly shard: number,
    namespace = 'loupe',
  ) {
    this.tag = `${namespace}:{s${shard}}`;
  }
  /** Packed codes of one level: record (id * viewsAtLevel + view) at offset record * codeBytes. */
  codes(level: number): string {
    return `${this.tag}:codes:${level}`;
  }
  /** Multi-index-hashing postings: bitmap of ids whose substring `part` of `level` equals value. */
  posting(level: number, part: number, value: number): string {
    return `${this.tag}:mih:${level}:${part}:${value}`;
  }
  /** Bit per id: set when the id is deleted or superseded. */
  get tombstones(): string {
    return `${this.tag}:tomb`;
  }
  /** Hash key -> id. */
  get keyToId(): string {
    return `${this.tag}:k2i`;
  }
  /** Hash id -> key. */
  get idToKey(): string {
    return `${this.tag}:i2k`;
  }
  /** Hash key -> etag of the indexed version. */
  get etags(): string {
    return `${this.tag}:etag`;
  }
  /** Packed source sizes: u32 width, u32 height big-endian per id at offset id * 8. */
  get dims(): string {
    return `${this.tag}:dims`;
  }
  /** Next dense id (INCR). */
  get nextId(): string {
    return `${this.tag}:next`;
  }
  /** Hash of counters: indexed, deleted, replaced. */
  get counters(): string {
    return `${this.tag}:stats`;
  }
  /** Stream of changes (id, op) that searchers tail to stay current. */
  get changes(): string {
    return `${this.tag}:changes`;
  }
  /** Model version the shard's codes were made with. */
  get model(): string {
    return `${this.tag}:model`;
  }
}

/** FNV-1a 32-bit: stable shard assignment of an object key. */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  const b = Buffer.from(key);
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/**
 * Keys of the ingest service. One hash tag, so with Redis Cluster they share a slot; every key
 * names the source URL, so two sources (or a changed LOUPE_SOURCE) never share discovery state.
 */
export class IngestKeys {
  readonly tag: string;
  constructor(namespace = 'loupe') {
    this.tag = `${namespace}:{ingest}`;
  }
  /** Hash object key -> etag of every object version discovery has turned into a job. */
  seen(source: string): string {
    return `${this.tag}:seen:${source}`;
  }
  /** Counter of discovery passes over a source (INCR). */
  pass(source: string): string {
    return `${this.tag}:pass:${source}`;
  }
  /** Held (SET NX PX) by the one ingest process running a discovery pass over a source. */
  discoveryLock(source: string): string {
    return `${this.tag}:lock:${source}`;
  }
}
