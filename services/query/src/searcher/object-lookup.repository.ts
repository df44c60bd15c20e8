import { ShardKeys, objectKeysOf, pageSlot, type RedisClient } from '@loupe/shared';

export interface ObjectInfo {
  /** Null when the id has no key (should not happen for an id the indexer wrote). */
  key: string | null;
  width: number;
  height: number;
}

/** Resolves a shard's dense ids to object keys and source sizes (id -> key lists, dims pages). */
export class ObjectLookupRepository {
  constructor(
    private readonly redis: RedisClient,
    /** Index generation (ShardKeys namespace); the default one when absent. */
    private readonly namespace?: string,
  ) {}

  async lookup(shard: number, ids: number[]): Promise<ObjectInfo[]> {
    if (!ids.length) return [];
    const keys = new ShardKeys(shard, this.namespace);
    // Every key carries the shard's hash tag, so on a cluster each pipeline goes to one node.
    const p = this.redis.pipeline();
    for (const id of ids) {
      const { page, offset } = pageSlot(8, id);
      p.getrangeBuffer(keys.dims(page), offset, offset + 7);
    }
    const [names, replies] = await Promise.all([objectKeysOf(this.redis, keys, ids), p.exec()]);
    if (!replies) throw new Error('pipeline aborted');
    for (const [err] of replies) if (err) throw err;
    return ids.map((_, i) => {
      const dims = replies[i][1] as Buffer;
      return {
        key: names[i],
        width: dims.length === 8 ? dims.readUInt32BE(0) : 0,
        height: dims.length === 8 ? dims.readUInt32BE(4) : 0,
      };
    });
  }
}
