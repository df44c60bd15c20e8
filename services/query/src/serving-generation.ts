import type { Queue } from 'bullmq';
import { imageLimits, prepareImage, readIndexLayout, type HashModel, type Logger, type LoupeConfig, type RedisClient, type StoredIndexLayout } from '@loupe/shared';
import { QueryService, type CandidateThumbnails, type QueryEncoder } from './query.service.ts';
import { IndexReaderRepository } from './repository/index-reader.repository.ts';
import { SearcherPool } from './searcher/index.ts';
import { StatsService } from './stats.service.ts';

/** Everything that answers queries from one index generation: its model, searchers and readers. */
export interface ServingGeneration {
  readonly namespace: string;
  readonly layout: StoredIndexLayout;
  readonly model: HashModel;
  readonly pool: SearcherPool;
  readonly query: QueryService;
  readonly stats: StatsService;
  close(): Promise<void>;
}

export interface ServingDeps {
  config: LoupeConfig;
  redis: RedisClient;
  queues: Queue[];
  log: Logger;
  /** Loads (or returns the already loaded) model for a LOUPE_MODEL-style reference. */
  model: (ref: string) => Promise<HashModel>;
  /** Candidates' thumbnails from the bucket (LOUPE_VERIFY_FROM_SOURCE), for indexes without a pixel level. */
  thumbnails?: CandidateThumbnails;
}

/** Waits for the layout of generation `namespace` (the first encoder creates the first one). */
export async function awaitLayout(redis: RedisClient, namespace: string, log: Logger): Promise<StoredIndexLayout> {
  for (let i = 0; ; i++) {
    const layout = await readIndexLayout(redis, namespace);
    if (layout) return layout;
    if (i === 0) log.info({ generation: namespace }, 'waiting for the index to be created by the first encoder');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Loads the generation's model and starts its searchers (resolves before the mirrors are loaded). */
export async function openGeneration(deps: ServingDeps, namespace: string): Promise<ServingGeneration> {
  const { config, redis, queues, log } = deps;
  const layout = await awaitLayout(redis, namespace, log);
  // A generation made before layouts named their model loader is the one LOUPE_MODEL made.
  const model = await deps.model(layout.modelRef ?? config.LOUPE_MODEL);
  if (model.id !== layout.model) {
    log.warn({ index: layout.model, model: model.id }, 'query model differs from the index model; image queries will not match');
  }
  const pool = new SearcherPool({ logger: log });
  await pool.start({ ...config, LOUPE_SHARDS: layout.shards }, namespace);
  const limits = imageLimits(config);
  const encoder: QueryEncoder = {
    codeView: model.queryPlan.views[0],
    verify: model.queryPlan.verify,
    async encode(bytes) {
      const img = await prepareImage(bytes, limits, model.plan);
      return model.encodeQuery({ image: img.canonical, width: img.width, height: img.height });
    },
  };
  const reader = new IndexReaderRepository(redis, layout);
  return {
    namespace,
    layout,
    model,
    pool,
    query: new QueryService(layout, encoder, pool, reader, config.LOUPE_QUERY_TIMEOUT_MS, deps.thumbnails),
    stats: new StatsService(layout, queues, redis),
    close: () => pool.close(),
  };
}
