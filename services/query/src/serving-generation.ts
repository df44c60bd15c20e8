import type { Queue } from 'bullmq';
import { imageLimits, isRedisConnectionError, readGenerations, readIndexLayout, sourceUrlOf, type Logger, type LoupeConfig, type RedisClient, type StoredIndexLayout } from '@loupe/shared';
import type { QueryEncoderPool } from './encoding/query-encoder-pool.ts';
import type { LoadedModel } from './encoding/encoding-protocol.ts';
import { QueryService, type CandidateThumbnails, type RedisStatus, type ShardFanout } from './query.service.ts';
import { SplitQueryEncoder } from './encoding/split-query-encoder.ts';
import { IndexReaderRepository } from './repository/index-reader.repository.ts';
import { SearcherPool } from './searcher/index.ts';
import { ShardRouter, type RouterDeps } from './router/shard-router.ts';
import { StatsService } from './stats.service.ts';

/** A generation's shard searches: its own worker threads (SearcherPool) or searcher processes (ShardRouter). */
export interface GenerationSearchers extends ShardFanout {
  /** What keeps it from answering every shard (empty when ready). */
  missing(): string[];
  waitReady(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Everything that answers queries from one index generation: its model, searchers and readers. */
export interface ServingGeneration {
  readonly namespace: string;
  readonly layout: StoredIndexLayout;
  /** The model the encoding threads code this generation's queries with. */
  readonly model: LoadedModel;
  readonly pool: GenerationSearchers;
  readonly query: QueryService;
  readonly stats: StatsService;
  close(): Promise<void>;
}

export interface ServingDeps {
  config: LoupeConfig;
  redis: RedisClient;
  /** Whether `redis` answers now (RedisHealth). */
  redisStatus: RedisStatus;
  queues: Queue[];
  log: Logger;
  /** The threads that encode image queries (they load each generation's model). */
  encoders: QueryEncoderPool;
  /** Candidates' thumbnails from the bucket (LOUPE_VERIFY_FROM_SOURCE), for indexes without a pixel level. */
  thumbnails?: CandidateThumbnails;
  /** With LOUPE_SEARCHERS=registry: shard searches go to searcher processes through these. */
  router?: RouterDeps;
}

/** Waits for the layout of generation `namespace` (the first encoder creates the first one), and for Redis if it is unreachable. */
export async function awaitLayout(redis: RedisClient, namespace: string, log: Logger): Promise<StoredIndexLayout> {
  for (let i = 0, unreachable = 0; ; i++) {
    try {
      const layout = await readIndexLayout(redis, namespace);
      if (layout) return layout;
      if (i === 0) log.info({ generation: namespace }, 'waiting for the index to be created by the first encoder');
    } catch (e) {
      if (!isRedisConnectionError(e)) throw e;
      if (unreachable++ === 0) log.warn({ err: String(e) }, 'Redis unreachable; waiting for it to read the index layout');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The active generation's namespace, waiting for Redis if it is unreachable at start. */
export async function awaitActiveGeneration(redis: RedisClient, log: Logger): Promise<string> {
  for (let unreachable = 0; ; ) {
    try {
      return (await readGenerations(redis)).active;
    } catch (e) {
      if (!isRedisConnectionError(e)) throw e;
      if (unreachable++ === 0) log.warn({ err: String(e) }, 'Redis unreachable; waiting for it to start');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Loads the generation's model and starts its searchers (resolves before the mirrors are loaded). */
export async function openGeneration(deps: ServingDeps, namespace: string): Promise<ServingGeneration> {
  const { config, redis, redisStatus, queues, log } = deps;
  const layout = await awaitLayout(redis, namespace, log);
  // A generation made before layouts named their model loader is the one LOUPE_MODEL made.
  const modelRef = layout.modelRef ?? config.LOUPE_MODEL;
  const model = await deps.encoders.load(modelRef);
  if (model.id !== layout.model) {
    log.warn({ index: layout.model, model: model.id }, 'query model differs from the index model; image queries will not match');
  }
  let pool: GenerationSearchers;
  if (deps.router) pool = new ShardRouter(namespace, layout, deps.router);
  else {
    const local = new SearcherPool({ logger: log });
    await local.start({ ...config, LOUPE_SHARDS: layout.shards }, namespace);
    pool = local;
  }
  const encoder = new SplitQueryEncoder(deps.encoders, modelRef, model.queryPlan, imageLimits(config));
  const reader = new IndexReaderRepository(redis, layout);
  return {
    namespace,
    layout,
    model,
    pool,
    query: new QueryService(layout, encoder, pool, reader, redisStatus, config.LOUPE_QUERY_TIMEOUT_MS, deps.thumbnails),
    stats: new StatsService(layout, queues, redis, redisStatus, model.runtime, sourceUrlOf(config.LOUPE_SOURCE)),
    close: () => pool.close(),
  };
}
