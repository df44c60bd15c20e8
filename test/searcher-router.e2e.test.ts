import http2 from 'node:http2';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  beginGeneration,
  codeBytes,
  createLogger,
  DEFAULT_VIEW_PLAN,
  levelSizes,
  liveSearchers,
  loadConfig,
  promoteGeneration,
  SeededRandom,
  servedGenerations,
  shardOf,
  type IndexLayout,
} from '@loupe/shared';
import { startQuery } from '@loupe/query';
import { SearcherPool, type SearchQuery } from '../services/query/src/searcher/index.ts';
import { openRouter } from '../services/query/src/router/open-router.ts';
import { ShardRouter, type RouterDeps } from '../services/query/src/router/shard-router.ts';
import { SearcherRpcClient, SearcherRpcError } from '../services/query/src/searcher-rpc/searcher-rpc-client.ts';
import { SHARD_SEARCH_PATH } from '../services/query/src/searcher-rpc/searcher-rpc-server.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { spawnSearcher, type SearcherProcess } from './support/searcher-process.ts';
import { ShardWriter, bruteForce, testLayout, waitFor, type ExpectedObject } from './searcher-helpers.ts';

const SHARDS = 8;
const TOKEN = 'searcher-secret-1';
const HEARTBEAT_MS = 300;
const layout = testLayout(SHARDS);
const cb = codeBytes(layout);
const sizes = levelSizes(layout);
const rand = new SeededRandom(77);
const log = createLogger('router-test', 'error');

let server: TestRedis;
let redis: Redis;
let writer: ShardWriter;
/** Generation 2's objects (6 shards), written by the generation test. */
let writer2: ShardWriter;
let reference: SearcherPool;
let env: Record<string, string>;
let router: { deps: RouterDeps; close(): void };
/** Addresses the router called, in order. */
const called: string[] = [];
const searchers: SearcherProcess[] = [];

function makeQueries(n: number, objects: ExpectedObject[], l: IndexLayout = layout): SearchQuery[] {
  const lvSizes = levelSizes(l);
  return Array.from({ length: n }, (_, i) => {
    const level = i % lvSizes.length;
    const o = objects[rand.below(objects.length)];
    const view = rand.below(lvSizes[level]);
    const code = i % 4 === 3 ? rand.bytes(cb) : rand.flipBits(o.levels[level].subarray(view * cb, (view + 1) * cb), i % 6);
    return { level, code, k: [1, 5, 10, 40][i % 4], maxDistance: i % 5 === 2 ? 22 : undefined };
  });
}

/** The merged answer a brute force over `objects` gives (keys and sizes included). */
function expected(objects: ExpectedObject[], q: SearchQuery, l: IndexLayout = layout) {
  const byShardId = new Map(objects.map((o) => [`${o.shard}:${o.id}`, o]));
  return bruteForce(objects, l, q.level, q.code, q.k, q.maxDistance).map((h) => {
    const o = byShardId.get(`${h.shard}:${h.id}`)!;
    return { ...h, key: o.key, level: q.level, width: o.width, height: o.height };
  });
}

function routerFor(namespace = 'loupe', l: IndexLayout = layout): ShardRouter {
  return new ShardRouter(namespace, l, router.deps);
}

async function start(shards: string): Promise<SearcherProcess> {
  const s = await spawnSearcher(env, shards);
  searchers.push(s);
  return s;
}

beforeAll(async () => {
  // AOF: the outage test restarts Redis, which must come back with the index.
  server = await startRedis(['--appendonly', 'yes']);
  redis = new Redis(server.url);
  redis.on('error', () => undefined); // refused connections during the outage test
  writer = new ShardWriter(redis, layout, rand);
  await writer.init();
  for (let i = 0; i < 800; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => `photos/${i + j}.jpg`).map((key) => writer.put(key, shardOf(key, SHARDS))));
  }
  for (const o of writer.live().filter((_, i) => i % 11 === 3)) await writer.remove(o.key);
  env = { REDIS_URL: server.url, LOUPE_SEARCHER_TOKEN: TOKEN, LOUPE_SEARCHER_HEARTBEAT_MS: String(HEARTBEAT_MS) };
  // Two searchers with disjoint ranges, and the reference: one pool of the query service's kind holding every shard.
  // In this order in `searchers`: [a1 (0-3), b1 (4-7), ...].
  const [a1, b1, ref] = await Promise.all([
    spawnSearcher(env, '0-3'),
    spawnSearcher(env, '4-7'),
    (async () => {
      const pool = new SearcherPool({ workers: 2, logger: log });
      await pool.start({ REDIS_URL: server.url, LOUPE_QUERY_TIMEOUT_MS: 5000, LOUPE_LOG_LEVEL: 'error' });
      return pool;
    })(),
  ]);
  searchers.push(a1, b1);
  reference = ref;
  expect(await reference.waitReady(60_000)).toBe(true);
  const config = loadConfig({ ...env, LOUPE_SEARCHERS: 'registry', LOUPE_QUERY_HEDGE_MS: '40' });
  router = await openRouter(config, redis, log);
  const client = router.deps.client;
  router.deps.client = (address) => {
    called.push(address);
    return client(address);
  };
  expect(await routerFor().waitReady(60_000)).toBe(true);
}, 180_000);

afterAll(async () => {
  router?.close();
  await Promise.all(searchers.map((s) => s.stop()));
  await reference?.close();
  redis?.disconnect();
  await server?.stop();
});

describe('searcher processes behind a router', () => {
  it('searchers owning disjoint shard ranges give the same hits as one pool holding every shard', async () => {
    const r = routerFor();
    const queries = makeQueries(24, writer.live());
    called.length = 0;
    const [routed, local] = await Promise.all([r.search(queries, 5000), reference.search(queries, 5000)]);
    expect(routed.shards).toEqual({ total: SHARDS, ok: SHARDS, failed: [] });
    expect(local.shards.ok).toBe(SHARDS);
    expect(routed.results).toEqual(local.results);
    queries.forEach((q, i) => expect(routed.results[i]).toEqual(expected(writer.live(), q)));
    expect(new Set(routed.results.flat().map((h) => h.shard)).size).toBe(SHARDS);
    // One call per searcher: each got the shards of its range in one request.
    expect(called.sort()).toEqual(searchers.slice(0, 2).map((s) => s.address).sort());
  });

  it('makes the query service a router with LOUPE_SEARCHERS=registry: its answers are the embedded query service\'s', async () => {
    const common = { REDIS_URL: server.url, LOUPE_QUERY_PORT: '0', LOUPE_LOG_LEVEL: 'warn', LOUPE_QUERY_WORKERS: '1', LOUPE_VERIFY_FROM_SOURCE: 'false', LOUPE_MODEL: 'builtin:mobilenetv2-rp64' };
    const [embedded, routed] = await Promise.all([
      startQuery(loadConfig(common)),
      startQuery(loadConfig({ ...common, LOUPE_SEARCHERS: 'registry', LOUPE_SEARCHER_TOKEN: TOKEN, LOUPE_SEARCHER_HEARTBEAT_MS: String(HEARTBEAT_MS) })),
    ]);
    try {
      const ask = async (port: number, body: object) => {
        const res = await fetch(`http://127.0.0.1:${port}/v1/search?k=20`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(200);
        const { tookMs: _, ...rest } = await res.json();
        return rest;
      };
      await waitFor('both ready', async () => (await fetch(`http://127.0.0.1:${embedded.port}/readyz`)).ok && (await fetch(`http://127.0.0.1:${routed.port}/readyz`)).ok, 60_000);
      for (const o of writer.live().slice(0, 6)) {
        const body = { key: o.key };
        const [a, b] = await Promise.all([ask(embedded.port, body), ask(routed.port, body)]);
        expect(b).toEqual(a);
        expect(b.shards).toEqual({ total: SHARDS, ok: SHARDS });
        expect(b.hits[0]).toMatchObject({ key: o.key, distance: 0 });
      }
      const metrics = await (await fetch(`http://127.0.0.1:${routed.port}/metrics`)).text();
      expect(metrics).toMatch(/^loupe_router_searchers 2$/m);
      expect(metrics).toMatch(/^# TYPE loupe_router_calls_total counter$/m);
    } finally {
      await Promise.all([embedded.close(), routed.close()]);
    }
  });

  it('refuses a request without the shared secret, or with another one', async () => {
    const [a] = searchers;
    const session = http2.connect(`http://${a.address}`);
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': SHARD_SEARCH_PATH });
        let status = 0;
        let body = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (c: Buffer) => (body += c.toString()));
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', reject);
        stream.end(Buffer.from('LSQ1'));
      });
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'Unauthorized' });
    } finally {
      session.close();
    }
    const intruder = new SearcherRpcClient(a.address, 'not-the-secret');
    const queries = makeQueries(1, writer.live());
    const call = intruder.search({ generation: 'loupe', timeoutMs: 1000, shards: [0], queries }, new AbortController().signal);
    await expect(call).rejects.toThrow(SearcherRpcError);
    await expect(call).rejects.toMatchObject({ status: 401 });
    intruder.close();
    // The same call with the secret is answered.
    const friend = new SearcherRpcClient(a.address, TOKEN);
    const { replies, searcherMs } = await friend.search({ generation: 'loupe', timeoutMs: 1000, shards: [0], queries }, new AbortController().signal);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toHaveProperty('answer');
    // It says how long it took itself (Server-Timing), which the router's overhead is measured against.
    expect(searcherMs).toBeGreaterThan(0);
    friend.close();
  });

  it('uses a new searcher once it is ready, and hedges to it when a replica stalls', async () => {
    const r = routerFor();
    const a2 = await start('0-3');
    // Listed for a shard once its mirror is loaded (each shard on its own).
    await waitFor('the new searcher in the router\'s replica lists', () => [0, 1, 2, 3].every((shard) => router.deps.directory.replicas('loupe', shard).some((s) => s.id === a2.id)), 30_000);
    called.length = 0;
    const queries = makeQueries(8, writer.live());
    for (let i = 0; i < 4; i++) {
      const res = await r.search(queries, 5000);
      expect(res.shards.ok).toBe(SHARDS);
    }
    // Requests alternate between the two replicas of 0-3.
    expect(called.filter((a) => a === a2.address).length).toBeGreaterThanOrEqual(2);

    // A replica that stops answering (SIGSTOP: connected, silent): after the hedge delay (40 ms)
    // the other replica is asked, and every answer is whole, long before the 5 s deadline.
    const a1 = searchers[0];
    const hedgedBefore = router.deps.counters.hedged;
    process.kill(a1.pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 4; i++) {
        const res = await r.search(queries, 5000);
        expect(res.shards).toEqual({ total: SHARDS, ok: SHARDS, failed: [] });
        expect(res.tookMs).toBeLessThan(1000);
        queries.forEach((q, qi) => expect(res.results[qi]).toEqual(expected(writer.live(), q)));
      }
      expect(router.deps.counters.hedged - hedgedBefore).toBeGreaterThanOrEqual(4);
    } finally {
      process.kill(a1.pid, 'SIGCONT');
    }
  });

  it('skips a searcher that dies at once (its replica answers), and answers partial only when no replica of a shard is left', async () => {
    const r = routerFor();
    const [a1, b1, a2] = searchers;
    const queries = makeQueries(8, writer.live());
    const failedOverBefore = router.deps.counters.failedOver;
    await a1.kill();
    const killedAt = Date.now();
    const res = await r.search(queries, 5000);
    const whole = Date.now() - killedAt;
    expect(res.shards).toEqual({ total: SHARDS, ok: SHARDS, failed: [] });
    queries.forEach((q, i) => expect(res.results[i]).toEqual(expected(writer.live(), q)));
    expect(whole).toBeLessThan(HEARTBEAT_MS);
    expect(router.deps.counters.failedOver - failedOverBefore).toBe(4); // shards 0-3, once

    await a2.kill();
    const t0 = Date.now();
    const partial = await r.search(queries, 5000);
    expect(Date.now() - t0).toBeLessThan(HEARTBEAT_MS);
    expect(partial.shards).toEqual({ total: SHARDS, ok: 4, failed: [0, 1, 2, 3] });
    const left = writer.live().filter((o) => o.shard >= 4);
    queries.forEach((q, i) => expect(partial.results[i]).toEqual(expected(left, q)));
    // Their registrations expire (3 heartbeats): the router then reports the shards as missing.
    await waitFor('the dead searchers to leave the registry', async () => (await liveSearchers(redis)).every((s) => s.id !== a1.id && s.id !== a2.id), 10 * HEARTBEAT_MS);
    await waitFor('the router to see it', () => !r.ready(), 3 * HEARTBEAT_MS);
    expect(r.missing()).toEqual(['no searcher holds shards 0-3 of generation loupe ready']);
    expect(b1.proc.exitCode).toBeNull();
  });

  it('takes every searcher to a new index generation, even one with another shard count', async () => {
    await start('0-3');
    await routerFor().waitReady(60_000);
    const live = searchers.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null);
    expect(live).toHaveLength(2);
    // Generation 2: 6 shards, so the 4-7 searcher holds 4 and 5 of it.
    const gen2: IndexLayout & { namespace: string } = { shards: 6, bits: 64, plan: DEFAULT_VIEW_PLAN, model: 'test-model-2', namespace: 'loupe@gen2' };
    await beginGeneration(redis, gen2);
    writer2 = new ShardWriter(redis, gen2, rand);
    for (let i = 0; i < 300; i++) await writer2.put(`photos/${i}.jpg`, shardOf(`photos/${i}.jpg`, 6));
    await promoteGeneration(redis, gen2.namespace);

    await waitFor(
      'every searcher to hold generation 2',
      async () => {
        const regs = await liveSearchers(redis);
        return live.every((s) => {
          const g = regs.find((x) => x.id === s.id)?.generations[gen2.namespace];
          return g !== undefined && g.length === (s === live[0] ? 2 : 4);
        });
      },
      60_000,
    );
    await waitFor('every searcher to report serving it', async () => {
      const serving = await servedGenerations(redis, 15_000);
      return live.every((s) => serving.get(`searcher:${s.id}`) === gen2.namespace);
    }, 10_000);

    const r2 = routerFor(gen2.namespace, gen2);
    expect(await r2.waitReady(10_000)).toBe(true);
    const queries = makeQueries(12, writer2.live(), gen2);
    const res = await r2.search(queries, 5000);
    expect(res.shards).toEqual({ total: 6, ok: 6, failed: [] });
    queries.forEach((q, i) => expect(res.results[i]).toEqual(expected(writer2.live(), q, gen2)));
    // A request for the old generation after the searchers dropped it gets per-shard errors, not wrong hits.
    await waitFor('the old generation to be dropped', async () => (await liveSearchers(redis)).every((s) => !('loupe' in s.generations)), 20_000);
    const old = await routerFor().search(makeQueries(2, writer.live()), 2000);
    expect(old.shards.ok).toBe(0);
  });

  it('keeps routing to the searchers it knew through a Redis outage, answering stale, and fresh once Redis is back', async () => {
    const gen2 = writer2.layout;
    const r2 = routerFor('loupe@gen2', gen2);
    const live = searchers.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null);
    const queries = makeQueries(4, writer2.live(), gen2);
    const before = await r2.search(queries, 5000);
    expect(before.shards.ok).toBe(6);
    await server.stop();
    try {
      // Longer than a registration lives (3 heartbeats): the router keeps the list it read last.
      await new Promise((r) => setTimeout(r, 4 * HEARTBEAT_MS));
      const during = await r2.search(queries, 5000);
      expect(during.shards).toEqual({ total: 6, ok: 6, failed: [] });
      expect(during.stale).toBe(true);
      expect(during.results).toEqual(before.results);
    } finally {
      await server.restart();
    }
    await waitFor('the searchers to register again', async () => {
      const regs = await liveSearchers(redis);
      return live.every((s) => regs.some((x) => x.id === s.id));
    }, 20_000);
    await waitFor('fresh answers', async () => {
      const res = await r2.search(queries, 5000);
      return res.shards.ok === 6 && !res.stale;
    }, 30_000);
  });
});
