-- Writes one object version into its shard atomically and idempotently, unless the shard holds a
-- newer version of the key (indexed, or deleted recently): then nothing is written.
-- (Prepended by KEY_MAP_LUA of @loupe/shared and object-versions.lua, which use TAG and PAGE.)
-- KEYS: 1 key-map state, 2 nextId, 3 tombstones, 4 counters, 5 changes (all of the shard's slot;
--       the pages, buckets and lists it also touches carry the same hash tag)
-- ARGV: 1 tag, 2 key, 3 key fingerprint, 4 etag fingerprint, 5 dims (8 bytes), 6 stream max length,
--       7 version (8 bytes), 8.. packed codes of each level
-- Returns {id, outcome} with outcome 'created' | 'replaced' | 'unchanged', or {id, 'stale', held
-- version} (id -1 when the key is not indexed but was deleted by a newer version).
local key, keyFp, etagFp, version = ARGV[2], ARGV[3], ARGV[4], ARGV[7]
local incoming = decodeVersion(version)

-- A page is created at its full length in one SETRANGE (an exact allocation), then written in place.
local function writePaged(name, id, bytes)
  local per = math.max(1, math.floor(PAGE / #bytes))
  local page = name .. ':' .. math.floor(id / per)
  if redis.call('EXISTS', page) == 0 then
    redis.call('SETRANGE', page, per * #bytes - 1, '\0')
  end
  redis.call('SETRANGE', page, (id % per) * #bytes, bytes)
end

local function refuse(id, held)
  redis.call('HINCRBY', KEYS[4], 'stale', 1)
  return {id, 'stale', held}
end

local id, where = lookup(key, keyFp)
local outcome
if id then
  local held = heldVersion(id)
  if incoming < held then return refuse(id, held) end
  local storedEtag = entryOf(id)
  if storedEtag == etagFp then
    -- The same bytes seen again later (A -> B -> A): a late B must now lose to this A.
    if incoming > held then writePaged(TAG .. ':ver', id, version) end
    return {id, 'unchanged'}
  end
  outcome = 'replaced'
else
  local gone = deletedKey(key)
  local deleted = decodeVersion(redis.call('GET', gone))
  if incoming < deleted then return refuse(-1, deleted) end
  if deleted > 0 then redis.call('DEL', gone) end
  id = redis.call('INCR', KEYS[2]) - 1
  mapKey(key, keyFp, id, where)
  outcome = 'created'
end
setEntry(id, etagFp, key)
writePaged(TAG .. ':dims', id, ARGV[5])
writePaged(TAG .. ':ver', id, version)
for level = 0, #ARGV - 8 do
  writePaged(TAG .. ':codes:' .. level, id, ARGV[8 + level])
end
redis.call('HINCRBY', KEYS[4], outcome, 1)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'op', 'upsert', 'id', id)
return {id, outcome}
