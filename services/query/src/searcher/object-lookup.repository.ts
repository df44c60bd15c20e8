import { ShardKeys, type RedisClient } from '@loupe/shared';

export interface ObjectInfo {
  /** Null when the id has no key (should not happen for an id the indexer wrote). */
  key: string | null;
  width: number;
  height: number;
}

/** Resolves a shard's dense ids to object keys and source sizes (idToKey hash, dims string). */
export class ObjectLookupRepository {
  constructor(private readonly redis: RedisClient) {}

  async lookup(shard: number, ids: number[]): Promise<ObjectInfo[]> {
    if (!ids.length) return [];
    const keys = new ShardKeys(shard);
    // One pipeline per shard: every key carries the shard's hash tag, so it is one slot on a cluster.
    const p = this.redis.pipeline();
    p.hmget(keys.idToKey, ...ids.map(String));
    for (const id of ids) p.getrangeBuffer(keys.dims, id * 8, id * 8 + 7);
    const replies = await p.exec();
    if (!replies) throw new Error('pipeline aborted');
    for (const [err] of replies) if (err) throw err;
    const names = replies[0][1] as (string | null)[];
    return ids.map((_, i) => {
      const dims = replies[i + 1][1] as Buffer;
      return {
        key: names[i],
        width: dims.length === 8 ? dims.readUInt32BE(0) : 0,
        height: dims.length === 8 ? dims.readUInt32BE(4) : 0,
      };
    });
  }
}
