import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import {
  createLogger,
  createQueue,
  createRedis,
  createWorker,
  givenUpReason,
  DeadLetterRepository,
  imageLimits,
  KeyframeExtractor,
  locateFfmpeg,
  videoLimits,
  writeFfmpegReport,
  type FfmpegBinary,
  isRedisConnectionError,
  RedisHealth,
  DEFAULT_VIEW_PLAN,
  ObjectVersionClock,
  parseEventsUrl,
  parseSource,
  QueueNames,
  type LoupeConfig,
  type Logger,
  type ViewPlan,
  type ObjectSource,
  createObjectSource,
} from '@loupe/shared';
import { EventSequencerRepository } from './repositories/event-sequencer.repository.ts';
import { SeenObjectRepository } from './repositories/seen-object.repository.ts';
import { SourceLockRepository } from './repositories/source-lock.repository.ts';
import { VideoFramesRepository } from './repositories/video-frames.repository.ts';
import { SqsEventQueueRepository } from './repositories/sqs-event-queue.repository.ts';
import { BackpressureService } from './services/backpressure.service.ts';
import { DiscoveryService, type DiscoveryReport } from './services/discovery.service.ts';
import { EventConsumerService, type EventConsumerOptions } from './services/event-consumer.service.ts';
import { IngestJobService } from './services/ingest-job.service.ts';
import { ObjectJobsService } from './services/object-jobs.service.ts';
import { S3EventService } from './services/s3-event.service.ts';
import { SourceLockService } from './services/source-lock.service.ts';
import { SourceRetryAbortedError, SourceRetryService, type SourceRetryOptions } from './services/source-retry.service.ts';
import { VideoIngestService } from './services/video-ingest.service.ts';

export interface IngestOptions {
  logger?: Logger;
  /**
   * 'auto' (default): backfill at start, then poll every LOUPE_POLL_MS (0 = backfill only); with
   * LOUPE_EVENTS, list when the last complete listing is LOUPE_RELIST_MS old (or there is none).
   * 'manual': discovery runs only when discoverOnce() is called (tests, CLI). Events, when
   * LOUPE_EVENTS is set, are consumed either way.
   */
  discovery?: 'auto' | 'manual';
  /** Limits of the event queue consumer (LOUPE_EVENTS). */
  events?: EventConsumerOptions;
  /** Poll interval of the encode backlog while backpressure is on (default 1000 ms). */
  backpressurePollMs?: number;
  /** Use this source instead of the one LOUPE_SOURCE names. */
  source?: { source: ObjectSource; prefix: string };
  plan?: ViewPlan;
  /** Back-off of source reads that fail transiently (tests shorten it). */
  sourceRetry?: Partial<SourceRetryOptions>;
  /** The ffmpeg that cuts videos (null: none); default: the npm package's, else the system's (locateFfmpeg). */
  ffmpeg?: FfmpegBinary | null;
}

export interface IngestHandle {
  /** Stops discovery, lets in-flight jobs finish, closes connections. */
  close(): Promise<void>;
  /** Runs one discovery pass now (after any pass already running in this process). */
  discoverOnce(): Promise<DiscoveryReport>;
}

/**
 * Starts the ingest service: discovery (backfill + polling, or S3 events from LOUPE_EVENTS with a
 * periodic re-list) and the ingest worker. Outages are waited out: Redis commands wait for Redis
 * to come back, source reads retry with back-off.
 */
export async function startIngest(config: LoupeConfig, options: IngestOptions = {}): Promise<IngestHandle> {
  const logger = options.logger ?? createLogger('ingest', config.LOUPE_LOG_LEVEL);
  const { source, prefix } = options.source ?? createObjectSource(config);
  const redis = createRedis(config, { name: 'ingest', waitThroughOutages: true });
  const redisHealth = new RedisHealth(redis, logger);
  const stop = new AbortController();
  const probe = async () => {
    for await (const _ of source.list(prefix)) break; // one listing page answers
  };
  const retry = new SourceRetryService(redis, source.url, logger, stop.signal, options.sourceRetry, probe);
  // Producers share one connection; the worker gets its own blocking one (queue factory).
  const queues: Record<'ingest' | 'encode' | 'index' | 'dead', Queue> = {
    ingest: createQueue(QueueNames.ingest, config, redis),
    encode: createQueue(QueueNames.encode, config, redis),
    index: createQueue(QueueNames.index, config, redis),
    dead: createQueue(QueueNames.dead, config, redis),
  };
  const seen = new SeenObjectRepository(redis, source.url);
  const lock = new SourceLockService({ locks: new SourceLockRepository(redis, source.url), clock: new ObjectVersionClock(redis), sourceUrl: source.url });
  const objectJobs = new ObjectJobsService({ seen, ingestQueue: queues.ingest, encodeQueue: queues.encode });
  const eventQueue = config.LOUPE_EVENTS ? new SqsEventQueueRepository(parseEventsUrl(config.LOUPE_EVENTS)!.queueUrl, config) : null;
  const discovery = new DiscoveryService({ source, prefix, seen, lock, jobs: objectJobs, retry, logger, stop: stop.signal, confirmChanges: eventQueue !== null });

  // The worker exists before the backpressure callbacks can fire; they only pause/resume it.
  let pauseWorker: (on: boolean) => void = () => undefined;
  const backpressure = new BackpressureService(
    queues.encode,
    { bound: config.LOUPE_ENCODE_BACKLOG, pollMs: options.backpressurePollMs ?? 1000, onChange: (on) => pauseWorker(on) },
    logger,
  );
  const ffmpeg = options.ffmpeg !== undefined ? options.ffmpeg : await locateFfmpeg();
  if (ffmpeg) logger.info({ event: 'ffmpeg', path: ffmpeg.path, version: ffmpeg.version, from: ffmpeg.from }, 'videos are cut with ffmpeg');
  else logger.warn({ event: 'ffmpeg', path: null }, 'no ffmpeg: videos will be dead-lettered (video-unsupported)');
  // Not awaited: start-up and stopping do not wait for Redis (the command runs once it answers).
  void writeFfmpegReport(redis, source.url, ffmpeg).catch((e) => logger.warn({ err: String(e) }, 'ffmpeg not reported to Redis'));
  const limits = imageLimits(config);
  const plan = options.plan ?? DEFAULT_VIEW_PLAN;
  const video = new VideoIngestService({
    extractor: new KeyframeExtractor(ffmpeg, videoLimits(config)),
    frames: new VideoFramesRepository(redis, source.url),
    encodeQueue: queues.encode,
    indexQueue: queues.index,
    limits,
    plan,
    logger,
  });
  const jobs = new IngestJobService({
    source,
    encodeQueue: queues.encode,
    indexQueue: queues.index,
    deadQueue: queues.dead,
    failed: new DeadLetterRepository(redis),
    backpressure,
    retry,
    limits,
    video,
    videoMaxBytes: config.LOUPE_VIDEO_MAX_BYTES,
    plan,
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
    // The processor dead-letters a last attempt that fails; a job its workers died holding is left.
    const reason = job && givenUpReason(job, err, { lastAttemptHandled: true });
    if (reason) jobs.deadLetterGivenUp(job, reason).catch((e) => logger.error({ err: String(e) }, 'dead-letter failed'));
  });
  // Redis going away is reported once (RedisHealth), not once per reconnect attempt.
  worker.on('error', (err) => logger[isRedisConnectionError(err) ? 'debug' : 'error']({ err }, 'ingest worker error'));

  let consumer: EventConsumerService | null = null;
  if (eventQueue) {
    const bucket = parseSource(source.url);
    if (bucket.kind !== 's3') throw new Error(`LOUPE_EVENTS needs an s3:// source, not ${source.url}`);
    const sequencers = new EventSequencerRepository(redis, source.url);
    const events = new S3EventService({ bucket: bucket.bucket, prefix, source, seen, sequencers, lock, jobs: objectJobs, retry, logger });
    consumer = new EventConsumerService(eventQueue, events, logger, options.events);
    consumer.start();
  }

  const pause = (ms: number) => sleep(ms, undefined, { signal: stop.signal }).catch(() => undefined);
  let loop: Promise<void> = Promise.resolve();
  if ((options.discovery ?? 'auto') === 'auto') {
    loop = (async () => {
      while (!stop.signal.aborted) {
        if (eventQueue) {
          // Events keep the index current; a full listing is only the safety net, due
          // LOUPE_RELIST_MS after the last complete one (any process's), so a restart lists nothing.
          const listedAt = await seen.listedAt().catch(() => null);
          if (listedAt !== null && config.LOUPE_RELIST_MS === 0) break;
          const due = listedAt === null ? 0 : listedAt + config.LOUPE_RELIST_MS - Date.now();
          if (due > 0) {
            await pause(Math.min(due, 3_600_000));
            continue;
          }
        }
        try {
          const report = await discovery.discoverOnce();
          // Another process is listing: look again once it may have finished.
          if (eventQueue && !report.ran) await pause(60_000);
        } catch (e) {
          if (e instanceof SourceRetryAbortedError) break; // shutting down while the source was out
          // A failed pass (access denied...) changes nothing; the next poll tries again.
          logger.error({ err: e, source: source.url }, 'discovery pass failed');
          if (eventQueue) await pause(60_000);
        }
        if (eventQueue) continue;
        if (config.LOUPE_POLL_MS === 0) break;
        await pause(config.LOUPE_POLL_MS);
      }
    })();
  }
  logger.info(
    { event: 'start', source: source.url, concurrency: config.LOUPE_CONCURRENCY, encodeBacklog: config.LOUPE_ENCODE_BACKLOG,
      ...(eventQueue ? { events: eventQueue.queueUrl, relistMs: config.LOUPE_RELIST_MS } : { pollMs: config.LOUPE_POLL_MS }) },
    'ingest started',
  );

  let closing: Promise<void> | undefined;
  return {
    discoverOnce: () => discovery.discoverOnce(),
    close() {
      closing ??= (async () => {
        stop.abort();
        // First: messages in hand are applied (their jobs queued) and deleted while Redis is open.
        await consumer?.stop();
        eventQueue?.close();
        backpressure.close();
        await worker.close();
        await loop;
        await discovery.settled();
        await Promise.all(Object.values(queues).map((q) => q.close()));
        await retry.flushed();
        redisHealth.close();
        await Promise.all([redis, workerRedis].map((c) => c.quit().catch(() => c.disconnect())));
        await source.close();
        logger.info({ event: 'stop' }, 'ingest stopped');
      })();
      return closing;
    },
  };
}
