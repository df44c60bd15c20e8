import type { Queue } from 'bullmq';
import {
  DeadLetterRepository,
  isRedisConnectionError,
  liveEncoders,
  liveObjectCount,
  PENDING_JOB_STATES,
  pendingJobs,
  QueueNames,
  readLiveLayouts,
  readShardCounters,
  readFfmpegReport,
  readSourceState,
  RedisUnavailableError,
  type RedisClient,
  type SourceState,
  type StoredIndexLayout,
} from '@loupe/shared';
import type { RedisStatus } from './query.service.ts';

export interface StatsResponse {
  indexed: number;
  pending: number;
  failed: number;
  deleted: number;
  model: string;
  bits: number;
  /** Index generation served (its key namespace). */
  generation: string;
  /** A model rollout re-encoding the index into the next generation, or null. */
  rollout: { generation: string; model: string; bits: number; indexed: number } | null;
  /** Per shard; `stale`: writes the indexer refused as older than the version it held. */
  shards: { shard: number; live: number; deleted: number; replaced: number; stale: number; ids: number }[];
  /** Inference runtimes: the query service's encoding threads', and how many live encoders run on each. */
  runtime: { query: string; encoders: Record<string, number>; ffmpeg: string };
  queues: Record<string, Record<string, number>>;
  /** Reading LOUPE_SOURCE as ingest last reported it ('unknown' before it did). */
  source: { url: string; state: SourceState['state'] | 'unknown'; since: string | null; lastError: string | null };
}

/** Index counters from the shards plus pipeline counters from the queues, all read from Redis. */
export class StatsService {
  constructor(
    private readonly layout: StoredIndexLayout,
    private readonly queues: Queue[],
    private readonly redis: RedisClient,
    private readonly redisStatus: RedisStatus,
    /** The runtime this query service encodes image queries on. */
    private readonly queryRuntime: string,
    /** LOUPE_SOURCE's url (ObjectSource.url), under which ingest reports its state. */
    private readonly sourceUrl: string,
  ) {}

  /** RedisUnavailableError while Redis is unreachable (the counters live there). */
  async stats(): Promise<StatsResponse> {
    this.redisStatus.require('stats');
    try {
      return await this.read();
    } catch (e) {
      if (isRedisConnectionError(e)) throw new RedisUnavailableError('stats');
      throw e;
    }
  }

  private async read(): Promise<StatsResponse> {
    const [counters, queueCounts, rollout, encoders, source, failed, ffmpeg] = await Promise.all([
      readShardCounters(this.redis, this.layout),
      Promise.all(this.queues.map(async (q) => [q.name, await q.getJobCounts(...PENDING_JOB_STATES, 'failed', 'completed')] as const)),
      this.rollout(),
      liveEncoders(this.redis),
      readSourceState(this.redis, this.sourceUrl),
      // Objects whose current version failed: falls when one is fixed or deleted (the loupe-dead
      // queue keeps every failure ever; per-queue counts are in `queues`).
      new DeadLetterRepository(this.redis).count(),
      readFfmpegReport(this.redis, this.sourceUrl),
    ]);
    const encoderRuntimes: Record<string, number> = {};
    for (const e of encoders.values()) encoderRuntimes[e.runtime] = (encoderRuntimes[e.runtime] ?? 0) + 1;
    const shards = counters.map((c) => ({
      shard: c.shard,
      live: c.created - c.deleted,
      deleted: c.deleted,
      replaced: c.replaced,
      stale: c.stale,
      ids: c.created,
    }));
    let pending = 0;
    // Nobody consumes loupe-dead: its waiting entries are failures, not work.
    for (const [name, counts] of queueCounts) if (name !== QueueNames.dead) pending += pendingJobs(counts);
    return {
      indexed: shards.reduce((n, s) => n + s.live, 0),
      pending,
      failed,
      deleted: shards.reduce((n, s) => n + s.deleted, 0),
      model: this.layout.model,
      bits: this.layout.bits,
      generation: this.layout.namespace,
      rollout,
      shards,
      runtime: { query: this.queryRuntime, encoders: encoderRuntimes, ffmpeg },
      queues: Object.fromEntries(queueCounts),
      source: { url: this.sourceUrl, state: source?.state ?? 'unknown', since: source?.since ?? null, lastError: source?.lastError ?? null },
    };
  }

  private async rollout(): Promise<StatsResponse['rollout']> {
    const { next } = await readLiveLayouts(this.redis);
    if (!next || next.namespace === this.layout.namespace) return null;
    return { generation: next.namespace, model: next.model, bits: next.bits, indexed: await liveObjectCount(this.redis, next) };
  }
}
