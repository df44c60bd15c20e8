import { IngestKeys, type RedisClient } from '@loupe/shared';

// Takes the lock when it is free and the turn is not reserved for another token. Otherwise, when
// the caller may reserve (ARGV[3] > 0) and the lock is held by a short holder (a token starting
// "short:") with no other reservation, the caller reserves the next turn for ARGV[3] ms.
// Returns {1, ''} when taken, else {0, the token holding the lock or, when it is free, the turn}.
const ACQUIRE = `
local held = redis.call('GET', KEYS[1])
local turn = redis.call('GET', KEYS[2])
if not held and (not turn or turn == ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  if turn then redis.call('DEL', KEYS[2]) end
  return {1, ''}
end
if tonumber(ARGV[3]) > 0 and held and string.sub(held, 1, 6) == 'short:' and (not turn or turn == ARGV[1]) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
end
return {0, held or turn}`;
// Compare-and-delete / compare-and-expire: only the holder's token may release or extend.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

export type LockAttempt = { taken: true } | { taken: false; holder: string };

/**
 * The lock of one source in Redis (IngestKeys.discoveryLock), with a reservable next turn
 * (IngestKeys.discoveryLockTurn). Both keys share the {ingest} hash tag, so the script runs on a
 * cluster too.
 */
export class SourceLockRepository {
  private readonly lockKey: string;
  private readonly turnKey: string;

  constructor(
    private readonly redis: RedisClient,
    sourceUrl: string,
    keys = new IngestKeys(),
  ) {
    this.lockKey = keys.discoveryLock(sourceUrl);
    this.turnKey = keys.discoveryLockTurn(sourceUrl);
  }

  /** Takes the lock for `ttlMs`; with `reserveMs` > 0, reserves the next turn as described above. */
  async acquire(token: string, ttlMs: number, reserveMs = 0): Promise<LockAttempt> {
    const [taken, holder] = (await this.redis.eval(ACQUIRE, 2, this.lockKey, this.turnKey, token, ttlMs, reserveMs)) as [number, string];
    return taken === 1 ? { taken: true } : { taken: false, holder };
  }

  async extend(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(EXTEND, 1, this.lockKey, token, ttlMs)) === 1;
  }

  async release(token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.lockKey, token);
  }
}
