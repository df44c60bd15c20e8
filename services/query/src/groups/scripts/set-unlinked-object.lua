-- Sets an object's info (ARGV[2], JSON), or deletes it (ARGV[2] empty), when the object is linked to
-- nothing: no stored matches, in no group. Then no group changes, so the upkeep skips its
-- read-plan-write round. Bumps the epoch like every change, so a concurrent round retries.
-- KEYS: objects, edges, member, epoch (GroupKeys). ARGV[1]: the object key. Returns 1 when done, 0 when linked.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return 0
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('INCR', KEYS[4])
return 1
