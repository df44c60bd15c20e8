-- Tombstones an object: its id stays allocated (codes and its id -> key entry stay in place,
-- skipped by searchers); the key -> id mapping goes, so a re-added key gets a new id. A delete
-- older than the indexed version is refused; an accepted one (or one of a key not indexed here,
-- which a late older upsert could still create) is remembered with its version for TTL ms.
-- (Prepended by KEY_MAP_LUA of @loupe/shared and object-versions.lua, which use TAG and PAGE.)
-- KEYS: 1 key-map state, 2 tombstones, 3 counters, 4 changes
-- ARGV: 1 tag, 2 key, 3 key fingerprint, 4 stream max length, 5 version (8 bytes),
--       6 TTL (ms) of the deleted-key record
-- Returns {id, 'deleted'}, {-1, 'absent'} when the key is not indexed (a retried delete is a
-- no-op) or {id, 'stale', held version}.
local key, keyFp, version = ARGV[2], ARGV[3], ARGV[5]
local incoming = decodeVersion(version)

-- Unversioned deletes (0) need no record: nothing is older.
local function remember()
  if incoming == 0 then return end
  local gone = deletedKey(key)
  if decodeVersion(redis.call('GET', gone)) < incoming then
    redis.call('SET', gone, version, 'PX', ARGV[6])
  end
end

local id, where = lookup(key, keyFp)
if not id then
  remember()
  return {-1, 'absent'}
end
local held = heldVersion(id)
if incoming < held then
  redis.call('HINCRBY', KEYS[3], 'stale', 1)
  return {id, 'stale', held}
end
unmapKey(key, keyFp, where == true)
redis.call('SETBIT', KEYS[2], id, 1)
redis.call('HINCRBY', KEYS[3], 'deleted', 1)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'op', 'delete', 'id', id)
remember()
return {id, 'deleted'}
