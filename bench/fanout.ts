/**
 * Fan-out overhead: the same objects indexed as 4 shards searched through the
 * SearcherPool (4 shard worker threads on the machine's 2 cores, fan-out, merge, id -> key lookups
 * in Redis) against 1 shard searched alone (a ShardMirror in this thread, no fan-out, no lookup),
 * and 1 shard through the SearcherPool (one worker: the thread hop + lookup without the split).
 *
 *   npx tsx bench/fanout.ts                       # 200k objects (64-bit codes, 14 views)
 *   BENCH_N=50000 npx tsx bench/fanout.ts
 *
 * Each query kind runs with MIH off (scan only: the split divides the scan) and on (default).
 * Prints a table and, last, one JSON line.
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { codeBytes, createLogger, levelSizes, SeededRandom } from '../packages/shared/src/index.ts';
import { syntheticLayout, syntheticLevels, writeSyntheticIndex } from './support/synthetic-index.ts';
import { SearcherPool, ShardMirror, type SearchQuery } from '../services/query/src/searcher/index.ts';
import { startRedis, type TestRedis } from '../test/support/redis-server.ts';

const N = Number(process.env.BENCH_N ?? 200_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 60);
const logger = createLogger('bench', 'error');
const summary: Record<string, unknown> = { objects: N, load_avg_start: loadavg().map((x) => +x.toFixed(2)) };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const sizes = levelSizes(syntheticLayout(1));
const cb = codeBytes(syntheticLayout(1));
const objectLevels = syntheticLevels;
const index = (redis: Redis, shards: number) => writeSyntheticIndex(redis, shards, N);

interface Kind {
  name: string;
  queries: SearchQuery[];
}

function queryKinds(): Kind[] {
  const rand = new SeededRandom(77);
  const random = () => rand.bytes(cb);
  const near = (level: number) => {
    const levels = objectLevels(rand.below(N));
    const code = levels[level].slice(0, cb);
    for (let f = 0; f < 3; f++) code[rand.below(cb)] ^= 1 << rand.below(8);
    return code;
  };
  return [
    { name: 'k=10, global level (N codes)', queries: Array.from({ length: QUERIES }, () => ({ level: 0, code: random(), k: 10 })) },
    { name: 'k=10, 3x3 level (9N codes)', queries: Array.from({ length: QUERIES }, () => ({ level: 2, code: random(), k: 10 })) },
    { name: 'radius<=4, 3x3 level, near copy', queries: Array.from({ length: QUERIES }, () => ({ level: 2, code: near(2), k: 10, maxDistance: 4 })) },
  ];
}

/** Median ms of `run` over the queries, after 3 untimed ones. */
async function timeQueries(queries: SearchQuery[], run: (q: SearchQuery) => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await run(queries[i % queries.length]);
  const ms: number[] = [];
  for (const q of queries) {
    const t = performance.now();
    await run(q);
    ms.push(performance.now() - t);
  }
  return median(ms);
}

async function measure(server: TestRedis, redis: Redis, shards: number, kinds: Kind[], results: Map<string, Record<string, number>>) {
  await redis.flushall();
  const writeS = await index(redis, shards);
  console.log(`indexed ${N.toLocaleString()} objects in ${shards} shard(s) in ${writeS.toFixed(1)} s`);
  for (const mih of [false, true]) {
    const mihMinRecords = mih ? undefined : Infinity;
    const tag = mih ? 'mih' : 'scan';
    const pool = new SearcherPool({ logger, mihMinRecords });
    await pool.start({ REDIS_URL: server.url, LOUPE_QUERY_TIMEOUT_MS: 10_000, LOUPE_LOG_LEVEL: 'error' });
    if (!(await pool.waitReady(300_000))) throw new Error('searchers did not load');
    for (const kind of kinds) {
      const ms = await timeQueries(kind.queries, async (q) => {
        const res = await pool.search([q]);
        if (res.shards.ok !== shards) throw new Error(`shards failed: ${res.shards.failed}`);
      });
      results.get(kind.name)![`pool${shards}_${tag}`] = ms;
    }
    await pool.close();
    if (shards === 1) {
      // The same single shard searched in this thread: no worker hop, no merge, no id lookup.
      const mirror = new ShardMirror(redis, { shard: 0, logger, mihMinRecords });
      await mirror.start();
      for (const kind of kinds) {
        results.get(kind.name)![`alone_${tag}`] = await timeQueries(kind.queries, (q) => mirror.search(q.level, q.code, { k: q.k, maxDistance: q.maxDistance }));
      }
      await mirror.close();
    }
  }
}

const server = await startRedis();
const redis = new Redis(server.url);
try {
  console.log(`# Loupe fan-out benchmark — ${N.toLocaleString()} objects x ${sizes.reduce((a, b) => a + b)} views, 64-bit codes, ${QUERIES} queries per kind, one at a time`);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 cores shared with other processes: noisy)`);
  const kinds = queryKinds();
  const results = new Map(kinds.map((k) => [k.name, {} as Record<string, number>]));
  await measure(server, redis, 1, kinds, results);
  await measure(server, redis, 4, kinds, results);
  const cols = ['alone', 'pool1', 'pool4'] as const;
  for (const tag of ['scan', 'mih'] as const) {
    console.log(`\n## ${tag === 'scan' ? 'MIH off (linear scan)' : 'MIH on (default: cost model picks MIH or scan)'} — median ms per query`);
    console.log(`${'query'.padEnd(34)} ${'1 shard alone'.padStart(14)} ${'pool, 1 shard'.padStart(14)} ${'pool, 4 shards'.padStart(15)} ${'4 vs alone'.padStart(11)}`);
    for (const [name, r] of results) {
      const [a, p1, p4] = cols.map((c) => r[`${c}_${tag}`]);
      console.log(`${name.padEnd(34)} ${a.toFixed(3).padStart(14)} ${p1.toFixed(3).padStart(14)} ${p4.toFixed(3).padStart(15)} ${(p4 / a).toFixed(2).padStart(10)}x`);
      for (const c of cols) summary[`${name.split(',')[0].replace(/[^a-z0-9]+/gi, '_')}_${name.includes('global') ? 'l0' : 'l2'}_${c}_${tag}_ms`] = +r[`${c}_${tag}`].toFixed(3);
    }
  }
  summary.load_avg_end = loadavg().map((x) => +x.toFixed(2));
  console.log(JSON.stringify(summary));
} finally {
  redis.disconnect();
  await server.stop();
}
