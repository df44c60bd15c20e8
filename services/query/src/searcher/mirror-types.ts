import type { IndexLayout, Logger } from '@loupe/shared/searcher-core';
import type { SearchStrategy } from './scan-kernel.ts';

/* What a ShardMirror answers and takes: shared by the mirror, its worker thread and the pool. */

/** Best view of one object at the searched level. */
export interface MirrorHit {
  id: number;
  /** Index of the view within its level. */
  view: number;
  distance: number;
}

export interface MirrorSearchOptions {
  /** Objects to return at most. */
  k: number;
  /** Inclusive bound on the Hamming distance. */
  maxDistance?: number;
  /** 'auto' (default): multi-index hashing when its cost estimate beats a scan; 'mih'/'scan' force one. */
  strategy?: 'auto' | SearchStrategy;
}

/** One query of searchMany: a level, a code and search() options. */
export interface MirrorQuery extends MirrorSearchOptions {
  level: number;
  code: Uint8Array;
}

export interface MirrorStats {
  shard: number;
  /** Ids held, deleted ones included. */
  objects: number;
  live: number;
  deleted: number;
  /** When the last full load finished (ISO time), null before the first. */
  loadedAt: string | null;
  /** Last change-stream entry applied. */
  lastEventId: string;
  /** Full reloads after the first load (stream trimmed past the mirror's position). */
  reloads: number;
  ready: boolean;
  /** Searches answered by multi-index hashing and by a linear scan (since start). */
  strategies?: Record<SearchStrategy, number>;
}

export interface ShardMirrorOptions {
  shard: number;
  /** Read from Redis at start when absent. */
  layout?: IndexLayout;
  logger?: Logger;
  /** GETRANGE chunk size of the bulk load (also sets how many id -> key lists one round trip reads). */
  chunkBytes?: number;
  /** XREAD BLOCK timeout, ms. */
  blockMs?: number;
  /** Stream entries applied per batch at most. */
  batchSize?: number;
  /**
   * Keep a multi-index hash per level once it holds this many records (default 4096); Infinity
   * turns MIH off (scan only). The MIH costs about 3x the codes' memory (see docs/benchmarks.md);
   * only codes of up to 64 bits get one.
   */
  mihMinRecords?: number;
}

export class SearchInputError extends Error {}
