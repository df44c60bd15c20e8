import { readFileSync } from 'node:fs';
import type { RedisClient, ShardKeys } from '@loupe/shared';

const script = (name: string) => readFileSync(new URL(`../scripts/${name}.lua`, import.meta.url), 'utf8');
const INDEX_OBJECT = script('index-object');
const DELETE_OBJECT = script('delete-object');

/** Bound on each shard's change stream; searchers that fall further behind reload. */
export const CHANGE_STREAM_MAXLEN = 1_000_000;

export type UpsertOutcome = 'created' | 'replaced' | 'unchanged';

export interface ShardObject {
  key: string;
  etag: string;
  width: number;
  height: number;
  /** Per level: the codes of all the level's views, concatenated in view order. */
  levels: Uint8Array[];
}

/** Wraps one shard's keys in Redis; every write is one Lua script, so it is atomic. */
export class ShardRepository {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: ShardKeys,
  ) {}

  async upsert(obj: ShardObject): Promise<{ id: number; outcome: UpsertOutcome }> {
    const k = this.keys;
    const dims = Buffer.alloc(8);
    dims.writeUInt32BE(obj.width, 0);
    dims.writeUInt32BE(obj.height, 4);
    const keys = [k.keyToId, k.idToKey, k.etags, k.nextId, k.tombstones, k.dims, k.counters, k.changes,
      ...obj.levels.map((_, level) => k.codes(level))];
    const args: (string | Buffer)[] = [obj.key, obj.etag, dims, String(CHANGE_STREAM_MAXLEN),
      ...obj.levels.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))];
    const [id, outcome] = (await this.redis.eval(INDEX_OBJECT, keys.length, ...keys, ...args)) as [number, UpsertOutcome];
    return { id, outcome };
  }

  async remove(key: string): Promise<number | null> {
    const k = this.keys;
    const keys = [k.keyToId, k.idToKey, k.etags, k.tombstones, k.counters, k.changes];
    const id = (await this.redis.eval(DELETE_OBJECT, keys.length, ...keys, key, String(CHANGE_STREAM_MAXLEN))) as number;
    return id < 0 ? null : id;
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

  async etagOf(key: string): Promise<string | null> {
    return this.redis.hget(this.keys.etags, key);
  }
}
