import { searcherToken, type Logger, type LoupeConfig, type RedisClient } from '@loupe/shared';
import { SearcherRpcClient } from '../searcher-rpc/searcher-rpc-client.ts';
import { LatencyWindow } from './latency-window.ts';
import { SearcherDirectory } from './searcher-directory.ts';
import type { RouterDeps } from './shard-router.ts';

/**
 * What a query service in router mode (LOUPE_SEARCHERS=registry) shares between the generations
 * it serves: the registry, read every heartbeat interval, one connection per searcher, the calls'
 * latencies (for the hedge delay).
 */
export async function openRouter(config: LoupeConfig, redis: RedisClient, log: Logger): Promise<{ deps: RouterDeps; close(): void }> {
  const token = searcherToken(config);
  if (!token) throw new Error('LOUPE_SEARCHER_TOKEN: LOUPE_SEARCHERS=registry needs the searchers\' shared secret');
  const clients = new Map<string, SearcherRpcClient>();
  const directory = new SearcherDirectory(redis, log, {
    pollMs: config.LOUPE_SEARCHER_HEARTBEAT_MS,
    left: (s) => {
      clients.get(s.address)?.close();
      clients.delete(s.address);
    },
  });
  await directory.start();
  const client = (address: string) => {
    let c = clients.get(address);
    if (!c) clients.set(address, (c = new SearcherRpcClient(address, token)));
    return c;
  };
  return {
    deps: { directory, client, latency: new LatencyWindow(), hedgeMs: config.LOUPE_QUERY_HEDGE_MS, log, counters: { calls: 0, hedged: 0, failedOver: 0 } },
    close() {
      directory.close();
      for (const c of clients.values()) c.close();
    },
  };
}
