import { availableParallelism } from 'node:os';
import {
  createLogger,
  createObjectSource,
  imageLimits,
  KeyframeExtractor,
  locateFfmpeg,
  videoLimits,
  createQueue,
  createRedis,
  QueueNames,
  RedisHealth,
  runtimeSettings,
  type Logger,
  type LoupeConfig,
} from '@loupe/shared';
import { openDeadLetters } from '@loupe/ingest';
import { QueryEncoderPool } from './encoding/query-encoder-pool.ts';
import { GenerationFollower } from './generation-follower.ts';
import { MetricsRegistry } from './metrics/metrics-registry.ts';
import { buildHttpServer } from './server/http-server.ts';
import { awaitActiveGeneration, openGeneration } from './serving-generation.ts';
import { SourceThumbnailService } from './source-thumbnail.service.ts';
import { DuplicateGroupsService } from './groups/duplicate-groups.service.ts';
import { GroupRepository } from './groups/group.repository.ts';
import { startGroupsWorker } from './groups/groups-worker.ts';
import { ThumbnailService } from './thumbnail.service.ts';
import { openRouter } from './router/open-router.ts';

/** LOUPE_QUERY_RUNTIME_THREADS, or the cores shared out among the encoding threads. */
function queryRuntimeThreads(config: LoupeConfig): number {
  return config.LOUPE_QUERY_RUNTIME_THREADS ?? Math.max(1, Math.floor(availableParallelism() / config.LOUPE_QUERY_WORKERS));
}

/**
 * The query service: loads the model (to encode query images the way the encoder does), waits
 * for the index layout, starts the shard searchers and serves the RPC. Follows model rollouts:
 * when another index generation becomes active it is loaded beside the current one and
 * requests switch over once its searchers are ready. While Redis is unreachable it answers image
 * and code searches from its mirrors (stale) and 503 to what needs Redis, never waiting on it.
 */
export async function startQuery(config: LoupeConfig, options: { logger?: Logger } = {}): Promise<{ close(): Promise<void>; port: number }> {
  const log = options.logger ?? createLogger('query', config.LOUPE_LOG_LEVEL);
  // Requests read Redis on this connection: bounded by the query timeout, so none hangs on an outage.
  const redis = createRedis(config, { name: 'loupe-query', commandTimeoutMs: config.LOUPE_QUERY_TIMEOUT_MS });
  const redisStatus = new RedisHealth(redis, log);
  const encoders = new QueryEncoderPool(
    { runtime: { ...runtimeSettings(config), threads: queryRuntimeThreads(config) }, limits: imageLimits(config), logLevel: config.LOUPE_LOG_LEVEL },
    { workers: config.LOUPE_QUERY_WORKERS, maxQueued: config.LOUPE_QUERY_QUEUE },
    log,
  );
  void encoders.load(config.LOUPE_MODEL).catch(() => undefined); // starts loading while the layout is awaited
  const queues = [QueueNames.ingest, QueueNames.encode, QueueNames.index, QueueNames.dead].map((q) => createQueue(q, config, redis));
  // The web page's thumbnails read the source too; only the candidate check can be told not to.
  const source = createObjectSource(config).source;
  const deadLetters = openDeadLetters(config, { redis, logger: log });
  const thumbnails = config.LOUPE_VERIFY_FROM_SOURCE
    ? new SourceThumbnailService(source, imageLimits(config), log, {
        concurrency: config.LOUPE_VERIFY_SOURCE_READS,
        budgetMs: config.LOUPE_VERIFY_SOURCE_BUDGET_MS ?? config.LOUPE_QUERY_TIMEOUT_MS,
      })
    : undefined;
  // LOUPE_SEARCHERS=registry: shard searches go to searcher processes (loupe searcher), not threads of ours.
  const router = config.LOUPE_SEARCHERS === 'registry' ? await openRouter(config, redis, log) : undefined;
  const deps = { config, redis, redisStatus, queues, log, encoders, thumbnails, router: router?.deps };
  const open = (namespace: string) => openGeneration(deps, namespace);
  const follower = new GenerationFollower(await open(await awaitActiveGeneration(redis, log)), open, redis, redisStatus, log);
  follower.start();
  // Its own connection: the upkeep's WATCH must not see other requests' commands.
  const groupsRedis = config.LOUPE_DUPLICATE_GROUPS ? redis.duplicate() : undefined;
  const groups = groupsRedis
    ? new DuplicateGroupsService(new GroupRepository(groupsRedis), () => follower.current.query, {
        minScore: config.LOUPE_GROUP_MIN_SCORE,
        criteria: config.LOUPE_DUPLICATE_ORIGINAL,
      }, log)
    : undefined;
  const groupsWorker = groups && startGroupsWorker(config, groups, () => follower.current.pool.missing().length === 0, log);

  const metrics = new MetricsRegistry();
  metrics.gauge('loupe_inference_runtime_info', 'Inference runtime the query service encodes image queries on', () => [[{ runtime: follower.current.model.runtime }, 1]]);
  metrics.gauge('loupe_query_encoder_threads', 'Query encoding threads, busy and idle', () => {
    const { busy, workers } = encoders.usage;
    return [[{ state: 'busy' }, busy], [{ state: 'idle' }, workers - busy]];
  });
  metrics.gauge('loupe_query_encoder_queued', 'Image queries waiting for an encoding thread', () => [[{}, encoders.usage.queued]]);
  if (router) {
    const { directory, counters } = router.deps;
    metrics.gauge('loupe_router_searchers', 'Searcher processes registered in Redis (LOUPE_SEARCHERS=registry)', () => [[{}, directory.list().length]]);
    metrics.gauge('loupe_router_calls_total', 'Calls to searchers (first tries, hedges and failovers)', () => [[{}, counters.calls]], 'counter');
    metrics.gauge('loupe_router_hedged_shards_total', 'Shards asked of a second replica because the first was slow', () => [[{}, counters.hedged]], 'counter');
    metrics.gauge('loupe_router_failed_over_shards_total', 'Shards asked of another replica because theirs failed', () => [[{}, counters.failedOver]], 'counter');
  }
  metrics.gauge('loupe_redis_up', 'Whether the query service reaches Redis (0: answering from its mirrors, stale)', () => [[{}, redisStatus.up ? 1 : 0]]);
  const app = await buildHttpServer({
    // Read per request, so requests go to the generation being served at that moment.
    get query() {
      return follower.current.query;
    },
    get bits() {
      return follower.current.layout.bits;
    },
    stats: () => follower.current.stats.stats(),
    missing: () => follower.current.pool.missing(),
    redis: redisStatus,
    metrics,
    log,
    token: config.LOUPE_TOKEN,
    maxBytes: config.LOUPE_MAX_BYTES,
    deadLetters: deadLetters.service,
    duplicates: groups ?? 'off',
    thumbnails: new ThumbnailService(source, (key) => follower.current.query.isIndexed(key), imageLimits(config), {
      video: { extractor: new KeyframeExtractor(await locateFfmpeg(), videoLimits(config)), maxBytes: config.LOUPE_VIDEO_MAX_BYTES },
    }),
  });
  await app.listen({ port: config.LOUPE_QUERY_PORT, host: config.LOUPE_QUERY_HOST });
  const port = (app.server.address() as { port: number }).port;
  const { layout } = follower.current;
  log.info({ port, model: layout.model, runtime: follower.current.model.runtime, encodingThreads: config.LOUPE_QUERY_WORKERS, generation: layout.namespace, shards: layout.shards, bits: layout.bits, searchers: config.LOUPE_SEARCHERS }, 'query service listening');

  return {
    port,
    async close() {
      await app.close();
      await groupsWorker?.close();
      groupsRedis?.disconnect();
      await follower.close();
      router?.close();
      await encoders.close();
      await Promise.all(queues.map((q) => q.close()));
      await deadLetters.close();
      await source.close();
      redisStatus.close();
      redis.disconnect();
    },
  };
}
