-- Writes one object version into its shard atomically and idempotently.
-- KEYS: 1 keyToId, 2 idToKey, 3 etags, 4 nextId, 5 tombstones, 6 dims, 7 counters, 8 changes,
--       9.. codes of each level
-- ARGV: 1 key, 2 etag, 3 dims (8 bytes), 4 stream max length, 5.. packed codes of each level
-- Returns {id, outcome} with outcome 'created' | 'replaced' | 'unchanged'.
local key, etag = ARGV[1], ARGV[2]
local id = redis.call('HGET', KEYS[1], key)
local outcome
if id then
  if redis.call('HGET', KEYS[3], key) == etag then
    return {tonumber(id), 'unchanged'}
  end
  outcome = 'replaced'
  id = tonumber(id)
else
  id = redis.call('INCR', KEYS[4]) - 1
  redis.call('HSET', KEYS[1], key, id)
  redis.call('HSET', KEYS[2], id, key)
  outcome = 'created'
end
redis.call('HSET', KEYS[3], key, etag)
redis.call('SETRANGE', KEYS[6], id * 8, ARGV[3])
for level = 0, #KEYS - 9 do
  local codes = ARGV[5 + level]
  redis.call('SETRANGE', KEYS[9 + level], id * #codes, codes)
end
redis.call('HINCRBY', KEYS[7], outcome, 1)
redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[4], '*', 'op', 'upsert', 'id', id)
return {id, outcome}
