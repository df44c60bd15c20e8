import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import { KEY_MAP_LUA, PAGE_BYTES, etagFingerprint, keyFingerprint, lookupObjectId, type RedisClient, type ShardKeys } from '@loupe/shared';

/** A script of ./scripts with the shared key-map functions in front (TAG is ARGV[1] in both). */
const script = (name: string) => `local TAG = ARGV[1]\n${KEY_MAP_LUA}\n${readFileSync(new URL(`../scripts/${name}.lua`, import.meta.url), 'utf8')}`;
const INDEX_OBJECT = script('index-object');
const DELETE_OBJECT = script('delete-object');

/**
 * Bound on each shard's change stream (~29 bytes an entry, so ~0.3 MB a shard). It only has to
 * cover a searcher's reconnect; one that falls further behind reloads its shard (a few seconds
 * at millions of objects) instead of Redis holding every change ever made.
 */
export const CHANGE_STREAM_MAXLEN = 10_000;

export type UpsertOutcome = 'created' | 'replaced' | 'unchanged';

export interface ShardObject {
  key: string;
  etag: string;
  width: number;
  height: number;
  /** Per level: the codes of all the level's views, concatenated in view order. */
  levels: Uint8Array[];
}

type EvalArgs = [string, number, ...(string | Buffer)[]];

/** Wraps one shard's keys in Redis; every write is one Lua script, so it is atomic. */
export class ShardRepository {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: ShardKeys,
  ) {}

  async upsert(obj: ShardObject): Promise<{ id: number; outcome: UpsertOutcome }> {
    const [id, outcome] = (await this.redis.eval(...this.upsertArgs(obj))) as [number, UpsertOutcome];
    return { id, outcome };
  }

  /** Queues the same atomic upsert into a MULTI or pipeline (several objects in one transaction). */
  upsertIn(batch: ChainableCommander, obj: ShardObject): ChainableCommander {
    return batch.eval(...this.upsertArgs(obj));
  }

  async remove(key: string): Promise<number | null> {
    const id = (await this.redis.eval(...this.removeArgs(key))) as number;
    return id < 0 ? null : id;
  }

  removeIn(batch: ChainableCommander, key: string): ChainableCommander {
    return batch.eval(...this.removeArgs(key));
  }

  /** The id of an indexed key, or null. */
  async idOf(key: string): Promise<number | null> {
    return lookupObjectId(this.redis, this.keys, key);
  }

  async counters(): Promise<{ created: number; replaced: number; deleted: number; ids: number }> {
    const [h, next] = await Promise.all([this.redis.hgetall(this.keys.counters), this.redis.get(this.keys.nextId)]);
    return {
      created: Number(h.created ?? 0),
      replaced: Number(h.replaced ?? 0),
      deleted: Number(h.deleted ?? 0),
      ids: Number(next ?? 0),
    };
  }

  private removeArgs(key: string): EvalArgs {
    const k = this.keys;
    const keys = [k.keyMapState, k.tombstones, k.counters, k.changes];
    return [DELETE_OBJECT, keys.length, ...keys, k.tag, key, keyFingerprint(key), String(CHANGE_STREAM_MAXLEN)];
  }

  private upsertArgs(obj: ShardObject): EvalArgs {
    const k = this.keys;
    const dims = Buffer.alloc(8);
    dims.writeUInt32BE(obj.width, 0);
    dims.writeUInt32BE(obj.height, 4);
    const keys = [k.keyMapState, k.nextId, k.tombstones, k.counters, k.changes];
    return [INDEX_OBJECT, keys.length, ...keys, k.tag, obj.key, keyFingerprint(obj.key), etagFingerprint(obj.etag), dims,
      String(CHANGE_STREAM_MAXLEN), String(PAGE_BYTES), ...obj.levels.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))];
  }
}
