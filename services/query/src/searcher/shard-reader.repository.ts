import { Cluster, type ChainableCommander } from 'ioredis';
import { ID_BUCKET_SIZE, PAGE_BYTES, objectsPerPage, pageSlot, quietConnectionErrors, type RedisClient, type ShardKeys } from '@loupe/shared/searcher-core';

/** One entry of a shard's change stream. */
export interface ChangeEvent {
  streamId: string;
  op: 'upsert' | 'delete';
  id: number;
}

/** One object's codes per level, its key (UTF-8, null when its id has none) and source size. */
export interface ObjectRecord {
  levels: Buffer[];
  key: Buffer | null;
  width: number;
  height: number;
}

/** Bytes of one id's entry in a dims page (u32 width, u32 height). */
const DIMS_BYTES = 8;
/** Bytes of the etag fingerprint in front of the key in an i2k entry. */
const ETAG_FP_BYTES = 8;

/** Where the change stream stands: its last generated id and how many entries were ever added. */
export interface StreamPosition {
  lastId: string;
  /** XINFO entries-added (Redis >= 7); null on older servers. */
  entriesAdded: number | null;
  length: number;
  firstId: string | null;
}

/**
 * Reads one shard's keys for a searcher mirror: bulk GETRANGE loads, per-object reads, and the
 * change stream (tailed on a dedicated connection, since XREAD BLOCK holds its connection).
 */
export class ShardReaderRepository {
  constructor(
    private readonly redis: RedisClient,
    /** Dedicated connection for XREAD BLOCK; owned by the caller. */
    private readonly tail: RedisClient,
    readonly keys: ShardKeys,
  ) {}

  /** True while both connections are up. */
  connected(): boolean {
    return this.redis.status === 'ready' && this.tail.status === 'ready';
  }

  /** Calls `lost` whenever either connection drops (it reconnects by itself). */
  onConnectionLost(lost: () => void): void {
    this.redis.on('close', lost);
    this.tail.on('close', lost);
  }

  /** Stream position from XINFO STREAM (one command, so lastId and entriesAdded agree). */
  async streamPosition(): Promise<StreamPosition> {
    let raw: unknown[];
    try {
      raw = (await this.redis.xinfo('STREAM', this.keys.changes)) as unknown[];
    } catch (e) {
      if (/no such key/i.test(String(e))) return { lastId: '0-0', entriesAdded: 0, length: 0, firstId: null };
      throw e;
    }
    const f = new Map<string, unknown>();
    for (let i = 0; i + 1 < raw.length; i += 2) f.set(String(raw[i]), raw[i + 1]);
    const first = f.get('first-entry') as [string, unknown] | null | undefined;
    return {
      lastId: String(f.get('last-generated-id') ?? '0-0'),
      entriesAdded: f.has('entries-added') ? Number(f.get('entries-added')) : null,
      length: Number(f.get('length') ?? 0),
      firstId: first ? String(first[0]) : null,
    };
  }

  /** Ids allocated so far: every id below it has all its codes written (one script per object). */
  async objectCount(): Promise<number> {
    return Number((await this.redis.get(this.keys.nextId)) ?? 0);
  }

  /** Reads a string in chunks (GETRANGE), handing each chunk to `onChunk` as it arrives. */
  async readInChunks(key: string, chunkBytes: number, onChunk: (offset: number, bytes: Buffer) => void): Promise<number> {
    let offset = 0;
    for (;;) {
      const buf = await this.redis.getrangeBuffer(key, offset, offset + chunkBytes - 1);
      if (buf.length) onChunk(offset, buf);
      offset += buf.length;
      if (buf.length < chunkBytes) return offset;
    }
  }

  /**
   * Reads the first `objects` objects of one level's code pages, pipelining about chunkBytes per
   * round trip, and hands each page's objects to onPage(first object id, bytes) in id order.
   */
  readLevel(level: number, objectBytes: number, objects: number, chunkBytes: number, onPage: (first: number, bytes: Buffer) => void): Promise<void> {
    return this.readPages((page) => this.keys.codes(level, page), objectBytes, objects, chunkBytes, onPage);
  }

  /** The source sizes of the first `objects` objects, a page at a time: onPage(first id, u32 width + u32 height per id). */
  readDims(objects: number, chunkBytes: number, onPage: (first: number, bytes: Buffer) => void): Promise<void> {
    return this.readPages((page) => this.keys.dims(page), DIMS_BYTES, objects, chunkBytes, onPage);
  }

  /** The keys of ids 0..objects-1 (null where an id has none), reading ID_BUCKET_SIZE ids per list and listsPerTrip lists per round trip. */
  readKeys(objects: number, listsPerTrip: number, onKey: (id: number, key: Buffer | null) => void): Promise<void> {
    return this.readBatched(
      Math.ceil(objects / ID_BUCKET_SIZE),
      listsPerTrip,
      (p, b) => p.lrangeBuffer(this.keys.idBucket(b), 0, ID_BUCKET_SIZE - 1),
      (b, entries) =>
        (entries as Buffer[]).forEach((entry, i) => {
          const id = b * ID_BUCKET_SIZE + i;
          if (id < objects) onKey(id, keyOfEntry(entry));
        }),
    );
  }

  private readPages(pageKey: (page: number) => string, objectBytes: number, objects: number, chunkBytes: number, onPage: (first: number, bytes: Buffer) => void): Promise<void> {
    const per = objectsPerPage(objectBytes);
    return this.readBatched(
      Math.ceil(objects / per),
      Math.max(1, Math.floor(chunkBytes / PAGE_BYTES)),
      (p, page) => p.getrangeBuffer(pageKey(page), 0, Math.min(per, objects - page * per) * objectBytes - 1),
      (page, buf) => {
        const bytes = buf as Buffer;
        onPage(page * per, bytes.subarray(0, bytes.length - (bytes.length % objectBytes)));
      },
    );
  }

  /**
   * Items 0..count-1, `perTrip` commands to a pipeline, one pipeline ahead in flight: Redis serves
   * the next while this thread copies the last (the load is round-trip and copy bound, not Redis).
   * onReply sees every item's reply in order.
   */
  private async readBatched(count: number, perTrip: number, queue: (p: ChainableCommander, item: number) => void, onReply: (item: number, reply: unknown) => void): Promise<void> {
    const send = (from: number) => {
      const p = this.redis.pipeline();
      for (let i = from; i < Math.min(count, from + perTrip); i++) queue(p, i);
      return p.exec();
    };
    if (count <= 0) return;
    let next = send(0);
    try {
      for (let from = 0; from < count; from += perTrip) {
        const replies = (await next) ?? [];
        if (from + perTrip < count) next = send(from + perTrip);
        for (let i = from; i < Math.min(count, from + perTrip); i++) {
          const [err, value] = replies[i - from] ?? [new Error('pipeline aborted'), null];
          if (err) throw err;
          onReply(i, value);
        }
      }
    } catch (e) {
      next.catch(() => undefined); // the batch ahead is of no use now
      throw e;
    }
  }

  /**
   * Several objects' codes at every level, keys and sizes, read in one MULTI so each object's
   * levels come from the same version (all keys of a shard share a hash tag, so this also works on
   * a cluster). A level of 0 bytes is not read (its entry is empty).
   */
  async readObjects(ids: number[], recordBytes: number[]): Promise<ObjectRecord[]> {
    if (!ids.length) return [];
    const tx = this.redis.multi();
    for (const id of ids) {
      recordBytes.forEach((rb, level) => {
        if (rb === 0) return;
        const { page, offset } = pageSlot(rb, id);
        tx.getrangeBuffer(this.keys.codes(level, page), offset, offset + rb - 1);
      });
      tx.lindexBuffer(this.keys.idBucket(Math.floor(id / ID_BUCKET_SIZE)), id % ID_BUCKET_SIZE);
      const { page, offset } = pageSlot(DIMS_BYTES, id);
      tx.getrangeBuffer(this.keys.dims(page), offset, offset + DIMS_BYTES - 1);
    }
    const replies = await tx.exec();
    if (!replies) throw new Error('MULTI reading object codes was aborted');
    let i = 0;
    const next = (): unknown => {
      const [err, value] = replies[i++];
      if (err) throw err;
      return value;
    };
    return ids.map(() => {
      const levels = recordBytes.map((rb) => (rb === 0 ? Buffer.alloc(0) : (next() as Buffer)));
      const key = keyOfEntry(next() as Buffer | null);
      const dims = next() as Buffer;
      const sized = dims.length === DIMS_BYTES;
      return { levels, key, width: sized ? dims.readUInt32BE(0) : 0, height: sized ? dims.readUInt32BE(4) : 0 };
    });
  }

  /**
   * Changes after `afterId`, waiting up to blockMs for the first one ([] on timeout); with
   * blockMs null it answers at once (for catching up).
   */
  async readChanges(afterId: string, blockMs: number | null, count: number): Promise<ChangeEvent[]> {
    const res =
      blockMs === null
        ? await this.tail.xread('COUNT', count, 'STREAMS', this.keys.changes, afterId)
        : await this.tail.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.keys.changes, afterId);
    if (!res) return [];
    const events: ChangeEvent[] = [];
    for (const [, entries] of res) {
      for (const [streamId, fields] of entries) {
        let op = '';
        let id = NaN;
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i] === 'op') op = fields[i + 1];
          else if (fields[i] === 'id') id = Number(fields[i + 1]);
        }
        if ((op === 'upsert' || op === 'delete') && Number.isInteger(id) && id >= 0) events.push({ streamId, op, id });
        else events.push({ streamId, op: 'upsert', id: -1 }); // unknown entry: keeps the position moving
      }
    }
    return events;
  }

  /** Closes the blocking connection, which also ends an XREAD in flight. */
  disconnectTail(): void {
    this.tail.disconnect();
  }
}

/** A dedicated connection like `redis`, for XREAD BLOCK (waits through outages instead of failing). */
export function duplicateForTail(redis: RedisClient, name: string): RedisClient {
  if (redis instanceof Cluster) return quietConnectionErrors(redis.duplicate());
  return quietConnectionErrors(redis.duplicate({ connectionName: name, maxRetriesPerRequest: null }));
}

/** The object key in an i2k entry (8-byte etag fingerprint + key), null for a missing or padding entry. */
function keyOfEntry(entry: Buffer | null): Buffer | null {
  return entry && entry.length > ETAG_FP_BYTES ? entry.subarray(ETAG_FP_BYTES) : null;
}
