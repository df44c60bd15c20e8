import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { LoupeConfig } from '../config/config.ts';

export type RedisClient = Redis | Cluster;

/**
 * One Redis connection (or cluster client) from the config. `blocking` connections are for
 * BullMQ workers, which need maxRetriesPerRequest: null (BullMQ production guide).
 */
export function createRedis(
  config: Pick<LoupeConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>,
  opts: { blocking?: boolean; name?: string } = {},
): RedisClient {
  const base: RedisOptions = {
    maxRetriesPerRequest: opts.blocking ? null : 20,
    connectionName: opts.name,
    enableReadyCheck: true,
  };
  if (config.REDIS_CLUSTER_NODES) {
    const nodes = config.REDIS_CLUSTER_NODES.split(',').map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
    });
    return new Cluster(nodes, { redisOptions: base, enableReadyCheck: true });
  }
  return new Redis(config.REDIS_URL, base);
}

export function isCluster(config: Pick<LoupeConfig, 'REDIS_CLUSTER_NODES'>): boolean {
  return Boolean(config.REDIS_CLUSTER_NODES);
}
