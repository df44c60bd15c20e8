-- Writes one object version into its shard atomically and idempotently.
-- (Prepended by the key-map functions of @loupe/shared KEY_MAP_LUA, which use TAG.)
-- KEYS: 1 key-map state, 2 nextId, 3 tombstones, 4 counters, 5 changes (all of the shard's slot;
--       the pages, buckets and lists it also touches carry the same hash tag)
-- ARGV: 1 tag, 2 key, 3 key fingerprint, 4 etag fingerprint, 5 dims (8 bytes), 6 stream max length,
--       7 page bytes, 8.. packed codes of each level
-- Returns {id, outcome} with outcome 'created' | 'replaced' | 'unchanged'.
local key, keyFp, etagFp = ARGV[2], ARGV[3], ARGV[4]
local PAGE = tonumber(ARGV[7])

-- A page is created at its full length in one SETRANGE (an exact allocation), then written in place.
local function writePaged(name, id, bytes)
  local per = math.max(1, math.floor(PAGE / #bytes))
  local page = name .. ':' .. math.floor(id / per)
  if redis.call('EXISTS', page) == 0 then
    redis.call('SETRANGE', page, per * #bytes - 1, '\0')
  end
  redis.call('SETRANGE', page, (id % per) * #bytes, bytes)
end

local id, where = lookup(key, keyFp)
local outcome
if id then
  local storedEtag = entryOf(id)
  if storedEtag == etagFp then
    return {id, 'unchanged'}
  end
  outcome = 'replaced'
else
  id = redis.call('INCR', KEYS[2]) - 1
  mapKey(key, keyFp, id, where)
  outcome = 'created'
end
setEntry(id, etagFp, key)
writePaged(TAG .. ':dims', id, ARGV[5])
for level = 0, #ARGV - 8 do
  writePaged(TAG .. ':codes:' .. level, id, ARGV[8 + level])
end
redis.call('HINCRBY', KEYS[4], outcome, 1)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'op', 'upsert', 'id', id)
return {id, outcome}
