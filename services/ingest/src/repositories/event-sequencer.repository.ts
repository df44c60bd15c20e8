import { IngestKeys, type RedisClient } from '@loupe/shared';

/**
 * The sequencer of the last S3 event applied per object key of a source (a Redis hash), so that a
 * redelivered or late event can be recognised. Entries outlive deletions on purpose: a late
 * creation event of a deleted key must still be seen to be older.
 */
export class EventSequencerRepository {
  private readonly hashKey: string;

  constructor(
    private readonly redis: RedisClient,
    sourceUrl: string,
    keys = new IngestKeys(),
  ) {
    this.hashKey = keys.sequencers(sourceUrl);
  }

  async get(key: string): Promise<string | null> {
    return this.redis.hget(this.hashKey, key);
  }

  async set(key: string, sequencer: string): Promise<void> {
    await this.redis.hset(this.hashKey, key, sequencer);
  }
}
