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

  /** The object's global (level-0) code, or null when the key is not indexed. */
  async globalCodeOf(key: string): Promise<Uint8Array | null> {
    const shard = shardOf(key, this.layout.shards);
    const id = await this.idOf(shard, key);
    if (id === null) return null;
    return new Uint8Array(await this.redis.getrangeBuffer(...this.range(shard, id, 0)));
  }

  /** The object's codes at each of `levels` (all its views there), or null when the key is not indexed. */
  async codesOf(key: string, levels: number[]): Promise<Uint8Array[] | null> {
    const shard = shardOf(key, this.layout.shards);
    const id = await this.idOf(shard, key);
    if (id === null) return null;
    const codes = await Promise.all(levels.map((level) => this.levelCodesOf([{ shard, id }], level)));
    return codes.some((c) => !c[0]) ? null : codes.map((c) => c[0]!);
  }

  /** Whether the key is indexed (live in its shard's key map). */
  async has(key: string): Promise<boolean> {
    return (await this.idOf(shardOf(key, this.layout.shards), key)) !== null;
  }

  private idOf(shard: number, key: string): Promise<number | null> {
    return lookupObjectId(this.redis, new ShardKeys(shard, this.layout.namespace), key);
  }

  /** The codes of `level` of each (shard, id), in one round trip; undefined where none are stored. */
  async levelCodesOf(objects: { shard: number; id: number }[], level: number): Promise<(Uint8Array | undefined)[]> {
    if (!objects.length) return [];
    const p = this.redis.pipeline();
    for (const { shard, id } of objects) p.getrangeBuffer(...this.range(shard, id, level));
    const bytes = this.objectBytes(level);
    return ((await p.exec()) ?? []).map(([err, buf]) => (!err && (buf as Buffer).length === bytes ? new Uint8Array(buf as Buffer) : undefined));
  }

  /** Bytes of one object's codes at `level`. */
  private objectBytes(level: number): number {
    return levelSizes(this.layout)[level] * levelCodeBytes(this.layout, level);
  }

  /** GETRANGE arguments of object `id`'s codes at `level` (key, first byte, last byte). */
  private range(shard: number, id: number, level: number): [string, number, number] {
    const bytes = this.objectBytes(level);
    const { page, offset } = pageSlot(bytes, id);
    return [new ShardKeys(shard, this.layout.namespace).codes(level, page), offset, offset + bytes - 1];
  }
}
