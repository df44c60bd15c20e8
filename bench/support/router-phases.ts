import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Redis } from 'ioredis';
import { createLogger, loadConfig, type IndexLayout } from '@loupe/shared';
import type { ShardFanout } from '../../services/query/src/query.service.ts';
import type { SearchResponse } from '../../services/query/src/search-types.ts';
import { openRouter } from '../../services/query/src/router/open-router.ts';
import { ShardRouter } from '../../services/query/src/router/shard-router.ts';
import { spawnSearcher, type SearcherProcess } from '../../test/support/searcher-process.ts';

const TOKEN = 'bench-searcher-secret';
const HEARTBEAT_MS = 1000;
const TIMEOUT_MS = 30_000;
const logger = createLogger('bench', 'error');

/** Runs image query `i` (a replayed encoded query) with `fanout` as the shard search. */
export type QueryOn = (fanout: ShardFanout) => (i: number) => Promise<SearchResponse>;

export interface RouterFigures {
  /** Per query: the fan-out through the router, the slowest searcher's own time (Server-Timing), their difference. */
  routedMs: number[];
  slowestSearcherMs: number[];
  overheadMs: number[];
  /** The image query's search part (fan-out and fusion), as the query service times it. */
  searchMs: number[];
  searcherRssMb: number[];
}

export interface ReplicaKillFigures {
  queries: number;
  failed: number;
  partial: number;
  p50BeforeMs: number;
  p50AfterMs: number;
  maxAfterMs: number;
}

export const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))];

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** `parts` shard ranges covering the layout's shards (16 in 4: 0-3, 4-7, 8-11, 12-15). */
function ranges(shards: number, parts: number): string[] {
  return Array.from({ length: parts }, (_, i) => `${Math.floor((i * shards) / parts)}-${Math.floor(((i + 1) * shards) / parts) - 1}`);
}

/**
 * Searcher processes over the index at `redisUrl`, behind a ShardRouter in this process (the
 * query service's side of LOUPE_SEARCHERS=registry). Started two at a time: each loads its shards
 * on the same cores.
 */
async function withSearchers<T>(redisUrl: string, redis: Redis, layout: IndexLayout, shardRanges: string[], run: (router: ShardRouter, searchers: SearcherProcess[]) => Promise<T>): Promise<T> {
  const env = { REDIS_URL: redisUrl, LOUPE_SEARCHER_TOKEN: TOKEN, LOUPE_SEARCHER_HEARTBEAT_MS: String(HEARTBEAT_MS), LOUPE_QUERY_TIMEOUT_MS: String(TIMEOUT_MS) };
  const searchers: SearcherProcess[] = [];
  let close = () => {};
  try {
    for (let i = 0; i < shardRanges.length; i += 2) searchers.push(...(await Promise.all(shardRanges.slice(i, i + 2).map((r) => spawnSearcher(env, r, 900_000)))));
    const opened = await openRouter(loadConfig({ ...env, LOUPE_SEARCHERS: 'registry' }), redis, logger);
    close = opened.close;
    const router = new ShardRouter('loupe', layout, opened.deps);
    if (!(await router.waitReady(900_000))) throw new Error(`searchers not ready: shards ${router.missing().join(', ')}`);
    return await run(router, searchers);
  } finally {
    close();
    await Promise.all(searchers.map((s) => s.stop()));
  }
}

/**
 * The index over 4 searcher processes, each a quarter of the shards: `queries` image queries one
 * at a time (3 untimed first). The router's overhead is a query's fan-out time in the router less
 * the slowest searcher's own time for it: the hop, the answers' decoding and the merge.
 */
export async function measureRouter(redisUrl: string, redis: Redis, layout: IndexLayout, queries: number, queryOn: QueryOn): Promise<RouterFigures> {
  return withSearchers(redisUrl, redis, layout, ranges(layout.shards, 4), async (router, searchers) => {
    let last = { wall: 0, searcher: 0 };
    const timed: ShardFanout = {
      async search(q, timeoutMs) {
        const t = performance.now();
        const r = await router.search(q, timeoutMs);
        last = { wall: performance.now() - t, searcher: r.slowestSearcherMs ?? NaN };
        return r;
      },
    };
    const run = queryOn(timed);
    const out: RouterFigures = { routedMs: [], slowestSearcherMs: [], overheadMs: [], searchMs: [], searcherRssMb: [] };
    for (let i = -3; i < queries; i++) {
      const r = await run(i + 3);
      if (r.partial) throw new Error(`routed query: shards ${r.shards.failed} did not answer`);
      if (i < 0) continue;
      out.routedMs.push(last.wall);
      out.slowestSearcherMs.push(last.searcher);
      out.overheadMs.push(last.wall - last.searcher);
      out.searchMs.push(r.timings!.search);
    }
    out.searcherRssMb = searchers.map((s) => rssMb(s.pid));
    return out;
  });
}

/**
 * Two halves of the shards, two replicas each: `concurrency` loops of image queries for `seconds`,
 * one replica of the first half SIGKILLed a third of the way in. Counts queries that failed and
 * answers that missed a shard.
 */
export async function measureReplicaKill(redisUrl: string, redis: Redis, layout: IndexLayout, seconds: number, concurrency: number, queryOn: QueryOn): Promise<ReplicaKillFigures> {
  const [a, b] = ranges(layout.shards, 2);
  return withSearchers(redisUrl, redis, layout, [a, a, b, b], async (router, searchers) => {
    const out = { queries: 0, failed: 0, partial: 0 };
    const before: number[] = [];
    const after: number[] = [];
    let killed = false;
    const end = Date.now() + seconds * 1000;
    const killer = setTimeout(() => {
      killed = true;
      void searchers[0].kill();
    }, (seconds * 1000) / 3);
    console.log(`  replica kill: load average ${loadavg()[0].toFixed(2)} at the start`);
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        const run = queryOn(router);
        for (let i = w; Date.now() < end; i += concurrency) {
          const t = performance.now();
          out.queries++;
          try {
            const r = await run(i);
            (killed ? after : before).push(performance.now() - t);
            if (r.partial) out.partial++;
          } catch {
            out.failed++;
          }
        }
      }),
    );
    clearTimeout(killer);
    return { ...out, p50BeforeMs: quantile(before, 0.5), p50AfterMs: quantile(after, 0.5), maxAfterMs: Math.max(...after) };
  });
}
