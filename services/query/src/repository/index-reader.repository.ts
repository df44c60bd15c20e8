import {
  levelCodeBytes,
  levelSizes,
  lookupObjectId,
  pageSlot,
  shardOf,
  ShardKeys,
  type IndexLayout,
  type RedisClient,
} from '@loupe/shared';

/** Reads stored codes of indexed objects (queries by key, cell codes of candidates). */
export class IndexReaderRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly layout: IndexLayout,
  ) {}

  /** The object's codes per level (views concatenated), or null when the key is not indexed. */
  async codesOf(key: string): Promise<Uint8Array[] | null> {
    const keys = new ShardKeys(shardOf(key, this.layout.shards), this.layout.namespace);
    const id = await lookupObjectId(this.redis, keys, key);
    if (id === null) return null;
    return Promise.all(
      levelSizes(this.layout).map(async (n, level) => {
        const bytes = n * levelCodeBytes(this.layout, level);
        const { page, offset } = pageSlot(bytes, id);
        const buf = await this.redis.getrangeBuffer(keys.codes(level, page), offset, offset + bytes - 1);
        return new Uint8Array(buf);
      }),
    );
  }

  /** The codes of `level` of each (shard, id), in one round trip; undefined where none are stored. */
  async levelCodesOf(objects: { shard: number; id: number }[], level: number): Promise<(Uint8Array | undefined)[]> {
    if (!objects.length) return [];
    const bytes = levelSizes(this.layout)[level] * levelCodeBytes(this.layout, level);
    const p = this.redis.pipeline();
    for (const { shard, id } of objects) {
      const { page, offset } = pageSlot(bytes, id);
      p.getrangeBuffer(new ShardKeys(shard, this.layout.namespace).codes(level, page), offset, offset + bytes - 1);
    }
    const replies = (await p.exec()) ?? [];
    return replies.map(([err, buf]) => (!err && (buf as Buffer).length === bytes ? new Uint8Array(buf as Buffer) : undefined));
  }
}
