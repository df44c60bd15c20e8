/**
 * Search split over searcher processes behind a router (LOUPE_SEARCHERS=registry), against the
 * same index in one process (the embedded SearcherPool, measured in the same run):
 *  1. 16 shards over 4 `loupe searcher` processes (4 shards each): p50 of a routed query, p50 of
 *     the slowest searcher's own call for the same query (each searcher called directly with its
 *     shards), the router's overhead over it, and each searcher's RSS;
 *  2. 2 ranges x 2 replicas: queries for BENCH_SECONDS (60) from BENCH_CONCURRENCY (4) loops, one
 *     searcher SIGKILLed a third of the way in; failed and partial answers counted.
 *
 *   npm run bench:scale-router                   # 200k objects (64-bit codes, 14 views)
 *   BENCH_N=20000 BENCH_SECONDS=20 npm run bench:scale-router
 *
 * Prints tables and, last, one JSON line.
 */
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { codeBytes, createLogger, loadConfig, SeededRandom, type LoupeConfig } from '@loupe/shared';
import { SearcherPool, type SearchQuery } from '../services/query/src/searcher/index.ts';
import { validateQuery } from '../services/query/src/searcher/searcher-pool.ts';
import { openRouter } from '../services/query/src/router/open-router.ts';
import { ShardRouter } from '../services/query/src/router/shard-router.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { spawnSearcher, type SearcherProcess } from '../test/support/searcher-process.ts';
import { syntheticLayout, syntheticLevels, writeSyntheticIndex } from './support/synthetic-index.ts';

const N = Number(process.env.BENCH_N ?? 200_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const SHARDS = 16;
const TOKEN = 'bench-searcher-secret';
const HEARTBEAT_MS = 1000;
const layout = syntheticLayout(SHARDS);
const cb = codeBytes(layout);
const logger = createLogger('bench', 'error');
const summary: Record<string, unknown> = { objects: N, shards: SHARDS, load_avg_start: loadavg().map((x) => +x.toFixed(2)) };
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const ms = (x: number) => x.toFixed(2).padStart(9);

/** A query as an image query sends it, in small: the global level, the 2x2 and 3x3 levels (k=10), and a near-copy radius search. */
function makeQueries(): SearchQuery[][] {
  const rand = new SeededRandom(5);
  return Array.from({ length: QUERIES }, () => {
    const near = syntheticLevels(rand.below(N))[2].slice(0, cb);
    for (let f = 0; f < 3; f++) near[rand.below(cb)] ^= 1 << rand.below(8);
    return [
      { level: 0, code: rand.bytes(cb), k: 10 },
      { level: 1, code: rand.bytes(cb), k: 10 },
      { level: 2, code: rand.bytes(cb), k: 10 },
      { level: 2, code: near, k: 10, maxDistance: 4 },
    ];
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startSearchers(env: Record<string, string>, ranges: string[]): Promise<SearcherProcess[]> {
  const out: SearcherProcess[] = [];
  // Two at a time: each compiles its TypeScript and loads its shards on the same 2 cores.
  for (let i = 0; i < ranges.length; i += 2) out.push(...(await Promise.all(ranges.slice(i, i + 2).map((r) => spawnSearcher(env, r, 300_000)))));
  return out;
}

async function routerFor(config: LoupeConfig, redis: Redis) {
  const router = await openRouter(config, redis, logger);
  const shards = new ShardRouter('loupe', layout, router.deps);
  if (!(await shards.waitReady(300_000))) throw new Error(`searchers not ready: ${shards.missing()}`);
  return { router, shards };
}

const server = await startRedis();
const redis = new Redis(server.url);
const searchers: SearcherProcess[] = [];
try {
  console.log(`# Loupe searchers behind a router — ${N.toLocaleString()} objects x 14 views, 64-bit codes, ${SHARDS} shards, queries of 4 probes`);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 cores, shared: every process of this run competes for them)`);
  console.log(`indexed in ${(await writeSyntheticIndex(redis, SHARDS, N)).toFixed(1)} s`);
  const queries = makeQueries();
  const env = { REDIS_URL: server.url, LOUPE_SEARCHER_TOKEN: TOKEN, LOUPE_SEARCHER_HEARTBEAT_MS: String(HEARTBEAT_MS), LOUPE_QUERY_TIMEOUT_MS: '5000' };
  const config = loadConfig({ ...env, LOUPE_SEARCHERS: 'registry' });

  // Baseline: the same index in one process (the embedded query service's pool).
  const pool = new SearcherPool({ logger });
  await pool.start({ REDIS_URL: server.url, LOUPE_QUERY_TIMEOUT_MS: 5000, LOUPE_LOG_LEVEL: 'error' });
  if (!(await pool.waitReady(300_000))) throw new Error('embedded pool did not load');
  const embedded: number[] = [];
  for (const [i, q] of queries.entries()) {
    const t = performance.now();
    const res = await pool.search(q, 5000);
    if (i >= 3) embedded.push(performance.now() - t);
    if (res.shards.ok !== SHARDS) throw new Error('embedded pool: shards failed');
  }
  await pool.close();

  // 1. Four searchers, 4 shards each.
  searchers.push(...(await startSearchers(env, ['0-3', '4-7', '8-11', '12-15'])));
  const { router, shards: routed } = await routerFor(config, redis);
  const ranges = searchers.map((s, i) => ({ s, shards: [0, 1, 2, 3].map((x) => 4 * i + x) }));
  const total: number[] = [];
  const slowest: number[] = [];
  const overhead: number[] = [];
  for (const [i, q] of queries.entries()) {
    const wire = q.map((x) => validateQuery(x, layout));
    let slow = 0;
    for (const { s, shards } of ranges) {
      const t = performance.now();
      const { replies } = await router.deps.client(s.address).search({ generation: 'loupe', timeoutMs: 5000, shards, queries: wire }, new AbortController().signal);
      if (replies.some((r) => 'error' in r)) throw new Error(`searcher ${s.address} failed a shard`);
      slow = Math.max(slow, performance.now() - t);
    }
    const t = performance.now();
    const res = await routed.search(q, 5000);
    const took = performance.now() - t;
    if (res.shards.ok !== SHARDS) throw new Error(`router: shards ${res.shards.failed} failed`);
    if (i < 3) continue;
    total.push(took);
    slowest.push(slow);
    overhead.push(took - slow);
  }
  const rss = searchers.map((s) => rssMiB(s.pid));
  console.log(`\n## One index over 4 searcher processes (4 shards each) — ms per query, ${total.length} queries one at a time`);
  console.log(`${'figure'.padEnd(44)}      p50       p90`);
  const row = (name: string, xs: number[]) => console.log(`${name.padEnd(44)}${ms(quantile(xs, 0.5))} ${ms(quantile(xs, 0.9))}`);
  row('embedded pool, 16 shards in one process', embedded);
  row('slowest searcher, called directly', slowest);
  row('router over 4 searchers', total);
  row('router overhead over the slowest searcher', overhead);
  console.log(`searcher RSS, MiB: ${rss.map((r) => r.toFixed(0)).join(', ')}`);
  Object.assign(summary, {
    embedded_p50_ms: +quantile(embedded, 0.5).toFixed(3),
    slowest_searcher_p50_ms: +quantile(slowest, 0.5).toFixed(3),
    routed_p50_ms: +quantile(total, 0.5).toFixed(3),
    router_overhead_p50_ms: +quantile(overhead, 0.5).toFixed(3),
    searcher_rss_mib: rss.map((r) => +r.toFixed(1)),
  });
  router.close();
  await Promise.all(searchers.splice(0).map((s) => s.stop()));

  // 2. Two ranges x 2 replicas; one searcher killed a third of the way in.
  searchers.push(...(await startSearchers(env, ['0-7', '0-7', '8-15', '8-15'])));
  const r2 = await routerFor(config, redis);
  let answered = 0;
  let failed = 0;
  let partial = 0;
  const before: number[] = [];
  const after: number[] = [];
  const killAt = Date.now() + (SECONDS * 1000) / 3;
  const end = Date.now() + SECONDS * 1000;
  let killed = false;
  const killer = setTimeout(() => {
    killed = true;
    void searchers[0].kill();
  }, killAt - Date.now());
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = w; Date.now() < end; i += CONCURRENCY) {
        const t = performance.now();
        try {
          const res = await r2.shards.search(queries[i % queries.length], 5000);
          (killed ? after : before).push(performance.now() - t);
          if (res.shards.ok < SHARDS) partial++;
          else answered++;
        } catch {
          failed++;
        }
      }
    }),
  );
  clearTimeout(killer);
  console.log(`\n## 2 ranges x 2 replicas, ${CONCURRENCY} query loops for ${SECONDS} s, one searcher (0-7) SIGKILLed at ${Math.round(SECONDS / 3)} s`);
  console.log(`queries ${answered + partial + failed}: whole ${answered}, partial ${partial}, failed ${failed}`);
  console.log(`ms per query before the kill p50 ${quantile(before, 0.5).toFixed(2)} p99 ${quantile(before, 0.99).toFixed(2)}; after p50 ${quantile(after, 0.5).toFixed(2)} p99 ${quantile(after, 0.99).toFixed(2)} max ${Math.max(...after).toFixed(1)}`);
  Object.assign(summary, {
    kill_run_s: SECONDS,
    kill_run_queries: answered + partial + failed,
    kill_run_partial: partial,
    kill_run_failed: failed,
    kill_run_p50_before_ms: +quantile(before, 0.5).toFixed(3),
    kill_run_p50_after_ms: +quantile(after, 0.5).toFixed(3),
    kill_run_p99_after_ms: +quantile(after, 0.99).toFixed(3),
    kill_run_max_after_ms: +Math.max(...after).toFixed(3),
  });
  r2.router.close();
  summary.load_avg_end = loadavg().map((x) => +x.toFixed(2));
  console.log(JSON.stringify(summary));
} finally {
  await Promise.all(searchers.map((s) => s.stop()));
  redis.disconnect();
  await server.stop();
}
