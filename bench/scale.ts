/**
 * The shard search at scale: the default model's index layout (its view plan and code lengths),
 * N synthetic images (random codes at every level) plus the real samples, written through the
 * indexer (IndexerService for the samples, ShardRepository scripts for the rest) into a private
 * redis-server. The samples and their queries (a 60% copy, a 25% and a 10% crop of each) are
 * encoded once by the real model in a child process, so this process holds only the searchers.
 *
 * The searchers (a SearcherPool with the service's defaults, started fresh from Redis as after a
 * restart): ready time, process RSS after a full GC, the search part of image queries
 * (QueryService's `search` timing: the fan-out of the query's probes and the fusion, replaying the
 * encoded queries), the process's CPU time per image query, and searches by key (the whole call,
 * Redis lookup included). The search is the exact scan, which is also the baseline (no
 * multi-index hash for codes this long, no approximation): recall@10 against it is 1.
 *
 * Then the same index through `loupe searcher` processes behind a router (router-phases.ts; skip
 * with `--router false`): 4 searchers, a quarter of the shards each (the same image queries one at
 * a time: the router's overhead over the slowest searcher's own time, each searcher's RSS); then
 * two halves x two replicas under 4 query loops for `--kill-seconds` (60), one replica SIGKILLed a
 * third of the way in (failed and partial answers).
 *
 *   npm run bench:scale                                  # --n 100000
 *   npm run bench:scale -- --n 1000000 --queries 126 --seed 7
 *
 * The searchers run four times: as configured by default (a worker thread a core, the native AVX-512
 * scan where the CPU has it, huge pages for the codes), then as baselines that each drop one more
 * part: the WebAssembly scan (LOUPE_NATIVE_SCAN=false), also ordinary pages (LOUPE_HUGE_PAGES=false),
 * also two threads a core (the earlier default).
 *
 * Before the searchers start, the scan kernel alone times a scan in a child process
 * (kernel-speed.ts), on one thread and on two at once: this VM's speed moves from day to day, and the
 * run's times are read against it. From the two-thread figure comes the least time an exact scan can
 * take here (every record of a searched level read once), printed and in the JSON as `scan_floor_ms`.
 * Queries run one at a time. Prints a table and, last, one JSON line.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nativePopcountScan } from '@loupe/native';
import { Redis } from 'ioredis';
import {
  createLogger,
  DEFAULT_SHARDS,
  ensureIndexLayout,
  isSearchedLevel,
  levelSizes,
  ShardKeys,
  shippedArtifact,
  type IndexLayout,
  type RedisClient,
} from '../packages/shared/src/index.ts';
import { IndexerService } from '../services/indexer/src/indexer.service.ts';
import { ShardRepository } from '../services/indexer/src/repository/shard.repository.ts';
import { QueryService, type QueryEncoder } from '../services/query/src/query.service.ts';
import { IndexReaderRepository } from '../services/query/src/repository/index-reader.repository.ts';
import { SearcherPool } from '../services/query/src/searcher/index.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { encodeSamplesInChild, type EncodedSamples } from './support/encode-samples.ts';
import { fillerKey, writeFillers } from './support/filler-index.ts';
import { measureKernelSpeed } from './support/kernel-speed.ts';
import { probesPerLevel } from './support/probe-plan.ts';
import { measureReplicaKill, measureRouter, quantile, type QueryOn } from './support/router-phases.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '63' },
    seed: { type: 'string', default: '1' },
    shards: { type: 'string', default: String(DEFAULT_SHARDS) },
    router: { type: 'string', default: 'true' },
    'kill-seconds': { type: 'string', default: '60' },
  },
});
const N = Number(args.n);
const QUERIES = Number(args.queries);
const SEED = Number(args.seed);
const SHARDS = Number(args.shards);
const KEY_QUERIES = 60;
const ROUTER = args.router !== 'false';
const KILL_SECONDS = Number(args['kill-seconds']);
const logger = createLogger('bench', 'error');
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
// A full GC before reading RSS, so garbage of the indexing and of the previous searchers is not counted.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Hands the query service the codes the child encoded (no CNN here); the candidate check keeps the order. */
function replayEncoder(samples: EncodedSamples): QueryEncoder & { next: EncodedSamples['queries'][number] | null } {
  const plan = samples.queryPlan;
  return {
    next: null,
    codeView: plan.views[0],
    verify: plan.verify,
    match: plan.match,
    async encode() {
      return this.next!.codes;
    },
    async rerank(hits) {
      return hits;
    },
  };
}

const searchParams = { k: 10, granularity: 'auto' as const };

/** Image queries replayed on `fanout` (the embedded pool, or a router over searcher processes). */
function imageQueries(samples: EncodedSamples, layout: IndexLayout, redis: RedisClient): QueryOn {
  return (fanout) => {
    const encoder = replayEncoder(samples);
    const service = new QueryService(layout, encoder, fanout, new IndexReaderRepository(redis, layout), { up: true, require() {} }, 30_000);
    return (i) => {
      encoder.next = samples.queries[i % samples.queries.length];
      return service.searchImage(Buffer.alloc(0), searchParams);
    };
  };
}

interface Measured {
  readyS: number;
  rssMb: number;
  rssAddedMb: number;
  search: number[];
  /** CPU time of this process (every searcher thread) per image query: what the search costs whatever the machine's load. */
  cpuMsPerQuery: number;
  searchByKind: Record<string, number[]>;
  keyMs: number[];
  /** CPU time of the process per search by key. */
  keyCpuMs: number;
  /** Image queries whose first hit is the sample they were made from. */
  foundFirst: number;
  strategies: Record<string, number>;
}

/** The searchers as configured but for these: thread count, the native scan and huge pages (LOUPE_NATIVE_SCAN, LOUPE_HUGE_PAGES). */
interface Variant {
  workers?: number;
  nativeScan: boolean;
  hugePages: boolean;
}

async function measure(url: string, redis: RedisClient, layout: IndexLayout, samples: EncodedSamples, variant: Variant): Promise<Measured> {
  gc();
  const rssBefore = process.memoryUsage().rss;
  const pool = new SearcherPool({ logger, workers: variant.workers });
  const t0 = performance.now();
  await pool.start({ REDIS_URL: url, LOUPE_QUERY_TIMEOUT_MS: 30_000, LOUPE_LOG_LEVEL: 'error', LOUPE_NATIVE_SCAN: variant.nativeScan, LOUPE_HUGE_PAGES: variant.hugePages });
  if (!(await pool.waitReady(600_000))) throw new Error(`searchers did not load: ${pool.missing().join('; ')}`);
  const readyS = (performance.now() - t0) / 1000;
  gc();
  const rss = process.memoryUsage().rss;
  const encoder = replayEncoder(samples);
  const health = { up: true, require() {} };
  const service = new QueryService(layout, encoder, pool, new IndexReaderRepository(redis, layout), health, 30_000);
  const out: Measured = { readyS, rssMb: mb(rss), rssAddedMb: mb(rss - rssBefore), search: [], cpuMsPerQuery: 0, searchByKind: {}, keyMs: [], keyCpuMs: 0, foundFirst: 0, strategies: {} };
  let cpu = process.cpuUsage();
  // Three untimed queries first (wasm tier-up, worker caches).
  for (let i = -3; i < QUERIES; i++) {
    const q = samples.queries[(i + samples.queries.length) % samples.queries.length];
    encoder.next = q;
    const r = await service.searchImage(Buffer.alloc(0), searchParams);
    if (r.partial) throw new Error(`partial answer: shards ${r.shards.failed}`);
    if (i < 0) {
      cpu = process.cpuUsage();
      continue;
    }
    out.search.push(r.timings!.search);
    (out.searchByKind[q.kind] ??= []).push(r.timings!.search);
    if (r.hits[0]?.key === q.name) out.foundFirst++;
  }
  const used = process.cpuUsage(cpu);
  out.cpuMsPerQuery = (used.user + used.system) / 1000 / QUERIES;
  const keys = samples.jobs.map((j) => j.key);
  for (let i = -3; i < KEY_QUERIES; i++) {
    // Half the samples' keys, half fillers'.
    const key = i % 2 ? keys[Math.abs(i) % keys.length] : fillerKey((Math.abs(i) * 7919) % N);
    if (i === 0) cpu = process.cpuUsage();
    const t = performance.now();
    await service.searchKey(key, searchParams);
    if (i >= 0) out.keyMs.push(performance.now() - t);
  }
  const keyCpu = process.cpuUsage(cpu);
  out.keyCpuMs = (keyCpu.user + keyCpu.system) / 1000 / KEY_QUERIES;
  for (const s of (await pool.stats()).shards) for (const [k, v] of Object.entries(s.strategies ?? {})) out.strategies[k] = (out.strategies[k] ?? 0) + v;
  await pool.close();
  return out;
}

/** A baseline's figures in the JSON line. */
const baselineFigures = (m: Measured) => ({
  search_p50_ms: round(quantile(m.search, 0.5)),
  search_p99_ms: round(quantile(m.search, 0.99)),
  key_p50_ms: round(quantile(m.keyMs, 0.5)),
  rss_mb: m.rssMb,
  ready_s: round(m.readyS),
});

const loadStart = loadavg().map((x) => +x.toFixed(2));
const server = await startRedis();
const redis = new Redis(server.url);
try {
  const samples = await encodeSamplesInChild();
  const layout: IndexLayout = { shards: SHARDS, bits: samples.bits, plan: (await shippedArtifact(samples.model)).header.plan, model: samples.model };
  const sizes = levelSizes(layout);
  const searched = sizes.reduce((n, views, l) => n + (isSearchedLevel(layout.plan, l) ? views : 0), 0);
  console.log(`# Loupe scale benchmark — ${N.toLocaleString()} synthetic images + ${samples.jobs.length} samples, ${SHARDS} shards, ${layout.model} (${layout.bits}-bit codes, ${searched} searched views an image), seed ${SEED}`);
  console.log(`load average at start: ${loadStart.join(' ')} (2 cores shared with other processes)`);
  await ensureIndexLayout(redis, layout);
  const indexer = new IndexerService(layout, Array.from({ length: SHARDS }, (_, s) => new ShardRepository(redis, new ShardKeys(s))), logger);
  for (const job of samples.jobs) await indexer.handle(job);
  const writeS = await writeFillers(redis, layout, N, SEED);
  const redisMb = mb(Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]));
  console.log(`indexed in ${writeS.toFixed(1)} s; Redis used_memory ${redisMb} MiB; ${QUERIES} image queries (${samples.queries.length} distinct: copy, crop-25, crop-10 of each sample), ${KEY_QUERIES} key queries, one at a time\n`);

  // The yardstick first, on an idle index: the searchers' figures below are read against it.
  const kernel = await measureKernelSpeed();
  console.log(`the scan kernel alone, one thread, this run: ${kernel.cacheNs.toFixed(2)} ns a 256-bit record in cache, ${kernel.streamNs.toFixed(2)} streaming from memory`);
  console.log(`two threads streaming at once, each: ${kernel.pairStreamNs.toFixed(2)} ns a record (${((2 * layout.bits) / 8 / kernel.pairStreamNs).toFixed(1)} GB/s together)`);
  // Every record of a level some probe searches is read at least once: with the two threads'
  // streaming speed, the least time an exact scan can take on this machine today.
  const floorMs = (levels: number[]) => (levels.reduce((n, l) => n + sizes[l], 0) * (N + samples.jobs.length) * kernel.pairStreamNs) / 2 / 1e6;
  const levelsOf = (views: EncodedSamples['queryPlan']['views']) => probesPerLevel(layout.plan, views).flatMap((n, l) => (n > 0 ? [l] : []));
  const imageFloorMs = floorMs(levelsOf(samples.queryPlan.views));
  const keyFloorMs = floorMs(levelsOf([samples.queryPlan.views[0]]));
  console.log(`least time of an exact scan at that speed (every searched record read once): image query ${imageFloorMs.toFixed(1)} ms, key query ${keyFloorMs.toFixed(1)} ms\n`);
  const current = await measure(server.url, redis, layout, samples, { nativeScan: true, hugePages: true });
  // The baselines, in the same run, each without one more part of the default: the WebAssembly scan,
  // then also ordinary pages, then also two threads a core (the earlier default).
  const wasmScan = await measure(server.url, redis, layout, samples, { nativeScan: false, hugePages: true });
  const smallPages = await measure(server.url, redis, layout, samples, { nativeScan: false, hugePages: false });
  const twoPerCore = await measure(server.url, redis, layout, samples, { nativeScan: false, hugePages: false, workers: 2 * availableParallelism() });
  const queryOn = imageQueries(samples, layout, redis);
  const routed = ROUTER ? await measureRouter(server.url, redis, layout, QUERIES, queryOn) : undefined;
  const kill = ROUTER ? await measureReplicaKill(server.url, redis, layout, KILL_SECONDS, 4, queryOn) : undefined;

  const row = (name: string, m: Measured) =>
    `${name.padEnd(28)} ${m.readyS.toFixed(1).padStart(7)} ${String(m.rssMb).padStart(8)} ${String(m.rssAddedMb).padStart(9)} ${[0.5, 0.99].map((q) => quantile(m.search, q).toFixed(1).padStart(8)).join(' ')} ${['copy', 'crop-25', 'crop-10'].map((k) => quantile(m.searchByKind[k] ?? [NaN], 0.5).toFixed(1).padStart(8)).join(' ')} ${quantile(m.keyMs, 0.5).toFixed(1).padStart(8)} ${quantile(m.keyMs, 0.99).toFixed(1).padStart(8)} ${m.cpuMsPerQuery.toFixed(1).padStart(9)} ${m.keyCpuMs.toFixed(1).padStart(9)}  ${JSON.stringify(m.strategies)}`;
  console.log(`${'searchers'.padEnd(28)} ${'ready s'.padStart(7)} ${'RSS MiB'.padStart(8)} ${'+ pool'.padStart(9)} ${'srch p50'.padStart(8)} ${'srch p99'.padStart(8)} ${'copy'.padStart(8)} ${'crop-25'.padStart(8)} ${'crop-10'.padStart(8)} ${'key p50'.padStart(8)} ${'key p99'.padStart(8)} ${'CPU ms/q'.padStart(9)} ${'CPU/key'.padStart(9)}  strategies`);
  console.log(row('exact scan (default)', current));
  console.log(row('  WebAssembly scan', wasmScan));
  console.log(row('  ... and ordinary pages', smallPages));
  console.log(row('  ... and two threads a core', twoPerCore));
  console.log(`\nimage queries whose first hit is their sample: ${current.foundFirst}/${QUERIES}; recall@10 against the exact scan: 1 (it is the exact scan)`);
  console.log(`targets at 1M: search p50 <= 60 ms, p99 <= 150 ms; key p50 <= 15 ms; RSS <= ${Math.round(600 + (2.2 * N) / 1024)} MiB (0.6 GB + 2.2 KB x N); ready <= 6 s`);
  if (routed) {
    const q = (xs: number[]) => [0.5, 0.9].map((p) => quantile(xs, p).toFixed(1).padStart(8)).join(' ');
    console.log(`\n4 searcher processes (${layout.shards / 4} shards each) behind a router, ${QUERIES} image queries one at a time    p50      p90`);
    console.log(`  image query, search part                                              ${q(routed.searchMs)}`);
    console.log(`  fan-out through the router                                            ${q(routed.routedMs)}`);
    console.log(`  slowest searcher's own time (Server-Timing)                           ${q(routed.slowestSearcherMs)}`);
    console.log(`  router overhead (the two above, per query; target p50 <= 5 ms)        ${q(routed.overheadMs)}`);
    console.log(`  searcher RSS, MiB: ${routed.searcherRssMb.join(', ')} (one process holding every shard: ${current.rssMb})`);
  }
  if (kill) {
    console.log(`\n2 halves x 2 replicas, 4 query loops for ${KILL_SECONDS} s, one searcher SIGKILLed at ${Math.round(KILL_SECONDS / 3)} s: ${kill.queries} queries, ${kill.failed} failed, ${kill.partial} partial; p50 ${kill.p50BeforeMs.toFixed(1)} ms before the kill, ${kill.p50AfterMs.toFixed(1)} after (max ${kill.maxAfterMs.toFixed(1)})`);
  }
  console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(
    JSON.stringify({
      bench: 'scale',
      n: N,
      samples: samples.jobs.length,
      shards: SHARDS,
      model: layout.model,
      search_p50_ms: round(quantile(current.search, 0.5)),
      search_p99_ms: round(quantile(current.search, 0.99)),
      search_cpu_ms: round(current.cpuMsPerQuery),
      key_p50_ms: round(quantile(current.keyMs, 0.5)),
      key_cpu_ms: round(current.keyCpuMs),
      rss_mb: current.rssMb,
      pool_rss_added_mb: current.rssAddedMb,
      ready_s: round(current.readyS),
      recall_at_10: 1,
      redis_mb: redisMb,
      found_first: current.foundFirst,
      router_overhead_p50_ms: routed ? round(quantile(routed.overheadMs, 0.5), 2) : null,
      routed_search_p50_ms: routed ? round(quantile(routed.searchMs, 0.5)) : null,
      slowest_searcher_p50_ms: routed ? round(quantile(routed.slowestSearcherMs, 0.5)) : null,
      searcher_rss_mb: routed?.searcherRssMb ?? null,
      replica_kill_queries: kill?.queries ?? null,
      replica_kill_failed: kill?.failed ?? null,
      replica_kill_partial: kill?.partial ?? null,
      kernel_ns_per_record: { cache: round(kernel.cacheNs, 2), stream: round(kernel.streamNs, 2), two_threads_stream: round(kernel.pairStreamNs, 2) },
      scan_floor_ms: { image: round(imageFloorMs), key: round(keyFloorMs) },
      native_scan: nativePopcountScan() !== null,
      wasm_scan: baselineFigures(wasmScan),
      ordinary_pages: baselineFigures(smallPages),
      two_threads_a_core: baselineFigures(twoPerCore),
      load_avg_start: loadStart,
      load_avg_end: loadavg().map((x) => +x.toFixed(2)),
    }),
  );
} finally {
  redis.disconnect();
  await server.stop();
}
process.exit(0);
