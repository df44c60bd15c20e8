import {
  codeBytes,
  levelSizes,
  lookupObjectId,
  pageSlot,
  shardOf,
  ShardKeys,
  type IndexLayout,
  type RedisClient,
} from '@loupe/shared';

/** Reads stored codes of one indexed object (for queries by key). */
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
    const bytes = codeBytes(this.layout);
    return Promise.all(
      levelSizes(this.layout).map(async (n, level) => {
        const { page, offset } = pageSlot(n * bytes, id);
        const buf = await this.redis.getrangeBuffer(keys.codes(level, page), offset, offset + n * bytes - 1);
        return new Uint8Array(buf);
      }),
    );
  }
}
