import {
  createLogger,
  createQueue,
  createRedis,
  initTf,
  loadHashModel,
  prepareImage,
  QueueNames,
  readIndexLayout,
  type IndexLayout,
  type LoupeConfig,
  type RedisClient,
} from '@loupe/shared';
import { MetricsRegistry } from './metrics/metrics-registry.ts';
import { QueryService, type QueryEncoder } from './query.service.ts';
import { IndexReaderRepository } from './repository/index-reader.repository.ts';
import { SearcherPool } from './searcher/index.ts';
import { buildHttpServer } from './server/http-server.ts';
import { StatsService } from './stats.service.ts';

async function awaitLayout(redis: RedisClient, log: ReturnType<typeof createLogger>): Promise<IndexLayout> {
  for (let i = 0; ; i++) {
    const layout = await readIndexLayout(redis);
    if (layout) return layout;
    if (i === 0) log.info('waiting for the index to be created by the first encoder');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The query service: loads the model (to encode query images the way the encoder does), waits
 * for the index layout, starts the shard searchers and serves the RPC.
 */
export async function startQuery(config: LoupeConfig): Promise<{ close(): Promise<void>; port: number }> {
  const log = createLogger('query', config.LOUPE_LOG_LEVEL);
  const redis = createRedis(config, { name: 'loupe-query' });
  await initTf(log);
  const [model, layout] = await Promise.all([loadHashModel(config.LOUPE_MODEL, { logger: log }), awaitLayout(redis, log)]);
  if (model.id !== layout.model) {
    log.warn({ index: layout.model, model: model.id }, 'query model differs from the index model; image queries will not match');
  }
  const pool = new SearcherPool({ logger: log });
  await pool.start({ ...config, LOUPE_SHARDS: layout.shards });

  const limits = { maxBytes: config.LOUPE_MAX_BYTES, maxPixels: config.LOUPE_MAX_PIXELS };
  const encoder: QueryEncoder = {
    codeView: model.queryPlan.views[0],
    async encode(bytes) {
      const img = await prepareImage(bytes, limits, model.plan);
      return model.encodeQuery({ image: img.canonical, width: img.width, height: img.height });
    },
  };
  const reader = new IndexReaderRepository(redis, layout);
  const query = new QueryService(layout, encoder, pool, reader, config.LOUPE_QUERY_TIMEOUT_MS);
  const queues = [QueueNames.ingest, QueueNames.encode, QueueNames.index, QueueNames.dead].map((q) => createQueue(q, config, redis));
  const stats = new StatsService(layout, reader, queues);
  const metrics = new MetricsRegistry();
  const app = await buildHttpServer({
    query,
    stats: () => stats.stats(),
    ready: () => pool.ready(),
    metrics,
    log,
    token: config.LOUPE_TOKEN,
    maxBytes: config.LOUPE_MAX_BYTES,
    bits: layout.bits,
  });
  await app.listen({ port: config.LOUPE_QUERY_PORT, host: config.LOUPE_QUERY_HOST });
  const port = (app.server.address() as { port: number }).port;
  log.info({ port, model: model.id, shards: layout.shards, bits: layout.bits }, 'query service listening');

  return {
    port,
    async close() {
      await app.close();
      await pool.close();
      await Promise.all(queues.map((q) => q.close()));
      redis.disconnect();
    },
  };
}
