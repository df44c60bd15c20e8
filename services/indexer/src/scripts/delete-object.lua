-- Tombstones an object: its id stays allocated (codes and its id -> key entry stay in place,
-- skipped by searchers); the key -> id mapping goes, so a re-added key gets a new id.
-- (Prepended by the key-map functions of @loupe/shared KEY_MAP_LUA, which use TAG.)
-- KEYS: 1 key-map state, 2 tombstones, 3 counters, 4 changes
-- ARGV: 1 tag, 2 key, 3 key fingerprint, 4 stream max length
-- Returns the deleted id, or -1 when the key is not indexed (a retried delete is a no-op).
local key, keyFp = ARGV[2], ARGV[3]
local id, where = lookup(key, keyFp)
if not id then return -1 end
unmapKey(key, keyFp, where == true)
redis.call('SETBIT', KEYS[2], id, 1)
redis.call('HINCRBY', KEYS[3], 'deleted', 1)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'op', 'delete', 'id', id)
return id
