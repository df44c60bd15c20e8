import type { IndexLayout, LoupeConfig } from '@loupe/shared';
import type { ShardAnswer } from './shard-answer-codec.ts';
import type { MirrorStats } from './mirror-types.ts';

/** What a shard worker is started with (workerData). */
export interface ShardWorkerData {
  redis: Pick<LoupeConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>;
  layout: IndexLayout;
  shards: number[];
  logLevel: string;
  chunkBytes?: number;
  blockMs?: number;
  mihMinRecords?: number;
  /** LOUPE_HUGE_PAGES: the thread's codes on transparent huge pages. */
  hugePages: boolean;
  /** LOUPE_NATIVE_SCAN: the addon's AVX-512 scan where the CPU has it. */
  nativeScan: boolean;
}

export interface WireQuery {
  level: number;
  code: Uint8Array;
  k: number;
  maxDistance?: number;
}

export type ToWorker =
  /** One message per thread for the shards of it a search asks (one clone of the queries); one result per shard. */
  | { type: 'search'; reqId: number; shards: number[]; queries: WireQuery[] }
  | { type: 'stats'; reqId: number }
  /** Fault injection for failure tests: keep the thread busy for `ms`. */
  | { type: 'stall'; ms: number };

export type FromWorker =
  | { type: 'ready'; shard: number }
  | { type: 'load-failed'; shard: number; error: string }
  | {
      type: 'result';
      reqId: number;
      shard: number;
      /** Hits per query and the key and source size of every object they name (ShardAnswerReader). */
      answer?: ShardAnswer;
      /** The mirror may lack recent changes (Redis lost, not caught up yet). */
      stale?: boolean;
      error?: string;
      inputError?: boolean;
    }
  | { type: 'stats'; reqId: number; stats: MirrorStats[] };

/**
 * The queries with their codes copied into one buffer: a message to a shard thread then clones
 * one buffer instead of one per query (or a whole encoder batch a code is a view of).
 */
export function packCodes(queries: WireQuery[]): WireQuery[] {
  const all = new Uint8Array(queries.reduce((n, q) => n + q.code.length, 0));
  let at = 0;
  return queries.map((q) => {
    all.set(q.code, at);
    return { ...q, code: all.subarray(at, (at += q.code.length)) };
  });
}
