import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { SeededRandom, ShardKeys, codeBytes, createLogger, levelSizes } from '@loupe/shared';
import { ShardMirror } from '../services/query/src/searcher/index.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { ShardWriter, bruteForce, readShard, testLayout, waitFor, type ExpectedObject } from './searcher-helpers.ts';

/**
 * Multi-index hashing inside the shard mirrors: every search answered through the MIH must equal
 * the linear scan over the same mirror, while objects are created, replaced and deleted.
 */
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

async function startMirror(mihMinRecords: number): Promise<ShardMirror> {
  mirror = new ShardMirror(redis, { shard: 0, logger, chunkBytes: 8192, mihMinRecords });
  await mirror.start();
  return mirror;
}

async function lastStreamId(): Promise<string> {
  const [last] = await redis.xrevrange(keys.changes, '+', '-', 'COUNT', 1);
  return last ? last[0] : '0-0';
}

/** A near copy (0..5 bits flipped) of a random view of a random object, or a random code. */
function nearQuery(rand: SeededRandom, objects: ExpectedObject[], level: number): Uint8Array {
  if (!objects.length || rand.next() < 0.15) return rand.bytes(cb);
  const o = objects[rand.below(objects.length)];
  const view = rand.below(sizes[level]);
  return rand.flipBits(o.levels[level].subarray(view * cb, (view + 1) * cb), rand.below(6));
}

const SHAPES = [
  { k: 10, maxDistance: 4 },
  { k: 3, maxDistance: 2 },
  { k: 50, maxDistance: 6 },
  { k: 1 },
  { k: 5 },
] as const;

/**
 * Searches the mirror three ways in one synchronous turn (no write lands in between) and
 * compares; returns how many of the auto searches the cost model sent to the MIH.
 */
function expectStrategiesAgree(m: ShardMirror, level: number, query: Uint8Array): number {
  let autoMih = 0;
  for (const shape of SHAPES) {
    const scan = m.search(level, query, { ...shape, strategy: 'scan' });
    const mih = m.search(level, query, { ...shape, strategy: 'mih' });
    const before = m.stats().strategies!.mih;
    const auto = m.search(level, query, shape);
    autoMih += m.stats().strategies!.mih - before;
    expect(mih).toEqual(scan);
    expect(auto).toEqual(scan);
  }
  return autoMih;
}

describe('ShardMirror with multi-index hashing', () => {
  it('answers through the MIH exactly like the scan while objects are created, replaced and deleted', async () => {
    const rand = new SeededRandom(21);
    const w = new ShardWriter(redis, layout, rand);
    await w.init();
    for (let i = 0; i < 1200; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => w.put(`base/${i + j}`, 0)));
    const m = await startMirror(512);
    let autoMih = 0;

    let writesDone = false;
    const writers = [0, 1].map(async (wid) => {
      const conn = new Redis(server.url);
      const own = new ShardWriter(conn, layout, new SeededRandom(200 + wid));
      for (let i = 0; i < 400; i++) {
        const r = rand.next();
        const key = `w${wid}/${rand.below(250)}`;
        if (r < 0.2 && own.objects.has(key)) await own.remove(key);
        else if (r < 0.5 && own.objects.has(key)) {
          // A replacement with codes near the old ones: its stale postings must not leak.
          const old = own.objects.get(key)!;
          await own.put(key, 0, old.levels.map((l) => rand.flipBits(l, 3)));
        } else await own.put(key, 0);
      }
      conn.disconnect();
    });
    const writing = Promise.all(writers).then(() => (writesDone = true));
    let compared = 0;
    while (!writesDone || compared < 60) {
      const truth = w.live();
      const level = compared % sizes.length;
      autoMih += expectStrategiesAgree(m, level, nearQuery(rand, truth, level));
      compared++;
      await new Promise((r) => setImmediate(r));
    }
    await writing;
    await waitFor('mirror at stream end', async () => m.stats().lastEventId === (await lastStreamId()), 10_000);

    // Settled: both strategies equal a brute force over what Redis holds, object by object.
    const truth = await readShard(redis, layout, 0);
    const live = truth.filter((o) => !o.deleted);
    expect(m.stats()).toMatchObject({ objects: truth.length, live: live.length });
    for (let i = 0; i < 45; i++) {
      const level = i % sizes.length;
      const query = nearQuery(rand, live, level);
      for (const shape of SHAPES) {
        const want = bruteForce(truth, layout, level, query, shape.k, 'maxDistance' in shape ? shape.maxDistance : undefined);
        for (const strategy of ['mih', 'scan'] as const) {
          expect(m.search(level, query, { ...shape, strategy }).map((h) => ({ shard: 0, ...h }))).toEqual(want);
        }
      }
    }
    // The cost model must have sent the small-radius searches (3 of the 5 shapes) to the MIH.
    expect(compared).toBeGreaterThanOrEqual(60);
    expect(autoMih).toBeGreaterThan(compared);
  });

  it('builds the MIH once a level outgrows the threshold through live writes, and finds deleted objects no more', async () => {
    const rand = new SeededRandom(22);
    const w = new ShardWriter(redis, layout, rand);
    await w.init();
    const m = await startMirror(300);
    const objs: ExpectedObject[] = [];
    for (let i = 0; i < 400; i++) objs.push(await w.put(`g/${i}`, 0));
    const last = objs[objs.length - 1];
    await waitFor('all written objects', () => m.search(0, last.levels[0], { k: 1, maxDistance: 0 })[0]?.id === last.id);
    // Level 0 holds 400 records (> 300): it is answered by the MIH now.
    m.search(0, objs[5].levels[0], { k: 1, maxDistance: 3 });
    expect(m.stats().strategies!.mih).toBeGreaterThan(0);
    for (const o of objs.slice(0, 50)) await w.remove(o.key);
    await waitFor('deletes applied', () => m.stats().deleted === 50);
    for (const o of objs.slice(0, 50)) {
      for (const level of [0, 2]) {
        const code = o.levels[level].subarray(0, cb);
        const scan = m.search(level, code, { k: 5, maxDistance: 8, strategy: 'scan' });
        expect(m.search(level, code, { k: 5, maxDistance: 8, strategy: 'mih' })).toEqual(scan);
        expect(scan.some((h) => h.id === o.id)).toBe(false);
      }
    }
  });
});
