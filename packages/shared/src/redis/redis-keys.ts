/**
 * Redis key layout (one place). Every key of a shard carries the shard's hash tag so a shard's
 * keys live in one cluster slot and one Lua script can touch them all atomically.
 */
export const DEFAULT_NAMESPACE = 'loupe';

/**
 * Layout hash of one index generation (see index-layout.ts). A generation is a key namespace:
 * every shard key of it starts with the namespace (ShardKeys). The first index lives in
 * DEFAULT_NAMESPACE; a model rollout builds the next one beside it (index-generations.ts).
 */
export function indexMetaKey(namespace: string = DEFAULT_NAMESPACE): string {
  return `${namespace}:index`;
}

export const INDEX_META_KEY = indexMetaKey();

/** Hash: `active` = namespace queries are served from, `next` = namespace being re-encoded into. */
export const GENERATIONS_KEY = 'loupe:generations';

/** Hash: query service instance -> JSON { generation, at }: what each one serves (heartbeat). */
export const SERVING_KEY = 'loupe:serving';

/** Hash: encoder instance -> JSON { runtime, threads, model, images, encodeMs, at }: what each one runs on (heartbeat). */
export const ENCODERS_KEY = 'loupe:encoders';

/**
 * Searcher processes (`loupe searcher`) that serve shards over the searcher RPC: a set of instance
 * ids, and per instance a string (JSON registration) that expires unless the searcher renews it.
 * One hash tag, so a reader's SMEMBERS + MGET stay in one cluster slot.
 */
export const SEARCHERS_KEY = 'loupe:{searchers}';

/** String: one searcher's registration (SearcherRegistration), with a TTL its heartbeat renews. */
export function searcherKey(instance: string): string {
  return `${SEARCHERS_KEY}:${instance}`;
}

/**
 * Objects whose current version could not be indexed, one entry per key whatever the stage that
 * gave up (see dead-letter-repository.ts): a hash key -> JSON { stage, etag, reason, at } and a
 * sorted set key -> failure time (ms) that lists them newest first. One hash tag, so both change
 * in one MULTI on a cluster. The loupe-dead queue keeps the history; these keys what is failed now.
 */
export const DEAD_LETTERS_KEY = 'loupe:{dead}:objects';
export const DEAD_LETTERS_BY_TIME_KEY = 'loupe:{dead}:by-time';

/**
 * Duplicate groups (services/query/src/groups), beside the index. One hash tag: a merge or split
 * rewrites several groups and their members' entries in one MULTI, so they share a cluster slot.
 * - `objects`: hash key -> JSON {w, h, bytes, v} of every object of the active index (election, report)
 * - `edges`: hash key -> JSON [{to, rel, score, box?}], the key's matches, stored on both ends
 * - `member`: hash key -> id of its group (grouped keys only)
 * - `groups`: hash id -> JSON group (original, members with relations, reclaimable bytes)
 * - `ids`: sorted set of `<10^9 - size>:<id>` per group, all at score 0: ZRANGEBYLEX lists largest first
 * - `epoch`: counter bumped by every change; WATCHed, so concurrent upkeep retries instead of interleaving
 */
export const GroupKeys = {
  objects: 'loupe:{groups}:objects',
  edges: 'loupe:{groups}:edges',
  member: 'loupe:{groups}:member',
  groups: 'loupe:{groups}:groups',
  ids: 'loupe:{groups}:ids',
  epoch: 'loupe:{groups}:epoch',
} as const;

/**
 * Codes and sizes are stored in pages: one Redis string per PAGE_BYTES-sized run of objects. A
 * page is created at its full length in one command (Redis allocates a new string exactly, while
 * growing one with SETRANGE over-allocates by up to 2x, measured at +53% per code byte), so the
 * codes cost their raw size; no value grows past Redis's 512 MB string limit either. 32762 bytes
 * + the 5-byte header + NUL fill a 32 KiB allocation exactly.
 */
export const PAGE_BYTES = 32_762;

/** Objects per page of a record of `objectBytes` bytes (an object's records never straddle pages). */
export function objectsPerPage(objectBytes: number): number {
  return Math.max(1, Math.floor(PAGE_BYTES / objectBytes));
}

/** Where object `id`'s `objectBytes` bytes live: page number and byte offset in the page. */
export function pageSlot(objectBytes: number, id: number): { page: number; offset: number } {
  const per = objectsPerPage(objectBytes);
  return { page: Math.floor(id / per), offset: (id % per) * objectBytes };
}

/** Ids per id -> key list (see ShardKeys.idBucket). */
export const ID_BUCKET_SIZE = 128;

/**
 * Memory layout of a shard (docs/benchmarks.md "Memory"): raw code bytes plus about 70 bytes of
 * key maps per object. Both maps are small listpack-encoded values:
 * - id -> key: list `i2k:<id / 128>`, element id % 128 = 8-byte etag fingerprint + object key;
 * - key -> id: hashes `k2i:<bucket>` keyed by an 8-byte key fingerprint (the key itself lives
 *   once, in i2k), spread by linear hashing (state in `k2is`) so buckets stay small as the shard
 *   grows; the rare key whose fingerprint another key already holds goes to `k2ix` (key -> id).
 * The Lua in key-map.ts (KEY_MAP_LUA) and the indexer scripts build these names from the tag the same way.
 *
 * No multi-index-hashing postings are kept in Redis (ARCHITECTURE.md sketched a bitmap of ids per
 * substring value). Measured for the global level alone (bench/postings-memory.ts, 4 x 16-bit
 * substrings): dense bitmaps 6,109 B/object at 20k objects (they grow as values x ids / 8: ~30 GiB
 * at 1M), Redis sets 193 B/object, packed u32 ids in listpack hashes 28 B/object, against 8 code
 * bytes, and the whole layout above is 208 B/object at 100k (target <= 1.5 x 152; measured before
 * the 8-byte version pages). The searchers
 * build the MIH in memory from the codes they mirror (1.6–2.2 s per 10M records) instead.
 */
export class ShardKeys {
  readonly tag: string;
  constructor(
    readonly shard: number,
    namespace = DEFAULT_NAMESPACE,
  ) {
    this.tag = `${namespace}:{s${shard}}`;
  }
  /**
   * Page `page` of the packed codes of one level: object id's views (viewsAtLevel records of
   * codeBytes) at pageSlot(viewsAtLevel * codeBytes, id).
   */
  codes(level: number, page: number): string {
    return `${this.tag}:codes:${level}:${page}`;
  }
  /** Page of source sizes: u32 width, u32 height big-endian per id, at pageSlot(8, id). */
  dims(page: number): string {
    return `${this.tag}:dims:${page}`;
  }
  /** Bit per id: set when the id is deleted. */
  get tombstones(): string {
    return `${this.tag}:tomb`;
  }
  /** List of ids [b * 128, b * 128 + 128): etag fingerprint (8 bytes) + object key per id. */
  idBucket(b: number): string {
    return `${this.tag}:i2k:${b}`;
  }
  /** Hash bucket of the key -> id map: 8-byte key fingerprint -> id. */
  keyBucket(b: number): string {
    return `${this.tag}:k2i:${b}`;
  }
  /** Hash key -> id for keys whose fingerprint collides with another key's (normally empty). */
  get keyCollisions(): string {
    return `${this.tag}:k2ix`;
  }
  /** Hash with the key map's linear-hashing state: L (level), P (split pointer), n (keys). */
  get keyMapState(): string {
    return `${this.tag}:k2is`;
  }
  /** Next dense id (INCR). */
  get nextId(): string {
    return `${this.tag}:next`;
  }
  /**
   * Page of object versions (object-version.ts): u64 big-endian per id, at pageSlot(8, id); a
   * slot never written (objects indexed before versions existed) reads as version 0.
   */
  versions(page: number): string {
    return `${this.tag}:ver:${page}`;
  }
  /**
   * String: the version of a recent delete of `key` (8 bytes), so a late write of an older version
   * cannot bring the object back. Expires after DELETED_KEY_TTL_MS.
   */
  deletedKey(key: string): string {
    return `${this.tag}:gone:${key}`;
  }
  /** Hash of counters: created, deleted, replaced, stale (writes refused as older than the index's). */
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
  /**
   * Hash object key -> etag of every object version turned into a job (by discovery or an S3
   * event), followed by NUL and the version it was stamped with (entries written before versions
   * existed have none).
   */
  seen(source: string): string {
    return `${this.tag}:seen:${source}`;
  }
  /** Counter of discovery passes over a source (INCR). */
  pass(source: string): string {
    return `${this.tag}:pass:${source}`;
  }
  /**
   * The source's lock (SET NX PX): held by whoever queues jobs of the source, a discovery pass or
   * a rollout's backfill for their whole listing, an S3 event for one object, so object versions
   * follow the order in which they were seen. The value names the holder.
   */
  discoveryLock(source: string): string {
    return `${this.tag}:lock:${source}`;
  }
  /** JSON of the source's read health as ingest last saw it (SourceState: ok, or retrying since when and why). */
  sourceState(source: string): string {
    return `${this.tag}:source:${source}`;
  }
  /**
   * String: the holder token of a pass or backfill waiting for the lock while S3 events hold it;
   * events do not take the lock while it is there (seconds-long PX), so a pass is not starved.
   */
  discoveryLockTurn(source: string): string {
    return `${this.tag}:lock-turn:${source}`;
  }
  /** Last object version handed out (ObjectVersionClock), one for all sources. */
  get versionClock(): string {
    return `${this.tag}:version`;
  }
  /** String: epoch ms at which the last complete discovery pass over a source began. */
  listedAt(source: string): string {
    return `${this.tag}:listed-at:${source}`;
  }
  /**
   * Hash video key -> JSON { etag, version, times }: the keyframes (seconds, frame-key.ts) queued for
   * the video's current version, so a new version deletes the frames it no longer has and a delete
   * deletes them all, whatever restarts happened in between.
   */
  videoFrames(source: string): string {
    return `${this.tag}:frames:${source}`;
  }
  /** String: JSON of the ffmpeg ingest found at its last start ({path, version, from}, or null: none). */
  ffmpeg(source: string): string {
    return `${this.tag}:ffmpeg:${source}`;
  }
  /** Hash object key -> sequencer of the last S3 event applied for it (LOUPE_EVENTS). */
  sequencers(source: string): string {
    return `${this.tag}:seq:${source}`;
  }
}
