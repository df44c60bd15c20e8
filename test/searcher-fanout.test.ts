import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { codeBytes, createLogger, levelSizes, shardOf, SeededRandom } from '@loupe/shared';
import { SearchInputError, SearcherPool, type FanoutResult, type SearchQuery } from '../services/query/src/searcher/index.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { ShardWriter, bruteForce, testLayout, waitFor, type ExpectedObject } from './searcher-helpers.ts';

const SHARDS = 4;
const layout = testLayout(SHARDS);
const cb = codeBytes(layout);
const sizes = levelSizes(layout);

let server: TestRedis;
let redis: Redis;
let writer: ShardWriter;
let pool: SearcherPool;
const rand = new SeededRandom(21);

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  writer = new ShardWriter(redis, layout, rand);
  await writer.init();
  for (let i = 0; i < 1200; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => `photos/${i + j}.jpg`).map((key) => writer.put(key, shardOf(key, SHARDS))));
  }
  for (const o of writer.live().filter((_, i) => i % 9 === 4)) await writer.remove(o.key);
  pool = new SearcherPool({ workers: SHARDS, stuckWorkerMs: 1500, logger: createLogger('query-test', 'error') });
  await pool.start({ REDIS_URL: server.url, LOUPE_QUERY_TIMEOUT_MS: 2000, LOUPE_LOG_LEVEL: 'error' });
  expect(await pool.waitReady(60_000)).toBe(true);
});

afterAll(async () => {
  await pool?.close();
  redis?.disconnect();
  await server?.stop();
});

function makeQueries(n: number): SearchQuery[] {
  const all = writer.live();
  return Array.from({ length: n }, (_, i) => {
    const level = i % sizes.length;
    const o = all[rand.below(all.length)];
    const view = rand.below(sizes[level]);
    const base = o.levels[level].subarray(view * cb, (view + 1) * cb);
    const code = i % 4 === 3 ? rand.bytes(cb) : rand.flipBits(base, i % 6);
    return { level, code, k: [1, 5, 10, 40][i % 4], maxDistance: i % 5 === 2 ? 22 : undefined };
  });
}

/** The expected merged answer of `q` over the given objects (keys and sizes included). */
function expected(objects: ExpectedObject[], q: SearchQuery) {
  const byShardId = new Map(objects.map((o) => [`${o.shard}:${o.id}`, o]));
  return bruteForce(objects, layout, q.level, q.code, q.k, q.maxDistance).map((h) => {
    const o = byShardId.get(`${h.shard}:${h.id}`)!;
    return { ...h, key: o.key, level: q.level, width: o.width, height: o.height };
  });
}

function expectMatches(res: FanoutResult, queries: SearchQuery[], objects: ExpectedObject[]): void {
  queries.forEach((q, i) => expect(res.results[i]).toEqual(expected(objects, q)));
}

describe('SearcherPool (shard workers + fan-out)', () => {
  it('merges top-k across 4 shard workers exactly like a brute force over all objects', async () => {
    const queries = makeQueries(24);
    const res = await pool.search(queries, 5000);
    expect(res.shards).toEqual({ total: SHARDS, ok: SHARDS, failed: [] });
    expectMatches(res, queries, writer.live());
    // The hits really come from several shards.
    expect(new Set(res.results.flat().map((h) => h.shard)).size).toBe(SHARDS);
    const stats = await pool.stats();
    expect(stats).toMatchObject({ ready: true, objects: 1200, live: writer.live().length, deleted: 1200 - writer.live().length });
    expect(stats.shards.map((s) => s.ok)).toEqual([true, true, true, true]);
  });

  it('sees writes, replacements and deletes through the worker threads', async () => {
    const key = 'photos/new-one.jpg';
    const o = await writer.put(key, shardOf(key, SHARDS));
    const q = { level: 2, code: o.levels[2].slice(3 * cb, 4 * cb), k: 1, maxDistance: 0 };
    await waitFor('new object found', async () => (await pool.search([q])).results[0][0]?.key === key);
    const again = await writer.put(key, o.shard);
    await waitFor('old codes gone', async () => (await pool.search([q])).results[0].length === 0);
    const q2 = { level: 0, code: again.levels[0], k: 3 };
    expectMatches(await pool.search([q2]), [q2], writer.live());
    await writer.remove(key);
    await waitFor('deleted object gone', async () => (await pool.search([{ ...q2, maxDistance: 0 }])).results[0].length === 0);
  });

  it('rejects bad queries with SearchInputError', async () => {
    await expect(pool.search([{ level: 3, code: new Uint8Array(cb), k: 1 }])).rejects.toBeInstanceOf(SearchInputError);
    await expect(pool.search([{ level: 0, code: new Uint8Array(cb + 1), k: 1 }])).rejects.toBeInstanceOf(SearchInputError);
    await expect(pool.search([{ level: 0, code: new Uint8Array(cb), k: 0 }])).rejects.toBeInstanceOf(SearchInputError);
  });

  it('names hits from the mirrors: a search reads no id -> key list from Redis', async () => {
    const queries = makeQueries(8);
    // Shard 3's id -> key lists become strings: any LINDEX of them would fail with WRONGTYPE.
    const lists = await redis.keys('loupe:{s3}:i2k:*');
    expect(lists.length).toBeGreaterThan(0);
    for (const list of lists) {
      await redis.rename(list, `${list}.saved`);
      await redis.set(list, 'not a list');
    }
    try {
      const res = await pool.search(queries, 3000);
      expect(res.shards).toEqual({ total: SHARDS, ok: SHARDS, failed: [] });
      expect(res.stale).toBe(false);
      expectMatches(res, queries, writer.live());
    } finally {
      for (const list of lists) {
        await redis.del(list);
        await redis.rename(`${list}.saved`, list);
      }
    }
  });

  it('returns flagged partial results when a worker is stuck, and restarts it', async () => {
    const queries = makeQueries(8);
    pool.stallWorker(2, 60_000);
    const t0 = Date.now();
    const res = await pool.search(queries, 300);
    expect(Date.now() - t0).toBeLessThan(2000); // the 300 ms deadline, not the 60 s stall
    expect(res.shards).toEqual({ total: SHARDS, ok: SHARDS - 1, failed: [2] });
    expectMatches(res, queries, writer.live().filter((o) => o.shard !== 2));
    // The watchdog (stuckWorkerMs 1500) terminates the stuck thread; a new one loads the shard.
    await waitFor('stuck worker replaced', async () => (await pool.stats(200)).workerRestarts >= 1, 10_000);
    expect(await pool.waitReady(30_000)).toBe(true);
    expectMatches(await pool.search(queries, 5000), queries, writer.live());
  });

  it('returns flagged partial results at once when a worker dies, and restarts it', async () => {
    const queries = makeQueries(8);
    const restarts = (await pool.stats()).workerRestarts;
    // A search waiting on a busy worker ends as soon as that worker dies, not at its deadline.
    pool.stallWorker(1, 20_000);
    const t0 = Date.now();
    const pending = pool.search(queries, 8000);
    await new Promise((r) => setTimeout(r, 100));
    await pool.killWorker(1);
    const res = await pending;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(res.shards).toEqual({ total: SHARDS, ok: SHARDS - 1, failed: [1] });
    expectMatches(res, queries, writer.live().filter((o) => o.shard !== 1));
    // While it restarts, its shard fails at once.
    expect(pool.ready()).toBe(false);
    const t1 = Date.now();
    const meanwhile = await pool.search(queries, 3000);
    expect(Date.now() - t1).toBeLessThan(2500); // not the 3 s deadline
    expect(meanwhile.shards.failed).toEqual([1]);
    expect(await pool.waitReady(30_000)).toBe(true);
    expect((await pool.stats()).workerRestarts).toBe(restarts + 1);
    const full = await pool.search(queries, 5000);
    expect(full.shards.ok).toBe(SHARDS);
    expectMatches(full, queries, writer.live());
  });
});

describe('SearcherPool before any index exists', () => {
  it('flags every shard as failed, then starts its workers once the indexer creates the layout', async () => {
    const empty = await startRedis();
    const conn = new Redis(empty.url);
    const late = new SearcherPool({ layoutPollMs: 100, logger: createLogger('query-test', 'error') });
    try {
      await late.start({ REDIS_URL: empty.url, LOUPE_QUERY_TIMEOUT_MS: 500, LOUPE_SHARDS: 2 });
      expect(late.ready()).toBe(false);
      expect(late.missing()).toEqual(['the index has not been created yet (the first encoder creates it)']);
      const before = await late.search([{ level: 0, code: new Uint8Array(cb), k: 3 }]);
      expect(before).toMatchObject({ results: [[]], shards: { total: 2, ok: 0, failed: [0, 1] } });
      const w = new ShardWriter(conn, testLayout(2), new SeededRandom(31));
      await w.init();
      const o = await w.put('first.jpg', 1);
      expect(await late.waitReady(30_000)).toBe(true);
      expect(late.missing()).toEqual([]);
      expect(late.layout()).toEqual({ ...testLayout(2), namespace: 'loupe' });
      const res = await late.search([{ level: 0, code: o.levels[0], k: 3 }]);
      expect(res.shards).toEqual({ total: 2, ok: 2, failed: [] });
      expect(res.results[0]).toEqual([{ shard: 1, id: 0, key: 'first.jpg', level: 0, view: 0, distance: 0, width: o.width, height: o.height }]);
    } finally {
      await late.close();
      conn.disconnect();
      await empty.stop();
    }
  });
});
