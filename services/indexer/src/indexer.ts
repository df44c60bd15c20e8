import { DelayedError } from 'bullmq';
import {
  createQueue,
  createRedis,
  createWorker,
  givenUpReason,
  createLogger,
  deadLetter,
  DeadLetterRepository,
  IndexJobSchema,
  isRedisConnectionError,
  JobValidationError,
  parseJob,
  QueueNames,
  RedisHealth,
  type GroupJob,
  type IndexJob,
  type IndexLayout,
  type Logger,
  type LoupeConfig,
} from '@loupe/shared';
import { GenerationRouter } from './generation-router.ts';
import { UnindexableJobError, type IndexOutcome } from './indexer.service.ts';

/**
 * A group job waits this long before it runs: by then every query service's mirrors hold the write
 * (they follow the shards' change streams within milliseconds), so the search for the object's
 * matches sees the objects written just before it.
 */
const GROUP_JOB_DELAY_MS = 1000;

/** The duplicate-group upkeep job of an index job that changed the active index. */
function groupJob(job: IndexJob): GroupJob {
  if (job.op === 'delete') return { op: 'delete', key: job.key };
  return { op: 'upsert', key: job.key, width: job.width, height: job.height, bytes: job.bytes, version: job.version };
}

/** Waits for the index layout, which the first encoder (the side that knows the model) creates. */
async function awaitLayout(router: GenerationRouter, signal: { closed: boolean }): Promise<IndexLayout | null> {
  for (;;) {
    const layout = await router.activeLayout();
    if (layout || signal.closed) return layout;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts the indexer: a BullMQ worker on loupe-index writing each object into its shard. While
 * Redis is unreachable it waits (commands run once Redis is back), so no job attempt is spent on it.
 */
export async function startIndexer(config: LoupeConfig, options: { logger?: Logger } = {}): Promise<{ close(): Promise<void> }> {
  const log = options.logger ?? createLogger('indexer', config.LOUPE_LOG_LEVEL);
  const redis = createRedis(config, { name: 'loupe-indexer', waitThroughOutages: true });
  const redisHealth = new RedisHealth(redis, log);
  const dead = createQueue(QueueNames.dead, config, redis);
  const groups = createQueue<GroupJob>(QueueNames.groups, config, redis);
  const failed = new DeadLetterRepository(redis);
  const signal = { closed: false };
  const router = new GenerationRouter(redis, log);
  let layoutSeen = false;
  const ready = awaitLayout(router, signal).then((layout) => {
    if (!layout) return false;
    log.info({ shards: layout.shards, bits: layout.bits, model: layout.model, generation: layout.namespace }, 'indexer ready');
    return (layoutSeen = true);
  });

  const worker = createWorker<unknown, IndexOutcome[] | null>(
    QueueNames.index,
    config,
    async (job, token) => {
      if (!layoutSeen && !(await ready)) {
        // Stopping before the index exists: hand the job back without spending an attempt.
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      try {
        const data = parseJob(IndexJobSchema, QueueNames.index, job.data);
        const { outcomes, changedActive } = await router.write(data);
        if (changedActive && config.LOUPE_DUPLICATE_GROUPS) await groups.add(data.op, groupJob(data), { delay: GROUP_JOB_DELAY_MS });
        // Indexed or deleted: whatever failed for this key before no longer counts as failed.
        if (await failed.clear([data.key])) log.info({ key: data.key, op: data.op }, 'dead letter cleared');
        return outcomes;
      } catch (err) {
        if (!(err instanceof UnindexableJobError || err instanceof JobValidationError)) throw err;
        const data = job.data as { key?: string; etag?: string };
        await deadLetter(dead, failed, { stage: 'index', key: String(data?.key ?? job.id), etag: data?.etag, reason: err.message });
        log.warn({ key: data?.key, reason: err.message }, 'index job dead-lettered');
        return null;
      }
    },
    { concurrency: config.LOUPE_CONCURRENCY * 4 },
  );
  worker.on('failed', (job, err) => {
    log.error({ jobId: job?.id, err: err.message }, 'index job failed');
    const reason = job && givenUpReason(job, err);
    if (!reason) return;
    const data = job.data as { key?: string; etag?: string };
    deadLetter(dead, failed, { stage: 'index', key: String(data?.key ?? job.id), etag: data?.etag, reason })
      .catch((e) => log.error({ err: String(e) }, 'dead-letter failed'));
  });
  // Redis going away is reported once (RedisHealth), not once per reconnect attempt.
  worker.on('error', (err) => log[isRedisConnectionError(err) ? 'debug' : 'error']({ err: err.message }, 'index worker error'));

  return {
    async close() {
      signal.closed = true;
      await worker.close();
      await dead.close();
      await groups.close();
      redisHealth.close();
      redis.disconnect();
    },
  };
}
