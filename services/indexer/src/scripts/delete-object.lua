-- Tombstones an object: its id stays allocated (codes stay in place, skipped by searchers).
-- KEYS: 1 keyToId, 2 idToKey, 3 etags, 4 tombstones, 5 counters, 6 changes
-- ARGV: 1 key, 2 stream max length
-- Returns the deleted id, or -1 when the key is not indexed (a retried delete is a no-op).
local key = ARGV[1]
local id = redis.call('HGET', KEYS[1], key)
if not id then return -1 end
id = tonumber(id)
redis.call('HDEL', KEYS[1], key)
redis.call('HDEL', KEYS[3], key)
redis.call('SETBIT', KEYS[4], id, 1)
redis.call('HINCRBY', KEYS[5], 'deleted', 1)
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[2], '*', 'op', 'delete', 'id', id)
return id
