import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import {
  createLogger,
  createQueue,
  createRedis,
  createWorker,
  DeadLetterRepository,
  imageLimits,
  DEFAULT_VIEW_PLAN,
  ObjectVersionClock,
  QueueNames,
  type LoupeConfig,
  type Logger,
  type ViewPlan,
  type ObjectSource,
  createObjectSource,
} from '@loupe/shared';
import { SeenObjectRepository } from './repositories/seen-object.repository.ts';
import { BackpressureService } from './services/backpressure.service.ts';
import { DiscoveryService, type DiscoveryReport } from './services/discovery.service.ts';
import { IngestJobService } from './services/ingest-job.service.ts';

export interface IngestOptions {
  logger?: Logger;
  /**
   * 'auto' (default): backfill at start, then poll every LOUPE_POLL_MS (0 = backfill only).
   * 'manual': discovery runs only when discoverOnce() is called (tests, CLI).
   */
  discovery?: 'auto' | 'manual';
  /** Poll interval of the encode backlog while backpressure is on (default 1000 ms). */
  backpressurePollMs?: number;
  /** Use this source instead of the one LOUPE_SOURCE names. */
  source?: { source: ObjectSource; prefix: string };
  plan?: ViewPlan;
}

export interface IngestHandle {
  /** Stops discovery, lets in-flight jobs finish, closes connections. */
  close(): Promise<void>;
  /** Runs one discovery pass now (after any pass already running in this process). */
  discoverOnce(): Promise<DiscoveryReport>;
}

/** Starts the ingest service: discovery (backfill + polling) and the ingest worker. */
export async function startIngest(config: LoupeConfig, options: IngestOptions = {}): Promise<IngestHandle> {
  const logger = options.logger ?? createLogger('ingest', config.LOUPE_LOG_LEVEL);
  const { source, prefix } = options.source ?? createObjectSource(config);
  const redis = createRedis(config, { name: 'ingest' });
  // Producers share one connection; the worker gets its own blocking one (queue factory).
  const queues: Record<'ingest' | 'encode' | 'index' | 'dead', Queue> = {
    ingest: createQueue(QueueNames.ingest, config, redis),
    encode: createQueue(QueueNames.encode, config, redis),
    index: createQueue(QueueNames.index, config, redis),
    dead: createQueue(QueueNames.dead, config, redis),
  };
  const seen = new SeenObjectRepository(redis, source.url);
  const discovery = new DiscoveryService({
    source, prefix, seen, clock: new ObjectVersionClock(redis), ingestQueue: queues.ingest, encodeQueue: queues.encode, logger,
  });

  // The worker exists before the backpressure callbacks can fire; they only pause/resume it.
  let pauseWorker: (on: boolean) => void = () => undefined;
  const backpressure = new BackpressureService(
    queues.encode,
    { bound: config.LOUPE_ENCODE_BACKLOG, pollMs: options.backpressurePollMs ?? 1000, onChange: (on) => pauseWorker(on) },
    logger,
  );
  const jobs = new IngestJobService({
    source,
    encodeQueue: queues.encode,
    indexQueue: queues.index,
    deadQueue: queues.dead,
    failed: new DeadLetterRepository(redis),
    backpressure,
    limits: imageLimits(config),
    plan: options.plan ?? DEFAULT_VIEW_PLAN,
    logger,
  });
  // Our own connection: BullMQ never closes a connection it was handed as an instance.
  const workerRedis = createRedis(config, { blocking: true, name: `${QueueNames.ingest}-worker` });
  const worker = createWorker(QueueNames.ingest, config, (job, token) => jobs.process(job, token), {
    concurrency: config.LOUPE_CONCURRENCY,
    connection: workerRedis,
  });
  pauseWorker = (on) => {
    // Not awaited: pause(true) must not wait for the active jobs, which may be the ones held back.
    if (on) void worker.pause(true);
    else worker.resume();
  };
  worker.on('failed', (job, err) => {
    if (err.name === 'DelayedError') return;
    logger.error({ event: 'job-failed', jobId: job?.id, key: (job?.data as { key?: string } | undefined)?.key, attempts: job?.attemptsMade, err: err.message },
      'ingest job failed');
  });
  worker.on('error', (err) => logger.error({ err }, 'ingest worker error'));

  const stop = new AbortController();
  let loop: Promise<void> = Promise.resolve();
  if ((options.discovery ?? 'auto') === 'auto') {
    loop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await discovery.discoverOnce();
        } catch (e) {
          // A failed pass (source unreachable...) changes nothing; the next poll tries again.
          logger.error({ err: e, source: source.url }, 'discovery pass failed');
        }
        if (config.LOUPE_POLL_MS === 0) break;
        await sleep(config.LOUPE_POLL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    })();
  }
  logger.info(
    { event: 'start', source: source.url, pollMs: config.LOUPE_POLL_MS, concurrency: config.LOUPE_CONCURRENCY,
      encodeBacklog: config.LOUPE_ENCODE_BACKLOG },
    'ingest started',
  );

  let closing: Promise<void> | undefined;
  return {
    discoverOnce: () => discovery.discoverOnce(),
    close() {
      closing ??= (async () => {
        stop.abort();
        backpressure.close();
        await worker.close();
        await loop;
        await discovery.settled();
        await Promise.all(Object.values(queues).map((q) => q.close()));
        await Promise.all([redis, workerRedis].map((c) => c.quit().catch(() => c.disconnect())));
        await source.close();
        logger.info({ event: 'stop' }, 'ingest stopped');
      })();
      return closing;
    },
  };
}
