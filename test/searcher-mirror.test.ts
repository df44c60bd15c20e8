import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { SeededRandom, ShardKeys, codeBytes, createLogger, levelSizes } from '@loupe/shared';
import { ShardMirror } from '../services/query/src/searcher/index.ts';
import { ShardRepository } from '../services/indexer/src/repository/shard.repository.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { ShardWriter, bruteForce, readShard, testLayout, waitFor, type ExpectedObject } from './searcher-helpers.ts';

const layout = testLayout(1);
const cb = codeBytes(layout);
const sizes = levelSizes(layout);
const keys = new ShardKeys(0);
const logger = createLogger('query-test', 'warn');

let server: TestRedis;
let redis: Redis;
let mirror: ShardMirror | null = null;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});
afterEach(async () => {
  await mirror?.close();
  mirror = null;
});

async function startMirror(): Promise<ShardMirror> {
  mirror = new ShardMirror(redis, { shard: 0, logger, chunkBytes: 4096 });
  await mirror.start();
  return mirror;
}

/** The mirror's answer in the brute force's shape. */
function searchMirror(m: ShardMirror, level: number, query: Uint8Array, k: number, maxDistance?: number) {
  return m.search(level, query, { k, maxDistance }).map((h) => ({ shard: 0, ...h }));
}

/** Queries that hit ties, exact copies and near copies at every level. */
function queries(rand: SeededRandom, objects: ExpectedObject[], n: number): { level: number; code: Uint8Array }[] {
  const out: { level: number; code: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const level = i % sizes.length;
    const o = objects[rand.below(objects.length)];
    const view = rand.below(sizes[level]);
    const base = o.levels[level].subarray(view * cb, (view + 1) * cb);
    out.push({ level, code: i % 3 === 0 ? rand.bytes(cb) : rand.flipBits(base, i % 7) });
  }
  return out;
}

/** Compares the mirror with the shard as it is in Redis now, for every object (full scan). */
async function expectMirrorEqualsRedis(m: ShardMirror, rand: SeededRandom): Promise<void> {
  const truth = await readShard(redis, layout, 0);
  const deleted = truth.filter((o) => o.deleted).length;
  expect(m.stats()).toMatchObject({ objects: truth.length, deleted, live: truth.length - deleted });
  for (const q of queries(rand, truth, 12)) {
    expect(searchMirror(m, q.level, q.code, truth.length)).toEqual(bruteForce(truth, layout, q.level, q.code, truth.length));
  }
}

async function lastStreamId(): Promise<string> {
  const [last] = await redis.xrevrange(keys.changes, '+', '-', 'COUNT', 1);
  return last ? last[0] : '0-0';
}

describe('ShardMirror', () => {
  it('loads a shard and answers k-NN exactly like a brute force over the objects', async () => {
    const rand = new SeededRandom(11);
    const w = new ShardWriter(redis, layout, rand);
    await w.init();
    for (let i = 0; i < 1500; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => w.put(`img/${i + j}.jpg`, 0)));
    }
    for (const o of w.live().filter((_, i) => i % 10 === 3)) await w.remove(o.key);
    const m = await startMirror();
    expect(m.stats()).toMatchObject({ objects: 1500, deleted: 150, live: 1350, ready: true });
    const all = [...w.objects.values()];
    for (const q of queries(rand, all, 30)) {
      for (const [k, maxDistance] of [[1, undefined], [10, undefined], [25, 20], [200, 24]] as const) {
        const got = searchMirror(m, q.level, q.code, k, maxDistance);
        expect(got).toEqual(bruteForce(all, layout, q.level, q.code, k, maxDistance));
      }
    }
    // Several queries per level in one call (a level scanned once for all of its queries): the same hits.
    const batch = queries(rand, all, 30).map((q, i) => ({ ...q, k: [1, 10, 200][i % 3], maxDistance: i % 4 === 1 ? 24 : undefined }));
    expect(m.searchMany(batch)).toEqual(batch.map((q) => bruteForce(all, layout, q.level, q.code, q.k, q.maxDistance).map(({ shard, ...h }) => h)));
    // Exact copies of a live object's view come first, at distance 0.
    const o = w.live()[7];
    expect(m.search(2, o.levels[2].subarray(5 * cb, 6 * cb), { k: 1 })).toEqual([{ id: o.id, view: 5, distance: 0 }]);
  });

  it('shows writes and deletes made while it runs, also across a dropped connection', async () => {
    const rand = new SeededRandom(12);
    const w = new ShardWriter(redis, layout, rand);
    await w.init();
    const m = await startMirror();
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      if (i === 20) {
        // Drop the mirror's tailing connection: it must reconnect and go on from its last entry.
        const list = await redis.client('LIST');
        const id = String(list).split('\n').find((l) => l.includes('name=loupe-mirror-s0-tail'))?.match(/id=(\d+)/)?.[1];
        expect(id).toBeDefined();
        await redis.client('KILL', 'ID', id!);
      }
      const o = await w.put(`live/${i}`, 0);
      const code = o.levels[0];
      latencies.push(await waitFor(`object ${i} to show`, () => m.search(0, code, { k: 1, maxDistance: 0 })[0]?.id === o.id));
      if (i % 4 === 0) {
        await w.remove(o.key);
        latencies.push(await waitFor(`object ${i} to go`, () => m.search(0, code, { k: 1, maxDistance: 0 }).length === 0));
      }
    }
    const sorted = latencies.slice().sort((a, b) => a - b);
    console.log(`write-to-visible latency ms: median ${sorted[sorted.length >> 1]}, max ${sorted[sorted.length - 1]} (incl. one reconnect)`);
    expect(sorted[sorted.length >> 1]).toBeLessThan(100);
    await waitFor('mirror at stream end', async () => m.stats().lastEventId === (await lastStreamId()));
    await expectMirrorEqualsRedis(m, rand);
  });

  it('stays consistent with Redis under concurrent writers, replacements and deletes', async () => {
    const rand = new SeededRandom(13);
    const w = new ShardWriter(redis, layout, rand);
    await w.init();
    for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => w.put(`base/${i + j}`, 0)));
    let stop = false;
    let searches = 0;
    const writer = async (wid: number) => {
      const conn = new Redis(server.url);
      const own = new ShardWriter(conn, layout, new SeededRandom(100 + wid));
      for (let i = 0; i < 5000 && (i < 300 || searches < 50); i++) {
        const r = rand.next();
        const key = `w${wid}/${rand.below(400)}`;
        if (r < 0.2 && own.objects.has(key)) await own.remove(key);
        else await own.put(key, 0); // new or a replacement of an earlier version
      }
      conn.disconnect();
    };
    // Writers run before, during and after the mirror's (chunked) load.
    const writing = Promise.all([0, 1, 2].map(writer));
    await new Promise((r) => setTimeout(r, 30));
    const m = await startMirror();
    const searcher = (async () => {
      while (!stop) {
        const q = rand.bytes(cb);
        const level = searches % sizes.length;
        const hits = m.search(level, q, { k: 20 });
        // Always a well-formed answer: sorted, one hit per object, valid views.
        for (let i = 1; i < hits.length; i++) {
          expect(hits[i - 1].distance < hits[i].distance || (hits[i - 1].distance === hits[i].distance && hits[i - 1].id < hits[i].id)).toBe(true);
        }
        expect(hits.every((h) => h.view >= 0 && h.view < sizes[level])).toBe(true);
        searches++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await writing;
    stop = true;
    await searcher;
    expect(searches).toBeGreaterThan(10);
    await waitFor('mirror at stream end', async () => m.stats().lastEventId === (await lastStreamId()));
    await expectMirrorEqualsRedis(m, rand);
  });

  it('finds a replaced object by its new codes and no longer by its old ones', async () => {
    const rand = new SeededRandom(14);
    const w = new ShardWriter(redis, layout, rand);
    await w.init();
    for (let i = 0; i < 200; i++) await w.put(`r/${i}`, 0);
    const m = await startMirror();
    const old = w.objects.get('r/42')!;
    const replaced = await w.put('r/42', 0);
    expect(replaced.id).toBe(old.id);
    const newCode = replaced.levels[1].subarray(2 * cb, 3 * cb);
    const oldCode = old.levels[1].subarray(2 * cb, 3 * cb);
    await waitFor('new codes found', () => m.search(1, newCode, { k: 1 })[0]?.id === old.id);
    expect(m.search(1, newCode, { k: 1 })).toEqual([{ id: old.id, view: 2, distance: 0 }]);
    const all = w.live();
    expect(searchMirror(m, 1, oldCode, 5)).toEqual(bruteForce(all, layout, 1, oldCode, 5));
    expect(m.search(1, oldCode, { k: 200, maxDistance: 0 }).some((h) => h.id === old.id)).toBe(false);
  });

  it('reloads fully when the change stream was trimmed past its position', async () => {
    const rand = new SeededRandom(15);
    const w = new ShardWriter(redis, layout, rand);
    await w.init();
    for (let i = 0; i < 100; i++) await w.put(`t/${i}`, 0);
    const m = await startMirror();
    expect(m.stats().reloads).toBe(0);
    // One transaction writes 10 objects with the indexer's script, deletes one and trims the
    // stream to its last 2 entries, so the blocked XREAD sees only those two.
    const repo = new ShardRepository(redis, keys);
    const next = Number(await redis.get(keys.nextId));
    const fresh = Array.from({ length: 10 }, (_, i) => ({ id: next + i, levels: w.randomLevels() }));
    const tx = redis.multi();
    for (const f of fresh) repo.upsertIn(tx, { key: `t/new${f.id}`, etag: 'e', width: 10, height: 10, levels: f.levels });
    repo.removeIn(tx, 't/5');
    tx.xtrim(keys.changes, 'MAXLEN', 2);
    await tx.exec();
    await waitFor('reload', () => m.stats().reloads === 1);
    await waitFor('all new objects', () => m.stats().objects === next + 10);
    // Objects whose stream entries were trimmed away are there only thanks to the reload.
    const first = fresh[0];
    expect(m.search(2, first.levels[2].subarray(0, cb), { k: 1 })).toEqual([{ id: first.id, view: 0, distance: 0 }]);
    expect(m.stats().deleted).toBe(1);
    await expectMirrorEqualsRedis(m, rand);
    // And it keeps tailing after the reload.
    const later = await w.put('t/after', 0);
    await waitFor('write after reload', () => m.search(0, later.levels[0], { k: 1, maxDistance: 0 })[0]?.id === later.id);
  });
});
