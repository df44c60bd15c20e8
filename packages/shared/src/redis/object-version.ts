import type { RedisClient } from './redis-connection.ts';
import { IngestKeys } from './redis-keys.ts';

/**
 * Object versions: the order in which Loupe saw the versions of one object key, so the index never
 * goes back to an older one however late its jobs finish. A version is a non-negative integer
 * (below 2^53), larger = newer. Discovery stamps one per pass from the version clock below, under
 * its per-source lock, and every job made from what the pass saw (upserts and deletes) carries
 * it through ingest -> encode -> index; a rollout's backfill takes the same lock and a stamp of its
 * own. Passes never overlap, so two versions of one key always carry the order in which they were
 * listed, whatever the source (S3 or a folder) and whatever its clocks say.
 *
 * The indexer refuses, inside its Lua scripts, a write whose version is lower than the one it holds
 * for the key (an indexed object's, or a recent delete's). Jobs without a version (queued before
 * versions existed) count as UNVERSIONED, the oldest: accepted unless a versioned write is held.
 */
export const UNVERSIONED = 0;

/**
 * How long the indexer remembers the version of a deleted key (ShardKeys.deletedKey). It must
 * outlast any older job of that key still in flight: retries back off for seconds, and a backlog
 * is worked off in hours, so a week is ample; a deleted key costs about 200 bytes meanwhile
 * (measured with 40-byte keys). A job older than that would index its object again (the next
 * discovery pass does not see it).
 */
export const DELETED_KEY_TTL_MS = 7 * 24 * 3600_000;

/** Bytes of a version as the indexer stores it (big-endian unsigned integer). */
export const VERSION_BYTES = 8;

/** The version a job carries (UNVERSIONED when it has none). */
export function versionOf(job: { version?: number }): number {
  return job.version ?? UNVERSIONED;
}

/** A version as 8 big-endian bytes, the form the indexer's Lua reads and stores. */
export function encodeVersion(version: number): Buffer {
  if (!Number.isSafeInteger(version) || version < 0) throw new RangeError(`object version must be an integer in [0, 2^53), got ${version}`);
  const b = Buffer.alloc(VERSION_BYTES);
  b.writeBigUInt64BE(BigInt(version));
  return b;
}

/** Inverse of encodeVersion; fewer than 8 bytes (a slot never written) is UNVERSIONED. */
export function decodeVersion(bytes: Uint8Array): number {
  if (bytes.length < VERSION_BYTES) return UNVERSIONED;
  const v = Buffer.from(bytes.buffer, bytes.byteOffset, VERSION_BYTES).readBigUInt64BE();
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`stored object version ${v} is past 2^53`);
  return Number(v);
}

// A hybrid clock: the Redis server's time in ms, but always past the last stamp, so it never
// repeats or goes back (clock steps, several stamps in one ms). Being time-based, it also stays
// ahead of the versions an index holds when the counter key itself was lost or reset.
const NEXT_VERSION_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = math.max(last + 1, now)
redis.call('SET', KEYS[1], string.format('%d', v))
return v`;

/**
 * Hands out object versions (see above). One clock for every source, so a changed LOUPE_SOURCE
 * keeps counting upwards over what the index already holds.
 */
export class ObjectVersionClock {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    keys = new IngestKeys(),
  ) {
    this.key = keys.versionClock;
  }

  /** A version newer than every one handed out before. */
  async next(): Promise<number> {
    return Number(await this.redis.eval(NEXT_VERSION_LUA, 1, this.key));
  }
}
