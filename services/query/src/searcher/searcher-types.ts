import type { Logger, LoupeConfig, ProbeHit } from '@loupe/shared';
import type { MirrorStats } from './mirror-types.ts';

export interface SearchQuery {
  /** Level of the view plan to search (0 = global). */
  level: number;
  code: Uint8Array;
  k: number;
  /** Inclusive bound on the Hamming distance. */
  maxDistance?: number;
}

/** A probe hit (best view of an object at one level; width/height 0 when unknown) and where it lives. */
export interface SearchHit extends ProbeHit {
  shard: number;
  id: number;
}

export interface ShardsOutcome {
  total: number;
  ok: number;
  /** Shards that did not answer in time, are not loaded, whose worker died or whose lookups failed. */
  failed: number[];
}

export interface FanoutResult {
  /** Per query, in query order: at most k hits sorted by (distance, shard, id). */
  results: SearchHit[][];
  shards: ShardsOutcome;
  /** Some shard answered from a mirror that may lack recent changes (Redis unreachable, or just back). */
  stale: boolean;
  tookMs: number;
  /** Through searcher processes: the longest a searcher said it spent on its part (its own time, no hops). */
  slowestSearcherMs?: number;
}

export interface ShardStats extends MirrorStats {
  /** False when the shard's worker did not answer the stats request. */
  ok: boolean;
}

export interface SearcherStats {
  ready: boolean;
  objects: number;
  live: number;
  deleted: number;
  workerRestarts: number;
  shards: ShardStats[];
}

export type SearcherConfig = Pick<LoupeConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'LOUPE_QUERY_TIMEOUT_MS'> &
  Partial<Pick<LoupeConfig, 'LOUPE_LOG_LEVEL' | 'LOUPE_SHARDS' | 'LOUPE_HUGE_PAGES' | 'LOUPE_NATIVE_SCAN'>>;

export interface SearcherPoolOptions {
  /** Shards to mirror and search (a searcher process's range); default every shard of the index. */
  shards?: number[];
  /** Worker threads; default one per core, at most one per shard. Shard s goes to worker s % workers. */
  workers?: number;
  /** A worker that leaves a request unanswered this long is terminated and restarted. */
  stuckWorkerMs?: number;
  /** How often to look for the index layout when Redis has none yet. */
  layoutPollMs?: number;
  logger?: Logger;
  /** Passed to the mirrors (GETRANGE chunk size, XREAD BLOCK ms). */
  chunkBytes?: number;
  blockMs?: number;
  /** Passed to the mirrors: MIH per level from this many records (Infinity: scan only). */
  mihMinRecords?: number;
}
