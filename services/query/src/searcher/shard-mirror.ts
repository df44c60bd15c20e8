import {
  ShardKeys,
  isRedisConnectionError,
  isSearchedLevel,
  codeBytes,
  createLogger,
  levelSizes,
  readIndexLayout,
  type IndexLayout,
  type Logger,
  type RedisClient,
} from '@loupe/shared/searcher-core';
import type { ObjectInfo } from './object-info-table.ts';
import { ShardCodes } from './shard-codes.ts';
import { bestViews } from './best-views.ts';
import type { RecordHit, SearchStrategy } from './scan-kernel.ts';
import { SearchInputError, type MirrorHit, type MirrorQuery, type MirrorSearchOptions, type MirrorStats, type ShardMirrorOptions } from './mirror-types.ts';
import { ShardReaderRepository, duplicateForTail, type ChangeEvent } from './shard-reader.repository.ts';
import { compareStreamIds, streamGap } from './stream-gap.ts';

/**
 * In-memory mirror of one shard's codes, tombstones, keys and sizes. Loads everything with
 * GETRANGE / LRANGE, then tails the shard's change stream from the position recorded *before* the
 * load, so a write that races the load is applied again (applying an event re-reads the object's
 * current codes, so it is idempotent). If the stream was trimmed past the mirror's position it
 * reloads fully, still answering searches from the old copy meanwhile. While Redis is unreachable
 * it keeps answering from what it holds and says so (isCurrent); once Redis is back the tail
 * carries on from its last entry and it is current again when it has caught up.
 */
export class ShardMirror {
  readonly shard: number;
  private readonly repo: ShardReaderRepository;
  private readonly log: Logger;
  private layoutValue: IndexLayout | null;
  private sizes: number[] = [];
  private bytesPerCode = 0;
  private codes: ShardCodes | null = null;
  private lastId = '0-0';
  /** Stream entries added up to and including lastId (null when the server cannot tell). */
  private seq: number | null = 0;
  private loadedAt: number | null = null;
  private reloads = 0;
  private ready = false;
  /** False from a lost connection until the tail has caught up again. */
  private current = true;
  private closed = false;
  private tailLoop: Promise<void> | null = null;
  private readonly chunkBytes: number;
  private readonly blockMs: number;
  private readonly batchSize: number;
  private readonly mihMinRecords: number | undefined;
  private readonly strategies: Record<SearchStrategy, number> = { mih: 0, scan: 0 };

  constructor(
    private readonly redis: RedisClient,
    opts: ShardMirrorOptions,
  ) {
    this.shard = opts.shard;
    this.layoutValue = opts.layout ?? null;
    this.log = (opts.logger ?? createLogger('query')).child({ shard: opts.shard });
    this.chunkBytes = opts.chunkBytes ?? 4 * 1024 * 1024;
    this.blockMs = opts.blockMs ?? 1000;
    this.batchSize = opts.batchSize ?? 1000;
    this.mihMinRecords = opts.mihMinRecords;
    const tail = duplicateForTail(redis, `loupe-mirror-s${opts.shard}-tail`);
    this.repo = new ShardReaderRepository(redis, tail, new ShardKeys(opts.shard, opts.layout?.namespace));
    this.repo.onConnectionLost(() => (this.current = false));
  }

  get layout(): IndexLayout | null {
    return this.layoutValue;
  }

  /** Loads the shard, applies the changes made meanwhile, then keeps tailing in the background. */
  async start(): Promise<void> {
    const layout = this.layoutValue ?? (await readIndexLayout(this.redis));
    if (!layout) throw new Error('no index layout in Redis yet (nothing indexed)');
    this.layoutValue = layout;
    // Cell and pixel levels are read per candidate (IndexReaderRepository), never scanned: not mirrored.
    this.sizes = levelSizes(layout).map((n, l) => (isSearchedLevel(layout.plan, l) ? n : 0));
    this.bytesPerCode = codeBytes(layout);
    await this.load();
    // Catch up to where the stream stood once the load was done (not to its moving end, which a
    // busy indexer may keep ahead), then the background tail takes over.
    const target = (await this.repo.streamPosition()).lastId;
    while (compareStreamIds(this.lastId, target) < 0) {
      const events = await this.repo.readChanges(this.lastId, null, this.batchSize);
      if (!events.length) break;
      await this.applyBatch(events);
    }
    this.ready = true;
    this.log.info(this.stats(), 'shard mirror ready');
    this.tailLoop = this.tail();
  }

  /** Best view per object at `level`, sorted by (distance, id), deleted objects skipped. */
  search(level: number, query: Uint8Array, opts: MirrorSearchOptions): MirrorHit[] {
    return this.searchMany([{ level, code: query, ...opts }])[0];
  }

  /**
   * search() of each query, in query order. The queries of one level are answered together
   * (LevelCodes.nearestMany): the level's codes are scanned once for all of them.
   */
  searchMany(queries: MirrorQuery[]): MirrorHit[][] {
    const codes = this.codes;
    if (!codes) return queries.map(() => []);
    for (const q of queries) this.check(q);
    const out: MirrorHit[][] = new Array(queries.length);
    const byLevel = new Map<number, number[]>();
    queries.forEach((q, i) => byLevel.set(q.level, [...(byLevel.get(q.level) ?? []), i]));
    for (const [level, at] of byLevel) {
      const views = this.sizes[level];
      const lc = codes.levels[level];
      const shared = { tombstones: codes.tombstones.bytes, recordsPerObject: views, count: codes.objects * views };
      // Each object has `views` records, so the k*views nearest records hold the k nearest objects.
      const wanted = at.map((i) => ({ code: queries[i].code, k: queries[i].k * views, maxDistance: queries[i].maxDistance }));
      // A forced strategy or a level with a multi-index hash: one query at a time (the MIH has no batch search).
      let records: RecordHit[][];
      if (lc.indexed || at.some((i) => (queries[i].strategy ?? 'auto') !== 'auto')) {
        records = at.map((i, j) => {
          const hits = lc.nearest(wanted[j].code, { ...shared, k: wanted[j].k, maxDistance: wanted[j].maxDistance, strategy: queries[i].strategy });
          this.strategies[lc.lastStrategy]++;
          return hits;
        });
      } else {
        records = lc.nearestMany(wanted, shared);
        this.strategies.scan += at.length;
      }
      at.forEach((i, j) => (out[i] = bestViews(records[j], views, queries[i].k)));
    }
    return out;
  }

  private check(q: MirrorQuery): void {
    const { level, code, k } = q;
    if (!Number.isInteger(level) || level < 0 || level >= this.sizes.length) {
      throw new SearchInputError(`level ${level} does not exist (index has ${this.sizes.length})`);
    }
    if (code.length !== this.bytesPerCode) {
      throw new SearchInputError(`query code has ${code.length} bytes, the index has ${this.bytesPerCode}`);
    }
    if (!Number.isInteger(k) || k < 1) throw new SearchInputError(`k must be a positive integer`);
    if (this.sizes[level] === 0) throw new SearchInputError(`level ${level} is read per candidate (cells, thumbnail): it is not searched`);
  }

  stats(): MirrorStats {
    const objects = this.codes?.objects ?? 0;
    const deleted = this.codes?.deletedCount() ?? 0;
    return {
      shard: this.shard,
      objects,
      live: objects - deleted,
      deleted,
      loadedAt: this.loadedAt === null ? null : new Date(this.loadedAt).toISOString(),
      lastEventId: this.lastId,
      reloads: this.reloads,
      ready: this.ready,
      strategies: { ...this.strategies },
    };
  }

  isReady(): boolean {
    return this.ready;
  }

  /** False while the mirror may lack changes: Redis was lost and the tail has not caught up since. */
  isCurrent(): boolean {
    return this.current && this.repo.connected();
  }

  /** Key and source size of object `id` (key null when unknown). */
  describe(id: number): ObjectInfo {
    return this.codes?.infos.get(id) ?? { key: null, width: 0, height: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.repo.disconnectTail();
    await this.tailLoop?.catch(() => undefined);
  }

  private async load(): Promise<void> {
    const t0 = Date.now();
    const position = await this.repo.streamPosition();
    // Every id below nextId is written whole (one script per object); objects created after
    // `position` (and newer versions of older ones) are applied again from the stream.
    const objects = await this.repo.objectCount();
    const codes = new ShardCodes(this.bytesPerCode, this.sizes, { mihMinRecords: this.mihMinRecords });
    for (let level = 0; level < this.sizes.length; level++) {
      const into = codes.levels[level];
      const views = this.sizes[level];
      if (views === 0) continue;
      into.reserve(objects * views);
      await this.repo.readLevel(level, codes.objectBytes(level), objects, this.chunkBytes, (first, buf) => into.write(first * views, buf));
    }
    await this.repo.readInChunks(this.repo.keys.tombstones, this.chunkBytes, (off, buf) => codes.tombstones.write(off, buf));
    await this.repo.readDims(objects, this.chunkBytes, (first, buf) => {
      for (let i = 0; i * 8 < buf.length; i++) codes.infos.setSize(first + i, buf.readUInt32BE(i * 8), buf.readUInt32BE(i * 8 + 4));
    });
    // A list holds 128 entries of ~60 bytes: about chunkBytes per round trip.
    await this.repo.readKeys(objects, Math.max(1, Math.floor(this.chunkBytes / 8192)), (id, key) => key && codes.infos.setKey(id, key));
    codes.objects = objects;
    const mihStarted = Date.now();
    codes.finishLoad();
    const mihMs = Date.now() - mihStarted;
    this.codes = codes;
    this.lastId = position.lastId;
    this.seq = position.entriesAdded;
    this.loadedAt = Date.now();
    this.log.info({ objects: codes.objects, ms: Date.now() - t0, mihMs, lastEventId: this.lastId }, 'shard loaded');
  }

  private async tail(): Promise<void> {
    let backoff = 100;
    while (!this.closed) {
      try {
        const events = await this.repo.readChanges(this.lastId, this.blockMs, this.batchSize);
        if (this.closed) break;
        if (events.length) await this.applyBatch(events);
        // Fewer than a batch: nothing more waits in the stream.
        if (events.length < this.batchSize && this.repo.connected()) this.current = true;
        backoff = 100;
      } catch (e) {
        if (this.closed) break;
        this.current = false;
        // An outage is logged once by the service (RedisHealth), not by every mirror's retries.
        this.log[isRedisConnectionError(e) ? 'debug' : 'warn']({ err: String(e) }, 'change stream read failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private async applyBatch(events: ChangeEvent[]): Promise<void> {
    const gap = await this.missedChanges(events);
    if (gap) {
      this.reloads++;
      this.log.warn({ lastEventId: this.lastId, reason: gap }, 'change stream has a gap; reloading the shard');
      await this.load();
      return;
    }
    const codes = this.codes!;
    const ids = [...new Set(events.filter((e) => e.op === 'upsert' && e.id >= 0).map((e) => e.id))];
    const read = await this.repo.readObjects(ids, this.sizes.map((_, l) => codes.objectBytes(l)));
    const byId = new Map(ids.map((id, i) => [id, read[i]]));
    for (const e of events) {
      if (e.id < 0) continue;
      if (e.op === 'delete') codes.markDeleted(e.id);
      else {
        const record = byId.get(e.id)!;
        if (codes.setObject(e.id, record.levels)) codes.infos.set(e.id, record.key, record.width, record.height);
        else this.log.warn({ id: e.id }, 'upserted object has no complete codes in Redis; skipped');
      }
    }
    this.lastId = events[events.length - 1].streamId;
    if (this.seq !== null) this.seq += events.length;
  }

  /** Why entries between lastId and `events` may be missing, or null when none are (streamGap). */
  private async missedChanges(events: ChangeEvent[]): Promise<string | null> {
    return streamGap(await this.repo.streamPosition(), this.seq, this.lastId, events);
  }
}
