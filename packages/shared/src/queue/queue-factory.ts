import { Queue, Worker, type Processor, type WorkerOptions, type QueueOptions } from 'bullmq';
import type { LoupeConfig } from '../config/config.ts';
import { createRedis, isCluster, type RedisClient } from '../redis/redis-connection.ts';
import { QueueNames, queuePrefix, type QueueName } from './queue-names.ts';
import { MAX_STALLED_COUNT } from './given-up-job.ts';
import type { DeadJob } from '../job/job-schemas.ts';
import type { DeadLetterRepository } from '../redis/dead-letter-repository.ts';

type QueueConfig = Pick<LoupeConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'LOUPE_QUEUE_PREFIX'>;

/** Default job options: retries with backoff, bounded history so Redis does not grow forever. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
} as const;

/**
 * BullMQ never closes a connection it was handed, so a queue or worker that made its own
 * connection closes it after itself.
 */
function closeOwnedConnection<C extends { close(): Promise<void> }>(target: C, connection: RedisClient): C {
  const close = target.close.bind(target);
  target.close = async () => {
    await close();
    connection.disconnect();
  };
  return target;
}

/** A producer queue; on a shared `connection` the caller owns it, else close() releases it. */
export function createQueue<T = unknown>(name: QueueName, config: QueueConfig, connection?: RedisClient): Queue<T> {
  const own = connection ? null : createRedis(config, { name: `${name}-producer` });
  const opts: QueueOptions = {
    connection: connection ?? own!,
    prefix: queuePrefix(config.LOUPE_QUEUE_PREFIX, name, isCluster(config)),
    defaultJobOptions: DEFAULT_JOB_OPTIONS,
  };
  const queue = new Queue<T>(name, opts);
  return own ? closeOwnedConnection(queue, own) : queue;
}

export function createWorker<T = unknown, R = unknown>(
  name: QueueName,
  config: QueueConfig,
  processor: Processor<T, R>,
  opts: Partial<WorkerOptions> = {},
): Worker<T, R> {
  const connection = createRedis(config, { blocking: true, name: `${name}-worker` });
  const worker = new Worker<T, R>(name, processor, {
    connection,
    prefix: queuePrefix(config.LOUPE_QUEUE_PREFIX, name, isCluster(config)),
    maxStalledCount: MAX_STALLED_COUNT,
    ...opts,
  });
  return closeOwnedConnection(worker, connection);
}

/**
 * Puts a failed object on the dead-letter queue with its reason (one entry per object version:
 * the history) and marks the key failed now (DeadLetterRepository: what `loupe dead` lists and
 * /v1/stats counts).
 */
export async function deadLetter(queue: Queue, failed: DeadLetterRepository, entry: Omit<DeadJob, 'at'>): Promise<void> {
  const job: DeadJob = { ...entry, at: new Date().toISOString() };
  const id = `dead-${Buffer.from(`${entry.stage}\u0000${entry.key}\u0000${entry.etag ?? ''}`).toString('base64url')}`;
  await failed.record(job);
  await queue.add(QueueNames.dead, job, { jobId: id, removeOnComplete: false, removeOnFail: false });
}
