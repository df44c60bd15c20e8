import {
  decodeVersion,
  etagFingerprint,
  ID_BUCKET_SIZE,
  lookupObjectId,
  pageSlot,
  ShardKeys,
  shardOf,
  type RedisClient,
} from '@loupe/shared';

/** What one index generation holds for a key, read straight from its Redis keys. */
export interface HeldObject {
  id: number;
  /** 8-byte etag fingerprint stored for the id (compare with etagFingerprint). */
  etagFp: Buffer;
  version: number;
}

/** The indexed object of `key` in generation `namespace` (`shards` shards), or null when not indexed. */
export async function heldObject(redis: RedisClient, namespace: string, shards: number, key: string): Promise<HeldObject | null> {
  const sk = new ShardKeys(shardOf(key, shards), namespace);
  const id = await lookupObjectId(redis, sk, key);
  if (id === null) return null;
  const entry = await redis.lindexBuffer(sk.idBucket(Math.floor(id / ID_BUCKET_SIZE)), id % ID_BUCKET_SIZE);
  const { page, offset } = pageSlot(8, id);
  const version = decodeVersion(await redis.getrangeBuffer(sk.versions(page), offset, offset + 7));
  return { id, etagFp: entry!.subarray(0, 8), version };
}

/** Whether `held` is the version of `etag` at `version`. */
export function holds(held: HeldObject | null, etag: string, version: number): boolean {
  return held !== null && held.etagFp.equals(etagFingerprint(etag)) && held.version === version;
}
