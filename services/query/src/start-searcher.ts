import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  createLogger,
  createRedis,
  isRedisConnectionError,
  parseShardRanges,
  RedisHealth,
  registerSearcher,
  searcherToken,
  unregisterSearcher,
  type Logger,
  type LoupeConfig,
} from '@loupe/shared';
import { GenerationFollower } from './generation-follower.ts';
import { SearcherPool } from './searcher/index.ts';
import { SearcherRpcServer } from './searcher-rpc/searcher-rpc-server.ts';
import { awaitActiveGeneration, awaitLayout } from './serving-generation.ts';
import { ShardSearchService, type SearcherGeneration } from './shard-search.service.ts';

/** A registration lives this many heartbeats: a searcher that stops renewing it drops out after that. */
export const SEARCHER_TTL_HEARTBEATS = 3;

export interface RunningSearcher {
  id: string;
  /** host:port routers reach it at. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A searcher process (`loupe searcher`): mirrors the shards of LOUPE_SEARCHER_SHARDS (kept current
 * from their change streams, in worker threads: the SearcherPool of the embedded query service,
 * limited to its shards), serves their search over the searcher RPC to routers holding the shared
 * secret, and registers in Redis every heartbeat which shards of which generation it holds ready.
 * It follows the active index generation as the query service does: a new one is loaded beside the
 * current one, registered as its shards load, and the old one is dropped after the grace period.
 */
export async function startSearcher(config: LoupeConfig, options: { logger?: Logger } = {}): Promise<RunningSearcher> {
  const log = options.logger ?? createLogger('searcher', config.LOUPE_LOG_LEVEL);
  const token = searcherToken(config);
  if (!token) throw new Error('LOUPE_SEARCHER_TOKEN: a searcher needs a shared secret (LOUPE_SEARCHER_TOKEN or LOUPE_TOKEN)');
  const shards = parseShardRanges(config.LOUPE_SEARCHER_SHARDS);
  if (!shards) throw new Error(`LOUPE_SEARCHER_SHARDS: not shard ranges: ${config.LOUPE_SEARCHER_SHARDS}`);
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  // Bounded commands: heartbeats during an outage fail instead of queueing up behind it.
  const redis = createRedis(config, { name: 'loupe-searcher', commandTimeoutMs: Math.max(2000, config.LOUPE_SEARCHER_HEARTBEAT_MS) });
  const redisStatus = new RedisHealth(redis, log);

  const open = async (namespace: string): Promise<SearcherGeneration> => {
    const layout = await awaitLayout(redis, namespace, log);
    const pool = new SearcherPool({ shards, logger: log });
    await pool.start({ ...config, LOUPE_SHARDS: layout.shards }, namespace);
    return { namespace, layout, pool, close: () => pool.close() };
  };
  const follower = new GenerationFollower<SearcherGeneration>(await open(await awaitActiveGeneration(redis, log)), open, redis, redisStatus, log, {
    instance: `searcher:${id}`,
  });
  follower.start();

  const server = new SearcherRpcServer(new ShardSearchService(() => follower.held(), config.LOUPE_QUERY_TIMEOUT_MS), token, log);
  const port = await server.listen(config.LOUPE_SEARCHER_PORT, config.LOUPE_SEARCHER_HOST);
  const address = config.LOUPE_SEARCHER_ADVERTISE ?? `${advertisedHost(config.LOUPE_SEARCHER_HOST)}:${port}`;

  const heartbeatMs = config.LOUPE_SEARCHER_HEARTBEAT_MS;
  let registered = '';
  let beating: Promise<void> = Promise.resolve();
  const heartbeat = async () => {
    const generations = Object.fromEntries(follower.held().map((g) => [g.namespace, g.pool.readyShards()]));
    await registerSearcher(redis, { id, address, shards, generations, at: Date.now() }, SEARCHER_TTL_HEARTBEATS * heartbeatMs);
    // One line when what routers can ask of it changes, not one per heartbeat.
    const now = JSON.stringify(generations);
    if (now !== registered) log.info({ searcher: id, address, generations }, 'searcher registration changed');
    registered = now;
  };
  // Tried while Redis is away too: the first heartbeat after it is back re-registers at once.
  const beat = () => {
    beating = heartbeat().catch((e) => log[isRedisConnectionError(e) ? 'debug' : 'warn']({ err: String(e) }, 'searcher heartbeat failed'));
  };
  const timer = setInterval(beat, heartbeatMs);
  timer.unref();
  beat();
  log.info({ searcher: id, address, port, shards: config.LOUPE_SEARCHER_SHARDS, generation: follower.current.namespace }, 'searcher listening');

  return {
    id,
    address,
    port,
    async close() {
      clearInterval(timer);
      await beating;
      // Out of the registry first, so routers stop choosing it before its connections close.
      await unregisterSearcher(redis, id).catch(() => undefined);
      await server.close();
      await follower.close();
      redisStatus.close();
      redis.disconnect();
    },
  };
}

/** A wildcard bind is reached at the machine's name; any other host as it is. */
function advertisedHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return hostname();
  return host.includes(':') ? `[${host}]` : host;
}
