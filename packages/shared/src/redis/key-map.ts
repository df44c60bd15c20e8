import { createHash } from 'node:crypto';
import { ID_BUCKET_SIZE, ShardKeys } from './redis-keys.ts';
import type { RedisClient } from './redis-connection.ts';

/**
 * A shard's key <-> id maps (layout in ShardKeys). Fingerprints are computed by the client (8
 * bytes of SHA-1) and handed to the Lua, which cannot hash cheaply.
 */
export function keyFingerprint(key: string): Buffer {
  return createHash('sha1').update(key).digest().subarray(0, 8);
}

/** Stands for the etag in the id -> key list: "unchanged" needs equality only. */
export function etagFingerprint(etag: string): Buffer {
  return createHash('sha1').update(etag).digest().subarray(0, 8);
}

/** Keys per key-map bucket (on average) before linear hashing splits one; < 128 keeps listpacks. */
export const KEY_BUCKET_LOAD = 48;

/**
 * Lua functions over one shard's key maps, shared by the indexer's scripts and the lookup
 * script, so both address buckets the same way. Expects `TAG` (the shard's hash-tagged prefix).
 * Every key it builds carries the tag, so with Redis Cluster they share the script's slot.
 */
export const KEY_MAP_LUA = `
local LOAD = ${KEY_BUCKET_LOAD}
local IDB = ${ID_BUCKET_SIZE}
local function u32(fp)
  local a, b, c, d = string.byte(fp, 1, 4)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local function mapState()
  local s = redis.call('HMGET', TAG .. ':k2is', 'L', 'P', 'n')
  return tonumber(s[1] or 0), tonumber(s[2] or 0), tonumber(s[3] or 0)
end
local function bucketName(fp, L, P)
  local n = 2 ^ L
  local a = u32(fp) % n
  if a < P then a = u32(fp) % (2 * n) end
  return TAG .. ':k2i:' .. a
end
local function idEntry(id)
  return TAG .. ':i2k:' .. math.floor(id / IDB), id % IDB
end
-- etag fingerprint and key stored for id, or nil
local function entryOf(id)
  local list, at = idEntry(id)
  local v = redis.call('LINDEX', list, at)
  if not v or #v < 8 then return nil, nil end
  return string.sub(v, 1, 8), string.sub(v, 9)
end
-- id of key (or nil), and whether it sits in the collision hash; 'taken' when fp is another key's
local function lookup(key, fp)
  local x = redis.call('HGET', TAG .. ':k2ix', key)
  if x then return tonumber(x), true end
  local L, P = mapState()
  local id = redis.call('HGET', bucketName(fp, L, P), fp)
  if not id then return nil, false end
  id = tonumber(id)
  local _, k = entryOf(id)
  if k == key then return id, false end
  return nil, 'taken'
end
local function splitNext(L, P)
  local src = TAG .. ':k2i:' .. P
  local entries = redis.call('HGETALL', src)
  redis.call('DEL', src)
  local n2 = 2 ^ (L + 1)
  for i = 1, #entries, 2 do
    redis.call('HSET', TAG .. ':k2i:' .. (u32(entries[i]) % n2), entries[i], entries[i + 1])
  end
  P = P + 1
  if P == 2 ^ L then L, P = L + 1, 0 end
  return L, P
end
-- maps key -> id (a new key: lookup returned nil; taken: its fingerprint is another key's)
local function mapKey(key, fp, id, taken)
  if taken == 'taken' then
    redis.call('HSET', TAG .. ':k2ix', key, id)
    return
  end
  local L, P, n = mapState()
  redis.call('HSET', bucketName(fp, L, P), fp, id)
  n = n + 1
  if n > LOAD * (2 ^ L + P) then L, P = splitNext(L, P) end
  redis.call('HSET', TAG .. ':k2is', 'L', L, 'P', P, 'n', n)
end
local function unmapKey(key, fp, collided)
  if collided then
    redis.call('HDEL', TAG .. ':k2ix', key)
    return
  end
  local L, P = mapState()
  redis.call('HDEL', bucketName(fp, L, P), fp)
  redis.call('HINCRBY', TAG .. ':k2is', 'n', -1)
end
-- stores id -> (etag fingerprint, key); ids are dense, so a new id is appended to its list
local function setEntry(id, etagFp, key)
  local list, at = idEntry(id)
  local len = redis.call('LLEN', list)
  -- (a script that failed half-way could have left a gap: pad it, never shift ids)
  while len < at do
    redis.call('RPUSH', list, '')
    len = len + 1
  end
  if len == at then redis.call('RPUSH', list, etagFp .. key)
  else redis.call('LSET', list, at, etagFp .. key) end
end
`;

/** KEYS[1]: key map state (for the slot); ARGV: 1 tag, 2 key, 3 key fingerprint. Returns the id or nil. */
const LOOKUP_SCRIPT = `local TAG = ARGV[1]
${KEY_MAP_LUA}
local id = lookup(ARGV[2], ARGV[3])
if type(id) == 'number' then return id end
return false`;

/** The id of `key` in shard `keys`, or null when it is not indexed. One round trip, atomic. */
export async function lookupObjectId(redis: RedisClient, keys: ShardKeys, key: string): Promise<number | null> {
  const id = (await redis.eval(LOOKUP_SCRIPT, 1, keys.keyMapState, keys.tag, key, keyFingerprint(key))) as number | null;
  return id === null ? null : Number(id);
}

/** Object keys of ids (null for an id with no entry), read with one pipelined LINDEX per id. */
export async function objectKeysOf(redis: RedisClient, keys: ShardKeys, ids: number[]): Promise<(string | null)[]> {
  if (!ids.length) return [];
  const p = redis.pipeline();
  for (const id of ids) p.lindexBuffer(keys.idBucket(Math.floor(id / ID_BUCKET_SIZE)), id % ID_BUCKET_SIZE);
  const replies = (await p.exec()) ?? [];
  return ids.map((_, i) => {
    const [err, v] = replies[i] ?? [new Error('pipeline aborted'), null];
    if (err) throw err;
    const buf = v as Buffer | null;
    return buf && buf.length > 8 ? buf.subarray(8).toString('utf8') : null;
  });
}
