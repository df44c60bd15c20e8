import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { LoupeConfig } from '../config/config.ts';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** For BullMQ workers, which need maxRetriesPerRequest: null (BullMQ production guide). */
  blocking?: boolean;
  name?: string;
  /**
   * Pipeline services (ingest, encoder, indexer): a command waits out a Redis outage in the
   * offline queue and runs once Redis is back, instead of failing a job attempt.
   */
  waitThroughOutages?: boolean;
  /**
   * Request paths (the query service): a command not answered within this many ms fails
   * ("Command timed out"), and one in flight when the connection drops fails at the first
   * reconnect, so a request never hangs on an outage.
   */
  commandTimeoutMs?: number;
}

/** One Redis connection (or cluster client) from the config. */
export function createRedis(config: Pick<LoupeConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>, opts: RedisConnectionOptions = {}): RedisClient {
  const base: RedisOptions = {
    maxRetriesPerRequest: opts.blocking || opts.waitThroughOutages ? null : opts.commandTimeoutMs !== undefined ? 1 : 20,
    commandTimeout: opts.commandTimeoutMs,
    connectionName: opts.name,
    enableReadyCheck: true,
  };
  let client: RedisClient;
  if (config.REDIS_CLUSTER_NODES) {
    const nodes = config.REDIS_CLUSTER_NODES.split(',').map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
    });
    client = new Cluster(nodes, { redisOptions: base, enableReadyCheck: true });
  } else client = new Redis(config.REDIS_URL, base);
  return quietConnectionErrors(client);
}

/**
 * Connection errors (refused, reset) arrive as 'error' events on every reconnect attempt, which
 * ioredis prints to stderr when nobody listens. A service reports an outage once (RedisHealth);
 * commands still reject with their own errors.
 */
export function quietConnectionErrors<C extends RedisClient>(client: C): C {
  client.on('error', () => undefined);
  return client;
}

export function isCluster(config: Pick<LoupeConfig, 'REDIS_CLUSTER_NODES'>): boolean {
  return Boolean(config.REDIS_CLUSTER_NODES);
}
